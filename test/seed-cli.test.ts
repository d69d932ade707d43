// `slurpie seed FILE URL` (issue #13): a copy someone already has spares the source. Real
// processes: a throttled Range server, a topology server, one seeder and three `get` peers.
import test from 'ava';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seedFrom } from '../estimation/random.ts';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { closeSourceClients, probeSource } from '../peer/node/source-client.ts';
import { download, swarmIdOf } from '../peer/node/download.ts';
import { seed as seedCopy } from '../peer/node/seed.ts';
import { startTopologyServer } from '../topology-server/server.ts';
import { runSlurpie, scratch, slurpie } from './fixtures/cli-run.ts';
import { cleanEnv, seedingSwarm } from './fixtures/seeding-swarm.ts';
import { within } from './fixtures/wait.ts';
import { seededBytes, sha256Hex } from './fixtures/test-bytes.ts';

const seed = seedFrom(process.env, 5);
test.after.always(() => closeSourceClients());

const content = (size: number): Buffer => seededBytes(size, seed);
const sha = sha256Hex;
const clean = cleanEnv;

test.serial('a seeder and 3 peers on a source throttled to 512 KiB/s: the source serves well under one copy, all verified', async (t) => {
  t.timeout(240_000);
  t.log(`seed ${seed}`);
  const size = 16 * 1024 * 1024;
  const data = content(size);
  const { source, topology, dir, copy, seeder } = await seedingSwarm(t, data, { name: 'big.bin', rate: 512 * 1024 });
  const first = seeder.stdout().split('\n')[0] as string;
  t.regex(first, new RegExp(`^seeding ${copy} \\(16\\.0 MiB, sha256 matches\\) for ${source.url} on 127\\.0\\.0\\.1:\\d+, swarm [0-9a-f]{16}`), seeder.stderr());
  // It registered in the swarm download() computes for that URL.
  const swarmId = swarmIdOf(await probeSource(source.url), {});
  t.is(topology.registry.count(swarmId), 1);
  const before = source.stats().bytesSent;

  const peers = [0, 1, 2].map((i) => {
    const out = join(dir, `peer-${i}.bin`);
    const stats = join(dir, `peer-${i}.json`);
    return { out, stats, child: slurpie(t, ['get', source.url, '--topology', topology.url, '-o', out, '--stats-json', stats, '--no-progress'], clean) };
  });
  for (const p of peers) {
    const { code } = await within(p.child.exited, 'a peer to finish', 200_000);
    t.is(code, 0, p.child.stderr());
    t.is(sha(await readFile(p.out)), sha(data));
    t.is(JSON.parse(await readFile(p.stats, 'utf8')).integrity, 'published');
  }
  const fromSource = source.stats().bytesSent - before;
  const fromPeers = (await Promise.all(peers.map(async (p) => JSON.parse(await readFile(p.stats, 'utf8')).fromPeers as number))).reduce((a, b) => a + b, 0);
  t.log(`source served ${(fromSource / size).toFixed(2)} copies to 3 peers; they got ${(fromPeers / size).toFixed(2)} copies from peers`);
  t.true(fromSource < 0.5 * size, `the source served ${(fromSource / size).toFixed(2)} copies`);

  // SIGTERM: the seeder deregisters and exits 0.
  process.kill(seeder.pid, 'SIGTERM');
  const { code } = await within(seeder.exited, 'the seeder to stop', 30_000);
  t.is(code, 0, seeder.stderr());
  t.regex(seeder.stdout(), /stopped after [\d.]+ s: [\d.]+ MiB uploaded/);
  t.is(topology.registry.count(swarmId), 0, 'deregistered');
});

test.serial('--upload-limit: a seeder capped at 512 KiB/s never serves faster, and its peer still gets most of the file from it', async (t) => {
  t.timeout(120_000);
  const size = 4 * 1024 * 1024;
  const data = content(size);
  const limit = 512 * 1024;
  // The source slow, so the seeder is worth asking.
  const { source, topology, dir, seeder } = await seedingSwarm(t, data, { name: 'capped.bin', rate: 128 * 1024 }, ['--upload-limit', '512KiB']);
  t.regex(seeder.stdout(), /^seeding /, seeder.stderr());

  const out = join(dir, 'peer.bin');
  const statsFile = join(dir, 'peer.json');
  const peer = slurpie(t, ['get', source.url, '--topology', topology.url, '-o', out, '--stats-json', statsFile, '--no-progress'], clean);
  const { code } = await within(peer.exited, 'the peer to finish', 100_000);
  t.is(code, 0, peer.stderr());
  t.is(sha(await readFile(out)), sha(data));
  const stats = JSON.parse(await readFile(statsFile, 'utf8')) as { fromPeers: number; fromSource: number; seconds: number };
  t.log(`${(stats.fromPeers / 1024).toFixed(0)} KiB from the seeder in ${stats.seconds.toFixed(1)} s: ${(stats.fromPeers / 1024 / stats.seconds).toFixed(0)} KiB/s (cap 512); ${(stats.fromSource / 1024).toFixed(0)} KiB from the source`);
  // The bucket starts with one block and then earns 512 KiB a second: over the peer's whole download no more can have come.
  t.true(stats.fromPeers <= 256 * 1024 + limit * stats.seconds, `${stats.fromPeers} bytes in ${stats.seconds} s`);
  t.true(stats.fromPeers > size / 2, `the capped seeder still served most of it (${stats.fromPeers} bytes): requests past the cap were asked elsewhere, not lost`);
  process.kill(seeder.pid, 'SIGTERM');
  t.is((await within(seeder.exited, 'the seeder to stop', 30_000)).code, 0, seeder.stderr());
});

test.serial('library: an uploadLimit under half a block a second is BAD_INPUT before any request, for download() and seed()', async (t) => {
  t.timeout(60_000);
  const data = content(300_000);
  const source = await startSourceServer({ data, name: 'floor.bin' });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  const copy = join(dir, 'copy.bin');
  await writeFile(copy, data);
  const down = await t.throwsAsync(download(source.url, { output: join(dir, 'out.bin'), uploadLimit: 100 * 1024 }));
  t.like(down, { code: 'BAD_INPUT' });
  t.regex(down?.message ?? '', /uploadLimit must be at least half a block a second \(131072 bytes a second with 262144-byte blocks\), got 102400/);
  t.like(await t.throwsAsync(seedCopy(copy, source.url, { topology: 'http://127.0.0.1:9', blockSize: 64 * 1024, uploadLimit: 32 * 1024 - 1 })), { code: 'BAD_INPUT' });
  t.is(source.stats().requests, 0, 'nothing reached the source');
  t.deepEqual((await readdir(dir)).sort(), ['copy.bin'], 'no file written');
});

test.serial('seed refuses a copy that is not the source\'s file: another size, another sha256, no topology', async (t) => {
  t.timeout(120_000);
  const data = content(300_000);
  const source = await startSourceServer({ data, name: 's.bin' });
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ port: 0 });
  t.teardown(() => topology.close());
  const dir = await scratch(t);
  const short = join(dir, 'short.bin');
  await writeFile(short, data.subarray(0, 1000));
  const sized = await runSlurpie(t, ['seed', short, source.url, '--topology', topology.url], clean);
  t.is(sized.code, 5, sized.stderr);
  t.regex(sized.stderr, /is 1000 bytes but the source's file is 300000: not the same file, refusing to seed it/);
  const other = join(dir, 'other.bin');
  const changed = Buffer.from(data);
  changed[150_000] = (changed[150_000] as number) ^ 1;
  await writeFile(other, changed);
  const digest = await runSlurpie(t, ['seed', other, source.url, '--topology', topology.url, '--sha256', sha(data)], clean);
  t.is(digest.code, 6, digest.stderr);
  t.regex(digest.stderr, /refusing to seed it/);
  // No digest anywhere: a middle block is among those compared with the source's.
  const sampled = await runSlurpie(t, ['seed', other, source.url, '--topology', topology.url, '--block-size', '64KiB'], clean);
  t.is(sampled.code, 6, sampled.stderr);
  t.regex(sampled.stderr, /block 2 of .* differs from the source's: refusing to seed it/);
  const alone = await runSlurpie(t, ['seed', other, source.url], clean);
  t.is(alone.code, 2);
  t.regex(alone.stderr, /^slurpie seed: --topology is needed/);
  t.is(topology.registry.stats().registrations, 0, 'none of them joined');
});

// `get --download-limit RATE` (`--limit-rate`, the library's `downloadLimit`): what a peer takes,
// from the source and from peers together, averages at most RATE, like curl's --limit-rate.
// Real servers on 127.0.0.1: a Range server, a server without Range support, a topology server
// and a seeder. Each bound below follows from the limit alone (a burst of a second's worth,
// then RATE), whatever the machine's speed: nothing here asks the machine to be fast.
import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seedFrom } from '../estimation/random.ts';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { download } from '../peer/node/download.ts';
import { SharedLimits } from '../peer/node/rate-limits.ts';
import { closeSourceClients } from '../peer/node/source-client.ts';
import { assertUsageError, runSlurpie, scratch, slurpie } from './fixtures/cli-run.ts';
import { cleanEnv, seedingSwarm } from './fixtures/seeding-swarm.ts';
import { seededBytes, sha256Hex } from './fixtures/test-bytes.ts';
import { within } from './fixtures/wait.ts';

const seed = seedFrom(process.env, 9);
test.after.always(() => closeSourceClients());
const MiB = 1024 * 1024;

test.serial('alone, from an unthrottled Range server: 3 MiB at 1 MiB/s take at least 2 s, verified', async (t) => {
  t.timeout(60_000);
  const data = seededBytes(3 * MiB, seed);
  const source = await startSourceServer({ data, name: 'alone.bin' });
  t.teardown(() => source.close());
  const output = join(await scratch(t), 'alone.bin');
  const stats = await download(source.url, { output, downloadLimit: MiB, sha256: sha256Hex(data) });
  t.log(`${stats.seconds.toFixed(2)} s, ${stats.sourceRequests} Range GETs`);
  t.is(stats.mode, 'alone');
  t.true(stats.seconds >= 2, `the first second's worth at once, then 1 MiB/s: ${stats.seconds} s`);
  t.is(sha256Hex(await readFile(output)), sha256Hex(data));
});

test.serial('a source without Range support: the plain GET is read at the limit', async (t) => {
  t.timeout(60_000);
  const data = seededBytes(1.5 * MiB, seed + 1);
  const source = await startSourceServer({ data, name: 'plain.bin', ranges: false });
  t.teardown(() => source.close());
  const output = join(await scratch(t), 'plain.bin');
  const stats = await download(source.url, { output, downloadLimit: 512 * 1024 });
  t.is(stats.mode, 'plain');
  t.true(stats.seconds >= 2, `512 KiB at once, then 512 KiB/s for the other MiB: ${stats.seconds} s`);
  t.is(sha256Hex(await readFile(output)), sha256Hex(data));
});

test.serial('--limit-rate in a swarm: blocks from a seeder and the source together keep to the limit', async (t) => {
  t.timeout(120_000);
  const size = 4 * MiB;
  const data = seededBytes(size, seed + 2);
  const limit = MiB;
  const { source, topology, dir, seeder } = await seedingSwarm(t, data, { name: 'swarm.bin', rate: 256 * 1024 });
  const out = join(dir, 'peer.bin');
  const statsFile = join(dir, 'peer.json');
  const peer = slurpie(t, ['get', source.url, '--topology', topology.url, '-o', out, '--stats-json', statsFile, '--no-progress', '--limit-rate', '1MiB'], cleanEnv);
  const { code } = await within(peer.exited, 'the peer to finish', 100_000);
  t.is(code, 0, peer.stderr());
  t.is(sha256Hex(await readFile(out)), sha256Hex(data));
  const stats = JSON.parse(await readFile(statsFile, 'utf8')) as { fromPeers: number; fromSource: number; seconds: number };
  t.log(`${(stats.fromPeers / 1024).toFixed(0)} KiB from the seeder, ${(stats.fromSource / 1024).toFixed(0)} KiB from the source, in ${stats.seconds.toFixed(1)} s`);
  t.true(stats.fromPeers + stats.fromSource <= limit + limit * stats.seconds, `${stats.fromPeers + stats.fromSource} bytes in ${stats.seconds} s`);
  t.true(stats.seconds >= 3, `a MiB at once, then 1 MiB/s: ${stats.seconds} s`);
  t.true(stats.fromPeers > size / 2, `the seeder, unthrottled, still gave most of it (${stats.fromPeers} bytes): its blocks waited for the limit, and none timed out`);
  process.kill(seeder.pid, 'SIGTERM');
  t.is((await within(seeder.exited, 'the seeder to stop', 30_000)).code, 0, seeder.stderr());
});

test.serial('a limit under 512 bytes a second, or shared limits too small for the blocks: a usage error, or BAD_INPUT before any request', async (t) => {
  t.timeout(60_000);
  const data = seededBytes(100_000, seed + 3);
  const source = await startSourceServer({ data, name: 'floor.bin' });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  for (const flag of ['--download-limit', '--limit-rate']) {
    const r = await runSlurpie(t, ['get', source.url, '-o', join(dir, 'out.bin'), flag, '100'], cleanEnv);
    assertUsageError(t, r, flag, /^slurpie get: --download-limit must be at least 512 bytes a second/, /got "100 B\/s"/);
  }
  const lib = await t.throwsAsync(download(source.url, { output: join(dir, 'out.bin'), downloadLimit: 0 }));
  t.like(lib, { code: 'BAD_INPUT' });
  t.regex(lib?.message ?? '', /downloadLimit must be at least 512 bytes a second, got 0/);
  t.like(t.throws(() => new SharedLimits({ downloadLimit: 100 })), { code: 'BAD_INPUT' });
  const shared = new SharedLimits({ downloadLimit: 64 * 1024 }, 64 * 1024); // made for 64 KiB blocks
  const big = await t.throwsAsync(download(source.url, { output: join(dir, 'out.bin'), sharedLimits: shared, blockSize: 128 * 1024 }));
  t.like(big, { code: 'BAD_INPUT' });
  t.regex(big?.message ?? '', /lets 65536 bytes through at once, less than this download's blocks of 131072/);
  t.is(source.stats().requests, 0, 'nothing reached the source');
  t.deepEqual(await readdir(dir), [], 'no file written');
});

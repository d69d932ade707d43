// `slurpie get` as a user meets it: real processes, a real Range server, real files.
// Serial: every test starts `slurpie` processes, and a burst of start-ups starves a small machine.
import test from 'ava';
import { createHash } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SeededRng, seedFrom } from '../estimation/random.ts';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { closeSourceClients, probeSource } from '../peer/node/source-client.ts';
import { startTopologyServer } from '../topology-server/server.ts';
import { swarmIdFor } from '../peer/node/swarm-id.ts';
import { loadBlockMap } from '../peer/storage/block-map.ts';
import { runSlurpie, scratch, slurpie } from './fixtures/cli-run.ts';
import { startGatedProxy } from './fixtures/gated-proxy.ts';
import { until, within } from './fixtures/wait.ts';

const seed = seedFrom(process.env, 7);

test.after.always(() => closeSourceClients());

function content(size: number, s = seed): Buffer {
  const rng = new SeededRng(s);
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buf[i] = (rng.next() * 256) >>> 0;
  return buf;
}
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

test.serial('alone, like curl: the file arrives verified, stats JSON written, no .part left', async (t) => {
  t.timeout(60_000);
  t.log(`seed ${seed}`);
  const data = content(1_000_000);
  const source = await startSourceServer({ data, name: 'data.bin' });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  const out = join(dir, 'data.bin');
  const r = await runSlurpie(t, ['get', source.url, '-o', out, '--sha256', sha(data), '--stats-json', join(dir, 's.json'), '--no-progress', '--block-size', '64KiB']);
  t.is(r.code, 0, r.stderr);
  t.is(sha(await readFile(out)), sha(data));
  t.false(await exists(`${out}.part`));
  const stats = JSON.parse(await readFile(join(dir, 's.json'), 'utf8'));
  for (const key of ['url', 'size', 'blockSize', 'seconds', 'fromSource', 'fromPeers', 'uploaded', 'sourceRequests', 'peersSeen', 'groupSizeEstimate', 'sha256', 'ok']) {
    t.true(key in stats, `stats has ${key}`);
  }
  t.is(stats.fromSource, data.length);
  t.true(stats.ok);
  t.deepEqual(stats.messages, { sent: {}, received: {} }, 'alone: no peer, no messages');
  t.regex(r.stdout, /verified/);
});

test.serial('a wrong --sha256: exit 6, one line, no final file, the .part kept', async (t) => {
  t.timeout(60_000);
  const data = content(300_000);
  const source = await startSourceServer({ data, name: 'f.bin' });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  const out = join(dir, 'f.bin');
  const r = await runSlurpie(t, ['get', source.url, '-o', out, '--sha256', 'ab'.repeat(32), '--no-progress']);
  t.is(r.code, 6, r.stderr);
  t.is(r.stderr.trim().split('\n').filter((l) => l.startsWith('slurpie:') && /sha256|verif/i.test(l)).length >= 1, true, r.stderr);
  t.false(await exists(out));
  t.true(await exists(`${out}.part`));
});

test.serial('bad input: a bad URL, a 404, a bad flag — clear one-line errors and non-zero exits', async (t) => {
  t.timeout(60_000);
  const source = await startSourceServer({ data: content(1000), name: 'x.bin' });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  const notUrl = await runSlurpie(t, ['get', 'not a url', '-o', join(dir, 'a')]);
  t.is(notUrl.code, 2);
  t.regex(notUrl.stderr, /^slurpie get: the URL to download must be an http\(s\) URL, got "not a url"/m);
  const ftp = await runSlurpie(t, ['get', 'ftp://127.0.0.1/x', '-o', join(dir, 'a')]);
  t.is(ftp.code, 2);
  const missing = await runSlurpie(t, ['get', new URL('/nope.bin', source.url).toString(), '-o', join(dir, 'b')]);
  t.is(missing.code, 3, missing.stderr);
  t.regex(missing.stderr, /404/);
  t.is(missing.stderr.trim().split('\n').length, 1, missing.stderr);
  const badFlag = await runSlurpie(t, ['get', source.url, '--port', '70000']);
  t.not(badFlag.code, 0);
  t.regex(badFlag.stderr, /--port/);
  t.deepEqual(await readdir(dir), [], 'nothing written');
});

test.serial('a source without Range support: falls back to a plain download and says so', async (t) => {
  t.timeout(60_000);
  const data = content(200_000);
  const source = await startSourceServer({ data, name: 'plain.bin', ranges: false });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  const out = join(dir, 'plain.bin');
  const r = await runSlurpie(t, ['get', source.url, '-o', out, '--sha256', sha(data), '--no-progress']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /Range/);
  t.is(sha(await readFile(out)), sha(data));
});

test.serial('an unreachable topology server: downloads alone and says so', async (t) => {
  t.timeout(60_000);
  const data = content(200_000);
  const source = await startSourceServer({ data, name: 'alone.bin' });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  const out = join(dir, 'alone.bin');
  // Port 9 (discard) on loopback: nothing listens there.
  const r = await runSlurpie(t, ['get', source.url, '-o', out, '--topology', 'http://127.0.0.1:9', '--no-progress']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /alone/);
  t.is(sha(await readFile(out)), sha(data));
});

test.serial('a topology server that needs a token: --topology-token-file or SLURPIE_TOPOLOGY_TOKEN sends it; without, 401 and alone', async (t) => {
  t.timeout(90_000);
  const data = content(200_000);
  const source = await startSourceServer({ data, name: 'tok.bin' });
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ host: '127.0.0.1', port: 0, token: 'opensesame' });
  t.teardown(() => topology.close());
  const registered = new Set<string>(); // the peers' ids (a peer may register again, asking for a fresh count)
  const register = topology.registry.register.bind(topology.registry);
  topology.registry.register = (swarmId, peer, caller) => {
    registered.add(peer.id);
    return register(swarmId, peer, caller);
  };
  const dir = await scratch(t);
  await writeFile(join(dir, 'token'), 'opensesame\n');
  const get = (name: string, extra: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> =>
    runSlurpie(t, ['get', source.url, '-o', join(dir, name), '--sha256', sha(data), '--topology', topology.url, '--no-progress', ...extra], env);

  const withFile = await get('a.bin', ['--topology-token-file', join(dir, 'token')], { SLURPIE_TOPOLOGY_TOKEN: 'wrong' });
  t.is(withFile.code, 0, withFile.stderr);
  t.false(/alone|401/.test(withFile.stderr), `the file's token, not the environment's: ${withFile.stderr}`);
  t.is(registered.size, 1, 'registered');
  const withEnv = await get('b.bin', [], { SLURPIE_TOPOLOGY_TOKEN: 'opensesame' });
  t.is(withEnv.code, 0, withEnv.stderr);
  t.is(registered.size, 2, 'registered with the environment\'s token');
  const without = await get('c.bin', [], { SLURPIE_TOPOLOGY_TOKEN: '' });
  t.is(without.code, 0, without.stderr);
  t.regex(without.stderr, /answered 401: .*downloading alone/);
  t.is(registered.size, 2, 'the server did not get as far as the registry');
  const badFile = await get('d.bin', ['--topology-token-file', join(dir, 'missing')]);
  t.is(badFile.code, 2);
  t.regex(badFile.stderr, /--topology-token-file .*ENOENT/);
});

test.serial('resume after kill -9: the rerun fetches only what was not on disk', async (t) => {
  t.timeout(90_000);
  const size = 3 * 1024 * 1024;
  const blockSize = 65536;
  const data = content(size);
  const source = await startSourceServer({ data, name: 'big.bin' });
  t.teardown(() => source.close());
  // The source stalls half-way until released: the first run cannot finish, whatever the machine.
  const proxy = await startGatedProxy(t, source.port, size / 2);
  const url = `${proxy.base}/big.bin`;
  const { validator } = await probeSource(source.url);
  const identity = { url, size, blockSize, validator, swarmId: swarmIdFor(url, size, validator) };
  const dir = await scratch(t);
  const out = join(dir, 'big.bin');
  const args = ['get', url, '-o', out, '--sha256', sha(data), '--no-progress', '--block-size', '64KiB', '--stats-json', join(dir, 's.json')];
  const first = slurpie(t, args);
  await within(proxy.stalled, 'the first run to take half the file from the source', 60_000);
  const atStall = proxy.passed();
  // The sidecar records blocks on its timed flush: wait until it holds some, then kill.
  let recorded = 0;
  await until(async () => {
    const map = await loadBlockMap(`${out}.part.map`, identity);
    recorded = 0;
    if (map.ok) for (let i = 0; i < size / blockSize; i++) if (map.have.get(i)) recorded++;
    return recorded > 0;
  }, 'the sidecar to record blocks', { ms: 60_000, everyMs: 50 });
  process.kill(first.pid, 'SIGKILL');
  t.is((await first.exited).signal, 'SIGKILL', 'killed, not finished');
  proxy.release();
  const second = await runSlurpie(t, args);
  t.is(second.code, 0, second.stderr);
  t.is(sha(await readFile(out)), sha(data));
  const stats = JSON.parse(await readFile(join(dir, 's.json'), 'utf8'));
  t.true(stats.resumedBlocks >= recorded, `kept ${stats.resumedBlocks} blocks, the sidecar had ${recorded}`);
  t.is(stats.fromSource, size - stats.resumedBlocks * blockSize, 'the rerun fetched exactly the missing blocks');
  t.log(`first run: the source stalled after ${atStall} bytes; resumed ${stats.resumedBlocks} blocks; rerun fetched ${stats.fromSource}`);
});

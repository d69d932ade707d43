// The testbed's BitTorrent baselines keep a scenario's download limit as slurpie and curl do:
// each peer script (experiments/testbed/peers) takes the limit as its last argument. Here each
// runs alone from a real Range server on 127.0.0.1 as its web seed, with no tracker. The bound
// follows from the limit alone (a second's worth at once, then the rate); uncapped, 2 MiB on
// loopback takes well under a second, so a limit not passed on fails it.
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seedFrom } from '../estimation/random.ts';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { makeTorrent } from '../experiments/testbed/systems.ts';
import { scratch } from './fixtures/cli-run.ts';
import { seededBytes, sha256Hex } from './fixtures/test-bytes.ts';
import { within } from './fixtures/wait.ts';

const seed = seedFrom(process.env, 12);
const PEERS = join(import.meta.dirname, '..', 'experiments', 'testbed', 'peers');
const PYTHON = '/usr/bin/python3'; // Debian's, where python3-libtorrent installs
const MiB = 1024 * 1024;
const LIMIT = 512 * 1024;
const LIBTORRENT = spawnSync(PYTHON, ['-c', 'import libtorrent'], { stdio: 'ignore', timeout: 30_000 }).status === 0;

interface CappedRun {
  stats: PeerStats;
  copy: Buffer;
  data: Buffer;
  served: number; // body bytes the web seed sent
}

interface PeerStats {
  ok: boolean;
  seconds: number;
  fromSource: number;
}

/** Runs one peer script on a 2 MiB torrent whose web seed is a real Range server; its stats and output. */
async function runCapped(t: ExecutionContext, command: string, script: string, env: NodeJS.ProcessEnv = {}): Promise<CappedRun> {
  const data = seededBytes(2 * MiB, seed);
  const source = await startSourceServer({ data, name: 'file.bin' });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  const file = join(dir, 'origin.bin');
  await writeFile(file, data);
  const torrent = join(dir, 'file.torrent');
  await writeFile(torrent, await makeTorrent(file, source.url, null, 256 * 1024));
  const out = join(dir, 'out');
  const statsFile = join(dir, 'stats.json');
  const child = spawn(command, [join(PEERS, script), torrent, out, statsFile, String(LIMIT)], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await within(new Promise<number | null>((resolve) => child.on('exit', resolve)), `${script} to finish`, 60_000);
  t.is(code, 0, stderr);
  const stats = JSON.parse(await readFile(statsFile, 'utf8')) as PeerStats;
  return { stats, copy: await readFile(join(out, 'file.bin')), served: source.stats().bytesSent, data };
}

function assertCapped(t: ExecutionContext, run: CappedRun): void {
  t.log(`${run.stats.seconds.toFixed(2)} s, ${(run.served / MiB).toFixed(2)} MiB served`);
  t.true(run.stats.ok);
  t.is(sha256Hex(run.copy), sha256Hex(run.data));
  t.true(run.served >= 2 * MiB, 'all of it from the web seed');
  t.true(run.stats.seconds >= (2 * MiB - LIMIT) / LIMIT, `a second's worth at once, then 512 KiB/s for the rest: ${run.stats.seconds} s`);
}

test.serial('WebTorrent takes the limit as its downloadLimit, the web seed included', async (t) => {
  t.timeout(90_000);
  assertCapped(t, await runCapped(t, process.execPath, 'webtorrent-peer.mjs'));
});

const libtorrentTitle = "libtorrent takes the limit as the torrent's own, the web seed included";
if (LIBTORRENT) {
  test.serial(libtorrentTitle, async (t) => {
    t.timeout(90_000);
    assertCapped(t, await runCapped(t, PYTHON, 'libtorrent-peer.py', { LIBTORRENT_LISTEN: '127.0.0.1:0' }));
  });
} else {
  test.skip(`${libtorrentTitle} (skipped: python3-libtorrent is not installed; .ci/run installs it)`, () => {});
}

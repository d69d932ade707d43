// `npm run bench:peer-cost -- [MiB] [--peers N] [--rate MiB/s] [--runs R] [--entry CLI.mjs]`:
// what one `slurpie get` process costs (issue #12: a peer light enough for 48 on two cores).
//   start-up CPU-s   user + system CPU from process start to the download starting
//                    (`startupCpuSeconds` of --stats-json), over 1 MiB downloads
//   max RSS          the process's peak resident memory (getrusage) over the big download
//   CPU-s per MiB    (CPU at exit - start-up CPU) / MiB moved (downloaded + uploaded)
//   CPU-ms a second  the same CPU over the peers' time from the download's start to the stats
//                    (after the hand-over): beside 1000 x cores / peers, whether the cores were
//                    full, where CPU per MiB follows time more than work (docs/peer-cost-sends.md)
// One peer alone against an unthrottled local range server by default; --peers N runs N at
// once with a topology server and the source limited to --rate (default 16 MiB/s), so blocks
// also go peer to peer over WebSocket. Medians of --runs runs (default 3).
// --entry runs another build of the CLI (e.g. one made from main with bundle.ts) in the same
// sitting: the machine is shared and loaded, so compare ratios, not absolute numbers.
// The peer issue #12 started from (95954d6) reports no CPU in --stats-json; to measure it:
//   git worktree add /tmp/orig 95954d6 && cd /tmp/orig && git apply …/original-peer-stats.patch
//   npm ci --ignore-scripts && node --import tsx experiments/swarm/bundle.ts
//   npm run bench:peer-cost -- 32 --peers 12 --rate 4 --entry /tmp/orig/dist/cli.mjs   (from here)
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startSourceServer } from '../source/range-server.ts';
import { announced, killChild, spawnSlurpie, type Child } from '../swarm/processes.ts';
import { writeTestFile } from '../swarm/test-file.ts';

const MiB = 1024 * 1024;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    peers: { type: 'string', default: '1' },
    rate: { type: 'string', default: '16' },
    runs: { type: 'string', default: '3' },
    entry: { type: 'string' },
  },
});
const mib = Number(positionals[0] ?? 256);
const peers = Number(values.peers);
const runs = Number(values.runs);
const rate = Number(values.rate) * MiB;
if (!(Number.isInteger(mib) && mib > 0 && Number.isInteger(peers) && peers > 0 && Number.isInteger(runs) && runs > 0 && rate > 0)) {
  console.error('usage: npm run bench:peer-cost -- [MiB > 0] [--peers N] [--rate MiB/s] [--runs R] [--entry CLI.mjs]');
  process.exit(2);
}
const entry = values.entry === undefined ? undefined : resolve(values.entry);

interface PeerStats {
  ok: boolean;
  size: number;
  uploaded: number;
  fromSource: number;
  startupCpuSeconds: number;
  cpuSeconds: number;
  startupSeconds?: number; // process start to the download's start (the original peer: not reported)
  totalSeconds?: number; // process start to its stats (after the hand-over)
  maxRssBytes: number;
  error?: string;
}

const children: Child[] = [];
const spawn = (args: string[]): Child => {
  const child = spawnSlurpie(args, entry === undefined ? {} : { entry });
  children.push(child);
  return child;
};

/** Runs `count` peers of `url` at once (with a topology server when more than one); their stats. */
async function download(dir: string, url: string, sha256: string, count: number): Promise<PeerStats[]> {
  let topology: Child | undefined;
  const swarm: string[] = [];
  if (count > 1) {
    topology = spawn(['topology', '--port', '0', '--host', '127.0.0.1']);
    swarm.push('--topology', await announced(topology, /^listening on (\S+)/));
  }
  try {
    const gets = Array.from({ length: count }, (_, i) => {
      const stats = join(dir, `stats-${i}.json`);
      const child = spawn(['get', url, '-q', '--sha256', sha256, '-o', join(dir, `out-${i}.bin`), '--stats-json', stats, ...swarm]);
      return { child, stats };
    });
    return await Promise.all(
      gets.map(async ({ child, stats }) => {
        const { code } = await child.exited;
        const s = JSON.parse(await readFile(stats, 'utf8')) as PeerStats;
        if (code !== 0 || !s.ok) throw new Error(`slurpie get exited ${code}: ${s.error ?? child.stderr().trim()}`);
        return s;
      }),
    );
  } finally {
    if (topology) killChild(topology);
    for (let i = 0; i < count; i++) await rm(join(dir, `out-${i}.bin`), { force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const dir = await mkdtemp(join(tmpdir(), 'slurpie-peer-cost-'));
const servers: { close: () => Promise<void> }[] = [];
try {
  const small = join(dir, 'small.bin');
  const big = join(dir, 'big.bin');
  const smallSha = await writeTestFile(small, MiB, 1);
  const bigSha = await writeTestFile(big, mib * MiB, 2);
  const smallServer = await startSourceServer({ file: small });
  const bigServer = await startSourceServer({ file: big, ...(peers > 1 && { rate }) });
  servers.push(smallServer, bigServer);
  console.log(`slurpie get cost: ${entry ?? 'bin/slurpie.js'}; ${mib} MiB, ${peers === 1 ? 'alone, unthrottled source' : `${peers} peers, source ${values.rate} MiB/s`}; ${runs} runs`);

  const startup: number[] = [];
  const startupRss: number[] = [];
  const perMiB: number[] = [];
  const perSecond: number[] = [];
  const rss: number[] = [];
  for (let run = 0; run < runs; run++) {
    const [s] = await download(dir, smallServer.url, smallSha, 1);
    startup.push(s!.startupCpuSeconds);
    startupRss.push(s!.maxRssBytes);
    const all = await download(dir, bigServer.url, bigSha, peers);
    const moved = all.reduce((n, p) => n + p.size + p.uploaded, 0) / MiB;
    const cpu = all.reduce((n, p) => n + p.cpuSeconds - p.startupCpuSeconds, 0);
    perMiB.push(cpu / moved);
    // A peer's CPU a second in the swarm: against 1000 x cores / peers, whether the cores were full.
    const inSwarm = all.reduce((n, p) => n + (p.totalSeconds ?? NaN) - (p.startupSeconds ?? NaN), 0); // NaN: a build that does not report them
    if (inSwarm > 0) perSecond.push(cpu / inSwarm);
    const second = inSwarm > 0 ? `, ${((cpu / inSwarm) * 1000).toFixed(1)} CPU-ms a second in the swarm` : '';
    rss.push(Math.max(...all.map((p) => p.maxRssBytes)));
    const source = all.reduce((n, p) => n + p.fromSource, 0) / MiB;
    console.log(`run ${run + 1}: start-up ${s!.startupCpuSeconds.toFixed(3)} CPU-s; ${mib} MiB: ${(cpu / moved * 1000).toFixed(2)} CPU-ms per MiB moved${second} ` +
      `(${moved.toFixed(0)} MiB moved, ${source.toFixed(0)} from the source), max RSS ${(Math.max(...all.map((p) => p.maxRssBytes)) / MiB).toFixed(0)} MiB`);
  }
  console.log(`\nmedian of ${runs}: start-up ${median(startup).toFixed(3)} CPU-s (RSS ${(median(startupRss) / MiB).toFixed(0)} MiB at 1 MiB); ` +
    `${(median(perMiB) * 1000).toFixed(2)} CPU-ms per MiB moved${perSecond.length === runs ? `, ${(median(perSecond) * 1000).toFixed(1)} a second in the swarm` : ''}; max RSS ${(median(rss) / MiB).toFixed(0)} MiB at ${mib} MiB`);
  console.log('targets (issue #12): start-up at most 0.15 CPU-s; max RSS at most 100 MiB whatever the size; half the CPU per MiB of main');
} finally {
  for (const c of children) killChild(c, 'SIGKILL');
  for (const s of servers) await s.close();
  await rm(dir, { recursive: true, force: true });
}

// `npm run bench:message-cost -- [MiB] [--peers N] [--rate bytes/s] [--delay-ms D] [--runs R]`:
// the CPU one `slurpie get` process spends per message and tick it handles, for the
// simulator's CPU model (experiments/sim/cpu-model.ts). Real processes on this machine:
//   1. one peer alone against an unthrottled local range server: CPU-ms per MiB moved
//      ((CPU at exit - start-up CPU) / MiB), as bench:peer-cost measures it;
//   2. N peers at once (default 8) with a topology server and the source limited to --rate
//      (default 1.25 MB/s, lan-48's), each holding received messages --delay-ms (default 0.5,
//      lan-48's SLURPIE_EXPERIMENT_DELAY_MS) as in the testbed. Every process counts the
//      WebSocket messages it sends and receives and its core's ticks (message-counter.ts), so
//        CPU per handled event = (Σ (CPU - start-up CPU) - CPU per MiB × Σ MiB moved) / Σ (sent + received + ticks).
// Both run the TypeScript through tsx (SLURPIE_NO_BUILD=1: the counter patches ws, which the
// dev bundle carries inside); start-up CPU is each process's own and is taken out, so tsx's
// dearer start-up does not count. bench:peer-cost gives the bundle's start-up CPU.
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSourceServer } from '../source/range-server.ts';
import { announced, killChild, spawnSlurpie, type Child } from '../swarm/processes.ts';
import { PROJECT_ROOT } from '../swarm/project-root.ts';
import { writeTestFile } from '../swarm/test-file.ts';

const MiB = 1024 * 1024;
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { peers: { type: 'string', default: '8' }, rate: { type: 'string', default: '1250000' }, 'delay-ms': { type: 'string', default: '0.5' }, runs: { type: 'string', default: '1' } },
});
const mib = Number(positionals[0] ?? 16);
const peers = Number(values.peers);
const rate = Number(values.rate);
const delayMs = Number(values['delay-ms']);
const runs = Number(values.runs);
if (!(Number.isInteger(mib) && mib > 0 && Number.isInteger(peers) && peers > 1 && rate > 0 && delayMs >= 0 && Number.isInteger(runs) && runs > 0)) {
  console.error('usage: npm run bench:message-cost -- [MiB > 0] [--peers N > 1] [--rate bytes/s] [--delay-ms D >= 0] [--runs R]');
  process.exit(2);
}

interface Stats { ok: boolean; size: number; uploaded: number; startupCpuSeconds: number; cpuSeconds: number; error?: string }
interface Counts { sent: number; received: number; ticks: number }
interface Peer { stats: Stats; counts: Counts }

const children: Child[] = [];
const COUNTER = join(PROJECT_ROOT, 'experiments', 'bench', 'message-counter.ts');

async function download(dir: string, url: string, sha256: string, count: number): Promise<Peer[]> {
  const countsDir = await mkdtemp(join(dir, 'counts-'));
  const env = { SLURPIE_NO_BUILD: '1', SLURPIE_MESSAGE_COUNTS: countsDir, NODE_OPTIONS: `--import=tsx --import=${COUNTER}`, ...(count > 1 && { SLURPIE_EXPERIMENT_DELAY_MS: String(delayMs) }) };
  const swarm: string[] = [];
  let topology: Child | undefined;
  if (count > 1) {
    topology = spawnSlurpie(['topology', '--port', '0', '--host', '127.0.0.1']);
    children.push(topology);
    swarm.push('--topology', await announced(topology, /^listening on (\S+)/));
  }
  try {
    const gets = Array.from({ length: count }, (_, i) => {
      const child = spawnSlurpie(['get', url, '-q', '--sha256', sha256, '-o', join(dir, `out-${i}.bin`), '--stats-json', join(dir, `stats-${i}.json`), ...swarm], { env });
      children.push(child);
      return { child, i };
    });
    const stats = await Promise.all(gets.map(async ({ child, i }) => {
      const { code } = await child.exited;
      const s = JSON.parse(await readFile(join(dir, `stats-${i}.json`), 'utf8')) as Stats;
      if (code !== 0 || !s.ok) throw new Error(`slurpie get exited ${code}: ${s.error ?? child.stderr().trim()}`);
      return { pid: child.pid, s };
    }));
    const files = await readdir(countsDir);
    if (files.length !== count) throw new Error(`${files.length} of ${count} processes wrote their counts`);
    return await Promise.all(stats.map(async ({ pid, s }) => ({ stats: s, counts: JSON.parse(await readFile(join(countsDir, `${pid}.json`), 'utf8')) as Counts })));
  } finally {
    if (topology) killChild(topology);
    for (let i = 0; i < count; i++) await rm(join(dir, `out-${i}.bin`), { force: true });
  }
}

const sum = (xs: Peer[], f: (p: Peer) => number): number => xs.reduce((n, p) => n + f(p), 0);
const moved = (p: Peer): number => (p.stats.size + p.stats.uploaded) / MiB;
const work = (p: Peer): number => p.stats.cpuSeconds - p.stats.startupCpuSeconds;

const dir = await mkdtemp(join(tmpdir(), 'slurpie-message-cost-'));
const servers: { close: () => Promise<void> }[] = [];
try {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'file.bin');
  const sha = await writeTestFile(file, mib * MiB, 3);
  const alone = await startSourceServer({ file });
  const limited = await startSourceServer({ file, rate });
  servers.push(alone, limited);
  console.log(`slurpie get CPU per message: ${mib} MiB; alone, then ${peers} peers with the source at ${rate} B/s, messages held ${delayMs} ms; ${runs} runs; tsx`);
  for (let run = 1; run <= runs; run++) {
    const [one] = await download(dir, alone.url, sha, 1);
    const perMiB = work(one!) / moved(one!);
    const all = await download(dir, limited.url, sha, peers);
    const sent = sum(all, (p) => p.counts.sent);
    const received = sum(all, (p) => p.counts.received);
    const ticks = sum(all, (p) => p.counts.ticks);
    const cpu = sum(all, work);
    const mibMoved = sum(all, moved);
    const rest = cpu - perMiB * mibMoved;
    console.log(`run ${run}: alone ${(perMiB * 1000).toFixed(2)} CPU-ms per MiB (${one!.counts.sent + one!.counts.received} messages, ${one!.counts.ticks} ticks); ` +
      `swarm: ${cpu.toFixed(2)} CPU-s after start-up (start-up ${(sum(all, (p) => p.stats.startupCpuSeconds) / peers).toFixed(3)} CPU-s each), ${mibMoved.toFixed(0)} MiB moved, ` +
      `${sent} messages sent, ${received} received, ${ticks} ticks -> ${(rest * 1000).toFixed(0)} CPU-ms left = ` +
      `${((rest * 1000) / (sent + received + ticks)).toFixed(3)} CPU-ms per message or tick (${((rest * 1000) / (sent + received)).toFixed(3)} per message with ticks free)`);
  }
} finally {
  for (const c of children) killChild(c, 'SIGKILL');
  for (const s of servers) await s.close();
  await rm(dir, { recursive: true, force: true });
}

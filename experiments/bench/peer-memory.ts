// `npm run bench:peer-memory -- [peers] [MiB] [source MiB/s]` (default 4 512 64): where each
// peer's peak resident memory is (issue #12: at most 100 MiB whatever the file size). Runs a
// swarm on loopback as `npm run bench` does, reads every peer's /proc/PID/smaps_rollup ten
// times a second and, at each new peak, its smaps: the peak's split by kind (smaps.ts) and
// when it came (seconds after launch; the peer's start-up and download end for scale).
// SLURPIE_NODE_ARGS passes node flags to the peers (e.g. "--trace-gc"), to try settings.
import { readFile, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJson, runSwarm } from '../swarm/run-swarm.ts';
import type { Child } from '../swarm/processes.ts';
import { parseSmaps, residentByKind, type MemoryKind } from '../swarm/smaps.ts';

const MiB = 1024 * 1024;
const [peers = 4, mib = 512, rate = 64] = process.argv.slice(2).map(Number);
if (![peers, mib, rate].every((n) => Number.isFinite(n) && n > 0)) {
  console.error('usage: npm run bench:peer-memory -- [peers > 0] [MiB > 0] [source MiB/s > 0]');
  process.exit(2);
}

interface Watched {
  child: Child;
  spawnedAt: number;
  peakKiB: number;
  at: number; // seconds after spawn
  kinds: Record<MemoryKind, number> | null;
}

const watched: Watched[] = [];
let running = true;

async function sample(w: Watched): Promise<void> {
  try {
    const rollup = await readFile(`/proc/${w.child.pid}/smaps_rollup`, 'utf8');
    const rss = Number(/^Rss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
    if (rss <= w.peakKiB + 256) return; // a new peak, by more than noise
    const [smaps, exe] = await Promise.all([readFile(`/proc/${w.child.pid}/smaps`, 'utf8'), readlink(`/proc/${w.child.pid}/exe`)]);
    w.peakKiB = rss;
    w.at = (performance.now() - w.spawnedAt) / 1000;
    w.kinds = residentByKind(parseSmaps(smaps), exe);
  } catch {
    // the process is gone
  }
}

const poller = (async () => {
  while (running) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    await Promise.all(watched.map(sample));
  }
})();

const dir = join(tmpdir(), 'slurpie-bench-memory');
const result = await runSwarm({
  peers, size: mib * MiB, sourceRate: rate * MiB, seed: Number(process.env.SLURPIE_SEED ?? 1), dir, timeoutMs: 600_000,
  onSpawn: (child) => {
    if (child.proc.spawnargs.includes('get')) watched.push({ child, spawnedAt: performance.now(), peakKiB: 0, at: 0, kinds: null });
  },
});
running = false;
await poller;

const kinds = Object.keys(watched.find((w) => w.kinds)?.kinds ?? {}) as MemoryKind[];
const head = ['peer', 'VmHWM', 'sampled peak', 'at s', ...kinds];
const rows = watched.map((w, i) => {
  const r = result.results[i];
  return [String(i), ((r?.peakRssBytes ?? 0) / MiB).toFixed(1), (w.peakKiB / 1024).toFixed(1), w.at.toFixed(1), ...kinds.map((k) => ((w.kinds?.[k] ?? 0) / 1024).toFixed(1))];
});
const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
const line = (cells: string[]): string => cells.map((cell, c) => cell.padStart(widths[c]!)).join('  ');
console.log(`${peers} peers, ${mib} MiB, source ${rate} MiB/s; node flags: ${process.env.SLURPIE_NODE_ARGS || 'none'}`);
console.log(`mean/T_min ${result.meanRatio.toFixed(2)}, source/F ${result.sourceRatio.toFixed(2)}, all verified: ${result.allVerified}`);
console.log('resident MiB at each peer\'s sampled peak, by kind (experiments/swarm/smaps.ts; VmHWM is the true peak):');
console.log([line(head), ...rows.map(line)].join('\n'));
const own = result.results.map((r) => (r.seconds === null ? '-' : r.seconds.toFixed(1))).join(' ');
console.log(`peers' own download seconds: ${own} (launch to ready: ${result.results.map((r) => r.readySeconds.toFixed(1)).join(' ')})`);
// CPU after start-up per MiB moved (downloaded + uploaded), as npm run bench:peer-cost counts it.
const stats = await Promise.all(result.results.map((r) => readJson(join(dir, `peer-${r.peer}`, 'stats.json'))));
const cpu = stats.reduce((n, s) => n + (s?.cpuSeconds ?? 0) - (s?.startupCpuSeconds ?? 0), 0);
const moved = stats.reduce((n, s) => n + (s?.size ?? 0) + (s?.uploaded ?? 0), 0) / MiB;
console.log(`CPU ${(cpu / moved * 1000).toFixed(2)} ms per MiB moved (${moved.toFixed(0)} MiB moved in all)`);
if (!result.allVerified) process.exitCode = 1;

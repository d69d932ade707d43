// Swarm benchmarks on loopback, each scenario a real crowd of `slurpie get` processes.
//   npm run bench            the reference scenario (12 peers, 32 MiB, 4 MiB/s) and RSS at 512 MiB
//   npm run bench:backoff    24 peers with and without the k/n backoff, side by side
// Results go to results/bench-*.json as well.
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSwarm, type SwarmResult } from '../swarm/run-swarm.ts';

const MiB = 1024 * 1024;

interface Scenario {
  name: string;
  peers: number;
  size: number;
  sourceRate: number;
  getArgs?: string[];
}

const SUITES: Record<string, Scenario[]> = {
  peer: [
    { name: 'reference: 12 peers, 32 MiB, 4 MiB/s', peers: 12, size: 32 * MiB, sourceRate: 4 * MiB },
    { name: 'memory: 4 peers, 512 MiB, 64 MiB/s', peers: 4, size: 512 * MiB, sourceRate: 64 * MiB },
  ],
  backoff: [
    { name: '24 peers, backoff (k=3)', peers: 24, size: 32 * MiB, sourceRate: 4 * MiB },
    { name: '24 peers, --no-backoff', peers: 24, size: 32 * MiB, sourceRate: 4 * MiB, getArgs: ['--no-backoff'] },
  ],
};

const suite = process.argv[2] ?? 'peer';
const scenarios = SUITES[suite];
if (!scenarios) {
  console.error(`unknown suite "${suite}"; one of: ${Object.keys(SUITES).join(', ')}`);
  process.exit(2);
}
const seed = Number(process.env.SLURPIE_SEED ?? 1);
const rows: { scenario: Scenario; result: SwarmResult }[] = [];
for (const scenario of scenarios) {
  process.stdout.write(`running ${scenario.name} …\n`);
  const result = await runSwarm({
    peers: scenario.peers, size: scenario.size, sourceRate: scenario.sourceRate, seed,
    dir: join(tmpdir(), 'slurpie-bench'), timeoutMs: 600_000, ...(scenario.getArgs && { getArgs: scenario.getArgs }),
  });
  rows.push({ scenario, result });
}

const head = ['scenario', 'T_min s', 'mean/T_min', 'max/T_min', 'own mean/T_min', 'exit mean/T_min', 'source/F', 'peak GETs', 'peer RSS MiB', 'verified'];
const table = rows.map(({ scenario, result: r }) => [
  scenario.name, r.tMinSeconds.toFixed(1), r.meanRatio.toFixed(2), r.maxRatio.toFixed(2), r.meanOwnRatio.toFixed(2), r.meanExitRatio.toFixed(2),
  r.sourceRatio.toFixed(2), String(r.peakSourceConnections), (r.peakRssBytes / MiB).toFixed(0), r.allVerified ? 'all' : 'NO',
]);
const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? '').length)));
const fmt = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[0] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
console.log(`\n${fmt(head)}\n${table.map(fmt).join('\n')}`);
console.log('\nmean/max: wall time from launching the crowd to each peer\'s file verified and in place (includes process start-up);');
console.log('own: the peers\' own clocks, from the start of the download; exit: launch to process exit, after the hand-over to the swarm.');
console.log('Plain HTTP: mean 6.5x, max 12x (12 peers), source 12x F.');
await mkdir('results', { recursive: true });
const out = join('results', `bench-${suite}.json`);
await writeFile(out, JSON.stringify(rows, null, 2) + '\n');
console.log(`written ${out}`);
if (rows.some((r) => !r.result.allVerified)) process.exitCode = 1;

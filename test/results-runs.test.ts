// `slurpie experiment --runs N`: the table over N runs (each system's median and range), the
// simulator against the testbed's median, and which run is the median one to plot.
import test from 'ava';
import fc from 'fast-check';
import { median } from '../experiments/testbed/median.ts';
import { summarizeRuns } from '../experiments/testbed/repeated-runs.ts';
import { summarize, type ExperimentResults, type PeerResult, type SystemResult } from '../experiments/testbed/results.ts';
import type { Scenario } from '../experiments/scenarios/scenario-file.ts';

const MiB = 1048576;
const T_MIN = 10;
const PEERS = 4;

function peer(i: number, seconds: number | null): PeerResult {
  return { id: `p${i}`, linkClass: null, arrivalSeconds: 0, seconds, ownSeconds: null, fromSource: null, fromPeers: null, uploaded: null, maxRssBytes: null, ok: seconds !== null, left: false };
}

/** A system whose PEERS peers took `ratio` T_min each (null: none finished), the source serving `sourceF` copies. */
function system(name: string, ratio: number | null, sourceF: number, extra: { stopped?: boolean; skipped?: string } = {}): SystemResult {
  return summarize({
    system: name, stopped: extra.stopped ?? false, timeLimitSeconds: 60, wallSeconds: 30, sourceBytes: sourceF * 32 * MiB, peakSourceGets: 2,
    fileBytes: 32 * MiB, tMinSeconds: T_MIN, perPeer: Array.from({ length: PEERS }, (_, i) => peer(i, ratio === null ? null : ratio * T_MIN)),
    ...(extra.skipped !== undefined && { skipped: extra.skipped }),
  });
}

function run(startedAt: string, systems: SystemResult[]): ExperimentResults {
  return {
    version: 1, scenario: { name: 'lan-4', description: 'four peers' } as Scenario, startedAt, machine: { cpus: 2, node: 'v20' },
    fileBytes: 32 * MiB, peers: PEERS, tMinSeconds: T_MIN, approximations: [], systems,
  };
}

test('each system: how many runs it ran in, finished peers, median (range) of mean time and source bytes; the median run is named', (t) => {
  // The simulator's run i has seed + i - 1: its runs differ too.
  const sim = (ratio: number, source: number): SystemResult => system('sim', ratio, source);
  const skippedLt = (): SystemResult => system('libtorrent', null, 0, { skipped: 'python3-libtorrent is not installed' });
  const runs = [
    run('t1', [system('slurpie', 1.8, 1.05), system('http', null, 2.5, { stopped: true }), skippedLt(), sim(1.6, 1.05)]),
    run('t2', [system('slurpie', 1.2, 1.0), system('http', null, 2.4, { stopped: true }), skippedLt(), sim(1.3, 1.03)]),
    run('t3', [system('slurpie', 1.5, 1.02), system('http', null, 2.6, { stopped: true }), skippedLt(), sim(1.4, 1.01)]),
  ];
  const { markdown, medianRun } = summarizeRuns(runs, ['a.json', 'b.json', 'c.json']);
  t.is(medianRun, 2, 'slurpie took 1.8, 1.2, 1.5: the third run is the median');
  const lines = markdown.split('\n');
  t.is(lines[0], '# lan-4: 3 runs');
  t.true(lines.includes('| slurpie | 3 of 3 | 4/4 | 1.50 (1.20–1.80) | 1.02 (1.00–1.05) |  |'), markdown);
  t.true(lines.includes('| http | 3 of 3 | 0/4 | – | 2.50 (2.40–2.60) | stopped at the time limit in 3 of 3: its mean counts the peers that finished; no peer finished in 3 |'), markdown);
  t.true(lines.includes('| libtorrent | 0 of 3 | – | – | – | skipped: python3-libtorrent is not installed |'), markdown);
  t.true(lines.includes('| sim | 3 of 3 | 4/4 | 1.40 (1.30–1.60) | 1.03 (1.01–1.05) |  |'), markdown);
  // The sim's median over its seeds, 14 s, against the testbed's median 15 s; 1.03 against 1.02.
  t.true(lines.includes("Simulator (median over 3 seeds) against testbed (sim / slurpie's median over 3 runs): mean time 0.93, source bytes 1.01: both within 20%."), markdown);
  t.true(lines.includes('- run 3: c.json (the median run)'));
  t.true(lines.includes('- run 1: a.json'));
});

test('finished counts that differ show a range; with an even count the lower middle run is the median run', (t) => {
  const runs = [run('t1', [system('slurpie', 1.6, 1.0)]), run('t2', [{ ...system('slurpie', 1.2, 1.0), finished: 3 }])];
  const { markdown, medianRun } = summarizeRuns(runs, ['a.json', 'b.json']);
  t.is(medianRun, 1);
  t.true(markdown.includes('| slurpie | 2 of 2 | 3–4/4 | 1.40 (1.20–1.60) | 1.00 |  |'), markdown);
  t.false(markdown.includes('Simulator against testbed'), 'no sim in these runs');
});

test('with no slurpie the median run is by the first system; no runs is an error', (t) => {
  const runs = [run('t1', [system('http', 3.0, 4)]), run('t2', [system('http', 2.0, 4)]), run('t3', [system('http', 4.0, 4)])];
  t.is(summarizeRuns(runs, ['a', 'b', 'c']).medianRun, 0);
  t.throws(() => summarizeRuns([], []), { instanceOf: RangeError });
});

test('median: between the least and the greatest, the same in any order, the middle of an odd count', (t) => {
  t.is(median([3, 1, 2]), 2);
  t.is(median([4, 1, 3, 2]), 2.5);
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 1, maxLength: 30 }), (xs) => {
      const m = median(xs);
      const reversed = median([...xs].reverse());
      return m >= Math.min(...xs) && m <= Math.max(...xs) && m === reversed;
    }),
    { seed: 12, numRuns: 200 },
  );
  t.pass();
});

/** slurpie at `ratio` T_min, its 4 peers each spending `cpu` CPU-s (0.1 of it starting) for 16 MiB moved; b's peers `cpuB`. */
function withCpu(ratio: number, cpu: number, cpuB?: number): SystemResult {
  const r = system('slurpie', ratio, 1);
  const perPeer = r.perPeer.map((p, i) => ({
    ...p, fromSource: 0, fromPeers: 8 * MiB, uploaded: 8 * MiB, startupCpuSeconds: 0.1,
    cpuSeconds: cpuB !== undefined && i % 2 === 1 ? cpuB : cpu,
    ...(cpuB !== undefined && { build: i % 2 === 1 ? ('b' as const) : ('a' as const) }),
  }));
  return { ...r, perPeer };
}

test('CPU over the runs: in all, per MiB and per unit of mean time, median (range); with two builds, b / a', (t) => {
  const runs = [run('t1', [withCpu(1.5, 1.6)]), run('t2', [withCpu(1.8, 1.9)]), run('t3', [withCpu(1.4, 1.5)])];
  const line = summarizeRuns(runs, ['a.json', 'b.json', 'c.json']).markdown.split('\n').find((l) => l.startsWith("slurpie's peer processes"));
  // 4 peers: 6.4, 7.6, 6.0 CPU-s; (cpu - 0.1) × 1000 / 16 MiB: 93.8, 112.5, 87.5; per unit of mean / T_min 4.27, 4.22, 4.29
  t.is(line, "slurpie's peer processes over 3 runs: 6.4 (6.0–7.6) CPU-s in all, 93.8 (87.5–112.5) CPU-ms per MiB moved after start-up, 4.3 (4.2–4.3) CPU-s per unit of mean / T_min.");
  const ab = [run('t1', [withCpu(1.5, 1.6, 1.5)]), run('t2', [withCpu(1.5, 2.1, 2.1)])];
  const abLine = summarizeRuns(ab, ['a.json', 'b.json']).markdown.split('\n').find((l) => l.startsWith("slurpie's peer processes")) ?? '';
  // b / a per peer after start-up: 1.4 / 1.5 = 0.933 and 2.0 / 2.0 = 1; per MiB the same (equal bytes)
  t.regex(abLine, / By build \(every other peer is b\), b \/ a per peer after start-up 0\.967 \(0\.933–1\.000\), per MiB 0\.967 \(0\.933–1\.000\)\.$/);
  t.false(summarizeRuns([run('t1', [system('slurpie', 1.5, 1)])], ['a.json']).markdown.includes('peer processes'), 'no CPU reported: no line');
});

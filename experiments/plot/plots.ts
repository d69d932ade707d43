// Which plots the inputs allow, and their data. Each plot is made only when its data is there:
// - `<scenario>-cdf`: per input with per-peer times, the completion-time CDF of each system;
// - `scaling`: mean time and source bytes against N, when the inputs hold at least two N;
// - `backoff-ablation`: `slurpie` beside `slurpie-no-backoff` (or `sim` beside `sim-no-backoff`);
// - `sim-vs-testbed`: `sim` beside `slurpie` in one scenario (same file, or a simulator JSON
//   with the same N and file size as a results file);
// - `<scenario>-source-link`: per testbed input whose systems sampled the source's link
//   (`sourceLink`), its rate a second at a time beside the share of peers finished;
// - `<scenario>-progress`: per input whose peers reported their tenths (`progressSeconds`),
//   the median time from arrival to each tenth of the file, per system.
import { basename } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { median } from '../testbed/median.ts';
import { medianProgress } from '../testbed/progress.ts';
import { sourceLinkBins, summarizeSourceLink } from '../testbed/source-link.ts';
import type { Run, SystemRun } from './results.ts';
import { barsSpec, cdfSpec, progressSpec, scalingSpec, sourceLinkSpec, type BarPanel, type BarRow, type CdfRow, type LinkRow, type PointRow, type ProgressRow } from './specs.ts';

export interface Plot {
  name: string; // file stem
  spec: TopLevelSpec;
}

function mib(bytes: number): string {
  const m = bytes / 2 ** 20;
  return `${Number.isInteger(m) ? m : m.toFixed(1)} MiB`;
}

function describeRun(run: Run): string {
  return `N = ${run.peers} peers, F = ${mib(run.fileBytes)}, T_min = ${run.tMinSeconds.toFixed(1)} s (${basename(run.file)})`;
}

/** Finished peers' times spanning more than this factor go on a log x axis. */
const CDF_LOG_SPAN = 8;

/**
 * The points of a step CDF of `done` (finish times, any order) over `total` peers, from
 * (xStart, 0) to xEnd: unfinished peers keep it below 1.
 */
function stepCdf(done: number[], total: number, xStart: number, xEnd: number): { x: number; y: number }[] {
  const sorted = [...done].sort((a, b) => a - b);
  return [{ x: xStart, y: 0 }, ...sorted.map((x, i) => ({ x, y: (i + 1) / total })), { x: xEnd, y: sorted.length / total }];
}

/** A system's completion-time CDF over all its peers, in T_min. */
function cdfRows(s: SystemRun, xStart: number, xEnd: number, tMin: number): CdfRow[] {
  const done = s.perPeer.flatMap((p) => (p.seconds === null ? [] : [p.seconds / tMin]));
  const series = `${s.system} (${done.length}/${s.perPeer.length}${s.stopped ? ', stopped at the time limit' : ''})`;
  return stepCdf(done, s.perPeer.length, xStart, xEnd).map(({ x, y }) => ({ series, system: s.system, x, y }));
}

function cdfPlot(run: Run, stem: string): Plot | null {
  const systems = run.systems.filter((s) => s.perPeer.length > 0);
  if (systems.length === 0) return null;
  const times = systems.flatMap((s) => s.perPeer.flatMap((p) => (p.seconds === null ? [] : [p.seconds / run.tMinSeconds])));
  // A system stopped at its time limit is drawn up to the limit: it had not finished by then.
  const limits = systems.flatMap((s) => (s.stopped && s.timeLimitSeconds !== null ? [s.timeLimitSeconds / run.tMinSeconds] : []));
  const first = Math.min(1, ...times);
  const last = Math.max(1, ...times, ...limits);
  const log = first > 0 && last / first > CDF_LOG_SPAN;
  const xStart = log ? first * 0.8 : 0;
  const xEnd = log ? last * 1.25 : last * 1.05;
  const rows = systems.flatMap((s) => cdfRows(s, xStart, xEnd, run.tMinSeconds));
  return { name: `${stem}-cdf`, spec: cdfSpec(`Completion times: ${run.label}`, describeRun(run), rows, xStart, log) };
}

const LINK_MEASURES: [string, string] = ["the source's link: bytes a second / its rate", 'peers finished (since the launch)'];

function sourceLinkPlot(run: Run, stem: string): Plot | null {
  const rows: LinkRow[] = [];
  const notes: string[] = [];
  for (const s of run.systems) {
    if (!s.sourceLink) continue;
    const bins = sourceLinkBins(s.sourceLink);
    if (bins.length === 0) continue;
    const done = s.perPeer.flatMap((p) => (p.seconds === null || p.arrivalSeconds === undefined ? [] : [p.arrivalSeconds + p.seconds]));
    const panel = `${s.system} (${s.finished}/${s.peers} finished${s.stopped ? ', stopped at the time limit' : ''})`;
    for (const b of bins) rows.push({ panel, measure: LINK_MEASURES[0], x: b.seconds, y: b.share });
    const end = bins[bins.length - 1]!.seconds + 1;
    rows.push({ panel, measure: LINK_MEASURES[0], x: end, y: bins[bins.length - 1]!.share }); // the last bin's step drawn to its end
    if (s.perPeer.length > 0) {
      for (const { x, y } of stepCdf(done, s.perPeer.length, 0, Math.max(end, ...done))) rows.push({ panel, measure: LINK_MEASURES[1], x, y });
    }
    const sum = summarizeSourceLink(s.sourceLink);
    if (sum) notes.push(`${s.system}: busy ${(sum.busyShare * 100).toFixed(0)}% from ${sum.startSeconds.toFixed(1)} s to its last data at ${sum.endSeconds.toFixed(1)} s`);
  }
  if (rows.length === 0) return null;
  const subtitle = notes.length > 0 ? `${describeRun(run)}; ${notes.join('; ')} (bytes through it / its rate)` : describeRun(run);
  return { name: `${stem}-source-link`, spec: sourceLinkSpec(`The source's link: ${run.label}`, subtitle, rows, LINK_MEASURES, run.tMinSeconds) };
}

/**
 * How each system's peers filled their copies: the median over its peers of the time from
 * arrival to each tenth of the file. Peers arriving over a span are split at the median
 * arrival, the early half beside the late (planetlab-55: the late arrivals are where the
 * simulator and the testbed part).
 */
function progressPlot(run: Run, stem: string): Plot | null {
  const systems = run.systems.filter((s) => s.perPeer.some((p) => p.progressSeconds?.length === 10));
  if (systems.length === 0) return null;
  const arrivals = systems.flatMap((s) => s.perPeer.map((p) => p.arrivalSeconds ?? 0));
  const spread = Math.max(...arrivals) - Math.min(...arrivals) > 1;
  const cut = spread ? median(arrivals) : Infinity;
  const groups: [string, (arrival: number) => boolean][] = spread
    ? [[`arrived by ${cut.toFixed(0)} s`, (a) => a <= cut], [`arrived after ${cut.toFixed(0)} s`, (a) => a > cut]]
    : [['all peers', () => true]];
  const rows: ProgressRow[] = [];
  for (const [panel, inGroup] of groups) {
    for (const s of systems) {
      const m = medianProgress(s.perPeer.filter((p) => inGroup(p.arrivalSeconds ?? 0)));
      if (m === null) continue;
      rows.push({ panel, series: s.system, system: s.system, x: 0, y: 0 }, ...m.seconds.map((x, i) => ({ panel, series: s.system, system: s.system, x, y: (i + 1) / 10 })));
    }
  }
  const subtitle = `${describeRun(run)}; the median, over each system's peers that got the whole file, of the time from arrival to holding each tenth of it`;
  return { name: `${stem}-progress`, spec: progressSpec(`Progress, tenth by tenth: ${run.label}`, subtitle, rows) };
}

function scalingPlot(runs: Run[]): Plot | null {
  const time: PointRow[] = [];
  const source: PointRow[] = [];
  for (const run of runs) {
    for (const s of run.systems) {
      const file = basename(run.file);
      if (s.meanRatio !== null) time.push({ system: s.system, n: run.peers, value: s.meanRatio, file });
      source.push({ system: s.system, n: run.peers, value: s.sourceRatio, file });
    }
  }
  if (new Set(source.map((r) => r.n)).size < 2) return null;
  const byN = (a: PointRow, b: PointRow) => a.n - b.n;
  const subtitle = `${runs.length} inputs; mean over the peers that finished, T_min the fluid bound of each scenario`;
  return {
    name: 'scaling',
    spec: scalingSpec('Mean completion time and source load against N', subtitle, [
      { yTitle: 'mean time / T_min', rows: time.sort(byN) },
      { yTitle: 'source bytes / F', rows: source.sort(byN) },
    ]),
  };
}

/**
 * One bar per group and system: the value, or for several runs of one scenario (`slurpie
 * experiment --runs`) their median, with the range as a whisker (stacked, they read as a sum).
 */
function bars(groups: { label: string; systems: SystemRun[] }[], value: (s: SystemRun) => number | null): BarRow[] {
  const values = new Map<string, { group: string; system: string; xs: number[] }>();
  for (const g of groups) {
    for (const s of g.systems) {
      const v = value(s);
      if (v === null) continue;
      const key = JSON.stringify([g.label, s.system]);
      const entry = values.get(key) ?? { group: g.label, system: s.system, xs: [] };
      entry.xs.push(v);
      values.set(key, entry);
    }
  }
  return [...values.values()].map(({ group, system, xs }) =>
    xs.length === 1 ? { group, system, value: xs[0] as number } : { group, system, value: median(xs), lo: Math.min(...xs), hi: Math.max(...xs), runs: xs.length },
  );
}

/** Bars for the given systems, from each run (or pair of runs) that has all of them. */
function comparison(groups: { label: string; systems: SystemRun[] }[], withPeak: boolean): BarPanel[] {
  const panels: BarPanel[] = [
    { yTitle: 'mean time / T_min', rows: bars(groups, (s) => s.meanRatio), format: '.2f' },
    { yTitle: 'source bytes / F', rows: bars(groups, (s) => s.sourceRatio), format: '.2f' },
  ];
  const peak = withPeak ? bars(groups, (s) => s.peakSourceGets) : [];
  if (peak.length > 0) panels.push({ yTitle: 'peak source GETs at once', rows: peak, format: 'd' });
  return panels;
}

/** What the subtitle says of bars that are medians. */
function medianNote(panels: BarPanel[]): string {
  const most = Math.max(1, ...panels.flatMap((p) => p.rows.map((r) => r.runs ?? 1)));
  return most > 1 ? `; where a scenario has several runs, the bar is their median and the whisker their range (up to ${most} runs)` : '';
}

function find(run: Run, system: string): SystemRun | undefined {
  return run.systems.find((s) => s.system === system);
}

function ablationPlot(runs: Run[]): Plot | null {
  const groups: { label: string; systems: SystemRun[]; peers: number }[] = [];
  for (const run of runs) {
    for (const [on, off] of [['slurpie', 'slurpie-no-backoff'], ['sim', 'sim-no-backoff']] as const) {
      const a = find(run, on);
      const b = find(run, off);
      if (a && b) groups.push({ label: `${run.label} (N=${run.peers})`, systems: [a, b], peers: run.peers });
    }
  }
  // Two simulator files, one with and one without backoff, for the same scenario.
  const sims = runs.filter((r) => r.kind === 'sim');
  for (const a of sims.filter((r) => find(r, 'sim'))) {
    const b = sims.find((r) => find(r, 'sim-no-backoff') && r.peers === a.peers && r.fileBytes === a.fileBytes);
    if (b) groups.push({ label: `sim N=${a.peers}`, systems: [find(a, 'sim')!, find(b, 'sim-no-backoff')!], peers: a.peers });
  }
  if (groups.length === 0) return null;
  groups.sort((x, y) => x.peers - y.peers); // by N, whatever order the files came in (sim/*.json: n1000 before n12)
  const panels = comparison(groups, true);
  const subtitle = `no-backoff: a peer goes to the source every round it is allowed to${medianNote(panels)}`;
  return { name: 'backoff-ablation', spec: barsSpec('Backoff ablation: random backoff at the source on and off', subtitle, panels) };
}

function simPlot(runs: Run[]): Plot | null {
  const groups: { label: string; systems: SystemRun[] }[] = [];
  for (const run of runs.filter((r) => r.kind === 'experiment')) {
    const testbed = find(run, 'slurpie');
    if (!testbed) continue;
    const sim = find(run, 'sim') ?? runs.find((r) => r.kind === 'sim' && r.peers === run.peers && r.fileBytes === run.fileBytes && find(r, 'sim'))?.systems[0];
    if (sim) groups.push({ label: `${run.label} (N=${run.peers})`, systems: [testbed, sim] });
  }
  if (groups.length === 0) return null;
  const panels = comparison(groups, false);
  // Per scenario, sim over testbed, from the bars (medians where a scenario has several runs).
  const [time, source] = panels as [BarPanel, BarPanel];
  const labels = [...new Set(groups.map((g) => g.label))];
  const ratio = (rows: BarRow[], label: string): string => {
    const of = (system: string) => rows.find((r) => r.group === label && r.system === system);
    const [sim, testbed] = [of('sim'), of('slurpie')];
    const runs = testbed?.runs ? ` (${testbed.runs} runs)` : '';
    return sim && testbed && testbed.value > 0 ? `${(sim.value / testbed.value).toFixed(2)}${runs}` : 'n/a';
  };
  const notes = labels.map((l) => `${l}: sim/testbed mean ${ratio(time.rows, l)}, source ${ratio(source.rows, l)}`);
  return { name: 'sim-vs-testbed', spec: barsSpec('Simulator against testbed (slurpie)', notes.join('; ') + medianNote(panels), panels) };
}

/** Every plot the runs allow, in a fixed order. */
export function choosePlots(runs: Run[]): Plot[] {
  const stems = new Set<string>();
  const perRun = runs.flatMap((run) => {
    let stem = basename(run.file).replace(/\.json$/i, '');
    while (stems.has(stem)) stem += '-2'; // two inputs with one name in different directories
    stems.add(stem);
    return [cdfPlot(run, stem), sourceLinkPlot(run, stem), progressPlot(run, stem)].filter((p): p is Plot => p !== null);
  });
  return [...perRun, scalingPlot(runs), ablationPlot(runs), simPlot(runs)].filter((p): p is Plot => p !== null);
}

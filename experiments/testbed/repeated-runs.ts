// `slurpie experiment --runs N`: one table over N runs of the same scenario. On this machine
// the testbed varies from run to run (lan-48: 1.46–1.70 T_min within an hour, the same code):
// one run is one sample, so each system's median and range over the runs are what to quote,
// and the median run is the one to plot. The simulator is deterministic for one seed; run i
// simulates with the scenario's seed + i - 1 (the same crowd), so its runs sample its own spread.
import { describeMachine } from './machine.ts';
import { median } from './median.ts';
import { byBuildCpu, cpuOf, simAgainstTestbed, type ExperimentResults, type SystemResult } from './results.ts';

export interface RunsSummary {
  markdown: string;
  /** Index into the runs of the one to plot: the median by slurpie's mean time (else the first system's). */
  medianRun: number;
}


/** "1.52 (1.46–1.70)", or "1.48" when every run gave the same. */
function spread(xs: number[]): string {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo.toFixed(2) === hi.toFixed(2) ? median(xs).toFixed(2) : `${median(xs).toFixed(2)} (${lo.toFixed(2)}–${hi.toFixed(2)})`;
}

function systemNames(runs: ExperimentResults[]): string[] {
  return [...new Set(runs.flatMap((r) => r.systems.map((s) => s.system)))];
}

/** Each run's result for `name` that ran (not skipped), with its run's index. */
function ranOf(runs: ExperimentResults[], name: string): { run: number; r: SystemResult }[] {
  return runs.flatMap((res, run) => res.systems.filter((r) => r.system === name && !r.skipped).map((r) => ({ run, r })));
}

/** The run whose `name` mean time is the median one (the lower middle when even), or null. */
function medianRunOf(runs: ExperimentResults[], name: string): number | null {
  const timed = ranOf(runs, name).filter(({ r }) => r.meanRatio !== null);
  if (timed.length === 0) return null;
  timed.sort((a, b) => (a.r.meanRatio as number) - (b.r.meanRatio as number));
  return (timed[Math.floor((timed.length - 1) / 2)] as { run: number }).run;
}

/** A system's runs as one result: the median mean time and source bytes over those with a time, and how many runs. */
function medianResult(ran: SystemResult[]): { r: SystemResult; of: number } | null {
  const timed = ran.filter((r) => r.meanSeconds !== null);
  const first = timed[0];
  if (!first) return null;
  return { r: { ...first, meanSeconds: median(timed.map((r) => r.meanSeconds as number)), sourceRatio: median(ran.map((r) => r.sourceRatio)) }, of: ran.length };
}

function row(runs: ExperimentResults[], name: string, peers: number): string {
  const ran = ranOf(runs, name);
  if (ran.length === 0) {
    const why = runs.flatMap((res) => res.systems.filter((r) => r.system === name).map((r) => r.skipped))[0];
    return `| ${name} | 0 of ${runs.length} | – | – | – | skipped: ${why ?? 'not run'} |`;
  }
  const finished = ran.map(({ r }) => r.finished);
  const lo = Math.min(...finished);
  const hi = Math.max(...finished);
  const times = ran.flatMap(({ r }) => (r.meanRatio === null ? [] : [r.meanRatio]));
  const notes: string[] = [];
  const stopped = ran.filter(({ r }) => r.stopped).length;
  if (stopped > 0) notes.push(`stopped at the time limit in ${stopped} of ${ran.length}: its mean counts the peers that finished`);
  if (times.length < ran.length) notes.push(`no peer finished in ${ran.length - times.length}`);
  const interrupted = ran.filter(({ r }) => r.interrupted).length;
  if (interrupted > 0) notes.push(`interrupted in ${interrupted}`);
  return (
    `| ${name} | ${ran.length} of ${runs.length} | ${lo === hi ? lo : `${lo}–${hi}`}/${peers} | ${times.length ? spread(times) : '–'} | ` +
    `${spread(ran.map(({ r }) => r.sourceRatio))} | ${notes.join('; ')} |`
  );
}

/**
 * What a system's peer processes spent over the runs, where they report it (slurpie): CPU in
 * all, per MiB moved and per unit of mean / T_min (when the testbed is short of CPU, CPU follows
 * time, so that last one barely moves while the others do), and with two builds b / a.
 */
function cpuOverRuns(name: string, ran: SystemResult[]): string | null {
  const cpu = ran.flatMap((r) => {
    const c = cpuOf(r.perPeer);
    return c === null || c.perMib === null || r.meanRatio === null ? [] : [{ all: c.cpu, perMib: c.perMib, perTime: c.cpu / r.meanRatio }];
  });
  if (cpu.length === 0) return null;
  const range = (xs: number[], digits: number): string => {
    const [lo, hi] = [Math.min(...xs), Math.max(...xs)].map((x) => x.toFixed(digits));
    return lo === hi ? (lo as string) : `${median(xs).toFixed(digits)} (${lo}–${hi})`;
  };
  let line = `${name}'s peer processes over ${cpu.length} runs: ${range(cpu.map((c) => c.all), 1)} CPU-s in all, ` +
    `${range(cpu.map((c) => c.perMib), 1)} CPU-ms per MiB moved after start-up, ${range(cpu.map((c) => c.perTime), 1)} CPU-s per unit of mean / T_min.`;
  const builds = ran.flatMap((r) => byBuildCpu(r) ?? []);
  if (builds.length > 0) {
    line += ` By build (every other peer is b), b / a per peer after start-up ${range(builds.map((b) => b.perPeer), 3)}, per MiB ${range(builds.map((b) => b.perMib), 3)}.`;
  }
  return line;
}

/** The markdown over `runs` (in the order run), written beside their files (`files[i]` is run i's JSON). */
export function summarizeRuns(runs: ExperimentResults[], files: string[]): RunsSummary {
  if (runs.length === 0) throw new RangeError('no runs to summarize');
  const first = runs[0] as ExperimentResults;
  const names = systemNames(runs);
  const lines = [
    `# ${first.scenario.name}: ${runs.length} runs`,
    '',
    `${first.peers} peers, ${(first.fileBytes / 1048576).toFixed(1)} MiB, T_min = ${first.tMinSeconds.toFixed(1)} s; ` +
      `runs from ${first.startedAt} on ${describeMachine(first.machine)}. Median over the runs, (range).`,
    '',
    '| system | ran | finished | mean / T_min | source / F | note |',
    '|---|---|---|---|---|---|',
    ...names.map((name) => row(runs, name, first.peers)),
  ];
  // The simulator's median over its seeds against the median of the testbed's runs.
  const sim = medianResult(ranOf(runs, 'sim').map(({ r }) => r));
  const slurpie = medianResult(ranOf(runs, 'slurpie').map(({ r }) => r));
  if (sim && slurpie) {
    const simLabel = sim.of > 1 ? `Simulator (median over ${sim.of} seeds)` : 'Simulator';
    const line = simAgainstTestbed([sim.r, slurpie.r], `slurpie's median over ${slurpie.of} runs`, simLabel);
    if (line) lines.push('', line);
  }
  for (const name of names) {
    const line = cpuOverRuns(name, ranOf(runs, name).map(({ r }) => r));
    if (line) lines.push('', line);
  }
  const medianRun = medianRunOf(runs, 'slurpie') ?? medianRunOf(runs, names[0] as string) ?? 0;
  lines.push('', 'Runs:', ...runs.map((_, i) => `- run ${i + 1}: ${files[i] ?? '(not written)'}${i === medianRun ? ' (the median run)' : ''}`), '');
  return { markdown: lines.join('\n'), medianRun };
}

// The results of `slurpie experiment`, in the shared format /work/briefs/results-schema.md
// (read by `slurpie plot`): the per-system summary computed from the per-peer rows, and the
// markdown table written beside the JSON. Fields beyond the schema: approximations, perPeer
// ownSeconds / linkClass / left / error / messages / mainThreadSwitches, systems' `analytic`
// (plain HTTP's fair-share bound), `simMessages`, and machine's kernel / cpuModel / loadAtStart
// (machine.ts).
import { describeMachine, type MachineCpu, type MachineInfo } from './machine.ts';
import { progressLine } from './progress.ts';
import { busyLine } from './refusals.ts';
import type { AtRunCpu } from './sim-at-run-cpu.ts';
import { describeParams } from '../../bin/protocol-params.ts';
import type { MessageCounts } from '../../peer/node/message-counts.ts';
import type { RefusedBusy } from '../../peer/core/serving.ts';
import type { ThreadSwitches } from '../../bin/thread-switches.ts';
import type { Scenario } from '../scenarios/scenario-file.ts';
import { sourceLinkLine, type SourceLink } from './source-link.ts';

export interface PeerResult {
  id: string;
  linkClass: string | null;
  arrivalSeconds: number; // planned: its times count from here
  launchDelaySeconds?: number; // the testbed's: from its arrival to its process's launch (held by the launch gate)
  seconds: number | null; // from the peer's arrival to its file verified in place; null if it did not finish
  exitSeconds?: number | null; // from its arrival to its exit (slurpie: after the hand-over to the swarm)
  ownSeconds: number | null; // the peer's own measure (no process start-up), where it reports one
  fromSource: number | null;
  fromPeers: number | null;
  uploaded: number | null;
  maxRssBytes: number | null;
  cpuSeconds?: number | null; // user + system CPU of the peer's process, where it reports it (slurpie)
  startupSeconds?: number | null; // process start to the download's start (slurpie: node and the CLI loading)
  startupCpuSeconds?: number | null; // the CPU of that start-up (slurpie)
  build?: 'a' | 'b'; // with --peer-entry-b or --param-b: the build this peer ran (b: that one; a: the other peers')
  messages?: MessageCounts; // protocol messages it sent and received, by type, where it reports them (slurpie, sim)
  refusedBusy?: RefusedBusy; // the REQUESTs it refused busy, by the rule that refused them (slurpie, sim)
  secondsStretched?: number; // how long it sent its periodic updates less often, its host busy (slurpie: host load)
  progressSeconds?: number[]; // from its arrival to holding each tenth of the file: 10 at most (slurpie, sim)
  mainThreadSwitches?: ThreadSwitches; // its main thread blocked for work (voluntary) and was preempted (involuntary), where it reports them (slurpie, Linux)
  ok: boolean; // finished and its copy matches the source's sha256
  left: boolean; // stopped early by the scenario's churn
  error?: string;
}

export interface SystemResult {
  system: string;
  finished: number;
  stopped: boolean;
  timeLimitSeconds: number;
  wallSeconds: number;
  sourceBytes: number;
  sourceRatio: number;
  peakSourceGets: number | null;
  meanSeconds: number | null;
  maxSeconds: number | null;
  meanRatio: number | null;
  skipped: string | null;
  interrupted?: boolean;
  approximations?: string[]; // the simulator's: what it could not model of the scenario
  machineWallSeconds?: number; // the simulator's: real time it took (wallSeconds is virtual)
  simSeed?: number; // the simulator's: its protocol and network seed (run i of --runs: the scenario's + i - 1)
  simCpu?: { busySeconds: number; started: number }; // the simulator's CPU model: the CPU its peers used in all, and how many started
  atRunCpu?: AtRunCpu; // the simulator's, with --sim-cpu-of-run: again at the CPU the testbed's slurpie peers used (sim-at-run-cpu.ts)
  analytic?: { meanSeconds: number; meanRatio: number; sourceRatio: number; note: string } | null; // http: the fair-share bound
  simMessages?: { peers: number; sent: Record<string, number> }; // the simulator's totals by type, in results before 2026-12-03 (now each peer's `messages`)
  sourceLink?: SourceLink; // the testbed's: what the source's link carried, sampled through the run (source-link.ts)
  machineCpu?: MachineCpu; // the testbed's: the machine's cores over the run, from launch to the last exit or the limit (Linux)
  perPeer: PeerResult[];
}

export interface ExperimentResults {
  version: 1;
  scenario: Scenario;
  startedAt: string;
  machine: MachineInfo;
  fileBytes: number;
  peers: number;
  tMinSeconds: number;
  approximations: string[];
  launchSlots?: number; // the testbed's launch gate (launch-gate.ts); 0: every peer at its arrival
  slurpieEntry?: string; // --peer-entry: the CLI build slurpie's peers and topology server ran
  slurpieEntryB?: string; // --peer-entry-b: the build every other slurpie peer ran
  slurpieParamsB?: Scenario['params']; // --param-b: the protocol parameters every other slurpie peer ran with
  systems: SystemResult[];
}

export interface SystemRaw {
  system: string;
  stopped: boolean;
  timeLimitSeconds: number;
  wallSeconds: number;
  sourceBytes: number;
  peakSourceGets: number | null;
  fileBytes: number;
  tMinSeconds: number;
  perPeer: PeerResult[];
  skipped?: string;
  interrupted?: boolean;
  sourceLink?: SourceLink | null;
  machineCpu?: MachineCpu | null;
}

// The mean of a non-empty list.
function meanOf(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function summarize(r: SystemRaw): SystemResult {
  const times = r.perPeer.flatMap((p) => (p.ok && p.seconds !== null ? [p.seconds] : []));
  const mean = times.length ? meanOf(times) : null;
  return {
    system: r.system,
    finished: times.length,
    stopped: r.stopped,
    timeLimitSeconds: r.timeLimitSeconds,
    wallSeconds: round(r.wallSeconds, 2),
    sourceBytes: r.sourceBytes,
    sourceRatio: r.skipped ? 0 : round(r.sourceBytes / r.fileBytes, 4),
    peakSourceGets: r.peakSourceGets,
    meanSeconds: mean === null ? null : round(mean, 2),
    maxSeconds: times.length ? round(Math.max(...times), 2) : null,
    meanRatio: mean === null ? null : round(mean / r.tMinSeconds, 3),
    skipped: r.skipped ?? null,
    ...(r.interrupted && { interrupted: true }),
    ...(r.sourceLink && { sourceLink: r.sourceLink }),
    ...(r.machineCpu && { machineCpu: r.machineCpu }),
    perPeer: r.perPeer,
  };
}

/** The markdown table (and a few lines around it) for one experiment. */
/** The protocol parameters slurpie's peers and the sim ran with where not the defaults (--param, the scenario's params). */
function paramsLine(params: Scenario['params']): string[] {
  const given = describeParams(params);
  return given === null ? [] : ['', `Protocol parameters not at their defaults (peer/core/params.ts), for slurpie and sim: ${given}.`];
}

export function markdownTable(res: ExperimentResults): string {
  const s = res.scenario;
  const mib = (b: number): string => (b / 1048576).toFixed(1);
  const lines = [
    `# ${s.name}`,
    '',
    s.description,
    '',
    `${res.peers} peers, ${mib(res.fileBytes)} MiB, source up ${((s.source.up * 8) / 1e6).toFixed(1)} Mb/s; T_min = ${res.tMinSeconds.toFixed(1)} s. ` +
      `Started ${res.startedAt} on ${describeMachine(res.machine)}.`,
    ...paramsLine(s.params),
    '',
    '| system | finished | mean / T_min | max / T_min | mean s | source / F | peak source GETs | wall s | note |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of res.systems) {
    const ratio = (x: number | null): string => (x === null ? '–' : (x / res.tMinSeconds).toFixed(2));
    let note = r.skipped ? `skipped: ${r.skipped}` : r.stopped ? `stopped at the ${r.timeLimitSeconds} s limit` : r.interrupted ? 'interrupted' : '';
    if (r.analytic) note += `${note ? '; ' : ''}analytic: mean / T_min ${r.analytic.meanRatio.toFixed(2)}, source / F ${r.analytic.sourceRatio}`;
    lines.push(
      `| ${r.system} | ${r.skipped ? '–' : `${r.finished}/${res.peers}`} | ${ratio(r.meanSeconds)} | ${ratio(r.maxSeconds)} | ${r.meanSeconds?.toFixed(1) ?? '–'} | ` +
        `${r.skipped ? '–' : r.sourceRatio.toFixed(2)} | ${r.peakSourceGets ?? '–'} | ${r.skipped ? '–' : r.wallSeconds.toFixed(0)} | ${note} |`,
    );
  }
  const links = res.systems.flatMap((r) => {
    const finishedAt = r.perPeer.flatMap((p) => (p.ok && p.seconds !== null ? [p.arrivalSeconds + p.seconds] : []));
    const line = r.sourceLink ? sourceLinkLine(r.system, r.sourceLink, finishedAt) : null;
    return line === null ? [] : [line];
  });
  if (links.length > 0) lines.push('', ...links);
  const progress = res.systems.map((r) => progressLine(r.system, r.perPeer)).filter((line) => line !== null);
  if (progress.length > 0) lines.push('', ...progress);
  const sim = simAgainstTestbed(res.systems);
  if (sim) lines.push('', sim);
  const atRun = res.systems.find((r) => r.atRunCpu);
  const testbed = res.systems.find((r) => r.system === 'slurpie');
  if (atRun?.atRunCpu && testbed) lines.push('', atRunCpuLine(atRun.atRunCpu, testbed));
  const cpu = res.systems.flatMap((r) => [cpuUsed(r), machineCpuLine(r)]).filter((line) => line !== null);
  if (cpu.length > 0) lines.push('', ...cpu);
  const messages = res.systems.map(messagesSent).filter((line) => line !== null);
  if (messages.length > 0) lines.push('', ...messages);
  const load = res.systems.flatMap((r) => [busyLine(r.system, r.perPeer), hostLoad(r), coreWaits(r)]).filter((line) => line !== null);
  if (load.length > 0) lines.push('', ...load);
  if (res.slurpieEntry !== undefined) lines.push('', `slurpie's peers and topology server ran ${res.slurpieEntry} (--peer-entry), not this build.`);
  if (res.slurpieEntryB !== undefined) lines.push('', `Every other slurpie peer (build b) ran ${res.slurpieEntryB} (--peer-entry-b).`);
  if (res.slurpieParamsB !== undefined) lines.push('', `Every other slurpie peer (build b) ran with the protocol parameters ${describeParams(res.slurpieParamsB) ?? 'at their defaults'} (--param-b).`);
  if (res.approximations.length > 0) lines.push('', 'Not emulated or approximated in the testbed:', ...res.approximations.map((a) => `- ${a}`));
  for (const r of res.systems) {
    if (r.approximations?.length) lines.push('', `Approximated by ${r.system} (wall s is virtual time):`, ...r.approximations.map((a) => `- ${a}`));
  }
  lines.push('');
  return lines.join('\n');
}

/** How far apart the simulator and the testbed may be and still agree (issue #12: within 20%). */
const SIM_AGREEMENT = 0.2;

/**
 * The simulator beside slurpie on the testbed, when one run has both: sim / testbed on mean
 * time and on source bytes, and whether each is within SIM_AGREEMENT. `testbedLabel` names
 * what the slurpie row is (a median over runs, say).
 */
export function simAgainstTestbed(systems: SystemResult[], testbedLabel = 'slurpie', simLabel = 'Simulator'): string | null {
  const ran = (name: string): SystemResult | undefined => systems.find((s) => s.system === name && !s.skipped && s.meanSeconds !== null && s.sourceRatio > 0);
  const testbed = ran('slurpie');
  const sim = ran('sim');
  if (!testbed || !sim) return null;
  // Judged as shown, to two places: a 0.7996 that reads 0.80 agrees.
  const time = round((sim.meanSeconds as number) / (testbed.meanSeconds as number), 2);
  const source = round(sim.sourceRatio / testbed.sourceRatio, 2);
  const agrees = (x: number): boolean => Math.abs(x - 1) <= SIM_AGREEMENT + 1e-9;
  const pct = `${Math.round(SIM_AGREEMENT * 100)}%`;
  const verdict = agrees(time) && agrees(source) ? `both within ${pct}` : agrees(time) ? `time within ${pct}, source bytes not` : agrees(source) ? `source bytes within ${pct}, time not` : `neither within ${pct}`;
  return `${simLabel} against testbed (sim / ${testbedLabel}): mean time ${time.toFixed(2)}, source bytes ${source.toFixed(2)}: ${verdict}.`;
}

/**
 * What a system's peer processes spent in CPU, where each reports it (slurpie), to set beside
 * the simulator's CPU model (its costs are measured on loopback, experiments/sim/cpu-model.ts).
 */
export function cpuUsed(r: SystemResult): string | null {
  const all = cpuOf(r.perPeer);
  if (all === null) return null;
  const perMib = all.perMib !== null ? `, ${all.perMib.toFixed(1)} CPU-ms per MiB moved after start-up` : '';
  const perSecond = all.perSecond !== null ? `, ${all.perSecond.toFixed(1)} CPU-ms a second from start-up to exit` : '';
  const line = `CPU used by ${r.system}'s ${all.peers} peer processes: ${all.cpu.toFixed(1)} CPU-s in all, ${all.startup.toFixed(3)} CPU-s each to start${perMib}${perSecond}.`;
  const builds = byBuildCpu(r);
  if (builds === null) return line;
  const { a, b } = builds;
  return `${line} By build, in the same swarm (every other peer is b): a ${a.perMib.toFixed(1)} (${a.peers} peers), ` +
    `b ${b.perMib.toFixed(1)} (${b.peers} peers) CPU-ms per MiB moved after start-up, b / a ${builds.perMib.toFixed(3)}; ` +
    `CPU-s a peer after start-up a ${a.each.toFixed(3)}, b ${b.each.toFixed(3)}, b / a ${builds.perPeer.toFixed(3)}; ` +
    `start-up a ${a.startup.toFixed(3)}, b ${b.startup.toFixed(3)} CPU-s each.`;
}

/**
 * The machine's cores over a testbed run, beside the peers' own CPU: the rest is the kernel's
 * forwarding between namespaces (veths, the bridge, tbf), the source, the topology server and
 * the driver, none of which the simulator's CPU model charges.
 */
export function machineCpuLine(r: SystemResult): string | null {
  const m = r.machineCpu;
  if (!m) return null;
  const peers = cpuOf(r.perPeer)?.cpu;
  const busy = `the machine's cores busy ${Math.round((100 * m.busySeconds) / m.capacitySeconds)}% of the run (${m.busySeconds.toFixed(1)} of ${m.capacitySeconds.toFixed(1)} CPU-s)`;
  const probe = m.probeBeforeMs === undefined ? '' : ` A fixed piece of work took ${m.probeBeforeMs.toFixed(1)} CPU-ms before the launch` +
    (m.probeDuringMs === undefined ? '.' : ` and ${m.probeDuringMs.toFixed(1)} through the run (${(m.probeDuringMs / m.probeBeforeMs).toFixed(2)}x: the host's speed and our own load, speed-probe.ts).`);
  if (peers === undefined) return `Machine (${r.system}): ${busy}.${probe}`;
  const moved = r.perPeer.reduce((n, p) => n + (p.fromSource ?? 0) + (p.fromPeers ?? 0), 0) / 1048576;
  const rest = m.busySeconds - peers;
  const perMib = moved > 0 ? `, ${((1000 * rest) / moved).toFixed(1)} CPU-ms per MiB the peers received` : '';
  return `Machine (${r.system}): ${busy}; ${peers.toFixed(1)} of it the peers' processes, the rest ${rest.toFixed(1)} (the kernel's forwarding, the source, the topology server, the driver${perMib}).${probe}`;
}

type BuildCpu = { peers: number; startup: number; perMib: number; each: number };

/**
 * With two builds in the swarm, each half's CPU and b / a: per MiB moved and per peer, both
 * after start-up (per peer as well: a build that makes its peers upload more, or less, moves the
 * per-MiB figure by its denominator alone). Null without two builds that both report.
 */
export function byBuildCpu(r: SystemResult): { a: BuildCpu; b: BuildCpu; perMib: number; perPeer: number } | null {
  const half = (build: 'a' | 'b'): BuildCpu | null => {
    const c = cpuOf(r.perPeer.filter((p) => p.build === build));
    return c?.perMib == null ? null : { peers: c.peers, startup: c.startup, perMib: c.perMib, each: c.cpu / c.peers - c.startup };
  };
  const [a, b] = [half('a'), half('b')];
  return a && b ? { a, b, perMib: b.perMib / a.perMib, perPeer: b.each / a.each } : null;
}

/** The line under the table: the simulator at the run's CPU against the testbed. */
export function atRunCpuLine(a: AtRunCpu, testbed: SystemResult): string {
  const time = a.meanSeconds !== null && testbed.meanSeconds ? `, ${(a.meanSeconds / testbed.meanSeconds).toFixed(2)} of the testbed's on time` : '';
  const bytes = testbed.sourceRatio > 0 ? ` and ${(a.sourceRatio / testbed.sourceRatio).toFixed(2)} on source bytes` : '';
  return `The simulator at this run's CPU (--sim-cpu-of-run): start-up ${a.startupMs} CPU-ms (the testbed peers' median), its other costs ×${a.scale.toFixed(2)} ` +
    `(${a.passes} ${a.passes === 1 ? 'pass' : 'passes'}), so a peer used ${a.simCpuSeconds.toFixed(2)} CPU-s after start-up against the testbed's ${a.testbedCpuSeconds.toFixed(2)}: ` +
    `${a.finished} finished, mean ${a.meanRatio?.toFixed(2) ?? '–'} T_min, ${a.sourceRatio.toFixed(2)} F${time}${bytes}.`;
}

/**
 * The CPU of the peers that report it: in all, start-up each, per MiB moved after start-up, and
 * per second from start-up to exit (over the peers that also report when they started and
 * left): a peer's CPU follows its time in the swarm more than its bytes (docs/peer-cost-sends.md).
 */
export function cpuOf(perPeer: PeerResult[]): { peers: number; cpu: number; startup: number; perMib: number | null; perSecond: number | null } | null {
  const peers = perPeer.filter((p) => typeof p.cpuSeconds === 'number' && typeof p.startupCpuSeconds === 'number');
  if (peers.length === 0) return null;
  const sum = (f: (p: PeerResult) => number): number => peers.reduce((n, p) => n + f(p), 0);
  const cpu = sum((p) => p.cpuSeconds as number);
  const startup = sum((p) => p.startupCpuSeconds as number);
  const mib = sum((p) => (p.fromSource ?? 0) + (p.fromPeers ?? 0) + (p.uploaded ?? 0)) / 1048576;
  return { peers: peers.length, cpu, startup: startup / peers.length, perMib: mib > 0 ? (1000 * (cpu - startup)) / mib : null, perSecond: cpuPerSecond(peers) };
}

// CPU-ms a second in the swarm: after start-up, over the time from the download's start to the
// process's exit (its hand-over included), summed over the peers that report both.
function cpuPerSecond(peers: PeerResult[]): number | null {
  let cpu = 0;
  let seconds = 0;
  for (const p of peers) {
    if (typeof p.exitSeconds !== 'number' || typeof p.startupSeconds !== 'number') continue;
    const inSwarm = p.exitSeconds - (p.launchDelaySeconds ?? 0) - p.startupSeconds;
    if (!(inSwarm > 0)) continue;
    cpu += (p.cpuSeconds as number) - (p.startupCpuSeconds as number);
    seconds += inSwarm;
  }
  return seconds > 0 ? (1000 * cpu) / seconds : null;
}

/**
 * The messages one of a system's peers sent, mean by type, most first, from each reporting
 * peer's own counts (the simulator's older results: its totals over the peers that arrived).
 */
export function messagesSent(r: SystemResult): string | null {
  const sent = sentByAll(r.perPeer) ?? r.simMessages ?? null;
  if (sent === null || sent.peers === 0) return null;
  const count = (n: number): string => Math.round(n / sent.peers).toLocaleString('en-US');
  const types = Object.entries(sent.sent).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  const total = types.reduce((n, [, x]) => n + x, 0);
  const byType = types.map(([type, n]) => `${type} ${count(n)}`).join(', ');
  // The simulator counts by message type alone: its UPDATE holds the news-only ones too, its REJECT the missing ones.
  const split = sent === r.simMessages ? ' (UPDATE includes UPDATE-news, REJECT includes REJECT-missing: the simulator does not tell them apart)' : '';
  return `Messages a ${r.system} peer sent (mean over ${sent.peers} peers): ${byType ? `${byType}; ` : ''}${count(total)} in all${split}${byBuild(r.perPeer)}`;
}

/** How long a system's peers slowed their periodic updates because their processes waited for a core. */
export function hostLoad(r: SystemResult): string | null {
  const each = r.perPeer.flatMap((p) => (typeof p.secondsStretched === 'number' ? [p.secondsStretched] : []));
  if (each.length === 0) return null;
  const mean = meanOf(each);
  const some = each.filter((s) => s > 0).length;
  return `Host load: a ${r.system} peer sent its periodic updates less often for ${mean.toFixed(1)} s on average (its timers late: busyLagMs); ${some} of ${each.length} peers did at some point`;
}

/**
 * Whether a system's peers waited for work or for a core: their main threads' blocking waits
 * against their preemptions. Preempted more often than waiting, a peer had work queued nearly
 * always, so what it costs is that work, not waking up for it.
 */
export function coreWaits(r: SystemResult): string | null {
  const each = r.perPeer.flatMap((p) => (p.mainThreadSwitches ? [p.mainThreadSwitches] : []));
  if (each.length === 0) return null;
  const waited = meanOf(each.map((s) => s.voluntary));
  const preempted = meanOf(each.map((s) => s.involuntary));
  const verdict = preempted > waited ? 'preempted more often than waiting: bound by CPU' : 'waiting more often than preempted: not bound by CPU';
  return `Cores: a ${r.system} peer's main thread waited for work ${waited.toFixed(0)} times and was preempted ${preempted.toFixed(0)} times (means over ${each.length} peers), ${verdict}`;
}

/** With two builds in the swarm: what a peer of each sent, in all, so a change's own sending shows. */
function byBuild(perPeer: PeerResult[]): string {
  const inAll = (build: 'a' | 'b'): string | null => {
    const sent = sentByAll(perPeer.filter((p) => p.build === build));
    return sent === null ? null : Math.round(Object.values(sent.sent).reduce((n, x) => n + x, 0) / sent.peers).toLocaleString('en-US');
  };
  const [a, b] = [inAll('a'), inAll('b')];
  return a === null || b === null ? '' : `; by build, in all: a ${a}, b ${b}`;
}

/** The messages sent by the peers that report counts, summed by type; null if none does. */
function sentByAll(perPeer: PeerResult[]): { peers: number; sent: Record<string, number> } | null {
  const counted = perPeer.flatMap((p) => (p.messages ? [p.messages.sent] : []));
  if (counted.length === 0) return null;
  const sent: Record<string, number> = {};
  for (const each of counted) for (const [type, n] of Object.entries(each)) sent[type] = (sent[type] ?? 0) + n;
  return { peers: counted.length, sent };
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

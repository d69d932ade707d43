// What the simulator measures and reports: message counts, REQUEST latency (a log
// histogram, O(1) memory at any swarm size), one timeline sample per virtual second,
// and the driver's findings about the core: anomalies (broken driver contract), spins
// (a tick asked for again at a time already ticked) and the cores' own warnings. Only
// the first MAX_SAMPLES lines of each are kept, with a total where it matters.
// `buildResult` assembles the SimResult at the end of a run; its field order is the
// JSON's, which compare-results.ts checks byte for byte.
import { getHeapStatistics } from 'node:v8';
import type { PeerCore } from '../../peer/core/peer.ts';
import type { SimConfig } from './scenario.ts';
import type { MeshShape, Quantiles } from './scale-metrics.ts';
import type { LatencySummary, SimMemory, SimMessageCount, SimOptions, SimPeerResult, SimResult, SimSample, SimScale } from './simulate.ts';
import type { SourceModel } from './source-model.ts';
import type { SimPeer } from './world.ts';

export const MAX_SAMPLES = 20;

/** Quantiles of positive durations from log-spaced buckets (20 per decade, 0.01 ms to 10^6 ms): O(1) memory. */
export class LogHistogram {
  private readonly buckets = new Float64Array(20 * 8 + 1);
  private count = 0;
  private max = 0;

  add(ms: number): void {
    const b = Math.min(this.buckets.length - 1, Math.max(0, Math.floor(20 * (Math.log10(Math.max(ms, 0.01)) + 2))));
    this.buckets[b] = (this.buckets[b] ?? 0) + 1;
    this.count++;
    this.max = Math.max(this.max, ms);
  }

  summary(): LatencySummary {
    const q = (f: number): number => {
      if (this.count === 0) return NaN;
      let seen = 0;
      for (let b = 0; b < this.buckets.length; b++) {
        seen += this.buckets[b] ?? 0;
        if (seen >= f * this.count) return Math.min(this.max, 10 ** ((b + 1) / 20 - 2)); // the bucket's upper edge
      }
      return this.max;
    };
    return { count: this.count, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: this.max };
  }
}

/** The state a timeline sample reads. */
export interface SampledState {
  readonly arrived: number;
  readonly completed: number;
  readonly source: SourceModel;
}

export class Metrics {
  readonly latency = new LogHistogram();
  readonly messages: Record<string, SimMessageCount> = {}; // keys in the order types were first sent
  dropped = 0;
  spinTicks = 0;
  readonly spins: string[] = [];
  readonly anomalies: string[] = [];
  readonly warnings: string[] = [];
  warningCount = 0;
  readonly timeline: SimSample[] = [];
  registrations = 0;
  peakRegistrationsPerSecond = 0;
  private registrationSecond = -1;
  private registrationsThisSecond = 0;

  constructor(private readonly onSample: SimOptions['onSample']) {}

  /** The topology server answered a registration at `now` (its load, in requests per second). */
  registration(now: number): void {
    this.registrations++;
    const second = Math.floor(now / 1000);
    if (second !== this.registrationSecond) {
      this.registrationSecond = second;
      this.registrationsThisSecond = 0;
    }
    this.peakRegistrationsPerSecond = Math.max(this.peakRegistrationsPerSecond, ++this.registrationsThisSecond);
  }

  countMessage(type: string, bytes: number): void {
    const count = (this.messages[type] ??= { count: 0, bytes: 0 });
    count.count++;
    count.bytes += bytes;
  }

  /** A driver-side check of the core's contract failed. */
  anomaly(now: number, p: SimPeer, what: string): void {
    if (this.anomalies.length < MAX_SAMPLES) this.anomalies.push(`t=${fmt(now)} peer ${p.index}: ${what}`);
  }

  /** The core asked for a tick at a time it had already been ticked at. */
  spin(now: number, p: SimPeer, after: string, deadline: number): void {
    if (this.spinTicks++ < MAX_SAMPLES) this.spins.push(`t=${fmt(now)} peer ${p.index}: after ${after}, nextDeadline() = ${fmt(deadline)}, already ticked at ${fmt(p.lastTickAt)}`);
  }

  warn(now: number, p: SimPeer, msg: string): void {
    this.warningCount++;
    if (this.warnings.length < MAX_SAMPLES) this.warnings.push(`t=${fmt(now)} peer ${p.index}: ${msg}`);
  }

  /** Samples the state as it stands for every whole second up to `until` (and the time limit). */
  sample(until: number, maxMs: number, state: SampledState): void {
    for (let t = this.timeline.length * 1000; t <= until && t <= maxMs; t += 1000) {
      const sample = { t: t / 1000, sourceRuns: state.source.activeRuns, sourceBytes: state.source.bytes, arrived: state.arrived, done: state.completed };
      this.timeline.push(sample);
      this.onSample?.(sample);
    }
  }
}

/** Everything the result is made of, at the end of a run. */
export interface RunEnd {
  outcome: SimResult['outcome'];
  problem: string | null;
  now: number;
  events: number;
  completed: number;
  failed: number;
  wallMs: number;
  peers: readonly SimPeer[];
  estimateError: Quantiles;
  mesh: MeshShape | null;
}

export function buildResult(c: SimConfig, end: RunEnd, source: SourceModel, m: Metrics): SimResult {
  const { now } = end;
  const peers: SimPeerResult[] = end.peers.map((p) => ({
    index: p.index,
    id: p.id,
    arrivedMs: p.arrivedAt,
    doneMs: p.doneAt,
    leftMs: p.leftAt,
    seconds: p.doneAt === null ? null : (p.doneAt - p.arrivedAt) / 1000,
    tailSeconds: p.doneAt === null || p.at95 === null ? null : (p.doneAt - p.at95) / 1000,
    upBusySeconds: p.upBusyMs / 1000,
    stats: p.stats ?? p.core?.stats(now) ?? null,
    messages: p.messages.snapshot(),
  }));
  const times = peers.flatMap((p) => (p.seconds === null ? [] : [p.seconds]));
  const meanSeconds = times.length ? times.reduce((a, b) => a + b, 0) / times.length : NaN;
  const maxSeconds = times.length ? Math.max(...times) : NaN;
  const stuck = end.peers
    .filter((p) => p.doneAt === null && p.core)
    .slice(0, MAX_SAMPLES)
    .map((p) => {
      const st = (p.core as PeerCore).stats(now);
      return { index: p.index, blocksHave: st.blocksHave, blocks: st.blocks, connections: st.connections, neighbors: st.neighbors, known: st.peersSeen };
    });
  const duplicates = source.duplicateBlocks();
  const firstArrival = end.peers[0]?.arrivedAt ?? 0;
  const span = now - firstArrival;
  source.advance();
  return {
    outcome: end.outcome,
    problem: end.problem,
    stuck,
    peers,
    completed: end.completed,
    failed: end.failed,
    blocks: c.blocks,
    tMinSeconds: c.tMinSeconds,
    fluidBoundSeconds: c.fluidBoundSeconds,
    meanSeconds,
    maxSeconds,
    meanRatio: meanSeconds / c.tMinSeconds,
    maxRatio: maxSeconds / c.tMinSeconds,
    sourceBytes: source.bytes,
    sourceRatio: source.bytes / c.scenario.size,
    sourceRuns: source.runs,
    peakSourceRuns: source.peakRuns,
    sourceBusyFraction: span > 0 ? source.busyMs / span : 0,
    meanSourceRuns: source.busyMs > 0 ? source.runMs / source.busyMs : 0,
    sourceDuplicateBlocks: duplicates,
    simSeconds: now / 1000,
    events: end.events,
    wallMs: end.wallMs,
    messages: m.messages,
    droppedMessages: m.dropped,
    peerUploadUtilization: uploadUtilization(end.peers, now),
    requestLatencyMs: m.latency.summary(),
    spinTicks: m.spinTicks,
    spins: m.spins,
    anomalies: m.anomalies,
    warnings: m.warnings,
    warningCount: m.warningCount,
    timeline: m.timeline,
    scale: scaleOf(end, m),
    memory: memoryNow(),
  };
}

function scaleOf(end: RunEnd, m: Metrics): SimScale {
  let peerSeconds = 0;
  for (const p of end.peers) if (p.core) peerSeconds += ((p.leftAt ?? end.now) - p.arrivedAt) / 1000;
  const update = m.messages.UPDATE?.bytes ?? 0;
  const block = m.messages.BLOCK?.bytes ?? 0;
  return {
    estimateError: end.estimateError,
    mesh: end.mesh,
    registrations: m.registrations,
    peakRegistrationsPerSecond: m.peakRegistrationsPerSecond,
    updateBytesPerPeerSecond: peerSeconds > 0 ? update / peerSeconds : 0,
    updateShareOfBlocks: block > 0 ? update / block : 0,
  };
}

// Cheap calls (no heap walk): the goal of 10^5 peers is a memory goal.
function memoryNow(): SimMemory {
  return {
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    heapUsedBytes: process.memoryUsage().heapUsed,
    heapLimitBytes: getHeapStatistics().heap_size_limit,
  };
}

/** Σ peers' uplink busy time / Σ their time in the swarm. */
function uploadUtilization(peers: readonly SimPeer[], now: number): number {
  let busy = 0;
  let present = 0;
  for (const p of peers) {
    if (!p.core) continue;
    const until = p.leftAt ?? now;
    busy += p.upBusyMs - Math.max(0, p.upFreeAt - until); // not what is still queued
    present += until - p.arrivedAt;
  }
  return present > 0 ? busy / present : 0;
}

/** A time in ms for a report line: one decimal. */
export function fmt(ms: number): string {
  return Number.isFinite(ms) ? String(Math.round(ms * 10) / 10) : String(ms);
}

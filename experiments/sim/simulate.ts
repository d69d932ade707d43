// A deterministic discrete-event simulation of a Slurpie swarm (DESIGN.md: experiments/sim).
// Many unchanged PeerCore instances run in virtual time (ms); the simulator is only their
// world: links, a topology server, an HTTP source and disks. One seed replays a run
// exactly (STYLE.md: TigerBeetle's VOPR).
//
// The model is kept simple on purpose, one part per file, each opening with its rules:
//   scenario.ts      what to run: sizes, rates, latency, seed, defaults, validation
//   network.ts       connections, uplinks (one FIFO, or fair: uplink.ts), downlink FIFOs, latency, message sizes, close
//   source-model.ts  the HTTP source: processor sharing among its Range GETs
//   cpu.ts           optional: the peers' processes share a few cores (measured costs: cpu-model.ts)
//   world.ts         the event loop: arrival, topology registration, ticks, actions, leave
//   metrics.ts       counters, latency histogram, timeline, driver checks, the result
//   event-queue.ts   the agenda (a heap; equal times in push order)
//   trace.ts         a readable log of chosen peers' events and actions
// This file is the entry point and the shape of the result. Tools beside it:
// compare-results.ts (are two --json results the same run?), memory-per-peer.ts,
// heap-by-type.ts (what that memory is made of), profile-summary.ts (driver vs core in a CPU profile).
import type { PeerId } from '../../peer/core/messages.ts';
import type { MessageCounts } from '../../peer/node/message-counts.ts';
import type { PeerStats } from '../../peer/core/peer.ts';
import { checkScenario, resolveScenario, type SimScenario } from './scenario.ts';
import type { MeshShape, Quantiles } from './scale-metrics.ts';
import { World } from './world.ts';
import type { CpuSummary } from './cpu.ts';

export type { SimCpu, SimScenario } from './scenario.ts';
export { messageBytes } from './network.ts';

export interface SimOptions {
  onSample?: (sample: SimSample) => void; // each virtual second, e.g. for a live line
  // Every event and action of these peers; `stats`: also their stats after each tick.
  trace?: { peers: number[]; log: (line: string) => void; stats?: boolean };
}

/** Runs one scenario to the end (complete, stalled or timeout); throws a RangeError for a scenario that makes no sense. */
export function simulate(scenario: SimScenario, options: SimOptions = {}): SimResult {
  checkScenario(scenario);
  return new World(resolveScenario(scenario), options).run();
}

export interface SimPeerResult {
  index: number;
  id: PeerId;
  arrivedMs: number;
  doneMs: number | null; // when the core said `complete`
  leftMs: number | null; // when it left the swarm (after its hand-over, and lingerMs), if it did
  seconds: number | null; // doneMs - arrivedMs
  tailSeconds: number | null; // from holding 95% of the blocks to done (the last-block problem)
  upBusySeconds: number; // time its uplink spent sending
  stats: PeerStats | null; // at leave, or at the end of the run (null: had not arrived)
  messages: MessageCounts; // sent and received by type (message-counts.ts countedType)
}

export interface SimMessageCount {
  count: number;
  bytes: number;
}

export interface SimResult {
  outcome: 'complete' | 'stalled' | 'timeout';
  problem: string | null; // one line when the outcome is not `complete`
  stuck: { index: number; blocksHave: number; blocks: number; connections: number; neighbors: number; known: number }[];
  peers: SimPeerResult[];
  completed: number;
  blocks: number;
  tMinSeconds: number; // F / u_s
  fluidBoundSeconds: number; // max(F/u_s, F/d, N F / (u_s + N u)): nothing can beat it
  meanSeconds: number; // over completed peers (NaN if none)
  maxSeconds: number;
  meanRatio: number; // meanSeconds / tMinSeconds
  maxRatio: number;
  sourceBytes: number;
  sourceRatio: number; // sourceBytes / size
  sourceRuns: number; // fetchSource actions
  peakSourceRuns: number; // most GETs active at the source at once
  sourceBusyFraction: number; // share of [first arrival, end] with at least one GET active
  meanSourceRuns: number; // GETs active at the source, averaged over the time it was busy
  sourceDuplicateBlocks: number; // blocks the source sent more than once in all
  peerUploadUtilization: number; // Σ peers' uplink busy time / Σ their time in the swarm
  requestLatencyMs: LatencySummary; // REQUEST sent -> its BLOCK arrived (queueing at the server, and waiting for a block it has coming from the source)
  simSeconds: number;
  events: number; // popped from the agenda, stale ticks and source steps included
  wallMs: number; // the machine's: left out of comparisons, as is `memory`
  messages: Record<string, SimMessageCount>; // sent, by type
  droppedMessages: number; // arrived at a closed connection
  spinTicks: number; // ticks the core asked for again at once (deadline not moved on)
  spins: string[]; // the first few of them
  anomalies: string[]; // driver-side checks of the core's contract (first few)
  warnings: string[]; // the cores' `log warn` lines (first few)
  warningCount: number;
  timeline: SimSample[]; // one sample per virtual second
  failed: number; // peers whose core gave up (abort): the simulated source never fails, so a finding
  scale: SimScale;
  memory: SimMemory; // of the process, at the end (like wallMs, the machine's, not the model's)
  cpu?: CpuSummary; // only with the CPU model (scenario.cpu)
}

/** The measures of issue #10 (scale). */
export interface SimScale {
  estimateError: Quantiles; // groupSizeNow / live peers, over downloading peers sampled each virtual second
  mesh: MeshShape | null; // the mesh (neighbor links) at mid-download
  registrations: number; // answered by the topology server
  peakRegistrationsPerSecond: number;
  updateBytesPerPeerSecond: number; // UPDATE bytes sent / Σ peers' seconds in the swarm
  updateShareOfBlocks: number; // UPDATE bytes / BLOCK bytes
}

export interface SimMemory {
  peakRssBytes: number; // the process's peak resident set so far (everything it ran, not only this run)
  heapUsedBytes: number; // V8 heap in use at the end of the run, garbage not yet collected included
  heapLimitBytes: number; // V8's heap limit in that process (slurpie sim raises it: bin/commands/sim-v8-flags.ts)
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface SimSample {
  t: number; // seconds
  sourceRuns: number; // GETs active at the source
  sourceBytes: number; // sent so far
  arrived: number;
  done: number;
}

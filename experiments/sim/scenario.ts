// What a simulation is asked to run (SimScenario), checked at the edge and resolved once
// into the constants the rest of the model reads (SimConfig): the protocol parameters, the
// block count, per-byte link times and the defaults for every optional field.
//
// The defaults and why:
// - lingerMs 0: a finished peer leaves at once (the paper's peers leave when done).
// - stallMs 60 s: no block stored anywhere for that long means the swarm is stuck.
// - diskMs 0.5 ms: a block write on a local disk; never the bottleneck.
// - reregisterMs 30 s: the node re-registers every ttl/2 with the topology server's 60 s ttl.
// - maxSimSeconds: max(3600 s, 100 x the fluid bound), so a slow but live run still ends.
//
// Links: by default every peer has `peerUp`/`peerDown` and every hop the one-way latency
// `latencyMs`. `peerLinks` (one per peer, in arrival order) gives each peer its own (the
// PlanetLab-like scenarios): a host's `latencyMs` is the one-way latency between two hosts
// like it, each access link adding half, so a hop between hosts a and b takes
// (a.latencyMs + b.latencyMs) / 2 and the source and the topology server count as hosts
// with the scenario's `latencyMs`. With every link the same this is the homogeneous model,
// to the bit ((L + L) / 2 is L exactly).
import { resolveParams, type PeerParams } from '../../peer/core/params.ts';

export interface SimScenario {
  peers: number;
  size: number; // file bytes
  blockSize?: number; // overrides params.blockSize
  sourceRate: number; // bytes/s
  peerUp: number; // bytes/s
  peerDown: number; // bytes/s
  latencyMs: number; // one way, every hop
  seed: number;
  arrivalSpreadMs?: number; // 0 (default): a flash crowd at t = 0; else arrivals uniform in [0, spread)
  arrivalsMs?: number[]; // each peer's arrival, ms (a testbed's plan: scenarios/plan.ts); overrides arrivalSpreadMs
  leaveAfterMs?: (number | null)[]; // churn, per peer: it leaves this long after arriving unless done (null: stays)
  downloadLimits?: (number | null)[]; // per peer: bytes/s it takes at most (get --download-limit; null: none)
  params?: Partial<PeerParams>;
  maxSimSeconds?: number; // virtual time limit (default: max(3600 s, 100 × the fluid bound))
  lingerMs?: number; // a finished peer keeps serving this long (default 0)
  stallMs?: number; // no block stored anywhere for this long = a stall (default 60 s)
  diskMs?: number; // time to write a block (default 0.5 ms)
  reregisterMs?: number; // periodic re-registration (default 30 s, as the node with ttl 60 s), jittered ±25%
  answer?: 'newest' | 'mixed'; // the topology server's answers (default mixed, as `slurpie topology`)
  peerLinks?: PeerLink[]; // one per peer (in arrival order): overrides peerUp, peerDown and, for the peer's side of a hop, latencyMs
  cpu?: SimCpu; // the peers' processes share this many cores (cpu.ts); absent: infinite CPU, as before
  uplink?: UplinkModel; // a peer's uplink: one FIFO (default, as before) or shared fairly by its connections (network.ts, uplink.ts)
}

/** A peer's uplink in the simulator: one FIFO, or shared fairly by its connections (network.ts). */
export type UplinkModel = 'fifo' | 'fair';
export const UPLINK_MODELS: readonly UplinkModel[] = ['fifo', 'fair'];

/** The CPU model's parameters (cpu.ts); measured defaults in cpu-model.ts. */
export interface SimCpu {
  cores: number; // the peers' processes share these
  startupMs: number; // CPU a peer's process spends starting, before it registers
  eventMs: number; // per message handled (received or sent) and per tick
  mibMs: number; // per MiB of block data moved (received from the source or a peer, or uploaded)
  wakeMs?: number; // per wake-up: an event that finds its process idle (nothing queued, nothing running); 0 or absent: none
  readBytes?: number; // an idle process wakes to read each time this many more bytes of a message still arriving have come; 0 or absent: only whole messages wake it
  launchSlots?: number; // at most this many processes starting at once, the others held in arrival order; 0 or absent: no limit
}

/** One peer's access link: bytes/s each way, and the one-way latency between two hosts like it. */
export interface PeerLink {
  up: number;
  down: number;
  latencyMs: number;
}

/** A peer's link in the units the model uses. */
export interface ResolvedLink {
  readonly upMsPerByte: number;
  readonly downMsPerByte: number;
  readonly down: number; // bytes/s: caps its share of the source
  readonly halfL: number; // ms its access link adds to every hop
}

/** The scenario with every default filled in and the derived constants computed once. */
export interface SimConfig {
  readonly scenario: SimScenario;
  readonly params: PeerParams;
  readonly blocks: number;
  readonly L: number; // one-way latency, ms, of the source and topology server's side (and every hop when links are the same)
  readonly links: readonly ResolvedLink[]; // per peer
  readonly serverHalfL: number; // L / 2: what the source and the topology server add to a hop
  readonly lingerMs: number;
  readonly stallMs: number;
  readonly diskMs: number;
  readonly reregisterMs: number;
  readonly maxMs: number; // virtual time limit
  readonly cpu: SimCpu | null; // null: infinite CPU
  readonly tMinSeconds: number; // F / u_s
  readonly fluidBoundSeconds: number; // max(F/u_s, F/d_min, N F / (u_s + Σ u_i))
}

/** Throws a one-line RangeError for a scenario that makes no sense. */
export function checkScenario(s: SimScenario): void {
  if (!Number.isInteger(s.peers) || s.peers < 1) throw new RangeError(`scenario.peers must be a positive integer, got ${s.peers}`);
  if (!Number.isSafeInteger(s.size) || s.size < 1) throw new RangeError(`scenario.size must be a positive integer, got ${s.size}`);
  if (!Number.isInteger(s.seed)) throw new RangeError(`scenario.seed must be an integer, got ${s.seed}`);
  positive('sourceRate', s.sourceRate);
  positive('peerUp', s.peerUp);
  positive('peerDown', s.peerDown);
  nonNegative('latencyMs', s.latencyMs);
  for (const key of ['arrivalSpreadMs', 'lingerMs', 'diskMs'] as const) if (s[key] !== undefined) nonNegative(key, s[key]);
  for (const key of ['maxSimSeconds', 'stallMs', 'reregisterMs', 'blockSize'] as const) if (s[key] !== undefined) positive(key, s[key]);
  if (s.peerLinks !== undefined) {
    if (!Array.isArray(s.peerLinks) || s.peerLinks.length !== s.peers) throw new RangeError(`scenario.peerLinks must have one link per peer (${s.peers}), got ${Array.isArray(s.peerLinks) ? s.peerLinks.length : typeof s.peerLinks}`);
    s.peerLinks.forEach((link, i) => {
      positive(`peerLinks[${i}].up`, link.up);
      positive(`peerLinks[${i}].down`, link.down);
      nonNegative(`peerLinks[${i}].latencyMs`, link.latencyMs);
    });
  }
  for (const key of ['arrivalsMs', 'leaveAfterMs', 'downloadLimits'] as const) {
    const xs = s[key];
    if (xs === undefined) continue;
    if (!Array.isArray(xs) || xs.length !== s.peers) throw new RangeError(`scenario.${key} must have one entry per peer (${s.peers}), got ${Array.isArray(xs) ? xs.length : typeof xs}`);
    xs.forEach((x, i) => {
      if (x === null && key !== 'arrivalsMs') return; // null: stays, or no limit
      (key === 'downloadLimits' ? positive : nonNegative)(`${key}[${i}]`, x as number);
    });
  }
  if (s.uplink !== undefined && !UPLINK_MODELS.includes(s.uplink)) throw new RangeError(`scenario.uplink must be fifo or fair, got ${String(s.uplink)}`);
  if (s.cpu !== undefined) {
    if (!(Number.isFinite(s.cpu.cores) && s.cpu.cores > 0)) throw new RangeError(`scenario.cpu.cores must be a positive number, got ${s.cpu.cores}`);
    for (const key of ['startupMs', 'eventMs', 'mibMs'] as const) nonNegative(`cpu.${key}`, s.cpu[key]);
    if (s.cpu.wakeMs !== undefined) nonNegative('cpu.wakeMs', s.cpu.wakeMs);
    if (s.cpu.readBytes !== undefined) nonNegative('cpu.readBytes', s.cpu.readBytes);
    const slots = s.cpu.launchSlots;
    if (slots !== undefined && !(Number.isSafeInteger(slots) && slots >= 0)) throw new RangeError(`scenario.cpu.launchSlots must be a non-negative integer, got ${slots}`);
  }
  // β is also the simulated topology server's answer size, and that server takes whole peers only.
  const beta = s.params?.beta;
  if (beta !== undefined && !(Number.isSafeInteger(beta) && beta >= 1)) throw new RangeError(`scenario.params.beta must be a positive integer, got ${beta}`);
}

export function resolveScenario(s: SimScenario): SimConfig {
  const params = resolveParams({ ...s.params, ...(s.blockSize !== undefined && { blockSize: s.blockSize }) });
  const tMinSeconds = s.size / s.sourceRate;
  const resolve = (l: PeerLink): ResolvedLink => ({ upMsPerByte: 1000 / l.up, downMsPerByte: 1000 / l.down, down: l.down, halfL: l.latencyMs / 2 });
  const same = { up: s.peerUp, down: s.peerDown, latencyMs: s.latencyMs };
  const given = s.peerLinks ?? [same];
  const shared = resolve(same); // one object for all when the links are the same (10^5 peers)
  const links = s.peerLinks ? s.peerLinks.map(resolve) : Array.from({ length: s.peers }, () => shared);
  // A peer's download limit caps what it takes as its downlink does.
  const minDown = Math.min(...given.map((l) => l.down), ...(s.downloadLimits ?? []).map((d) => d ?? Infinity));
  const sumUp = s.peerLinks ? given.reduce((sum, l) => sum + l.up, 0) : s.peers * s.peerUp;
  // T_min = max(F/u_s, F/d_min, N F / (u_s + Σ u_i)): nothing can beat it.
  const fluidBoundSeconds = Math.max(tMinSeconds, s.size / minDown, (s.peers * s.size) / (s.sourceRate + sumUp));
  return {
    scenario: s,
    params,
    blocks: Math.ceil(s.size / params.blockSize),
    L: s.latencyMs,
    links,
    serverHalfL: s.latencyMs / 2,
    lingerMs: s.lingerMs ?? 0,
    stallMs: s.stallMs ?? 60_000,
    diskMs: s.diskMs ?? 0.5,
    reregisterMs: s.reregisterMs ?? 30_000,
    cpu: s.cpu ?? null,
    maxMs: (s.maxSimSeconds ?? Math.max(3600, 100 * fluidBoundSeconds)) * 1000,
    tMinSeconds,
    fluidBoundSeconds,
  };
}

/** Bytes in block `index` (the last one may be short). */
export function blockLength(c: SimConfig, index: number): number {
  return Math.min(c.params.blockSize, c.scenario.size - index * c.params.blockSize);
}

function positive(name: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`scenario.${name} must be a positive number, got ${v}`);
}

function nonNegative(name: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`scenario.${name} must be a non-negative number, got ${v}`);
}

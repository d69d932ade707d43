// A loaded scenario turned into what runs: each peer's link, arrival and (with churn) leaving
// time, all drawn from the scenario's seed so every system and every run sees the same peers;
// the fluid bound T_min; and the nearest simulator scenario.
import { SeededRng, shuffle } from '../../estimation/random.ts';
import { describeCpu } from '../sim/cpu-model.ts';
import type { SimCpu, SimScenario, UplinkModel } from '../sim/scenario.ts';
import type { Link, Scenario } from './scenario-file.ts';

export interface PeerPlan {
  id: string; // "p01"
  index: number;
  link: Link;
  linkClass: string | null; // the class name for a classes distribution
  arrivalSeconds: number; // after the system's start
  leaveAfterSeconds: number | null; // churn: stopped this long after its arrival unless done
}

/** The peers of a scenario, the same for the same seed. */
export function planPeers(s: Scenario): PeerPlan[] {
  const n = s.peers.count;
  const rng = new SeededRng(s.seed);
  let links: { link: Link; linkClass: string | null }[];
  if (s.peers.links.kind === 'same') {
    const link = s.peers.links.link;
    links = Array.from({ length: n }, () => ({ link, linkClass: null }));
  } else {
    const classes = s.peers.links.classes;
    const counts = largestRemainder(classes.map((c) => c.share), n);
    links = shuffle(rng, classes.flatMap((c, i) => Array.from({ length: counts[i] as number }, () => ({
      link: { up: c.up, down: c.down, latencyMs: c.latencyMs, ...(c.downloadLimit !== undefined && { downloadLimit: c.downloadLimit }) },
      linkClass: c.name,
    }))));
  }
  const arrivals = Array.from({ length: n }, () => (s.arrivals.kind === 'flash' ? 0 : round3(rng.next() * s.arrivals.overSeconds)));
  // The earliest arrival is the system's start: a uniform spread begins with a peer at 0.
  const first = Math.min(...arrivals);
  const leaving = new Set<number>();
  if (s.churn) for (const i of shuffle(rng, Array.from({ length: n }, (_, i) => i)).slice(0, Math.round(s.churn.fraction * n))) leaving.add(i);
  return links.map((l, i) => ({
    id: `p${String(i + 1).padStart(n >= 100 ? 3 : 2, '0')}`,
    index: i,
    ...l,
    arrivalSeconds: round3((arrivals[i] as number) - first),
    leaveAfterSeconds: s.churn && leaving.has(i) ? round3(rng.next() * s.churn.withinSeconds) : null,
  }));
}

/** The fluid bound T_min = max(F/u_s, F/d_min, N·F/(u_s + Σu_i)), seconds (a download limit counts as the downlink). */
export function tMinSeconds(s: Scenario, peers: PeerPlan[] = planPeers(s)): number {
  const F = s.fileBytes;
  const dMin = Math.min(...peers.map((p) => Math.min(p.link.down, p.link.downloadLimit ?? Infinity)));
  const sumUp = peers.reduce((a, p) => a + p.link.up, 0);
  return Math.max(F / s.source.up, F / dMin, (peers.length * F) / (s.source.up + sumUp));
}

/**
 * The simulator's nearest scenario, and what it had to approximate to get there. Every peer
 * keeps its own link (scenario.peerLinks); a host's latencyMs is the one-way latency between
 * two hosts like it (a hop between two hosts takes the mean of theirs, the source's included).
 * `cpu`: the peers share its cores at its costs (sim/cpu-model.ts measuredCpu), as the testbed's
 * peer processes share its machine's; null or absent: infinite CPU.
 */
export function toSimScenario(s: Scenario, cpu: SimCpu | null = null, uplink: UplinkModel = 'fifo'): { sim: SimScenario; approximations: string[] } {
  const peers = planPeers(s);
  const approximations: string[] = [];
  // The testbed's own plan: each peer arrives when it is launched there, and a churned one
  // leaves when it is stopped there (unless done).
  const arrivalSpreadMs = s.arrivals.kind === 'uniform' ? s.arrivals.overSeconds * 1000 : 0;
  if (s.churn) approximations.push('churn: a leaving peer leaves cleanly at its planned time, as the testbed stops it (SIGTERM)');
  if (uplink === 'fair') approximations.push("each peer's uplink is shared fairly by its connections (--sim-uplink fair)");
  // One link for all, as far as the source's latency too: the simulator's homogeneous model.
  const same = s.peers.links.kind === 'same' && s.peers.links.link.latencyMs === s.source.latencyMs ? s.peers.links.link : null;
  const sim: SimScenario = {
    peers: s.peers.count,
    size: s.fileBytes,
    ...(s.blockBytes !== undefined && { blockSize: s.blockBytes }),
    ...(s.params !== undefined && { params: s.params }),
    sourceRate: s.source.up,
    peerUp: same?.up ?? Math.min(...peers.map((p) => p.link.up)), // (overridden by peerLinks)
    peerDown: same?.down ?? Math.min(...peers.map((p) => p.link.down)),
    latencyMs: s.source.latencyMs,
    ...(!same && { peerLinks: peers.map(({ link }) => ({ up: link.up, down: link.down, latencyMs: link.latencyMs })) }),
    seed: s.seed,
    arrivalSpreadMs,
    ...(s.arrivals.kind !== 'flash' && { arrivalsMs: peers.map((p) => p.arrivalSeconds * 1000) }),
    ...(s.churn && { leaveAfterMs: peers.map((p) => (p.leaveAfterSeconds === null ? null : p.leaveAfterSeconds * 1000)) }),
    ...(peers.some((p) => p.link.downloadLimit !== undefined) && { downloadLimits: peers.map((p) => p.link.downloadLimit ?? null) }),
    maxSimSeconds: Math.max(3600, 10 * s.timeLimitSeconds),
    ...(cpu && { cpu }),
    ...(uplink === 'fair' && { uplink }),
  };
  if (cpu) approximations.push(`${describeCpu(cpu)}, as the testbed's peer processes share this machine's cores`);
  return { sim, approximations };
}

/** Splits n into parts proportional to shares (summing to 1), rounding by largest remainder. */
export function largestRemainder(shares: number[], n: number): number[] {
  const exact = shares.map((s) => s * n);
  const counts = exact.map(Math.floor);
  let left = n - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    counts[i] = (counts[i] as number) + 1;
    left--;
  }
  return counts;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

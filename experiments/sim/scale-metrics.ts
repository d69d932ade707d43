// What the scale goals of issue #10 are measured with: how close each peer's group-size
// estimate is to the true number of peers in the swarm, what the mesh looks like (degree,
// diameter against log_{d̄−1} n), and how hard the topology server is worked.
import { SeededRng } from '../../estimation/random.ts';
import type { PeerId } from '../../peer/core/messages.ts';
import type { SimPeer } from './world.ts';

/** Peers sampled per virtual second for the estimate error, when all are downloading. */
const ESTIMATES_PER_SECOND = 128;
/** Ratios kept (a reservoir): enough for stable p10/p90. */
const MAX_RATIOS = 50_000;
/** BFS sources for the mesh probe. */
const PROBE_SOURCES = 16;

export interface Quantiles {
  samples: number;
  p10: number;
  p50: number;
  p90: number;
}

export interface MeshShape {
  atSeconds: number;
  peers: number; // live peers in the swarm then
  meanDegree: number; // mesh links per peer
  diameter: number; // the largest eccentricity found from the sampled sources (a lower bound)
  meanDistance: number;
  logDiameter: number; // log_{d̄−1}(n): a random graph's diameter is about this
  unreachable: number; // share of (source, peer) pairs with no path
}

/**
 * estimate / live peers, over the peer-seconds of downloading: each virtual second a number of
 * draws in proportion to the peers downloading then (a second when few are left weighs less),
 * as each downloading peer draws for the source once a round with its estimate.
 */
export class EstimateSampler {
  private readonly ratios: number[] = [];
  private seen = 0;
  private readonly rng: SeededRng;

  constructor(seed: number) {
    this.rng = new SeededRng(seed);
  }

  sample(now: number, peers: readonly SimPeer[], live: number): void {
    if (live < 1) return;
    const downloading = peers.filter((p) => p.core && !p.gone && p.doneAt === null);
    const draws = Math.ceil((ESTIMATES_PER_SECOND * downloading.length) / peers.length);
    for (let i = 0; i < draws && downloading.length > 0; i++) {
      const p = downloading[Math.floor(this.rng.next() * downloading.length)] as SimPeer;
      const ratio = (p.core as NonNullable<SimPeer['core']>).groupSizeNow(now) / live;
      // Reservoir: every ratio ever drawn has the same chance to be kept.
      if (this.ratios.length < MAX_RATIOS) this.ratios.push(ratio);
      else {
        const j = Math.floor(this.rng.next() * (this.seen + 1));
        if (j < MAX_RATIOS) this.ratios[j] = ratio;
      }
      this.seen++;
    }
  }

  quantiles(): Quantiles {
    const sorted = [...this.ratios].sort((a, b) => a - b);
    const q = (f: number): number => (sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] as number) : NaN);
    return { samples: this.seen, p10: q(0.1), p50: q(0.5), p90: q(0.9) };
  }
}

/** BFS over the live peers' mesh (neighbor) links from a few sampled peers. */
export function probeMesh(now: number, peers: readonly SimPeer[], seed: number): MeshShape {
  const live = peers.filter((p) => p.core && !p.gone);
  const index = new Map<PeerId, number>();
  live.forEach((p, i) => index.set(p.id, i));
  const adj: number[][] = live.map(() => []);
  live.forEach((p, i) => {
    for (const id of (p.core as NonNullable<SimPeer['core']>).neighborIds()) {
      const j = index.get(id);
      if (j === undefined) continue;
      adj[i]?.push(j);
      adj[j]?.push(i); // both sides list an agreed link: dedup below
    }
  });
  for (let i = 0; i < adj.length; i++) adj[i] = [...new Set(adj[i])];
  const n = live.length;
  const meanDegree = n ? adj.reduce((a, l) => a + l.length, 0) / n : 0;
  const rng = new SeededRng(seed);
  let diameter = 0;
  let distSum = 0;
  let pairs = 0;
  let unreachable = 0;
  const dist = new Int32Array(n);
  for (let s = 0; s < Math.min(PROBE_SOURCES, n); s++) {
    const from = Math.floor(rng.next() * n);
    dist.fill(-1);
    dist[from] = 0;
    const queue = [from];
    for (let head = 0; head < queue.length; head++) {
      const u = queue[head] as number;
      for (const v of adj[u] ?? []) {
        if (dist[v] !== -1) continue;
        dist[v] = (dist[u] as number) + 1;
        queue.push(v);
      }
    }
    for (let v = 0; v < n; v++) {
      if (v === from) continue;
      const d = dist[v] as number;
      if (d < 0) unreachable++;
      else {
        diameter = Math.max(diameter, d);
        distSum += d;
        pairs++;
      }
    }
  }
  return {
    atSeconds: now / 1000,
    peers: n,
    meanDegree,
    diameter,
    meanDistance: pairs ? distSum / pairs : NaN,
    logDiameter: meanDegree > 2 ? Math.log(n) / Math.log(meanDegree - 1) : NaN,
    unreachable: pairs + unreachable > 0 ? unreachable / (pairs + unreachable) : 0,
  };
}

// Group-size estimation (paper §3, PROTOCOL.md §8): updates carry each origin's degree
// and a hop count, and n ≈ (d̄ − 1)^d, d̄ the mean degree, d a distance in hops.
//
// The paper takes d = the largest hop count heard (the diameter). Measured on random
// graphs (experiments/bench/group-size.ts) that overestimates n by 2x to 60x and jumps
// by a factor d̄ − 1 whenever one far node appears; on our 24-peer mesh only ~70% of
// peers land in [8, 72]. Using the mean hop distance instead, (d̄ − 1)^h̄ stays within
// about 0.5x–1.5x of n on random regular graphs of degree 4–8 and on the eta-link mesh
// (degree ~2 eta), from 10 to 100,000 nodes. So the estimator uses h̄ and reports d for stats.
// A flood cut off at maxHops sees only the ball of that radius: beyond it, n is underestimated.

export interface GroupSizeInput {
  meanDegree: number;
  /** Largest hop count heard; with `meanHops` absent, the paper's exponent. */
  diameter: number;
  /** Mean hop distance of the origins heard; when given, the exponent (see above). */
  meanHops?: number;
  /** Distinct live origins heard (this peer not included). */
  originsSeen: number;
  maxEstimate?: number;
}

export const DEFAULT_MAX_ESTIMATE = 10_000_000;

/** n ≈ (d̄ − 1)^h, never below what was actually seen, clamped to [1, maxEstimate]. */
export function estimateGroupSize(input: GroupSizeInput): number {
  const max = finiteOr(input.maxEstimate, DEFAULT_MAX_ESTIMATE);
  const seen = finiteOr(input.originsSeen, 0);
  const diameter = finiteOr(input.diameter, 0);
  // A diameter of d needs d + 1 nodes; every origin heard is one more peer.
  const floor = Math.max(1, seen + 1, diameter + 1);
  const exponent = input.meanHops === undefined ? diameter : finiteOr(input.meanHops, 0);
  const degree = finiteOr(input.meanDegree, 0);
  // d̄ <= 2 is a line or a ring: the formula gives <= 1 there, the floor is the best we know.
  const formula = degree > 2 && exponent > 0 ? (degree - 1) ** exponent : 0;
  const n = Number.isFinite(formula) ? Math.max(floor, formula) : max;
  return Math.min(Math.max(1, max), Math.round(n));
}

function finiteOr(x: number | undefined, fallback: number): number {
  return x !== undefined && Number.isFinite(x) && x >= 0 ? x : fallback;
}

export interface GroupSizeParams {
  /** An origin not heard from for this long is forgotten. */
  staleMs: number;
  maxEstimate: number;
  /** Memory bound: past this many origins, the least recently heard is dropped. */
  maxOrigins: number;
  /** Entries claiming more neighbours than any slurpie peer keeps are ignored. */
  maxDegree: number;
  /** 'mean-hops' (default, see above) or 'paper' ((d̄ − 1)^diameter), for ablation. */
  formula: 'mean-hops' | 'paper';
}

export const DEFAULT_GROUP_SIZE_PARAMS: GroupSizeParams = {
  staleMs: 60_000,
  maxEstimate: DEFAULT_MAX_ESTIMATE,
  maxOrigins: 250_000,
  maxDegree: 256,
  formula: 'mean-hops',
};

export interface GroupSizeSnapshot {
  n: number;
  meanDegree: number;
  diameter: number;
  meanHops: number;
  origins: number;
}

interface Origin {
  degree: number;
  hops: number;
  hopsAt: number; // when `hops` (the shortest distance lately heard) was last confirmed
  seenAt: number;
}

const MAX_HOPS = 255;

export class GroupSizeEstimator {
  private readonly params: GroupSizeParams;
  // Insertion order = order of last hearing, so the stale ones sit at the front.
  private readonly origins = new Map<string, Origin>();
  private ownDegree = 0;
  private degreeSum = 0;
  private hopsSum = 0;
  private readonly hopsCount = new Int32Array(MAX_HOPS + 1);

  constructor(params: Partial<GroupSizeParams> = {}) {
    this.params = { ...DEFAULT_GROUP_SIZE_PARAMS, ...params };
  }

  /** Every update entry heard; hops is the distance from this peer (1 for a direct neighbour). */
  observe(now: number, originId: string, degree: number, hops: number): void {
    if (!Number.isFinite(now) || originId === '' || !Number.isInteger(degree) || degree < 0) return;
    // One peer claiming a huge degree would blow the estimate up and starve everyone's source draws.
    if (degree > this.params.maxDegree) return;
    if (!Number.isInteger(hops) || hops < 1 || hops > MAX_HOPS) return;
    const old = this.origins.get(originId);
    let entry: Origin;
    if (old) {
      this.remove(originId, old);
      // Keep the shortest distance heard, but let it grow again once not confirmed for staleMs
      // (reconnects change the mesh): a longer path heard later is usually just a slower copy.
      const keep = hops > old.hops && now - old.hopsAt <= this.params.staleMs;
      entry = keep
        ? { degree, hops: old.hops, hopsAt: old.hopsAt, seenAt: now }
        : { degree, hops, hopsAt: now, seenAt: now };
    } else {
      entry = { degree, hops, hopsAt: now, seenAt: now };
    }
    this.add(originId, entry);
    while (this.origins.size > this.params.maxOrigins) this.dropOldest();
  }

  setOwnDegree(degree: number): void {
    this.ownDegree = Number.isInteger(degree) && degree >= 0 ? degree : 0;
  }

  forget(originId: string): void {
    const old = this.origins.get(originId);
    if (old) this.remove(originId, old);
  }

  /** The group-size estimate, >= 1. */
  estimate(now: number): number {
    return this.snapshot(now).n;
  }

  snapshot(now: number): GroupSizeSnapshot {
    this.expire(now);
    const origins = this.origins.size;
    const withSelf = this.ownDegree > 0 ? 1 : 0;
    const meanDegree = origins + withSelf > 0 ? (this.degreeSum + this.ownDegree) / (origins + withSelf) : 0;
    let diameter = 0;
    for (let h = MAX_HOPS; h > 0; h--) {
      if ((this.hopsCount[h] as number) > 0) {
        diameter = h;
        break;
      }
    }
    const meanHops = origins > 0 ? this.hopsSum / origins : 0;
    const n = estimateGroupSize({
      meanDegree,
      diameter,
      originsSeen: origins,
      maxEstimate: this.params.maxEstimate,
      ...(this.params.formula === 'mean-hops' ? { meanHops } : {}),
    });
    return { n, meanDegree, diameter, meanHops, origins };
  }

  private expire(now: number): void {
    for (const [id, o] of this.origins) {
      if (now - o.seenAt <= this.params.staleMs) break;
      this.remove(id, o);
    }
  }

  private dropOldest(): void {
    const first = this.origins.entries().next();
    if (!first.done) this.remove(first.value[0], first.value[1]);
  }

  private add(id: string, o: Origin): void {
    this.origins.set(id, o);
    this.degreeSum += o.degree;
    this.hopsSum += o.hops;
    this.hopsCount[o.hops] = (this.hopsCount[o.hops] as number) + 1;
  }

  private remove(id: string, o: Origin): void {
    this.origins.delete(id);
    this.degreeSum -= o.degree;
    this.hopsSum -= o.hops;
    this.hopsCount[o.hops] = (this.hopsCount[o.hops] as number) - 1;
  }
}

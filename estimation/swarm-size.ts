// The swarm-size estimate anchored on the topology server (PROTOCOL.md §8, issue #10).
//
// The topology server knows how many peers are registered in a swarm: every answer to a
// registration carries that count, and a peer's registrations (on joining, then every
// ttl/2) are its own observations. Between them, peers gossip: each puts its current
// estimate, with the age of the observation under it, in its own UPDATE entry, and each
// takes as its estimate the (f+1)-th largest of the fresh estimates its direct connections
// report, never below its own observation. "Fresh" is an observation younger than maxAgeMs.
//
// Why this form (measured in the simulator, docs/numbers.md, "Ablations at 1,000 peers"; LAN links, 32 MiB,
// flash crowd; estimate / live peers as p10 / p50 / p90 over the run):
// - 48 peers 1.00 / 1.00 / 1.00; 1,000 peers 0.80–0.85 / 1.00 / 1.00; 10,000 peers 0.76–0.78 /
//   1.00 / 1.00. The count is exact when made; in a flash crowd the late registrants' counts reach
//   everyone within a few flood rounds, because each hop passes on the largest values it
//   trusts. The low tail is the join itself, while the crowd is still registering.
// - The paper's (d̄ − 1)^d reads 0.16 / 0.45 / 0.61 at 1,000 peers and its mean-hop
//   correction (group-size.ts) 0.13 / 0.19 / 0.26 when fed every entry heard; fed only the
//   origins the cache holds (issue #11: made-up origins must not inflate n), 0.04 / 0.05 / 0.10
//   and 0.03 / 0.04 / 0.06. Neither sees past the origins a peer caches; read low, they send
//   43–328 peers to the source at once instead of 8–11. They stay as the fallback without a
//   topology server and as the ablation (--group-size paper|mean-hops).
// - A liar cannot make it smaller: it is a maximum, and never below what the server said to
//   us. It can make it larger only by getting f+1 of our direct connections to report the
//   same inflation; one liar's number stops at its neighbors, who discard it, so it does not
//   spread. (A HyperLogLog sketch of peer ids, estimation/peer-count-sketch.ts, also met
//   ±25% but one liar's forged registers inflated it ~10^16x: `npm run bench:sketch`.)
// - It follows a shrinking swarm within maxAgeMs: stale large values age out; peers that
//   run out of work re-register and so bring fresh, smaller counts.

export interface SwarmSizeParams {
  /** Observations older than this are not used. */
  maxAgeMs: number;
  /** This many direct connections may report too-large values without moving the estimate. */
  tolerate: number;
  /** Reports kept (one per direct connection); more are refused. */
  maxSources: number;
}

export const DEFAULT_SWARM_SIZE_PARAMS: SwarmSizeParams = { maxAgeMs: 45_000, tolerate: 2, maxSources: 256 };

/** An estimate of n and when the observation under it was made. */
export interface Observation {
  n: number;
  at: number; // ms, the driver's clock
}

const MAX_N = 2 ** 32 - 1;

export class SwarmSizeEstimator {
  private readonly params: SwarmSizeParams;
  private own: Observation | null = null;
  private readonly reports = new Map<string, Observation>();
  private readonly top: Observation[] = []; // estimate()'s scratch

  constructor(params: Partial<SwarmSizeParams> = {}) {
    this.params = { ...DEFAULT_SWARM_SIZE_PARAMS, ...params };
  }

  /** A count from the topology server (peers registered in the swarm, us included). */
  observe(now: number, count: number): void {
    if (!Number.isInteger(count) || count < 1 || count > MAX_N || !Number.isFinite(now)) return;
    this.own = { n: count, at: now };
  }

  /** Our own latest observation, if fresher than `maxAgeMs`. */
  ownObservation(now: number, maxAgeMs = this.params.maxAgeMs): Observation | null {
    return this.own && now - this.own.at <= maxAgeMs ? this.own : null;
  }

  /** A direct connection's estimate, `ageS` seconds old when sent. */
  report(now: number, from: string, n: number, ageS: number): void {
    if (!Number.isInteger(n) || n < 1 || n > MAX_N || !Number.isFinite(ageS) || ageS < 0) return;
    const at = now - ageS * 1000;
    const known = this.reports.get(from);
    if (known) {
      // In place (this runs for nearly every UPDATE a simulated peer gets): the same entry,
      // so the same place in the map's order as a set() would leave it.
      known.n = n;
      known.at = at;
      return;
    }
    if (this.reports.size >= this.params.maxSources) return;
    this.reports.set(from, { n, at });
  }

  forget(from: string): void {
    this.reports.delete(from);
  }

  /**
   * The (f+1)-th largest fresh report, never below our own fresh observation; null if nothing
   * is fresh. Read it at once: a report is updated in place by the next one from its peer.
   */
  estimate(now: number): Observation | null {
    // The f+1 largest fresh reports, largest first (ties: larger `at`, then the earlier
    // report): a sort of every fresh report, without sorting or allocating (this runs on
    // every event of every simulated peer).
    const f = this.params.tolerate;
    const top = this.top; // top[0 .. kept - 1]; what lies past `kept` is stale
    let kept = 0;
    for (const r of this.reports.values()) {
      if (!(now - r.at <= this.params.maxAgeMs)) continue;
      let i = kept;
      while (i > 0 && beats(r, top[i - 1] as Observation)) i--;
      if (i > f) continue;
      if (kept <= f) kept++;
      for (let j = kept - 1; j > i; j--) top[j] = top[j - 1] as Observation;
      top[i] = r;
    }
    const trusted = kept > 0 ? top[Math.min(f, kept - 1)] : undefined;
    const own = this.ownObservation(now);
    if (!trusted) return own;
    return own && own.n >= trusted.n ? own : trusted;
  }
}

/** Whether `a` comes strictly before `b`: a larger n, or the same n observed later. */
function beats(a: Observation, b: Observation): boolean {
  return a.n > b.n || (a.n === b.n && a.at > b.at);
}

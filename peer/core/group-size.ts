// n for the k/n draw (PROTOCOL.md §8): how the core combines the estimators.
//
// - 'topology' (default): the topology server's live count, gossiped between direct
//   connections (estimation/swarm-size.ts). Without a count (no topology server, or one
//   that does not send it) it falls back to the mesh estimate below.
// - 'mean-hops': (d̄ − 1)^h̄ from the degrees and hop counts in updates (estimation/group-size.ts).
// - 'paper': (d̄ − 1)^d with d the largest hop count heard: the paper's form, for ablation.
// Whatever the source, n is never below the peers we know of plus us.
//
// A starving peer (it cannot tell a busy source from a swarm that mostly left: see
// source-policy.ts) asks the topology server again and, for its draw, trusts a count it got
// since it began to starve when that is smaller: the gossip may still carry the larger
// numbers of a crowd that has gone.
import { GroupSizeEstimator, type GroupSizeSnapshot } from '../../estimation/group-size.ts';
import { SwarmSizeEstimator } from '../../estimation/swarm-size.ts';
import type { PeerId, SizeEstimate } from './messages.ts';
import type { PeerParams } from './params.ts';
import { RoundSamples } from './stats.ts';

export class GroupSize {
  readonly mesh: GroupSizeEstimator;
  readonly swarm: SwarmSizeEstimator;
  private readonly samples = new RoundSamples(); // one estimate per round while downloading

  constructor(
    private readonly params: PeerParams,
    private readonly floor: () => number, // peers known plus us
    private readonly ownDegree: () => number,
  ) {
    this.mesh = new GroupSizeEstimator({
      staleMs: params.staleMs,
      maxOrigins: params.maxOriginsTracked,
      formula: params.groupSize === 'paper' ? 'paper' : 'mean-hops',
    });
    this.swarm = new SwarmSizeEstimator({ maxAgeMs: params.sizeMaxAgeMs });
  }

  /** A topology server's answer said how many are registered. */
  observeCount(now: number, count: number): void {
    this.swarm.observe(now, count);
  }

  forget(peerId: PeerId): void {
    this.mesh.forget(peerId);
    this.swarm.forget(peerId);
  }

  /**
   * Whether the mesh estimator is in use and must be fed: in 'topology' mode only while we
   * have no count of our own (no topology server, or one that does not send it).
   */
  usesMesh(now: number): boolean {
    return this.params.groupSize !== 'topology' || this.swarm.ownObservation(now) === null;
  }

  n(now: number): number {
    if (this.params.groupSize === 'topology') {
      const gossip = this.swarm.estimate(now);
      if (gossip) return Math.max(gossip.n, this.floor());
    }
    this.mesh.setOwnDegree(this.ownDegree());
    return Math.max(this.mesh.estimate(now), this.floor());
  }

  /** Whether our own count is older than `ms` (a starving peer then asks for a fresh one). */
  countOlderThan(now: number, ms: number): boolean {
    return this.swarm.ownObservation(now, ms) === null;
  }

  /** n for a peer starving since `since`: a count the server gave since then wins when smaller. */
  starvingN(now: number, since: number): number {
    const n = this.n(now);
    const own = this.swarm.ownObservation(now);
    return own && own.at >= since ? Math.min(n, own.n) : n;
  }

  /** What we put in our own UPDATE entry, if we have a count-based estimate to share. */
  report(now: number): SizeEstimate | undefined {
    if (this.params.groupSize !== 'topology') return undefined;
    const e = this.swarm.estimate(now);
    return e ? { n: e.n, ageS: Math.min(255, Math.max(0, Math.floor((now - e.at) / 1000))) } : undefined;
  }

  /** Once a round while downloading: the estimate, for the median in stats. */
  sample(now: number): void {
    this.samples.push(this.n(now));
  }

  /** The median of the per-round estimates while downloading (else the current one). */
  typical(now: number): number {
    return this.samples.length > 0 ? this.samples.median() : this.n(now);
  }

  meshSnapshot(now: number): GroupSizeSnapshot {
    this.mesh.setOwnDegree(this.ownDegree());
    return this.mesh.snapshot(now);
  }
}

// When to go to the source and what to ask it for (PROTOCOL.md §6).
//
// - Opening: alone (the topology server named no one), at once; otherwise after one to two
//   rounds (at random: a crowd's draws must not fall in step), so the mesh can tell us how
//   many we are before a crowd stampedes the source.
// - The draw: each round a peer that still misses blocks draws; with probability
//   min(1, k / (n L)) it wins a lease of L rounds (`sourceLeaseRounds`), during which it keeps
//   one Range GET busy, run after run. With `sourceRunsInFlight` 2 (a study switch, default
//   1) it asks for the next run while the last block of the current one is still to come, so
//   the request of the next, and on a 2-core testbed the holder's wait for a core, hide behind
//   that block: one at a time, a lone holder's one-block GETs kept lan-48's source link 20-50%
//   busy, most of each GET's time going to its request. So about k peers hold a lease at any time, each
//   streaming: the source is busy whenever one does (1 − e^-k, 95% at k = 3) and about k GETs
//   run at once. (A lease of one round made of one-block GETs left the source idle a third
//   of the time: GETs arriving at random into a shared link make a queue that is empty
//   1 − ρ of the time.) When our view covers a good share of the swarm and shows more than k
//   leases running, k shrinks in proportion (backoff.ts, sourceHeadroom). When no run has been
//   announced anywhere for two rounds (swarm-known.ts) though blocks remain, the source is
//   idle: the draw is k/n, for leases of two rounds, until one starts, so a run of bad luck
//   does not leave it idle.
// - What to fetch: a run of blocks no one in the swarm has yet (swarm-known.ts) and no one in
//   our view has; nothing else, unless we are starving (below). Runs start at one block
//   (`sourceFirstRun`) and grow at most twofold, sized to keep the connection busy for the rest
//   of the lease at the rate seen. A run starts at a random eligible block; when streaming (inOrderWindow W > 0),
//   at one of the W lowest, the lowest most often, so the swarm's copy grows from its start. A lease
//   whose peer finds nothing it may fetch ends there. With a download limit (download-budget.ts)
//   a run is no longer than the limit allows, and the lease waits while it allows none.
// - Last-block rule: for two rounds we have had nothing to ask of anyone while needing a block
//   no one in our view has, or no block has arrived at all: we are starving. That happens
//   while the source is the bottleneck, and to the last peers of a crowd that has left (with
//   a block, or with stale news of who has it). The draw uses the same n, but a starving
//   peer refreshes it (asks the topology server again) and trusts a count it got since it
//   began to starve over the gossip, so the last peers go to the source as often as their
//   number says. What a starving peer fetches ('wait', the default): still blocks no one in
//   the swarm has first; then a block someone in the swarm has or is fetching, but only once
//   we have known of it for PATIENCE_ROUNDS without it reaching our view (else any block we
//   have known of that long: its holders in view do not deliver). Such a block is on its way:
//   the last blocks of a crowd leave the source a few seconds before the mesh has carried them
//   to everyone, and every peer that fetched one again in that time made a second copy (at
//   1,000 peers, seed 1, all 12 duplicates, by lease holders starving in the last 3 s). A
//   block whose holders left is fetched PATIENCE_ROUNDS late. The ablation ('view',
//   params.lastBlock) is the paper's rule: any block no one in our view has, at once, and any
//   block at all after six rounds of starving.
// - Settling: a block peers disagree about (digests.ts) is fetched alone, outside the draw,
//   as soon as no run of ours is going: one block per dispute, and disputes cost liars a ban.
// - Failures: a GET that fails gives its blocks back and waits for the next round; after
//   `maxFailures` failures in a row, or one the driver calls fatal (the file changed), the
//   peer gives up (PeerCore emits `abort`).
import { chooseSourceRun, drawSourceRound, sourceHeadroom } from '../../estimation/backoff.ts';
import type { Rng } from '../../estimation/random.ts';
import type { LastBlockRule, PeerParams } from './params.ts';

/** The policy with a peer's parameters. */
export function sourcePolicyFor(rng: Rng, params: PeerParams, now: number): SourcePolicy {
  const { k, backoff, roundMs, sourceLeaseRounds, sourceRunsInFlight, sourceFirstRun, blockSize, maxSourceRun, maxSourceFailures, inOrderWindow, lastBlock } = params;
  const opts = { k, backoff, roundMs, leaseRounds: sourceLeaseRounds, runsInFlight: sourceRunsInFlight, firstRun: sourceFirstRun, blockSize, maxRun: maxSourceRun, maxFailures: maxSourceFailures, window: inOrderWindow, lastBlock };
  return new SourcePolicy(rng, opts, now);
}

/** 'wait': rounds we wait for a block the swarm has to reach our view before fetching it ourselves. */
const PATIENCE_ROUNDS = 6;

/** Rounds a lease won while the source is quiet lasts (decide()). */
const QUIET_LEASE_ROUNDS = 2;

/** 'view': rounds of starving after which a peer fetches from the source any block it misses. */
const DESPERATE_ROUNDS = 6;

export interface SourceRun {
  first: number;
  count: number;
}

/** What the policy asks of the rest of the peer; asked only as far as a decision needs it. */
export interface SourceView {
  readonly blocks: number;
  /** Nothing to ask of peers while needing a block no one in our view has, or no progress for a while. */
  starved(): boolean;
  /** The group-size estimate (n for k/n). */
  groupSize(): number;
  /** The same, for a peer starving since `since` (group-size.ts). */
  starvingGroupSize(since: number): number;
  /** Origins in our view, and how many of them flag a Range GET running. */
  view(): { size: number; busy: number };
  /** Missing and not already asked for. */
  wanted(i: number): boolean;
  /** No one in the swarm has it or is fetching it, as far as we know (and no one in our view). */
  unheard(i: number): boolean;
  /** No one in our view has it. */
  unseen(i: number): boolean;
  /** How long (ms) we have known that someone in the swarm has it or is fetching it (-Infinity: we do not). */
  heardFor(i: number): number;
  /** No news of a source run for a while though blocks remain: the source is likely idle. */
  sourceQuiet(): boolean;
}

export interface SourceOptions {
  k: number;
  backoff: boolean;
  roundMs: number;
  leaseRounds: number;
  runsInFlight?: number; // 1 (default): one run at a time; 2: the next asked for beside the current one's last block
  firstRun?: number; // blocks in our first run, before our share of the source is known (default 1)
  blockSize: number;
  maxRun: number;
  maxFailures: number;
  window?: number; // > 0: runs start among the `window` lowest eligible blocks (streaming)
  lastBlock?: LastBlockRule; // what a starving peer may fetch (the header); default 'wait'
}

interface RunningRun extends SourceRun {
  pending: Set<number>;
  startedAt: number;
  bytes: number;
  settling: boolean; // a one-block GET that settles a dispute: never overlapped
  overlapTried: boolean; // a next run was looked for beside it (once: the look costs a pass over the blocks)
}

export class SourcePolicy {
  private runs: RunningRun[] = []; // in the order they started
  private opensAt: number;
  private leaseUntil = -Infinity;
  private nextDrawAt = -Infinity;
  private starvedSince = Infinity;
  private rate = 0; // bytes/s seen on our recent runs (EWMA); 0 = unknown
  private lastRunCount = 0; // blocks in our last run: the next may be at most twice as long
  private failures = 0; // in a row
  private busyShare: number | null = null; // share of our view with a GET running (EWMA over draws)
  roundsWon = 0;
  requests = 0;

  constructor(
    private readonly rng: Rng,
    private readonly opts: SourceOptions,
    now: number,
  ) {
    this.opensAt = now + 2 * opts.roundMs; // without any answer from the topology server
  }

  /** A Range GET of ours is running. */
  get busy(): boolean {
    return this.runs.length > 0;
  }

  /** The topology server answered: alone, open at once; else after one round. */
  onPeers(now: number, alone: boolean): void {
    // Not alone: the first draw comes at a random point of the round after next, so that a
    // crowd that arrived together does not draw in step (winners in the same instant cannot
    // hear of each other's blocks, and fetch the same ones).
    this.opensAt = Math.min(this.opensAt, alone ? now : now + this.opts.roundMs * (1 + this.rng.next()));
  }

  /** When the policy next wants a tick, if we still need blocks from it. */
  deadline(): number {
    return this.runs.length > 0 ? Infinity : Math.max(this.opensAt, this.nextDrawAt);
  }

  /** Starving for two rounds (see the header). */
  starving(now: number): boolean {
    return this.starvedFor(now, 2);
  }

  /** Starved for at least this many rounds. */
  starvedFor(now: number, rounds: number): boolean {
    return now - this.starvedSince >= rounds * this.opts.roundMs;
  }

  /**
   * Called after every event; returns a run to fetch when the policy says so. `afford`, with a
   * download limit, says how many of the run's blocks the limit allows now: the run is no
   * longer, and with none the lease waits for it (and the run is chosen again then).
   */
  decide(now: number, view: SourceView, afford?: (want: number) => number): SourceRun | null {
    if (now < this.opensAt) return null;
    if (!view.starved()) this.starvedSince = Infinity;
    else if (this.starvedSince === Infinity) this.starvedSince = now;
    if (this.runs.length > 0 && !this.tryOverlap(now)) return null;
    if (now >= this.leaseUntil) {
      if (now < this.nextDrawAt) return null;
      this.nextDrawAt = now + this.opts.roundMs;
      const n = this.starving(now) ? view.starvingGroupSize(this.starvedSince) : view.groupSize();
      const seen = view.view();
      if (seen.size > 0) this.busyShare = this.busyShare === null ? seen.busy / seen.size : 0.8 * this.busyShare + 0.2 * (seen.busy / seen.size);
      const k = sourceHeadroom(this.opts.k, (this.busyShare ?? 0) * n, seen.size / n);
      // n <= k: every peer should hold the source (alone: at once, like a plain download). A
      // quiet source is restarted fast: draws at k/n, for leases of QUIET_LEASE_ROUNDS. At 10^4
      // simulated peers (seed 1) the news of the last runs travels slowly and the source looks
      // quiet to many: leases of L rounds won at k/n piled up to 13 GETs at once; leases of one
      // round left the source idle between them (mean 1.26 T_min); two: 8 GETs, 1.18 T_min.
      const quiet = n > k && view.sourceQuiet();
      const leases = n <= k || quiet ? n : n * this.opts.leaseRounds;
      if (!drawSourceRound(this.rng, k, leases, this.opts.backoff)) return null;
      this.roundsWon++;
      this.leaseUntil = now + (quiet ? QUIET_LEASE_ROUNDS : this.opts.leaseRounds) * this.opts.roundMs;
    }
    const { tiers, strict } = this.eligible(now, view);
    const chosen = chooseSourceRun(this.rng, view.blocks, (i) => view.wanted(i), tiers, this.runLength(now), strict, this.opts.window);
    if (!chosen) {
      if (this.runs.length === 0) this.leaseUntil = -Infinity; // a run still going may yet end with more to fetch
      return null;
    }
    const most = afford ? afford(chosen.count) : chosen.count;
    if (most < 1) return null;
    const run = { first: chosen.first, count: Math.min(chosen.count, most) };
    this.lastRunCount = run.count;
    return this.start(now, run);
  }

  /** The blocks we may fetch now, best first (the header: what to fetch, the last-block rule). */
  eligible(now: number, view: SourceView): { tiers: ((i: number) => boolean)[]; strict: boolean } {
    const unheard = (i: number): boolean => view.unheard(i);
    const unseen = (i: number): boolean => view.unseen(i);
    if (this.opts.lastBlock === 'view') return { tiers: [unheard, unseen], strict: !this.starvedFor(now, DESPERATE_ROUNDS) };
    if (!this.starving(now)) return { tiers: [unheard], strict: true };
    // A block the swarm has is on its way to us through the mesh: a while of waiting is cheaper than a second copy.
    const overdue = (i: number): boolean => view.heardFor(i) >= PATIENCE_ROUNDS * this.opts.roundMs;
    return { tiers: [unheard, (i) => unseen(i) && overdue(i), overdue], strict: true };
  }

  /** A one-block run to settle a dispute (digests.ts): no draw, but only when no run is going. */
  settle(now: number, index: number): SourceRun | null {
    if (this.runs.length > 0) return null;
    return this.start(now, { first: index, count: 1 }, true);
  }

  // True, once per run, when the next run of a lease may start beside it: it has only its last
  // block to come (the header), the lease holds, a run has shown our share of the source (the
  // first measures it alone), and it is not a settling GET.
  private tryOverlap(now: number): boolean {
    const only = this.runs.length === 1 && (this.opts.runsInFlight ?? 1) >= 2 ? this.runs[0] : undefined;
    if (only === undefined || only.settling || only.overlapTried || only.pending.size > 1 || now >= this.leaseUntil || this.rate === 0) return false;
    only.overlapTried = true;
    return true;
  }

  private start(now: number, run: SourceRun, settling = false): SourceRun {
    const pending = new Set<number>();
    for (let i = run.first; i < run.first + run.count; i++) pending.add(i);
    this.runs.push({ ...run, pending, startedAt: now, bytes: 0, settling, overlapTried: false });
    this.requests++;
    return run;
  }

  /** A block of a running GET arrived; false if we did not ask for it. */
  accept(index: number, bytes: number): boolean {
    const run = this.runs.find((r) => r.pending.has(index));
    if (!run) return false;
    run.pending.delete(index);
    run.bytes += bytes;
    return true;
  }

  /**
   * The GET of the run starting at `first` ended (fully or not; without `first`, the oldest).
   * Returns the blocks that did not arrive, whether it was a settling GET, and whether to give
   * up: a fatal failure, or `maxFailures` in a row.
   */
  end(now: number, ok: boolean, fatal = false, first?: number): { missed: number[]; settling: boolean; giveUp: boolean } {
    const at = first === undefined ? 0 : this.runs.findIndex((r) => r.first === first);
    const run = at >= 0 ? this.runs[at] : undefined;
    if (!run) return { missed: [], settling: false, giveUp: false };
    this.runs.splice(at, 1);
    const seconds = (now - run.startedAt) / 1000;
    if (ok) {
      this.failures = 0;
      if (run.bytes > 0 && seconds > 0) {
        const observed = run.bytes / seconds;
        this.rate = this.rate === 0 ? observed : 0.5 * this.rate + 0.5 * observed;
      }
    } else {
      this.failures++;
      this.leaseUntil = -Infinity; // a failing source waits for the next round
    }
    return { missed: [...run.pending], settling: run.settling, giveUp: !ok && (fatal || this.failures >= this.opts.maxFailures) };
  }

  // Enough blocks to keep the connection busy for the rest of the lease at the rate seen,
  // growing at most twofold per run (a short run mostly measures the server's burst, not
  // its rate; long runs of a file that then changes would finish on the old version).
  private runLength(now: number): number {
    if (this.rate === 0) return Math.max(1, Math.min(this.opts.maxRun, this.opts.firstRun ?? 1)); // until we know our share of the source
    const left = Math.max(this.leaseUntil - now, this.opts.roundMs / 2);
    const blocks = Math.ceil((this.rate * left) / 1000 / this.opts.blockSize);
    return Math.max(1, Math.min(this.opts.maxRun, blocks, 2 * Math.max(1, this.lastRunCount)));
  }
}

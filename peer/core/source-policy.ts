// When to go to the source and what to ask it for (PROTOCOL.md §6).
// Each round a peer that still misses blocks draws: with probability min(1, k/n) it wins
// a lease of one round, during which it keeps one Range GET busy, run after run, on
// blocks no one in its view has (the last-block rule), else on any block it misses.
import { chooseSourceRun, drawSourceRound } from '../../estimation/backoff.ts';
import type { Rng } from '../../estimation/random.ts';

export interface SourceRun {
  first: number;
  count: number;
}

export interface SourceChoice {
  n: number; // group-size estimate
  blocks: number;
  wanted: (i: number) => boolean; // missing and not already asked for
  preferred: (i: number) => boolean; // no one in our view has it
}

export class SourcePolicy {
  private run: (SourceRun & { pending: Set<number>; startedAt: number; bytes: number }) | null = null;
  private leaseUntil = -Infinity;
  private nextDrawAt = -Infinity;
  private rate = 0; // bytes/s seen on our recent runs (EWMA); 0 = unknown
  private lastRunMs = 0; // how long our last run held the source
  private lastRunCount = 0; // blocks in our last run: the next may be at most twice as long
  roundsWon = 0;
  requests = 0;

  constructor(
    private readonly rng: Rng,
    private readonly opts: { k: number; backoff: boolean; roundMs: number; blockSize: number; maxRun: number },
  ) {}

  get busy(): boolean {
    return this.run !== null;
  }

  /** When the next draw is due, if idle. */
  get nextDeadline(): number {
    return this.run ? Infinity : this.nextDrawAt;
  }

  /** Called whenever something may have changed; starts a run when the policy says so. */
  maybeStart(now: number, choice: SourceChoice): SourceRun | null {
    if (this.run) return null;
    if (now >= this.leaseUntil) {
      if (now < this.nextDrawAt) return null;
      this.nextDrawAt = now + this.opts.roundMs;
      // k/n keeps about k GETs *starting* per round; when GETs last longer than a round
      // (a crowded source), scale down so that about k are *running* at once.
      const stretch = Math.max(1, this.lastRunMs / this.opts.roundMs);
      if (!drawSourceRound(this.rng, this.opts.k, choice.n * stretch, this.opts.backoff)) return null;
      this.roundsWon++;
      this.leaseUntil = now + this.opts.roundMs;
    }
    const run = chooseSourceRun(this.rng, choice.blocks, choice.wanted, choice.preferred, this.runLength(now));
    if (!run) {
      this.leaseUntil = -Infinity;
      return null;
    }
    const pending = new Set<number>();
    for (let i = run.first; i < run.first + run.count; i++) pending.add(i);
    this.run = { ...run, pending, startedAt: now, bytes: 0 };
    this.lastRunCount = run.count;
    this.requests++;
    return run;
  }

  /** A block of the current run arrived; false if we did not ask for it. */
  accept(index: number, bytes: number): boolean {
    if (!this.run || !this.run.pending.delete(index)) return false;
    this.run.bytes += bytes;
    return true;
  }

  /** The run ended (fully or not); returns the blocks that did not arrive. */
  end(now: number, ok: boolean): number[] {
    const run = this.run;
    if (!run) return [];
    this.run = null;
    const seconds = (now - run.startedAt) / 1000;
    this.lastRunMs = now - run.startedAt;
    if (ok && run.bytes > 0 && seconds > 0) {
      const observed = run.bytes / seconds;
      this.rate = this.rate === 0 ? observed : 0.5 * this.rate + 0.5 * observed;
    }
    if (!ok) this.leaseUntil = -Infinity; // a failing source waits for the next round
    return [...run.pending];
  }

  // Enough blocks to keep the connection busy for the rest of the lease at the rate seen,
  // growing at most twofold per run (a short run mostly measures the server's burst, not
  // its rate; long runs of a file that then changes would finish on the old version).
  private runLength(now: number): number {
    if (this.rate === 0) return 1; // one block until we know our share of the source
    const left = Math.max(this.leaseUntil - now, this.opts.roundMs / 2);
    const blocks = Math.ceil((this.rate * left) / 1000 / this.opts.blockSize);
    return Math.max(1, Math.min(this.opts.maxRun, blocks, 2 * Math.max(1, this.lastRunCount)));
  }
}

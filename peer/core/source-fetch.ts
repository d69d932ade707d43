// The source side of the block lifecycle: starting the Range GETs the source policy decides
// on, taking their blocks (missing -> fromSource, advertised at once), accepting what arrives,
// and giving back what did not come, telling whoever waited for it. Blocks peers disagree
// about (digests.ts) wait here, taken (fromSource), for a one-block GET that settles them.
import type { BlockTable } from './blocks.ts';
import type { DownloadBudget } from './download-budget.ts';
import type { Flood } from './flood.ts';
import type { OriginCache } from './origin-cache.ts';
import type { Outbox } from './outbox.ts';
import type { Uploads } from './serving.ts';
import type { SourcePolicy, SourceView } from './source-policy.ts';
import type { SwarmKnown } from './swarm-known.ts';
import { ViewMemo } from './view-memo.ts';

export interface SourceFetchDeps {
  policy: SourcePolicy;
  out: Outbox;
  blocks: BlockTable;
  cache: OriginCache;
  flood: Flood;
  uploads: Uploads;
  known: SwarmKnown;
  budget: DownloadBudget | null; // a download limit: runs are no longer than it allows (download-budget.ts)
  blockSize: number;
  blockLength: (index: number) => number;
  groupSize: (now: number) => number;
  starvingGroupSize: (now: number, since: number) => number;
  roundMs: number;
  /** Ask the topology server again (rate-limited by the mesh). */
  refresh: (now: number) => void;
  /** Bytes arrived: store them. */
  accept: (now: number, index: number, data: Uint8Array, digest: Uint8Array) => void;
  /** A settling GET did not bring its block: the dispute is off (the block is missing again). */
  unsettled: (index: number) => void;
}

/** Rounds without news of a block started from the source, while some remain, that mean it is idle. */
const QUIET_ROUNDS = 2;

/** Rounds without a single block arriving that make a peer starving whatever its view says. */
const STUCK_ROUNDS = 4;

export class SourceFetch implements SourceView {
  readonly blocks: number;
  private now = 0; // of the decision being made
  private lastProgress = -Infinity; // when a block last arrived (from anyone)
  private nextRefreshCheck = -Infinity; // starving: ask for a fresh count at most once a round
  private readonly toSettle: number[] = []; // disputed blocks, taken, waiting for their GET
  // starved() runs on every event (decide() runs after each): whether a block we need is in
  // no one's hands in view.
  private readonly viewStarved: ViewMemo<boolean>;

  constructor(private readonly d: SourceFetchDeps) {
    this.blocks = d.blocks.count;
    this.viewStarved = new ViewMemo(d.cache.tree, d.blocks, (tree, taken) => tree.countWanted(taken) === 0 && tree.firstMissingFromAll(taken) >= 0);
  }

  /** A block arrived. */
  progressed(now: number): void {
    this.lastProgress = now;
  }

  /** A block peers disagree about: take it now, fetch it alone as soon as we can. */
  settle(now: number, index: number): void {
    this.d.blocks.fromSource(index);
    this.toSettle.push(index);
    this.d.flood.markDirty();
    this.maybeFetch(now);
  }

  /** After every event while downloading: start a run if the policy says so. */
  maybeFetch(now: number): void {
    const { blocks, policy } = this.d;
    const next = this.toSettle[0];
    if (next !== undefined && policy.settle(now, next)) {
      this.toSettle.shift();
      this.d.budget?.take(now, this.d.blockLength(next)); // not held back: a liar is found out at once
      this.d.out.push({ type: 'fetchSource', first: next, count: 1 });
      return;
    }
    if (blocks.haveCount + blocks.storingCount >= blocks.count) return;
    if (this.lastProgress === -Infinity) this.lastProgress = now;
    this.now = now;
    const budget = this.d.budget;
    const won = policy.roundsWon;
    const run = policy.decide(now, this, budget ? (want) => budget.runBlocks(now, this.d.blockSize, want) : undefined);
    if (now >= this.nextRefreshCheck && policy.starving(now)) {
      this.nextRefreshCheck = now + this.d.roundMs;
      this.d.refresh(now); // a fresh count from the topology server
    }
    if (!run) return;
    this.d.out.events?.sourceRun(run.first, run.count, policy.roundsWon > won, this.d.groupSize(now));
    for (let i = run.first; i < run.first + run.count; i++) {
      blocks.fromSource(i);
      this.d.known.add(now, i);
      budget?.take(now, this.d.blockLength(i));
    }
    this.d.flood.markDirty();
    this.d.flood.knownDue(now); // soon: a peer about to pick the same block should hear first
    this.d.out.push({ type: 'fetchSource', first: run.first, count: run.count });
  }

  // ---- SourceView: what the policy asks, only when it asks --------------------------

  // Nothing to ask of anyone while a block we need is in no one's hands we know of; or
  // nothing arrives at all (the holders we know of may be gone).
  starved(): boolean {
    if (this.now - this.lastProgress >= STUCK_ROUNDS * this.d.roundMs && !this.d.policy.busy) return true;
    return this.viewStarved.get();
  }

  groupSize(): number {
    return this.d.groupSize(this.now);
  }

  starvingGroupSize(since: number): number {
    return this.d.starvingGroupSize(this.now, since);
  }

  view(): { size: number; busy: number } {
    let busy = 0;
    for (const o of this.d.cache.values()) if (o.sourceBusy) busy++;
    return { size: this.d.cache.size, busy };
  }

  wanted(i: number): boolean {
    return !this.d.blocks.isTaken(i);
  }

  unheard(i: number): boolean {
    return !this.d.cache.tree.anyHas(i) && !this.d.known.has(i);
  }

  unseen(i: number): boolean {
    return !this.d.cache.tree.anyHas(i);
  }

  heardFor(i: number): number {
    return this.d.known.heardFor(this.now, i);
  }

  // Blocks still to fetch from the source, yet none announced for a while: it is idle.
  sourceQuiet(): boolean {
    return this.d.known.incomplete() && this.now - this.d.known.grewAt > QUIET_ROUNDS * this.d.roundMs;
  }

  onBlock(now: number, index: number, data: Uint8Array, digest: Uint8Array): void {
    const { blocks, policy } = this.d;
    if (!Number.isInteger(index) || index < 0 || index >= blocks.count) return;
    if (data.length !== this.d.blockLength(index) || !policy.accept(index, data.length)) return;
    if (blocks.state(index) !== 'fromSource') return;
    blocks.storing(index, 'source');
    this.progressed(now);
    this.d.accept(now, index, data, digest);
  }

  /** The GET of the run starting at `first` (undefined: the oldest) ended; returns true when the policy gives up on the source. */
  onEnd(now: number, ok: boolean, fatal: boolean, reason: string | undefined, first?: number): boolean {
    const { missed, settling, giveUp } = this.d.policy.end(now, ok, fatal, first);
    for (const index of missed) {
      if (settling) this.d.unsettled(index);
      // A block we advertised as coming will not come: whoever waits for it hears so.
      if (!this.d.blocks.release(index, 'source')) continue;
      this.d.known.lost(index);
      this.d.flood.markDirty();
      this.d.uploads.uncome(index);
    }
    if (!ok && !giveUp) this.d.out.log('warn', `source: ${reason ?? 'the request failed'}`);
    return giveUp;
  }
}

// A download limit (`get --download-limit`, the library's `downloadLimit`): the bytes a peer
// takes, from peers and the source together, average at most `rate` a second.
//
// Bytes are charged when they are ASKED for (a REQUEST, a Range GET's blocks), not as they
// arrive: a peer cannot slow its own sockets without the peers serving it seeing a stalled
// requester, and its own requests would then time out against honest peers (each a strike).
// Asked for at the rate, every answer comes as fast as its link allows, so what a peer has
// asked for and not yet received stays under a second's worth. Like curl's --limit-rate the
// limit holds on average: a peer may take up to `burst` (a second's worth, at least one block)
// at once after it has been idle.
//
// A Range GET's run waits until the budget affords the run it wants, up to a second's worth,
// and holds that much back from peers' requests meanwhile (runBlocks): started as soon as one
// block was affordable, a peer alone at 8 MiB/s sent the source 227 one-block GETs for 64 MiB.
//
// One limit may be shared by several downloads in one process (`slurpie proxy --download-limit`):
// their budgets draw on one DownloadPool, whose runs wait in turn (a run holds its bytes back
// from requests and from the runs queued after it, so two runs never wait on each other).
// A budget alone has its own pool.
//
// Pure: time is the driver's `now`, in ms; the cores sharing a pool share the driver's clock.

/** How long past the moment it can start a waiting run's bytes stay held for it. */
const HOLD_GRACE_MS = 250;

/** Bytes a second at least, so a limit is not a typo for "never": one block in 8 minutes at 256 KiB. */
export const MIN_DOWNLOAD_RATE = 512;

interface Hold {
  bytes: number;
  until: number; // it may not come back for them (its lease ended): then they are free again
}

/** The bytes one download limit has left to give, to one download or to several together. */
export class DownloadPool {
  readonly burst: number;
  private tokens: number;
  private at: number; // when `tokens` was last brought up to date
  private readonly holds = new Map<DownloadBudget, Hold>(); // waiting runs, first come first served

  constructor(
    readonly rate: number, // bytes a second
    blockSize: number,
    now: number,
  ) {
    if (!(Number.isFinite(rate) && rate >= MIN_DOWNLOAD_RATE)) throw new RangeError(`a download limit must be at least ${MIN_DOWNLOAD_RATE} bytes a second, got ${rate}`);
    this.burst = Math.max(blockSize, rate);
    this.tokens = this.burst;
    this.at = now;
  }

  /** Bytes on hand at `now`, and the holds of waiting runs (all, or those queued before `run`) at `now`. */
  state(now: number, run?: DownloadBudget): { tokens: number; held: number; heldUntil: number } {
    this.refill(now);
    let held = 0;
    let heldUntil = Infinity; // when the first of those holds lapses at the latest
    for (const [who, h] of this.holds) {
      if (who === run) break;
      if (now > h.until) {
        this.holds.delete(who);
        continue;
      }
      held += h.bytes;
      heldUntil = Math.min(heldUntil, h.until);
    }
    return { tokens: this.tokens, held, heldUntil };
  }

  /** `run` waits for `bytes`: held for it (keeping its place in the queue) until a little past when they will be there. */
  hold(run: DownloadBudget, bytes: number, ahead: number): void {
    const until = this.readyAt(bytes + ahead) + HOLD_GRACE_MS;
    const h = this.holds.get(run);
    if (h) {
      h.bytes = bytes;
      h.until = until;
    } else this.holds.set(run, { bytes, until });
  }

  release(run: DownloadBudget): void {
    this.holds.delete(run);
  }

  /** The bytes `run` holds, as of the last update (0: none, or lapsed: nextRunAt is asked between events). */
  heldBy(run: DownloadBudget): number {
    const h = this.holds.get(run);
    return h && this.at <= h.until ? h.bytes : 0;
  }

  take(now: number, bytes: number): void {
    this.refill(now);
    this.tokens -= bytes;
  }

  /** When `bytes` are on hand (at or before the last update when they are now; at most the burst is waited for). */
  readyAt(bytes: number): number {
    const short = Math.min(bytes, this.burst) - this.tokens;
    return short <= 0 ? this.at : this.at + Math.ceil((short * 1000) / this.rate);
  }

  private refill(now: number): void {
    if (now <= this.at) return;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000);
    this.at = now;
  }
}

/** One download's side of a limit: what it may ask for now, and when to ask again. */
export class DownloadBudget {
  readonly pool: DownloadPool;
  private wake = Infinity; // when what was refused since the last wake-up may be asked for
  private refused = false; // since limited() was last asked
  private runAt = -Infinity; // when the run this budget holds bytes for may start

  /** A limit of its own (`rate`), or a share of `pool`'s with the other downloads on it. */
  constructor(limit: number | DownloadPool, blockSize: number, now: number) {
    this.pool = typeof limit === 'number' ? new DownloadPool(limit, blockSize, now) : limit;
    if (this.pool.burst < blockSize) throw new RangeError(`a shared download limit's burst (${this.pool.burst} bytes) is less than a block (${blockSize}): no request could ever go out`);
  }

  get burst(): number {
    return this.pool.burst;
  }

  /** Whether `bytes` may be asked for now. When not, wakeAt() says when they may. */
  allows(now: number, bytes: number): boolean {
    const { tokens, held, heldUntil } = this.pool.state(now);
    if (tokens - held >= bytes) return true;
    this.refuse(bytes + held, heldUntil);
    return false;
  }

  /**
   * Whether the limit held anything back since the last call: then it, not the peers, sets
   * the rate, and the bandwidth estimator must not read that rate as the peers' (it would
   * throttle the floods and drop neighbors and data connections for nothing).
   */
  limited(): boolean {
    const was = this.refused;
    this.refused = false;
    return was;
  }

  /**
   * Blocks of `unit` bytes a Range GET's run that wants `want` of them may take now: as many as
   * the pool affords once it affords min(want, a second's worth) past the runs queued before
   * this one; until then 0, and that much is held back from requests and later runs (for a
   * little past when it will be there) and a wake-up booked.
   */
  runBlocks(now: number, unit: number, want: number): number {
    const { tokens, held: ahead, heldUntil } = this.pool.state(now, this);
    const target = Math.max(1, Math.min(want, Math.floor(this.pool.burst / unit))) * unit;
    if (tokens - ahead >= target) {
      this.pool.release(this);
      return Math.min(want, Math.floor((tokens - ahead) / unit));
    }
    this.pool.hold(this, target, ahead);
    this.runAt = this.refuse(target + ahead, heldUntil);
    return 0;
  }

  /**
   * When a run that waits (runBlocks) may start, or a one-block one if none waits. Asked
   * between events (nextDeadline has no `now`): the hold counts as of the last update.
   */
  nextRunAt(unit: number): number {
    return this.pool.heldBy(this) > 0 ? this.runAt : this.pool.readyAt(unit);
  }

  /** `bytes` were asked for. Past what allows() said (a dispute's one-block GET), it runs into debt. */
  take(now: number, bytes: number): void {
    this.pool.take(now, bytes);
  }

  /** When what was refused may be asked for (Infinity: nothing was refused since the last wake-up). */
  wakeAt(): number {
    return this.wake;
  }

  /** The wake-up came: whatever still waits will ask again and be refused again if it must. */
  woke(): void {
    this.wake = Infinity;
  }

  /** When `bytes` may be asked for (at or before the last update when they may now). */
  readyAt(bytes: number): number {
    return this.pool.readyAt(bytes);
  }

  /**
   * `need` bytes (what was asked for, and the holds before it) were refused: wake when the pool
   * will have them, or, when the holds alone fill it, when the first of them lapses. Always
   * later than now, so a refusal never ticks in a loop. Returns that moment.
   */
  private refuse(need: number, heldUntil: number): number {
    this.refused = true;
    const at = need <= this.pool.burst ? this.pool.readyAt(need) : heldUntil + 1; // a hold lapses once past its `until`
    this.wake = this.wake === Infinity ? at : Math.max(this.wake, at);
    return at;
  }
}

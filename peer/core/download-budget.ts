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
// Pure: time is the driver's `now`, in ms.

/** How long past the moment it can start a waiting run's bytes stay held for it. */
const HOLD_GRACE_MS = 250;

/** Bytes a second at least, so a limit is not a typo for "never": one block in 8 minutes at 256 KiB. */
export const MIN_DOWNLOAD_RATE = 512;

export class DownloadBudget {
  readonly burst: number;
  private tokens: number;
  private at: number; // when `tokens` was last brought up to date
  private wanted = 0; // bytes something was refused since the last wake-up (0: nothing waits)
  private refused = false; // since limited() was last asked
  private held = 0; // bytes a waiting run holds back from requests...
  private heldUntil = -Infinity; // ...until then (it may not come back for them: its lease ended)

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

  /** Whether `bytes` may be asked for now. When not, wakeAt() says when they may. */
  allows(now: number, bytes: number): boolean {
    this.refill(now);
    if (this.tokens - (now <= this.heldUntil ? this.held : 0) >= bytes) return true;
    this.wanted = Math.max(this.wanted, Math.min(bytes, this.burst));
    this.refused = true;
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
   * the budget affords once it affords min(want, a second's worth); until then 0, and that much
   * is held back from requests (for a little past when it will be there) and a wake-up booked.
   */
  runBlocks(now: number, unit: number, want: number): number {
    this.refill(now);
    const target = Math.max(1, Math.min(want, Math.floor(this.burst / unit))) * unit;
    if (this.tokens >= target) {
      this.heldUntil = -Infinity;
      return Math.min(want, Math.floor(this.tokens / unit));
    }
    this.held = target;
    this.heldUntil = this.readyAt(target) + HOLD_GRACE_MS;
    this.wanted = Math.max(this.wanted, target);
    this.refused = true;
    return 0;
  }

  /**
   * When a run that waits (runBlocks) may start, or a one-block one if none waits. Asked
   * between events (nextDeadline has no `now`): the hold counts as of the last update.
   */
  nextRunAt(unit: number): number {
    return this.readyAt(this.at <= this.heldUntil ? this.held : unit);
  }

  /** `bytes` were asked for. Past what allows() said (a dispute's one-block GET), it runs into debt. */
  take(now: number, bytes: number): void {
    this.refill(now);
    this.tokens -= bytes;
  }

  /** When what was refused may be asked for (Infinity: nothing was refused since the last wake-up). */
  wakeAt(): number {
    return this.wanted === 0 ? Infinity : this.readyAt(this.wanted);
  }

  /** The wake-up came: whatever still waits will ask again and be refused again if it must. */
  woke(): void {
    this.wanted = 0;
  }

  /** When `bytes` may be asked for (at or before the last update when they may now). */
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

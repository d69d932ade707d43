// How long what we have promised to upload will take: the serves queued or running (blocks
// read and sent, or still coming from the source), divided by the rate our uplink has been
// seen to drain them. A peer on a slow uplink that accepted every request queued 20 s of
// BLOCKs on mixed-16 (256 KiB/s up, 13 peers asking for each block it had): the first copy
// of a block it alone had left it after 16 s, while faster peers could have spread it in
// milliseconds. With a bound it refuses `busy` past BACKLOG_MS, so requesters look elsewhere
// and the blocks it alone has reach the others after a second or two, not twenty. Past half
// the bound (busy()) it also refuses a block someone else in its view has, or one a copy of
// which is already on its way to someone (serving.ts): the first copies of what only it has
// go first (as BitTorrent's super-seeding does). mixed-16 in the simulator, seeds 1-6, CPU
// modelled: 21.3 s mean before the bound, 11.4 with it, 9.5 with this too. A bound of 3 s
// instead of 2 cost planetlab-55 (seeds 1-6: 20.8 s and 1.27 F against 19.2 s and 1.17 F).

/** Promised uploads beyond this many ms of our uplink's rate are refused `busy` (the default of params.uploadBacklogMs). */
export const BACKLOG_MS = 2000;

/**
 * Always let this many serves queue, whatever the rate (a burst is not a rate); and no more
 * until the rate is measured (the first serve has gone out: on a fast link, at once).
 */
const MIN_SERVES = 4;

/** The rate is measured over about this much serving time (older bytes and time fade). */
const WINDOW_MS = 4000;

export class UploadBacklog {
  private busyFrom = Infinity; // when the current stretch of serving began
  private lastDoneAt = -Infinity;
  private rate = 0; // bytes per ms while serving; 0 = not measured yet
  private bytes = 0; // delivered, decayed
  private busyMs = 0; // serving time they took, decayed

  /** `serves()`: serves queued or running now (the connections' counts: a closed one takes its own away). */
  constructor(
    private readonly blockSize: number,
    private readonly serves: () => number,
    private readonly boundMs = BACKLOG_MS,
  ) {}

  /** A serve is about to be promised (queued, running, or waiting for its block from the source). */
  adding(now: number): void {
    if (this.serves() === 0) this.busyFrom = now;
  }

  /**
   * A serve ended and `bytes` went out. The rate is bytes over the serving time they took,
   * both decayed, not an average of per-block rates: deliveries come in bursts (several pongs
   * read at once, blocks sharing a link finishing together), and a burst is not a fast link.
   */
  sent(now: number, bytes: number): void {
    const elapsed = Math.max(0, now - Math.max(this.busyFrom, this.lastDoneAt));
    const keep = Math.exp(-elapsed / WINDOW_MS); // by time, not per delivery: a burst adds bytes, not weight
    this.bytes = keep * this.bytes + bytes;
    this.busyMs = keep * this.busyMs + elapsed;
    this.rate = this.bytes / Math.max(this.busyMs, 1); // all at once: fast, not infinite
    this.lastDoneAt = now;
    if (this.serves() === 0) this.busyFrom = Infinity;
  }

  /** ms the promised serves will take at the rate seen (0 while unmeasured). */
  backlogMs(): number {
    return this.rate === 0 ? 0 : (this.serves() * this.blockSize) / this.rate;
  }

  /** Past half the bound: keep the uplink for blocks only we have. */
  busy(): boolean {
    return this.serves() >= MIN_SERVES / 2 && this.backlogMs() > this.boundMs / 2;
  }

  /** Whether one more serve would take us past the bound. */
  full(): boolean {
    if (this.serves() < MIN_SERVES) return false;
    return this.rate === 0 || this.backlogMs() + this.blockSize / this.rate > this.boundMs;
  }
}

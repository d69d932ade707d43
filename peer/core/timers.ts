// The core's timers as data: one table of named deadlines (ms, the driver's clock).
// nextDeadline() is the minimum over the timers that wake the peer; the driver calls
// handle(now, { type: 'tick' }) then, and the tick handler runs whatever is due.

export const TIMERS = {
  /** Send UPDATEs to every connection (the bandwidth controller sets the period). */
  flood: { wakes: true },
  /** Once a round: adapt, expire requests and stale origins, keep the neighbor count. */
  round: { wakes: true },
  /** Drop one idle neighbor so the mesh keeps mixing; acted on at the next round. */
  rewire: { wakes: false },
  /** The next source draw or run (derived from the source policy; Infinity when idle). */
  source: { wakes: true },
  /** A finished peer's hand-over is over: it may leave (derived; see PeerCore.departAt). */
  depart: { wakes: true },
  /** News of blocks known to exist is due to go to the neighbors (derived; see Flood.knownDue). */
  known: { wakes: true },
  /** The download limit allows what it refused (derived; see DownloadBudget.wakeAt). */
  budget: { wakes: true },
} as const;

export type TimerName = keyof typeof TIMERS;

const NAMES = Object.keys(TIMERS) as TimerName[];
// Deadlines sit in a typed array by a fixed index: the peer reads and sets them on every
// event, and a table keyed by name strings cost the simulator a few percent.
const SLOT = Object.fromEntries(NAMES.map((name, i) => [name, i])) as Record<TimerName, number>;
const WAKING = NAMES.flatMap((name, i) => (TIMERS[name].wakes ? [i] : []));

export class TimerTable {
  private readonly at = new Float64Array(NAMES.length).fill(Infinity);

  set(name: TimerName, at: number): void {
    this.at[SLOT[name]] = at;
  }

  get(name: TimerName): number {
    return this.at[SLOT[name]] as number;
  }

  /** Whether `name` is due at `now` (an unset timer never is). */
  due(name: TimerName, now: number): boolean {
    return now >= (this.at[SLOT[name]] as number);
  }

  /** The earliest deadline of the timers that wake the peer; Infinity if none is set. */
  next(): number {
    let min = Infinity;
    for (const i of WAKING) {
      const at = this.at[i] as number;
      if (at < min) min = at;
    }
    return min;
  }
}

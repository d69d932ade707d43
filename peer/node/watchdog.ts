// The idle watchdog of a body download: it aborts a request when the source sends nothing
// for a while, and is paused while the caller works on what it got (the caller's time is
// not the source's silence). Its timer is injectable so tests need not wait.

export interface WatchdogTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: WatchdogTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Aborts when nothing arrives for `ms`; paused while the caller works on a block. */
export class Watchdog {
  private readonly controller = new AbortController();
  private timer: unknown = null;
  fired = false;

  constructor(
    readonly ms: number,
    private readonly timers: WatchdogTimers = realTimers,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  arm(): void {
    this.disarm();
    this.timer = this.timers.setTimeout(() => {
      this.fired = true;
      this.controller.abort(new Error('idle'));
    }, this.ms);
  }

  disarm(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}

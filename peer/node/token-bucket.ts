// One egress limit shared by everything one process sends, so N connections together get
// one rate: the throttled source's uplink (experiments/source/range-server.ts: the paper's
// bottleneck is the source's link, not a socket) and a peer's --upload-limit (peer-node.ts).
// Waiters are served first come, first served: a response takes one chunk, writes it and
// queues again, which interleaves concurrent responses round-robin.

/** Time and timers, injected so the bucket can be driven by a fake clock in tests. */
export interface Timers {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface TokenBucketOptions {
  /** Bytes per second. */
  rate: number;
  /** Most bytes sent back to back after an idle spell; default {@link defaultBurst}. */
  burst?: number;
  timers?: Timers;
}

/**
 * min(64 KiB, rate/20) keeps bursts small; but never under 5 ms of traffic, or the ~1 ms
 * granularity of real timers would cap fast rates below what was asked.
 */
export function defaultBurst(rate: number): number {
  return Math.max(1, Math.floor(Math.max(Math.min(64 * 1024, rate / 20), rate / 200)));
}

interface Waiter {
  bytes: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  private readonly timers: Timers;
  private tokens: number;
  private last: number;
  private readonly queue: Waiter[] = [];
  private timer: unknown = null;

  constructor(opts: TokenBucketOptions) {
    if (!(Number.isFinite(opts.rate) && opts.rate > 0)) throw new Error(`rate must be a positive number of bytes per second, got ${opts.rate}`);
    const burst = opts.burst ?? defaultBurst(opts.rate);
    if (!(Number.isFinite(burst) && burst >= 1)) throw new Error(`burst must be at least 1 byte, got ${burst}`);
    this.rate = opts.rate;
    this.burst = burst;
    this.timers = opts.timers ?? realTimers;
    this.tokens = burst;
    this.last = this.timers.now();
  }

  /** Responses waiting for tokens. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Resolves when `bytes` may be sent. A request larger than the burst is granted once the
   * bucket is full and leaves it in debt, so the long-run rate holds for any chunk size.
   * Rejects with the signal's reason if aborted while waiting (and gives up its turn).
   */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!(bytes > 0)) return Promise.resolve();
    this.refill();
    if (this.queue.length === 0 && this.tokens >= this.needed(bytes)) {
      this.tokens -= bytes;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { bytes, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const at = this.queue.indexOf(waiter);
          if (at >= 0) this.queue.splice(at, 1);
          reject(signal.reason);
          this.schedule();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
      this.schedule();
    });
  }

  /** Rejects every waiter (server shutting down) and stops the timer. */
  cancelAll(reason: unknown): void {
    const waiters = this.queue.splice(0);
    this.stopTimer();
    for (const w of waiters) {
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(reason);
    }
  }

  private needed(bytes: number): number {
    return Math.min(bytes, this.burst);
  }

  private refill(): void {
    const now = this.timers.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
  }

  private readonly pump = (): void => {
    this.timer = null;
    this.refill();
    for (let head = this.queue[0]; head !== undefined; head = this.queue[0]) {
      if (this.tokens < this.needed(head.bytes)) break;
      this.tokens -= head.bytes;
      this.queue.shift();
      if (head.onAbort) head.signal?.removeEventListener('abort', head.onAbort);
      head.resolve();
    }
    this.schedule();
  };

  private schedule(): void {
    this.stopTimer();
    const head = this.queue[0];
    if (head === undefined) return;
    this.refill();
    const deficit = this.needed(head.bytes) - this.tokens;
    // At least 1 ms: a timer that fires a hair early just re-arms instead of spinning.
    const wait = Math.max(1, Math.ceil((deficit * 1000) / this.rate));
    this.timer = this.timers.setTimeout(this.pump, wait);
  }

  private stopTimer(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}

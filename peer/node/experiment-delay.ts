// EXPERIMENT-ONLY latency emulation for the namespace testbed (experiments/testbed/), where the
// kernel has no netem. `SLURPIE_EXPERIMENT_DELAY_MS=D` makes a peer's transport hold every
// WebSocket message it sends D ms before writing it, and every message it receives D ms before
// handling it, in order. The testbed sets D to half the host's one-way latency, so a message
// between hosts a and b takes (a + b) / 2 more one way and a request/answer pays a + b, as the
// simulator models a hop. Unset or 0 (the default, and always outside experiments): no queue.
// Not emulated: TCP's own round trips (handshakes, window growth), loss, jitter.

/** The clock and timer the queue runs on: injected so tests need no wall clock. */
export interface DelayClock {
  now(): number; // ms
  setTimer(fn: () => void, ms: number): { cancel(): void };
}

export const realClock: DelayClock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * Runs each pushed action `delayMs` after it was pushed, in push order (one timer for the
 * head: a late timer releases everything already due, still in order).
 */
export class DelayQueue {
  private readonly items: { due: number; run: () => void }[] = [];
  private head = 0;
  private timer: { cancel(): void } | null = null;

  constructor(
    private readonly delayMs: number,
    private readonly clock: DelayClock = realClock,
  ) {}

  push(run: () => void): void {
    this.items.push({ due: this.clock.now() + this.delayMs, run });
    if (this.timer === null) this.arm();
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** Drops everything waiting (the transport is stopping). */
  clear(): void {
    this.timer?.cancel();
    this.timer = null;
    this.items.length = 0;
    this.head = 0;
  }

  private arm(): void {
    const next = this.items[this.head];
    if (!next) return;
    this.timer = this.clock.setTimer(() => this.release(), Math.max(0, next.due - this.clock.now()));
  }

  private release(): void {
    this.timer = null;
    const now = this.clock.now();
    for (let item = this.items[this.head]; item && item.due <= now; item = this.items[this.head]) {
      this.head++;
      item.run(); // may push: the new item is due later than everything before it
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head); // keep the array from growing for a long-lived peer
      this.head = 0;
    }
    if (this.timer === null) this.arm();
  }
}

export const DELAY_ENV = 'SLURPIE_EXPERIMENT_DELAY_MS';

/** The per-end hold from the environment: 0 when unset; throws on anything but 0..10000 ms. */
export function experimentDelayMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[DELAY_ENV];
  if (text === undefined || text.trim() === '') return 0;
  const ms = Number(text);
  if (!(Number.isFinite(ms) && ms >= 0 && ms <= 10_000)) throw new Error(`${DELAY_ENV} must be a number of ms from 0 to 10000 (experiments only), got "${text}"`);
  return ms;
}

// EXPERIMENT-ONLY latency emulation for the namespace testbed (experiments/testbed/), where the
// kernel has no netem. `SLURPIE_EXPERIMENT_DELAY_MS=D` makes a peer's transport hold every
// WebSocket message it sends D ms before writing it, and every message it receives D ms before
// handling it, in order. The testbed sets D to half the host's one-way latency, so a message
// between hosts a and b takes (a + b) / 2 more one way and a request/answer pays a + b, as the
// simulator models a hop. Unset or 0 (the default, and always outside experiments): no queue.
// A send's callback (a served block counted as served) fires after the hold, and stop() lets
// held BYEs and closes out first. Not emulated: TCP's own round trips (handshakes, window
// growth), loss, jitter.

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
  // shift() rather than a head index: a released action (holding a block's frame) must not
  // stay referenced. The queue holds at most a few hundred messages, so shift stays cheap.
  private readonly items: { due: number; run: () => void }[] = [];
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
    return this.items.length;
  }

  /** Drops everything waiting (the transport is stopping). */
  clear(): void {
    this.timer?.cancel();
    this.timer = null;
    this.items.length = 0;
  }

  private arm(): void {
    const next = this.items[0];
    if (!next) return;
    this.timer = this.clock.setTimer(() => this.release(), Math.max(0, next.due - this.clock.now()));
  }

  private release(): void {
    this.timer = null;
    const now = this.clock.now();
    for (let item = this.items[0]; item && item.due <= now; item = this.items[0]) {
      this.items.shift();
      item.run(); // may push: the new item is due later than everything before it
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

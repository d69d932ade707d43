// EXPERIMENT-ONLY latency emulation for the namespace testbed (experiments/testbed/), where the
// kernel has no netem. A peer holds every WebSocket message it RECEIVES for the one-way latency
// between the sender's host and its own, in order per connection, before handling it:
// `SLURPIE_EXPERIMENT_DELAY_MS=D` is half this host's latency, and
// `SLURPIE_EXPERIMENT_PEER_DELAYS="ip=ms,..."` half each other host's, so a message from a to b
// waits (a + b) / 2 and a request/answer pays a + b, as the simulator models a hop (a sender not
// listed counts as D). Holding only on receipt, not at both ends, costs each message one timer
// wake-up instead of two: at 48 peers on 2 cores those wake-ups compete for the CPU the peers
// need, and a held message waits for its process to be scheduled again (issue #12). The queue
// also allows for its timers' lateness (DelayQueue). Unset or 0 (the default, and always outside experiments): no queue.
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
 * Runs each pushed action about `delayMs` after it was pushed, in push order (one timer for the
 * head: a late timer releases everything already due, still in order).
 *
 * On a busy machine (48 peers on 2 cores) a timer fires late: by a few ms at the median, by
 * tens at the tail. A hold of delayMs would then last delayMs plus that lateness, and cost a
 * 1 ms LAN message several ms. So the queue keeps an average of how late its timers have fired
 * (EWMA, 1/8) and releases that much early: the hold, lateness included, stays about delayMs.
 * It allows for at most delayMs / 2, so every action still waits at least half its delay. On a quiet machine the
 * lateness is near zero and every action waits delayMs.
 */
export class DelayQueue {
  // shift() rather than a head index: a released action (holding a block's frame) must not
  // stay referenced. The queue holds at most a few hundred messages, so shift stays cheap.
  private readonly items: { due: number; run: () => void }[] = [];
  private timer: { cancel(): void } | null = null;
  private timerAt = 0; // when the armed timer should fire
  private releasing = false;
  private lateMs = 0; // how late timers have fired lately, at most delayMs / 2

  constructor(
    private readonly delayMs: number,
    private readonly clock: DelayClock = realClock,
  ) {}

  push(run: () => void): void {
    const now = this.clock.now();
    // Awake anyway (a message arrived): run what is due now rather than at the next timer.
    if (!this.releasing && this.items.length > 0 && (this.items[0] as { due: number }).due - this.lateMs <= now) this.release(now);
    this.items.push({ due: now + this.delayMs, run });
    if (this.timer === null) this.arm();
  }

  get size(): number {
    return this.items.length;
  }

  /** The current average lateness of this queue's timers, ms (what each hold is shortened by). */
  get lateness(): number {
    return this.lateMs;
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
    const now = this.clock.now();
    const wait = Math.max(0, next.due - this.lateMs - now);
    this.timerAt = now + wait;
    this.timer = this.clock.setTimer(() => {
      const firedAt = this.clock.now();
      this.lateMs += (Math.min(this.delayMs / 2, Math.max(0, firedAt - this.timerAt)) - this.lateMs) / 8;
      this.release(firedAt);
    }, wait);
  }

  private release(now: number): void {
    this.timer?.cancel();
    this.timer = null;
    this.releasing = true;
    try {
      for (let item = this.items[0]; item && item.due - this.lateMs <= now; item = this.items[0]) {
        this.items.shift();
        item.run(); // may push: the new item is due later than everything before it
      }
    } finally {
      this.releasing = false;
    }
    if (this.timer === null) this.arm();
  }
}

export const DELAY_ENV = 'SLURPIE_EXPERIMENT_DELAY_MS';
export const PEER_DELAYS_ENV = 'SLURPIE_EXPERIMENT_PEER_DELAYS';

/** What this peer holds a received message for: own half + the sender host's half, ms. */
export interface LinkDelays {
  ownMs: number;
  byIp: Map<string, number>; // other hosts' halves; a host not listed counts as ownMs
}

/** The hold for messages from `remoteIp` (IPv4-mapped addresses too). */
export function holdMs(d: LinkDelays, remoteIp: string | undefined): number {
  const remote = remoteIp === undefined ? undefined : d.byIp.get(remoteIp.replace(/^::ffff:/, ''));
  return d.ownMs + (remote ?? d.ownMs);
}

/** Parses "ip=ms,ip=ms" (experiment environments); throws a one-line error naming `envName`. */
export function parseDelaysByIp(text: string, envName: string, maxMs: number): Map<string, number> {
  const byIp = new Map<string, number>();
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    const m = /^([0-9a-fA-F.:]+)=(\d+(?:\.\d+)?)$/.exec(entry);
    const ms = Number(m?.[2]);
    if (!m || !(ms <= maxMs)) throw new Error(`${envName} takes "ip=ms,..." with ms from 0 to ${maxMs} (experiments only), got "${entry}"`);
    byIp.set(m[1] as string, ms);
  }
  return byIp;
}

/** The delays from the environment: null when this host has none (the normal case). */
export function experimentDelays(env: NodeJS.ProcessEnv = process.env): LinkDelays | null {
  const ownMs = experimentDelayMs(env);
  const list = env[PEER_DELAYS_ENV];
  const byIp = list === undefined || list.trim() === '' ? new Map<string, number>() : parseDelaysByIp(list, PEER_DELAYS_ENV, 10_000);
  if (ownMs === 0 && [...byIp.values()].every((ms) => ms === 0)) return null;
  return { ownMs, byIp };
}

/** This host's own half-latency from the environment: 0 when unset; throws on anything but 0..10000 ms. */
export function experimentDelayMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[DELAY_ENV];
  if (text === undefined || text.trim() === '') return 0;
  const ms = Number(text);
  if (!(Number.isFinite(ms) && ms >= 0 && ms <= 10_000)) throw new Error(`${DELAY_ENV} must be a number of ms from 0 to 10000 (experiments only), got "${text}"`);
  return ms;
}

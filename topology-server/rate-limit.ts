// Registrations per second per quota group (address.ts): a token bucket per group, holding
// at most `perSecond` tokens (a second's worth at once) and refilled at `perSecond`.
//
// A peer registers once on joining and then every ttl/2 ± 25% (about every 30 s), so even
// the 32 ids an address may hold in a swarm renew at about 1 a second; the default of 10 a
// second leaves room for a NAT'd crowd starting together (whose clients retry a 429 after
// its Retry-After) and caps a Sybil flood at 600 ids a minute, all of them counted by the
// per-swarm id quota anyway.
//
// Memory is bounded: a bucket that has refilled is the same as none and is dropped by
// sweep(); beyond `maxTracked` groups the least recently seen are forgotten (which only
// gives them a full bucket back). Time is the injected `now` (ms), as in the Registry.

/** Registrations per second per group, the servers' default. */
export const DEFAULT_QUOTA_RATE = 10;

export interface RateLimiterOptions {
  /** Registrations per second per group; 0: no limit. */
  perSecond: number;
  now: () => number;
  maxTracked?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly perSecond: number;
  private readonly capacity: number;
  private readonly now: () => number;
  private readonly maxTracked: number;
  private readonly buckets = new Map<string, Bucket>(); // least recently seen first

  constructor(options: RateLimiterOptions) {
    if (!Number.isFinite(options.perSecond) || options.perSecond < 0) throw new RangeError(`perSecond must be a number >= 0 (0: no limit), got ${options.perSecond}`);
    this.perSecond = options.perSecond;
    this.capacity = Math.max(1, options.perSecond);
    this.now = options.now;
    this.maxTracked = options.maxTracked ?? 100_000;
  }

  /** 0 if `group` may go ahead (a token is spent); else whole seconds until it may, at least 1. */
  take(group: string): number {
    if (this.perSecond === 0) return 0;
    const now = this.now();
    const bucket = this.refilled(group, now);
    this.buckets.delete(group); // re-inserted: now the most recently seen
    this.buckets.set(group, bucket);
    if (this.buckets.size > this.maxTracked) this.buckets.delete(this.buckets.keys().next().value as string);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }

  /** Forgets every group whose bucket is full again. */
  sweep(): void {
    const now = this.now();
    for (const group of this.buckets.keys()) {
      if (this.refilled(group, now).tokens >= this.capacity) this.buckets.delete(group);
    }
  }

  tracked(): number {
    return this.buckets.size;
  }

  private refilled(group: string, now: number): Bucket {
    const b = this.buckets.get(group);
    if (!b) return { tokens: this.capacity, at: now };
    b.tokens = Math.min(this.capacity, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    return b;
  }
}

// Passive bandwidth estimation (paper §3, PROTOCOL.md §7): measure the download rate
// over a sliding window, compare it with the recent maximum, and steer three knobs —
// data connections, update rate (AIMD) and neighbors — through three states.
//
// How a state is detected. A "judgment" is made at each evaluate() once the window holds
// only samples taken since the last change, so a change is judged by its own effect.
// - under-utilized: the last add raised the rate (by half the 1/c an add to c connections
//   can bring, at most gainTolerance), on `confirmations` consecutive judgments; or the rate
//   rose by more than gainTolerance by itself since we settled; or a probe is due
//   (at-capacity for probeMs, doubling while probes fail) or an add that was blocked has
//   become possible. Action: add a data connection; if none can be added, raise the update
//   rate (additive) and neighbors.
// - throttle-back: the rate fell below (1 − dropTolerance) × the recent maximum. Action:
//   lower the update rate (multiplicative) and neighbors, then drop data connections, one
//   step per judgment, until the rate recovers (congestion relieved), a drop costs rate
//   (put it back: that was the knee), or everything is at its floor; the reduced rate is
//   then the new normal.
// - at-capacity: flat near the recent maximum, or the last add brought nothing (it is
//   undone: a connection that adds no rate is only overhead). Action: hold.
// Losses of rate and self-rising rates count only once they held for a whole window on
// every judgment (two disjoint windows back them: one slow round is not congestion).
// wantMore=false (nothing to fetch that peers have) is not a rate signal: hold, and
// restart the measurement. Apply every action whatever the state: at-capacity also
// undoes a useless add (drop) and puts back a drop that cost rate (add).

export type BandwidthState = 'under-utilized' | 'throttle-back' | 'at-capacity';

export type BandwidthAction =
  | 'add-data-connection'
  | 'raise-updates-and-neighbors'
  | 'lower-updates-and-neighbors'
  | 'drop-data-connection'
  | 'hold';

/** `action` says what to change now; `state` says why. */
export interface BandwidthDecision {
  state: BandwidthState;
  action: BandwidthAction;
}

export interface BandwidthContext {
  /** A peer that has wanted blocks is available for one more data connection. */
  canAddDataConnection: boolean;
  /** Some known peer has a block this peer still needs. */
  wantMore: boolean;
}

export interface BandwidthParams {
  /** The rate is measured over this long (a few rounds); each change waits this long to be judged. */
  windowMs: number;
  /** The "recent maximum" is the highest judged rate within this long. */
  maxWindowMs: number;
  /** A rate rise counts when above this fraction (an add needs less when connections are many: see shareGain). */
  gainTolerance: number;
  /** An add to c connections counts if it raised the rate by shareGain / c (when below gainTolerance). */
  shareGain: number;
  /** A rate below (1 − this) × the recent maximum is "well below": throttle-back. */
  dropTolerance: number;
  /** Consecutive judgments an add's gain must show before the next add. */
  confirmations: number;
  minDataConnections: number;
  maxDataConnections: number;
  initialDataConnections: number;
  minUpdateIntervalMs: number;
  maxUpdateIntervalMs: number;
  initialUpdateIntervalMs: number;
  /** Additive increase of the update rate, in updates per second. */
  updateRateStep: number;
  /** Multiplicative decrease: the update rate is multiplied by this (0 < x < 1). */
  updateRateDecrease: number;
  minNeighbors: number;
  maxNeighbors: number;
  initialNeighbors: number;
  /** At-capacity this long with room to add: try one more connection. Doubles while probes fail. */
  probeMs: number;
  maxProbeMs: number;
}

export const DEFAULT_BANDWIDTH_PARAMS: BandwidthParams = {
  windowMs: 3000,
  maxWindowMs: 20_000,
  gainTolerance: 0.1,
  shareGain: 0.5,
  dropTolerance: 0.25,
  confirmations: 2,
  minDataConnections: 1,
  maxDataConnections: 16,
  initialDataConnections: 2,
  minUpdateIntervalMs: 100,
  maxUpdateIntervalMs: 5000,
  initialUpdateIntervalMs: 1000,
  updateRateStep: 0.5,
  updateRateDecrease: 0.5,
  minNeighbors: 2,
  maxNeighbors: 8,
  initialNeighbors: 4,
  probeMs: 10_000,
  maxProbeMs: 60_000,
};

type LastChange = 'add' | 'probe' | 'raise' | 'lower' | 'drop' | 'settled';

interface Sample {
  start: number;
  end: number;
  bytes: number;
}

export class BandwidthController {
  private readonly p: BandwidthParams;
  private current: BandwidthState = 'under-utilized';
  private connections: number;
  private interval: number;
  private degree: number;
  private readonly spent: Record<BandwidthState, number> = { 'under-utilized': 0, 'throttle-back': 0, 'at-capacity': 0 };
  private stateSince: number;

  private pending = 0;
  private lastEvalAt: number;
  private samples: Sample[] = [];
  /** Only samples taken after this time count: the last change, or the last wantMore=false. */
  private measureFrom: number;
  private maxima: { at: number; rate: number }[] = [];

  // Start as if a connection had just been added at rate 0: the first judgment climbs.
  private lastChange: LastChange = 'add';
  private rateBefore = 0;
  private throttleFrom = 0; // the maximum it fell from (kept even once the window forgets it)
  // When each signal started holding (Infinity: not now); see confirmed().
  private lowSince = Infinity;
  private riseSince = Infinity;
  private hurtSince = Infinity;
  private gainStreak = 0;
  private probeEvery: number;
  private blockedAdd = false;

  constructor(params: Partial<BandwidthParams>, now: number) {
    this.p = checkParams({ ...DEFAULT_BANDWIDTH_PARAMS, ...params });
    this.connections = clamp(this.p.initialDataConnections, this.p.minDataConnections, this.p.maxDataConnections);
    this.interval = clamp(this.p.initialUpdateIntervalMs, this.p.minUpdateIntervalMs, this.p.maxUpdateIntervalMs);
    this.degree = clamp(this.p.initialNeighbors, this.p.minNeighbors, this.p.maxNeighbors);
    this.probeEvery = this.p.probeMs;
    const t = Number.isFinite(now) ? now : 0;
    this.stateSince = t;
    this.lastEvalAt = t;
    this.measureFrom = t;
  }

  get state(): BandwidthState {
    return this.current;
  }
  /** Target number of peers to download from at once. */
  get dataConnections(): number {
    return this.connections;
  }
  get updateIntervalMs(): number {
    return this.interval;
  }
  /** Target mesh degree (eta). */
  get neighbors(): number {
    return this.degree;
  }

  /** Payload bytes received (from peers and the source). */
  recordBytes(_now: number, bytes: number): void {
    if (Number.isFinite(bytes) && bytes > 0) this.pending += bytes;
  }

  timeInState(now: number): Record<BandwidthState, number> {
    const out = { ...this.spent };
    if (Number.isFinite(now) && now > this.stateSince) out[this.current] += now - this.stateSince;
    return out;
  }

  /** Once per round. */
  evaluate(now: number, ctx: BandwidthContext): BandwidthDecision {
    if (!Number.isFinite(now) || now <= this.lastEvalAt) return this.decide(this.current, 'hold', now);
    this.samples.push({ start: this.lastEvalAt, end: now, bytes: this.pending });
    this.pending = 0;
    this.lastEvalAt = now;
    if (!ctx.wantMore) {
      this.restartMeasurement(now);
      return this.decide(this.current, 'hold', now);
    }
    const rate = this.windowRate(now);
    if (rate === undefined) return this.decide(this.current, 'hold', now);
    return this.judge(now, rate, ctx);
  }

  private judge(now: number, rate: number, ctx: BandwidthContext): BandwidthDecision {
    const p = this.p;
    const max = this.recentMax(now);
    this.maxima.push({ at: now, rate });

    if (this.lastChange === 'lower' || this.lastChange === 'drop') {
      // Recovered: back to the old normal (judge later rises against that, not this mid-way rate).
      if (rate >= (1 - p.dropTolerance) * this.throttleFrom) return this.settle(now, Math.max(rate, this.throttleFrom), false);
      // Dropping one of c connections below the knee loses ~1/c: count half of that, at least gainTolerance.
      const hurt = Math.max(p.gainTolerance, p.shareGain / (this.connections + 1));
      const hurting = this.lastChange === 'drop' && rate < this.rateBefore * (1 - hurt);
      this.hurtSince = hurting ? Math.min(this.hurtSince, now) : Infinity;
      if (hurting && !this.confirmed(this.hurtSince, now)) return this.decide('throttle-back', 'hold', now);
      if (hurting) {
        // That drop cut into the link's real capacity: restore it, and the rate before is the new normal.
        const before = this.rateBefore;
        this.connections = Math.min(p.maxDataConnections, this.connections + 1);
        this.accept(now, before);
        return this.change(now, 'at-capacity', 'add-data-connection', 'settled', before);
      }
      return this.throttleStep(now, rate);
    }

    if (this.lastChange === 'add' || this.lastChange === 'probe' || this.lastChange === 'raise') {
      // An add to c connections can bring at most ~1/c more: ask for half of that, capped at gainTolerance.
      const before = this.lastChange === 'raise' ? 0 : this.connections - 1;
      const needed = before > 0 ? Math.min(p.gainTolerance, p.shareGain / before) : p.gainTolerance;
      const gained = rate > this.rateBefore * (1 + needed);
      this.gainStreak = gained ? this.gainStreak + 1 : 0;
      if (gained && this.gainStreak < p.confirmations) return this.decide(this.current, 'hold', now);
      if (gained) {
        this.probeEvery = p.probeMs;
        return this.increase(now, rate, ctx, 'add');
      }
      if (this.lastChange !== 'raise') {
        // The add brought nothing: undo it, and back off probing if it was a probe.
        this.probeEvery = this.lastChange === 'probe' ? Math.min(2 * this.probeEvery, p.maxProbeMs) : p.probeMs;
        this.connections = Math.max(p.minDataConnections, this.connections - 1);
        return this.change(now, 'at-capacity', 'drop-data-connection', 'settled', rate);
      }
      return this.settle(now, rate, true);
    }

    // Settled: watch the rate against the recent maximum.
    const low = rate < (1 - p.dropTolerance) * max;
    // Rising is judged against the level we settled at: a gradual rise never beats the sliding max.
    const rising = this.rateBefore > 0 && rate > (1 + p.gainTolerance) * this.rateBefore;
    this.lowSince = low ? Math.min(this.lowSince, now) : Infinity;
    this.riseSince = rising ? Math.min(this.riseSince, now) : Infinity;
    if (this.confirmed(this.lowSince, now)) {
      this.throttleFrom = max;
      return this.throttleStep(now, rate);
    }
    if (this.confirmed(this.riseSince, now)) {
      this.probeEvery = p.probeMs;
      return this.increase(now, rate, ctx, 'add');
    }
    const room = ctx.canAddDataConnection && this.connections < p.maxDataConnections;
    const quiet = this.lowSince === Infinity; // no probing while the rate is sagging
    if (room && quiet && (this.blockedAdd || now - this.measureFrom >= this.probeEvery)) {
      return this.increase(now, rate, ctx, 'probe');
    }
    return this.decide('at-capacity', 'hold', now);
  }

  /** under-utilized: add a data connection, else raise the update rate and neighbors. */
  private increase(now: number, rate: number, ctx: BandwidthContext, kind: 'add' | 'probe'): BandwidthDecision {
    const p = this.p;
    this.lowSince = Infinity;
    this.riseSince = Infinity;
    if (ctx.canAddDataConnection && this.connections < p.maxDataConnections) {
      this.blockedAdd = false;
      this.connections++;
      return this.change(now, 'under-utilized', 'add-data-connection', kind, rate);
    }
    this.blockedAdd = !ctx.canAddDataConnection;
    const faster = clamp(1000 / (1000 / this.interval + p.updateRateStep), p.minUpdateIntervalMs, p.maxUpdateIntervalMs);
    const wider = Math.min(p.maxNeighbors, this.degree + 1);
    if (faster === this.interval && wider === this.degree) return this.settle(now, rate, false, 'under-utilized');
    this.interval = faster;
    this.degree = wider;
    return this.change(now, 'under-utilized', 'raise-updates-and-neighbors', 'raise', rate);
  }

  /** throttle-back: lower the update rate and neighbors first, then drop data connections. */
  private throttleStep(now: number, rate: number): BandwidthDecision {
    const p = this.p;
    this.lowSince = Infinity;
    const slower = clamp(this.interval / p.updateRateDecrease, p.minUpdateIntervalMs, p.maxUpdateIntervalMs);
    const narrower = Math.max(p.minNeighbors, this.degree - 1);
    if (slower !== this.interval || narrower !== this.degree) {
      this.interval = slower;
      this.degree = narrower;
      return this.change(now, 'throttle-back', 'lower-updates-and-neighbors', 'lower', rate);
    }
    if (this.connections > p.minDataConnections) {
      this.connections--;
      return this.change(now, 'throttle-back', 'drop-data-connection', 'drop', rate);
    }
    // Everything at its floor: this rate is what the link gives now.
    this.accept(now, rate);
    return this.settle(now, rate, false);
  }

  /** Stop acting: at-capacity (or the given state) with a hold. */
  private settle(now: number, rate: number, resetProbe: boolean, state: BandwidthState = 'at-capacity'): BandwidthDecision {
    if (resetProbe) this.probeEvery = this.p.probeMs;
    this.lastChange = 'settled';
    this.rateBefore = rate;
    this.lowSince = Infinity;
    this.riseSince = Infinity;
    return this.decide(state, 'hold', now);
  }

  private change(now: number, state: BandwidthState, action: BandwidthAction, kind: LastChange, rate: number): BandwidthDecision {
    this.lastChange = kind;
    this.rateBefore = rate;
    this.restartMeasurement(now);
    return this.decide(state, action, now);
  }

  /** Forget the old maximum: `rate` is the new normal. */
  private accept(now: number, rate: number): void {
    this.maxima = [{ at: now, rate }];
  }

  private decide(state: BandwidthState, action: BandwidthAction, now: number): BandwidthDecision {
    if (state !== this.current && Number.isFinite(now)) {
      if (now > this.stateSince) this.spent[this.current] += now - this.stateSince;
      this.stateSince = Math.max(this.stateSince, now);
      this.current = state;
    }
    return { state: this.current, action };
  }

  private confirmed(since: number, now: number): boolean {
    return now - since >= this.p.windowMs;
  }

  private restartMeasurement(now: number): void {
    this.measureFrom = now;
    this.samples = [];
    this.lowSince = Infinity;
    this.riseSince = Infinity;
    this.hurtSince = Infinity;
    this.gainStreak = 0;
  }

  /** Bytes per second over the last windowMs of samples after measureFrom; undefined until that much is covered. */
  private windowRate(now: number): number | undefined {
    if (now - this.measureFrom < this.p.windowMs) return undefined;
    let bytes = 0;
    let ms = 0;
    let keep = this.samples.length;
    for (let i = this.samples.length - 1; i >= 0 && ms < this.p.windowMs; i--) {
      const s = this.samples[i] as Sample;
      bytes += s.bytes;
      ms += s.end - s.start;
      keep = i;
    }
    this.samples = this.samples.slice(keep);
    return ms > 0 ? (bytes * 1000) / ms : undefined;
  }

  private recentMax(now: number): number {
    this.maxima = this.maxima.filter((m) => now - m.at <= this.p.maxWindowMs);
    let best = 0;
    for (const m of this.maxima) best = Math.max(best, m.rate);
    return best;
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

function checkParams(p: BandwidthParams): BandwidthParams {
  for (const [name, value] of Object.entries(p)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`bandwidth parameter ${name} must be a finite number >= 0, got ${String(value)}`);
    }
  }
  const pairs: [keyof BandwidthParams, keyof BandwidthParams][] = [
    ['minDataConnections', 'maxDataConnections'],
    ['minUpdateIntervalMs', 'maxUpdateIntervalMs'],
    ['minNeighbors', 'maxNeighbors'],
    ['probeMs', 'maxProbeMs'],
  ];
  for (const [lo, hi] of pairs) {
    if (p[lo] > p[hi]) throw new RangeError(`bandwidth parameter ${lo} (${p[lo]}) exceeds ${hi} (${p[hi]})`);
  }
  if (p.minUpdateIntervalMs <= 0 || p.windowMs <= 0) {
    throw new RangeError('bandwidth parameters minUpdateIntervalMs and windowMs must be > 0');
  }
  if (p.updateRateDecrease <= 0 || p.updateRateDecrease >= 1) {
    throw new RangeError('bandwidth parameter updateRateDecrease must be between 0 and 1');
  }
  return p;
}

// The host's CPU as a capacity (issue #12). The bandwidth controller (bandwidth.ts) reads
// the network: a rate below its recent maximum means congestion, and control traffic is
// cut. When the process waits for a core instead, as 48 peers on 2 cores do, the download
// rate is low but adding updates does not raise it: every UPDATE, DIGESTS and the wake-up
// it causes cost the CPU the blocks need (lan-48 with the periodic messages four times
// slower: 37-46% fewer messages, 7-17% less CPU; docs/peer-cost-notes.md, 2026-12-02).
//
// The signal is how late the peer's periodic timers fire: a deadline passed, and the
// process got to it `lateMs` later, because it was busy or waiting for a core. Its mean
// over recent timers (an exponential average) is the host's lag. Once a round:
// - lag at or above `busyLagMs`: the host is busy: halve the control-traffic rate
//   (double `stretch`, up to `maxStretch`): multiplicative decrease, as congestion.
// - lag below half of it: the host has room: raise the rate by `rateStep` of the
//   full rate (additive increase), back to the periods the parameters give.
// - between: hold.
// The peer multiplies its flood period and its data-link and forwarding cadences by
// `stretch` (peer/core/peer.ts, flood.ts). busyLagMs 0 turns it off (the paper's form).
// Pure: the caller reports each lateness it saw and calls evaluate() once a round.

export interface HostLoadParams {
  /** Mean timer lateness (ms) that says the process waits for a core; 0: never busy. */
  busyLagMs: number;
  /** The most the control traffic's periods are stretched. */
  maxStretch: number;
  /** Weight of each new lateness in the mean (0 < w <= 1). */
  weight: number;
  /** Additive increase of the rate (a fraction of the full rate) per round with room. */
  rateStep: number;
  /** Consecutive rounds the lag must be at or above busyLagMs before the rate is cut. */
  confirmations: number;
}

export const DEFAULT_HOST_LOAD_PARAMS: Omit<HostLoadParams, 'busyLagMs' | 'maxStretch'> = {
  weight: 0.25,
  rateStep: 0.25,
  confirmations: 2,
};

export class HostLoad {
  private rate = 1; // of the full control-traffic rate: 1 / stretch
  private meanLag = 0;
  private samples = 0;
  private overRounds = 0; // consecutive rounds judged at or above busyLagMs
  private stretchedFor = 0; // rounds that ended with the control traffic stretched

  constructor(private readonly params: HostLoadParams) {
    if (!(params.weight > 0 && params.weight <= 1)) throw new Error(`host load weight must be in (0, 1], got ${params.weight}`);
    if (!(params.maxStretch >= 1)) throw new Error(`host load maxStretch must be at least 1, got ${params.maxStretch}`);
  }

  /** A periodic timer due at some deadline fired `lateMs` after it. */
  observe(lateMs: number): void {
    if (!(lateMs >= 0) || !Number.isFinite(lateMs)) return;
    this.meanLag = this.samples === 0 ? lateMs : this.meanLag + this.params.weight * (lateMs - this.meanLag);
    this.samples++;
  }

  /** Once a round: adjust the stretch to the lag seen so far. */
  evaluate(): void {
    const { busyLagMs, maxStretch, rateStep } = this.params;
    if (busyLagMs <= 0 || this.samples === 0) return;
    if (this.meanLag >= busyLagMs) {
      if (++this.overRounds >= this.params.confirmations) this.rate = Math.max(1 / maxStretch, this.rate / 2);
    } else {
      this.overRounds = 0;
      if (this.meanLag < busyLagMs / 2) this.rate = Math.min(1, this.rate + rateStep);
    }
    if (this.rate < 1) this.stretchedFor++;
  }

  /** How many times longer the control traffic's periods are than the parameters say (>= 1). */
  get stretch(): number {
    return 1 / this.rate;
  }

  /** Rounds that ended with the control traffic stretched (stats). */
  get stretchedRounds(): number {
    return this.stretchedFor;
  }

  /** The mean lateness of the peer's timers, ms. */
  get lagMs(): number {
    return this.meanLag;
  }
}

/**
 * A control-traffic period `ms` stretched while the host is busy, but never past half of
 * `staleMs` on that account: entries must keep coming faster than origins are forgotten.
 */
export function stretched(ms: number, stretch: number, staleMs: number): number {
  return stretch <= 1 ? ms : Math.max(ms, Math.min(ms * stretch, staleMs / 2));
}

// The simulated HTTP source: an unmodified origin answering Range GETs (one per
// `fetchSource` action, a run of consecutive blocks), and the counters that show how
// hard the swarm leaned on it.
//
// - One link of `sourceRate` bytes/s shared equally by the active GETs (processor
//   sharing), each GET capped at its peer's downlink (max-min fair when caps differ).
// - Source traffic does not book the peer's downlink FIFO (with the source the
//   bottleneck this hardly matters).
// - A GET starts one hop after the peer asks; each block reaches the peer one hop after its
//   last byte left the source (a hop: scenario.ts), as a `sourceBlock` event; `sourceEnd` follows the last block.
// - A peer that leaves takes its GETs with it.
//
// Between events the shares do not change, so one `sourceStep` is booked for the moment
// the first active block finishes; any start or stop rebooks it (older bookings carry a
// stale token and are ignored).
import { simDigest } from './block-digest.ts';
import type { Agenda, SimPeer } from './world.ts';
import { blockLength, type SimConfig } from './scenario.ts';

/** One Range GET in progress. */
export interface Flow {
  peer: SimPeer;
  first: number;
  count: number;
  next: number; // block being sent
  remaining: number; // bytes of it still to send
  rate: number; // bytes/s
}

/** Every block the source sends is the same zero-filled buffer per length: content plays no part. */
export class ZeroBlocks {
  private readonly byLength = new Map<number, Uint8Array>();

  constructor(private readonly c: SimConfig) {}

  get(index: number): Uint8Array {
    const length = blockLength(this.c, index);
    let buf = this.byLength.get(length);
    if (!buf) {
      buf = new Uint8Array(length);
      this.byLength.set(length, buf);
    }
    return buf;
  }
}

export class SourceModel {
  private flows: Flow[] = [];
  private at = 0; // when `remaining` was last brought up to date
  private token = 0; // the sourceStep booking that counts
  busyMs = 0; // time with at least one GET active
  runMs = 0; // ∫ active GETs dt
  bytes = 0;
  runs = 0; // fetchSource actions
  peakRuns = 0;
  readonly sent: Uint32Array; // per block: times sent

  constructor(
    private readonly c: SimConfig,
    private readonly agenda: Agenda,
    private readonly zero: ZeroBlocks,
    /** A GET's rate at its peer changes by this many bytes/ms (the CPU model's reads). */
    private readonly inflow: (peer: SimPeer, bytesPerMs: number) => void = () => {},
  ) {
    this.sent = new Uint32Array(c.blocks);
  }

  /** GETs active now. */
  get activeRuns(): number {
    return this.flows.length;
  }

  /** The peer asks for blocks first .. first + count - 1 (already checked in range). */
  fetch(peer: SimPeer, first: number, count: number): void {
    this.runs++;
    const flow: Flow = { peer, first, count, next: first, remaining: blockLength(this.c, first), rate: 0 };
    this.agenda.push(this.agenda.now + this.hop(peer), { k: 'sourceStart', flow });
  }

  /** The request reached the source. */
  start(flow: Flow): void {
    if (flow.peer.gone) return;
    this.advance();
    this.flows.push(flow);
    this.peakRuns = Math.max(this.peakRuns, this.flows.length);
    this.reschedule();
  }

  /** Ends the GETs of a peer that left. */
  drop(peer: SimPeer): void {
    if (!this.flows.some((f) => f.peer === peer)) return;
    this.advance();
    this.flows = this.flows.filter((f) => f.peer !== peer);
    this.reschedule();
  }

  /** A booked step: only the latest booking counts. */
  step(token: number): void {
    if (token === this.token) this.finishBlocks();
  }

  /** Brings every GET's progress and the busy counters up to now. */
  advance(): void {
    const now = this.agenda.now;
    const dt = now - this.at;
    if (dt > 0 && this.flows.length > 0) {
      this.busyMs += dt;
      this.runMs += dt * this.flows.length;
      for (const f of this.flows) f.remaining -= (f.rate * dt) / 1000;
    }
    this.at = now;
  }

  /** Blocks the source sent more than once, in all. */
  duplicateBlocks(): number {
    let duplicates = 0;
    for (const n of this.sent) if (n > 1) duplicates += n - 1;
    return duplicates;
  }

  /** One-way latency between the source and a peer. */
  private hop(peer: SimPeer): number {
    return peer.link.halfL + this.c.serverHalfL;
  }

  private reschedule(): void {
    this.token++;
    if (this.flows.length === 0) return;
    this.share();
    let soonest = Infinity;
    for (const f of this.flows) soonest = Math.min(soonest, Math.max(0, f.remaining) / f.rate);
    this.agenda.push(this.agenda.now + soonest * 1000, { k: 'sourceStep', token: this.token });
  }

  // Max-min fair shares of the source's link: GETs capped by their peer's downlink take
  // their cap, the rest share what is left equally (processor sharing when caps are equal).
  private share(): void {
    let left = this.c.scenario.sourceRate;
    let open = this.flows.length;
    const uniform = left / open;
    if (this.flows.every((f) => f.peer.link.down >= uniform)) {
      for (const f of this.flows) this.setRate(f, uniform);
      return;
    }
    for (const f of [...this.flows].sort((a, b) => a.peer.link.down - b.peer.link.down)) {
      this.setRate(f, Math.min(f.peer.link.down, left / open));
      left -= f.rate;
      open--;
    }
  }

  private setRate(f: Flow, rate: number): void {
    if (rate !== f.rate) this.inflow(f.peer, (rate - f.rate) / 1000);
    f.rate = rate;
  }

  // Blocks whose last byte left the source reach their peer one hop later; a finished GET ends.
  private finishBlocks(): void {
    this.advance();
    const still: Flow[] = [];
    for (const f of this.flows) {
      const at = this.agenda.now + this.hop(f.peer);
      if (f.remaining > 1e-3) {
        still.push(f);
        continue;
      }
      const length = blockLength(this.c, f.next);
      this.bytes += length;
      this.sent[f.next] = (this.sent[f.next] ?? 0) + 1;
      this.agenda.push(at, { k: 'deliver', p: f.peer, ev: { type: 'sourceBlock', index: f.next, data: this.zero.get(f.next), digest: simDigest(f.next) } });
      f.next++;
      if (f.next < f.first + f.count) {
        f.remaining = blockLength(this.c, f.next);
        still.push(f);
      } else {
        this.agenda.push(at, { k: 'deliver', p: f.peer, ev: { type: 'sourceEnd', ok: true, first: f.first } });
        this.setRate(f, 0);
      }
    }
    this.flows = still;
    this.reschedule();
  }
}

// One peer's uplink, shared fairly among its connections (network.ts's header says what it
// models and why). The same shape as the CPU model's processor sharing (cpu.ts):
//
// - Each connection end with a large message in service is a flow; the R flows share the
//   link equally (each at rate / R), as TCP connections through one shallow queue do.
// - A virtual clock V counts the bytes each flow has been sent: dV/dt = rate / R. A message
//   of b bytes that starts at V0 ends when V = V0 + b (its tag); one `up` event is booked
//   for the earliest tag, a sooner one rebooks (older bookings carry a stale token), and a
//   booking that comes too early (flows joined since) finds nothing done and books again.
// - A small message (control traffic) takes the link at once, ahead of the flows: it leaves
//   after the small messages before it, and the flows stop for its transmission time
//   (`pausedUntil`). Under exact processor sharing it would take (R + 1) x its own time and
//   the flows would lose the same; this differs by under a millisecond, and needs no event.
import type { End } from './network.ts';
import type { Agenda } from './world.ts';

const EPSILON_BYTES = 1e-3; // of V: its rounding (V restarts at 0 whenever the link idles)

/** The flows are connection ends (network.ts End: its upTag is V when its message in service has been sent). */
export class Uplink {
  private readonly flows: End[] = []; // in the order they joined (ties end in that order)
  private v = 0;
  private at = 0; // agenda time `v` was brought up to
  private pausedUntil = 0; // small messages hold the link until then
  private token = 0;
  private bookedAt = Infinity;

  constructor(
    private readonly agenda: Agenda,
    private readonly msPerByte: number,
  ) {}

  /** Flows in service now. */
  get size(): number {
    return this.flows.length;
  }

  /** A small message of `bytes` goes now, ahead of the flows: when its last byte leaves. */
  small(bytes: number): number {
    this.advance();
    this.pausedUntil = Math.max(this.agenda.now, this.pausedUntil) + bytes * this.msPerByte;
    return this.pausedUntil; // a booking now comes early and books again
  }

  /** When the link next sends a byte of a new flow: now, or after the small messages queued. */
  firstByte(): number {
    return Math.max(this.agenda.now, this.pausedUntil);
  }

  /** A large message of `bytes` starts on `flow` (which has none in service). */
  join(flow: End, bytes: number): void {
    this.advance();
    flow.upTag = this.v + bytes;
    this.flows.push(flow);
    this.reschedule();
  }

  /** A booked step: the flows whose message has been sent, in the order they joined; null for a stale booking. Then reschedule(). */
  step(token: number): End[] | null {
    if (token !== this.token) return null;
    this.bookedAt = Infinity;
    this.advance();
    const flows = this.flows;
    const limit = this.v + EPSILON_BYTES;
    const done: End[] = [];
    let kept = 0;
    for (let i = 0; i < flows.length; i++) {
      const f = flows[i] as End;
      if (f.upTag <= limit) done.push(f);
      else flows[kept++] = f;
    }
    flows.length = kept;
    if (kept === 0) this.v = 0;
    return done;
  }

  /** Books the earliest tag's end, unless a booking at or before it is in place. Call after a step's flows have moved on. */
  reschedule(): void {
    const flows = this.flows;
    if (flows.length === 0) return;
    let min = Infinity;
    for (let i = 0; i < flows.length; i++) {
      const tag = (flows[i] as End).upTag;
      if (tag < min) min = tag;
    }
    const at = this.firstByte() + Math.max(0, min - this.v) * flows.length * this.msPerByte;
    if (at >= this.bookedAt) return;
    this.token++;
    this.bookedAt = at;
    this.agenda.push(at, { k: 'up', up: this, token: this.token });
  }

  private advance(): void {
    const now = this.agenda.now;
    const from = Math.max(this.at, this.pausedUntil);
    if (now > from && this.flows.length > 0) this.v += (now - from) / this.msPerByte / this.flows.length;
    this.at = now;
  }
}

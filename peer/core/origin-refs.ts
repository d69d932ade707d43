// Per-connection naming of origins in UPDATEs (FORMAT.md, UPDATE v2). A sender names each
// origin by a small `ref` it chooses for that connection, introduces it once with the
// origin's id and address, and from then on sends only what changed since it last told this
// connection: a delta of newly set blocks, or nothing but the new seq (a heartbeat). Both
// ends keep a table per connection: the receiver what it was told under each ref (so a
// delta always has a base), the sender which ref and which version it told.
//
// Memory matters here (a peer has tens of connections; the simulator runs 10^5 peers): both
// ends keep every ref's bitfield in one growing buffer and its numbers in typed arrays.
import { isDialable } from './address.ts';
import { MAX_REFS, type EntryBody, type PeerId, type SizeEstimate, type UpdateEntry } from './messages.ts';
import type { Violation } from './violations.ts';

/** An origin as one connection has told it to us (the same object each time: valid until the next apply). */
export interface ToldOrigin {
  id: PeerId;
  host: string;
  port: number;
  dialable: boolean; // its address is a hostname or IP literal (checked once, at its introduction)
  arena: Uint8Array; // its bitfield is `bytes` bytes of this, from `offset`: copy it to keep it
  offset: number;
  seq: number;
  hops: number;
  degree: number;
  sourceBusy: boolean;
}

export class InboundRefs {
  private ids: (PeerId | undefined)[] = [];
  private hosts: string[] = [];
  private dialable: boolean[] = [];
  private ports = new Uint16Array(0);
  private seqs = new Float64Array(0);
  private small = new Uint8Array(0); // per ref: hops, degree, busy
  private bits = new Uint8Array(0); // per ref: `bytes` bytes
  // One object handed out by every apply (the caller uses it at once): no garbage per entry.
  private readonly told: ToldOrigin = { id: '', host: '', port: 0, dialable: false, arena: new Uint8Array(0), offset: 0, seq: 0, hops: 0, degree: 0, sourceBusy: false };

  constructor(
    private readonly blocks: number,
    private readonly bytes: number,
  ) {}

  /** Applies one entry; returns what the origin now looks like, or a violation. */
  apply(entry: UpdateEntry): ToldOrigin | Violation {
    const ref = entry.ref;
    if (entry.intro) {
      const { originId, host, port } = entry.intro;
      this.grow(ref);
      this.ids[ref] = originId; // a ref may name another origin now: it starts afresh
      this.hosts[ref] = host;
      this.ports[ref] = port;
      this.dialable[ref] = isDialable(entry.intro);
      this.bits.fill(0, ref * this.bytes, (ref + 1) * this.bytes);
    } else if (this.ids[ref] === undefined) {
      return { code: 'UNKNOWN_REF', detail: `ref ${ref} was never introduced` };
    }
    const offset = ref * this.bytes;
    const arena = this.bits;
    const body = entry.body;
    if (body.kind === 'full') {
      if (body.bits.length !== this.bytes) return { code: 'BITFIELD_LENGTH', detail: `bitfield of ${body.bits.length} bytes, expected ${this.bytes}` };
      arena.set(body.bits, offset);
      const spare = this.bytes * 8 - this.blocks; // peers may send junk past the last block
      const last = offset + this.bytes - 1;
      if (spare > 0) arena[last] = (arena[last] ?? 0) & (0xff << spare);
    } else if (body.kind === 'delta') {
      for (const index of body.added) {
        if (index >= this.blocks) return { code: 'INDEX_RANGE', detail: `delta names block ${index} of ${this.blocks}` };
        const at = offset + (index >> 3);
        arena[at] = (arena[at] ?? 0) | (0x80 >> (index & 7));
      }
    }
    this.seqs[ref] = entry.seq;
    this.small[3 * ref] = entry.hops;
    this.small[3 * ref + 1] = entry.degree;
    this.small[3 * ref + 2] = entry.sourceBusy ? 1 : 0;
    const told = this.told;
    told.id = this.ids[ref] as PeerId;
    told.host = this.hosts[ref] as string;
    told.port = this.ports[ref] as number;
    told.dialable = this.dialable[ref] === true;
    told.arena = arena;
    told.offset = offset;
    told.seq = entry.seq;
    told.hops = entry.hops;
    told.degree = entry.degree;
    told.sourceBusy = entry.sourceBusy;
    return told;
  }

  // Room for refs 0..ref (see refsRoom).
  private grow(ref: number): void {
    if (ref < this.ports.length) return;
    const n = refsRoom(ref);
    this.ids = resized(this.ids, n);
    this.hosts = resized(this.hosts, n);
    this.dialable = resized(this.dialable, n);
    const widen = <T extends Uint8Array | Uint16Array | Float64Array>(old: T, make: (len: number) => T, per: number): T => {
      const next = make(n * per);
      next.set(old);
      return next;
    };
    this.ports = widen(this.ports, (l) => new Uint16Array(l), 1);
    this.seqs = widen(this.seqs, (l) => new Float64Array(l).fill(-1), 1);
    this.small = widen(this.small, (l) => new Uint8Array(l), 3);
    this.bits = widen(this.bits, (l) => new Uint8Array(l), this.bytes);
  }
}

/** What the sender needs to know of an origin to tell it. */
export interface Tellable {
  id: PeerId;
  host: string;
  port: number;
  seq: number;
  degree: number;
  sourceBusy: boolean;
  bits: Uint8Array;
}

/**
 * What we told one connection, by ref. Refs are fixed by where the origin lives with us:
 * ref 0 is our own entry, ref s + 1 the origin in cache slot s (origin-cache.ts), so no
 * map is needed; when a slot holds another origin, its ref is introduced again. For each ref
 * we keep the id, seq and hops we sent and the bitfield as told, so the next entry carries
 * exactly the blocks set since (a delta), or nothing but news of seq (a heartbeat).
 */
export class ToldRefs {
  private ids: (PeerId | undefined)[] = [];
  private seqs = new Float64Array(0);
  private hops = new Uint8Array(0);
  private bits = new Uint8Array(0);

  constructor(private readonly bytes: number) {}

  /** Whether `ref` was last told about `id` at this seq and distance. */
  isCurrent(ref: number, id: PeerId, seq: number, hops: number): boolean {
    return this.ids[ref] === id && this.seqs[ref] === seq && this.hops[ref] === hops;
  }

  /** The entry telling this connection about `rec` under `ref`, and records it as told. */
  entry(ref: number, rec: Tellable, hops: number, estimate?: SizeEstimate): UpdateEntry {
    this.grow(ref);
    const intro = this.ids[ref] !== rec.id;
    // What we told under this ref is `bytes` bytes of `bits` from `at` (no view allocated per entry).
    const at = ref * this.bytes;
    const told = this.bits;
    if (intro) {
      told.fill(0, at, at + this.bytes);
      this.ids[ref] = rec.id;
    }
    const added = addedBitsAt(told, at, rec.bits);
    let body: EntryBody;
    // A delta costs 1–5 bytes a block: past one per byte of bitfield, the whole bitfield is cheaper.
    // A full one is a copy: the record's bits may change in place while the message waits to go.
    if (added === null || added.length >= this.bytes) body = { kind: 'full', bits: rec.bits.slice() };
    else body = added.length === 0 ? { kind: 'same' } : { kind: 'delta', added };
    told.set(rec.bits, at);
    this.seqs[ref] = rec.seq;
    this.hops[ref] = hops;
    const entry: UpdateEntry = { ref, seq: rec.seq, hops, degree: Math.min(255, rec.degree), sourceBusy: rec.sourceBusy, body };
    if (intro) entry.intro = { originId: rec.id, host: rec.host, port: rec.port };
    if (estimate) entry.estimate = estimate;
    return entry;
  }

  // Room for refs 0..ref (see refsRoom).
  private grow(ref: number): void {
    if (ref < this.seqs.length) return;
    const n = refsRoom(ref);
    this.ids = resized(this.ids, n);
    const seqs = new Float64Array(n).fill(-1);
    seqs.set(this.seqs);
    const hops = new Uint8Array(n);
    hops.set(this.hops);
    const bits = new Uint8Array(n * this.bytes);
    bits.set(this.bits);
    this.seqs = seqs;
    this.hops = hops;
    this.bits = bits;
  }
}

/**
 * Refs a table makes room for when `ref` does not fit: the next multiple of 4, not double.
 * An honest sender's refs are its cache slots + 1 (U + 1 = 33 of them by default), introduced
 * in ascending order, so doubling ended at 64 and left half of every table empty: with a
 * bitfield per ref and two tables per connection, that was ~12 KiB a simulated peer.
 */
export function refsRoom(ref: number): number {
  return Math.min(MAX_REFS, (ref + 4) & ~3);
}

// A plain array of exactly n slots (a JS array grown by assignment keeps spare capacity).
function resized<T>(old: T[], n: number): T[] {
  const out = new Array<T>(n);
  for (let i = 0; i < old.length; i++) out[i] = old[i] as T;
  return out;
}

/** Blocks set in `now` and clear in `before`, ascending; null if any bit was cleared. */
export function addedBits(before: Uint8Array, now: Uint8Array): number[] | null {
  return addedBitsAt(before, 0, now);
}

/** addedBits with `before` the `now.length` bytes of a larger buffer from `at`. */
function addedBitsAt(before: Uint8Array, at: number, now: Uint8Array): number[] | null {
  const added: number[] = [];
  for (let b = 0; b < now.length; b++) {
    const old = before[at + b] ?? 0;
    const cur = now[b] ?? 0;
    if ((old & ~cur & 0xff) !== 0) return null;
    let fresh = cur & ~old & 0xff;
    while (fresh !== 0) {
      const lead = Math.clz32(fresh) - 24;
      added.push(b * 8 + lead);
      fresh &= ~(0x80 >> lead);
    }
  }
  return added;
}

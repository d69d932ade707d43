// Per-connection naming of origins in UPDATEs (FORMAT.md, UPDATE v2). A sender names each
// origin by a small `ref` it chooses for that connection, introduces it once with the
// origin's id and address, and from then on sends only what changed since it last told this
// connection: a delta of newly set blocks, or nothing but the new seq (a heartbeat). Both
// ends keep a table per connection: the receiver what it was told under each ref (so a
// delta always has a base), the sender which ref and which version it told.
import { setBit } from './bits.ts';
import { MAX_REFS, type PeerId, type UpdateEntry } from './messages.ts';
import type { Violation } from './violations.ts';

/** An origin as one connection has told it to us. */
export interface ToldOrigin {
  id: PeerId;
  host: string;
  port: number;
  bits: Uint8Array; // updated in place by deltas: copy it to keep it
  seq: number;
  hops: number;
  degree: number;
  sourceBusy: boolean;
}

export class InboundRefs {
  private readonly byRef = new Map<number, ToldOrigin>();
  private readonly refOf = new Map<PeerId, number>();

  constructor(
    private readonly blocks: number,
    private readonly bytes: number,
  ) {}

  /** The seq this connection last told us for `id`, or -1. */
  seqOf(id: PeerId): number {
    const ref = this.refOf.get(id);
    return ref === undefined ? -1 : (this.byRef.get(ref)?.seq ?? -1);
  }

  /** Applies one entry; returns what the origin now looks like, or a violation. */
  apply(entry: UpdateEntry): ToldOrigin | Violation {
    let told = this.byRef.get(entry.ref);
    if (entry.intro) {
      const { originId, host, port } = entry.intro;
      if (told) this.refOf.delete(told.id); // the ref now names another origin
      const previous = this.refOf.get(originId);
      if (previous !== undefined && previous !== entry.ref) this.byRef.delete(previous);
      told = { id: originId, host, port, bits: new Uint8Array(this.bytes), seq: -1, hops: 0, degree: 0, sourceBusy: false };
      this.byRef.set(entry.ref, told);
      this.refOf.set(originId, entry.ref);
    } else if (!told) {
      return { code: 'UNKNOWN_REF', detail: `ref ${entry.ref} was never introduced` };
    }
    const body = entry.body;
    if (body.kind === 'full') {
      if (body.bits.length !== this.bytes) return { code: 'BITFIELD_LENGTH', detail: `bitfield of ${body.bits.length} bytes, expected ${this.bytes}` };
      told.bits.set(body.bits);
      const spare = this.bytes * 8 - this.blocks; // peers may send junk past the last block
      if (spare > 0) told.bits[this.bytes - 1] = (told.bits[this.bytes - 1] ?? 0) & (0xff << spare);
    } else if (body.kind === 'delta') {
      for (const index of body.added) {
        if (index >= this.blocks) return { code: 'INDEX_RANGE', detail: `delta names block ${index} of ${this.blocks}` };
        setBit(told.bits, index);
      }
    }
    told.seq = entry.seq;
    told.hops = entry.hops;
    told.degree = entry.degree;
    told.sourceBusy = entry.sourceBusy;
    return told;
  }
}

/** What we told one connection about one origin. */
interface Told {
  ref: number;
  version: number; // the origin record's version we sent
  seq: number;
}

export class OutboundRefs {
  // Insertion order = least recently used first (re-inserted on every use).
  private readonly told = new Map<PeerId, Told>();
  private nextRef = 0;

  constructor(private readonly maxRefs = MAX_REFS) {}

  versionTold(id: PeerId): number {
    return this.told.get(id)?.version ?? -1;
  }

  seqTold(id: PeerId): number {
    return this.told.get(id)?.seq ?? -1;
  }

  /**
   * The ref to use for `id`, and whether it must be introduced (first time, or its ref was
   * given to another origin when the table was full).
   */
  use(id: PeerId): { ref: number; intro: boolean; since: number } {
    const known = this.told.get(id);
    if (known) {
      this.told.delete(id);
      this.told.set(id, known);
      return { ref: known.ref, intro: false, since: known.version };
    }
    let ref: number;
    if (this.nextRef < this.maxRefs) {
      ref = this.nextRef++;
    } else {
      const [oldest, told] = this.told.entries().next().value as [PeerId, Told];
      this.told.delete(oldest);
      ref = told.ref;
    }
    this.told.set(id, { ref, version: -1, seq: -1 });
    return { ref, intro: true, since: -1 };
  }

  /** Records that `id` was sent at `version`/`seq`. */
  sent(id: PeerId, version: number, seq: number): void {
    const t = this.told.get(id);
    if (t) {
      t.version = version;
      t.seq = seq;
    }
  }
}

/**
 * The recent changes of one origin's bitfield, by version, so that a connection told version
 * v is sent only what changed since. A change that cleared bits (rare: a source GET that failed
 * un-advertises its blocks) cannot be a delta: whoever is behind it gets the full bitfield.
 */
export class ChangeLog {
  version = 0;
  private changes: { version: number; added: number[] | null }[] = [];

  constructor(private readonly keep = 32) {}

  /** A new version: these blocks were set (null: some were cleared too). */
  record(added: number[] | null): void {
    this.version++;
    this.changes.push({ version: this.version, added });
    if (this.changes.length > this.keep) this.changes.shift();
  }

  /** What changed after version `told`: indices (maybe none), or null for "send it all". */
  since(told: number): number[] | null {
    if (told >= this.version) return [];
    const first = this.changes[0];
    if (told < 0 || !first || first.version > told + 1) return null;
    const added: number[] = [];
    for (const c of this.changes) {
      if (c.version <= told) continue;
      if (c.added === null) return null;
      for (const i of c.added) added.push(i);
    }
    return added.length > 1 ? added.sort((a, b) => a - b) : added;
  }
}

/** Blocks set in `now` and clear in `before`, ascending; null if any bit was cleared. */
export function addedBits(before: Uint8Array, now: Uint8Array): number[] | null {
  const added: number[] = [];
  for (let b = 0; b < now.length; b++) {
    const old = before[b] ?? 0;
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

export function isEmpty(bits: Uint8Array): boolean {
  for (const b of bits) if (b !== 0) return false;
  return true;
}


// The U origins a peer keeps state for (PROTOCOL.md §5), each a leaf of the update tree.
// An origin's slot also names it on the wire (origin-refs.ts: ref = slot + 1). Origins we are
// connected to are pinned (never evicted), but fill at most U minus a reserve (pinReserve).
import type { ConnId } from './events.ts';
import type { PeerId } from './messages.ts';
import { UpdateTree } from './update-tree.ts';

/**
 * An origin's state as heard from one connection. Its bitfield is `bytes` bytes of `arena`
 * from `offset` (the connection's table: origin-refs.ts); it is copied when kept.
 */
export interface OriginNews {
  id: PeerId;
  host: string;
  port: number;
  seq: number;
  hops: number;
  degree: number;
  sourceBusy: boolean;
  arena: Uint8Array;
  offset: number;
}

export interface Origin {
  id: PeerId;
  host: string;
  port: number;
  seq: number;
  distance: number; // mesh hops from us: 1 for a neighbor's own entry
  degree: number;
  sourceBusy: boolean; // it has a Range GET running
  bits: Uint8Array;
  slot: number; // leaf in the update tree
  heardAt: number; // when we last accepted news of it
  learnedFrom: ConnId | null; // the link the freshest entry came over (not sent back there)
  heardFrom: ConnId[]; // connections that told us this seq: they need not hear it back
}

// 'newer': the origin's seq advanced (it is alive); 'shorter': same state over a shorter path.
export type MergeResult = 'new' | 'newer' | 'shorter' | 'same' | 'rejected';

export class OriginCache {
  readonly tree: UpdateTree;
  private readonly distCount = new Int32Array(257); // cached origins by distance (hops + 1 <= 256)
  private farthest = 0; // no cached origin is farther than this (an upper bound)
  /** Whether the last merge that returned 'new' or 'newer' changed what the origin holds. */
  bitsChanged = false;
  private readonly byId = new Map<PeerId, Origin>();
  private readonly bySlot: (PeerId | undefined)[];
  private readonly freeSlots: number[];

  /** At most this many held origins may be pinned (see `reserve`). */
  readonly pinnedLimit: number;

  /** `reserve` slots are kept from pinned origins (see pinReserve). */
  constructor(
    readonly capacity: number,
    readonly bitfieldBytes: number,
    readonly blocks: number,
    readonly reserve = 0,
  ) {
    this.pinnedLimit = Math.max(0, capacity - reserve);
    this.tree = new UpdateTree(capacity, blocks);
    this.freeSlots = Array.from({ length: capacity }, (_, i) => capacity - 1 - i);
    this.bySlot = new Array<PeerId | undefined>(capacity);
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: PeerId): Origin | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<Origin> {
    return this.byId.values();
  }

  /**
   * Folds one received entry in. `pinned` origins (our connections) are never evicted
   * to make room; when the cache is full and nothing can go, the entry is rejected. So is a
   * pinned newcomer once `pinnedLimit` pinned origins are held, free slots or not.
   */
  merge(entry: OriginNews, from: ConnId | null, now: number, pinned: (id: PeerId) => boolean): MergeResult {
    const distance = entry.hops + 1;
    const known = this.byId.get(entry.id);
    if (known) {
      const newer = entry.seq > known.seq;
      const shorter = entry.seq === known.seq && distance < known.distance;
      if (entry.seq === known.seq && from !== null && !known.heardFrom.includes(from)) known.heardFrom.push(from);
      // Only a rising seq proves the origin alive: old news travelling new paths must not
      // keep a departed peer in everyone's view (it would inflate n and draw dials).
      if (!newer && !shorter) return 'same';
      this.setDistance(known, distance);
      known.learnedFrom = from;
      if (!newer) return 'shorter';
      known.host = entry.host;
      known.port = entry.port;
      known.seq = entry.seq;
      known.degree = entry.degree;
      known.sourceBusy = entry.sourceBusy;
      known.heardAt = now;
      // Reused: this runs for most entries of most UPDATEs (pop, not `length = 0`: that is a call into the runtime).
      while (known.heardFrom.length > 0) known.heardFrom.pop();
      if (from !== null) known.heardFrom.push(from);
      this.bitsChanged = !sameBits(known.bits, entry.arena, entry.offset);
      if (this.bitsChanged) {
        // In place: a new copy on every change was most of what outlived the simulator's
        // young generation (an origin's bits change several times a second). Whatever must
        // keep a snapshot copies it (origin-refs.ts: a full entry).
        for (let i = 0; i < known.bits.length; i++) known.bits[i] = entry.arena[entry.offset + i] as number;
        this.tree.set(known.slot, known.bits);
      }
      return 'newer';
    }
    if (pinned(entry.id) && this.pinnedCount(pinned) >= this.pinnedLimit) return 'rejected';
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      const victim = this.victim(pinned, distance);
      if (!victim) return 'rejected';
      slot = victim.slot;
      this.byId.delete(victim.id);
      this.count(victim.distance, -1);
    }
    this.bySlot[slot] = entry.id;
    const origin: Origin = {
      id: entry.id,
      host: entry.host,
      port: entry.port,
      seq: entry.seq,
      distance,
      degree: entry.degree,
      sourceBusy: entry.sourceBusy,
      bits: entry.arena.slice(entry.offset, entry.offset + this.bitfieldBytes),
      slot,
      heardAt: now,
      learnedFrom: from,
      heardFrom: from === null ? [] : [from],
    };
    this.byId.set(entry.id, origin);
    this.count(distance, 1);
    this.tree.set(slot, origin.bits);
    this.bitsChanged = true;
    return 'new';
  }

  /** We learned first-hand that this origin lacks a block it advertised (REJECT missing). */
  clearBit(id: PeerId, index: number): void {
    const origin = this.byId.get(id);
    if (!origin) return;
    const bits = origin.bits; // in place, as in merge()
    bits[index >> 3] = (bits[index >> 3] ?? 0) & ~(0x80 >> (index & 7));
    this.tree.set(origin.slot, bits);
  }

  /**
   * We just connected to `id`, so it is pinned from now on. If that puts the pinned origins
   * over the limit, its slot goes back: its next entry knocks like any pinned newcomer.
   */
  pinnedNow(id: PeerId, pinned: (id: PeerId) => boolean): void {
    if (this.byId.has(id) && this.pinnedCount(pinned) > this.pinnedLimit) this.remove(id);
  }

  remove(id: PeerId): boolean {
    const origin = this.byId.get(id);
    if (!origin) return false;
    this.byId.delete(id);
    this.count(origin.distance, -1);
    this.bySlot[origin.slot] = undefined;
    this.tree.clear(origin.slot);
    this.freeSlots.push(origin.slot);
    return true;
  }

  /** Forgets origins not heard of since `now - staleMs`; returns their ids. */
  expire(now: number, staleMs: number, pinned: ReadonlySet<PeerId>): PeerId[] {
    const gone: PeerId[] = [];
    for (const origin of this.byId.values()) {
      if (!pinned.has(origin.id) && now - origin.heardAt > staleMs) gone.push(origin.id);
    }
    for (const id of gone) this.remove(id);
    return gone;
  }

  /** Who has block `index`, by the update tree's descent. */
  holders(index: number): PeerId[] {
    const ids: PeerId[] = [];
    for (const slot of this.tree.holders(index)) {
      const id = this.bySlot[slot];
      if (id !== undefined) ids.push(id);
    }
    return ids;
  }

  // The origin to make room for one `distance` hops away, if any: the farthest one that is
  // not one of our connections (the least recently heard among those), and only if it is
  // farther than the newcomer; departed ones free their slot when they go stale (expire).
  // Without that rule a peer that hears of more than U origins replaces live ones all the
  // time, and each replacement is a fresh introduction, bitfield and all, on every link it is
  // forwarded over. Most calls end at the count by distance, without a scan.
  private victim(pinned: (id: PeerId) => boolean, distance: number): Origin | undefined {
    let farther = 0;
    for (let d = distance + 1; d <= this.farthest; d++) farther += this.distCount[d] ?? 0;
    if (farther === 0) return undefined;
    let worst: Origin | undefined;
    for (const origin of this.byId.values()) {
      if (origin.distance <= distance || pinned(origin.id)) continue;
      if (!worst || origin.distance > worst.distance || (origin.distance === worst.distance && origin.heardAt < worst.heardAt)) {
        worst = origin;
      }
    }
    return worst;
  }

  private pinnedCount(pinned: (id: PeerId) => boolean): number {
    let n = 0;
    for (const id of this.byId.keys()) if (pinned(id)) n++;
    return n;
  }

  private count(distance: number, by: number): void {
    this.distCount[distance] = (this.distCount[distance] ?? 0) + by;
    if (by > 0 && distance > this.farthest) this.farthest = distance;
  }

  private setDistance(origin: Origin, distance: number): void {
    this.count(origin.distance, -1);
    this.count(distance, 1);
    origin.distance = distance;
  }
}

/**
 * Slots of a U-cache kept from our own connections: an eighth (4 of 32). A peer may have more
 * connections (`maxConnections`, 48) than it caches origins, and a pinned origin is never
 * evicted: without a reserve a busy peer, or one many liars connect to, holds only its own
 * links and rejects every other origin, so it finds no holders beyond them and forwards
 * nothing else (at 200 simulated peers about 13,000 entries a run met a cache all, or all but
 * one, pinned). Measured there: an eighth is within noise of no reserve over 36 seeds; a
 * quarter cost about 1% more source bytes (fewer of our links' bitfields in view); raising U
 * to 64 instead cost 6% of the mean time and 3% of source bytes over 6 seeds (more origins
 * to forward on every link).
 */
export function pinReserve(capacity: number): number {
  return Math.max(0, Math.min(Math.ceil(capacity / 8), capacity - 1));
}

function sameBits(a: Uint8Array, arena: Uint8Array, offset: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== arena[offset + i]) return false;
  return true;
}

// Flooding (PROTOCOL.md §5): our own entry out, entries from others in and on.
//
// Our own entry is our advertised bitfield (blocks.ts) with hops 0 and our neighbor count
// as degree; its `seq` rises whenever it changed, and at least every `heartbeatMs`, since
// only a rising seq keeps an origin alive in others' caches. Every flood period each open
// connection gets our entry if it has not had this seq, and each mesh neighbor also gets
// every cached origin whose state it has not had from us (not back to where it came from,
// not past `maxHops`). Received entries fold into the origin cache (its update tree) and
// feed the group-size estimator.
//
// Budget: a connection may send `updateEntryRate` entries per second (a token bucket of
// two seconds); an honest peer sends at most about 10 (U + 1). Past that it is flooding,
// which is a violation (UPDATE_FLOOD).
import type { GroupSizeEstimator } from '../../estimation/group-size.ts';
import { isDialable } from './address.ts';
import type { BlockTable } from './blocks.ts';
import { maskTail } from './bits.ts';
import { isNeighbor, isOpen, type Conn } from './connection.ts';
import type { PeerId, UpdateEntry } from './messages.ts';
import type { Mesh, Self } from './mesh.ts';
import type { OriginCache } from './origin-cache.ts';
import type { Outbox } from './outbox.ts';
import type { PeerParams } from './params.ts';
import type { Reputation } from './reputation.ts';
import type { Violation } from './violations.ts';

export interface FloodDeps {
  self: Self;
  params: PeerParams;
  out: Outbox;
  blocks: BlockTable;
  cache: OriginCache;
  mesh: Mesh;
  reputation: Reputation;
  estimator: GroupSizeEstimator;
  seen: Set<PeerId>; // every origin heard of (stats), bounded by maxOriginsTracked
}

export class Flood {
  private seq = 0;
  private dirty = true;
  private own: UpdateEntry | null = null;
  private lastAnnounce = -Infinity;

  constructor(private readonly d: FloodDeps) {}

  /** Our advertised state changed: the next flood carries a new seq. */
  markDirty(): void {
    this.dirty = true;
  }

  /** Our bitfield as others see it: what we have plus what is streaming to us from the source. */
  ownEntry(): UpdateEntry {
    if (!this.own || this.own.seq !== this.seq) {
      const { self } = this.d;
      this.own = {
        originId: self.id,
        host: self.host,
        port: self.port,
        seq: this.seq,
        hops: 0,
        degree: this.d.mesh.neighborCount(),
        bits: this.d.blocks.advertised.slice(),
      };
    }
    return this.own;
  }

  /** A connection just opened: it gets our state at once. */
  greet(conn: Conn): void {
    this.send(conn, this.ownEntry(), []);
  }

  flood(now: number): void {
    if (this.dirty || now - this.lastAnnounce >= this.d.params.heartbeatMs) {
      this.seq = (this.seq + 1) >>> 0;
      this.dirty = false;
      this.lastAnnounce = now;
    }
    const own = this.ownEntry();
    const { params, cache } = this.d;
    for (const conn of this.d.mesh.conns.values()) {
      if (!isOpen(conn)) continue;
      const forwarded: UpdateEntry[] = [];
      if (isNeighbor(conn)) {
        for (const o of cache.values()) {
          if (o.id === conn.peerId || o.learnedFrom === conn.id || o.distance >= params.maxHops) continue;
          if (conn.sent.get(o.id) === o.version) continue;
          conn.sent.set(o.id, o.version);
          forwarded.push({ originId: o.id, host: o.host, port: o.port, seq: o.seq, hops: o.distance, degree: o.degree, bits: o.bits });
        }
        if (conn.sent.size > 4 * params.U) {
          for (const id of conn.sent.keys()) if (!cache.get(id)) conn.sent.delete(id);
        }
      }
      this.send(conn, conn.ownSeqSent === own.seq ? null : own, forwarded);
    }
  }

  /** Entries from `conn`; returns a violation when it must be banned. */
  receive(now: number, conn: Conn, entries: UpdateEntry[]): Violation | null {
    const { params, blocks, cache, reputation, estimator, seen, self } = this.d;
    const rate = params.updateEntryRate;
    conn.entryTokens = Math.min(2 * rate, conn.entryTokens + ((now - conn.tokensAt) / 1000) * rate);
    conn.tokensAt = now;
    conn.entryTokens -= entries.length;
    if (conn.entryTokens < 0) return { code: 'UPDATE_FLOOD', detail: 'flooding updates' };
    const pinned = this.d.mesh.connectedIds();
    const bytes = blocks.have.length;
    for (const entry of entries) {
      if (entry.bits.length !== bytes) return { code: 'BITFIELD_LENGTH', detail: `bitfield of ${entry.bits.length} bytes, expected ${bytes}` };
      if (entry.originId === self.id || reputation.isBanned(entry.originId) || !isDialable(entry)) continue;
      if (entry.hops >= params.maxHops) continue;
      if (seen.size < params.maxOriginsTracked) seen.add(entry.originId);
      const result = cache.merge({ ...entry, bits: maskTail(entry.bits, blocks.count) }, conn.id, now, pinned);
      if (result === 'new' || result === 'newer' || result === 'rejected') {
        estimator.observe(now, entry.originId, entry.degree, entry.hops + 1);
      }
    }
    return null;
  }

  private send(conn: Conn, own: UpdateEntry | null, forwarded: UpdateEntry[]): void {
    const entries = own ? [own, ...forwarded] : forwarded;
    if (entries.length === 0) return;
    if (own) conn.ownSeqSent = own.seq;
    this.d.out.send(conn.id, { type: 'UPDATE', entries });
  }
}

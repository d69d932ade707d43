// Flooding (PROTOCOL.md §5): our own entry out, entries from others in and on.
//
// Our own entry is our advertised bitfield (blocks.ts) with hops 0, our neighbor count as
// degree, whether we have a Range GET running, and our swarm-size estimate. Its `seq` rises
// whenever it changed, and at least every `heartbeatMs`, since only a rising seq keeps an
// origin alive in others' caches. Every flood period each open connection gets our entry if
// it has not had this seq, and each mesh neighbor also gets every cached origin whose state
// it has not had from us and has not told us itself (not back where it came from, not past
// `maxHops`). Entries carry only what changed since we last told that connection
// (origin-refs.ts): cost follows change, not file size. Received entries fold into the
// origin cache (its update tree) and feed the estimators.
//
// Budget: a connection may send `updateEntryRate` entries per second (a token bucket of
// two seconds); an honest peer sends at most about 10 (U + 1). Past that it is flooding,
// which is a violation (UPDATE_FLOOD).
import type { GroupSizeEstimator } from '../../estimation/group-size.ts';
import type { SwarmSizeEstimator } from '../../estimation/swarm-size.ts';
import { isDialable } from './address.ts';
import type { BlockTable } from './blocks.ts';
import { isNeighbor, isOpen, type Conn } from './connection.ts';
import type { EntryBody, PeerId, SizeEstimate, UpdateEntry } from './messages.ts';
import type { Mesh, Self } from './mesh.ts';
import type { OriginCache } from './origin-cache.ts';
import { addedBits, ChangeLog, isEmpty } from './origin-refs.ts';
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
  sizes: SwarmSizeEstimator;
  seen: Set<PeerId>; // every origin heard of (stats), bounded by maxOriginsTracked
  /** Whether a Range GET of ours is running. */
  sourceBusy: () => boolean;
  /** Our swarm-size estimate for our own entry, if we have one to share. */
  sizeReport: (now: number) => SizeEstimate | undefined;
}

/** What is needed to tell a connection about an origin. */
interface Record {
  id: PeerId;
  host: string;
  port: number;
  seq: number;
  degree: number;
  sourceBusy: boolean;
  bits: Uint8Array; // replaced, never changed in place: a queued message keeps its snapshot
  log: ChangeLog;
}

export class Flood {
  private readonly own: Record;
  private dirty = true;
  private lastAnnounce = -Infinity;

  constructor(private readonly d: FloodDeps) {
    const { self } = d;
    this.own = { id: self.id, host: self.host, port: self.port, seq: 0, degree: 0, sourceBusy: false, bits: d.blocks.advertised.slice(), log: new ChangeLog() };
  }

  /** Our advertised state changed: the next flood carries a new seq. */
  markDirty(): void {
    this.dirty = true;
  }

  /** A connection just opened: it gets our state at once. */
  greet(now: number, conn: Conn): void {
    this.send(conn, [this.entry(conn, this.own, 0, this.d.sizeReport(now))]);
  }

  flood(now: number): void {
    const own = this.own;
    const changed = this.refreshOwn();
    if (changed || this.dirty || now - this.lastAnnounce >= this.d.params.heartbeatMs) {
      own.seq = (own.seq + 1) >>> 0;
      if (!changed) own.log.record([]);
      this.dirty = false;
      this.lastAnnounce = now;
    }
    const estimate = this.d.sizeReport(now);
    const { params, cache } = this.d;
    for (const conn of this.d.mesh.conns.values()) {
      if (!isOpen(conn)) continue;
      const entries: UpdateEntry[] = [];
      if (conn.told.seqTold(own.id) !== own.seq) entries.push(this.entry(conn, own, 0, estimate));
      if (isNeighbor(conn)) {
        for (const o of cache.values()) {
          if (o.id === conn.peerId || o.learnedFrom === conn.id || o.distance >= params.maxHops) continue;
          if (conn.told.versionTold(o.id) === o.log.version) continue;
          if (conn.heard.seqOf(o.id) >= o.seq) continue; // it told us as much itself
          entries.push(this.entry(conn, o, o.distance));
        }
      }
      this.send(conn, entries);
    }
  }

  /** Entries from `conn`; returns a violation when it must be banned. */
  receive(now: number, conn: Conn, entries: UpdateEntry[]): Violation | null {
    const { params, cache, reputation, estimator, seen, self } = this.d;
    const rate = params.updateEntryRate;
    conn.entryTokens = Math.min(2 * rate, conn.entryTokens + ((now - conn.tokensAt) / 1000) * rate);
    conn.tokensAt = now;
    conn.entryTokens -= entries.length;
    if (conn.entryTokens < 0) return { code: 'UPDATE_FLOOD', detail: 'flooding updates' };
    let pinned: Set<PeerId> | null = null;
    for (const entry of entries) {
      const told = conn.heard.apply(entry);
      if ('code' in told) return told;
      if (told.id === self.id || reputation.isBanned(told.id) || !isDialable(told)) continue;
      if (entry.hops >= params.maxHops) continue;
      if (entry.estimate && entry.hops === 0 && told.id === conn.peerId) {
        this.d.sizes.report(now, told.id, entry.estimate.n, entry.estimate.ageS);
      }
      if (seen.size < params.maxOriginsTracked) seen.add(told.id);
      pinned ??= this.d.mesh.connectedIds();
      const result = cache.merge(
        { originId: told.id, host: told.host, port: told.port, seq: told.seq, hops: told.hops, degree: told.degree, sourceBusy: told.sourceBusy, bits: told.bits },
        conn.id,
        now,
        pinned,
      );
      if (result === 'new' || result === 'newer' || result === 'rejected') {
        estimator.observe(now, told.id, told.degree, told.hops + 1);
      }
    }
    return null;
  }

  // Brings our own record up to date; true if our bits or flags changed.
  private refreshOwn(): boolean {
    const own = this.own;
    const advertised = this.d.blocks.advertised;
    const degree = Math.min(255, this.d.mesh.neighborCount());
    const busy = this.d.sourceBusy();
    const added = addedBits(own.bits, advertised);
    const bitsChanged = added === null || added.length > 0;
    if (!bitsChanged && degree === own.degree && busy === own.sourceBusy) return false;
    if (bitsChanged) own.bits = advertised.slice();
    own.degree = degree;
    own.sourceBusy = busy;
    own.log.record(added);
    return true;
  }

  // One entry telling `conn` what it has not had of `rec` from us.
  private entry(conn: Conn, rec: Record, hops: number, estimate?: SizeEstimate): UpdateEntry {
    const use = conn.told.use(rec.id);
    let body: EntryBody;
    const added = use.intro ? null : rec.log.since(use.since);
    if (use.intro && isEmpty(rec.bits)) body = { kind: 'same' };
    else if (added === null || added.length >= rec.bits.length) body = { kind: 'full', bits: rec.bits };
    else body = added.length === 0 ? { kind: 'same' } : { kind: 'delta', added };
    conn.told.sent(rec.id, rec.log.version, rec.seq);
    return {
      ref: use.ref,
      ...(use.intro && { intro: { originId: rec.id, host: rec.host, port: rec.port } }),
      seq: rec.seq,
      hops,
      degree: Math.min(255, rec.degree),
      sourceBusy: rec.sourceBusy,
      ...(estimate && { estimate }),
      body,
    };
  }

  private send(conn: Conn, entries: UpdateEntry[]): void {
    if (entries.length > 0) this.d.out.send(conn.id, { type: 'UPDATE', entries });
  }
}

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
// origin cache (its update tree); those it holds feed the estimators, with the degree clamped
// to what an honest peer can have (params.ts maxDegree). Neighbors also pass on which
// blocks exist in the swarm at all (swarm-known.ts).
//
// Budget: a connection may send `updateEntryRate` entries per second (a token bucket of
// two seconds); an honest peer sends at most about 10 (U + 1). Past that it is flooding,
// which is a violation (UPDATE_FLOOD).
import type { GroupSizeEstimator } from '../../estimation/group-size.ts';
import { stretched } from '../../estimation/host-load.ts';
import type { SwarmSizeEstimator } from '../../estimation/swarm-size.ts';
import type { BlockTable } from './blocks.ts';
import { isNeighbor, isOpen, type Conn } from './connection.ts';
import type { PeerId, SizeEstimate, Update, UpdateEntry } from './messages.ts';
import type { Mesh, Self } from './mesh.ts';
import type { OriginCache } from './origin-cache.ts';
import { addedBits, type Tellable, type ToldOrigin } from './origin-refs.ts';
import type { Outbox } from './outbox.ts';
import { maxDegree, type PeerParams } from './params.ts';
import type { Reputation } from './reputation.ts';
import type { DistinctCount } from './stats.ts';
import type { SwarmKnown } from './swarm-known.ts';
import type { Violation } from './violations.ts';

/** Our own entry's ref on every connection; cached origins follow at their slot + 1. */
const OWN_REF = 0;

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
  seen: DistinctCount; // every origin heard of (stats)
  known: SwarmKnown; // blocks someone in the swarm has or is fetching
  /** Whether a Range GET of ours is running. */
  sourceBusy: () => boolean;
  /** Whether the mesh-based estimator is in use (it need not be fed otherwise). */
  meshEstimate: (now: number) => boolean;
  /** Our swarm-size estimate for our own entry, if we have one to share. */
  sizeReport: (now: number) => SizeEstimate | undefined;
}

export class Flood {
  /** Whether the last UPDATE received changed what anyone in our view holds. */
  changedView = false;
  private readonly own: Tellable; // its bits are replaced, never changed in place: a queued message keeps its snapshot
  private dirty = true;
  private knownAt = Infinity; // news of known blocks to pass on at this time
  private knownTurn = 0; // where the next spread starts among the open connections
  private readonly pinned = (id: PeerId): boolean => this.d.mesh.isConnected(id);
  private lastAnnounce = -Infinity;
  private readonly merged: PeerId[] = []; // origins new or newer in the UPDATE being received (reused)
  private readonly maxDegree: number;
  /** Forwarded intros that named another address for an origin whose address we hold. */
  addressConflicts = 0;

  constructor(private readonly d: FloodDeps) {
    const { self } = d;
    this.maxDegree = maxDegree(d.params);
    this.own = { id: self.id, host: self.host, port: self.port, seq: 0, degree: 0, sourceBusy: false, bits: d.blocks.advertised.slice() };
  }

  /** Our advertised state changed: the next flood carries a new seq. */
  markDirty(): void {
    this.dirty = true;
  }

  /** A connection just opened: it gets our state at once. */
  greet(now: number, conn: Conn): void {
    this.d.out.events?.linked(conn);
    conn.ownSentAt = now;
    this.send(conn, [conn.told.entry(OWN_REF, this.own, 0, this.d.sizeReport(now))]);
  }

  /** Our state and others' out to every connection due; `stretch` (>= 1) slows the cadences (host busy). */
  flood(now: number, stretch = 1): void {
    const own = this.own;
    const changed = this.refreshOwn();
    if (changed || this.dirty || now - this.lastAnnounce >= this.d.params.heartbeatMs) {
      own.seq = (own.seq + 1) >>> 0;
      this.dirty = false;
      this.lastAnnounce = now;
    }
    const estimate = this.d.sizeReport(now);
    const { params, cache, known } = this.d;
    known.addAll(now, own.bits);
    known.addAll(now, cache.tree.root());
    for (const conn of this.d.mesh.conns.values()) {
      if (!isOpen(conn)) continue;
      // Made only when there is something to send: most connections get nothing most floods.
      let entries: UpdateEntry[] | null = null;
      // A data-only link hears of us at most every dataUpdateMs: it is there for blocks, and
      // its far end follows us through the mesh too.
      const due = isNeighbor(conn) || now - conn.ownSentAt >= stretched(params.dataUpdateMs, stretch, params.staleMs);
      if (due && !conn.told.isCurrent(OWN_REF, own.id, own.seq, 0)) {
        entries = [conn.told.entry(OWN_REF, own, 0, estimate)];
        conn.ownSentAt = now;
      }
      if (isNeighbor(conn)) {
        // Others' news goes on at most every forwardEveryMs: each cached origin changes with
        // every block it gets, and a far origin's latest block matters little here (the blocks
        // that exist at all travel as `known`, at once). Our own entry goes every flood.
        const forward = now - conn.forwardedAt >= stretched(params.forwardEveryMs, stretch, params.staleMs);
        if (forward) {
          conn.forwardedAt = now;
          for (const o of cache.values()) {
            if (o.id === conn.peerId || o.learnedFrom === conn.id || o.distance >= params.maxHops) continue;
            if (o.heardFrom.includes(conn.id)) continue; // it told us as much itself
            const ref = o.slot + 1;
            if (conn.told.isCurrent(ref, o.id, o.seq, o.distance)) continue;
            (entries ??= []).push(conn.told.entry(ref, o, o.distance));
          }
        }
        const news = known.news(conn);
        if (news.length > 0) this.d.out.send(conn.id, { type: 'UPDATE', entries: entries ?? [], known: news });
        else if (entries) this.d.out.send(conn.id, { type: 'UPDATE', entries });
        continue;
      }
      if (entries) this.send(conn, entries);
    }
  }

  /** An UPDATE from `conn`; returns a violation when it must be banned. */
  receive(now: number, conn: Conn, update: Update): Violation | null {
    const { params, cache, reputation, seen, self } = this.d;
    const entries = update.entries;
    const rate = params.updateEntryRate;
    conn.entryTokens = Math.min(2 * rate, conn.entryTokens + ((now - conn.tokensAt) / 1000) * rate);
    conn.tokensAt = now;
    conn.entryTokens -= Math.max(1, entries.length); // an UPDATE of no entries is not free either
    if (conn.entryTokens < 0) return { code: 'UPDATE_FLOOD', detail: 'flooding updates' };
    if (update.known) {
      const heard = this.d.known.heard(now, conn, update.known);
      if (heard === 'bad') return { code: 'INDEX_RANGE', detail: 'a known block past the end of the file' };
      if (heard === 'new') this.knownDue(now);
    }
    const pinned = this.pinned;
    const merged = this.merged;
    while (merged.length > 0) merged.pop(); // (cheaper than `length = 0`, a call into the runtime)
    let report: SizeEstimate | undefined;
    // News of known blocks changes no holdings in our view (the source fetch reads it on every event).
    this.changedView = false;
    for (const entry of entries) {
      const told = conn.heard.apply(entry);
      if ('code' in told) return told;
      if (told.id === self.id || !told.dialable || reputation.isBanned(told.id)) continue;
      if (entry.hops >= params.maxHops) continue;
      told.degree = Math.min(told.degree, this.maxDegree);
      this.bindAddress(conn, told);
      if (entry.estimate && entry.hops === 0 && told.id === conn.peerId) report = entry.estimate;
      const result = cache.merge(told, conn.id, now, pinned);
      if (result === 'new' || result === 'rejected') seen.add(told.id); // an origin already cached was counted
      if (result === 'new' || result === 'newer') {
        merged.push(told.id);
        if (cache.bitsChanged) this.changedView = true;
      }
    }
    this.feedEstimators(now, conn, report);
    return null;
  }

  // Only origins the cache holds once the whole UPDATE is in feed the size estimators: not
  // those it rejected, nor those a later entry of the same UPDATE pushed out again, nor any of
  // an UPDATE that broke the rules or the budget (it returned before this). Otherwise one
  // neighbor could make up as many far origins as it likes, each counted as a peer of the swarm.
  // The price: the mesh estimate sees only the U nearest origins and reads lower (in the
  // simulator at 200 peers, 7-11% more source bytes with --group-size paper or mean-hops); by
  // default n is the topology server's count, and that is unchanged.
  private feedEstimators(now: number, conn: Conn, report: SizeEstimate | undefined): void {
    const { cache, estimator, sizes } = this.d;
    if (report && conn.peerId && cache.get(conn.peerId)) sizes.report(now, conn.peerId, report.n, report.ageS);
    if (this.merged.length === 0 || !this.d.meshEstimate(now)) return;
    for (const id of this.merged) {
      const origin = cache.get(id);
      if (origin) estimator.observe(now, id, origin.degree, origin.distance);
    }
  }

  // An origin's address is the one its own HELLO gave (mesh.known) or, failing that, the one
  // we first cached it with; a forwarded intro cannot move it elsewhere (to point our dials,
  // and everyone we forward it to, at a third party). A differing one is only noted: an honest
  // forwarder may be relaying someone else's lie. `told` is the refs table's scratch record,
  // refilled by the next apply(), so it may be corrected in place.
  private bindAddress(conn: Conn, told: ToldOrigin): void {
    const bound = this.d.mesh.known.get(told.id) ?? this.d.cache.get(told.id);
    if (!bound || (bound.host === told.host && bound.port === told.port)) return;
    this.addressConflicts++;
    this.d.out.log('debug', `peer ${(conn.peerId ?? '?').slice(0, 8)} relayed another address for ${told.id.slice(0, 8)}: ignored`);
    told.host = bound.host;
    told.port = bound.port;
  }

  /**
   * News of known blocks is passed on `knownSpreadMs` after it arrives, not at the next flood
   * (a few link latencies across the mesh instead of a flood period per hop); news arriving
   * in between goes in the same UPDATE.
   */
  knownDue(now: number): void {
    if (this.d.params.knownSpreadMs === 0) {
      this.knownAt = now;
      this.spreadKnown(now); // at once, in this very step
    } else if (this.knownAt === Infinity) {
      this.knownAt = now + this.d.params.knownSpreadMs;
    }
  }

  /** When news of known blocks is due to be passed on (Infinity: none waiting). */
  knownDeadline(): number {
    return this.knownAt;
  }

  /** Passes news of known blocks to every neighbor, if due. */
  spreadKnown(now: number): void {
    if (now < this.knownAt) return;
    this.knownAt = Infinity;
    // To `knownFanout` neighbors that have not had it, taken in turn (the next flood tells the
    // rest). By default every neighbor: a fanout of 3 saved a fifth of the simulator's events
    // at 1,000 peers but let more duplicate blocks through (1.13 F on seed 1 against 1.04).
    const open = this.d.mesh.open;
    let told = 0;
    for (let i = 0; i < open.length && told < this.d.params.knownFanout; i++) {
      const conn = open[(this.knownTurn + i) % open.length] as Conn;
      if (!isNeighbor(conn)) continue;
      const news = this.d.known.news(conn);
      if (news.length === 0) continue;
      this.d.out.send(conn.id, { type: 'UPDATE', entries: [], known: news });
      told++;
    }
    this.knownTurn = (this.knownTurn + 1) % Math.max(1, open.length);
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
    return true;
  }

  private send(conn: Conn, entries: UpdateEntry[]): void {
    if (entries.length > 0) this.d.out.send(conn.id, { type: 'UPDATE', entries });
  }
}

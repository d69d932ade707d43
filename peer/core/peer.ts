// One Slurpie peer as a pure state machine: `handle(now, event)` returns actions and
// `nextDeadline()` says when to call back with a tick. No sockets, clock or Math.random:
// the node driver, the simulator and the tests feed it (DESIGN.md).
import BitField from 'bitfield';
import { BandwidthController, type BandwidthState } from '../../estimation/bandwidth.ts';
import { GroupSizeEstimator } from '../../estimation/group-size.ts';
import { pick, shuffle, type Rng } from '../../estimation/random.ts';
import { isDialable } from './address.ts';
import { bitfieldBytes, countAndNot, countBits, hasBit, maskTail } from './bits.ts';
import type { ConnId, PeerAction, PeerAddress, PeerEvent } from './events.ts';
import { HELLO_NEIGHBOR, PROTOCOL_VERSION, type Hello, type Message, type PeerId, type UpdateEntry } from './messages.ts';
import { OriginCache } from './origin-cache.ts';
import { resolveParams, type PeerParams } from './params.ts';
import { pickBlock } from './scheduler.ts';
import { SourcePolicy } from './source-policy.ts';

export interface PeerConfig {
  id: PeerId;
  swarmId: string;
  host: string; // where we accept connections (sent in HELLO and in our update entry)
  port: number;
  size: number;
  params?: Partial<PeerParams>;
  rng: Rng;
  now: number;
  have?: Uint8Array; // blocks already on disk (resume)
}

export interface PeerStats {
  fromSource: number;
  fromPeers: number;
  uploaded: number;
  sourceRequests: number;
  sourceRounds: number;
  peersSeen: number;
  groupSizeEstimate: number; // median of the per-round estimates while downloading
  groupSizeNow: number; // the estimate at this moment (drops as peers leave)
  maxDataConnections: number;
  neighbors: number;
  connections: number;
  blocks: number;
  blocksHave: number;
  bannedPeers: number;
  meanDegree: number; // d̄ seen in updates
  diameter: number; // max hops seen
  bandwidthState: BandwidthState;
  timeInState: Record<BandwidthState, number>; // ms
  dataConnectionsTarget: number;
  updateIntervalMs: number;
}

interface Conn {
  id: ConnId;
  outbound: boolean;
  peerId: PeerId | null; // known once HELLO arrives (outbound: the id we dialled until then)
  hello: Hello | null;
  wantNeighbor: boolean; // we dialled it as a mesh neighbor
  neighbor: boolean; // both sides agreed in HELLO
  requests: Map<number, number>; // block -> deadline
  serving: number;
  strikes: number;
  busyUntil: number;
  ownSeqSent: number; // our own entry's seq last sent here
  sent: Map<PeerId, number>; // origin -> version last forwarded here
  entryTokens: number; // UPDATE entries it may still send (token bucket: floods get it banned)
  tokensAt: number;
}

type Owner = ConnId | 'source' | 'storing';

export class PeerCore {
  readonly params: PeerParams;
  readonly blocks: number;
  private readonly id: PeerId;
  private readonly rng: Rng;
  private readonly cfg: PeerConfig;
  private readonly have: BitField;
  private haveCount: number;
  private readonly taken: Uint8Array; // have | asked for | being stored
  private readonly pending = new Map<number, Owner>();
  private readonly coming = new Set<number>(); // blocks on their way from the source: advertised already
  private readonly waiting = new Map<number, ConnId[]>(); // requests for coming blocks, served on arrival
  private readonly duplicated = new Set<number>(); // blocks asked of a second peer in the endgame
  private readonly cache: OriginCache;
  private readonly conns = new Map<ConnId, Conn>();
  private readonly dialing = new Map<PeerId, { neighbor: boolean }>();
  private readonly known = new Map<PeerId, PeerAddress>();
  private readonly banned = new Set<PeerId>();
  private readonly penalties = new Map<PeerId, number>(); // peer -> until when we avoid it
  private readonly seen = new Set<PeerId>();
  private readonly source: SourcePolicy;
  private readonly bandwidth: BandwidthController;
  private readonly groupEstimator: GroupSizeEstimator;
  private out: PeerAction[] = [];
  private seq = 0;
  private dirty = true;
  private ownEntry: UpdateEntry | null = null;
  private lastAnnounce = -Infinity;
  private nextUpdateAt: number;
  private nextRoundAt: number;
  private nextReconnectAt: number;
  private lastNeedPeers = -Infinity;
  private sourceOpensAt: number; // no source draw before we have heard who else is here
  private starvedSince = Infinity; // since when no one in our view has any block we still need
  private readonly estimates: number[] = []; // one group-size estimate per round while downloading
  private completed = false;
  private clock: number; // the time of the event being handled
  private leaving = false;
  private readonly counters = { fromSource: 0, fromPeers: 0, uploaded: 0, maxDataConnections: 0 };

  constructor(cfg: PeerConfig) {
    this.cfg = cfg;
    this.params = resolveParams(cfg.params);
    this.id = cfg.id;
    this.rng = cfg.rng;
    this.blocks = Math.ceil(cfg.size / this.params.blockSize);
    const bytes = bitfieldBytes(this.blocks);
    this.have = new BitField(bytes * 8);
    if (cfg.have) this.have.buffer.set(maskTail(cfg.have.subarray(0, bytes), this.blocks));
    this.haveCount = countBits(this.have.buffer);
    this.taken = this.have.buffer.slice();
    this.cache = new OriginCache(this.params.U, bytes, this.blocks);
    this.source = new SourcePolicy(cfg.rng, {
      k: this.params.k,
      backoff: this.params.backoff,
      roundMs: this.params.roundMs,
      blockSize: this.params.blockSize,
      maxRun: this.params.maxSourceRun,
    });
    this.bandwidth = new BandwidthController(
      {
        initialDataConnections: this.params.dataConnections,
        maxDataConnections: this.params.maxDataConnections,
        initialUpdateIntervalMs: this.params.updateIntervalMs,
        initialNeighbors: this.params.eta,
        windowMs: 2 * this.params.roundMs,
      },
      cfg.now,
    );
    this.groupEstimator = new GroupSizeEstimator({ staleMs: this.params.staleMs, maxOrigins: this.params.maxOriginsTracked });
    this.nextUpdateAt = cfg.now;
    this.nextRoundAt = cfg.now;
    this.nextReconnectAt = cfg.now + this.params.reconnectPeriodMs;
    this.sourceOpensAt = cfg.now + this.params.roundMs;
    this.clock = cfg.now;
  }

  get isComplete(): boolean {
    return this.haveCount === this.blocks;
  }

  blockLength(index: number): number {
    return Math.min(this.params.blockSize, this.cfg.size - index * this.params.blockSize);
  }

  /** When the driver should next call `handle(now, { type: 'tick' })`. */
  nextDeadline(): number {
    if (this.leaving) return Infinity;
    const sourceIdle = this.completed || this.haveCount + this.pendingCount('storing') >= this.blocks;
    const sourceDue = sourceIdle ? Infinity : Math.max(this.sourceOpensAt, this.source.nextDeadline);
    return Math.min(this.nextUpdateAt, this.nextRoundAt, sourceDue);
  }

  handle(now: number, event: PeerEvent): PeerAction[] {
    this.out = [];
    this.clock = now;
    if (this.leaving) return this.out;
    switch (event.type) {
      case 'tick':
        this.onTick(now);
        break;
      case 'peers':
        // Alone (or first): straight to the source. Otherwise give the mesh a round (a few
        // floods) to tell us how many we are before the first draw, so a crowd does not stampede.
        this.sourceOpensAt = Math.min(this.sourceOpensAt, event.peers.length === 0 ? now : now + this.params.roundMs);
        for (const p of event.peers) if (p.id !== this.id && !this.avoided(p.id) && isDialable(p)) this.known.set(p.id, p);
        this.maintainNeighbors(now);
        break;
      case 'opened':
        this.onOpened(event.conn, event.outbound, event.peerId);
        break;
      case 'connectFailed':
        this.dialing.delete(event.peerId);
        this.forget(event.peerId);
        break;
      case 'message':
        this.onMessage(now, event.conn, event.msg);
        break;
      case 'malformed':
        this.dropConn(event.conn, `protocol error: ${event.code}: ${event.detail}`, true);
        break;
      case 'closed':
        this.onClosed(event.conn);
        break;
      case 'served': {
        const conn = this.conns.get(event.conn);
        if (conn) conn.serving = Math.max(0, conn.serving - 1);
        this.counters.uploaded += event.bytes;
        break;
      }
      case 'sourceBlock':
        this.onSourceBlock(event.index, event.data);
        break;
      case 'sourceEnd':
        for (const index of this.source.end(now, event.ok)) this.release(index, 'source');
        break;
      case 'stored':
        this.onStored(event.index);
        break;
      case 'ban':
        this.ban(event.peerId, event.reason);
        break;
      case 'leave':
        this.leave(event.reason);
        return this.out;
    }
    if (!this.completed && this.haveCount === this.blocks) {
      this.completed = true; // e.g. resumed with every block already on disk
      this.out.push({ type: 'complete' });
    }
    this.fill(now);
    this.maybeSource(now);
    return this.out;
  }

  stats(now: number): PeerStats {
    const group = this.groupEstimator.snapshot(now);
    return {
      meanDegree: group.meanDegree,
      diameter: group.diameter,
      bandwidthState: this.bandwidth.state,
      timeInState: this.bandwidth.timeInState(now),
      dataConnectionsTarget: this.bandwidth.dataConnections,
      updateIntervalMs: this.bandwidth.updateIntervalMs,
      ...this.counters,
      sourceRequests: this.source.requests,
      sourceRounds: this.source.roundsWon,
      peersSeen: this.seen.size,
      groupSizeEstimate: this.estimates.length > 0 ? median(this.estimates) : this.groupSize(now),
      groupSizeNow: this.groupSize(now),
      neighbors: this.neighborCount(),
      connections: this.conns.size,
      blocks: this.blocks,
      blocksHave: this.haveCount,
      bannedPeers: this.banned.size,
    };
  }

  // n for the k/n draw (PROTOCOL.md §8): the diameter-based estimate from the degrees and
  // hop counts in updates, never below the peers we know of plus us.
  private groupSize(now: number): number {
    this.groupEstimator.setOwnDegree(this.neighborCount());
    return Math.max(this.groupEstimator.estimate(now), this.known.size + 1);
  }

  // ---- timers ---------------------------------------------------------------------

  private onTick(now: number): void {
    if (now >= this.nextUpdateAt) {
      this.flood(now);
      this.nextUpdateAt = now + this.bandwidth.updateIntervalMs;
    }
    if (now >= this.nextRoundAt) {
      this.nextRoundAt = now + this.params.roundMs;
      this.adapt(now);
      this.expireRequests(now);
      for (const id of this.cache.expire(now, this.params.staleMs, this.connectedIds())) this.known.delete(id);
      if (now >= this.nextReconnectAt) {
        this.nextReconnectAt = now + this.params.reconnectPeriodMs;
        this.rewire();
      }
      this.maintainNeighbors(now);
    }
  }

  // Once a round: the three-state estimator sets how many peers we download from, how
  // often we flood, and how many neighbors we keep (PROTOCOL.md §7).
  private adapt(now: number): void {
    if (this.completed) return;
    // Keep at most ~4k samples (an hour of rounds): beyond that, keep every other one.
    this.estimates.push(this.groupSize(now));
    if (this.estimates.length > 4096) this.estimates.splice(0, this.estimates.length, ...this.estimates.filter((_, i) => i % 2 === 0));
    const wantMore = countAndNot(this.cache.tree.root(), this.taken) > 0;
    this.bandwidth.evaluate(now, {
      wantMore,
      canAddDataConnection: wantMore && this.conns.size + this.dialing.size < this.params.maxConnections,
    });
  }

  private expireRequests(now: number): void {
    for (const conn of this.conns.values()) {
      for (const [index, deadline] of conn.requests) {
        if (deadline > now) continue;
        conn.requests.delete(index);
        this.release(index, conn.id);
        conn.strikes++;
      }
      if (conn.strikes >= this.params.maxStrikes) this.penalize(conn, 'too slow: requests timed out');
    }
  }

  // ---- mesh -----------------------------------------------------------------------

  private neighborCount(): number {
    let n = 0;
    for (const c of this.conns.values()) if (c.neighbor) n++;
    return n;
  }

  private connectedIds(): Set<PeerId> {
    const ids = new Set<PeerId>();
    for (const c of this.conns.values()) if (c.peerId) ids.add(c.peerId);
    return ids;
  }

  private candidates(): PeerAddress[] {
    const busy = this.connectedIds();
    const out = new Map<PeerId, PeerAddress>();
    const add = (p: PeerAddress): void => {
      if (p.id !== this.id && !busy.has(p.id) && !this.dialing.has(p.id) && !this.avoided(p.id)) out.set(p.id, p);
    };
    for (const p of this.known.values()) add(p);
    for (const o of this.cache.values()) add({ id: o.id, host: o.host, port: o.port });
    return [...out.values()];
  }

  private dial(p: PeerAddress, neighbor: boolean): void {
    this.dialing.set(p.id, { neighbor });
    this.out.push({ type: 'connect', peerId: p.id, host: p.host, port: p.port });
  }

  // Keep η outbound mesh links; ask the topology server again when we know no one to dial.
  private maintainNeighbors(now: number): void {
    if (this.completed) return;
    let outboundNeighbors = 0;
    for (const c of this.conns.values()) if (c.neighbor && c.outbound) outboundNeighbors++;
    for (const d of this.dialing.values()) if (d.neighbor) outboundNeighbors++;
    let missing = this.bandwidth.neighbors - outboundNeighbors;
    if (missing < 0) {
      // Throttle-back lowered the target: let one idle outbound neighbor go this round.
      const idle = [...this.conns.values()].find((c) => c.neighbor && c.outbound && c.requests.size === 0);
      if (idle) this.dropConn(idle.id, 'fewer neighbors', false);
      return;
    }
    if (missing === 0) return;
    const candidates = shuffle(this.rng, this.candidates());
    while (missing > 0 && candidates.length > 0 && this.conns.size + this.dialing.size < this.params.maxConnections) {
      this.dial(candidates.pop() as PeerAddress, true);
      missing--;
    }
    if (missing > 0 && now - this.lastNeedPeers >= this.params.needPeersEveryMs) {
      this.lastNeedPeers = now;
      this.out.push({ type: 'needPeers' });
    }
  }

  // Every reconnect period, drop one idle outbound neighbor so the mesh keeps mixing.
  private rewire(): void {
    const idle = [...this.conns.values()].filter((c) => c.neighbor && c.outbound && c.requests.size === 0);
    const victim = pick(this.rng, idle);
    if (victim && this.candidates().length > 0) this.dropConn(victim.id, 'reconnect', false);
  }

  private onOpened(id: ConnId, outbound: boolean, peerId?: PeerId): void {
    const dial = peerId !== undefined ? this.dialing.get(peerId) : undefined;
    if (peerId !== undefined) this.dialing.delete(peerId);
    if (this.conns.size >= this.params.maxConnections) {
      this.out.push({ type: 'send', conn: id, msg: { type: 'BYE', reason: 'too many connections' } });
      this.out.push({ type: 'close', conn: id, reason: 'too many connections' });
      return;
    }
    const conn: Conn = {
      id,
      outbound,
      peerId: outbound ? (peerId ?? null) : null,
      hello: null,
      wantNeighbor: outbound && (dial?.neighbor ?? false),
      neighbor: false,
      requests: new Map(),
      serving: 0,
      strikes: 0,
      busyUntil: 0,
      ownSeqSent: -1,
      sent: new Map(),
      entryTokens: 2 * this.params.updateEntryRate,
      tokensAt: this.clock,
    };
    this.conns.set(id, conn);
    // The dialler speaks first; the acceptor answers once it knows what is asked.
    if (outbound) this.sendHello(conn, conn.wantNeighbor);
  }

  private sendHello(conn: Conn, neighbor: boolean): void {
    this.out.push({
      type: 'send',
      conn: conn.id,
      msg: {
        type: 'HELLO',
        version: PROTOCOL_VERSION,
        swarmId: this.cfg.swarmId,
        peerId: this.id,
        host: this.cfg.host,
        port: this.cfg.port,
        size: this.cfg.size,
        blockSize: this.params.blockSize,
        flags: neighbor ? HELLO_NEIGHBOR : 0,
      },
    });
  }

  private onHello(conn: Conn, hello: Hello): void {
    const mismatch =
      hello.version !== PROTOCOL_VERSION
        ? `version ${hello.version}`
        : hello.swarmId !== this.cfg.swarmId
          ? 'another swarm'
          : hello.size !== this.cfg.size || hello.blockSize !== this.params.blockSize
            ? 'another file layout'
            : hello.peerId === this.id
              ? 'connected to self'
              : this.avoided(hello.peerId)
                ? 'banned'
                : !isDialable(hello)
                  ? `address ${hello.host}:${hello.port} cannot be dialled`
                  : null;
    if (mismatch) {
      this.dropConn(conn.id, `HELLO refused: ${mismatch}`, false);
      return;
    }
    // One connection per pair: when both dialled at once, keep the one opened by the smaller id.
    for (const other of this.conns.values()) {
      if (other === conn || other.peerId !== hello.peerId || !other.hello) continue;
      const openerOf = (c: Conn): PeerId => (c.outbound ? this.id : hello.peerId);
      const loser = openerOf(conn) < openerOf(other) ? other : conn;
      this.dropConn(loser.id, 'duplicate connection', false);
      if (loser === conn) return;
    }
    conn.hello = hello;
    conn.peerId = hello.peerId;
    this.known.set(hello.peerId, { id: hello.peerId, host: hello.host, port: hello.port });
    this.seen.add(hello.peerId);
    const asked = (hello.flags & HELLO_NEIGHBOR) !== 0;
    if (conn.outbound) {
      conn.neighbor = conn.wantNeighbor && asked;
    } else {
      conn.neighbor = asked && this.neighborCount() < this.params.maxNeighbors && !this.completed;
      this.sendHello(conn, conn.neighbor);
    }
    this.sendUpdate(conn, this.ownEntryNow(), []);
  }

  // ---- updates --------------------------------------------------------------------

  // Our bitfield as others see it: what we have plus what is streaming to us from the
  // source, so that no one else fetches those from the source and requests can queue.
  private ownEntryNow(): UpdateEntry {
    if (!this.ownEntry || this.ownEntry.seq !== this.seq) {
      const bits = this.have.buffer.slice();
      for (const i of this.coming) bits[i >> 3] = (bits[i >> 3] ?? 0) | (0x80 >> (i & 7));
      this.ownEntry = {
        originId: this.id,
        host: this.cfg.host,
        port: this.cfg.port,
        seq: this.seq,
        hops: 0,
        degree: this.neighborCount(),
        bits,
      };
    }
    return this.ownEntry;
  }

  // Flood: our own entry when it changed (or as a heartbeat), and to mesh neighbors every
  // cached origin whose state they have not had from us yet (PROTOCOL.md §5).
  private flood(now: number): void {
    if (this.dirty || now - this.lastAnnounce >= this.params.heartbeatMs) {
      this.seq = (this.seq + 1) >>> 0;
      this.dirty = false;
      this.lastAnnounce = now;
    }
    const own = this.ownEntryNow();
    for (const conn of this.conns.values()) {
      if (!conn.hello) continue;
      const forwarded: UpdateEntry[] = [];
      if (conn.neighbor) {
        for (const o of this.cache.values()) {
          if (o.id === conn.peerId || o.learnedFrom === conn.id || o.distance >= this.params.maxHops) continue;
          if (conn.sent.get(o.id) === o.version) continue;
          conn.sent.set(o.id, o.version);
          forwarded.push({ originId: o.id, host: o.host, port: o.port, seq: o.seq, hops: o.distance, degree: o.degree, bits: o.bits });
        }
        if (conn.sent.size > 4 * this.params.U) {
          for (const id of conn.sent.keys()) if (!this.cache.get(id)) conn.sent.delete(id);
        }
      }
      this.sendUpdate(conn, conn.ownSeqSent === own.seq ? null : own, forwarded);
    }
  }

  private sendUpdate(conn: Conn, own: UpdateEntry | null, forwarded: UpdateEntry[]): void {
    const entries = own ? [own, ...forwarded] : forwarded;
    if (entries.length === 0) return;
    if (own) conn.ownSeqSent = own.seq;
    this.out.push({ type: 'send', conn: conn.id, msg: { type: 'UPDATE', entries } });
  }

  private onUpdate(now: number, conn: Conn, entries: UpdateEntry[]): void {
    const rate = this.params.updateEntryRate;
    conn.entryTokens = Math.min(2 * rate, conn.entryTokens + ((now - conn.tokensAt) / 1000) * rate);
    conn.tokensAt = now;
    conn.entryTokens -= entries.length;
    if (conn.entryTokens < 0) return this.dropConn(conn.id, 'flooding updates', true);
    const pinned = this.connectedIds();
    const bytes = bitfieldBytes(this.blocks);
    for (const entry of entries) {
      if (entry.bits.length !== bytes) {
        this.dropConn(conn.id, `protocol error: bitfield of ${entry.bits.length} bytes, expected ${bytes}`, true);
        return;
      }
      if (entry.originId === this.id || this.banned.has(entry.originId) || !isDialable(entry)) continue;
      if (entry.hops >= this.params.maxHops) continue;
      if (this.seen.size < this.params.maxOriginsTracked) this.seen.add(entry.originId);
      const result = this.cache.merge({ ...entry, bits: maskTail(entry.bits, this.blocks) }, conn.id, now, pinned);
      if (result === 'new' || result === 'newer' || result === 'rejected') {
        this.groupEstimator.observe(now, entry.originId, entry.degree, entry.hops + 1);
      }
    }
  }

  // ---- blocks ---------------------------------------------------------------------

  private take(index: number, owner: Owner): void {
    this.pending.set(index, owner);
    this.taken[index >> 3] = (this.taken[index >> 3] ?? 0) | (0x80 >> (index & 7));
  }

  /** Gives a block back to the pool if `owner` still holds it. */
  private release(index: number, owner: Owner): void {
    if (this.pending.get(index) !== owner) return;
    this.pending.delete(index);
    if (owner === 'source') this.uncome(index);
    if (!this.have.get(index)) this.taken[index >> 3] = (this.taken[index >> 3] ?? 0) & ~(0x80 >> (index & 7));
  }

  private storeBlock(index: number, data: Uint8Array, from: PeerId | 'source'): void {
    this.duplicated.delete(index);
    this.take(index, 'storing');
    this.bandwidth.recordBytes(this.clock, data.length);
    if (from === 'source') this.counters.fromSource += data.length;
    else this.counters.fromPeers += data.length;
    this.out.push({ type: 'store', index, data, from });
  }

  private onStored(index: number): void {
    if (this.pending.get(index) !== 'storing' || this.have.get(index)) return;
    this.pending.delete(index);
    this.have.set(index, true);
    this.haveCount++;
    this.dirty = true;
    this.coming.delete(index);
    for (const id of this.waiting.get(index) ?? []) {
      if (this.conns.has(id)) this.out.push({ type: 'serve', conn: id, index });
    }
    this.waiting.delete(index);
    if (this.haveCount === this.blocks && !this.completed) {
      this.completed = true;
      this.out.push({ type: 'complete' });
    }
  }

  private onSourceBlock(index: number, data: Uint8Array): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.blocks) return;
    if (data.length !== this.blockLength(index) || !this.source.accept(index, data.length)) return;
    if (this.pending.get(index) === 'source') this.storeBlock(index, data, 'source');
  }

  private onBlock(conn: Conn, index: number, data: Uint8Array): void {
    if (index >= this.blocks) return this.dropConn(conn.id, `protocol error: block ${index} out of range`, true);
    if (data.length !== this.blockLength(index)) {
      return this.ban(conn.peerId as PeerId, `sent block ${index} with ${data.length} bytes, expected ${this.blockLength(index)}`);
    }
    if (conn.requests.size > 0 && conn.requests.delete(index)) conn.strikes = 0; // it delivers
    if (this.have.get(index)) return;
    const owner = this.pending.get(index);
    if (owner === 'storing' || owner === 'source') return;
    // Asked of another peer too (endgame), or a late answer after a timeout: first one wins.
    if (typeof owner === 'number' && owner !== conn.id) this.conns.get(owner)?.requests.delete(index);
    this.pending.delete(index);
    this.storeBlock(index, data, conn.peerId as PeerId);
  }

  private onRequest(conn: Conn, index: number): void {
    if (index >= this.blocks) return this.dropConn(conn.id, `protocol error: request for block ${index} out of range`, true);
    const isComing = this.coming.has(index);
    if (!this.have.get(index) && !isComing) {
      this.out.push({ type: 'send', conn: conn.id, msg: { type: 'REJECT', index, reason: 'missing' } });
    } else if (conn.serving >= this.params.maxServePerConn) {
      this.out.push({ type: 'send', conn: conn.id, msg: { type: 'REJECT', index, reason: 'busy' } });
    } else if (isComing && !this.have.get(index)) {
      conn.serving++;
      this.waiting.set(index, [...(this.waiting.get(index) ?? []), conn.id]);
    } else {
      conn.serving++;
      this.out.push({ type: 'serve', conn: conn.id, index });
    }
  }

  private onReject(now: number, conn: Conn, index: number, reason: 'missing' | 'busy'): void {
    if (!conn.requests.delete(index)) return;
    this.release(index, conn.id);
    if (reason === 'busy') {
      conn.busyUntil = now + this.params.roundMs;
      return;
    }
    // It advertised a block it does not have: believe the REJECT, count it against it.
    if (conn.peerId) this.cache.clearBit(conn.peerId, index);
    if (++conn.strikes >= this.params.maxStrikes) this.penalize(conn, 'advertises blocks it does not have');
  }

  // Keep up to `pipeline` requests on each of up to `dataConnections` peers that have what we miss.
  private fill(now: number): void {
    if (this.completed || this.haveCount === this.blocks) return;
    const target = this.bandwidth.dataConnections;
    // Peers we are already downloading from keep their place; idle ones fill the rest, at random.
    const ready = shuffle(this.rng, [...this.conns.values()].filter((c) => c.hello && c.peerId && now >= c.busyUntil));
    ready.sort((a, b) => Number(b.requests.size > 0) - Number(a.requests.size > 0));
    let active = 0;
    for (const conn of ready) {
      if (active >= target) break;
      const bits = this.cache.get(conn.peerId as PeerId)?.bits;
      // A peer whose request timed out is on probation: one request at a time until it delivers.
      const pipeline = conn.strikes > 0 ? 1 : this.params.pipeline;
      while (bits && conn.requests.size < pipeline) {
        const index = pickBlock(this.rng, bits, this.taken);
        if (index < 0) break;
        this.take(index, conn.id);
        conn.requests.set(index, now + this.params.requestTimeoutMs);
        this.out.push({ type: 'send', conn: conn.id, msg: { type: 'REQUEST', index } });
      }
      if (conn.requests.size > 0) active++;
    }
    this.counters.maxDataConnections = Math.max(this.counters.maxDataConnections, active);
    if (active < target) this.dialHolder();
    this.endgame(now, ready);
  }

  // Endgame: nothing is left to ask for, only answers to wait for. A block awaited for
  // `endgameAfterMs` from one peer is asked once more of another idle holder, so a slow or
  // silent peer cannot hold the last blocks hostage; the first copy to arrive is kept.
  private endgame(now: number, ready: Conn[]): void {
    if (countAndNot(this.cache.tree.root(), this.taken) > 0) return;
    const askedBefore = now - this.params.endgameAfterMs + this.params.requestTimeoutMs; // as a deadline
    for (const conn of ready) {
      if (conn.strikes > 0 || conn.requests.size >= this.params.pipeline) continue;
      const bits = this.cache.get(conn.peerId as PeerId)?.bits;
      if (!bits) continue;
      for (const [index, owner] of this.pending) {
        if (typeof owner !== 'number' || owner === conn.id || this.duplicated.has(index) || !hasBit(bits, index)) continue;
        const deadline = this.conns.get(owner)?.requests.get(index);
        if (deadline === undefined || deadline > askedBefore) continue;
        this.duplicated.add(index);
        conn.requests.set(index, now + this.params.requestTimeoutMs);
        this.out.push({ type: 'send', conn: conn.id, msg: { type: 'REQUEST', index } });
        break;
      }
    }
  }

  // Open a data connection to someone in our view that has a block we still need.
  private dialHolder(): void {
    if (this.dialing.size >= 2 || this.conns.size + this.dialing.size >= this.params.maxConnections) return;
    const root = this.cache.tree.root();
    const index = pickBlock(this.rng, root, this.taken);
    if (index < 0) return;
    const busy = this.connectedIds();
    const holders = this.cache
      .holders(index)
      .filter((id) => !busy.has(id) && !this.dialing.has(id) && !this.avoided(id));
    const id = pick(this.rng, holders);
    const origin = id === undefined ? undefined : this.cache.get(id);
    if (origin) this.dial({ id: origin.id, host: origin.host, port: origin.port }, false);
  }

  private maybeSource(now: number): void {
    if (this.completed || now < this.sourceOpensAt) return;
    if (this.haveCount + this.pendingCount('storing') >= this.blocks) return;
    const tree = this.cache.tree;
    // Last-block rule: when for two rounds no one in our view has anything we still need
    // (the holders left), only the peers still downloading compete with us for the source:
    // draw against them, not against an n that counts peers who are done.
    const starved = countAndNot(tree.root(), this.taken) === 0;
    if (!starved) this.starvedSince = Infinity;
    else if (this.starvedSince === Infinity) this.starvedSince = now;
    const starving = now - this.starvedSince >= 2 * this.params.roundMs;
    const run = this.source.maybeStart(now, {
      n: starving ? 1 + this.incompleteOrigins() : this.groupSize(now),
      blocks: this.blocks,
      wanted: (i) => !hasBit(this.taken, i),
      preferred: (i) => !tree.anyHas(i),
    });
    if (!run) return;
    for (let i = run.first; i < run.first + run.count; i++) {
      this.take(i, 'source');
      this.coming.add(i);
    }
    this.dirty = true;
    this.out.push({ type: 'fetchSource', first: run.first, count: run.count });
  }

  private incompleteOrigins(): number {
    let n = 0;
    for (const o of this.cache.values()) if (countBits(o.bits) < this.blocks) n++;
    return n;
  }

  private pendingCount(owner: Owner): number {
    let n = 0;
    for (const o of this.pending.values()) if (o === owner) n++;
    return n;
  }

  // ---- connections ----------------------------------------------------------------

  private onMessage(now: number, id: ConnId, msg: Message): void {
    const conn = this.conns.get(id);
    if (!conn) return;
    if (!conn.hello) {
      if (msg.type === 'HELLO') this.onHello(conn, msg);
      else if (msg.type === 'BYE') this.dropConn(id, `refused: ${msg.reason}`, false); // e.g. it is full
      else this.dropConn(id, `protocol error: ${msg.type} before HELLO`, true);
      return;
    }
    switch (msg.type) {
      case 'HELLO':
        return this.dropConn(id, 'protocol error: second HELLO', true);
      case 'UPDATE':
        return this.onUpdate(now, conn, msg.entries);
      case 'REQUEST':
        return this.onRequest(conn, msg.index);
      case 'BLOCK':
        return this.onBlock(conn, msg.index, msg.data);
      case 'REJECT':
        return this.onReject(now, conn, msg.index, msg.reason);
      case 'BYE':
        if (conn.peerId) this.forget(conn.peerId);
        return this.dropConn(id, `peer left: ${msg.reason}`, false);
    }
  }

  private onClosed(id: ConnId): void {
    const conn = this.conns.get(id);
    if (!conn) return;
    this.conns.delete(id);
    for (const index of conn.requests.keys()) this.release(index, id);
  }

  /** Closes a connection; a protocol violation also bans the peer. */
  private dropConn(id: ConnId, reason: string, violation: boolean): void {
    const conn = this.conns.get(id);
    if (!conn) return;
    if (violation && conn.peerId) return this.ban(conn.peerId, reason);
    this.out.push({ type: 'close', conn: id, reason });
    this.onClosed(id);
  }

  // A block we advertised as coming will not come: whoever waits for it hears so.
  private uncome(index: number): void {
    if (!this.coming.delete(index)) return;
    this.dirty = true;
    for (const id of this.waiting.get(index) ?? []) {
      const conn = this.conns.get(id);
      if (!conn) continue;
      conn.serving = Math.max(0, conn.serving - 1);
      this.out.push({ type: 'send', conn: id, msg: { type: 'REJECT', index, reason: 'busy' } });
    }
    this.waiting.delete(index);
  }

  /** Banned for good (it lied or broke the protocol), or sitting out a penalty (too slow). */
  private avoided(peerId: PeerId): boolean {
    if (this.banned.has(peerId)) return true;
    const until = this.penalties.get(peerId);
    if (until === undefined) return false;
    if (until > this.clock) return true;
    this.penalties.delete(peerId);
    return false;
  }

  // Drops a peer that wastes our requests and keeps it out for a while (it may just be busy).
  private penalize(conn: Conn, reason: string): void {
    if (conn.peerId) {
      this.penalties.set(conn.peerId, this.clock + this.params.penaltyMs);
      this.out.push({ type: 'log', level: 'info', msg: `avoiding peer ${conn.peerId.slice(0, 8)} for ${this.params.penaltyMs / 1000} s: ${reason}` });
    }
    this.dropConn(conn.id, reason, false);
  }

  private forget(peerId: PeerId): void {
    this.groupEstimator.forget(peerId);
    this.cache.remove(peerId);
    this.known.delete(peerId);
  }

  private ban(peerId: PeerId, reason: string): void {
    if (!peerId || peerId === this.id) return;
    this.banned.add(peerId);
    this.forget(peerId);
    this.out.push({ type: 'log', level: 'warn', msg: `banned peer ${peerId.slice(0, 8)}: ${reason}` });
    for (const conn of [...this.conns.values()]) {
      if (conn.peerId === peerId) {
        this.out.push({ type: 'close', conn: conn.id, reason: `banned: ${reason}` });
        this.onClosed(conn.id);
      }
    }
  }

  private leave(reason: string): void {
    this.leaving = true;
    for (const conn of this.conns.values()) {
      if (conn.hello) this.out.push({ type: 'send', conn: conn.id, msg: { type: 'BYE', reason } });
      this.out.push({ type: 'close', conn: conn.id, reason });
    }
    this.conns.clear();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

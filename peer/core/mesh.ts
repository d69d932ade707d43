// The mesh (PROTOCOL.md §5): whom we know, whom we dial, the handshake, and the η
// outbound neighbor links we keep, mixing them by rewiring. Connections live here;
// what flows over them (updates, requests, blocks) is flood.ts, scheduler.ts and serving.ts.
//
// One connection per pair: when both sides dial at once, the connection opened by the
// smaller id survives. At most `maxConnections` connections in and out; a connection
// over the cap is told BYE and closed. Inbound neighbor links beyond `maxNeighbors` are
// accepted as data-only links.
import { pick, shuffle, type Rng } from '../../estimation/random.ts';
import { isDialable } from './address.ts';
import { isNeighbor, isOpen, moveConn, newConn, type Conn } from './connection.ts';
import type { ConnId, PeerAddress } from './events.ts';
import { HELLO_NEIGHBOR, PROTOCOL_VERSION, type Hello, type PeerId } from './messages.ts';
import type { Outbox } from './outbox.ts';
import type { PeerParams } from './params.ts';
import type { Reputation } from './reputation.ts';
import { ourProof, proofHolds, type SwarmAuth } from './swarm-auth.ts';
import type { CloseCode, Violation } from './violations.ts';

/** How long a peer that refused us (it was full) is left alone. */
const REFUSED_BACKOFF_MS = 10_000;

export interface Self {
  id: PeerId;
  swarmId: string;
  host: string; // where we accept connections (sent in HELLO and in our update entry)
  port: number;
  size: number;
}

export interface MeshDeps {
  self: Self;
  params: PeerParams;
  rng: Rng;
  out: Outbox;
  reputation: Reputation;
  /** Origins we have heard of through updates: more peers to dial. */
  origins: () => Iterable<PeerAddress>;
  /** A connection went away: whatever it owed us goes back to the pool. */
  onDown: (conn: Conn) => void;
  /** We are now connected (or handshaking) with `id`, and were not a moment ago. */
  onLinked?: (id: PeerId) => void;
  /** A private swarm: connections open only once both sides proved they hold the key. */
  auth?: SwarmAuth;
}

export class Mesh {
  readonly conns = new Map<ConnId, Conn>();
  /** The connections past their handshake, in the order they opened. */
  readonly open: Conn[] = [];
  readonly dialing = new Map<PeerId, { neighbor: boolean }>();
  // Addresses from the topology server and HELLOs. A HELLO (the peer itself) rebinds its id;
  // otherwise the first address heard for an id stays (flood.ts: forwarded intros never move it).
  readonly known = new Map<PeerId, PeerAddress>();
  private readonly linked = new Map<PeerId, number>();
  private lastNeedPeers = -Infinity;

  constructor(private readonly d: MeshDeps) {}

  get(id: ConnId): Conn | undefined {
    return this.conns.get(id);
  }

  neighborCount(): number {
    let n = 0;
    for (const c of this.conns.values()) if (isNeighbor(c)) n++;
    return n;
  }

  /** Peers we are connected to or handshaking with (the cache never evicts these). */
  connectedIds(): Set<PeerId> {
    return new Set(this.linked.keys());
  }

  /** Whether we are connected to (or handshaking with) `id`: no allocation, for hot paths. */
  isConnected(id: PeerId): boolean {
    return this.linked.has(id);
  }

  // Connections by the peer they lead to (a count: two may exist for a moment, dialled both ways).
  private link(id: PeerId | null, by: number): void {
    if (id === null) return;
    const n = (this.linked.get(id) ?? 0) + by;
    if (n > 0) this.linked.set(id, n);
    else this.linked.delete(id);
    if (n === 1 && by > 0) this.d.onLinked?.(id);
  }

  /** Room for one more connection, dials included. */
  hasRoom(): boolean {
    return this.conns.size + this.dialing.size < this.d.params.maxConnections;
  }

  /** An answer from the topology server: it binds an address to an id only if none is bound yet. */
  learn(peers: PeerAddress[], now: number): void {
    for (const p of peers) {
      if (p.id !== this.d.self.id && !this.known.has(p.id) && !this.d.reputation.avoided(p.id, now) && isDialable(p)) this.known.set(p.id, p);
    }
  }

  forget(id: PeerId): void {
    this.known.delete(id);
  }

  dial(p: PeerAddress, neighbor: boolean): void {
    this.dialing.set(p.id, { neighbor });
    this.d.out.push({ type: 'connect', peerId: p.id, host: p.host, port: p.port });
  }

  onConnectFailed(peerId: PeerId): void {
    this.dialing.delete(peerId);
  }

  /** Keep η outbound mesh links; ask the topology server again when we know no one to dial. */
  maintain(now: number, target: number): void {
    let outboundNeighbors = 0;
    for (const c of this.conns.values()) if (isNeighbor(c) && c.outbound) outboundNeighbors++;
    for (const dial of this.dialing.values()) if (dial.neighbor) outboundNeighbors++;
    let missing = target - outboundNeighbors;
    if (missing < 0) {
      // Throttle-back lowered the target: let one idle outbound neighbor go this round.
      const idle = [...this.conns.values()].find((c) => isNeighbor(c) && c.outbound && c.requests.size === 0);
      if (idle) this.close(idle.id, 'FEWER_NEIGHBORS', 'fewer neighbors');
      return;
    }
    if (missing === 0) return;
    const candidates = shuffle(this.d.rng, this.candidates(now));
    while (missing > 0 && candidates.length > 0 && this.hasRoom()) {
      this.dial(candidates.pop() as PeerAddress, true);
      missing--;
    }
    if (missing > 0) this.requestPeers(now, this.d.params.needPeersEveryMs);
  }

  /** Asks the topology server again (fresh peers, a fresh count), at most once per `minGapMs`. */
  requestPeers(now: number, minGapMs: number): void {
    if (now - this.lastNeedPeers < minGapMs) return;
    this.lastNeedPeers = now;
    this.d.out.push({ type: 'needPeers' });
  }

  /** Closes data-only links that carried nothing for `idleMs`: each costs updates and a slot. */
  closeIdle(now: number, idleMs: number): void {
    for (const conn of [...this.open]) {
      if (isNeighbor(conn) || conn.requests.size > 0 || conn.serving.length > 0 || now - conn.lastUsedAt < idleMs) continue;
      this.close(conn.id, 'IDLE', 'idle data link');
    }
  }

  /** Every reconnect period, drop one idle outbound neighbor so the mesh keeps mixing. */
  rewire(now: number): void {
    const idle = [...this.conns.values()].filter((c) => isNeighbor(c) && c.outbound && c.requests.size === 0);
    const victim = pick(this.d.rng, idle);
    if (!victim || this.candidates(now).length === 0) return;
    // Not straight back to the same peer: the point is a new random link.
    if (victim.peerId) this.d.reputation.penalize(victim.peerId, now, this.d.params.reconnectPeriodMs);
    this.close(victim.id, 'REWIRE', 'reconnect');
  }

  onOpened(now: number, id: ConnId, outbound: boolean, peerId?: PeerId): void {
    const dial = peerId !== undefined ? this.dialing.get(peerId) : undefined;
    if (peerId !== undefined) this.dialing.delete(peerId);
    if (this.conns.size >= this.d.params.maxConnections) {
      this.d.out.send(id, { type: 'BYE', reason: 'too many connections' });
      this.d.out.close(id, 'TOO_MANY_CONNECTIONS', 'too many connections');
      return;
    }
    const wantNeighbor = outbound && (dial?.neighbor ?? false);
    const blocks = Math.ceil(this.d.self.size / this.d.params.blockSize);
    const conn = newConn(id, outbound, outbound ? (peerId ?? null) : null, wantNeighbor, now, { blocks, entryTokens: 2 * this.d.params.updateEntryRate });
    this.conns.set(id, conn);
    this.link(conn.peerId, 1);
    // The dialler speaks first; the acceptor answers once it knows what is asked.
    if (outbound) this.sendHello(conn, wantNeighbor);
  }

  /**
   * Their HELLO. Returns 'open' when the connection is now open (the caller sends our own
   * entry), 'proving' when a private swarm's proofs come first, null when it was refused or
   * lost the duplicate tie-break (and is closed).
   */
  handshake(now: number, conn: Conn, hello: Hello, completed: boolean): 'open' | 'proving' | null {
    const refusal = this.refusal(now, hello);
    if (refusal) {
      this.close(conn.id, refusal.code, `HELLO refused: ${refusal.why}`);
      return null;
    }
    // One connection per pair: when both dialled at once, keep the one opened by the smaller id.
    for (const other of this.conns.values()) {
      if (other === conn || other.peerId !== hello.peerId || !isOpen(other)) continue;
      const openerOf = (c: Conn): PeerId => (c.outbound ? this.d.self.id : hello.peerId);
      const loser = openerOf(conn) < openerOf(other) ? other : conn;
      this.close(loser.id, 'DUPLICATE', 'duplicate connection');
      if (loser === conn) return null;
    }
    conn.hello = hello;
    if (conn.peerId !== hello.peerId) {
      this.link(conn.peerId, -1);
      this.link(hello.peerId, 1);
    }
    conn.peerId = hello.peerId;
    this.known.set(hello.peerId, { id: hello.peerId, host: hello.host, port: hello.port });
    const asked = (hello.flags & HELLO_NEIGHBOR) !== 0;
    let neighbor: boolean;
    if (conn.outbound) {
      neighbor = conn.wantNeighbor && asked;
    } else {
      neighbor = asked && this.neighborCount() < this.d.params.maxNeighbors && !completed;
      this.sendHello(conn, neighbor);
    }
    conn.lastUsedAt = now;
    if (conn.proving) {
      conn.proving.pending = neighbor ? 'neighbor' : 'open';
      moveConn(conn, 'proving');
      return 'proving';
    }
    moveConn(conn, neighbor ? 'neighbor' : 'open');
    this.open.push(conn);
    return 'open';
  }

  /**
   * A private swarm's CHALLENGE or PROOF (swarm-auth.ts). Returns 'open' when the connection
   * has just opened, null while proving goes on, or the violation.
   */
  prove(now: number, conn: Conn, nonce: Uint8Array | null, mac: Uint8Array | null): 'open' | Violation | null {
    const { auth, self } = this.d;
    const p = conn.proving;
    if (!auth || !p || conn.state !== 'proving') return { code: 'UNAUTHENTICATED', detail: 'CHALLENGE or PROOF out of place' };
    if (nonce) {
      if (p.theirs) return { code: 'UNAUTHENTICATED', detail: 'second CHALLENGE' };
      p.theirs = nonce;
      p.sent = true;
      this.d.out.send(conn.id, { type: 'PROOF', mac: ourProof(auth, self.swarmId, conn.outbound, p) });
      return null;
    }
    if (!p.sent || !mac || !proofHolds(auth, self.swarmId, conn.outbound, p, mac)) {
      return { code: 'BAD_PROOF', detail: p.sent ? 'its PROOF does not show the swarm key' : 'PROOF before our CHALLENGE was answered' };
    }
    conn.proving = null;
    moveConn(conn, p.pending);
    conn.lastUsedAt = now;
    this.open.push(conn);
    return 'open';
  }

  /** It refused us (full): leave it alone for a while rather than knock again every round. */
  refused(now: number, id: ConnId, reason: string): void {
    const peerId = this.conns.get(id)?.peerId;
    if (peerId) this.d.reputation.penalize(peerId, now, REFUSED_BACKOFF_MS);
    this.close(id, 'REFUSED', `refused: ${reason}`);
  }

  /** Closes one connection (we initiate). */
  close(id: ConnId, code: CloseCode, reason: string): void {
    if (!this.conns.has(id)) return;
    this.d.out.close(id, code, reason);
    this.onClosed(id, reason);
  }

  /** Closes every connection to `peerId` (a ban). */
  closePeer(peerId: PeerId, code: CloseCode, reason: string): void {
    for (const conn of [...this.conns.values()]) if (conn.peerId === peerId) this.close(conn.id, code, reason);
  }

  /** The connection is gone (either side closed it). */
  onClosed(id: ConnId, reason: string): void {
    const conn = this.conns.get(id);
    if (!conn) return;
    this.d.out.events?.closed(conn, reason);
    this.conns.delete(id);
    this.link(conn.peerId, -1);
    if (isOpen(conn)) this.open.splice(this.open.indexOf(conn), 1);
    moveConn(conn, 'closed');
    this.d.onDown(conn);
  }

  /** BYE to everyone who knows us, then close everything. */
  leave(reason: string): void {
    for (const conn of this.conns.values()) {
      if (isOpen(conn)) this.d.out.send(conn.id, { type: 'BYE', reason });
      this.d.out.close(conn.id, 'LEAVING', reason);
    }
    this.conns.clear();
    this.linked.clear();
    this.open.length = 0;
  }

  private refusal(now: number, hello: Hello): { code: CloseCode; why: string } | null {
    const { self, params } = this.d;
    if (hello.version !== PROTOCOL_VERSION) return { code: 'HELLO_MISMATCH', why: `version ${hello.version}` };
    if (hello.swarmId !== self.swarmId) return { code: 'HELLO_MISMATCH', why: 'another swarm' };
    if (hello.size !== self.size || hello.blockSize !== params.blockSize) return { code: 'HELLO_MISMATCH', why: 'another file layout' };
    if (hello.peerId === self.id) return { code: 'SELF', why: 'connected to self' };
    if (this.d.reputation.avoided(hello.peerId, now)) return { code: 'AVOIDED', why: 'banned' };
    if (!isDialable(hello)) return { code: 'UNDIALLABLE', why: `address ${hello.host}:${hello.port} cannot be dialled` };
    return null;
  }

  private sendHello(conn: Conn, neighbor: boolean): void {
    const { self, params } = this.d;
    this.d.out.send(conn.id, {
      type: 'HELLO',
      version: PROTOCOL_VERSION,
      swarmId: self.swarmId,
      peerId: self.id,
      host: self.host,
      port: self.port,
      size: self.size,
      blockSize: params.blockSize,
      flags: neighbor ? HELLO_NEIGHBOR : 0,
    });
    // A private swarm: our challenge right behind our HELLO (swarm-auth.ts).
    const auth = this.d.auth;
    if (auth) {
      conn.proving = { mine: auth.nonce(), theirs: null, sent: false, pending: 'open' };
      this.d.out.send(conn.id, { type: 'CHALLENGE', nonce: conn.proving.mine });
    }
  }

  // Peers we could dial: known ones and cached origins, minus ourselves, those we are
  // connected to or dialling, and those we avoid.
  private candidates(now: number): PeerAddress[] {
    const busy = this.connectedIds();
    const out = new Map<PeerId, PeerAddress>();
    const add = (p: PeerAddress): void => {
      if (p.id !== this.d.self.id && !busy.has(p.id) && !this.dialing.has(p.id) && !this.d.reputation.avoided(p.id, now)) out.set(p.id, p);
    };
    for (const p of this.known.values()) add(p);
    // A known address (its own HELLO, or the first we were told) wins over a cached origin's.
    for (const o of this.d.origins()) if (!out.has(o.id)) add({ id: o.id, host: o.host, port: o.port });
    return [...out.values()];
  }
}

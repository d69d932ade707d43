// Who we no longer deal with. A ban is for good: the peer broke the protocol or sent bytes
// that failed verification. A penalty is for a while: the peer was too slow or advertised
// blocks it did not have (it may only be overloaded). Strikes count a connection's failures
// since it last delivered; a connection with strikes is on probation (one request at a time).
import type { Conn } from './connection.ts';
import type { ConnId } from './events.ts';
import type { GroupSize } from './group-size.ts';
import type { PeerId } from './messages.ts';
import type { Mesh } from './mesh.ts';
import type { OriginCache } from './origin-cache.ts';
import type { Outbox } from './outbox.ts';
import type { PeerParams } from './params.ts';
import type { CloseCode, Violation, ViolationCode } from './violations.ts';

export interface Strikable {
  strikes: number;
}

export class Reputation {
  private readonly banned = new Set<PeerId>();
  private readonly penalties = new Map<PeerId, number>(); // peer -> until when we avoid it

  constructor(private readonly params: Pick<PeerParams, 'penaltyMs' | 'maxStrikes'>) {}

  get bannedCount(): number {
    return this.banned.size;
  }

  isBanned(id: PeerId): boolean {
    return this.banned.has(id);
  }

  /** Banned for good, or sitting out a penalty at `now`. */
  avoided(id: PeerId, now: number): boolean {
    if (this.banned.has(id)) return true;
    const until = this.penalties.get(id);
    if (until === undefined) return false;
    if (until > now) return true;
    this.penalties.delete(id);
    return false;
  }

  /** Returns false if it was banned already. */
  ban(id: PeerId): boolean {
    if (this.banned.has(id)) return false;
    this.banned.add(id);
    return true;
  }

  penalize(id: PeerId, now: number, ms = this.params.penaltyMs): void {
    this.penalties.set(id, Math.max(this.penalties.get(id) ?? 0, now + ms));
  }

  /** One more failure; true when the connection has failed too often and must go. */
  strike(conn: Strikable): boolean {
    conn.strikes++;
    return this.outOfStrikes(conn);
  }

  outOfStrikes(conn: Strikable): boolean {
    return conn.strikes >= this.params.maxStrikes;
  }

  /** It delivered: probation ends. */
  delivered(conn: Strikable): void {
    conn.strikes = 0;
  }
}

/** What follows from a verdict: connections closed, the peer forgotten, a line in the log. */
export class Discipline {
  constructor(
    private readonly d: { self: PeerId; params: PeerParams; out: Outbox; reputation: Reputation; mesh: Mesh; cache: OriginCache; size: GroupSize },
  ) {}

  /** A protocol violation: ban the peer, or just close if we do not know who it is yet. */
  violation(id: ConnId, v: Violation): void {
    const conn = this.d.mesh.get(id);
    if (!conn) return;
    if (conn.peerId) this.ban(conn.peerId, v.code, v.detail);
    else this.d.mesh.close(id, v.code, v.detail);
  }

  ban(peerId: PeerId, code: ViolationCode, detail: string): void {
    if (!peerId || peerId === this.d.self) return;
    this.d.reputation.ban(peerId);
    this.forget(peerId);
    this.d.out.log('warn', `banned peer ${peerId.slice(0, 8)}: ${code}: ${detail}`);
    this.d.mesh.closePeer(peerId, code, `banned: ${detail}`);
  }

  /** Drops a peer that wastes our requests and keeps it out for a while (it may just be busy). */
  penalize(now: number, conn: Conn, code: CloseCode, reason: string): void {
    if (conn.peerId) {
      this.d.reputation.penalize(conn.peerId, now);
      this.d.out.log('info', `avoiding peer ${conn.peerId.slice(0, 8)} for ${this.d.params.penaltyMs / 1000} s: ${reason}`);
    }
    this.d.mesh.close(conn.id, code, reason);
  }

  /** It left or misbehaved: no more of its news, no more dials to it. */
  forget(peerId: PeerId): void {
    this.d.size.forget(peerId);
    this.d.cache.remove(peerId);
    this.d.mesh.forget(peerId);
  }
}

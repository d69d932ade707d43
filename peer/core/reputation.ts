// Who we no longer deal with. A ban is for good: the peer broke the protocol or sent bytes
// that failed verification. A penalty is for a while: the peer was too slow or advertised
// blocks it did not have (it may only be overloaded). Strikes count a connection's failures
// since it last delivered; a connection with strikes is on probation (one request at a time).
import type { PeerId } from './messages.ts';
import type { PeerParams } from './params.ts';

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

// The protocol's events in words, for `get -v` and `seed -v` (debug log lines): what the
// topology server said, which links opened and closed and why, the source's leases and runs,
// the bandwidth estimator's state and what it set, the group-size estimate. Made only when
// asked for (PeerConfig.events): a swarm's peers do not pay for the formatting otherwise.
// Each part of the core reaches it through the Outbox it already has (`out.events`).
import type { Conn } from './connection.ts';
import type { Outbox } from './outbox.ts';

const short = (id: string | null | undefined): string => (id ?? '?').slice(0, 8);

/** "block 7" or "blocks 7-9": a Range GET's blocks, as the events name them. */
export function blockRun(first: number, count: number): string {
  return count === 1 ? `block ${first}` : `blocks ${first}-${first + count - 1}`;
}

/** What the estimator has set (estimation/bandwidth.ts's BandwidthController). */
export interface BandwidthView {
  readonly state: string;
  readonly dataConnections: number;
  readonly updateIntervalMs: number;
  readonly neighbors: number;
}

export class EventLog {
  private lastBandwidth = '';
  private lastN = 0;

  constructor(private readonly out: Outbox) {}

  topology(named: number, count: number | undefined): void {
    this.log(`topology: ${named === 0 ? 'no one else' : `${named} ${named === 1 ? 'peer' : 'peers'}`} named${count === undefined ? '' : `, ${count} in the swarm`}`);
  }

  linked(conn: Conn): void {
    this.log(`peer ${short(conn.peerId)}: ${conn.state === 'neighbor' ? 'mesh neighbor' : 'data link'} (${conn.outbound ? 'we dialled' : 'it dialled'})`);
  }

  closed(conn: Conn, reason: string): void {
    if (conn.peerId) this.log(`peer ${short(conn.peerId)}: closed (${reason})`);
  }

  /** A Range GET of blocks first..first+count-1; `won`: a lease won by this round's draw, at group size n. */
  sourceRun(first: number, count: number, won: boolean, n: number): void {
    this.log(`source: ${won ? `won a lease (n ≈ ${Math.round(n)}), ` : ''}GET ${blockRun(first, count)}`);
  }

  /**
   * Once a round: the estimator's state and settings (and how much a busy host slows the
   * control traffic), and n for k/n, each when it changed (n: by a tenth or more).
   */
  round(b: BandwidthView, loadStretch: number, n: number): void {
    const line = `bandwidth: ${b.state}: ${b.dataConnections} data ${b.dataConnections === 1 ? 'connection' : 'connections'}, updates every ${Math.round(b.updateIntervalMs)} ms, ${b.neighbors} neighbors` +
      (loadStretch > 1 ? ` (host busy: control traffic ${+loadStretch.toFixed(2)}x slower)` : '');
    if (line !== this.lastBandwidth) this.log((this.lastBandwidth = line));
    if (this.lastN > 0 && Math.abs(n - this.lastN) < this.lastN / 10) return;
    this.lastN = n;
    this.log(`group size: n ≈ ${Math.round(n)}`);
  }

  complete(fromPeers: number, fromSource: number): void {
    const peers = fromPeers + fromSource > 0 ? Math.round((100 * fromPeers) / (fromPeers + fromSource)) : 0;
    this.log(`every block stored: ${peers}% from peers, ${fromSource > 0 ? 100 - peers : 0}% from the source`);
  }

  private log(msg: string): void {
    this.out.log('debug', msg);
  }
}

// A readable log of what chosen peers' cores were told and what they did, for debugging
// one seed: `t=… peer 3 <- message conn 2 BLOCK #17` then `-> send conn 4 REQUEST #18`.
// Peers are named p<index> rather than by id so a line can be read against the result.
import type { PeerAction, PeerEvent } from '../../peer/core/events.ts';
import type { PeerId } from '../../peer/core/messages.ts';
import type { PeerCore } from '../../peer/core/peer.ts';
import { fmt } from './metrics.ts';
import type { SimOptions } from './simulate.ts';
import type { SimPeer } from './world.ts';

export class Tracer {
  private readonly traced: Set<number>;
  private readonly byId = new Map<PeerId, number>();

  constructor(
    private readonly options: SimOptions['trace'],
    peers: readonly SimPeer[],
  ) {
    this.traced = new Set(options?.peers ?? []);
    if (this.traced.size > 0) for (const p of peers) if (!this.byId.has(p.id)) this.byId.set(p.id, p.index);
  }

  /** Whether any peer is traced at all (the common answer is no: one test per step). */
  get active(): boolean {
    return this.traced.size > 0;
  }

  wants(p: SimPeer): boolean {
    return this.traced.has(p.index);
  }

  log(now: number, p: SimPeer, ev: PeerEvent, actions: PeerAction[]): void {
    const show = (x: PeerEvent | PeerAction): string => {
      if (x.type === 'message' || x.type === 'send') {
        const m = x.msg;
        const detail = m.type === 'UPDATE' ? `${m.entries.length} entries` : m.type === 'BLOCK' || m.type === 'REQUEST' || m.type === 'REJECT' ? `#${m.index}` : m.type === 'BYE' ? m.reason : '';
        return `${x.type} conn ${x.conn} ${m.type} ${detail}`;
      }
      if (x.type === 'peers') return `peers [${x.peers.map((a) => this.name(a.id)).join(' ')}]`;
      if (x.type === 'connect') return `connect ${this.name(x.peerId)}`;
      if (x.type === 'connectFailed') return `connectFailed ${this.name(x.peerId)}`;
      if (x.type === 'opened') return `opened conn ${x.conn} ${x.outbound ? `out to ${this.name(x.peerId ?? '')}` : 'in'}`;
      if (x.type === 'sourceBlock' || x.type === 'store') return `${x.type} #${x.index}`;
      const { type, ...rest } = x as { type: string } & Record<string, unknown>;
      return `${type} ${JSON.stringify(rest)}`;
    };
    const stats = ev.type === 'tick' && this.options?.stats ? `  ${JSON.stringify((p.core as PeerCore).stats(now))}` : '';
    this.options?.log(`t=${fmt(now)} peer ${p.index} <- ${show(ev)}${stats}${actions.length ? `\n    -> ${actions.map(show).join('\n    -> ')}` : ''}`);
  }

  private name(id: PeerId): string {
    const index = this.byId.get(id);
    return index === undefined ? id.slice(0, 8) : `p${index}`;
  }
}

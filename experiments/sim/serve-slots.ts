// The node's serve queue (peer/node/serve-queue.ts) as the fair uplink models it (network.ts):
// per peer, at most MAX_IN_FLIGHT BLOCKs on the wire and PER_CONN per connection, the next
// taken in request order from a connection with a free slot; a slot is held until the block's
// last byte has left (the node: until ws has handed it to the socket); serves queued for a
// connection that closes are dropped.
import { MAX_IN_FLIGHT, PER_CONN } from '../../peer/node/serve-queue.ts';
import type { End } from './network.ts';
import type { SimPeer } from './sim-peer.ts';

interface Waiting {
  end: End;
  index: number;
  data: Uint8Array;
}

/** A peer's serves not yet on the wire (request order), and how many are. */
interface Serves {
  waiting: Waiting[];
  inFlight: number;
}

export class ServeSlots {
  private readonly byPeer = new Map<SimPeer, Serves>(); // made on a peer's first serve

  /** `send`: puts the BLOCK on its connection, now that it has a slot. */
  constructor(private readonly send: (end: End, index: number, data: Uint8Array) => void) {}

  /** A serve asked for: it goes on the wire when a slot is free. */
  push(end: End, index: number, data: Uint8Array): void {
    const q = this.of(end.peer);
    q.waiting.push({ end, index, data });
    this.next(q);
  }

  /** A BLOCK of this end's has left: its slot is free. */
  left(end: End): void {
    const q = this.of(end.peer);
    q.inFlight--;
    end.serving--;
    this.next(q);
  }

  /** The connection closed: serves queued for it are dropped unsent (serve-queue.ts forget). */
  forget(end: End): void {
    const q = this.byPeer.get(end.peer);
    if (q !== undefined && q.waiting.length > 0) q.waiting = q.waiting.filter((w) => w.end !== end);
  }

  private of(p: SimPeer): Serves {
    let q = this.byPeer.get(p);
    if (q === undefined) this.byPeer.set(p, (q = { waiting: [], inFlight: 0 }));
    return q;
  }

  // The next serves in request order whose connection has a free slot, while slots are free.
  private next(q: Serves): void {
    while (q.inFlight < MAX_IN_FLIGHT) {
      const at = q.waiting.findIndex((w) => w.end.serving < PER_CONN);
      if (at < 0) return;
      const [w] = q.waiting.splice(at, 1) as [Waiting];
      q.inFlight++;
      w.end.serving++;
      this.send(w.end, w.index, w.data);
    }
  }
}

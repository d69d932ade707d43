// The simulated network between peers: connection ends, links, latency, message sizes.
//
// - A hop between two peers takes the mean of their one-way latencies (scenario.ts: every
//   hop the same L unless the scenario gives each peer a link of its own).
// - A peer's uplink is a FIFO at its up rate (`peerUp` unless `peerLinks`): its outgoing messages leave one after
//   another. Its downlink is a FIFO at its down rate that books each message when
//   its first byte gets there (upload start + L). A message arrives at max(end of upload
//   + L, end of download) (cut-through): the slower of the two links sets the pace.
//   Messages on one connection arrive in order. A message under SMALL_BYTES (control traffic:
//   updates, requests) does not book the receiver's downlink: it would hold it for a few
//   microseconds, and skipping the booking halves the events a control message costs (one
//   instead of two), which the simulator's scale needs; it still waits for the messages
//   sent before it on its connection: sent while a larger one's first byte is still on its
//   way (its arrival not yet known), it rides behind that one and is booked when it is.
//   (Without this, an UPDATE could overtake a larger UPDATE sent before it, and its receiver
//   ban an honest sender for a ref the overtaken one introduced: seen at 48 x 512 MiB.)
// - Message sizes: peer/wire's exact frame lengths (codec.encodedLength) plus 2 bytes of
//   WebSocket framing.
// - Connecting takes one round trip: the acceptor sees `opened` after L, the dialler
//   after 2L; a dial to a peer that left (or never was) gets `connectFailed` after 2L.
// - A close reaches the other side after the data already sent on that connection: the
//   `fin` leaves when the closer's uplink has sent everything before it, and is then held
//   until the last message sent from that end has arrived.
// - A message that reaches a closed end is dropped (counted, never delivered).
import { simDigest } from './block-digest.ts';
import type { ConnId, PeerEvent } from '../../peer/core/events.ts';
import { encodedLength } from '../../peer/wire/codec.ts';
import type { Message, PeerId } from '../../peer/core/messages.ts';
import type { Metrics } from './metrics.ts';
import type { Agenda, SimPeer } from './world.ts';

export type EndState = 'pending' | 'open' | 'closed';

/** One-way latency between two peers (ms): each access link adds half its host's latency. */
function hop(a: SimPeer, b: SimPeer): number {
  return a.link.halfL + b.link.halfL;
}

/** Messages below this many bytes skip the receiver's downlink queue (see the header). */
const SMALL_BYTES = 1024;

/** One side of a connection, as its peer's driver holds it. */
export interface End {
  peer: SimPeer;
  conn: ConnId;
  outbound: boolean;
  dialled: PeerId; // outbound: the id we were asked to dial
  state: EndState;
  other: End | null;
  lastSent: number; // when the last byte sent from this end left its uplink
  lastArrival: number; // latest arrival time of a message sent from this end
  unbooked: Transit | null; // the last large message sent from this end whose first byte is still on its way
  behindTail: Transit | null; // the last small message riding behind it
  asked: Map<number, number> | null; // block -> when this end sent REQUEST for it
}

/**
 * A message in flight, booked twice as the same object (one allocation per message):
 * `wire` when its first byte reaches the receiver (`end` is the sender's end), then `msg`
 * when all of it has (`end` is the receiver's).
 */
export interface Transit {
  k: 'wire' | 'msg';
  end: End;
  msg: Message;
  bytes: number;
  sentAt: number; // when its last byte left the sender
  behind: Transit | null; // the first small message sent after this one while it was unbooked; each links the next
}

/** A close in flight, likewise: `fin` from the closer's end, then `closed` at the other end. */
export interface Hangup {
  k: 'fin' | 'closed';
  end: End;
  reason: string;
}

/** What the network tells the world: an event for one peer's core. */
export interface PeerStepper {
  step(p: SimPeer, ev: PeerEvent): void;
}

/**
 * Bytes a message takes on the wire: the codec's exact frame length, plus the 2 bytes of a
 * WebSocket frame header (a server-to-client frame under 126 bytes; larger frames take 4 or
 * 10, which this model leaves out).
 */
export function messageBytes(msg: Message): number {
  return encodedLength(msg) + 2;
}

export class Network {
  // host -> the peer that accepts there. Every simulated peer has a host of its own, and the
  // host strings handed to the cores are these very strings: a lookup hashes nothing new.
  private readonly byHost = new Map<string, SimPeer>();

  constructor(
    private readonly agenda: Agenda,
    private readonly world: PeerStepper,
    private readonly metrics: Metrics,
  ) {}

  /** The peer accepts connections from now on. */
  listen(p: SimPeer): void {
    this.byHost.set(p.host, p);
  }

  /** The peer is gone: dials to it fail, and whatever it had not closed itself closes now. */
  unlisten(p: SimPeer): void {
    this.byHost.delete(p.host);
    for (const end of [...p.ends.values()]) this.localClose(p, end.conn, 'peer left');
  }

  connect(p: SimPeer, peerId: PeerId, host: string, port: number): void {
    const now = this.agenda.now;
    const target = this.byHost.get(host);
    if (!target || target.port !== port || target.gone) {
      // Refused by the host there, or no answer: a round trip to a host like us.
      this.agenda.push(now + 4 * p.link.halfL, { k: 'connectFailed', p, peerId });
      return;
    }
    const L = hop(p, target);
    const mine: End = { peer: p, conn: p.nextConn++, outbound: true, dialled: peerId, state: 'pending', other: null, lastSent: 0, lastArrival: 0, unbooked: null, behindTail: null, asked: null };
    const theirs: End = { peer: target, conn: target.nextConn++, outbound: false, dialled: '', state: 'pending', other: mine, lastSent: 0, lastArrival: 0, unbooked: null, behindTail: null, asked: null };
    mine.other = theirs;
    p.ends.set(mine.conn, mine);
    target.ends.set(theirs.conn, theirs);
    this.agenda.push(now + L, { k: 'opened', end: theirs });
    this.agenda.push(now + 2 * L, { k: 'opened', end: mine });
  }

  /** The end of `conn` if it is open, else null. */
  openEnd(p: SimPeer, conn: ConnId): End | null {
    const end = p.ends.get(conn);
    return end && end.state === 'open' ? end : null;
  }

  opened(end: End): void {
    if (end.state !== 'pending' || end.peer.gone) return;
    end.state = 'open';
    this.world.step(
      end.peer,
      end.outbound ? { type: 'opened', conn: end.conn, outbound: true, peerId: end.dialled } : { type: 'opened', conn: end.conn, outbound: false },
    );
  }

  /** Puts a message on the wire; returns when its last byte left the sender. */
  send(end: End, msg: Message): number {
    const p = end.peer;
    const now = this.agenda.now;
    const bytes = messageBytes(msg);
    this.metrics.countMessage(msg.type, bytes);
    const upStart = Math.max(now, p.upFreeAt);
    const upEnd = upStart + bytes * p.link.upMsPerByte;
    p.upBusyMs += upEnd - upStart;
    if (msg.type === 'REQUEST') (end.asked ??= new Map()).set(msg.index, now);
    p.upFreeAt = upEnd;
    end.lastSent = upEnd;
    if (bytes < SMALL_BYTES) {
      // Control traffic: straight to its arrival (see the header), after the connection's last.
      const to = end.other as End;
      const ahead = end.unbooked;
      if (ahead) {
        const m: Transit = { k: 'msg', end: to, msg, bytes, sentAt: upEnd, behind: null };
        if (end.behindTail) end.behindTail.behind = m;
        else ahead.behind = m;
        end.behindTail = m;
        return upEnd;
      }
      const arrive = Math.max(upEnd + hop(p, to.peer), end.lastArrival);
      end.lastArrival = arrive;
      this.agenda.push(arrive, { k: 'msg', end: to, msg, bytes, sentAt: upEnd, behind: null });
      return upEnd;
    }
    const transit: Transit = { k: 'wire', end, msg, bytes, sentAt: upEnd, behind: null };
    end.unbooked = transit;
    end.behindTail = null;
    this.agenda.push(upStart + hop(p, (end.other as End).peer), transit);
    return upEnd;
  }

  /** Sends a BLOCK and tells the server's core when its last byte has left. */
  serve(end: End, index: number, data: Uint8Array): void {
    const sentAt = this.send(end, { type: 'BLOCK', index, digest: simDigest(index), data });
    this.agenda.push(sentAt, { k: 'served', end, index, bytes: data.length });
  }

  // The first byte reaches the receiver: its downlink books messages in the order their
  // first bytes reach it.
  wire(t: Transit): void {
    const from = t.end;
    const to = from.other as End;
    if (from.unbooked === t) {
      from.unbooked = null;
      from.behindTail = null;
    }
    if (to.peer.gone) return;
    const now = this.agenda.now;
    const downStart = Math.max(now, to.peer.downFreeAt);
    const downEnd = downStart + t.bytes * to.peer.link.downMsPerByte;
    to.peer.downFreeAt = downEnd;
    const arrive = Math.max(t.sentAt + hop(from.peer, to.peer), downEnd, from.lastArrival);
    from.lastArrival = arrive;
    t.k = 'msg';
    t.end = to;
    this.agenda.push(arrive, t);
    let m = t.behind;
    if (m === null) return;
    t.behind = null;
    const L = hop(from.peer, to.peer);
    while (m !== null) {
      const next: Transit | null = m.behind;
      m.behind = null;
      const at = Math.max(m.sentAt + L, from.lastArrival);
      from.lastArrival = at;
      this.agenda.push(at, m);
      m = next;
    }
  }

  /** The whole message is there. */
  arrived(t: Transit): void {
    const { end, msg } = t;
    if (end.state !== 'open' || end.peer.gone) {
      this.metrics.dropped++;
      return;
    }
    if (msg.type === 'BLOCK' || msg.type === 'REJECT') this.answered(end, msg.index, msg.type === 'BLOCK');
    this.world.step(end.peer, msg.type === 'BLOCK' ? { type: 'message', conn: end.conn, msg, digest: simDigest(msg.index) } : { type: 'message', conn: end.conn, msg });
  }

  served(end: End, index: number, bytes: number): void {
    if (end.state !== 'open') return;
    this.world.step(end.peer, { type: 'served', conn: end.conn, index, bytes });
  }

  /** The peer closes its end; the other side hears of it behind the data sent before. */
  localClose(p: SimPeer, conn: ConnId, reason: string): void {
    const end = p.ends.get(conn);
    if (!end || end.state === 'closed') return;
    end.state = 'closed';
    p.ends.delete(conn);
    const hangup: Hangup = { k: 'fin', end, reason };
    this.agenda.push(Math.max(this.agenda.now, end.lastSent) + hop(p, (end.other as End).peer), hangup);
  }

  // Every message sent before the close has been booked by now: arrive after the last.
  fin(h: Hangup): void {
    const from = h.end;
    h.k = 'closed';
    h.end = from.other as End;
    this.agenda.push(Math.max(this.agenda.now, from.lastArrival), h);
  }

  remoteClosed(h: Hangup): void {
    const { end, reason } = h;
    if (end.state === 'closed') return;
    const was = end.state;
    end.state = 'closed';
    end.peer.ends.delete(end.conn);
    if (was === 'open') this.world.step(end.peer, { type: 'closed', conn: end.conn, reason });
    else if (end.outbound) this.world.step(end.peer, { type: 'connectFailed', peerId: end.dialled, reason });
    // An acceptor that never saw the connection has nothing to hear.
  }

  // REQUEST sent -> its BLOCK arrived: queueing at the server, and waiting for a block it
  // has coming from the source. A REJECT ends the wait without a sample.
  private answered(end: End, index: number, served: boolean): void {
    const at = end.asked?.get(index);
    if (at === undefined) return;
    end.asked?.delete(index);
    if (served) this.metrics.latency.add(this.agenda.now - at);
  }
}

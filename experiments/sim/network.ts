// The simulated network between peers: connection ends, links, latency, message sizes.
//
// - A hop between two peers takes the mean of their one-way latencies (scenario.ts: every
//   hop the same L unless the scenario gives each peer a link of its own).
// - A peer's uplink, at its up rate (`peerUp` unless `peerLinks`), is one of two models
//   (scenario.uplink). Either way it is work-conserving: `upBusyMs` is the time all it was
//   given takes at its rate, `upFreeAt` when it will have sent all of it.
//   - 'fifo' (the default): one FIFO; its outgoing messages leave one after another, from
//     whatever connection.
//   - 'fair': shared by its connections, as TCP connections through a shallow queue share a
//     host's link. Each connection end sends its own messages in order (a FIFO per end).
//     The large message at the head of each end (>= SMALL_BYTES) is a flow; the flows share
//     the link equally (processor sharing, uplink.ts), so a block's last byte leaves when its
//     share has carried all of it. A small message (control traffic) at the head of its end
//     leaves at once, ahead of the flows, which stop for its transmission time: on an idle
//     connection it does not wait behind other connections' blocks, on a busy one it waits
//     for the messages sent before it there. BLOCKs go through the node's serve queue
//     (serve-slots.ts: a few on the wire at once, a slot held until the block's last byte
//     has left).
//   The first byte of a large message leaves when it reaches the head of its end (fifo: of
//   the link). The server's core is told `served` one hop after the receiver has handled
//   the BLOCK, as the node hears of it (peer/node/delivery.ts: a WebSocket ping follows each
//   BLOCK and its pong comes back once the receiver has read it): a BLOCK held up by the
//   receiver's downlink is not delivered when the sender's uplink is done with it, nor, with
//   the CPU model, one whose receiver is waiting for a core (handled()).
// - The downlink is a FIFO at the peer's down rate that books each message when its first
//   byte gets there (first byte out + L). A message arrives at max(last byte out + L, end of
//   download) (cut-through): the slower of the two links sets the pace; with 'fair' its
//   arrival is booked once both are known.
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
//   `fin` leaves when the closer's uplink has sent everything sent before it on that
//   connection (fifo: on the link), and is then held until the last message sent from that
//   end has arrived. Messages queued on the closed end are still sent.
// - A message that reaches a closed end is dropped (counted, never delivered).
import { simDigest } from './block-digest.ts';
import type { ConnId, PeerEvent } from '../../peer/core/events.ts';
import { encodedLength } from '../../peer/wire/codec.ts';
import type { Message, PeerId } from '../../peer/core/messages.ts';
import type { Metrics } from './metrics.ts';
import { ServeSlots } from './serve-slots.ts';
import { Uplink } from './uplink.ts';
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
  lastSent: number; // when the last byte sent from this end left its uplink (of what has left or is bound to)
  upHead: Transit | null; // the large message this end has in service on its peer's uplink
  upTag: number; // the uplink's virtual clock when upHead has been sent (uplink.ts)
  upQueue: Transit[] | null; // messages sent after upHead, waiting for it, oldest first
  finPending: Hangup | null; // closed with messages still queued: the fin leaves after them
  serving: number; // BLOCKs of this end's serve queue on the wire (being sent or queued on the connection)
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
  sentAt: number; // when its last byte left the sender (NaN while it is being sent)
  downEnd: number; // when the receiver's downlink is done with it (NaN until its first byte got there; -Infinity: the receiver was gone)
  served: number; // a BLOCK: its index, to tell the server's core once it has arrived (else -1)
  inflow: number; // bytes/ms it arrives at, told to the receiver's CPU from its first byte to its last (0: not told)
  behind: Transit | null; // the first small message sent after this one while it was unbooked; each links the next
}

/** A close in flight, likewise: `fin` from the closer's end, then `closed` at the other end. */
export interface Hangup {
  k: 'fin' | 'closed';
  end: End;
  reason: string;
}

/** What the network tells the world: an event for one peer's core, and bytes on their way to it. */
export interface PeerStepper {
  /** A BLOCK's event: the world calls Network.handled(ev) once the core has handled it (its pong leaves then). */
  step(p: SimPeer, ev: PeerEvent): void;
  /** A large message starts (> 0) or stops (< 0) arriving at the peer at this many bytes/ms. */
  inflow?(p: SimPeer, bytesPerMs: number): void;
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
  private readonly uplinks = new Map<SimPeer, Uplink>(); // made on a peer's first large message
  private readonly serveSlots = new ServeSlots((end, index, data) => this.send(end, { type: 'BLOCK', index, digest: simDigest(index), data }, index));
  // BLOCK events on their way through a receiver's CPU -> the pong its server awaits (handled());
  // weak: an event dropped unread (its connection closed, its peer gone) takes its pong with it.
  private readonly pongs = new WeakMap<PeerEvent, { end: End; index: number; bytes: number }>();

  constructor(
    private readonly agenda: Agenda,
    private readonly world: PeerStepper,
    private readonly metrics: Metrics,
    private readonly fair = false, // scenario.uplink 'fair': else one FIFO per uplink
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
    const mine: End = { peer: p, conn: p.nextConn++, outbound: true, dialled: peerId, state: 'pending', other: null, lastSent: 0, upHead: null, upTag: 0, upQueue: null, finPending: null, serving: 0, lastArrival: 0, unbooked: null, behindTail: null, asked: null };
    const theirs: End = { peer: target, conn: target.nextConn++, outbound: false, dialled: '', state: 'pending', other: mine, lastSent: 0, upHead: null, upTag: 0, upQueue: null, finPending: null, serving: 0, lastArrival: 0, unbooked: null, behindTail: null, asked: null };
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

  /** Puts a message on the wire: on its connection, after the messages sent before it there. */
  send(end: End, msg: Message, served = -1): void {
    const p = end.peer;
    const now = this.agenda.now;
    const bytes = messageBytes(msg);
    this.metrics.countMessage(msg.type, bytes);
    p.messages.sent(msg);
    // The link is work-conserving: it is busy until all it was given is sent, in any order.
    const upStart = Math.max(now, p.upFreeAt);
    const upEnd = upStart + bytes * p.link.upMsPerByte;
    p.upBusyMs += upEnd - upStart;
    p.upFreeAt = upEnd;
    if (msg.type === 'REQUEST') (end.asked ??= new Map()).set(msg.index, now);
    if (!this.fair) return this.sendFifo(end, msg, bytes, served, upStart, upEnd);
    const t: Transit = { k: 'msg', end, msg, bytes, sentAt: NaN, downEnd: NaN, served, inflow: 0, behind: null };
    if (end.upHead !== null) (end.upQueue ??= []).push(t);
    else this.upload(end, t);
  }

  // One FIFO per uplink: the message leaves after everything sent before it, from any connection.
  private sendFifo(end: End, msg: Message, bytes: number, served: number, upStart: number, upEnd: number): void {
    const p = end.peer;
    const t: Transit = { k: bytes < SMALL_BYTES ? 'msg' : 'wire', end, msg, bytes, sentAt: upEnd, downEnd: NaN, served, inflow: 0, behind: null };
    if (bytes < SMALL_BYTES) this.uploaded(end, t, upEnd);
    else {
      end.lastSent = upEnd;
      end.unbooked = t;
      end.behindTail = null;
      this.agenda.push(upStart + hop(p, (end.other as End).peer), t);
    }
  }

  /** Sends a BLOCK when the serve queue has a slot for it; the server's core hears when its last byte has left. */
  serve(end: End, index: number, data: Uint8Array): void {
    if (!this.fair) return this.send(end, { type: 'BLOCK', index, digest: simDigest(index), data }, index);
    this.serveSlots.push(end, index, data);
  }

  /** A booked step of a peer's uplink: messages sent in full move on, the next of their connection starts. */
  upStep(up: Uplink, token: number): void {
    const done = up.step(token);
    if (done === null) return;
    const now = this.agenda.now;
    for (const end of done) {
      const t = end.upHead as Transit;
      end.upHead = null;
      this.uploaded(end, t, now);
      const q = end.upQueue;
      while (q !== null && q.length > 0 && end.upHead === null) this.upload(end, q.shift() as Transit);
      if (end.upHead === null && end.finPending !== null) {
        const h = end.finPending;
        end.finPending = null;
        this.agenda.push(Math.max(now, end.lastSent) + hop(end.peer, (end.other as End).peer), h);
      }
    }
    up.reschedule();
  }

  // The message is next on its connection: a small one leaves at once, a large one shares the link.
  private upload(end: End, t: Transit): void {
    const up = this.uplink(end.peer);
    if (t.bytes < SMALL_BYTES) return this.uploaded(end, t, up.small(t.bytes));
    t.k = 'wire';
    end.upHead = t;
    end.unbooked = t;
    end.behindTail = null;
    this.agenda.push(up.firstByte() + hop(end.peer, (end.other as End).peer), t);
    up.join(end, t.bytes);
  }

  private uplink(p: SimPeer): Uplink {
    let up = this.uplinks.get(p);
    if (up === undefined) this.uplinks.set(p, (up = new Uplink(this.agenda, p.link.upMsPerByte)));
    return up;
  }

  // The message's last byte leaves the sender at `at` (now for a large one, maybe later for a small one).
  private uploaded(end: End, t: Transit, at: number): void {
    t.sentAt = at;
    if (at > end.lastSent) end.lastSent = at;
    if (this.fair && t.served >= 0 && t.msg.type === 'BLOCK') {
      this.serveSlots.left(end); // its serve-queue slot is free once it has left
    }
    if (t.bytes >= SMALL_BYTES) {
      if (!Number.isNaN(t.downEnd)) this.book(t);
      return;
    }
    // Control traffic: straight to its arrival (see the header), after the connection's last.
    const to = end.other as End;
    const ahead = end.unbooked;
    if (ahead) {
      if (end.behindTail) end.behindTail.behind = t;
      else ahead.behind = t;
      end.behindTail = t;
      return;
    }
    t.end = to;
    const arrive = Math.max(at + hop(end.peer, to.peer), end.lastArrival);
    end.lastArrival = arrive;
    this.agenda.push(arrive, t);
  }

  // The first byte reaches the receiver: its downlink books messages in the order their
  // first bytes reach it.
  wire(t: Transit): void {
    const to = (t.end.other as End).peer;
    if (to.gone) {
      t.downEnd = -Infinity;
    } else {
      const downStart = Math.max(this.agenda.now, to.downFreeAt);
      t.downEnd = downStart + t.bytes * to.link.downMsPerByte;
      to.downFreeAt = t.downEnd;
      // Its pace: the sender's share of its uplink as the message starts, or the receiver's downlink.
      const from = t.end.peer;
      const flows = this.fair ? Math.max(1, this.uplinks.get(from)?.size ?? 1) : 1;
      t.inflow = Math.min(1 / (from.link.upMsPerByte * flows), 1 / to.link.downMsPerByte);
      this.world.inflow?.(to, t.inflow);
    }
    if (!Number.isNaN(t.sentAt)) this.book(t);
  }

  // Sent in full and its first byte at the receiver: when it arrives is known; the small
  // messages that rode behind it follow.
  private book(t: Transit): void {
    const from = t.end;
    const to = from.other as End;
    if (from.unbooked === t) {
      from.unbooked = null;
      from.behindTail = null;
    }
    if (t.downEnd === -Infinity) return; // the receiver left meanwhile
    const L = hop(from.peer, to.peer);
    const arrive = Math.max(t.sentAt + L, t.downEnd, from.lastArrival);
    from.lastArrival = arrive;
    t.k = 'msg';
    t.end = to;
    this.agenda.push(arrive, t);
    let m = t.behind;
    if (m === null) return;
    t.behind = null;
    while (m !== null) {
      const next: Transit | null = m.behind;
      m.behind = null;
      const at = Math.max(m.sentAt + L, from.lastArrival);
      from.lastArrival = at;
      m.end = to;
      this.agenda.push(at, m);
      m = next;
    }
  }

  /** The whole message is there. */
  arrived(t: Transit): void {
    const { end, msg } = t;
    if (t.inflow > 0) this.world.inflow?.(end.peer, -t.inflow);
    t.inflow = 0;
    if (end.state !== 'open' || end.peer.gone) {
      this.metrics.dropped++;
      return;
    }
    if (msg.type === 'BLOCK' || msg.type === 'REJECT') this.answered(end, msg.index, msg.type === 'BLOCK');
    if (msg.type !== 'BLOCK') return this.world.step(end.peer, { type: 'message', conn: end.conn, msg });
    const ev: PeerEvent = { type: 'message', conn: end.conn, msg, digest: simDigest(msg.index) };
    if (t.served >= 0) this.pongs.set(ev, { end: end.other as End, index: t.served, bytes: msg.data.length });
    this.world.step(end.peer, ev);
  }

  /**
   * The receiver's process has handled a BLOCK: the pong that follows it on the wire (ws
   * answers the ping as it reads it) is back at the server one hop later. With the CPU
   * model that is once the receiver got a core for it: a receiver waiting for one holds
   * its servers' pongs, and they take their uplinks for slower than they are (upload-backlog.ts).
   */
  handled(ev: PeerEvent): void {
    const pong = this.pongs.get(ev);
    if (pong === undefined) return;
    this.pongs.delete(ev);
    this.agenda.push(this.agenda.now + hop((pong.end.other as End).peer, pong.end.peer), { k: 'served', end: pong.end, index: pong.index, bytes: pong.bytes });
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
    this.serveSlots.forget(end);
    const hangup: Hangup = { k: 'fin', end, reason };
    if (end.upHead !== null) {
      end.finPending = hangup; // leaves when the messages queued before it have
      return;
    }
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
    this.serveSlots.forget(end);
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

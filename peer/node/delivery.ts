// When a BLOCK reached the peer, not when the kernel took it. ws calls a send's callback once
// the frame is in the socket's buffer, and Linux grows that buffer to hundreds of KiB per
// connection: a peer on a 256 KiB/s uplink with 15 neighbours had seconds of BLOCKs queued in
// its kernel while it believed them sent, took more requests (upload-backlog.ts counts what is
// promised against the rate it drains), and its requests timed out at the far end (mixed-16 on
// the testbed: 31–32 s mean, against 22 s with the kernel told to hold little unsent,
// tcp_notsent_lowat). A WebSocket ping after each BLOCK comes back as a pong once the peer has
// read everything before it, so the pong dates the delivery. Pongs are part of WebSocket
// (every client answers them); the Slurpie protocol is unchanged.
import type { WebSocket } from 'ws';

/** A peer that answers no ping this long: count the blocks as delivered anyway. */
export const DELIVERY_TIMEOUT_MS = 30_000;

interface Pending {
  seq: number;
  at: number;
  done: () => void;
}

export class Deliveries {
  private seq = 0;
  private readonly pending: Pending[] = [];

  constructor(private readonly ws: WebSocket) {
    ws.on('pong', (data: Buffer) => this.onPong(data));
  }

  /** Call `done` once the peer has read what was sent on this socket so far. */
  track(now: number, done: () => void): void {
    this.seq = (this.seq + 1) >>> 0;
    const payload = Buffer.allocUnsafe(4);
    payload.writeUInt32BE(this.seq);
    try {
      this.ws.ping(payload);
    } catch {
      return done(); // not open: nothing will come back
    }
    this.pending.push({ seq: this.seq, at: now, done });
  }

  /** Blocks waiting longer than DELIVERY_TIMEOUT_MS count as delivered. */
  expire(now: number): void {
    while (this.pending.length > 0 && now - (this.pending[0] as Pending).at >= DELIVERY_TIMEOUT_MS) (this.pending.shift() as Pending).done();
  }

  /** The connection closed: what was not acknowledged was not delivered. */
  drop(): void {
    this.pending.length = 0;
  }

  // A pong acknowledges its ping and every ping before it (one socket, in order). Anything
  // else (a pong we did not ask for, a stale or foreign payload) acknowledges nothing.
  private onPong(data: Buffer): void {
    if (data.length !== 4) return;
    const seq = data.readUInt32BE(0);
    const at = this.pending.findIndex((p) => p.seq === seq);
    if (at < 0) return;
    for (const p of this.pending.splice(0, at + 1)) p.done();
  }
}

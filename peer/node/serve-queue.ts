// Serving blocks to peers a few at a time (issue #12: a peer's memory bounded whatever it
// is asked). The core lets each connection queue up to maxServePerConn (16) requests; read
// and framed all at once, 3 neighbours asking 16 blocks each held 24 MiB of block and frame
// buffers, more while a slow reader's socket drained. Here a serve holds its slot until ws
// has handed its frame to the socket, at most MAX_IN_FLIGHT in all and PER_CONN per
// connection, the next taken in request order from a connection with a free slot, so one slow
// peer does not hold up the others.
import type { ConnId } from '../core/events.ts';

// Exported for the simulator's model of this queue (experiments/sim/network.ts).
export const MAX_IN_FLIGHT = 6;
export const PER_CONN = 2;

/** One serve: resolves once its frame is with the socket (or it failed). */
export type ServeJob = () => Promise<void>;

export class ServeQueue {
  private readonly waiting: { conn: ConnId; job: ServeJob }[] = [];
  private readonly running = new Map<ConnId, number>();
  private inFlight = 0;

  push(conn: ConnId, job: ServeJob): void {
    this.waiting.push({ conn, job });
    this.next();
  }

  /** Serves queued for connections that are gone are dropped unrun. */
  forget(conn: ConnId): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) if (this.waiting[i]!.conn === conn) this.waiting.splice(i, 1);
  }

  private next(): void {
    while (this.inFlight < MAX_IN_FLIGHT) {
      const at = this.waiting.findIndex(({ conn }) => (this.running.get(conn) ?? 0) < PER_CONN);
      if (at < 0) return;
      const [{ conn, job }] = this.waiting.splice(at, 1) as [{ conn: ConnId; job: ServeJob }];
      this.inFlight++;
      this.running.set(conn, (this.running.get(conn) ?? 0) + 1);
      void job()
        .catch(() => undefined) // a job reports its own failures
        .then(() => {
          this.inFlight--;
          const left = (this.running.get(conn) ?? 1) - 1;
          if (left === 0) this.running.delete(conn);
          else this.running.set(conn, left);
          this.next();
        });
    }
  }
}

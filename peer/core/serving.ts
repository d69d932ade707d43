// Uploads: requests from others. A block we have is served (the driver reads it and sends
// BLOCK, then reports `served` or `serveFailed`); a block streaming to us from the source
// (advertised already) queues until it is stored, and is refused `busy` if the GET fails;
// anything else is refused `missing`. At most `maxServePerConn` requests per connection
// are served or queued at once, and no more than our uplink sends in BACKLOG_MS
// (upload-backlog.ts); more are refused `busy`. Past half that, a block someone else in view
// has, or one we are already sending someone, is refused `busy` too.
import type { BlockTable } from './blocks.ts';
import type { Conn } from './connection.ts';
import type { BlockDigests } from './digests.ts';
import type { ConnId, PeerAction } from './events.ts';
import type { Mesh } from './mesh.ts';
import type { Outbox } from './outbox.ts';
import type { PeerParams } from './params.ts';
import { UploadBacklog } from './upload-backlog.ts';
import type { Violation } from './violations.ts';

/** Requests refused `busy`, by the rule that refused them (stats). */
export interface RefusedBusy {
  perConnection: number; // maxServePerConn already served or queued on its connection
  backlog: number; // one more would take our promised uploads past the bound (full)
  shared: number; // past half the bound, a block someone else in view has or one already on its way
}

export class Uploads {
  uploaded = 0; // bytes served (stats)
  readonly refused: RefusedBusy = { perConnection: 0, backlog: 0, shared: 0 };
  private readonly backlog: UploadBacklog;
  private readonly waiting = new Map<number, ConnId[]>(); // block coming from the source -> who asked

  constructor(
    private readonly params: PeerParams,
    private readonly out: Outbox,
    private readonly blocks: BlockTable,
    private readonly mesh: Mesh,
    private readonly digests: BlockDigests,
    private readonly elsewhere: (index: number) => boolean,
  ) {
    this.backlog = new UploadBacklog(params.blockSize, () => {
      let n = 0;
      for (const conn of mesh.conns.values()) n += conn.serving.length;
      return n;
    }, params.uploadBacklogMs);
  }

  onRequest(now: number, conn: Conn, index: number): Violation | null {
    const { blocks, out } = this;
    if (index >= blocks.count) return { code: 'INDEX_RANGE', detail: `request for block ${index} out of range` };
    const have = blocks.has(index);
    const coming = !have && blocks.isAdvertised(index);
    if (!have && !coming) {
      out.send(conn.id, { type: 'REJECT', index, reason: 'missing' });
      return null;
    }
    const refusal = this.refusal(conn, index);
    if (refusal !== null) {
      this.refused[refusal]++;
      out.send(conn.id, { type: 'REJECT', index, reason: 'busy' });
      return null;
    }
    this.backlog.adding(now);
    conn.serving.push(index);
    if (coming) this.waiting.set(index, [...(this.waiting.get(index) ?? []), conn.id]);
    else out.push(this.serve(conn.id, index));
    return null;
  }

  private refusal(conn: Conn, index: number): keyof RefusedBusy | null {
    if (conn.serving.length >= this.params.maxServePerConn) return 'perConnection';
    if (this.backlog.full()) return 'backlog';
    if (this.backlog.busy() && (this.elsewhere(index) || this.inFlight(index))) return 'shared';
    return null;
  }

  /** A BLOCK went out. */
  onServed(now: number, id: ConnId, index: number, bytes: number): void {
    const conn = this.mesh.get(id);
    if (conn) done(conn, index);
    this.uploaded += bytes;
    this.backlog.sent(now, bytes);
  }

  /** The driver could not read the block: say so at once, so the requester asks elsewhere. */
  onServeFailed(id: ConnId, index: number, reason: string): void {
    this.out.log('warn', `could not serve block ${index}: ${reason}`);
    const conn = this.mesh.get(id);
    if (!conn) return;
    done(conn, index);
    this.out.send(id, { type: 'REJECT', index, reason: 'busy' });
  }

  /** The block is on disk: serve whoever waited for it. */
  onStored(index: number): void {
    for (const id of this.waiting.get(index) ?? []) {
      if (this.mesh.get(id)) this.out.push(this.serve(id, index));
    }
    this.waiting.delete(index);
  }

  // The BLOCK goes with the digest we accepted the block under: if the disk has changed the
  // bytes since, the receiver sees the mismatch. A block resumed from disk has none yet.
  private serve(conn: ConnId, index: number): PeerAction {
    const digest = this.digests.of(index);
    return digest ? { type: 'serve', conn, index, digest: digest.slice() } : { type: 'serve', conn, index };
  }

  // A copy of the block is on its way to someone (or waits for it to come from the source).
  private inFlight(index: number): boolean {
    for (const conn of this.mesh.conns.values()) if (conn.serving.includes(index)) return true;
    return false;
  }

  /** A block we advertised as coming will not come: whoever waits for it hears so. */
  uncome(index: number): void {
    for (const id of this.waiting.get(index) ?? []) {
      const conn = this.mesh.get(id);
      if (!conn) continue;
      done(conn, index);
      this.out.send(id, { type: 'REJECT', index, reason: 'busy' });
    }
    this.waiting.delete(index);
  }
}

// A serve of `index` to `conn` ended (sent, failed or refused).
function done(conn: Conn, index: number): void {
  const at = conn.serving.indexOf(index);
  if (at >= 0) conn.serving.splice(at, 1);
}

// Uploads: requests from others. A block we have is served (the driver reads it and sends
// BLOCK, then reports `served` or `serveFailed`); a block streaming to us from the source
// (advertised already) queues until it is stored, and is refused `busy` if the GET fails;
// anything else is refused `missing`. At most `maxServePerConn` requests per connection
// are served or queued at once; more are refused `busy`.
import type { BlockTable } from './blocks.ts';
import type { Conn } from './connection.ts';
import type { BlockDigests } from './digests.ts';
import type { ConnId, PeerAction } from './events.ts';
import type { Mesh } from './mesh.ts';
import type { Outbox } from './outbox.ts';
import type { PeerParams } from './params.ts';
import type { Violation } from './violations.ts';

export class Uploads {
  uploaded = 0; // bytes served (stats)
  private readonly waiting = new Map<number, ConnId[]>(); // block coming from the source -> who asked

  constructor(
    private readonly params: PeerParams,
    private readonly out: Outbox,
    private readonly blocks: BlockTable,
    private readonly mesh: Mesh,
    private readonly digests: BlockDigests,
  ) {}

  onRequest(conn: Conn, index: number): Violation | null {
    const { blocks, out } = this;
    if (index >= blocks.count) return { code: 'INDEX_RANGE', detail: `request for block ${index} out of range` };
    const have = blocks.has(index);
    const coming = !have && blocks.isAdvertised(index);
    if (!have && !coming) {
      out.send(conn.id, { type: 'REJECT', index, reason: 'missing' });
    } else if (conn.serving >= this.params.maxServePerConn) {
      out.send(conn.id, { type: 'REJECT', index, reason: 'busy' });
    } else if (coming) {
      conn.serving++;
      this.waiting.set(index, [...(this.waiting.get(index) ?? []), conn.id]);
    } else {
      conn.serving++;
      out.push(this.serve(conn.id, index));
    }
    return null;
  }

  /** A BLOCK went out. */
  onServed(id: ConnId, bytes: number): void {
    const conn = this.mesh.get(id);
    if (conn) conn.serving = Math.max(0, conn.serving - 1);
    this.uploaded += bytes;
  }

  /** The driver could not read the block: say so at once, so the requester asks elsewhere. */
  onServeFailed(id: ConnId, index: number, reason: string): void {
    this.out.log('warn', `could not serve block ${index}: ${reason}`);
    const conn = this.mesh.get(id);
    if (!conn) return;
    conn.serving = Math.max(0, conn.serving - 1);
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

  /** A block we advertised as coming will not come: whoever waits for it hears so. */
  uncome(index: number): void {
    for (const id of this.waiting.get(index) ?? []) {
      const conn = this.mesh.get(id);
      if (!conn) continue;
      conn.serving = Math.max(0, conn.serving - 1);
      this.out.send(id, { type: 'REJECT', index, reason: 'busy' });
    }
    this.waiting.delete(index);
  }
}

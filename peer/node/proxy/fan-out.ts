// One download, many HTTP responses: the proxy hands download() this Writable as its
// in-order `stream`, and every client asking for the same file while it downloads is
// attached to it. A client attached from the start gets each chunk as it is written; one
// that arrives later first reads what it missed back from the file on disk (the in-order
// stream only writes bytes already in the .part file), then joins the live chunks. Memory
// is bounded: a chunk is passed on, never queued, and the writer waits until every live
// client has drained (the slowest client paces the stream, never the download itself).
// A client that goes away is dropped; the download goes on and fills the cache.
import { open, type FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';

const CATCH_UP_CHUNK = 256 * 1024;

export class FanOut extends Writable {
  private offset = 0; // bytes written so far
  private ended = false;
  private readonly live = new Set<ServerResponse>();
  private readonly catchingUp = new Set<ServerResponse>();

  /** `paths`: where the bytes written so far can be read back (the .part file, then the final name). */
  constructor(
    readonly size: number,
    private readonly paths: readonly string[],
  ) {
    super({ highWaterMark: 0, autoDestroy: false }); // ended, it still serves late clients from disk
  }

  /** Clients attached now (live or catching up). */
  get clients(): number {
    return this.live.size + this.catchingUp.size;
  }

  /** Sends the file to `res` (its headers already written): from here on, or from disk first. */
  attach(res: ServerResponse): void {
    if (this.destroyed) {
      res.destroy();
      return;
    }
    if (this.offset === 0 && !this.ended) {
      this.join(res);
      return;
    }
    this.catchingUp.add(res);
    void this.catchUp(res).finally(() => this.catchingUp.delete(res));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.offset += chunk.length;
    const waits: Promise<void>[] = [];
    for (const res of this.live) if (!res.destroyed && !res.write(chunk)) waits.push(drained(res));
    if (waits.length === 0) callback();
    else void Promise.all(waits).then(() => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.ended = true;
    for (const res of this.live) res.end();
    this.live.clear();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A failed download: every client gets a short body (the connection is cut), never an end.
    for (const res of [...this.live, ...this.catchingUp]) res.destroy();
    this.live.clear();
    callback(error);
  }

  private join(res: ServerResponse): void {
    this.live.add(res);
    res.once('close', () => this.live.delete(res));
  }

  // Reads [sent, offset) back from disk until this client is level with the writer, then joins.
  private async catchUp(res: ServerResponse): Promise<void> {
    let sent = 0;
    let file: FileHandle | null = null;
    try {
      file = await openFirst(this.paths);
      const buffer = Buffer.alloc(CATCH_UP_CHUNK);
      while (!res.destroyed && !this.destroyed) {
        // Level with the writer: join (synchronously, so no chunk falls between), or end.
        if (sent === this.offset && !this.ended) return this.join(res);
        if (sent === this.size && this.ended) {
          res.end();
          return;
        }
        const want = Math.min(buffer.length, (this.ended ? this.size : this.offset) - sent);
        const { bytesRead } = await file.read(buffer, 0, want, sent);
        if (bytesRead === 0) throw new Error('the cached file is shorter than the download');
        sent += bytesRead;
        if (!res.write(Buffer.from(buffer.subarray(0, bytesRead)))) await drained(res);
      }
    } catch {
      res.destroy();
    } finally {
      await file?.close().catch(() => {});
    }
  }
}

function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve(); // its 'close' may already have been emitted
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

// The .part file is renamed into place once verified; an open handle follows the rename.
async function openFirst(paths: readonly string[]): Promise<FileHandle> {
  let last: unknown = new Error('no path to read from');
  for (const path of paths) {
    try {
      return await open(path, 'r');
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

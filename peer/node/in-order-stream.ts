// Streams a download in file order while its blocks arrive out of order (`get -o -`, the
// proxy). Blocks land in the .part file wherever the swarm delivers them; this writes the
// contiguous prefix [0, next) to a Writable as it grows, reading each block back from the
// part file just before writing it, so memory stays at one block whatever the lag, and the
// writer's backpressure (write() false, then 'drain') holds the reading back, never the
// download.
//
// Integrity: the bytes written are hashed as they go; digest() compares that digest with the
// expected sha256. A mismatch can only be found once the consumer has nearly every byte (as
// with `curl URL | tee f | sha256sum`): it rejects with INTEGRITY_FAILED so the exit status
// or the library caller knows. The last block is held back until end(), once the caller has
// also checked the file on disk against what was sent, so a consumer that knows the length
// (an HTTP client with Content-Length) sees a short body on any mismatch. Blocks from peers
// were already checked against their per-block digest (peer/core/digests.ts), which keeps
// this case rare. The core sometimes stores a block twice (the same bytes): a block stored
// again behind the stream is not sent again; if its bytes differed, the disk's digest and
// the stream's differ, and the caller fails rather than send anything twice.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SlurpieError } from '../errors.ts';
import type { PartFile } from '../storage/part-file.ts';
import type { PeerNode } from './peer-node.ts';

/** What the stream reads from: the part file (or any store of blocks). */
export interface BlockStore {
  readonly blocks: number;
  has(index: number): boolean;
  readBlock(index: number): Promise<Uint8Array>;
}

export class InOrderStream {
  private next = 0; // blocks [0, next) have been hashed, and written to `out` but for `tail`
  private tail: Uint8Array | null = null; // the last block, written once the digest is checked
  private bytes = 0;
  private readonly hash = createHash('sha256');
  private pumping: Promise<void> | null = null;
  private failure: Error | null = null;
  private waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private readonly onError = (err: Error): void => this.fail(new SlurpieError('DISK', `cannot write to the output stream: ${err.message}`, { cause: err }));
  private readonly onClose = (): void => {
    if (this.next < this.store.blocks) this.fail(new SlurpieError('DISK', 'the output stream closed before the end of the file'));
  };

  constructor(
    private readonly store: BlockStore,
    private readonly out: Writable,
  ) {
    out.on('error', this.onError);
    out.on('close', this.onClose);
  }

  /** Bytes written to the output so far. */
  get streamedBytes(): number {
    return this.bytes;
  }

  /** Tells the stream block `index` is stored (call after every write). */
  stored(index: number): void {
    if (index === this.next) this.pump();
  }

  /** Starts writing what is already there (a resumed .part). */
  start(): void {
    this.pump();
  }

  /** Resolves once every block is written and the output has taken it all; rejects on a failure. */
  whenStreamed(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.next === this.store.blocks && !this.pumping) return Promise.resolve();
    this.pump();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /**
   * Once every block is out but the last: the sha256 of the whole file as sent, checked
   * against `expected` when one is known (INTEGRITY_FAILED on a mismatch).
   */
  async digest(expected: string | undefined): Promise<string> {
    await this.whenStreamed();
    const digest = this.hash.digest('hex');
    if (expected !== undefined && digest !== expected) {
      const err = new SlurpieError('INTEGRITY_FAILED', `the streamed bytes have sha256 ${digest}, expected ${expected}; the consumer already has all but the last block: discard its copy`);
      this.fail(err);
      throw err;
    }
    return digest;
  }

  /** After digest(), once the caller is content: sends the last block and ends the output. */
  async end(): Promise<void> {
    if (this.failure) throw this.failure;
    this.detach();
    const tail = this.tail;
    this.tail = null;
    await new Promise<void>((resolve) => (tail ? this.out.end(tail, resolve) : this.out.end(resolve)));
    if (tail) this.bytes += tail.length;
  }

  /** Stops streaming with `err` (the output is left as it is: a short body, not an end). */
  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.detach();
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  private detach(): void {
    this.out.off('error', this.onError);
    this.out.off('close', this.onClose);
    // A failure after detaching must not become an uncaught 'error' event.
    this.out.on('error', () => {});
  }

  private pump(): void {
    if (this.pumping || this.failure) return;
    this.pumping = this.run()
      .catch((err: Error) => this.fail(err))
      .finally(() => {
        this.pumping = null;
        if (this.failure) return;
        // A block may have been stored while the last read was finishing.
        if (this.next < this.store.blocks && this.store.has(this.next)) this.pump();
        else if (this.next === this.store.blocks) for (const w of this.waiters.splice(0)) w.resolve();
      });
  }

  private async run(): Promise<void> {
    while (!this.failure && this.next < this.store.blocks && this.store.has(this.next)) {
      let data: Uint8Array;
      try {
        data = await this.store.readBlock(this.next);
      } catch (err) {
        if (!this.store.has(this.next)) return; // being stored again: its stored() call resumes us
        throw err;
      }
      if (this.failure) return;
      this.hash.update(data);
      this.next++;
      if (this.next === this.store.blocks) {
        this.tail = data;
        return;
      }
      this.bytes += data.length;
      if (!this.out.write(data)) await this.drained();
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.out.off('drain', done);
        this.out.off('close', done);
        this.out.off('error', done);
        resolve();
      };
      this.out.on('drain', done);
      this.out.on('close', done); // the close/error handlers above record why
      this.out.on('error', done);
    });
  }
}

/** Streams `part` to `out` as `node` stores blocks; a failure of the output fails the download. */
export function streamDownload(part: PartFile, node: PeerNode, out: Writable): InOrderStream {
  const stream = new InOrderStream({ blocks: part.blocks, has: (i) => part.have.get(i), readBlock: (i) => part.readBlock(i) }, out);
  node.onStored = (index) => stream.stored(index);
  stream.whenStreamed().catch((err: Error) => node.fail(err));
  stream.start();
  return stream;
}

/** Sends a finished file (already checked) to `out` and ends it: the already-complete and plain paths. */
export async function streamFinishedFile(path: string, out: Writable): Promise<void> {
  try {
    await pipeline(createReadStream(path), out);
  } catch (err) {
    throw new SlurpieError('DISK', `cannot stream ${path} to the output: ${(err as Error).message}`, { cause: err });
  }
}

// A running sha256 over the blocks written so far from the start of the file, so that
// verifying a finished download does not have to read it all again: a solo download
// arrives in order and is hashed from memory; out-of-order blocks are read back (from the
// page cache, mostly) as soon as the prefix reaches them, overlapped with the transfer.
//
// Concurrent writes finish in any order, so even a solo download's blocks reach here a few
// places out of order: without a window nearly every block was read back from disk (256 MiB
// read again, and 256 MiB of buffers for the GC, for a 256 MiB file; issue #12). Blocks up to
// HELD_BYTES past the prefix are kept until it reaches them; farther ones are read back.
import { createHash, type Hash } from 'node:crypto';

const HELD_BYTES = 4 * 1024 * 1024;

export class PrefixHash {
  private hash: Hash = createHash('sha256');
  private next = 0; // blocks [0, next) are in the hash
  private chain: Promise<void> = Promise.resolve();
  private held = new Map<number, Uint8Array>(); // written blocks past the prefix, in memory
  private heldBytes = 0;

  constructor(
    private readonly blocks: number,
    private readonly has: (index: number) => boolean,
    private readonly read: (index: number) => Promise<Uint8Array>,
  ) {}

  /** Block `index` now holds `data` on disk. */
  written(index: number, data: Uint8Array): void {
    this.then(async () => {
      if (index !== this.next) {
        if (index > this.next && this.heldBytes + data.length <= HELD_BYTES) {
          this.release(index);
          this.held.set(index, data);
          this.heldBytes += data.length;
        }
        return;
      }
      this.hash.update(data);
      this.next++;
      await this.catchUp();
    });
  }

  /** Block `index` is about to be rewritten: a prefix that covers it starts over. */
  invalidate(index: number): void {
    this.then(async () => {
      if (index < this.next) this.reset();
      this.release(index); // its bytes are about to change
    });
  }

  /** The digest of the whole file; every block must be present. */
  async digest(): Promise<string> {
    await this.chain;
    try {
      await this.catchUp();
    } catch {
      // As in the background: a failed read starts the prefix over, read from disk once more.
      this.reset();
      await this.catchUp();
    }
    if (this.next !== this.blocks) throw new Error(`cannot digest: block ${this.next} is missing`);
    const digest = this.hash.digest('hex');
    this.reset(); // a digest ends a Hash: start over if asked again
    return digest;
  }

  // Background work runs in order; if it fails (e.g. the file was closed meanwhile), the
  // prefix starts over and digest() reads everything itself.
  private then(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch(() => this.reset());
  }

  private reset(): void {
    this.hash = createHash('sha256');
    this.next = 0;
    this.held.clear();
    this.heldBytes = 0;
  }

  /** Drops a held block; returns its bytes if it was held. */
  private release(index: number): Uint8Array | undefined {
    const data = this.held.get(index);
    if (data !== undefined) {
      this.held.delete(index);
      this.heldBytes -= data.length;
    }
    return data;
  }

  private async catchUp(): Promise<void> {
    while (this.next < this.blocks && this.has(this.next)) {
      this.hash.update(this.release(this.next) ?? (await this.read(this.next)));
      this.next++;
    }
  }
}

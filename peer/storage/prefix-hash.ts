// A running sha256 over the blocks written so far from the start of the file, so that
// verifying a finished download does not have to read it all again: a solo download
// arrives in order and is hashed from memory; out-of-order blocks are read back (from the
// page cache, mostly) as soon as the prefix reaches them, overlapped with the transfer.
import { createHash, type Hash } from 'node:crypto';

export class PrefixHash {
  private hash: Hash = createHash('sha256');
  private next = 0; // blocks [0, next) are in the hash
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly blocks: number,
    private readonly has: (index: number) => boolean,
    private readonly read: (index: number) => Promise<Uint8Array>,
  ) {}

  /** Block `index` now holds `data` on disk. */
  written(index: number, data: Uint8Array): void {
    this.then(async () => {
      if (index !== this.next) return;
      this.hash.update(data);
      this.next++;
      await this.catchUp();
    });
  }

  /** Block `index` is about to be rewritten: a prefix that covers it starts over. */
  invalidate(index: number): void {
    this.then(async () => {
      if (index < this.next) this.reset();
    });
  }

  /** The digest of the whole file; every block must be present. */
  async digest(): Promise<string> {
    await this.chain;
    await this.catchUp();
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
  }

  private async catchUp(): Promise<void> {
    while (this.next < this.blocks && this.has(this.next)) {
      this.hash.update(await this.read(this.next));
      this.next++;
    }
  }
}

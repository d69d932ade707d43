// A running sha256 over the blocks written so far from the start of the file, so that
// verifying a finished download does not have to read it all again: a solo download
// arrives in order and is hashed from memory; out-of-order blocks are read back (from the
// page cache, mostly) as soon as the prefix reaches them, overlapped with the transfer.
//
// Blocks come here as their writes are issued, so a source's blocks arrive in order (taken
// as writes finished, under load most of a 256 MiB file was read back after the last block;
// issue #12). Blocks from peers come in any order: up to HELD_BYTES past the prefix are kept
// until it reaches them; farther ones are read back (through one buffer the PartFile lends).
import { createHash, type Hash } from 'node:crypto';

const HELD_BYTES = 4 * 1024 * 1024;
// Blocks waiting in the queue of background work, referred to until their step runs. When
// that falls behind (it reads blocks back through libuv's threadpool, which a disk throttling
// writeback keeps busy: 4 peers writing 512 MiB each), later blocks are not queued with their
// bytes, which would stay in memory however far behind it falls (up to 45 blocks, +11 MiB
// of a peer's resident memory; issue #12): they are read back when the prefix gets there.
const QUEUED_BYTES = 4 * 1024 * 1024;

/** A block held past the prefix, and who to tell once its bytes are no longer needed. */
interface Held {
  data: Uint8Array;
  done: (() => void) | undefined;
}

export class PrefixHash {
  private hash: Hash = createHash('sha256');
  private next = 0; // blocks [0, next) are in the hash
  private chain: Promise<void> = Promise.resolve();
  private held = new Map<number, Held>(); // written blocks past the prefix, in memory
  private heldBytes = 0;
  private queuedBytes = 0; // bytes of blocks whose step in `chain` has not run yet

  constructor(
    private readonly blocks: number,
    private readonly has: (index: number) => boolean,
    private readonly read: (index: number) => Promise<Uint8Array>,
  ) {}

  /**
   * Block `index` is being written with `data`: it is on disk before anything reads it back
   * (`has`), and a write that fails invalidates it. `done`, if given, is called once this no longer
   * refers to `data` (the caller's buffer may then be used again); exactly once, even if the
   * hash starts over.
   */
  written(index: number, data: Uint8Array, done?: () => void): void {
    if (this.queuedBytes + data.length > QUEUED_BYTES) {
      done?.(); // behind: read back from disk when the prefix reaches it
      this.then(async () => {
        this.release(index); // a block held from an earlier write of it is stale
        await this.catchUp(); // whatever is on disk by now
      });
      return;
    }
    this.queuedBytes += data.length;
    const dequeued = (): void => {
      this.queuedBytes -= data.length;
    };
    this.then(async () => {
      dequeued();
      if (index !== this.next) {
        if (index > this.next && this.heldBytes + data.length <= HELD_BYTES) {
          this.release(index);
          this.held.set(index, { data, done });
          this.heldBytes += data.length;
        } else {
          done?.();
        }
        return;
      }
      this.hash.update(data);
      done?.();
      this.next++;
      await this.catchUp();
    }, () => {
      dequeued();
      done?.();
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
  // `skipped` is told if `work` never ran (an earlier step failed and reset everything).
  private then(work: () => Promise<void>, skipped?: () => void): void {
    let ran = false;
    this.chain = this.chain
      .then(() => {
        ran = true;
        return work();
      })
      .catch(() => {
        if (!ran) skipped?.();
        this.reset();
      });
  }

  private reset(): void {
    this.hash = createHash('sha256');
    this.next = 0;
    for (const { done } of this.held.values()) done?.();
    this.held.clear();
    this.heldBytes = 0;
  }

  /** Drops a held block, if held; its owner is told. */
  private release(index: number): void {
    const held = this.held.get(index);
    if (held === undefined) return;
    this.held.delete(index);
    this.heldBytes -= held.data.length;
    held.done?.();
  }

  private async catchUp(): Promise<void> {
    while (this.next < this.blocks && this.has(this.next)) {
      const held = this.held.get(this.next);
      if (held !== undefined) {
        this.hash.update(held.data); // hashed before its owner may reuse it
        this.release(this.next);
      } else {
        this.hash.update(await this.read(this.next));
      }
      this.next++;
    }
  }
}

// Buffers for blocks read from the source, used again once a block is on disk (issue #12).
//
// A new 256 KiB buffer per block is 1,024 malloc'd buffers per 256 MiB, freed only at a
// collection; mixed with the socket's smaller chunks they fragment glibc's arena, which then
// stays at its high-water mark (50-57 MiB of a 120-130 MiB peer, alone at 256 MiB). A peer
// holds few blocks at a time (the source GET pauses while 16 wait for the disk), so a small
// free list serves nearly every block.
//
// Ownership is explicit: whoever takes a buffer gives it back once nothing refers to it; a
// buffer never given back is simply collected.
const MAX_FREE = 32;

export class BlockPool {
  private readonly free: Buffer[] = [];
  private readonly lent = new WeakSet<Uint8Array>();

  constructor(readonly blockSize: number) {}

  /** A buffer of `length` bytes (contents undefined); pooled when `length` is the block size. */
  take(length: number): Buffer {
    if (length !== this.blockSize) return Buffer.allocUnsafeSlow(length);
    const buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(length);
    this.lent.add(buffer);
    return buffer;
  }

  /** Whether `data` is a buffer this pool lent and has not had back. */
  owns(data: Uint8Array): boolean {
    return this.lent.has(data);
  }

  /** `data` is no longer referred to: the next take may hand it out again. Others are ignored. */
  give(data: Uint8Array): void {
    if (!this.lent.delete(data)) return;
    if (this.free.length < MAX_FREE) this.free.push(data as Buffer);
  }
}

// The update tree (PROTOCOL.md §5; the paper's "UpdateTree" slide): leaves are the
// bitfields of the cached origins, each inner node is the OR of its two children.
// The root answers "which blocks does no one in my view have"; descending only where
// a bit is set answers "who has block i" without looking at every origin.
//
// Bit order is BitTorrent's (as the `bitfield` package): block i is bit (7 - i % 8)
// of byte i >> 3. Bits past the last block are always kept zero.

/**
 * A bitfield the caller may read but not write: a live view into the tree, valid
 * until the next set()/clear(). Copy it (`Uint8Array.from(view)`) to keep it.
 */
export type BitsView = Readonly<Omit<Uint8Array, 'set' | 'fill' | 'copyWithin' | 'reverse' | 'sort' | 'subarray'>>;

// Set bits per byte value, for countWanted().
const POPCOUNT = new Uint8Array(256);
for (let v = 1; v < 256; v++) POPCOUNT[v] = (v & 1) + (POPCOUNT[v >> 1] ?? 0);

export class UpdateTree {
  /** Slots 0 .. capacity-1; the tree rounds this up to a power of two inside. */
  readonly capacity: number;
  readonly blocks: number;
  /** Bitfield length: ceil(blocks / 8). */
  readonly bytes: number;

  private readonly leafBase: number; // node index of slot 0; node 1 is the root
  private readonly strideWords: number; // each node padded to whole 32-bit words
  private readonly words: Uint32Array; // node n at words [n * strideWords, …)
  private readonly octets: Uint8Array; // the same memory, byte-wise
  private readonly tailMask: number; // valid bits of the last byte
  /** Rises with every set() and clear(): a result computed from the tree holds while it is unchanged. */
  version = 0;

  constructor(capacity: number, blocks: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    if (!Number.isInteger(blocks) || blocks < 1) throw new RangeError(`blocks must be a positive integer, got ${blocks}`);
    this.capacity = capacity;
    this.blocks = blocks;
    this.bytes = Math.ceil(blocks / 8);
    let size = 1;
    while (size < capacity) size *= 2;
    this.leafBase = size;
    this.strideWords = Math.ceil(this.bytes / 4);
    // Node 0 is unused so that node n's children are 2n and 2n + 1.
    this.words = new Uint32Array(2 * size * this.strideWords);
    this.octets = new Uint8Array(this.words.buffer);
    const rest = blocks % 8;
    this.tailMask = rest === 0 ? 0xff : (0xff << (8 - rest)) & 0xff;
  }

  /**
   * Replace the leaf of `slot` with a copy of `bits` (the caller keeps its buffer)
   * and recompute its ancestors: O(log capacity × bytes). Bits past the last block
   * are ignored. `bits` must be exactly `bytes` long (peer/wire checks this for
   * peers' bitfields; a mismatch here is a programming error and throws).
   */
  set(slot: number, bits: Uint8Array): void {
    this.checkSlot(slot);
    if (bits.length !== this.bytes) throw new RangeError(`bitfield has ${bits.length} bytes, expected ${this.bytes}`);
    const at = this.offset(this.leafBase + slot);
    this.octets.set(bits, at);
    const last = at + this.bytes - 1;
    this.octets[last] = (this.octets[last] ?? 0) & this.tailMask;
    this.recompute(slot);
  }

  /** Empty `slot` (an origin left the cache). */
  clear(slot: number): void {
    this.checkSlot(slot);
    const at = this.strideWords * (this.leafBase + slot);
    this.words.fill(0, at, at + this.strideWords);
    this.recompute(slot);
  }

  /** OR of all leaves, as a live read-only view (see BitsView). */
  root(): BitsView {
    const at = this.offset(1);
    return this.octets.subarray(at, at + this.bytes);
  }

  /** Whether any leaf has block `index`. O(1). */
  anyHas(index: number): boolean {
    return this.bit(1, index);
  }

  /** Slots whose leaf has block `index`, ascending; visits only subtrees that have it. */
  holders(index: number): number[] {
    const out: number[] = [];
    const byte = this.byteOf(index);
    const mask = 0x80 >> (index & 7);
    const stride = this.strideWords * 4;
    if (((this.octets[stride + byte] ?? 0) & mask) === 0) return out;
    const stack = [1];
    while (stack.length > 0) {
      const node = stack.pop() as number;
      if (node >= this.leafBase) {
        out.push(node - this.leafBase);
        continue;
      }
      // Right first so that slots come out in ascending order.
      const right = 2 * node + 1;
      if (((this.octets[right * stride + byte] ?? 0) & mask) !== 0) stack.push(right);
      if (((this.octets[(right - 1) * stride + byte] ?? 0) & mask) !== 0) stack.push(right - 1);
    }
    return out;
  }

  /** How many blocks some leaf has and `have` lacks. */
  countWanted(have: Uint8Array): number {
    this.checkHave(have);
    const at = this.offset(1);
    let n = 0;
    for (let b = 0; b < this.bytes; b++) n += POPCOUNT[(this.octets[at + b] ?? 0) & ~(have[b] ?? 0) & 0xff] ?? 0;
    return n;
  }

  /**
   * The first block at or after `from` that no leaf has and `have` lacks (what to
   * fetch from the source), or -1. Call again with the result + 1 to extend a run.
   */
  firstMissingFromAll(have: Uint8Array, from = 0): number {
    this.checkHave(have);
    if (!Number.isInteger(from) || from < 0) throw new RangeError(`from must be a non-negative integer, got ${from}`);
    const at = this.offset(1);
    for (let b = from >> 3; b < this.bytes; b++) {
      let w = ~((this.octets[at + b] ?? 0) | (have[b] ?? 0)) & 0xff;
      if (b === this.bytes - 1) w &= this.tailMask;
      if (b === from >> 3) w &= 0xff >> (from & 7);
      if (w !== 0) return b * 8 + Math.clz32(w) - 24;
    }
    return -1;
  }

  private recompute(slot: number): void {
    this.version++;
    const sw = this.strideWords;
    const words = this.words;
    for (let node = (this.leafBase + slot) >> 1; node >= 1; node >>= 1) {
      const out = node * sw;
      const left = 2 * node * sw;
      const right = left + sw;
      for (let w = 0; w < sw; w++) words[out + w] = (words[left + w] ?? 0) | (words[right + w] ?? 0);
    }
  }

  private bit(node: number, index: number): boolean {
    const byte = this.byteOf(index);
    return ((this.octets[this.offset(node) + byte] ?? 0) & (0x80 >> (index & 7))) !== 0;
  }

  private offset(node: number): number {
    return node * this.strideWords * 4;
  }

  private byteOf(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.blocks) {
      throw new RangeError(`block index ${index} out of range 0..${this.blocks - 1}`);
    }
    return index >> 3;
  }

  private checkSlot(slot: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.capacity) {
      throw new RangeError(`slot ${slot} out of range 0..${this.capacity - 1}`);
    }
  }

  private checkHave(have: Uint8Array): void {
    if (have.length !== this.bytes) throw new RangeError(`have has ${have.length} bytes, expected ${this.bytes}`);
  }
}

// Bitfields as raw bytes, in BitTorrent order (block i is bit 7 - i%8 of byte i>>3),
// for the byte-wise scans the scheduler does. Single bits go through `bitfield`.

export function bitfieldBytes(blocks: number): number {
  return Math.ceil(blocks / 8);
}

export function hasBit(bits: Uint8Array, index: number): boolean {
  return ((bits[index >> 3] ?? 0) & (0x80 >> (index & 7))) !== 0;
}

export function setBit(bits: Uint8Array, index: number): void {
  bits[index >> 3] = (bits[index >> 3] ?? 0) | (0x80 >> (index & 7));
}

export function clearBit(bits: Uint8Array, index: number): void {
  bits[index >> 3] = (bits[index >> 3] ?? 0) & ~(0x80 >> (index & 7));
}

/** A copy of `bits` with every bit at or past `blocks` cleared (peers may send junk there). */
export function maskTail(bits: Uint8Array, blocks: number): Uint8Array {
  const out = bits.slice();
  const spare = out.length * 8 - blocks;
  if (spare > 0 && out.length > 0) out[out.length - 1] = (out[out.length - 1] ?? 0) & (0xff << spare);
  return out;
}

const POPCOUNT = new Uint8Array(256).map((_, b) => {
  let n = 0;
  for (let v = b; v; v >>= 1) n += v & 1;
  return n;
});

export function countBits(bits: Uint8Array): number {
  let n = 0;
  for (const b of bits) n += POPCOUNT[b] ?? 0;
  return n;
}

/** Every one of `blocks` blocks is set (undefined: not known, so no). */
export function isFull(bits: Uint8Array | undefined, blocks: number): boolean {
  return bits !== undefined && countBits(bits) === blocks;
}

/** Number of blocks set in `want` and clear in `exclude`. */
export function countAndNot(want: ArrayLike<number>, exclude: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < want.length; i++) n += POPCOUNT[(want[i] ?? 0) & ~(exclude[i] ?? 0) & 0xff] ?? 0;
  return n;
}

/** The r-th (0-based) block set in `want` and clear in `exclude`, or -1. */
export function nthAndNot(want: ArrayLike<number>, exclude: ArrayLike<number>, r: number): number {
  let left = r;
  for (let i = 0; i < want.length; i++) {
    const byte = (want[i] ?? 0) & ~(exclude[i] ?? 0) & 0xff;
    const c = POPCOUNT[byte] ?? 0;
    if (left >= c) {
      left -= c;
      continue;
    }
    for (let bit = 0; bit < 8; bit++) {
      if (byte & (0x80 >> bit)) {
        if (left === 0) return i * 8 + bit;
        left--;
      }
    }
  }
  return -1;
}

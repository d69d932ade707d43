// Bounds on peer wire frames (PROTOCOL.md §4, FORMAT.md). The fixed protocol bounds and
// the tunable per-connection limits live together so codec, node and tests share one number each.

const KiB = 1024;
const MiB = 1024 * KiB;

/** A HELLO's blockSize must lie in [MIN_BLOCK_SIZE, MAX_BLOCK_SIZE]. */
export const MIN_BLOCK_SIZE = 1 * KiB;
export const MAX_BLOCK_SIZE = 16 * MiB;
/** Block indexes are uint32 below 2^31, so a file has at most 2^31 blocks. */
export const MAX_BLOCKS = 2 ** 31;
/** Longest bitfield any file can need: ceil(MAX_BLOCKS / 8). */
export const MAX_BITFIELD_BYTES = MAX_BLOCKS / 8;
export const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;
export const MIN_PEER_ID_BYTES = 8;
export const MAX_PEER_ID_BYTES = 32;
export const MAX_HOST_BYTES = 255;
export const MAX_BYE_REASON_BYTES = 256;
/** Largest value of a varint field (unsigned LEB128, at most 5 bytes). */
export const MAX_VARINT = 2 ** 32 - 1;
/** Longest sketch an UPDATE may carry (opaque to the codec; estimation/ must fit in it). */
export const MAX_SKETCH_BYTES = 4096;

/** A block digest: the first 16 bytes of the block's SHA-256 (v3). */
export const DIGEST_BYTES = 16;
/** Bytes before a BLOCK's data: type, index, digest, length. */
export const BLOCK_HEADER_BYTES = 9 + DIGEST_BYTES;
/** Digests one DIGESTS message carries at most (more go in the next). */
export const MAX_DIGESTS_PER_MESSAGE = 1024;
/** Bytes before an UPDATE's entries: type, flags, entry count. */
export const UPDATE_HEADER_BYTES = 4;
/** An INTRO's bytes at most: originId length and 32 bytes, host length and 255 bytes, port. */
export const UPDATE_INTRO_MAX_BYTES = 1 + MAX_PEER_ID_BYTES + 1 + MAX_HOST_BYTES + 2;
/**
 * An UPDATE entry's bytes besides its bitfield, at most: form, ref, intro, seq (a 5-byte
 * varint), hops, degree, estimate (5-byte varint n, ageS), and the FULL length B as a 5-byte
 * varint (B < 2^28 always; it is 1 byte below 128, 2 below 16 KiB, 3 below 2 MiB).
 * A DELTA entry is bounded by the frame only: a sender sends FULL when that is shorter.
 */
export const UPDATE_ENTRY_MAX_OVERHEAD = 1 + 1 + UPDATE_INTRO_MAX_BYTES + 5 + 1 + 1 + (5 + 1) + 5;
/** An UPDATE's sketch at most: its length (varint of 4096: 2 bytes) and its bytes. */
export const UPDATE_SKETCH_MAX_BYTES = 2 + MAX_SKETCH_BYTES;
/** Known-block indexes a sender puts in one UPDATE (more go in the next); the frame limit counts them. */
export const MAX_KNOWN_PER_UPDATE = 1024;
/** An UPDATE's known section at most: its count (2 bytes) and MAX_KNOWN_PER_UPDATE 5-byte varints. */
export const UPDATE_KNOWN_MAX_BYTES = 2 + 5 * MAX_KNOWN_PER_UPDATE;

export interface WireLimits {
  /** Longest frame of any type; give ws the same number as maxPayload. */
  maxFrameBytes: number;
  /** Longest BLOCK data. */
  maxBlockBytes: number;
  /** Most entries in one UPDATE. */
  maxEntries: number;
  /**
   * Longest FULL bitfield in an UPDATE entry, and a DELTA's indexes are below 8 times it; a
   * HELLO whose file needs more is refused.
   */
  maxBitfieldBytes: number;
}

/** Before a HELLO has fixed the file: room for the largest block and 8M-block bitfields. */
export const DEFAULT_LIMITS: Readonly<WireLimits> = Object.freeze({
  maxFrameBytes: MAX_BLOCK_SIZE + 64,
  maxBlockBytes: MAX_BLOCK_SIZE,
  maxEntries: 256,
  maxBitfieldBytes: 1 * MiB,
});

/** ceil(size / blockSize), exact for every safe-integer size. */
export function blockCount(size: number, blockSize: number): number {
  const b = BigInt(blockSize);
  return Number((BigInt(size) + b - 1n) / b);
}

/**
 * Bytes of the largest UPDATE whose entries all carry an INTRO and a FULL bitfield of
 * bitfieldBytes, plus the largest known section and sketch:
 * UPDATE_HEADER_BYTES + maxEntries * (UPDATE_ENTRY_MAX_OVERHEAD + bitfieldBytes) + UPDATE_KNOWN_MAX_BYTES + UPDATE_SKETCH_MAX_BYTES.
 */
export function maxUpdateBytes(maxEntries: number, bitfieldBytes: number): number {
  return UPDATE_HEADER_BYTES + maxEntries * (UPDATE_ENTRY_MAX_OVERHEAD + bitfieldBytes) + UPDATE_KNOWN_MAX_BYTES + UPDATE_SKETCH_MAX_BYTES;
}

/**
 * Limits once a HELLO has fixed the file: blocks of exactly blockSize at most, bitfields of
 * exactly ceil(blocks / 8) bytes at most, and frames just big enough for either a BLOCK or
 * the largest UPDATE of maxUpdateBytes (never above base.maxFrameBytes: a sender with huge
 * bitfields splits its UPDATE, see encodedLength).
 * Throws RangeError when size or blockSize is invalid or the file does not fit `base`.
 */
export function limitsFor(size: number, blockSize: number, base: WireLimits = DEFAULT_LIMITS): WireLimits {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`size out of range: ${size}`);
  if (!Number.isInteger(blockSize) || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) {
    throw new RangeError(`blockSize out of range: ${blockSize}`);
  }
  const blocks = blockCount(size, blockSize);
  const bitfieldBytes = Math.ceil(blocks / 8);
  if (blocks > MAX_BLOCKS || bitfieldBytes > base.maxBitfieldBytes) {
    throw new RangeError(`a ${size}-byte file in ${blockSize}-byte blocks needs a bitfield over the wire limit`);
  }
  if (blockSize > base.maxBlockBytes) throw new RangeError(`blockSize ${blockSize} is over the wire limit`);
  const blockFrame = BLOCK_HEADER_BYTES + blockSize;
  const updateFrame = maxUpdateBytes(base.maxEntries, bitfieldBytes);
  return {
    maxFrameBytes: Math.min(base.maxFrameBytes, Math.max(blockFrame, updateFrame)),
    maxBlockBytes: blockSize,
    maxEntries: base.maxEntries,
    maxBitfieldBytes: bitfieldBytes,
  };
}

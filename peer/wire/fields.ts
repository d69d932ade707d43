// The wire's field codecs (FORMAT.md "General rules"), each written once as a
// { length, encode, decode } triple (the Field of reader-writer.ts): integers, varints, file
// sizes, hex ids, hosts and other ASCII, byte strings, a DELTA's block indexes, REJECT's
// reason. combinators.ts puts them back to back; messages.ts builds every message out of
// both, and no other code writes a byte layout (the header sizes in limits.ts are checked
// against these by test/wire-codec.test.ts).

import type { RejectReason } from '../core/messages.ts';
import type { WireErrorCode } from './errors.ts';
import {
  MAX_BITFIELD_BYTES,
  MAX_BLOCKS,
  MAX_BLOCK_SIZE,
  MAX_BYE_REASON_BYTES,
  DIGEST_BYTES,
  MAX_DIGESTS_PER_MESSAGE,
  MAX_FILE_SIZE,
  MAX_HOST_BYTES,
  MAX_PEER_ID_BYTES,
  MAX_SKETCH_BYTES,
  MAX_VARINT,
  MIN_BLOCK_SIZE,
  MIN_PEER_ID_BYTES,
} from './limits.ts';
import { varintLength, type Field, type Reader } from './reader-writer.ts';

// ---------------------------------------------------------------- integers

/** An unsigned integer; a value outside `range` is refused as range.code. */
export function uint(size: 1 | 2 | 4, range?: { min: number; max: number; code: WireErrorCode }): Field<number> {
  const min = range?.min ?? 0;
  const max = range?.max ?? 2 ** (8 * size) - 1;
  return {
    length: () => size,
    encode: (w, v) => w.uint(v, size, min, max),
    decode(r) {
      const v = r.uint(size);
      if (range && (v < min || v > max)) r.fail(range.code, v);
      return v;
    },
  };
}

export const u8 = uint(1);
export const u16 = uint(2);
export const u32 = uint(4);
/** Block indexes are u32 below 2^31. */
export const blockIndex = uint(4, { min: 0, max: MAX_BLOCKS - 1, code: 'INDEX_RANGE' });
export const port = uint(2, { min: 1, max: 0xffff, code: 'PORT_RANGE' });
export const blockSize = uint(4, { min: MIN_BLOCK_SIZE, max: MAX_BLOCK_SIZE, code: 'BLOCK_SIZE_RANGE' });

/** An unsigned LEB128 varint (0 .. 2^32 - 1); a value outside `range` is refused as range.code. */
export function varint(range?: { min: number; max: number; code: WireErrorCode }): Field<number> {
  const min = range?.min ?? 0;
  const max = range?.max ?? MAX_VARINT;
  return {
    length: (v) => varintLength(v),
    encode: (w, v) => w.varint(v, min, max),
    decode(r) {
      const v = r.varint();
      if (range && (v < min || v > max)) r.fail(range.code, v);
      return v;
    },
  };
}

const TWO_32 = 2 ** 32;
/** High word of a size: sizes are safe integers, below 2^53. */
const MAX_SIZE_HIGH = Math.floor(MAX_FILE_SIZE / TWO_32);

/** A file size: u64 as two u32 (high word first), below 2^53 so it is exact as a number. */
export const fileSize: Field<number> = {
  length: () => 8,
  encode(w, v) {
    if (!Number.isSafeInteger(v) || v < 0) w.bad();
    w.uint(Math.floor(v / TWO_32), 4, 0, MAX_SIZE_HIGH);
    w.uint(v >>> 0, 4, 0, TWO_32 - 1);
  },
  decode(r) {
    const high = r.uint(4);
    const low = r.uint(4);
    if (high > MAX_SIZE_HIGH) r.fail('SIZE_RANGE', `high word 0x${high.toString(16)}`);
    return high * TWO_32 + low;
  },
};

// ---------------------------------------------------------------- hex ids and ascii

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function nibble(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** A lowercase hex string sent as its raw bytes, after `prefix` (its byte count) or of a fixed count. */
function hexId(prefix: Field<number> | number): Field<string> {
  const prefixBytes = typeof prefix === 'number' ? 0 : prefix.length(0);
  return {
    length: (v) => prefixBytes + Math.ceil(v.length / 2),
    encode(w, v) {
      if (typeof v !== 'string' || v.length % 2 !== 0) w.bad();
      if (typeof prefix === 'number') {
        if (v.length !== 2 * prefix) w.bad();
      } else {
        prefix.encode(w, v.length / 2);
      }
      for (let i = 0; i < v.length; i += 2) {
        const hi = nibble(v.charCodeAt(i));
        const lo = nibble(v.charCodeAt(i + 1));
        if (hi < 0 || lo < 0) w.bad();
        w.out[w.pos++] = (hi << 4) | lo;
      }
    },
    decode(r) {
      const n = typeof prefix === 'number' ? prefix : prefix.decode(r);
      const at = r.take(n);
      let s = '';
      for (let i = at; i < at + n; i++) s += HEX[r.bytes[i] as number] as string;
      return s;
    },
  };
}

/** Printable ASCII (0x20–0x7e) after `prefix`, its length. */
function ascii(prefix: Field<number>): Field<string> {
  const prefixBytes = prefix.length(0);
  return {
    length: (v) => prefixBytes + v.length,
    encode(w, v) {
      if (typeof v !== 'string') w.bad();
      prefix.encode(w, v.length);
      for (let i = 0; i < v.length; i++) {
        const c = v.charCodeAt(i);
        if (c < 0x20 || c > 0x7e) w.bad();
        w.out[w.pos++] = c;
      }
    },
    decode(r) {
      const n = prefix.decode(r);
      const at = r.take(n);
      let s = '';
      for (let i = at; i < at + n; i++) {
        const c = r.bytes[i] as number;
        if (c < 0x20 || c > 0x7e) r.fail('NOT_ASCII', `byte 0x${HEX[c] as string} at offset ${i}`);
        s += String.fromCharCode(c);
      }
      return s;
    },
  };
}

export const SWARM_ID_BYTES = 32;
export const swarmId = hexId(SWARM_ID_BYTES);
export const peerId = hexId(uint(1, { min: MIN_PEER_ID_BYTES, max: MAX_PEER_ID_BYTES, code: 'ID_LENGTH' }));
export const host = ascii(uint(1, { min: 1, max: MAX_HOST_BYTES, code: 'EMPTY_HOST' })); // a u8 is never over 255
export const byeReason = ascii(uint(2, { min: 0, max: MAX_BYE_REASON_BYTES, code: 'BYE_TOO_LONG' }));

// ---------------------------------------------------------------- byte strings

interface BytesRule {
  prefix: 'u32' | 'varint'; // how the length is written
  min: number;
  max: number; // the protocol's bound, checked by encode
  limit: (r: Reader) => number; // the receiver's bound, checked by decode
  tooLarge: WireErrorCode;
  tooSmall?: WireErrorCode;
  copy: boolean;
}

/** Raw bytes after their length. Decoded as a view of the frame, or as a copy when rule.copy. */
function bytes(rule: BytesRule): Field<Uint8Array> {
  const varintPrefix = rule.prefix === 'varint';
  return {
    length: (v) => (varintPrefix ? varintLength(v.length) : 4) + v.length,
    encode(w, v) {
      if (!(v instanceof Uint8Array)) w.bad();
      if (varintPrefix) w.varint(v.length, rule.min, rule.max);
      else w.uint(v.length, 4, rule.min, rule.max);
      w.out.set(v, w.pos);
      w.pos += v.length;
    },
    decode(r) {
      const n = varintPrefix ? r.varint() : r.uint(4);
      const limit = rule.limit(r);
      if (n > limit) r.fail(rule.tooLarge, `${n} bytes, limit ${limit}`);
      if (n < rule.min) r.fail(rule.tooSmall ?? 'INTERNAL', `${n} bytes`);
      const at = r.take(n);
      // A plain Uint8Array even when the frame is a Buffer (whose slice() is a view).
      const view = new Uint8Array(r.bytes.buffer, r.bytes.byteOffset + at, n);
      return rule.copy ? view.slice() : view;
    },
  };
}

/** Zero-copy: blocks are big and are written out soon (see codec.ts). */
export const blockData = bytes({
  prefix: 'u32', min: 1, max: MAX_BLOCK_SIZE, limit: (r) => r.limit('maxBlockBytes'), tooLarge: 'BLOCK_TOO_LARGE', tooSmall: 'EMPTY_BLOCK', copy: false,
});
/** A FULL body's bitfield. Copied: bitfields stay in caches for long, and a view would pin the whole frame. */
export const bitfield = bytes({
  prefix: 'varint', min: 0, max: MAX_BITFIELD_BYTES, limit: (r) => r.limit('maxBitfieldBytes'), tooLarge: 'BITFIELD_TOO_LARGE', copy: true,
});
/** An UPDATE's sketch, opaque here (estimation/ decodes it). Copied, for the same reason. */
export const sketch = bytes({
  prefix: 'varint', min: 0, max: MAX_SKETCH_BYTES, limit: () => MAX_SKETCH_BYTES, tooLarge: 'SKETCH_TOO_LARGE', copy: true,
});

/**
 * A DELTA body's block indexes, strictly ascending: a varint count (at least 1), then the
 * first index and, for each next one, the gap to it (index - previous - 1), as varints.
 * Every index is below 2^31 and below maxBitfieldBytes * 8 (DELTA_RANGE); the gaps make
 * them ascending and distinct whatever the bytes say.
 */
export const blockDelta: Field<number[]> = {
  length(v) {
    let n = varintLength(v.length);
    let prev = -1;
    for (const i of v) {
      n += varintLength(i - prev - 1);
      prev = i;
    }
    return n;
  },
  encode(w, v) {
    if (!Array.isArray(v)) w.bad();
    w.varint(v.length, 1, MAX_BLOCKS);
    let prev = -1;
    for (const i of v) {
      if (!Number.isInteger(i) || i <= prev || i >= MAX_BLOCKS) w.bad();
      w.varint(i - prev - 1, 0, MAX_VARINT);
      prev = i;
    }
  },
  decode(r) {
    const end = Math.min(MAX_BLOCKS, r.limit('maxBitfieldBytes') * 8); // indexes are below end
    const count = r.varint();
    if (count < 1 || count > end) r.fail('DELTA_RANGE', `count ${count}, must be 1 .. ${end}`);
    // No allocation up front: each index takes at least one byte, so the frame bounds the work.
    const out: number[] = [];
    let prev = -1;
    for (let k = 0; k < count; k++) {
      const i = prev + 1 + r.varint();
      if (i >= end) r.fail('DELTA_RANGE', `index ${i} (item ${k}), must be below ${end}`);
      out.push(i);
      prev = i;
    }
    return out;
  },
};

/** Exactly `size` raw bytes, no length; copied (digests and nonces outlive the frame). */
export function fixedBytes(size: number): Field<Uint8Array> {
  return {
    length: () => size,
    encode(w, v) {
      if (!(v instanceof Uint8Array) || v.length !== size) w.bad();
      w.out.set(v, w.pos);
      w.pos += size;
    },
    decode(r) {
      const at = r.take(size);
      return r.bytes.slice(at, at + size);
    },
  };
}

/** A block digest: DIGEST_BYTES raw bytes. */
export const digest = fixedBytes(DIGEST_BYTES);
/** A private swarm's CHALLENGE nonce and PROOF MAC (peer/core/swarm-auth.ts). */
export const nonce = fixedBytes(16);
export const mac = fixedBytes(32);

/**
 * A DIGESTS message's (index, digest) pairs, indexes strictly ascending: a varint count
 * (1 .. MAX_DIGESTS_PER_MESSAGE), then for each pair the gap to the index before it (as in a
 * DELTA) and DIGEST_BYTES of digest. Indexes are below maxBitfieldBytes * 8 (DIGESTS_RANGE).
 */
export const blockDigests: Field<{ index: number; digest: Uint8Array }[]> = {
  length(v) {
    let n = varintLength(v.length);
    let prev = -1;
    for (const { index } of v) {
      n += varintLength(index - prev - 1) + DIGEST_BYTES;
      prev = index;
    }
    return n;
  },
  encode(w, v) {
    if (!Array.isArray(v)) w.bad();
    w.varint(v.length, 1, MAX_DIGESTS_PER_MESSAGE);
    let prev = -1;
    for (const item of v) {
      const i = item?.index;
      if (!Number.isInteger(i) || i <= prev || i >= MAX_BLOCKS) w.bad();
      w.varint(i - prev - 1, 0, MAX_VARINT);
      digest.encode(w, item.digest);
      prev = i;
    }
  },
  decode(r) {
    const end = Math.min(MAX_BLOCKS, r.limit('maxBitfieldBytes') * 8);
    const count = r.varint();
    if (count < 1 || count > MAX_DIGESTS_PER_MESSAGE) r.fail('DIGESTS_RANGE', `count ${count}, must be 1 .. ${MAX_DIGESTS_PER_MESSAGE}`);
    const out: { index: number; digest: Uint8Array }[] = [];
    let prev = -1;
    for (let k = 0; k < count; k++) {
      const index = prev + 1 + r.varint();
      if (index >= end) r.fail('DIGESTS_RANGE', `index ${index} (item ${k}), must be below ${end}`);
      out.push({ index, digest: digest.decode(r) });
      prev = index;
    }
    return out;
  },
};

// ---------------------------------------------------------------- enums

export const REJECT_CODES = { missing: 0x01, busy: 0x02 } as const satisfies Record<RejectReason, number>;

export const rejectReason: Field<RejectReason> = {
  length: () => 1,
  encode(w, v) {
    if (!Object.hasOwn(REJECT_CODES, v)) w.bad();
    w.uint(REJECT_CODES[v], 1, 0, 0xff);
  },
  decode(r) {
    const c = r.uint(1);
    if (c === REJECT_CODES.missing) return 'missing';
    if (c === REJECT_CODES.busy) return 'busy';
    return r.fail('REJECT_REASON', c);
  },
};

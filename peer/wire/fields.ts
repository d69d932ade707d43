// The wire's field codecs (FORMAT.md "General rules"), each written once as a
// { length, encode, decode } triple, and record/entryList to put fields back to back.
// messages.ts builds every message out of these; no other code writes a byte layout (the
// header sizes in limits.ts are checked against these by test/wire-codec.test.ts).
//
// A Reader or Writer remembers which field it is in, so a failure names it: decoding
// throws Malformed (a code and a detail, caught by decode()), encoding throws RangeError.

import type { RejectReason } from '../core/messages.ts';
import type { WireErrorCode } from './errors.ts';
import {
  DEFAULT_LIMITS,
  MAX_BITFIELD_BYTES,
  MAX_BLOCKS,
  MAX_BLOCK_SIZE,
  MAX_BYE_REASON_BYTES,
  MAX_FILE_SIZE,
  MAX_HOST_BYTES,
  MAX_PEER_ID_BYTES,
  MIN_BLOCK_SIZE,
  MIN_PEER_ID_BYTES,
  type WireLimits,
} from './limits.ts';

export interface Field<T> {
  /** Bytes v takes on the wire (for a v that encode accepts). */
  length(v: T): number;
  /** Writes v at w.pos; w.bad() when v breaks the field's rule. */
  encode(w: Writer, v: T): void;
  /** Reads the field at r.pos; r.fail() or a TRUNCATED when the bytes break its rule. */
  decode(r: Reader): T;
}

/** Thrown inside decode only and caught there; not an Error, so no stack trace is captured. */
export class Malformed {
  constructor(
    readonly code: WireErrorCode,
    readonly detail: string,
  ) {}
}

/** Where a Reader or Writer is, for messages: the message, its field, the list item if in one. */
class Cursor {
  pos = 0;
  field = '';
  list = '';
  item = -1;

  constructor(readonly what: string) {}

  where(): string {
    if (this.field === '') return this.what;
    return this.item < 0 ? `${this.what}.${this.field}` : `${this.what}.${this.list}[${this.item}].${this.field}`;
  }
}

export class Reader extends Cursor {
  constructor(
    readonly bytes: Uint8Array,
    what: string,
    private readonly limits: Partial<WireLimits> | undefined,
  ) {
    super(what);
  }

  limit(name: keyof WireLimits): number {
    return this.limits?.[name] ?? DEFAULT_LIMITS[name];
  }

  fail(code: WireErrorCode, value: number | string): never {
    throw new Malformed(code, `${this.where()}: ${value}`);
  }

  /** Position of the next n bytes, which are then consumed; TRUNCATED when fewer are left. */
  take(n: number): number {
    const at = this.pos;
    const left = this.bytes.length - at;
    if (left < n) throw new Malformed('TRUNCATED', `${this.where()}: needs ${n} bytes, ${left} left`);
    this.pos = at + n;
    return at;
  }

  /** A big-endian unsigned integer of 1, 2 or 4 bytes. */
  uint(size: 1 | 2 | 4): number {
    const b = this.bytes;
    const at = this.take(size);
    if (size === 1) return b[at] as number;
    if (size === 2) return ((b[at] as number) << 8) | (b[at + 1] as number);
    return (b[at] as number) * 2 ** 24 + (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number));
  }

  end(): void {
    const extra = this.bytes.length - this.pos;
    if (extra !== 0) throw new Malformed('TRAILING_BYTES', `${this.what}: ${extra} bytes after the last field`);
  }
}

export class Writer extends Cursor {
  constructor(readonly out: Uint8Array, what: string) {
    super(what);
  }

  bad(): never {
    throw new RangeError(`cannot encode ${this.where()}: out of range`);
  }

  /** A big-endian unsigned integer of 1, 2 or 4 bytes, checked to be a whole number in [min, max]. */
  uint(v: number, size: 1 | 2 | 4, min: number, max: number): void {
    if (!Number.isInteger(v) || v < min || v > max) this.bad();
    for (let i = size - 1, x = v; i >= 0; i--, x = Math.floor(x / 256)) this.out[this.pos + i] = x % 256;
    this.pos += size;
  }
}

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
  min: number;
  max: number; // the protocol's bound, checked by encode
  limit: 'maxBlockBytes' | 'maxBitfieldBytes'; // the receiver's bound, checked by decode
  tooLarge: WireErrorCode;
  tooSmall?: WireErrorCode;
  copy: boolean;
}

/** Raw bytes after a u32 length. Decoded as a view of the frame, or as a copy when rule.copy. */
function bytes(rule: BytesRule): Field<Uint8Array> {
  return {
    length: (v) => 4 + v.length,
    encode(w, v) {
      if (!(v instanceof Uint8Array)) w.bad();
      w.uint(v.length, 4, rule.min, rule.max);
      w.out.set(v, w.pos);
      w.pos += v.length;
    },
    decode(r) {
      const n = r.uint(4);
      if (n > r.limit(rule.limit)) r.fail(rule.tooLarge, `${n} bytes, limit ${r.limit(rule.limit)}`);
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
  min: 1, max: MAX_BLOCK_SIZE, limit: 'maxBlockBytes', tooLarge: 'BLOCK_TOO_LARGE', tooSmall: 'EMPTY_BLOCK', copy: false,
});
/** Copied: bitfields stay in caches for long, and a view would pin the whole frame. */
export const bitfield = bytes({ min: 0, max: MAX_BITFIELD_BYTES, limit: 'maxBitfieldBytes', tooLarge: 'BITFIELD_TOO_LARGE', copy: true });

// ---------------------------------------------------------------- enums and composites

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

export type Fields<T> = { readonly [K in keyof T]-?: Field<T[K]> };

/** Fields back to back, in the order of the keys of `fields` (JS keeps string keys in insertion order). */
export function record<T extends object>(fields: Fields<T>): Field<T> {
  const keys = Object.keys(fields) as (keyof T & string)[];
  const codecs = keys.map((k) => fields[k] as Field<unknown>);
  return {
    length(v) {
      let n = 0;
      for (let i = 0; i < keys.length; i++) n += (codecs[i] as Field<unknown>).length(v[keys[i] as keyof T]);
      return n;
    },
    encode(w, v) {
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as keyof T & string;
        w.field = key;
        (codecs[i] as Field<unknown>).encode(w, v[key]);
      }
    },
    decode(r) {
      const out: Partial<T> = {};
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as keyof T & string;
        r.field = key;
        out[key] = (codecs[i] as Field<unknown>).decode(r) as T[typeof key];
      }
      return out as T;
    },
  };
}

/** UPDATE entries: a u16 count (at most the receiver's maxEntries), then the entries back to back. */
export function entryList<T>(entry: Field<T>): Field<T[]> {
  return {
    length(v) {
      let n = 2;
      for (const e of v) n += entry.length(e);
      return n;
    },
    encode(w, v) {
      if (!Array.isArray(v)) w.bad();
      w.uint(v.length, 2, 0, 0xffff);
      w.list = w.field;
      v.forEach((e, i) => {
        w.item = i;
        entry.encode(w, e);
      });
      w.item = -1;
    },
    decode(r) {
      const count = r.uint(2);
      if (count > r.limit('maxEntries')) r.fail('TOO_MANY_ENTRIES', `${count} entries, limit ${r.limit('maxEntries')}`);
      r.list = r.field;
      const out: T[] = [];
      for (let i = 0; i < count; i++) {
        r.item = i;
        out.push(entry.decode(r));
      }
      r.item = -1;
      return out;
    },
  };
}

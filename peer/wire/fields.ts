// The wire's field codecs (FORMAT.md "General rules"), each written once as a
// { length, encode, decode } triple, and the composites that put fields back to back:
// record (fixed fields), flagged (a flags byte that says which optional fields follow, and
// which case of a union) and entryList (a counted list).
// messages.ts builds every message out of these; no other code writes a byte layout (the
// header sizes in limits.ts are checked against these by test/wire-codec.test.ts).
//
// A Reader or Writer remembers which field it is in (a dotted path such as intro.port), so a
// failure names it: decoding throws Malformed (a code and a detail, caught by decode()),
// encoding throws RangeError.

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
  MAX_SKETCH_BYTES,
  MAX_VARINT,
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
    const at = this.item < 0 ? this.field : this.field === '' ? `${this.list}[${this.item}]` : `${this.list}[${this.item}].${this.field}`;
    return at === '' ? this.what : `${this.what}.${at}`;
  }
}

/** The path of `key` inside the field `base` (which is '' at the top of a message or list item). */
function path(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

const hex2 = (b: number): string => b.toString(16).padStart(2, '0');

/** Bytes of v as an unsigned LEB128 varint (v a whole number in 0 .. 2^32 - 1). */
export function varintLength(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
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

  /**
   * An unsigned LEB128 varint (7 bits a byte, least significant first, bit 7 set on every
   * byte but the last): at most 5 bytes and 2^32 - 1 (VARINT_RANGE), in its shortest
   * encoding (VARINT_OVERLONG: a last byte of 0x00 after the first).
   */
  varint(): number {
    const b = this.bytes;
    let v = 0;
    for (let i = 0; ; i++) {
      const byte = b[this.take(1)] as number;
      // The 5th byte holds bits 28-31: anything over 0x0f (a continuation included) is 2^32 or more.
      if (i === 4 && byte > 0x0f) this.fail('VARINT_RANGE', `over 2^32 - 1 (byte 5 is 0x${hex2(byte)})`);
      v += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) {
        if (byte === 0 && i > 0) this.fail('VARINT_OVERLONG', `${v} in ${i + 1} bytes, ${varintLength(v)} needed`);
        return v;
      }
    }
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

  /** An unsigned LEB128 varint in its shortest encoding, checked to be a whole number in [min, max] (max <= 2^32 - 1). */
  varint(v: number, min: number, max: number): void {
    if (!Number.isInteger(v) || v < min || v > max || v > MAX_VARINT) this.bad();
    let x = v;
    while (x >= 0x80) {
      this.out[this.pos++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    this.out[this.pos++] = x;
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
      const base = w.field;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as keyof T & string;
        w.field = path(base, key);
        (codecs[i] as Field<unknown>).encode(w, v[key]);
      }
      w.field = base;
    },
    decode(r) {
      const base = r.field;
      const out: Partial<T> = {};
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as keyof T & string;
        r.field = path(base, key);
        out[key] = (codecs[i] as Field<unknown>).decode(r) as T[typeof key];
      }
      r.field = base;
      return out as T;
    },
  };
}

/**
 * One member of a flagged record: some bits of its flags byte (`mask`), some bytes after
 * it, or both. A plain Field is a member with no bits.
 */
export interface Part<V> {
  readonly mask: number;
  /** v's bits in the flags byte (0 for a value encode will refuse: encode says why). */
  bits(v: V): number;
  length(v: V): number;
  /** Writes v's bytes (none for a bit); w.bad() when v breaks the rule. */
  encode(w: Writer, v: V): void;
  /** Whether the flags byte's bits under `mask` mean something (a union's tag may not). */
  valid?(flags: number): boolean;
  /** Reads v's bytes, if the flags say there are any; undefined: absent, the key is left out. */
  decode(r: Reader, flags: number): V | undefined;
}

/** A boolean that is one bit of the flags byte, with no bytes. */
export function bit(mask: number): Part<boolean> {
  return {
    mask,
    bits: (v) => (v === true ? mask : 0),
    length: () => 0,
    encode(w, v) {
      if (typeof v !== 'boolean') w.bad();
    },
    decode: (_r, flags) => (flags & mask) !== 0,
  };
}

/** An optional field: present (its bytes follow, at its place) exactly when its bit is set. */
export function when<V>(mask: number, field: Field<V>): Part<V | undefined> {
  return {
    mask,
    bits: (v) => (v === undefined ? 0 : mask),
    length: (v) => (v === undefined ? 0 : field.length(v)),
    encode(w, v) {
      if (v !== undefined) field.encode(w, v);
    },
    decode: (r, flags) => ((flags & mask) !== 0 ? field.decode(r) : undefined),
  };
}

type Cases<U extends { kind: string }> = {
  readonly [K in U['kind']]: readonly [tag: number, fields: Field<Omit<Extract<U, { kind: K }>, 'kind'>>];
};

/**
 * A union discriminated by `kind`: the case's tag is the bits under `mask` of the flags byte,
 * and the case's fields follow at the union's place. A tag that names no case is refused.
 */
export function union<U extends { kind: string }>(mask: number, cases: Cases<U>): Part<U> {
  const low = mask & -mask; // the tag's unit
  const kinds = Object.keys(cases) as U['kind'][];
  const byTag = new Map<number, U['kind']>(kinds.map((k) => [cases[k][0], k]));
  const caseOf = (v: U): (typeof cases)[U['kind']] | undefined =>
    v !== null && typeof v === 'object' && Object.hasOwn(cases, v.kind) ? cases[v.kind as U['kind']] : undefined;
  return {
    mask,
    bits: (v) => (caseOf(v)?.[0] ?? 0) * low,
    length: (v) => (caseOf(v)?.[1].length(v as never) ?? 0),
    encode(w, v) {
      const c = caseOf(v);
      if (c === undefined) return w.bad();
      c[1].encode(w, v as never);
    },
    valid: (flags) => byTag.has((flags & mask) / low),
    decode(r, flags) {
      const kind = byTag.get((flags & mask) / low) as U['kind']; // valid() has checked it
      return { kind, ...cases[kind][1].decode(r) } as unknown as U;
    },
  };
}

export type Parts<T> = { readonly [K in keyof T]-?: Part<T[K]> | Field<T[K]> };

const isPart = (p: Part<unknown> | Field<unknown>): p is Part<unknown> => 'mask' in p;

/**
 * A flags byte (named `name`), then the members' bytes in the order of the keys of `parts`.
 * Each bit of the flags byte belongs to one member (a bit, an optional field, a union's tag);
 * a flags byte with a bit no member owns, or a union tag that names no case, is refused as `code`.
 */
export function flagged<T extends object>(name: string, code: WireErrorCode, parts: Parts<T>): Field<T> {
  const keys = Object.keys(parts) as (keyof T & string)[];
  const members: Part<unknown>[] = keys.map((k) => {
    const p = parts[k] as Part<unknown> | Field<unknown>;
    return isPart(p) ? p : { mask: 0, bits: () => 0, length: (v) => p.length(v), encode: (w, v) => p.encode(w, v), decode: (r) => p.decode(r) };
  });
  let owned = 0;
  for (const m of members) {
    if ((owned & m.mask) !== 0) throw new Error(`internal: ${name} has a bit owned twice`);
    owned |= m.mask;
  }
  return {
    length(v) {
      let n = 1;
      for (let i = 0; i < keys.length; i++) n += (members[i] as Part<unknown>).length(v[keys[i] as keyof T]);
      return n;
    },
    encode(w, v) {
      const base = w.field;
      let flags = 0;
      for (let i = 0; i < keys.length; i++) flags |= (members[i] as Part<unknown>).bits(v[keys[i] as keyof T]);
      w.field = path(base, name);
      w.uint(flags, 1, 0, 0xff);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as keyof T & string;
        w.field = path(base, key);
        (members[i] as Part<unknown>).encode(w, v[key]);
      }
      w.field = base;
    },
    decode(r) {
      const base = r.field;
      r.field = path(base, name);
      const flags = r.uint(1);
      if ((flags & ~owned) !== 0 || members.some((m) => m.valid !== undefined && !m.valid(flags))) r.fail(code, `0x${hex2(flags)}`);
      const out: Partial<T> = {};
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as keyof T & string;
        r.field = path(base, key);
        const value = (members[i] as Part<unknown>).decode(r, flags);
        if (value !== undefined) out[key] = value as T[typeof key];
      }
      r.field = base;
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
      const base = w.field;
      w.list = base;
      w.field = '';
      v.forEach((e, i) => {
        w.item = i;
        entry.encode(w, e);
      });
      w.item = -1;
      w.field = base;
    },
    decode(r) {
      const count = r.uint(2);
      if (count > r.limit('maxEntries')) r.fail('TOO_MANY_ENTRIES', `${count} entries, limit ${r.limit('maxEntries')}`);
      const base = r.field;
      r.list = base;
      r.field = '';
      const out: T[] = [];
      for (let i = 0; i < count; i++) {
        r.item = i;
        out.push(entry.decode(r));
      }
      r.item = -1;
      r.field = base;
      return out;
    },
  };
}

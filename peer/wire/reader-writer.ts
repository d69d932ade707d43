// The Reader and Writer every field codec works on, and the Field contract itself
// ({ length, encode, decode }). Kept apart from the codecs (fields.ts) and the composites
// (combinators.ts) because both build on it and it is the one place that touches bytes and
// positions directly.
//
// A Reader or Writer remembers which field it is in (a dotted path such as intro.port), so a
// failure names it: decoding throws Malformed (a code and a detail, caught by decode()),
// encoding throws RangeError.

import type { WireErrorCode } from './errors.ts';
import { DEFAULT_LIMITS, MAX_VARINT, type WireLimits } from './limits.ts';

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

/** A byte as two lowercase hex digits, for failure details. */
export const hex2 = (b: number): string => b.toString(16).padStart(2, '0');

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

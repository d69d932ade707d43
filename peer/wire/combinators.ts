// The composites that put field codecs back to back: record (fixed fields), flagged (a
// flags byte that says which optional fields follow, and which case of a union: bit, when,
// union) and entryList (a counted list). Each keeps the Reader's or Writer's field path up
// to date, so a failure inside names the field it is in. The single fields are in fields.ts.

import type { WireErrorCode } from './errors.ts';
import { hex2, type Field, type Reader, type Writer } from './reader-writer.ts';

/** The path of `key` inside the field `base` (which is '' at the top of a message or list item). */
function path(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

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

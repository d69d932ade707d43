// Binary codec for the peer wire protocol (PROTOCOL.md §4); the byte layout is FORMAT.md.
// decode() never throws: a peer's bytes are untrusted and a bad frame is a value the node
// turns into a close reason. encode() throws on a message our own code got wrong.
//
// Decoded byte fields: BLOCK data is a zero-copy view of the frame (blocks are big; keep it
// only if nobody reuses the frame's memory — ws does not); UPDATE bits are copies, since they
// are kept in caches for long and a view would pin the whole frame.

import type {
  Block,
  Bye,
  Hello,
  Message,
  MessageType,
  Reject,
  RejectReason,
  Request,
  Update,
  UpdateEntry,
} from '../core/messages.ts';
import {
  BLOCK_HEADER_BYTES,
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
  UPDATE_HEADER_BYTES,
  blockCount,
  type WireLimits,
} from './limits.ts';

export type DecodeResult = { ok: true; msg: Message } | { ok: false; reason: string };

export const TYPE_CODES = {
  HELLO: 0x01,
  UPDATE: 0x02,
  REQUEST: 0x03,
  BLOCK: 0x04,
  REJECT: 0x05,
  BYE: 0x06,
} as const satisfies Record<MessageType, number>;

export const REJECT_CODES = { missing: 0x01, busy: 0x02 } as const satisfies Record<RejectReason, number>;

/** Block indexes are below this. */
const INDEX_LIMIT = MAX_BLOCKS;
const SWARM_ID_BYTES = 32;
const TWO_32 = 2 ** 32;
/** High word of a size: sizes are safe integers, below 2^53. */
const MAX_SIZE_HIGH = Math.floor(MAX_FILE_SIZE / TWO_32);
const UINT32_MAX = TWO_32 - 1;
/** decode's answer to a bug of its own; tests assert it never shows. */
export const INTERNAL_REASON = 'internal decoder error';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// ---------------------------------------------------------------- decode

/** Thrown and caught inside decode only; not an Error, so no stack trace is captured. */
class Malformed {
  constructor(readonly reason: string) {}
}

class Reader {
  pos = 1; // past the type byte
  readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    public what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(n: number): void {
    if (this.bytes.length - this.pos < n) throw new Malformed(`truncated ${this.what}`);
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++] as number;
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  index(): number {
    const v = this.u32();
    if (v >= INDEX_LIMIT) throw new Malformed('index out of range');
    return v;
  }

  port(): number {
    const v = this.u16();
    if (v === 0) throw new Malformed('port out of range');
    return v;
  }

  hex(n: number): string {
    this.need(n);
    let s = '';
    for (let i = this.pos, end = this.pos + n; i < end; i++) s += HEX[this.bytes[i] as number] as string;
    this.pos += n;
    return s;
  }

  /** A length-prefixed peer id, as lowercase hex. */
  peerId(field: string): string {
    const n = this.u8();
    if (n < MIN_PEER_ID_BYTES || n > MAX_PEER_ID_BYTES) throw new Malformed(`${field} length out of range`);
    return this.hex(n);
  }

  /** n bytes of printable ASCII. */
  ascii(n: number, field: string): string {
    this.need(n);
    let s = '';
    for (let i = this.pos, end = this.pos + n; i < end; i++) {
      const c = this.bytes[i] as number;
      if (c < 0x20 || c > 0x7e) throw new Malformed(`${field} not printable ASCII`);
      s += String.fromCharCode(c);
    }
    this.pos += n;
    return s;
  }

  host(): string {
    const n = this.u8();
    if (n === 0) throw new Malformed('empty host');
    return this.ascii(n, 'host');
  }

  end(): void {
    if (this.pos !== this.bytes.length) throw new Malformed('trailing bytes');
  }
}

function fail(reason: string): DecodeResult {
  return { ok: false, reason };
}

/** Decodes one frame; never throws. Limits not given are DEFAULT_LIMITS. */
export function decode(frame: Uint8Array, limits?: Partial<WireLimits>): DecodeResult {
  if (!(frame instanceof Uint8Array)) return fail('not a binary frame');
  if (frame.length === 0) return fail('empty frame');
  if (frame.length > (limits?.maxFrameBytes ?? DEFAULT_LIMITS.maxFrameBytes)) return fail('frame too large');
  const type = frame[0] as number;
  try {
    switch (type) {
      case TYPE_CODES.HELLO:
        return { ok: true, msg: decodeHello(new Reader(frame, 'HELLO'), limits) };
      case TYPE_CODES.UPDATE:
        return { ok: true, msg: decodeUpdate(new Reader(frame, 'UPDATE'), limits) };
      case TYPE_CODES.REQUEST:
        return { ok: true, msg: decodeRequest(new Reader(frame, 'REQUEST')) };
      case TYPE_CODES.BLOCK:
        return { ok: true, msg: decodeBlock(new Reader(frame, 'BLOCK'), limits) };
      case TYPE_CODES.REJECT:
        return { ok: true, msg: decodeReject(new Reader(frame, 'REJECT')) };
      case TYPE_CODES.BYE:
        return { ok: true, msg: decodeBye(new Reader(frame, 'BYE')) };
      default:
        return fail(`unknown type 0x${HEX[type] as string}`);
    }
  } catch (err) {
    return fail(err instanceof Malformed ? err.reason : INTERNAL_REASON);
  }
}

function decodeHello(r: Reader, limits: Partial<WireLimits> | undefined): Hello {
  const version = r.u32();
  const swarmId = r.hex(SWARM_ID_BYTES);
  const peerId = r.peerId('peerId');
  const host = r.host();
  const port = r.port();
  const high = r.u32();
  const low = r.u32();
  if (high > MAX_SIZE_HIGH) throw new Malformed('size out of range');
  const size = high * TWO_32 + low;
  const blockSize = r.u32();
  if (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) throw new Malformed('blockSize out of range');
  const flags = r.u8();
  r.end();
  if (blockSize > (limits?.maxBlockBytes ?? DEFAULT_LIMITS.maxBlockBytes)) throw new Malformed('blockSize over limit');
  const blocks = blockCount(size, blockSize);
  const maxBitfield = limits?.maxBitfieldBytes ?? DEFAULT_LIMITS.maxBitfieldBytes;
  if (blocks > MAX_BLOCKS || Math.ceil(blocks / 8) > maxBitfield) throw new Malformed('too many blocks');
  return { type: 'HELLO', version, swarmId, peerId, host, port, size, blockSize, flags };
}

function decodeUpdate(r: Reader, limits: Partial<WireLimits> | undefined): Update {
  const count = r.u16();
  if (count > (limits?.maxEntries ?? DEFAULT_LIMITS.maxEntries)) throw new Malformed('too many UPDATE entries');
  const maxBitfield = limits?.maxBitfieldBytes ?? DEFAULT_LIMITS.maxBitfieldBytes;
  r.what = 'UPDATE entry';
  const entries: UpdateEntry[] = [];
  for (let i = 0; i < count; i++) {
    const originId = r.peerId('originId');
    const host = r.host();
    const port = r.port();
    const seq = r.u32();
    const hops = r.u8();
    const degree = r.u16();
    const n = r.u32();
    if (n > maxBitfield) throw new Malformed('bitfield too large');
    r.need(n);
    // A copy, and a plain Uint8Array even when the frame is a Buffer (whose slice() is a view).
    const bits = new Uint8Array(r.bytes.buffer, r.bytes.byteOffset + r.pos, n).slice();
    r.pos += n;
    entries.push({ originId, host, port, seq, hops, degree, bits });
  }
  r.end();
  return { type: 'UPDATE', entries };
}

function decodeRequest(r: Reader): Request {
  const index = r.index();
  r.end();
  return { type: 'REQUEST', index };
}

function decodeBlock(r: Reader, limits: Partial<WireLimits> | undefined): Block {
  const index = r.index();
  const n = r.u32();
  if (n > (limits?.maxBlockBytes ?? DEFAULT_LIMITS.maxBlockBytes)) throw new Malformed('BLOCK too large');
  if (n === 0) throw new Malformed('empty BLOCK');
  r.need(n);
  const data = new Uint8Array(r.bytes.buffer, r.bytes.byteOffset + r.pos, n);
  r.pos += n;
  r.end();
  return { type: 'BLOCK', index, data };
}

function decodeReject(r: Reader): Reject {
  const index = r.index();
  const code = r.u8();
  r.end();
  const reason: RejectReason | undefined =
    code === REJECT_CODES.missing ? 'missing' : code === REJECT_CODES.busy ? 'busy' : undefined;
  if (reason === undefined) throw new Malformed(`unknown REJECT reason ${code}`);
  return { type: 'REJECT', index, reason };
}

function decodeBye(r: Reader): Bye {
  const n = r.u16();
  if (n > MAX_BYE_REASON_BYTES) throw new Malformed('BYE reason too long');
  const reason = r.ascii(n, 'BYE reason');
  r.end();
  return { type: 'BYE', reason };
}

// ---------------------------------------------------------------- encode

/** Bytes encode(msg) returns for a valid msg; lets a sender split UPDATEs to fit maxFrameBytes. */
export function encodedLength(msg: Message): number {
  switch (msg.type) {
    case 'HELLO':
      return 1 + 4 + SWARM_ID_BYTES + 1 + Math.ceil(msg.peerId.length / 2) + 1 + msg.host.length + 2 + 8 + 4 + 1;
    case 'UPDATE': {
      let n = UPDATE_HEADER_BYTES;
      for (const e of msg.entries) n += updateEntryLength(e);
      return n;
    }
    case 'REQUEST':
      return 5;
    case 'BLOCK':
      return BLOCK_HEADER_BYTES + msg.data.length;
    case 'REJECT':
      return 6;
    case 'BYE':
      return 3 + msg.reason.length;
    default:
      throw new TypeError(`cannot encode a message of type ${String((msg as { type?: unknown }).type)}`);
  }
}

/** Bytes one entry adds to an UPDATE frame. */
export function updateEntryLength(e: UpdateEntry): number {
  return 1 + Math.ceil(e.originId.length / 2) + 1 + e.host.length + 2 + 4 + 1 + 2 + 4 + e.bits.length;
}

class Writer {
  pos = 0;
  readonly view: DataView;

  constructor(
    readonly out: Uint8Array,
    readonly what: string,
  ) {
    this.view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  }

  bad(field: string): never {
    throw new RangeError(`cannot encode ${this.what}: ${field} out of range`);
  }

  uint(value: number, min: number, max: number, field: string): number {
    if (!Number.isInteger(value) || value < min || value > max) this.bad(field);
    return value;
  }

  u8(v: number, field: string, min = 0, max = 0xff): void {
    this.view.setUint8(this.pos, this.uint(v, min, max, field));
    this.pos += 1;
  }

  u16(v: number, field: string, min = 0, max = 0xffff): void {
    this.view.setUint16(this.pos, this.uint(v, min, max, field));
    this.pos += 2;
  }

  u32(v: number, field: string, min = 0, max = UINT32_MAX): void {
    this.view.setUint32(this.pos, this.uint(v, min, max, field));
    this.pos += 4;
  }

  /** Lowercase hex of minBytes..maxBytes bytes, as raw bytes (length-prefixed when asked). */
  hex(s: string, minBytes: number, maxBytes: number, field: string, prefixed: boolean): void {
    if (typeof s !== 'string' || s.length % 2 !== 0 || s.length < 2 * minBytes || s.length > 2 * maxBytes) {
      this.bad(field);
    }
    if (prefixed) this.out[this.pos++] = s.length / 2;
    for (let i = 0; i < s.length; i += 2) {
      const hi = nibble(s.charCodeAt(i));
      const lo = nibble(s.charCodeAt(i + 1));
      if (hi < 0 || lo < 0) this.bad(field);
      this.out[this.pos++] = (hi << 4) | lo;
    }
  }

  /** Printable ASCII after a length of lengthBytes (1 or 2). */
  ascii(s: string, min: number, max: number, field: string, lengthBytes: 1 | 2): void {
    if (typeof s !== 'string' || s.length < min || s.length > max) this.bad(field);
    if (lengthBytes === 1) this.out[this.pos++] = s.length;
    else this.u16(s.length, field);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e) this.bad(field);
      this.out[this.pos++] = c;
    }
  }

  bytes(b: Uint8Array, min: number, max: number, field: string): void {
    if (!(b instanceof Uint8Array)) this.bad(field);
    this.u32(b.length, field, min, max);
    this.out.set(b, this.pos);
    this.pos += b.length;
  }
}

function nibble(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** Encodes a message into one frame (one allocation); throws RangeError/TypeError on an invalid message. */
export function encode(msg: Message): Uint8Array {
  // Checked before allocating, so a wrong message cannot ask for a huge buffer.
  if (msg.type === 'BLOCK' && !(msg.data instanceof Uint8Array && msg.data.length <= MAX_BLOCK_SIZE)) {
    throw new RangeError('cannot encode BLOCK: data length out of range');
  }
  if (msg.type === 'UPDATE' && !(Array.isArray(msg.entries) && msg.entries.length <= 0xffff)) {
    throw new RangeError('cannot encode UPDATE: entry count out of range');
  }
  const length = encodedLength(msg);
  if (!Number.isSafeInteger(length)) throw new TypeError(`cannot encode ${msg.type}: malformed message`);
  const w = new Writer(new Uint8Array(length), msg.type);
  w.out[w.pos++] = TYPE_CODES[msg.type];
  switch (msg.type) {
    case 'HELLO':
      w.u32(msg.version, 'version');
      w.hex(msg.swarmId, SWARM_ID_BYTES, SWARM_ID_BYTES, 'swarmId', false);
      w.hex(msg.peerId, MIN_PEER_ID_BYTES, MAX_PEER_ID_BYTES, 'peerId', true);
      w.ascii(msg.host, 1, MAX_HOST_BYTES, 'host', 1);
      w.u16(msg.port, 'port', 1);
      w.uint(msg.size, 0, MAX_FILE_SIZE, 'size');
      w.u32(Math.floor(msg.size / TWO_32), 'size');
      w.u32(msg.size >>> 0, 'size');
      w.u32(msg.blockSize, 'blockSize', MIN_BLOCK_SIZE, MAX_BLOCK_SIZE);
      if (blockCount(msg.size, msg.blockSize) > MAX_BLOCKS) w.bad('size');
      w.u8(msg.flags, 'flags');
      break;
    case 'UPDATE':
      w.u16(msg.entries.length, 'entry count');
      for (const e of msg.entries) {
        w.hex(e.originId, MIN_PEER_ID_BYTES, MAX_PEER_ID_BYTES, 'originId', true);
        w.ascii(e.host, 1, MAX_HOST_BYTES, 'host', 1);
        w.u16(e.port, 'port', 1);
        w.u32(e.seq, 'seq');
        w.u8(e.hops, 'hops');
        w.u16(e.degree, 'degree');
        w.bytes(e.bits, 0, MAX_BITFIELD_BYTES, 'bits length');
      }
      break;
    case 'REQUEST':
      w.u32(msg.index, 'index', 0, INDEX_LIMIT - 1);
      break;
    case 'BLOCK':
      w.u32(msg.index, 'index', 0, INDEX_LIMIT - 1);
      w.bytes(msg.data, 1, MAX_BLOCK_SIZE, 'data length');
      break;
    case 'REJECT': {
      w.u32(msg.index, 'index', 0, INDEX_LIMIT - 1);
      w.out[w.pos++] = Object.hasOwn(REJECT_CODES, msg.reason) ? REJECT_CODES[msg.reason] : w.bad('reason');
      break;
    }
    case 'BYE':
      w.ascii(msg.reason, 0, MAX_BYE_REASON_BYTES, 'reason', 2);
      break;
  }
  return w.out;
}

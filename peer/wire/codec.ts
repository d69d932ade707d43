// Binary codec for the peer wire protocol (PROTOCOL.md §4); the byte layout is FORMAT.md.
// decode() never throws: a peer's bytes are untrusted and a bad frame is a value, a stable
// code from errors.ts plus a detail, that the node turns into a close reason. encode()
// throws on a message our own code got wrong.
//
// Decoded byte fields: BLOCK data is a zero-copy view of the frame (blocks are big; keep it
// only if nobody reuses the frame's memory — ws does not); UPDATE FULL bits and sketches are
// copies, since they are kept for long and a view would pin the whole frame; DELTA indexes
// are a plain number array.
//
// The codec is stateless: it checks each frame alone. UPDATE refs name origins per
// connection; which ref means which origin (and so whether an entry without INTRO names a
// known origin, or a DELTA applies to a known bitfield) is the core's business.
//
// This file only dispatches: each message's layout is one entry of messages.ts, built from
// the field codecs of fields.ts.

import type { Message } from '../core/messages.ts';
import type { WireError, WireErrorCode } from './errors.ts';
import { Malformed, Reader, Writer } from './reader-writer.ts';
import { DEFAULT_LIMITS, type WireLimits } from './limits.ts';
import { MESSAGES, TYPE_CODES, type MessageCodec } from './messages.ts';

export { REJECT_CODES } from './fields.ts';
export { FORM, TYPE_CODES, UPDATE_FLAGS, updateEntryLength } from './messages.ts';

export type DecodeResult = { ok: true; msg: Message } | WireError;

/** The codec for each type byte; undefined for bytes that name no message. */
const BY_TYPE_BYTE: (MessageCodec<Message> | undefined)[] = new Array(256).fill(undefined);
for (const codec of Object.values(MESSAGES)) BY_TYPE_BYTE[TYPE_CODES[codec.type]] = codec as MessageCodec<Message>;

function fail(code: WireErrorCode, detail: string): WireError {
  return { ok: false, code, detail };
}

/** Decodes one frame; never throws. Limits not given are DEFAULT_LIMITS. */
export function decode(frame: Uint8Array, limits?: Partial<WireLimits>): DecodeResult {
  try {
    if (!(frame instanceof Uint8Array)) return fail('TEXT_FRAME', `got ${frame === null ? 'null' : typeof frame}, not a Uint8Array`);
    if (frame.length === 0) return fail('EMPTY_FRAME', '0 bytes');
    const maxFrame = limits?.maxFrameBytes ?? DEFAULT_LIMITS.maxFrameBytes;
    if (frame.length > maxFrame) return fail('FRAME_TOO_LARGE', `${frame.length} bytes, limit ${maxFrame}`);
    const type = frame[0] as number;
    const codec = BY_TYPE_BYTE[type];
    if (codec === undefined) return fail('UNKNOWN_TYPE', `type byte 0x${type.toString(16).padStart(2, '0')}`);
    return { ok: true, msg: codec.decode(new Reader(frame, codec.type, limits)) };
  } catch (err) {
    if (err instanceof Malformed) return fail(err.code, err.detail);
    // Only a bug of ours gets here (or limits whose getters throw); tests assert frames never cause it.
    return fail('INTERNAL', err instanceof Error ? `${err.name}: ${err.message}` : typeof err);
  }
}

function codecOf(msg: Message): MessageCodec<Message> {
  const type: unknown = (msg as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !Object.hasOwn(MESSAGES, type)) {
    throw new TypeError(`cannot encode a message of type ${String(type)}`);
  }
  return MESSAGES[type as Message['type']] as MessageCodec<Message>;
}

/** Bytes encode(msg) returns for a valid msg, exactly; lets a sender split UPDATEs to fit maxFrameBytes. */
export function encodedLength(msg: Message): number {
  return codecOf(msg).encodedLength(msg);
}

/**
 * Encodes a message into one frame; throws RangeError/TypeError on an invalid message. The
 * frame is the start of `into` when it is long enough (a sender's reused buffer), else new.
 */
export function encode(msg: Message, into?: Uint8Array): Uint8Array {
  const codec = codecOf(msg);
  const length = codec.encodedLength(msg);
  if (!Number.isSafeInteger(length)) throw new TypeError(`cannot encode ${msg.type}: malformed message`);
  const w = new Writer(into !== undefined && into.length >= length ? into.subarray(0, length) : new Uint8Array(length), msg.type);
  codec.encode(w, msg);
  // encodedLength and encode walk the same field list; a mismatch is a bug in a field codec.
  if (w.pos !== length) throw new Error(`internal: ${msg.type} wrote ${w.pos} bytes, expected ${length}`);
  return w.out;
}

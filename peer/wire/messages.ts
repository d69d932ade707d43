// Every message's layout, written once: its type byte, then its fields in wire order (the
// tables of FORMAT.md), built from the field codecs of fields.ts. encodedLength, encode and
// decode all follow from the one list, in the manner of hypercore's lib/messages.js.
// HELLO adds the one rule that spans fields: the file it announces must fit. UPDATE (v2)
// is a flags byte and its entries; each entry a form byte whose bits say which optional
// fields follow and how the bitfield travels (FULL, DELTA or SAME).

import type {
  Block,
  Bye,
  Challenge,
  Digests,
  EntryBody,
  Hello,
  Message,
  MessageType,
  OriginIntro,
  Proof,
  Reject,
  Request,
  SizeEstimate,
  Update,
  UpdateEntry,
} from '../core/messages.ts';
import { MAX_BLOCKS, MAX_VARINT, blockCount } from './limits.ts';
import { bit, entryList, flagged, record, union, when } from './combinators.ts';
import {
  bitfield,
  blockData,
  blockDelta,
  blockDigests,
  blockIndex,
  blockSize,
  byeReason,
  digest,
  fileSize,
  host,
  mac,
  nonce,
  peerId,
  port,
  rejectReason,
  sketch,
  swarmId,
  u8,
  u32,
  varint,
} from './fields.ts';
import type { Field, Reader, Writer } from './reader-writer.ts';

export const TYPE_CODES = {
  HELLO: 0x01,
  UPDATE: 0x02,
  REQUEST: 0x03,
  BLOCK: 0x04,
  REJECT: 0x05,
  BYE: 0x06,
  DIGESTS: 0x07,
  CHALLENGE: 0x08,
  PROOF: 0x09,
} as const satisfies Record<MessageType, number>;

export interface MessageCodec<M extends Message> {
  readonly type: M['type'];
  /** Bytes encode(m) writes, the type byte included. */
  encodedLength(m: M): number;
  /** Writes m from its type byte on; w.bad() on a message the decoder would refuse. */
  encode(w: Writer, m: M): void;
  /** Reads a whole frame whose type byte is this message's; throws Malformed. */
  decode(r: Reader): M;
}

/** A rule across fields, checked after them: encode refuses what decode would. */
interface CrossCheck<M> {
  encode(w: Writer, m: M): void;
  decode(r: Reader, m: M): void;
}

/** A message: its type byte, then `body`, then the cross-field check if any. */
function message<M extends Message>(type: M['type'], body: Field<Omit<M, 'type'>>, check?: CrossCheck<M>): MessageCodec<M> {
  const code = TYPE_CODES[type];
  return {
    type,
    encodedLength: (m) => 1 + body.length(m),
    encode(w, m) {
      w.uint(code, 1, code, code);
      body.encode(w, m);
      check?.encode(w, m);
    },
    decode(r) {
      r.uint(1); // decode() has dispatched on the type byte already
      const m = { type, ...body.decode(r) } as M;
      r.field = '';
      r.end();
      check?.decode(r, m);
      return m;
    },
  };
}

/**
 * A HELLO's file: at most 2^31 blocks. A receiver also refuses blocks over its maxBlockBytes
 * and a bitfield over its maxBitfieldBytes; both are checked once the frame is known whole.
 */
const helloFile: CrossCheck<Hello> = {
  encode(w, m) {
    w.field = 'size';
    if (blockCount(m.size, m.blockSize) > MAX_BLOCKS) w.bad();
  },
  decode(r, m) {
    r.field = 'blockSize';
    const maxBlock = r.limit('maxBlockBytes');
    if (m.blockSize > maxBlock) r.fail('BLOCK_TOO_LARGE', `${m.blockSize}, limit ${maxBlock}`);
    r.field = 'size';
    const blocks = blockCount(m.size, m.blockSize);
    const maxBitfield = r.limit('maxBitfieldBytes');
    if (blocks > MAX_BLOCKS || Math.ceil(blocks / 8) > maxBitfield) {
      r.fail('TOO_MANY_BLOCKS', `${blocks} blocks, bitfield limit ${maxBitfield} bytes`);
    }
  },
};

/**
 * UPDATE flags byte: bit 0, a sketch follows; bit 1, blocks known to exist in the swarm
 * follow the entries (a block delta, before any sketch); bits 2-7 reserved (BAD_FLAGS).
 */
export const UPDATE_FLAGS = { SKETCH: 0x01, KNOWN: 0x02 } as const;

/**
 * UPDATE entry form byte: bits 0-1 the body (0 SAME, 1 FULL, 2 DELTA; 3 is BAD_FORM), then
 * one bit each for INTRO, SOURCE_BUSY and ESTIMATE; bits 5-7 reserved (BAD_FORM).
 */
export const FORM = { BODY: 0x03, SAME: 0, FULL: 1, DELTA: 2, INTRO: 0x04, SOURCE_BUSY: 0x08, ESTIMATE: 0x10 } as const;

const originIntro = record<OriginIntro>({ originId: peerId, host, port });
const sizeEstimate = record<SizeEstimate>({ n: varint({ min: 1, max: MAX_VARINT, code: 'ESTIMATE_RANGE' }), ageS: u8 });
const entryBody = union<EntryBody>(FORM.BODY, {
  same: [FORM.SAME, record({})],
  full: [FORM.FULL, record({ bits: bitfield })],
  delta: [FORM.DELTA, record({ added: blockDelta })],
});

/** One UPDATE entry: the form byte, then these in this order (a `bit` takes no bytes). */
const updateEntry = flagged<UpdateEntry>('form', 'BAD_FORM', {
  ref: u8, // < MAX_REFS = 256: every u8 is a ref
  intro: when(FORM.INTRO, originIntro),
  seq: varint(),
  hops: u8,
  degree: u8,
  sourceBusy: bit(FORM.SOURCE_BUSY),
  estimate: when(FORM.ESTIMATE, sizeEstimate),
  body: entryBody,
});

type ByType = { readonly [T in MessageType]: MessageCodec<Extract<Message, { type: T }>> };

export const MESSAGES: ByType = {
  HELLO: message<Hello>(
    'HELLO',
    record({ version: u32, swarmId, peerId, host, port, size: fileSize, blockSize, flags: u8 }),
    helloFile,
  ),
  UPDATE: message<Update>(
    'UPDATE',
    flagged('flags', 'BAD_FLAGS', { entries: entryList(updateEntry), known: when(UPDATE_FLAGS.KNOWN, blockDelta), sketch: when(UPDATE_FLAGS.SKETCH, sketch) }),
  ),
  REQUEST: message<Request>('REQUEST', record({ index: blockIndex })),
  BLOCK: message<Block>('BLOCK', record({ index: blockIndex, digest, data: blockData })),
  REJECT: message<Reject>('REJECT', record({ index: blockIndex, reason: rejectReason })),
  BYE: message<Bye>('BYE', record({ reason: byeReason })),
  DIGESTS: message<Digests>('DIGESTS', record({ blocks: blockDigests })),
  CHALLENGE: message<Challenge>('CHALLENGE', record({ nonce })),
  PROOF: message<Proof>('PROOF', record({ mac })),
};

/**
 * Bytes one entry adds to an UPDATE frame, exactly (FORMAT.md: 5 + varint(seq) at least, a
 * heartbeat; INTRO, ESTIMATE and the body add theirs). A sender may compare a FULL and a
 * DELTA body with it and send the shorter.
 */
export function updateEntryLength(e: UpdateEntry): number {
  return updateEntry.length(e);
}

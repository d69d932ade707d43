// Every message's layout, written once: its type byte, then its fields in wire order (the
// tables of FORMAT.md), built from the field codecs of fields.ts. encodedLength, encode and
// decode all follow from the one list, in the manner of hypercore's lib/messages.js.
// HELLO adds the one rule that spans fields: the file it announces must fit.

import type { Block, Bye, Hello, Message, MessageType, Reject, Request, Update, UpdateEntry } from '../core/messages.ts';
import { MAX_BLOCKS, blockCount } from './limits.ts';
import {
  bitfield,
  blockData,
  blockIndex,
  blockSize,
  byeReason,
  entryList,
  fileSize,
  host,
  peerId,
  port,
  record,
  rejectReason,
  swarmId,
  u16,
  u32,
  u8,
  type Field,
  type Fields,
  type Reader,
  type Writer,
} from './fields.ts';

export const TYPE_CODES = {
  HELLO: 0x01,
  UPDATE: 0x02,
  REQUEST: 0x03,
  BLOCK: 0x04,
  REJECT: 0x05,
  BYE: 0x06,
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

function message<M extends Message>(type: M['type'], fields: Fields<Omit<M, 'type'>>, check?: CrossCheck<M>): MessageCodec<M> {
  const code = TYPE_CODES[type];
  const typeByte: Field<M['type']> = {
    length: () => 1,
    encode: (w) => w.uint(code, 1, code, code),
    decode: (r) => (r.uint(1), type), // decode() has dispatched on it already
  };
  const layout = record<M>({ type: typeByte, ...fields } as unknown as Fields<M>);
  return {
    type,
    encodedLength: (m) => layout.length(m),
    encode(w, m) {
      layout.encode(w, m);
      check?.encode(w, m);
    },
    decode(r) {
      const m = layout.decode(r);
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

const updateEntry = record<UpdateEntry>({
  originId: peerId,
  host,
  port,
  seq: u32,
  hops: u8,
  degree: u16,
  bits: bitfield,
});

type ByType = { readonly [T in MessageType]: MessageCodec<Extract<Message, { type: T }>> };

export const MESSAGES: ByType = {
  HELLO: message<Hello>(
    'HELLO',
    { version: u32, swarmId, peerId, host, port, size: fileSize, blockSize, flags: u8 },
    helloFile,
  ),
  UPDATE: message<Update>('UPDATE', { entries: entryList(updateEntry) }),
  REQUEST: message<Request>('REQUEST', { index: blockIndex }),
  BLOCK: message<Block>('BLOCK', { index: blockIndex, data: blockData }),
  REJECT: message<Reject>('REJECT', { index: blockIndex, reason: rejectReason }),
  BYE: message<Bye>('BYE', { reason: byeReason }),
};

/** Bytes one entry adds to an UPDATE frame. */
export function updateEntryLength(e: UpdateEntry): number {
  return updateEntry.length(e);
}

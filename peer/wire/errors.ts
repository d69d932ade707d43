// Why decode() refused a frame: one stable code per rule of FORMAT.md, whose "Errors" section
// lists the same table (a test keeps the two in step). Code, logs and tests compare codes;
// the `detail` beside a code names the field and value for a person, and its wording may
// change at will. Every code is the sender's fault except INTERNAL, which is ours.

export const WIRE_ERRORS = {
  TEXT_FRAME: 'not a binary frame: a text WebSocket message, or not a Uint8Array at all',
  EMPTY_FRAME: 'a frame of zero bytes, without even a type byte',
  FRAME_TOO_LARGE: 'a frame longer than maxFrameBytes (refused before it is read)',
  UNKNOWN_TYPE: 'a type byte that names no message',
  TRUNCATED: 'the frame ends inside a field, or a length promises more bytes than follow',
  TRAILING_BYTES: 'bytes after the last field',
  INDEX_RANGE: 'a block index of 2^31 or more',
  PORT_RANGE: 'a port of 0',
  ID_LENGTH: 'a peer id (peerId, originId) length outside 8–32 bytes',
  EMPTY_HOST: 'a host of length 0',
  NOT_ASCII: 'a host or BYE reason byte outside printable ASCII (0x20–0x7e)',
  SIZE_RANGE: 'a HELLO size of 2^53 or more (high word over 0x1fffff)',
  BLOCK_SIZE_RANGE: 'a HELLO blockSize outside 1 KiB – 16 MiB',
  TOO_MANY_BLOCKS: 'a HELLO file of more than 2^31 blocks, or whose bitfield is over maxBitfieldBytes',
  BLOCK_TOO_LARGE: 'BLOCK data, or the blockSize a HELLO announces, over maxBlockBytes',
  EMPTY_BLOCK: 'BLOCK data of length 0',
  TOO_MANY_ENTRIES: 'an UPDATE of more than maxEntries entries',
  BITFIELD_TOO_LARGE: 'an UPDATE FULL bitfield over maxBitfieldBytes',
  BAD_FLAGS: 'an UPDATE flags byte with a reserved bit (1–7) set',
  BAD_FORM: 'an UPDATE entry form byte with body 3, or a reserved bit (5–7) set',
  VARINT_OVERLONG: 'a varint longer than it needs to be (a last byte 0x00 after the first)',
  VARINT_RANGE: 'a varint of 2^32 or more (a 5th byte over 0x0f)',
  ESTIMATE_RANGE: 'an UPDATE entry size estimate n of 0',
  DELTA_RANGE: 'an UPDATE DELTA count of 0 or over maxBitfieldBytes × 8, or an index of 2^31 or more, or of maxBitfieldBytes × 8 or more',
  SKETCH_TOO_LARGE: 'an UPDATE sketch over MAX_SKETCH_BYTES (4096)',
  DIGESTS_RANGE: 'a DIGESTS count of 0 or over 1024, or an index of 2^31 or more, or of maxBitfieldBytes × 8 or more',
  REJECT_REASON: 'a REJECT reason byte other than 0x01 (missing) or 0x02 (busy)',
  BYE_TOO_LONG: 'a BYE reason over 256 bytes',
  INTERNAL: 'a bug in the decoder, not in the frame (tests check that frames never cause it)',
} as const;

export type WireErrorCode = keyof typeof WIRE_ERRORS;

export const WIRE_ERROR_CODES = Object.keys(WIRE_ERRORS) as WireErrorCode[];

/** A refused frame, as decode() reports it. */
export interface WireError {
  ok: false;
  code: WireErrorCode;
  detail: string;
}

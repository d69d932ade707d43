// The peer wire codec: typed messages <-> binary frames (FORMAT.md).
export {
  decode,
  encode,
  encodedLength,
  updateEntryLength,
  FORM,
  REJECT_CODES,
  TYPE_CODES,
  UPDATE_FLAGS,
  type DecodeResult,
} from './codec.ts';
export { varintLength } from './reader-writer.ts';
export { WIRE_ERRORS, WIRE_ERROR_CODES, type WireError, type WireErrorCode } from './errors.ts';
export {
  blockCount,
  limitsFor,
  BLOCK_HEADER_BYTES,
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
  UPDATE_ENTRY_MAX_OVERHEAD,
  UPDATE_HEADER_BYTES,
  UPDATE_INTRO_MAX_BYTES,
  UPDATE_SKETCH_MAX_BYTES,
  UPDATE_KNOWN_MAX_BYTES,
  MAX_KNOWN_PER_UPDATE,
  maxUpdateBytes,
  type WireLimits,
} from './limits.ts';

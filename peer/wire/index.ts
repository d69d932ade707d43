// The peer wire codec: typed messages <-> binary frames (FORMAT.md).
export {
  decode,
  encode,
  encodedLength,
  updateEntryLength,
  REJECT_CODES,
  TYPE_CODES,
  type DecodeResult,
} from './codec.ts';
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
  MIN_BLOCK_SIZE,
  MIN_PEER_ID_BYTES,
  UPDATE_ENTRY_MAX_OVERHEAD,
  UPDATE_HEADER_BYTES,
  type WireLimits,
} from './limits.ts';

// Why a connection closes, as stable codes (tests and logs assert codes, never wording).
// A violation means the other side broke the protocol: the connection closes and the peer
// is banned. The other reasons carry no blame (or, for TOO_SLOW and FALSE_CLAIMS, a
// temporary penalty). The wire decoder has its own codes (peer/wire/errors.ts); a frame it
// refuses arrives here as MALFORMED_FRAME.

export const VIOLATIONS = {
  MALFORMED_FRAME: 'sent a frame the wire decoder refused',
  MESSAGE_BEFORE_HELLO: 'sent a message other than HELLO or BYE before its HELLO',
  SECOND_HELLO: 'sent HELLO twice on one connection',
  INDEX_RANGE: 'named a block index past the end of the file',
  BITFIELD_LENGTH: 'sent an UPDATE bitfield whose length does not match the file',
  BLOCK_LENGTH: "sent a BLOCK whose length is not that block's size",
  UPDATE_FLOOD: 'sent UPDATE entries faster than the per-connection budget allows',
  UNKNOWN_REF: 'sent an UPDATE entry under a ref it never introduced',
  BAD_DATA: 'sent block bytes that failed verification',
  UNREQUESTED_BLOCK: 'sent a BLOCK we never asked it for',
  BAD_DIGEST: 'sent a BLOCK whose bytes do not match the digest it sent with them',
  UNAUTHENTICATED: 'sent a message other than CHALLENGE, PROOF or BYE before proving it holds the swarm key',
  BAD_PROOF: 'sent a PROOF that does not show the swarm key',
  FALSE_DIGEST: 'claimed a digest for a block that the source contradicted',
} as const;

export const CLOSE_REASONS = {
  HELLO_MISMATCH: 'its HELLO is for another swarm, file layout or protocol version',
  SELF: 'we connected to ourselves',
  AVOIDED: 'it is banned or sitting out a penalty',
  UNDIALLABLE: 'its HELLO names an address that cannot be dialled',
  DUPLICATE: 'both sides dialled at once; the other connection is kept',
  TOO_MANY_CONNECTIONS: 'the connection cap is reached',
  FEWER_NEIGHBORS: 'the bandwidth controller lowered the neighbor target',
  REWIRE: 'periodic rewiring drops an idle neighbor',
  IDLE: 'a data-only link carried no request or block for a while',
  PEER_LEFT: 'it said BYE',
  REFUSED: 'it said BYE before HELLO (for example, it is full)',
  TOO_SLOW: 'its requests kept timing out',
  FALSE_CLAIMS: 'it kept advertising blocks it does not have',
  LEAVING: 'we are leaving the swarm',
} as const;

export type ViolationCode = keyof typeof VIOLATIONS;
export type CloseCode = ViolationCode | keyof typeof CLOSE_REASONS;

export function isViolation(code: CloseCode): code is ViolationCode {
  return Object.hasOwn(VIOLATIONS, code);
}

/** What a handler found wrong with a peer's message: the code, and the specifics for the log. */
export interface Violation {
  code: ViolationCode;
  detail: string;
}

// The peer wire protocol's messages as plain data (PROTOCOL.md §4).
// peer/wire encodes and decodes them; peer/core consumes and produces them.

// 2: UPDATE entries name origins by per-connection refs and carry deltas (issue #10).
// 3: BLOCK carries its sender's digest of the block; DIGESTS vouches for blocks (issue #11).
export const PROTOCOL_VERSION = 3;

/** Bytes of a block digest: the first 16 of the block's SHA-256 (computed by the driver). */
export const DIGEST_LENGTH = 16;

/** Peer ids are lowercase hex, 16–64 characters (8–32 bytes); slurpie generates 32. */
export type PeerId = string;

/** HELLO flag: the opener wants this connection to be a mesh link (carries UPDATEs). */
export const HELLO_NEIGHBOR = 1;

export interface Hello {
  type: 'HELLO';
  version: number;
  swarmId: string; // 64 lowercase hex
  peerId: PeerId;
  host: string; // where the sender accepts connections
  port: number;
  size: number; // file size in bytes
  blockSize: number;
  flags: number; // bit set of HELLO_* flags
}

/** An origin's address, sent once per connection with the entry that introduces its `ref`. */
export interface OriginIntro {
  originId: PeerId;
  host: string;
  port: number;
}

/**
 * How an entry carries the origin's bitfield, relative to what the sender last told this
 * connection under the same `ref` (a new ref starts from an empty bitfield).
 */
export type EntryBody =
  | { kind: 'same' } // unchanged: only seq/hops/degree/flags news (a heartbeat)
  | { kind: 'full'; bits: Uint8Array } // ceil(blocks / 8) bytes, MSB first (BitTorrent order)
  | { kind: 'delta'; added: number[] }; // blocks newly set, strictly ascending

/**
 * One origin's state as flooded through the mesh (PROTOCOL.md §5). Origins are named by a
 * per-connection `ref` the sender chooses; the entry that first uses a ref (or reuses it for
 * another origin) carries `intro`.
 */
export interface UpdateEntry {
  ref: number; // 0 .. MAX_REFS - 1, the sender's name for this origin on this connection
  intro?: OriginIntro;
  seq: number; // rises with each new state of the origin (uint32)
  hops: number; // 0 when sent by the origin itself; +1 at each forward
  degree: number; // the origin's mesh neighbor count, 0..255
  sourceBusy: boolean; // the origin has a Range GET running
  estimate?: SizeEstimate; // the origin's swarm-size estimate: only in a peer's own entry
  body: EntryBody;
}

/** A swarm-size estimate and how old its underlying observation is. */
export interface SizeEstimate {
  n: number; // 1 .. 2^32 - 1
  ageS: number; // seconds, 0..255 (saturating)
}

/** Refs per connection: bounds what a receiver keeps per connection. */
export const MAX_REFS = 256;

export interface Update {
  type: 'UPDATE';
  entries: UpdateEntry[];
  known?: number[]; // blocks someone in the swarm has or is fetching, new since the sender's last UPDATE here (ascending)
  sketch?: Uint8Array; // an opaque peer-count sketch (estimation/), validated by its decoder
}

export interface Request {
  type: 'REQUEST';
  index: number;
}

export interface Block {
  type: 'BLOCK';
  index: number;
  digest: Uint8Array; // DIGEST_LENGTH bytes: what the sender holds this block to be
  data: Uint8Array;
}

/** A block and its digest, as a peer vouches for it. */
export interface BlockDigest {
  index: number;
  digest: Uint8Array; // DIGEST_LENGTH bytes
}

/**
 * Blocks the sender holds and vouches for (it fetched them from the source, or their digest
 * matched another peer's), new since its last DIGESTS on this connection; ascending.
 */
export interface Digests {
  type: 'DIGESTS';
  blocks: BlockDigest[];
}

export type RejectReason = 'missing' | 'busy';

export interface Reject {
  type: 'REJECT';
  index: number;
  reason: RejectReason;
}

export interface Bye {
  type: 'BYE';
  reason: string;
}

/** A private swarm's handshake (swarm-auth.ts): our nonce, sent after HELLO. */
export interface Challenge {
  type: 'CHALLENGE';
  nonce: Uint8Array; // 16 bytes
}

/** A private swarm's handshake: HMAC-SHA256 proving we hold the swarm key (swarm-auth.ts). */
export interface Proof {
  type: 'PROOF';
  mac: Uint8Array; // 32 bytes
}

export type Message = Hello | Update | Request | Block | Reject | Bye | Digests | Challenge | Proof;
export type MessageType = Message['type'];

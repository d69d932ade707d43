// The peer wire protocol's messages as plain data (PROTOCOL.md §4).
// peer/wire encodes and decodes them; peer/core consumes and produces them.

export const PROTOCOL_VERSION = 1;

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

/** One origin's state as flooded through the mesh (PROTOCOL.md §5). */
export interface UpdateEntry {
  originId: PeerId;
  host: string;
  port: number;
  seq: number; // rises with each new state of the origin (uint32)
  hops: number; // 0 when sent by the origin itself; +1 at each forward
  degree: number; // the origin's mesh neighbor count
  bits: Uint8Array; // the origin's bitfield, ceil(blocks / 8) bytes, MSB first (BitTorrent order)
}

export interface Update {
  type: 'UPDATE';
  entries: UpdateEntry[];
}

export interface Request {
  type: 'REQUEST';
  index: number;
}

export interface Block {
  type: 'BLOCK';
  index: number;
  data: Uint8Array;
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

export type Message = Hello | Update | Request | Block | Reject | Bye;
export type MessageType = Message['type'];

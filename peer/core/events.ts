// What the world tells the core (events) and what the core asks of the world (actions).
// Drivers (peer/node, the simulator, tests) translate these to sockets, HTTP and files.
//
// DRIVER CONTRACT. The driver must:
// - pass a `now` that never goes back, and call tick at (or after) nextDeadline();
// - answer `connect` with `opened` (outbound, with the peerId it dialled) or `connectFailed`;
//   report inbound connections as `opened` (outbound false), every decoded frame as
//   `message`, every refused frame as `malformed`, and every closed connection as `closed`
//   (a connection the core closed itself may be reported or not; it is gone either way);
// - pass with every BLOCK message, and every `sourceBlock`, the digest of its bytes: the first
//   16 bytes of their SHA-256 (the core never hashes);
// - answer `serve` with `served` once the BLOCK is sent (with the action's digest, or the
//   digest of what it read when the action has none), or `serveFailed` if it cannot read it;
// - answer `store` with `stored` once the block is durable (a failed write ends the download);
// - answer `fetchSource` with that run's blocks as `sourceBlock`s, in any order, then exactly
//   one `sourceEnd` naming the run's first block (ok false when the GET failed; fatal when
//   retrying cannot help); two runs may be in flight at once;
// - after `complete`, verify the file, then send `leave`; after `abort`, stop;
// - send `ban` for a peer whose bytes failed verification, and `peers` for every answer
//   from the topology server (an empty list: we are alone).
import type { Message, PeerId } from './messages.ts';
import type { CloseCode } from './violations.ts';

/** A transport connection, numbered by the driver. */
export type ConnId = number;

export interface PeerAddress {
  id: PeerId;
  host: string;
  port: number;
}

export type PeerEvent =
  | { type: 'tick' } // a deadline from nextDeadline() has passed
  | { type: 'peers'; peers: PeerAddress[]; count?: number } // an answer from the topology server; count: peers registered
  | { type: 'opened'; conn: ConnId; outbound: boolean; peerId?: PeerId } // outbound: the id we dialled
  | { type: 'connectFailed'; peerId: PeerId; reason: string }
  | { type: 'message'; conn: ConnId; msg: Message; digest?: Uint8Array } // digest: for a BLOCK, of msg.data (blockDigest), required
  | { type: 'malformed'; conn: ConnId; code: string; detail: string } // a frame peer/wire refused
  | { type: 'closed'; conn: ConnId; reason: string }
  | { type: 'served'; conn: ConnId; index: number; bytes: number } // a BLOCK we served went out
  | { type: 'serveFailed'; conn: ConnId; index: number; reason: string } // the block could not be read
  | { type: 'sourceBlock'; index: number; data: Uint8Array; digest: Uint8Array } // digest of data (blockDigest)
  | { type: 'sourceEnd'; ok: boolean; first?: number; reason?: string; fatal?: boolean } // first: the run's (fetchSource's), undefined = the oldest; fatal: retrying cannot help (the file changed)
  | { type: 'stored'; index: number } // a block is written to storage
  | { type: 'ban'; peerId: PeerId; reason: string } // it sent bytes that failed verification
  | { type: 'leave'; reason: string }; // finished (and verified) or shutting down

export type PeerAction =
  | { type: 'connect'; peerId: PeerId; host: string; port: number }
  | { type: 'send'; conn: ConnId; msg: Message }
  | { type: 'close'; conn: ConnId; code: CloseCode; reason: string }
  | { type: 'serve'; conn: ConnId; index: number; digest?: Uint8Array } // read the block, send it as BLOCK with this digest (none: hash what was read)
  // witnessed: another peer's digest matched (a whole-file check that fails suspects the others first)
  | { type: 'store'; index: number; data: Uint8Array; from: PeerId | 'source'; witnessed: boolean }
  | { type: 'fetchSource'; first: number; count: number } // one Range GET of a run of blocks
  | { type: 'needPeers' } // register again with the topology server for fresh peers
  | { type: 'complete' } // every block is stored: verify the file
  | { type: 'depart' } // the hand-over is done: once the file is verified, send 'leave'
  | { type: 'abort'; code: 'SOURCE_FAILED'; reason: string } // the download cannot go on: stop and report
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; msg: string };

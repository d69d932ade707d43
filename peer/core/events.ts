// What the world tells the core (events) and what the core asks of the world (actions).
// Drivers (peer/node, the simulator, tests) translate these to sockets, HTTP and files.
// What a driver must answer to each action is the driver contract in peer.ts.
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

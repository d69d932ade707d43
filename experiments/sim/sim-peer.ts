// The world's record of one peer (world.ts), and its small helpers: seeds for its random
// streams, peer ids.
import type { SeededRng } from '../../estimation/random.ts';
import type { ConnId } from '../../peer/core/events.ts';
import type { PeerId } from '../../peer/core/messages.ts';
import type { PeerCore, PeerStats } from '../../peer/core/peer.ts';
import { MessageCounter } from '../../peer/node/message-counts.ts';
import type { End } from './network.ts';
import type { ResolvedLink } from './scenario.ts';

/** The driver's record of one peer; the network owns `ends` to `downFreeAt`. */
export interface SimPeer {
  index: number;
  id: PeerId;
  host: string;
  port: number;
  arrivedAt: number;
  link: ResolvedLink; // its access link (the network's and the source's model read it)
  core: PeerCore | null; // created on arrival
  ends: Map<ConnId, End>;
  nextConn: ConnId;
  upFreeAt: number;
  upBusyMs: number;
  downFreeAt: number;
  tickAt: number; // the tick event that counts (others are stale)
  lastTickAt: number;
  storedBits: Uint8Array; // blocks the driver has stored (duplicate check)
  stored: number;
  doneAt: number | null;
  at95: number | null;
  gone: boolean;
  leftAt: number | null;
  stats: PeerStats | null;
  messages: MessageCounter; // sent and received by type, as a node peer's --stats-json has them
}

/** A peer not yet arrived. */
export function newSimPeer(index: number, id: PeerId, arrivedAt: number, link: ResolvedLink, blocks: number): SimPeer {
  return {
    index,
    id,
    host: `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`,
    port: 7000,
    arrivedAt,
    link,
    core: null,
    ends: new Map(),
    nextConn: 1,
    upFreeAt: 0,
    upBusyMs: 0,
    downFreeAt: 0,
    tickAt: Infinity,
    lastTickAt: -Infinity,
    storedBits: new Uint8Array(Math.ceil(blocks / 8)),
    stored: 0,
    doneAt: null,
    at95: null,
    gone: false,
    leftAt: null,
    stats: null,
    messages: new MessageCounter(),
  };
}

/** A 32-bit seed for stream `i` of a run seeded with `seed` (murmur3's finalizer). */
export function streamSeed(seed: number, i: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function hexId(rng: SeededRng): PeerId {
  let s = '';
  for (let i = 0; i < 4; i++) s += ((rng.next() * 2 ** 32) >>> 0).toString(16).padStart(8, '0');
  return s;
}

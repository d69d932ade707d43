// One connection's lifecycle, as a table and one transition function that checks the old state.
//
//   (dialling: a `connect` action is out; the mesh keeps it by peer id until `opened`)
//   outbound:  opened ──► helloSent ──HELLO──► open | neighbor ──► closed
//   inbound:   opened ──► awaitingHello ──HELLO (we answer with ours)──► open | neighbor ──► closed
//   private swarms (swarm-auth.ts): after HELLO, proving ──both PROOFs──► open | neighbor
//
// `neighbor` is a mesh link (both sides agreed in HELLO): it carries flooded UPDATEs.
// `open` is a data-only link: it carries requests, blocks and the two ends' own entries.
// A connection we close is gone at once (the driver's later `closed` finds nothing).
import type { ConnId } from './events.ts';
import type { Hello, PeerId } from './messages.ts';
import { InboundRefs, ToldRefs } from './origin-refs.ts';
import type { Proving } from './swarm-auth.ts';

export type ConnState = 'helloSent' | 'awaitingHello' | 'proving' | 'open' | 'neighbor' | 'closed';

export const CONN_TRANSITIONS: Readonly<Record<ConnState, readonly ConnState[]>> = {
  helloSent: ['proving', 'open', 'neighbor', 'closed'],
  awaitingHello: ['proving', 'open', 'neighbor', 'closed'],
  proving: ['open', 'neighbor', 'closed'],
  open: ['closed'],
  neighbor: ['closed'],
  closed: [],
};

export class ConnStateError extends Error {
  constructor(conn: ConnId, from: ConnState, to: ConnState) {
    super(`connection ${conn}: no transition from ${from} to ${to}`);
    this.name = 'ConnStateError';
  }
}

export interface Conn {
  readonly id: ConnId;
  readonly outbound: boolean;
  state: ConnState;
  peerId: PeerId | null; // known once HELLO arrives (outbound: the id we dialled until then)
  hello: Hello | null;
  proving: Proving | null; // a private swarm's handshake under way (swarm-auth.ts)
  wantNeighbor: boolean; // we dialled it as a mesh neighbor
  requests: Map<number, number>; // block -> deadline: what we asked of it
  asked: Map<number, number>; // block -> REQUESTs for it not yet answered, past a timeout too (a late BLOCK is an answer)
  serving: number[]; // the blocks it asked for that we are serving or holding (serving.ts)
  strikes: number; // failures since it last delivered (see reputation.ts)
  busyUntil: number; // it said busy: no requests to it before this
  refusedBusy: boolean; // it said busy and has not delivered since: one request at a time (scheduler.ts)
  lastUsedAt: number; // a REQUEST or BLOCK last went either way (idle data links are closed)
  ownSentAt: number; // our own entry last went out here
  forwardedAt: number; // others' entries last went out here
  told: ToldRefs; // what we told it, by ref (UPDATE refs)
  heard: InboundRefs; // what it told us, by its refs
  knownTold: Uint8Array | null; // the swarm's known blocks it has had from us or told us (swarm-known.ts)
  entryTokens: number; // UPDATE entries it may still send (token bucket: floods get it banned)
  tokensAt: number;
}

export interface ConnLimits {
  blocks: number;
  entryTokens: number;
}

export function newConn(id: ConnId, outbound: boolean, peerId: PeerId | null, wantNeighbor: boolean, now: number, limits: ConnLimits): Conn {
  return {
    id,
    outbound,
    state: outbound ? 'helloSent' : 'awaitingHello',
    peerId,
    hello: null,
    proving: null,
    wantNeighbor,
    requests: new Map(),
    asked: new Map(),
    serving: [],
    strikes: 0,
    busyUntil: 0,
    refusedBusy: false,
    lastUsedAt: now,
    ownSentAt: -Infinity,
    forwardedAt: -Infinity,
    told: new ToldRefs(Math.ceil(limits.blocks / 8)),
    heard: new InboundRefs(limits.blocks, Math.ceil(limits.blocks / 8)),
    knownTold: null,
    entryTokens: limits.entryTokens,
    tokensAt: now,
  };
}

export function moveConn(conn: Conn, to: ConnState): void {
  if (!CONN_TRANSITIONS[conn.state].includes(to)) throw new ConnStateError(conn.id, conn.state, to);
  conn.state = to;
}

/** The handshake is done: it may carry requests, blocks and updates. */
export function isOpen(conn: Conn): boolean {
  return conn.state === 'open' || conn.state === 'neighbor';
}

export function isNeighbor(conn: Conn): boolean {
  return conn.state === 'neighbor';
}

/** We sent it a REQUEST for this block (again, perhaps: each REQUEST may bring one BLOCK). */
export function noteAsked(conn: Conn, index: number): void {
  conn.asked.set(index, (conn.asked.get(index) ?? 0) + 1);
}

/** A BLOCK or REJECT for this block came: one REQUEST answered. False when none was open. */
export function noteAnswered(conn: Conn, index: number): boolean {
  const n = conn.asked.get(index);
  if (n === undefined) return false;
  if (n <= 1) conn.asked.delete(index);
  else conn.asked.set(index, n - 1);
  return true;
}

// A misbehaving peer for the fault matrix: registers with the topology server, answers
// HELLO, claims every block, then misbehaves as asked:
//  - 'liar':  serves wrong bytes for the blocks `corrupt` picks (right ones otherwise). With
//    digests 'honest' it sends the right digest with them (a faulty disk or sender: the
//    receiver sees the mismatch); with 'consistent' the digest of the wrong bytes, and it
//    vouches for them in DIGESTS too (a liar that knows the protocol);
//  - 'pusher': sends every block, wrong bytes under their own digests, without being asked;
//  - 'loris': accepts requests and never answers them;
//  - 'flood': sends UPDATEs as fast as it may (new seq, made-up origins); serves right
//    bytes when `answer`, else holds requests like a loris;
//  - 'leech': claims no block and asks for one every `everyMs`, the next index each time (a
//    peer still downloading, for the hand-over: a finished peer that is asked stays).
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { HELLO_NEIGHBOR, PROTOCOL_VERSION, type BlockDigest, type Message, type UpdateEntry } from '../../peer/core/messages.ts';
import { blockDigest } from '../../peer/storage/verify.ts';
import { TopologyClient } from '../../peer/node/topology-client.ts';
import { decode, encode } from '../../peer/wire/codec.ts';
import { SeededRng } from '../../estimation/random.ts';

export type FakeBehavior =
  | { kind: 'liar'; corrupt: (index: number) => boolean; digests: 'honest' | 'consistent' }
  | { kind: 'pusher' }
  | { kind: 'loris' }
  | { kind: 'flood'; seed: number; answer: boolean }
  | { kind: 'leech'; everyMs: number };

export interface FakePeer {
  id: string;
  port: number;
  requests: () => number; // REQUESTs received
  blocksReceived: () => number; // BLOCKs received (a leech's)
  updatesSent: () => number;
  connections: () => number; // accepted so far
  close: () => Promise<void>;
}

export async function startFakePeer(opts: {
  topology: string;
  swarmId: string;
  data: Uint8Array;
  blockSize: number;
  behavior: FakeBehavior;
}): Promise<FakePeer> {
  const id = randomBytes(16).toString('hex');
  const blocks = Math.ceil(opts.data.length / opts.blockSize);
  const all = new Uint8Array(Math.ceil(blocks / 8));
  for (let i = 0; i < blocks; i++) all[i >> 3] = (all[i >> 3] ?? 0) | (0x80 >> (i & 7));
  let requests = 0;
  let blocksIn = 0;
  let updates = 0;
  let accepted = 0;
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as AddressInfo).port;
  const send = (ws: WebSocket, msg: Message): void => ws.send(encode(msg));
  const timers = new Set<NodeJS.Timeout>();
  const b = opts.behavior;
  const rng = new SeededRng(b.kind === 'flood' ? b.seed : 1);

  const flood = (ws: WebSocket): void => {
    let seq = 2;
    const timer = setInterval(() => {
      // Bounded per tick (the event loop must breathe: the source may share this process),
      // and the socket's buffer kept short: the point is the victim's work, not our memory.
      for (let n = 0; n < 50 && ws.readyState === ws.OPEN && ws.bufferedAmount < 256 * 1024; n++) {
        const entries: UpdateEntry[] = [{ ref: 0, seq: seq++, hops: 0, degree: 12, sourceBusy: false, body: { kind: 'same' } }];
        // Made-up origins, each introduced under a fresh ref (refs 1..255 over and over).
        for (let i = 0; i < 8; i++) {
          entries.push({
            ref: 1 + ((seq * 8 + i) % 255),
            intro: { originId: randomBytes(16).toString('hex'), host: '127.0.0.1', port: 1 + Math.floor(rng.next() * 1023) },
            seq: 1 + Math.floor(rng.next() * 1000), hops: 1 + Math.floor(rng.next() * 4), degree: 1 + Math.floor(rng.next() * 20), sourceBusy: false,
            body: { kind: 'full', bits: randomBytes(all.length).map((x, j) => (j === all.length - 1 ? x & (all[j] ?? 0) : x)) },
          });
        }
        send(ws, { type: 'UPDATE', entries });
        updates++;
      }
      if (ws.readyState !== ws.OPEN) {
        clearInterval(timer);
        timers.delete(timer);
      }
    }, 5);
    timers.add(timer);
  };

  const leech = (ws: WebSocket, everyMs: number): void => {
    let next = 0;
    const timer = setInterval(() => {
      if (ws.readyState !== ws.OPEN) {
        clearInterval(timer);
        timers.delete(timer);
        return;
      }
      send(ws, { type: 'REQUEST', index: next });
      next = (next + 1) % blocks;
    }, everyMs);
    timers.add(timer);
  };

  // A block's bytes as this peer sends them, and the digest it puts on them.
  const served = (index: number, wrong: boolean): { digest: Uint8Array; data: Uint8Array } => {
    const start = index * opts.blockSize;
    const right = Buffer.from(opts.data.subarray(start, Math.min(start + opts.blockSize, opts.data.length)));
    if (!wrong) return { digest: blockDigest(right), data: right };
    const data = Buffer.from(right).fill(0x5a);
    return { digest: blockDigest(b.kind === 'liar' && b.digests === 'honest' ? right : data), data };
  };
  // What a consistent liar vouches for: its version of every block (the ones it corrupts too).
  const vouched = (): BlockDigest[] =>
    Array.from({ length: Math.min(blocks, 1024) }, (_, index) => ({ index, digest: served(index, b.kind === 'liar' && b.corrupt(index)).digest }));

  server.on('connection', (ws) => {
    accepted++;
    ws.on('error', () => {});
    ws.on('message', (raw: Buffer) => {
      const r = decode(new Uint8Array(raw));
      if (!r.ok) return ws.close();
      const msg = r.msg;
      if (msg.type === 'HELLO') {
        send(ws, {
          type: 'HELLO', version: PROTOCOL_VERSION, swarmId: opts.swarmId, peerId: id, host: '127.0.0.1', port,
          size: opts.data.length, blockSize: opts.blockSize, flags: msg.flags & HELLO_NEIGHBOR,
        });
        const bits = b.kind === 'leech' ? new Uint8Array(all.length) : all;
        send(ws, { type: 'UPDATE', entries: [{ ref: 0, intro: { originId: id, host: '127.0.0.1', port }, seq: 1, hops: 0, degree: 1, sourceBusy: false, body: { kind: 'full', bits } }] });
        if (b.kind === 'flood') flood(ws);
        if (b.kind === 'leech') leech(ws, b.everyMs);
        if (b.kind === 'liar' && b.digests === 'consistent') send(ws, { type: 'DIGESTS', blocks: vouched() });
        if (b.kind === 'pusher') for (let i = 0; i < blocks; i++) send(ws, { type: 'BLOCK', index: i, ...served(i, true) });
      } else if (msg.type === 'BLOCK') {
        blocksIn++;
      } else if (msg.type === 'REQUEST') {
        requests++;
        if (b.kind === 'loris' || (b.kind === 'flood' && !b.answer)) return; // hold it forever
        send(ws, { type: 'BLOCK', index: msg.index, ...served(msg.index, b.kind === 'liar' && b.corrupt(msg.index)) });
      }
    });
  });
  const topology = new TopologyClient(opts.topology);
  await topology.register(opts.swarmId, { id, host: '127.0.0.1', port });
  // Stay registered (the default TTL is 60 s; rows are shorter, but a full run may not be).
  const renew = setInterval(() => void topology.register(opts.swarmId, { id, host: '127.0.0.1', port }).catch(() => {}), 20_000);
  return {
    id,
    port,
    requests: () => requests,
    blocksReceived: () => blocksIn,
    updatesSent: () => updates,
    connections: () => accepted,
    close: async () => {
      clearInterval(renew);
      for (const t of timers) clearInterval(t);
      await topology.deregister(opts.swarmId, id).catch(() => {});
      for (const ws of server.clients) ws.terminate();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

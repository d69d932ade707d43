// The fair uplink (scenario.uplink 'fair', network.ts and uplink.ts): a peer's connections
// share its uplink, each connection's messages in order, control messages on an idle
// connection not behind other connections' blocks, BLOCKs through the node's serve queue.
// Driven by hand: a Network of a few peers, its agenda popped in time order, no cores.
import test from 'ava';
import type { PeerEvent } from '../peer/core/events.ts';
import type { Message } from '../peer/core/messages.ts';
import { Metrics } from '../experiments/sim/metrics.ts';
import { Network, type End } from '../experiments/sim/network.ts';
import { simulate, type SimScenario } from '../experiments/sim/simulate.ts';
import { Agenda, type SimPeer } from '../experiments/sim/world.ts';
import { barePeer, drainNetwork } from './fixtures/sim-network.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

type Heard = { to: number; what: string; at: number };

/** Peer 0 (1 MB/s up) connected to `n` receivers (fast downlinks, 1 ms apart); `script` gets its ends once open. */
function harness(n: number, script: (ends: End[], net: Network) => void, opts: { fair?: boolean; down?: number } = {}): { heard: Heard[]; served: Heard[]; a: SimPeer } {
  const agenda = new Agenda();
  const heard: Heard[] = [];
  const served: Heard[] = [];
  const world = {
    step: (p: SimPeer, ev: PeerEvent) => {
      if (ev.type === 'message') heard.push({ to: p.index, what: ev.msg.type === 'BLOCK' || ev.msg.type === 'REQUEST' ? `${ev.msg.type} ${ev.msg.index}` : ev.msg.type, at: agenda.now });
      if (ev.type === 'served') served.push({ to: p.index, what: `served ${ev.index}`, at: agenda.now });
      if (ev.type === 'message' && ev.msg.type === 'BLOCK') net.handled(ev); // handled at once: no CPU model
    },
  };
  const net: Network = new Network(agenda, world, new Metrics(undefined), opts.fair ?? true);
  const a = barePeer(0, 1000, 1000);
  const others = Array.from({ length: n }, (_, i) => barePeer(i + 1, 1000, opts.down ?? 100_000));
  for (const b of others) {
    net.listen(b);
    net.connect(a, b.id, b.host, b.port);
  }
  const run = (): void => drainNetwork(agenda, net);

  run();
  script([...a.ends.values()], net);
  run();
  return { heard, served, a };
}

const block = (index: number, bytes = 64 * KiB): Message => ({ type: 'BLOCK', index, digest: new Uint8Array(32), data: new Uint8Array(bytes) });

test('two connections share the uplink: two blocks sent at once both leave at twice one block\'s time', (t) => {
  const { served, a } = harness(2, ([x, y], net) => {
    net.serve(x as End, 1, new Uint8Array(64 * KiB));
    net.serve(y as End, 2, new Uint8Array(64 * KiB));
  });
  const one = (64 * KiB + 40) / 1000; // ms at 1 MB/s, about (a frame's header is a few bytes more)
  t.is(served.length, 2);
  // Both leave at 2 ms (the connection's set-up) + twice one block's time; each is delivered
  // when its pong is back: one hop (1 ms) to arrive, one hop back.
  for (const s of served) t.true(Math.abs(s.at - 4 - 2 * one) < 1, `${s.what} at ${s.at} ms, one block takes ${one} ms`);
  t.true(Math.abs(a.upBusyMs - 2 * one) < 1, 'the link was busy for both blocks');
});

for (const fair of [false, true]) {
  test(`${fair ? 'fair' : 'fifo'} uplink: a BLOCK is served when its pong is back, not when it left: a slow downlink holds it up`, (t) => {
    // 64 KiB leave a 1 MB/s uplink in 66 ms; a 100 KB/s downlink takes 655 ms to bring them in.
    const { heard, served } = harness(1, ([x], net) => net.serve(x as End, 5, new Uint8Array(64 * KiB)), { fair, down: 100 });
    const arrived = heard.find((h) => h.what === 'BLOCK 5')?.at ?? NaN;
    t.true(arrived > 2 + (64 * KiB) / 100, `the block arrived at ${arrived} ms`);
    t.deepEqual(served.map((s) => s.what), ['served 5']);
    t.true(Math.abs((served[0]?.at ?? NaN) - (arrived + 1)) < 0.01, `served at ${served[0]?.at} ms: one hop after it arrived at ${arrived} ms`);
  });
}

test('the pong leaves once the receiver has handled the BLOCK: a receiver that gets to it 50 ms late holds its server\'s served 50 ms', (t) => {
  const agenda = new Agenda();
  const served: number[] = [];
  const blocks: PeerEvent[] = [];
  const world = {
    step: (_p: SimPeer, ev: PeerEvent) => {
      if (ev.type === 'message' && ev.msg.type === 'BLOCK') blocks.push(ev); // handled later, by hand
      if (ev.type === 'served') served.push(agenda.now);
    },
  };
  const net = new Network(agenda, world, new Metrics(undefined), true);
  const a = barePeer(0, 1000, 1000);
  const b = barePeer(1, 1000, 100_000);
  net.listen(b);
  net.connect(a, b.id, b.host, b.port);
  drainNetwork(agenda, net);
  net.serve([...a.ends.values()][0] as End, 5, new Uint8Array(64 * KiB));
  drainNetwork(agenda, net);
  t.is(blocks.length, 1);
  t.deepEqual(served, [], 'no pong before the receiver has handled it');
  const arrived = agenda.now; // the last event: the BLOCK's arrival
  agenda.now = arrived + 50;
  net.handled(blocks[0] as PeerEvent);
  drainNetwork(agenda, net);
  t.deepEqual(served, [arrived + 51], 'one hop (1 ms) after the receiver handled it');
  net.handled(blocks[0] as PeerEvent);
  drainNetwork(agenda, net);
  t.is(served.length, 1, 'one pong per BLOCK');
});

test('a control message on an idle connection leaves at once, not behind the blocks on another', (t) => {
  const { heard } = harness(2, ([x, y], net) => {
    for (let i = 0; i < 4; i++) net.serve(x as End, i, new Uint8Array(64 * KiB));
    net.send(y as End, { type: 'REQUEST', index: 9 });
  });
  const request = heard.find((h) => h.what === 'REQUEST 9');
  t.truthy(request);
  t.true((request?.at ?? Infinity) < 10, `REQUEST arrived at ${request?.at} ms; the blocks take ${(4 * 64 * KiB) / 1000} ms`);
});

test('one connection keeps its order: a control message sent after a block arrives after it', (t) => {
  const { heard } = harness(2, ([x, y], net) => {
    net.serve(y as End, 7, new Uint8Array(64 * KiB));
    net.send(x as End, block(1));
    net.send(x as End, { type: 'REQUEST', index: 2 });
    net.send(x as End, block(3, 2 * KiB));
    net.send(x as End, { type: 'REQUEST', index: 4 });
  });
  t.deepEqual(heard.filter((h) => h.to === 1).map((h) => h.what), ['BLOCK 1', 'REQUEST 2', 'BLOCK 3', 'REQUEST 4']);
});

test('the node\'s serve queue: blocks go on the wire 6 at most, 2 per connection, in request order; each connection sends its own in turn', (t) => {
  const { served } = harness(4, (ends, net) => {
    for (let i = 0; i < 12; i++) net.serve(ends[i % 4] as End, i, new Uint8Array(64 * KiB));
  });
  const one = (64 * KiB + 40) / 1000;
  // 0-5 go on the wire (2 on connections 1 and 2); each connection sends its first: 0-3
  // share the link and leave at 4 blocks' time; then 4, 5 and the next admitted, 6, 7; then 8-11.
  t.deepEqual(served.map((s) => s.what), Array.from({ length: 12 }, (_, i) => `served ${i}`));
  served.forEach((s, i) => t.true(Math.abs(s.at - 4 * one * (Math.floor(i / 4) + 1)) < 5, `${s.what} at ${s.at} ms`));
});

test('a swarm on the fair uplink completes, and a seed replays it exactly', (t) => {
  const s: SimScenario = { peers: 12, size: 4 * MiB, sourceRate: 1.25e6, peerUp: 12.5e6, peerDown: 12.5e6, latencyMs: 1, seed: 3, uplink: 'fair' };
  const a = simulate(s);
  const b = simulate(s);
  t.is(a.outcome, 'complete', a.problem ?? '');
  t.deepEqual(a.anomalies, []);
  t.is(JSON.stringify({ ...a, wallMs: 0, memory: null }), JSON.stringify({ ...b, wallMs: 0, memory: null }));
});

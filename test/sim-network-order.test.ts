// The simulated network keeps each connection's messages in order, as TCP does, also when a
// small message follows a large one whose first byte is still on its way (the receiver's
// downlink decides when the large one arrives). Driven by hand: a two-peer Network, its
// agenda popped in time order, no cores.
import test from 'ava';
import type { PeerEvent } from '../peer/core/events.ts';
import type { Message } from '../peer/core/messages.ts';
import { Metrics } from '../experiments/sim/metrics.ts';
import { Network, type End } from '../experiments/sim/network.ts';
import { Agenda, type SimPeer } from '../experiments/sim/world.ts';
import { barePeer, drainNetwork } from './fixtures/sim-network.ts';

const KiB = 1024;

/** Sends `script` from a to b over an open connection; returns what b's core heard, in order, with times. */
function deliver(script: (send: (msg: Message) => void) => void): { type: string; at: number }[] {
  const agenda = new Agenda();
  const heard: { type: string; at: number }[] = [];
  const world = {
    step: (_p: SimPeer, ev: PeerEvent) => {
      if (ev.type === 'message') heard.push({ type: ev.msg.type === 'REQUEST' ? `REQUEST ${ev.msg.index}` : ev.msg.type, at: agenda.now });
    },
  };
  const net = new Network(agenda, world, new Metrics(undefined));
  const a = barePeer(1, 1000, 1000); // 1 MB/s up
  const b = barePeer(2, 1000, 10); // a slow downlink: 10 KB/s
  net.listen(b);
  net.connect(a, b.id, b.host, b.port);
  const run = (): void => drainNetwork(agenda, net);

  run();
  const end = [...a.ends.values()][0] as End;
  script((msg) => net.send(end, msg));
  run();
  return heard;
}

test('a small message sent after a large one arrives after it, even when the receiver\'s downlink holds the large one', (t) => {
  const heard = deliver((send) => {
    send({ type: 'BLOCK', index: 0, digest: new Uint8Array(32), data: new Uint8Array(64 * KiB) });
    send({ type: 'REQUEST', index: 7 });
    send({ type: 'REQUEST', index: 8 });
  });
  t.deepEqual(heard.map((h) => h.type), ['BLOCK', 'REQUEST 7', 'REQUEST 8']);
  // 64 KiB at 10 KB/s: the block takes ~6.6 s to come down; the requests only follow it.
  t.true((heard[0]?.at ?? 0) > 6000, `the block arrived at ${heard[0]?.at} ms`);
  t.true((heard[1]?.at ?? 0) >= (heard[0]?.at ?? Infinity));
});

test('small messages alone still go straight through, in order', (t) => {
  const heard = deliver((send) => {
    for (let i = 0; i < 5; i++) send({ type: 'REQUEST', index: i });
  });
  t.deepEqual(heard.map((h) => h.type), [0, 1, 2, 3, 4].map((i) => `REQUEST ${i}`));
  t.true((heard[4]?.at ?? Infinity) < 100, 'control messages do not wait for the downlink');
});

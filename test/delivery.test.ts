// Deliveries (peer/node/delivery.ts) over real ws sockets on 127.0.0.1: a BLOCK counts as
// delivered when the peer's pong for the ping behind it comes back, not when the kernel took it.
import test from 'ava';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { DELIVERY_TIMEOUT_MS, Deliveries } from '../peer/node/delivery.ts';

async function pair(t: import('ava').ExecutionContext, autoPong = true): Promise<{ sender: WebSocket; receiver: WebSocket }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[WebSocket]>;
  const sender = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  t.teardown(() => sender.terminate());
  await once(sender, 'open');
  const [receiver] = await accepted;
  t.teardown(() => receiver.terminate());
  return { sender, receiver };
}

const waitFor = async (test: () => boolean, ms = 5000): Promise<boolean> => {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 10))) if (test()) return true;
  return test();
};

test('a block is delivered once the peer has read it: not while it does not read', async (t) => {
  t.timeout(15_000);
  const { sender, receiver } = await pair(t);
  receiver.pause(); // a peer whose disk is behind stops reading (Transport.setReading)
  const d = new Deliveries(sender);
  const done: number[] = [];
  for (let i = 0; i < 3; i++) {
    sender.send(Buffer.alloc(64 * 1024, i));
    d.track(0, () => done.push(i));
  }
  await new Promise((r) => setTimeout(r, 300));
  t.deepEqual(done, [], 'nothing read, nothing delivered');
  receiver.resume();
  t.true(await waitFor(() => done.length === 3), `delivered: ${done.join(',')}`);
  t.deepEqual(done, [0, 1, 2], 'in order');
});

test('a peer that never answers pings: its blocks count as delivered after DELIVERY_TIMEOUT_MS; a stray pong acknowledges nothing', async (t) => {
  t.timeout(15_000);
  const { sender, receiver } = await pair(t, false);
  const d = new Deliveries(sender);
  const done: string[] = [];
  d.track(1000, () => done.push('a'));
  d.track(2000, () => done.push('b'));
  receiver.pong(Buffer.from('nope'));
  receiver.pong(Buffer.from([0, 0, 0, 99]));
  await new Promise((r) => setTimeout(r, 200));
  t.deepEqual(done, []);
  d.expire(1000 + DELIVERY_TIMEOUT_MS);
  t.deepEqual(done, ['a']);
  d.drop(); // closed: b was never acknowledged
  d.expire(10 * DELIVERY_TIMEOUT_MS);
  t.deepEqual(done, ['a']);
});

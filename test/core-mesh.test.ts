// The mesh through the scripted core (and the Mesh on its own where the bandwidth controller
// would take many rounds to get there): handshake refusals, the duplicate tie-break, the
// connection cap, rewiring, and dropping a neighbor when the target falls.
import test from 'ava';
import { SeededRng } from '../estimation/random.ts';
import type { PeerAction } from '../peer/core/events.ts';
import { HELLO_NEIGHBOR, PROTOCOL_VERSION } from '../peer/core/messages.ts';
import { Mesh } from '../peer/core/mesh.ts';
import { Outbox } from '../peer/core/outbox.ts';
import { resolveParams } from '../peer/core/params.ts';
import { Reputation } from '../peer/core/reputation.ts';
import { closes, ofType, peerId, SEED, SELF, Script, sent, SWARM } from './fixtures/scripted-core.ts';

const SIZE = 10 * 1024;

test('a second HELLO on one connection is a violation: closed and banned', (t) => {
  const s = new Script(SIZE);
  s.link(1, 1, [0]);
  t.deepEqual(closes(s.msg(1, s.hello(1))), ['SECOND_HELLO']);
  t.is(s.core.stats(0).bannedPeers, 1);
});

test('a HELLO from ourselves (we dialled our own address) closes without a ban', (t) => {
  const s = new Script(SIZE);
  s.feed({ type: 'opened', conn: 1, outbound: true, peerId: peerId(5) });
  t.deepEqual(closes(s.msg(1, s.hello(0, HELLO_NEIGHBOR, { peerId: SELF }))), ['SELF']);
  t.is(s.core.stats(0).bannedPeers, 0);
});

test('both sides dialled at once: each keeps the connection opened by the smaller id', (t) => {
  // We are 00…00, the smallest id: we keep the connection we opened, whichever HELLO comes first.
  for (const inboundFirst of [true, false]) {
    const a = new Script(SIZE);
    a.feed({ type: 'opened', conn: 1, outbound: true, peerId: peerId(1) });
    a.feed({ type: 'opened', conn: 2, outbound: false });
    const order: [number, boolean][] = inboundFirst ? [[2, true], [1, false]] : [[1, false], [2, true]];
    const out: PeerAction[] = [];
    for (const [conn] of order) out.push(...a.msg(conn, a.hello(1)));
    t.deepEqual(closes(out), ['DUPLICATE']);
    t.is(ofType(out, 'close')[0]?.conn, 2, `inbound first: ${inboundFirst}`);
  }
  // The other side (id 00…01, larger) keeps its inbound connection: the same physical link.
  const b = new Script(SIZE, {}, SEED, undefined, peerId(1));
  b.feed({ type: 'opened', conn: 1, outbound: true, peerId: SELF });
  b.feed({ type: 'opened', conn: 2, outbound: false });
  const out = [...b.msg(1, b.hello(0, HELLO_NEIGHBOR, { peerId: SELF })), ...b.msg(2, b.hello(0, HELLO_NEIGHBOR, { peerId: SELF }))];
  t.deepEqual(ofType(out, 'close').map((c) => [c.conn, c.code]), [[1, 'DUPLICATE']]);
});

test('over the connection cap a newcomer is told BYE and closed', (t) => {
  const s = new Script(SIZE, { maxConnections: 2 });
  s.link(1, 1, []);
  s.link(2, 2, []);
  const out = s.feed({ type: 'opened', conn: 3, outbound: false });
  t.deepEqual(sent(out, 'BYE', 3), [{ type: 'BYE', reason: 'too many connections' }]);
  t.deepEqual(closes(out), ['TOO_MANY_CONNECTIONS']);
  t.is(s.core.stats(0).connections, 2);
});

test('inbound neighbor links beyond maxNeighbors are granted as data-only links', (t) => {
  const s = new Script(SIZE, { maxNeighbors: 1 });
  s.feed({ type: 'opened', conn: 1, outbound: false });
  const first = sent(s.msg(1, s.hello(1)), 'HELLO', 1)[0] as { flags: number };
  t.is(first.flags & HELLO_NEIGHBOR, HELLO_NEIGHBOR);
  s.feed({ type: 'opened', conn: 2, outbound: false });
  const second = sent(s.msg(2, s.hello(2)), 'HELLO', 2)[0] as { flags: number };
  t.is(second.flags & HELLO_NEIGHBOR, 0);
  t.is(s.core.stats(0).neighbors, 1);
});

test('rewiring drops an idle outbound neighbor every reconnect period and dials another', (t) => {
  const s = new Script(SIZE, { eta: 2, reconnectPeriodMs: 5000, roundMs: 1000 });
  const peers = [1, 2, 3, 4].map((n) => ({ id: peerId(n), host: '127.0.0.1', port: 9000 + n }));
  const dials = ofType(s.feed({ type: 'peers', peers }, 0), 'connect');
  t.is(dials.length, 2, 'eta = 2');
  dials.forEach((d, i) => {
    s.feed({ type: 'opened', conn: i + 1, outbound: true, peerId: d.peerId });
    s.msg(i + 1, s.hello(parseInt(d.peerId, 16)));
  });
  t.is(s.core.stats(0).neighbors, 2);
  for (let at = 1000; at < 5000; at += 1000) t.deepEqual(closes(s.tick(at)), [], `kept at ${at} ms`);
  const out = s.tick(5000);
  t.deepEqual(closes(out), ['REWIRE']);
  t.is(ofType(out, 'connect').length, 1, 'a new neighbor is dialled in the same round');
  t.deepEqual(closes(s.tick(6000)), [], 'one per period');
});

test('when the neighbor target falls, one idle outbound neighbor goes each round', (t) => {
  const params = resolveParams({ blockSize: 1024 });
  const out = new Outbox();
  const mesh = new Mesh({
    self: { id: SELF, swarmId: SWARM, host: '127.0.0.1', port: 9000, size: SIZE },
    params,
    rng: new SeededRng(SEED),
    out,
    reputation: new Reputation(params),
    origins: () => [],
    onDown: () => {},
  });
  const hello = (n: number) => ({
    type: 'HELLO' as const, version: PROTOCOL_VERSION, swarmId: SWARM, peerId: peerId(n), host: '127.0.0.1', port: 9000 + n, size: SIZE, blockSize: 1024, flags: HELLO_NEIGHBOR,
  });
  mesh.learn([1, 2, 3].map((n) => ({ id: peerId(n), host: '127.0.0.1', port: 9000 + n })), 0);
  mesh.maintain(0, 3);
  const dialled = ofType(out.take(), 'connect').map((c) => c.peerId);
  t.is(dialled.length, 3);
  dialled.forEach((id, i) => {
    mesh.onOpened(0, i + 1, true, id);
    t.is(mesh.handshake(0, mesh.get(i + 1)!, hello(parseInt(id, 16)), false), 'open');
  });
  mesh.get(1)!.requests.set(0, 10_000); // busy: not the one to go
  t.is(mesh.neighborCount(), 3);
  out.take();
  mesh.maintain(1000, 1);
  const first = ofType(out.take(), 'close');
  t.deepEqual(first.map((c) => c.code), ['FEWER_NEIGHBORS']);
  t.not(first[0]?.conn, 1);
  mesh.maintain(2000, 1);
  t.deepEqual(ofType(out.take(), 'close').map((c) => [c.conn, c.code]), [[dialled.length === 3 && first[0]?.conn === 2 ? 3 : 2, 'FEWER_NEIGHBORS']]);
  mesh.maintain(3000, 0);
  t.deepEqual(ofType(out.take(), 'close'), [], 'a neighbor with requests outstanding stays, even above the target');
  t.is(mesh.neighborCount(), 1);
});

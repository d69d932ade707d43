// Issue #11 ("Trust"): holes a few liars could use, closed through the scripted core (and the
// Mesh or OriginCache on their own where that is shorter). Time is the script's; randomness
// the seeded Rng (SLURPIE_SEED replays a run).
import test from 'ava';
import { SeededRng } from '../estimation/random.ts';
import { HELLO_NEIGHBOR, PROTOCOL_VERSION, type UpdateEntry } from '../peer/core/messages.ts';
import { Mesh } from '../peer/core/mesh.ts';
import { OriginCache, pinReserve, type OriginNews } from '../peer/core/origin-cache.ts';
import { Outbox } from '../peer/core/outbox.ts';
import { maxDegree, resolveParams } from '../peer/core/params.ts';
import { Reputation } from '../peer/core/reputation.ts';
import { closes, Listener, ofType, peerId, requests, SEED, SELF, Script, SWARM } from './fixtures/scripted-core.ts';

const SIZE = 10 * 1024; // 10 blocks of 1 KiB
const TIMEOUT = 10_000; // ms: each test is a few scripted seconds, well under one real one

const dialsTo = (s: Script, n: number): { host: string; port: number }[] =>
  ofType(s.log, 'connect').filter((c) => c.peerId === peerId(n)).map((c) => ({ host: c.host, port: c.port }));

// ---- 1. group-size inputs -----------------------------------------------------------

test('an entry cannot claim more neighbors than an honest peer can have', (t) => {
  t.timeout(TIMEOUT);
  const s = new Script(SIZE, { updateIntervalMs: 100, forwardEveryMs: 0, pipeline: 0 });
  const other = new Listener(s);
  const ceiling = maxDegree(resolveParams({}));
  t.is(ceiling, 20, 'maxNeighbors inbound plus the bandwidth controller’s 8 outbound');
  s.link(1, 1, []);
  s.link(2, 2, []);
  s.tick(0);
  other.take(2);
  // Neighbor 1 makes up three origins one hop behind it, each claiming 255 neighbors.
  s.msg(1, { type: 'UPDATE', entries: [100, 101, 102].map((n) => s.entry(n, [], { hops: 1, degree: 255 })) });
  const stats = s.core.stats(0);
  t.true(stats.meanDegree <= ceiling, `mean degree ${stats.meanDegree}`);
  t.true(stats.groupSizeNow <= (ceiling - 1) ** 2, `n ${stats.groupSizeNow}: no more than honest peers at full degree`);
  s.tick(200);
  const forwarded = other.take(2).filter((e) => e.id === peerId(100));
  t.deepEqual(forwarded.map((e) => e.degree), [ceiling], 'passed on clamped too');
});

test('origins the cache turns away, or pushes out in the same UPDATE, do not feed the mesh estimate', (t) => {
  t.timeout(TIMEOUT);
  // U = 4: neighbor 1 and three origins one hop from us fill it.
  const s = new Script(SIZE, { U: 4, pipeline: 0 });
  s.link(1, 1, []);
  s.msg(1, { type: 'UPDATE', entries: [10, 11].map((n) => s.entry(n, [], { hops: 0 })) });
  t.is(s.core.stats(0).diameter, 1);
  // A far origin takes the last free slot and a near one pushes it out again, in one UPDATE.
  s.msg(1, { type: 'UPDATE', entries: [s.entry(20, [], { hops: 6, degree: 20 }), s.entry(12, [], { hops: 0 })] });
  t.is(s.core.stats(0).diameter, 1, 'the origin pushed out at once was not counted');
  // The cache is full of nearer origins: farther ones are turned away, and not counted either.
  const before = s.core.stats(0).groupSizeNow;
  s.msg(1, { type: 'UPDATE', entries: Array.from({ length: 30 }, (_, i) => s.entry(100 + i, [], { hops: 5, degree: 20 })) });
  const after = s.core.stats(0);
  t.is(after.diameter, 1);
  t.is(after.groupSizeNow, before, `n ${after.groupSizeNow}`);
});

test('an UPDATE that breaks the rules or the budget feeds no estimate, not even its first entries', (t) => {
  t.timeout(TIMEOUT);
  const s = new Script(SIZE, { pipeline: 0, updateEntryRate: 10 });
  s.link(1, 1, []);
  const n = s.core.stats(0).groupSizeNow;
  const far = Array.from({ length: 5 }, (_, i) => s.entry(100 + i, [], { hops: 4, degree: 20 }));
  const unknownRef: UpdateEntry = { ref: 200, seq: 1, hops: 0, degree: 4, sourceBusy: false, body: { kind: 'same' } };
  t.deepEqual(closes(s.msg(1, { type: 'UPDATE', entries: [...far, unknownRef] })), ['UNKNOWN_REF']);
  // (The ban forgets peer 1 itself; the origins it made up are what must not count.)
  t.is(s.core.stats(0).diameter, 0, 'the entries before the bad one are not counted');
  t.true(s.core.stats(0).groupSizeNow <= n);
  const s2 = new Script(SIZE, { pipeline: 0, updateEntryRate: 10 });
  s2.link(2, 2, []);
  const many = Array.from({ length: 30 }, (_, i) => s2.entry(100 + i, [], { hops: 4, degree: 20 }));
  t.deepEqual(closes(s2.msg(2, { type: 'UPDATE', entries: many })), ['UPDATE_FLOOD']);
  t.is(s2.core.stats(0).diameter, 0, 'over the budget: nothing counted');
});

test('a size report in an entry the cache turned away is not used', (t) => {
  t.timeout(TIMEOUT);
  // U = 4 holds at most 3 of our connections (pinReserve): links 1–4 fill that and more.
  const s = new Script(SIZE, { U: 4, pipeline: 0 });
  for (const n of [1, 2, 3, 4]) s.link(n, n, []);
  // Three more say the swarm has a million peers: the third largest report would be believed.
  for (const n of [5, 6, 7]) {
    s.feed({ type: 'opened', conn: n, outbound: false });
    s.msg(n, s.hello(n, 0));
    s.msg(n, { type: 'UPDATE', entries: [s.entry(n, [], { estimate: { n: 1_000_000, ageS: 0 } })] });
  }
  const n = s.core.stats(0).groupSizeNow;
  t.true(n <= 8, `n ${n}: the seven peers we know of and us`);
});

// ---- 2. addresses -------------------------------------------------------------------

test('a forwarded intro cannot move an origin we already hold to another address', (t) => {
  t.timeout(TIMEOUT);
  t.log(`seed ${SEED}`);
  const s = new Script(SIZE, { forwardEveryMs: 0, updateIntervalMs: 100 });
  const other = new Listener(s);
  s.link(1, 1, []);
  s.link(2, 2, []);
  s.link(3, 3, []);
  s.msg(1, { type: 'UPDATE', entries: [s.entry(7, [], { hops: 1, seq: 1 })] }); // 127.0.0.1:9007
  // Neighbor 2 relays newer news of 7 (block 3, which we want) with another address.
  const out = s.msg(2, { type: 'UPDATE', entries: [s.entry(7, [3], { hops: 1, seq: 2, host: '10.6.6.6', port: 6666 })] });
  t.deepEqual(closes(out), [], 'relaying is not misbehaviour: no close, no ban');
  t.is(s.core.stats(0).bannedPeers, 0);
  t.true(ofType(out, 'log').some((l) => l.level === 'debug' && /another address/.test(l.msg)), 'noted');
  t.deepEqual(dialsTo(s, 7), [{ host: '127.0.0.1', port: 9007 }], 'dialled (for block 3) where it was first heard of');
  s.tick(100);
  const told = other.take(3).filter((e) => e.id === peerId(7));
  t.true(told.length > 0);
  t.true(told.every((e) => e.host === '127.0.0.1' && e.port === 9007), 'and passed on with that address');
});

test("an origin's own HELLO binds its address: a relayed intro with another does not replace it", (t) => {
  t.timeout(TIMEOUT);
  const s = new Script(SIZE);
  s.link(1, 1, []);
  // Peer 7 connects itself, at 127.0.0.1:9007, and leaves again.
  s.feed({ type: 'opened', conn: 7, outbound: false });
  s.msg(7, s.hello(7, 0));
  s.feed({ type: 'closed', conn: 7, reason: 'gone' });
  // Neighbor 1 then introduces 7, with block 3, at another address.
  s.msg(1, { type: 'UPDATE', entries: [s.entry(7, [3], { hops: 1, seq: 5, host: '10.6.6.6', port: 6666 })] });
  t.deepEqual(dialsTo(s, 7), [{ host: '127.0.0.1', port: 9007 }]);
});

test('a topology answer binds an address only to an id that has none; a HELLO rebinds it', (t) => {
  t.timeout(TIMEOUT);
  const params = resolveParams({ blockSize: 1024 });
  const mesh = new Mesh({
    self: { id: SELF, swarmId: SWARM, host: '127.0.0.1', port: 9000, size: SIZE },
    params, rng: new SeededRng(SEED), out: new Outbox(), reputation: new Reputation(params), origins: () => [], onDown: () => {},
  });
  mesh.learn([{ id: peerId(7), host: '127.0.0.1', port: 9007 }], 0);
  mesh.learn([{ id: peerId(7), host: '10.6.6.6', port: 6666 }], 0);
  t.deepEqual(mesh.known.get(peerId(7)), { id: peerId(7), host: '127.0.0.1', port: 9007 });
  mesh.onOpened(0, 1, false);
  const hello = { type: 'HELLO' as const, version: PROTOCOL_VERSION, swarmId: SWARM, peerId: peerId(7), host: '127.0.0.7', port: 7007, size: SIZE, blockSize: 1024, flags: HELLO_NEIGHBOR };
  t.is(mesh.handshake(0, mesh.get(1)!, hello, false), 'open');
  t.deepEqual(mesh.known.get(peerId(7)), { id: peerId(7), host: '127.0.0.7', port: 7007 });
});

// ---- 3. the pinned reserve ----------------------------------------------------------

test('our connections cannot fill the origin cache: a far origin still gets in', (t) => {
  t.timeout(TIMEOUT);
  t.log(`seed ${SEED}`);
  // U = 8 (a reserve of 1) and ten connections, each with its own entry.
  const s = new Script(SIZE, { U: 8 });
  for (let n = 1; n <= 10; n++) s.link(n, n, []);
  s.msg(1, { type: 'UPDATE', entries: [s.entry(100, [5], { hops: 2 })] });
  t.is(dialsTo(s, 100).length, 1, 'held, so dialled for block 5');
});

test('connecting to origins already cached does not eat the reserve either', (t) => {
  t.timeout(TIMEOUT);
  const s = new Script(SIZE, { U: 8, eta: 1 });
  s.link(1, 1, []);
  // Seven origins one hop from us fill the cache; then we connect to each of them.
  s.msg(1, { type: 'UPDATE', entries: Array.from({ length: 7 }, (_, i) => s.entry(10 + i, [], { hops: 0 })) });
  for (let i = 0; i < 7; i++) s.feed({ type: 'opened', conn: 10 + i, outbound: true, peerId: peerId(10 + i) });
  s.msg(1, { type: 'UPDATE', entries: [s.entry(100, [5], { hops: 2 })] });
  t.is(dialsTo(s, 100).length, 1, 'held, so dialled for block 5');
});

test('the pinned limit: pinned newcomers stop at U minus the reserve, free slots or not', (t) => {
  t.timeout(TIMEOUT);
  t.is(pinReserve(32), 4);
  t.is(pinReserve(4), 1);
  t.is(pinReserve(1), 0, 'a one-slot cache keeps its slot for a connection');
  const cache = new OriginCache(8, 1, 8, pinReserve(8));
  const news = (n: number, hops: number): OriginNews => ({
    id: peerId(n), host: '127.0.0.1', port: 9000 + n, seq: 1, hops, degree: 4, sourceBusy: false, arena: new Uint8Array(1), offset: 0,
  });
  const pinned = (id: string): boolean => Number.parseInt(id, 16) < 100;
  const results = Array.from({ length: 8 }, (_, n) => cache.merge(news(n + 1, 0), null, 0, pinned));
  t.deepEqual(results, ['new', 'new', 'new', 'new', 'new', 'new', 'new', 'rejected']);
  t.is(cache.merge(news(100, 3), null, 0, pinned), 'new', 'the reserved slot');
  t.is(cache.merge(news(101, 2), null, 0, pinned), 'new', 'a nearer one replaces it (the usual rule)');
  t.is(cache.get(peerId(100)), undefined);
});

// ---- 4. waiting on the source -------------------------------------------------------

test('a peer streaming from the source is not struck for the wait; a silent or idle one is', (t) => {
  t.timeout(TIMEOUT);
  const params = { pipeline: 4, requestTimeoutMs: 2000, roundMs: 1000, maxStrikes: 3, staleMs: 10_000, penaltyMs: 60_000 };
  const busy = (s: Script, n: number, seq: number, blocks: number[], sourceBusy = true): UpdateEntry => ({ ...s.entry(n, blocks, { seq }), sourceBusy });
  const all = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  // Peer 1 advertises the blocks of its Range GET at once and says it is fetching: our
  // requests wait with it (serving.ts) while its entries keep coming, for 20 s.
  const s = new Script(SIZE, params);
  s.feed({ type: 'opened', conn: 1, outbound: false });
  s.msg(1, s.hello(1));
  t.is(requests(s.msg(1, { type: 'UPDATE', entries: [busy(s, 1, 1, all)] }), 1).length, 4);
  for (let at = 1000; at <= 20_000; at += 1000) {
    s.msg(1, { type: 'UPDATE', entries: [busy(s, 1, 1 + at / 1000, all)] });
    const out = s.tick(at);
    t.deepEqual(closes(out), [], `kept at ${at} ms`);
  }
  t.is(s.core.stats(20_000).connections, 1);
  t.true(requests(s.log, 1).length > 4, 'asked again after each timeout');
  t.is(requests(s.tick(22_000), 1).length, 4, 'no probation: a full pipeline');
  // The same claim from a peer gone silent (no fresh entry for staleMs) is no excuse.
  const silent = new Script(SIZE, params);
  silent.feed({ type: 'opened', conn: 1, outbound: false });
  silent.msg(1, silent.hello(1));
  silent.msg(1, { type: 'UPDATE', entries: [busy(silent, 1, 1, all)] });
  const struck: string[] = [];
  for (let at = 1000; at <= 20_000 && struck.length === 0; at += 1000) struck.push(...closes(silent.tick(at)));
  t.deepEqual(struck, ['TOO_SLOW']);
  // Nor is a fresh entry that does not say it is fetching.
  const idle = new Script(SIZE, params);
  idle.feed({ type: 'opened', conn: 1, outbound: false });
  idle.msg(1, idle.hello(1));
  idle.msg(1, { type: 'UPDATE', entries: [busy(idle, 1, 1, all, false)] });
  idle.msg(1, { type: 'UPDATE', entries: [busy(idle, 1, 2, all, false)] });
  t.deepEqual(closes(idle.tick(3000)), ['TOO_SLOW']);
});

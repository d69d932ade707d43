// Flooding through the scripted core: our own entry's seq and heartbeat, forwarding limits
// (maxHops), the bitfield length check, and how origins that stop rising age out.
import test from 'ava';
import { closes, Listener, peerId, SELF, Script } from './fixtures/scripted-core.ts';

const SIZE = 10 * 1024;

test('our own entry: a new seq when our state changed, else only at the heartbeat', (t) => {
  // Holding every block, nothing changes our state (no source runs, no blocks arriving).
  const s = new Script(SIZE, { updateIntervalMs: 100, heartbeatMs: 2000 }, undefined, new Uint8Array([0xff, 0xc0]));
  const other = new Listener(s);
  s.link(1, 1, []);
  other.take(1); // our greeting
  const seqs: [number, number][] = [];
  for (let at = 0; at <= 5000; at += 100) {
    s.tick(at);
    for (const e of other.take(1)) if (e.id === SELF) seqs.push([at, e.seq]);
  }
  // Sent only when the seq changed, then every heartbeat; a finished peer's links are data-only,
  // so the first change (at the first flood) waits for dataUpdateMs after the greeting.
  t.deepEqual(seqs.map(([at]) => at), [1000, 2000, 4000]);
  t.deepEqual(seqs.map(([, seq]) => seq), [1, 2, 3]);
  // A block stored makes the next flood carry a new seq at once.
  const s2 = new Script(SIZE, { updateIntervalMs: 100, heartbeatMs: 2000, pipeline: 1 });
  const other2 = new Listener(s2);
  s2.link(1, 1, [4]);
  s2.tick(0);
  s2.msg(1, { type: 'BLOCK', index: 4, data: new Uint8Array(1024) });
  s2.feed({ type: 'stored', index: 4 }, 50);
  other2.take(1);
  s2.tick(100);
  const own = other2.take(1).find((e) => e.id === SELF);
  t.truthy(own, 'sent at the next flood, not at the heartbeat');
  t.true(((own?.bits[0] ?? 0) & 0x08) !== 0, 'with block 4');
});

test('entries are not kept or forwarded at or past maxHops', (t) => {
  const s = new Script(SIZE, { updateIntervalMs: 100, maxHops: 3, forwardEveryMs: 0 });
  const other = new Listener(s);
  s.link(1, 1, []);
  s.link(2, 2, []);
  s.tick(0);
  other.take(2);
  s.msg(1, { type: 'UPDATE', entries: [s.entry(7, [1], { hops: 1 }), s.entry(8, [2], { hops: 2 }), s.entry(9, [3], { hops: 3 })] });
  s.tick(200);
  const to2 = other.take(2);
  t.deepEqual(to2.filter((e) => e.id !== peerId(1) && e.id !== SELF).map((e) => [e.id, e.hops]), [[peerId(7), 2]]);
  // 8 is kept (3 hops from us) but not forwarded (it would arrive 4 hops out); 9 is dropped.
  t.is(s.core.stats(200).peersSeen, 4, 'peers 1, 2, 7 and 8');
});

test('an UPDATE bitfield of the wrong length is a violation', (t) => {
  const s = new Script(SIZE);
  s.link(1, 1, []);
  const bad = s.entry(7, [1], { bits: new Uint8Array(3) }); // 10 blocks need 2 bytes
  t.deepEqual(closes(s.msg(1, { type: 'UPDATE', entries: [bad] })), ['BITFIELD_LENGTH']);
  t.is(s.core.stats(0).bannedPeers, 1);
});

test('origins whose seq stops rising age out after staleMs; a repeated seq does not keep them', (t) => {
  const s = new Script(SIZE, { staleMs: 10_000, roundMs: 1000, updateIntervalMs: 1000, pipeline: 0 });
  s.link(1, 1, []);
  const far = (seq: number) => Array.from({ length: 20 }, (_, i) => s.entry(100 + i, [0], { seq, hops: 2, degree: 4 }));
  s.msg(1, { type: 'UPDATE', entries: far(1) });
  t.true(s.core.stats(0).groupSizeNow >= 21, `estimate ${s.core.stats(0).groupSizeNow} with 21 origins in view`);
  for (let at = 1000; at <= 14_000; at += 1000) {
    s.tick(at);
    // Our neighbor stays alive (its own seq rises); until 9 s it also repeats the far origins'
    // old news, which must not count as a sign of life.
    s.msg(1, { type: 'UPDATE', entries: [s.entry(1, [], { seq: 100 + at }), ...(at <= 9000 ? far(1) : [])] });
  }
  t.true(s.core.stats(14_000).groupSizeNow <= 3, `estimate ${s.core.stats(14_000).groupSizeNow} once they are stale`);
  // News with a rising seq brings them back.
  s.msg(1, { type: 'UPDATE', entries: far(2) });
  t.true(s.core.stats(14_000).groupSizeNow >= 21);
});

test("others' entries go to a neighbor at most every forwardEveryMs; our own entry every flood", (t) => {
  const s = new Script(SIZE, { updateIntervalMs: 100, forwardEveryMs: 1000, pipeline: 0 });
  const other = new Listener(s);
  s.link(1, 1, []);
  s.link(2, 2, []);
  s.tick(0);
  other.take(2);
  const forwardedAt: number[] = [];
  const ownAt: number[] = [];
  for (let at = 100; at <= 3000; at += 100) {
    // Origin 7 changes every 100 ms (a rising seq), and so do we (a block arrives... or not: a heartbeat every 2 s).
    s.msg(1, { type: 'UPDATE', entries: [s.entry(7, [at % 10], { seq: at, hops: 1 })] });
    s.tick(at);
    for (const e of other.take(2)) {
      if (e.id === peerId(7)) forwardedAt.push(at);
      if (e.id === SELF) ownAt.push(at);
    }
  }
  t.deepEqual(forwardedAt, [1000, 2000, 3000], 'news of origin 7 at most once a second');
  t.true(ownAt.length >= 1);
});

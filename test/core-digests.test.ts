// Per-block integrity in the core (issue #11, peer/core/digests.ts): a BLOCK is kept only if we
// asked for it and its bytes match its own digest and every other connection's word; a
// dispute is settled by the source and costs the liar a ban; we vouch for what we can.
import test from 'ava';
import type { Digests } from '../peer/core/messages.ts';
import { blockDigest } from '../peer/storage/verify.ts';
import { closes, ofType, requests, Script, sent } from './fixtures/scripted-core.ts';

const SIZE = 10 * 1024 - 100; // 10 blocks of 1 KiB, the last one short
const len = (i: number): number => (i === 9 ? 924 : 1024);
const good = (i: number): Uint8Array => new Uint8Array(len(i)).map((_, j) => (i * 31 + j) % 251);
const bad = (i: number): Uint8Array => new Uint8Array(len(i)).fill(0x5a);

test('a BLOCK whose bytes do not match the digest sent with them: banned, nothing kept, asked elsewhere', (t) => {
  const s = new Script(SIZE, { pipeline: 1 });
  t.deepEqual(requests(s.link(1, 1, [3]), 1), [3]);
  const out = s.msg(1, { type: 'BLOCK', index: 3, digest: blockDigest(good(3)), data: bad(3) });
  t.deepEqual(closes(out), ['BAD_DIGEST']);
  t.deepEqual(ofType(out, 'store'), []);
  t.is(s.core.stats(0).badDigests, 1);
  t.deepEqual(requests(s.link(2, 2, [3]), 2), [3], 'the block is missing again');
});

test('a BLOCK nobody asked for: its sender is banned and the block it pushed is not kept', (t) => {
  const s = new Script(SIZE, { pipeline: 1 });
  t.deepEqual(requests(s.link(1, 1, [3]), 1), [3]);
  s.link(2, 2, [3, 4]);
  const pushed = s.msg(2, { type: 'BLOCK', index: 3, data: bad(3) }); // its own digest: consistent
  t.deepEqual(closes(pushed), ['UNREQUESTED_BLOCK']);
  t.deepEqual(ofType(pushed, 'store'), []);
  // The request to peer 1 still stands: its answer is kept.
  const answer = ofType(s.msg(1, { type: 'BLOCK', index: 3, data: good(3) }), 'store');
  t.is(answer.length, 1);
  t.deepEqual(answer[0]?.data, good(3));
});

test('a late answer to a request that timed out is an answer, not a push', (t) => {
  const s = new Script(SIZE, { pipeline: 1, requestTimeoutMs: 1000, roundMs: 1000 });
  t.deepEqual(requests(s.link(1, 1, [3]), 1), [3]);
  s.tick(1000);
  s.tick(2500); // the request expired: block 3 is missing again (and peer 1 is on probation)
  const late = s.msg(1, { type: 'BLOCK', index: 3, data: good(3) });
  t.deepEqual(closes(late), []);
  t.is(ofType(late, 'store').length, 1);
  // Asked twice of the same peer: two answers are fine, a third is a push.
  const s2 = new Script(SIZE, { pipeline: 1, requestTimeoutMs: 1000, roundMs: 1000 });
  t.deepEqual(requests(s2.link(1, 1, [3]), 1), [3]);
  t.deepEqual(requests(s2.tick(1000), 1), [3], 'asked again after the timeout');
  t.is(ofType(s2.msg(1, { type: 'BLOCK', index: 3, data: good(3) }), 'store').length, 1);
  t.deepEqual(closes(s2.msg(1, { type: 'BLOCK', index: 3, data: good(3) })), []);
  t.deepEqual(closes(s2.msg(1, { type: 'BLOCK', index: 3, data: good(3) })), ['UNREQUESTED_BLOCK']);
});

test('another connection that vouches for the same digest makes the block witnessed; none, unwitnessed', (t) => {
  const s = new Script(SIZE, { pipeline: 1 });
  t.deepEqual(requests(s.link(1, 1, [3]), 1), [3]);
  s.link(2, 2, [3]);
  s.msg(2, { type: 'DIGESTS', blocks: [{ index: 3, digest: blockDigest(good(3)) }] });
  const stored = ofType(s.msg(1, { type: 'BLOCK', index: 3, data: good(3) }), 'store');
  t.deepEqual(stored.map((a) => a.witnessed), [true]);
  const alone = new Script(SIZE, { pipeline: 1 });
  t.deepEqual(requests(alone.link(1, 1, [3]), 1), [3]);
  t.deepEqual(ofType(alone.msg(1, { type: 'BLOCK', index: 3, data: good(3) }), 'store').map((a) => a.witnessed), [false]);
});

for (const liar of ['the witness', 'the sender'] as const) {
  test(`a disputed block is fetched alone from the source, which shows ${liar} lied: banned`, (t) => {
    const s = new Script(SIZE, { pipeline: 1 });
    t.deepEqual(requests(s.link(1, 1, [3]), 1), [3]);
    s.link(2, 2, [3]);
    const witnessSays = liar === 'the witness' ? bad(3) : good(3);
    s.msg(2, { type: 'DIGESTS', blocks: [{ index: 3, digest: blockDigest(witnessSays) }] });
    const senderSends = liar === 'the sender' ? bad(3) : good(3); // under its own digest
    const out = s.msg(1, { type: 'BLOCK', index: 3, data: senderSends });
    t.deepEqual(ofType(out, 'store'), [], 'nothing kept while the peers disagree');
    t.deepEqual(ofType(out, 'fetchSource').map((a) => [a.first, a.count]), [[3, 1]]);
    t.is(s.core.stats(0).disputes, 1);
    // No one else is asked for it meanwhile.
    t.deepEqual(requests(s.link(3, 3, [3]), 3), []);
    const settled = s.feed({ type: 'sourceBlock', index: 3, data: good(3) });
    t.deepEqual(ofType(settled, 'store').map((a) => [a.index, a.from]), [[3, 'source']]);
    t.deepEqual(closes(settled), ['FALSE_DIGEST']);
    t.is(ofType(settled, 'close')[0]?.conn, liar === 'the witness' ? 2 : 1);
    t.is(s.core.stats(0).bannedPeers, 1);
  });
}

test('we vouch for blocks from the source and witnessed ones, once per connection, not to whoever told us', (t) => {
  const s = new Script(SIZE, { pipeline: 1, updateIntervalMs: 100, digestEveryMs: 1000 });
  s.link(1, 1, []);
  s.link(2, 2, [5]);
  s.msg(2, { type: 'DIGESTS', blocks: [{ index: 5, digest: blockDigest(good(5)) }] });
  const run = ofType(s.feed({ type: 'peers', peers: [] }, 0), 'fetchSource')[0];
  t.truthy(run);
  const i = run!.first;
  s.feed({ type: 'sourceBlock', index: i, data: good(i) }, 10);
  s.feed({ type: 'stored', index: i }, 11);
  const told = (from: number, to: number, conn: number): number[][] =>
    sent(s.log.slice(from, to), 'DIGESTS', conn).map((m) => (m as Digests).blocks.map((b) => b.index));
  let mark = s.log.length;
  s.tick(100);
  t.deepEqual(told(mark, s.log.length, 1), [[i]]);
  t.deepEqual(told(mark, s.log.length, 2), i === 5 ? [] : [[i]]);
  const digest = (sent(s.log.slice(mark), 'DIGESTS', 1)[0] as Digests).blocks[0]?.digest;
  t.deepEqual(digest, blockDigest(good(i)));
  mark = s.log.length;
  for (let at = 200; at <= 3000; at += 100) s.tick(at);
  t.deepEqual(told(mark, s.log.length, 1), [], 'each block once per connection');
  // A block we serve goes with the digest we accepted it under.
  const serve = ofType(s.msg(1, { type: 'REQUEST', index: i }), 'serve')[0];
  t.deepEqual(serve?.digest, blockDigest(good(i)));
});

test('an unwitnessed block is vouched for once another connection confirms its digest', (t) => {
  const s = new Script(SIZE, { pipeline: 1, updateIntervalMs: 100, digestEveryMs: 100 });
  t.deepEqual(requests(s.link(1, 1, [3]), 1), [3]);
  s.msg(1, { type: 'BLOCK', index: 3, data: good(3) });
  s.feed({ type: 'stored', index: 3 }, 1);
  s.link(2, 2, []);
  let mark = s.log.length;
  s.tick(100);
  t.deepEqual(sent(s.log.slice(mark), 'DIGESTS'), [], 'on one peer\'s word only: not vouched');
  s.link(3, 3, [3]);
  s.msg(3, { type: 'DIGESTS', blocks: [{ index: 3, digest: blockDigest(good(3)) }] });
  mark = s.log.length;
  s.tick(300);
  const to2 = sent(s.log.slice(mark), 'DIGESTS', 2) as Digests[];
  t.deepEqual(to2.map((m) => m.blocks.map((b) => b.index)), [[3]]);
  t.deepEqual(sent(s.log.slice(mark), 'DIGESTS', 3), [], 'not back to the peer that confirmed it');
});

test('DIGESTS naming a block past the end of the file is a violation', (t) => {
  const s = new Script(SIZE);
  s.link(1, 1, []);
  t.deepEqual(closes(s.msg(1, { type: 'DIGESTS', blocks: [{ index: 10, digest: new Uint8Array(16) }] })), ['INDEX_RANGE']);
});

test('colluding liars that contradict every block cost one settling fetch in all, then nothing', (t) => {
  const s = new Script(SIZE, { pipeline: 1 });
  s.link(1, 1, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // honest: has everything
  for (const liar of [2, 3, 4]) {
    s.link(liar, liar, []);
    s.msg(liar, { type: 'DIGESTS', blocks: Array.from({ length: 10 }, (_, i) => ({ index: i, digest: blockDigest(bad(i)) })) });
  }
  let fetches = 0;
  let stored = 0;
  const asked = requests(s.log, 1);
  for (let at = 1; asked.length > 0 && at < 100; at++) {
    const i = asked.shift()!;
    const out = s.msg(1, { type: 'BLOCK', index: i, data: good(i) });
    const runs = ofType(out, 'fetchSource');
    fetches += runs.length;
    for (const run of runs) {
      const settled = s.feed({ type: 'sourceBlock', index: run.first, data: good(run.first) }, at);
      t.deepEqual(closes(settled).sort(), ['FALSE_DIGEST', 'FALSE_DIGEST', 'FALSE_DIGEST']);
      asked.push(...requests(s.feed({ type: 'stored', index: run.first }, at), 1));
      asked.push(...requests(s.feed({ type: 'sourceEnd', ok: true }, at), 1));
      stored++;
    }
    for (const a of ofType(out, 'store')) {
      stored++;
      asked.push(...requests(s.feed({ type: 'stored', index: a.index }, at), 1));
    }
    asked.push(...requests(out, 1));
  }
  t.is(fetches, 1, 'one block from the source settled it for every liar');
  t.is(stored, 10);
  t.true(s.core.isComplete);
  t.is(s.core.stats(0).bannedPeers, 3);
});

// Connections keep their claims as bits against the first claim heard for a block, and a copy
// only of a claim that differs (digests.ts): whichever of a liar and an honest peer spoke first,
// the block is disputed, and the source's bytes ban the liar alone.
for (const first of ['the liar', 'the honest witness'] as const) {
  test(`a liar's claim and an honest one, ${first} first: disputed, only the liar banned`, (t) => {
    const s = new Script(SIZE, { pipeline: 1 });
    t.deepEqual(requests(s.link(1, 1, [3]), 1), [3]);
    s.link(2, 2, [3]); // honest
    s.link(3, 3, [3]); // liar
    const honest: Digests = { type: 'DIGESTS', blocks: [{ index: 3, digest: blockDigest(good(3)) }] };
    const lie: Digests = { type: 'DIGESTS', blocks: [{ index: 3, digest: blockDigest(bad(3)) }] };
    const order: [number, Digests][] = first === 'the liar' ? [[3, lie], [2, honest]] : [[2, honest], [3, lie]];
    for (const [conn, msg] of order) s.msg(conn, msg);
    const out = s.msg(1, { type: 'BLOCK', index: 3, data: good(3) });
    t.deepEqual(ofType(out, 'store'), []);
    t.deepEqual(ofType(out, 'fetchSource').map((a) => [a.first, a.count]), [[3, 1]]);
    const settled = s.feed({ type: 'sourceBlock', index: 3, data: good(3) });
    t.deepEqual(closes(settled), ['FALSE_DIGEST']);
    t.is(ofType(settled, 'close')[0]?.conn, 3);
  });
}

test('a connection that changes its claim is held to the last one', (t) => {
  const s = new Script(SIZE, { pipeline: 1 });
  t.deepEqual(requests(s.link(1, 1, [3]), 1), [3]);
  s.link(2, 2, [3]);
  s.msg(2, { type: 'DIGESTS', blocks: [{ index: 3, digest: blockDigest(bad(3)) }] });
  s.msg(2, { type: 'DIGESTS', blocks: [{ index: 3, digest: blockDigest(good(3)) }] });
  const out = s.msg(1, { type: 'BLOCK', index: 3, data: good(3) });
  t.deepEqual(ofType(out, 'store').map((a) => a.witnessed), [true]);
});

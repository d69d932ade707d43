// PeerCore driven by scripted events: mesh, handshake, flooding, block choice, the source.
import test from 'ava';
import type { PeerAction } from '../peer/core/events.ts';
import { HELLO_NEIGHBOR } from '../peer/core/messages.ts';
import { isDialableHost } from '../peer/core/address.ts';
import { closes, Listener, ofType, peerId, requests, Script, sent } from './fixtures/scripted-core.ts';

const SIZE = 10 * 1024 - 100; // 10 blocks of 1 KiB, the last one short

test('bootstrap dials eta distinct peers as neighbors and asks for more when it knows no one', (t) => {
  const s = new Script(SIZE, { eta: 4 });
  const first = s.feed({ type: 'peers', peers: [] });
  t.is(ofType(first, 'needPeers').length, 1);
  const peers = Array.from({ length: 6 }, (_, i) => ({ id: peerId(i + 1), host: '127.0.0.1', port: 9001 + i }));
  const actions = s.feed({ type: 'peers', peers }, 10_000);
  const dials = ofType(actions, 'connect');
  t.is(dials.length, 4);
  t.is(new Set(dials.map((d) => d.peerId)).size, 4);
  // Our own id in the answer is never dialled.
  const again = new Script(SIZE, { eta: 4 });
  t.deepEqual(ofType(again.feed({ type: 'peers', peers: [{ id: '00'.repeat(16), host: 'x', port: 1 }] }), 'connect'), []);
});

test('the dialler says HELLO first; the acceptor answers after it, granting the neighbor link', (t) => {
  const s = new Script(SIZE);
  s.feed({ type: 'peers', peers: [{ id: peerId(1), host: '127.0.0.1', port: 9001 }] });
  const out = s.feed({ type: 'opened', conn: 1, outbound: true, peerId: peerId(1) });
  const hello = sent(out, 'HELLO', 1)[0];
  t.truthy(hello);
  t.is((hello as { flags: number }).flags & HELLO_NEIGHBOR, HELLO_NEIGHBOR);

  const inbound = s.feed({ type: 'opened', conn: 2, outbound: false });
  t.deepEqual(sent(inbound), [], 'the acceptor waits for the HELLO');
  const reply = s.msg(2, s.hello(2));
  t.is(sent(reply, 'HELLO', 2).length, 1);
  t.is(sent(reply, 'UPDATE', 2).length, 1, 'our bitfield follows at once');
});

test('a HELLO for another swarm, file or version closes the connection', (t) => {
  for (const bad of [{ swarmId: 'b'.repeat(64) }, { size: SIZE + 1 }, { blockSize: 2048 }, { version: 9 }]) {
    const s = new Script(SIZE);
    s.feed({ type: 'opened', conn: 1, outbound: false });
    const out = s.msg(1, s.hello(1, HELLO_NEIGHBOR, bad));
    t.deepEqual(closes(out), ['HELLO_MISMATCH'], JSON.stringify(bad));
    t.is(s.core.stats(0).bannedPeers, 0, 'a mismatch is not misbehaviour');
  }
});

test('messages before HELLO are a protocol error', (t) => {
  const s = new Script(SIZE);
  s.feed({ type: 'opened', conn: 1, outbound: false });
  t.deepEqual(closes(s.msg(1, { type: 'REQUEST', index: 0 })), ['MESSAGE_BEFORE_HELLO']);
});

test('requests go to a peer that has the blocks, at most `pipeline` at once, never twice', (t) => {
  const s = new Script(SIZE, { pipeline: 3, dataConnections: 4 });
  const a = requests(s.link(1, 1, [0, 1, 2, 3, 4]), 1);
  t.is(a.length, 3);
  t.true(a.every((i) => i <= 4));
  const b = requests(s.link(2, 2, [0, 1, 2, 3, 4]), 2);
  t.is(b.length, 2, 'only the two blocks not yet asked for');
  t.deepEqual(new Set([...a, ...b]).size, 5);
});

test('a block arrives, is stored, and completing every block says complete once', (t) => {
  const s = new Script(2048, { pipeline: 4 });
  const asked = requests(s.link(1, 1, [0, 1]), 1);
  t.deepEqual(asked.sort(), [0, 1]);
  const stores = ofType(s.msg(1, { type: 'BLOCK', index: 0, data: new Uint8Array(1024) }), 'store');
  t.is(stores.length, 1);
  t.is(stores[0]?.from, peerId(1));
  t.deepEqual(ofType(s.feed({ type: 'stored', index: 0 }), 'complete'), []);
  s.msg(1, { type: 'BLOCK', index: 1, data: new Uint8Array(1024) });
  t.is(ofType(s.feed({ type: 'stored', index: 1 }), 'complete').length, 1);
  t.true(s.core.isComplete);
  t.deepEqual(ofType(s.feed({ type: 'stored', index: 1 }), 'complete'), []);
});

test('a wrong-length block bans the peer and the block is asked of someone else', (t) => {
  const s = new Script(SIZE, { pipeline: 1 });
  const [first] = requests(s.link(1, 1, [9]), 1);
  t.is(first, 9);
  const out = s.msg(1, { type: 'BLOCK', index: 9, data: new Uint8Array(1024) }); // block 9 is 924 bytes
  t.deepEqual(closes(out), ['BLOCK_LENGTH']);
  t.is(ofType(out, 'store').length, 0);
  t.is(s.core.stats(0).bannedPeers, 1);
  const again = requests(s.link(2, 2, [9]), 2);
  t.deepEqual(again, [9]);
  // The banned peer is not dialled again even if someone advertises it.
  const dials = ofType(s.feed({ type: 'peers', peers: [{ id: peerId(1), host: '127.0.0.1', port: 9001 }] }), 'connect');
  t.false(dials.some((d) => d.peerId === peerId(1)));
});

test('a peer vanishing mid-block: the block is re-requested from another holder', (t) => {
  const s = new Script(SIZE, { pipeline: 1 });
  const [i] = requests(s.link(1, 1, [5]), 1);
  t.is(i, 5);
  s.link(2, 2, [5]);
  const out = s.feed({ type: 'closed', conn: 1, reason: 'gone' });
  t.deepEqual(requests(out, 2), [5]);
});

test('serving: REQUEST for a block we have -> serve; missing -> REJECT; out of range -> ban', (t) => {
  const have = new Uint8Array(2);
  have[0] = 0x80; // block 0
  const s = new Script(SIZE, {}, 1, have);
  s.link(1, 1, []);
  t.deepEqual(ofType(s.msg(1, { type: 'REQUEST', index: 0 }), 'serve').map((a) => a.index), [0]);
  t.deepEqual(sent(s.msg(1, { type: 'REQUEST', index: 3 }), 'REJECT'), [{ type: 'REJECT', index: 3, reason: 'missing' }]);
  t.deepEqual(closes(s.msg(1, { type: 'REQUEST', index: 10 })), ['INDEX_RANGE']);
  t.is(s.core.stats(0).bannedPeers, 1);
});

test('serving: refusals counted by the rule that refused them (stats refusedBusy)', (t) => {
  const have = new Uint8Array(2).fill(0xff); // blocks 0-9 (SIZE holds 10)
  const perConn = new Script(SIZE, { maxServePerConn: 1 }, 1, have);
  perConn.link(1, 1, []);
  t.is(ofType(perConn.msg(1, { type: 'REQUEST', index: 0 }), 'serve').length, 1);
  t.deepEqual(sent(perConn.msg(1, { type: 'REQUEST', index: 1 }), 'REJECT'), [{ type: 'REJECT', index: 1, reason: 'busy' }]);
  t.deepEqual(perConn.core.stats(0).refusedBusy, { perConnection: 1, backlog: 0, shared: 0 });
  // Four serves always queue; a fifth before any has gone out (no rate measured yet) would pass the bound.
  const backlog = new Script(SIZE, {}, 1, have);
  backlog.link(1, 1, []);
  for (const index of [0, 1, 2, 3]) t.is(ofType(backlog.msg(1, { type: 'REQUEST', index }), 'serve').length, 1);
  t.deepEqual(sent(backlog.msg(1, { type: 'REQUEST', index: 4 }), 'REJECT'), [{ type: 'REJECT', index: 4, reason: 'busy' }]);
  t.deepEqual(backlog.core.stats(0).refusedBusy, { perConnection: 0, backlog: 1, shared: 0 });
});

test('a REJECT missing takes the block out of that peer view; repeated false claims drop it', (t) => {
  const s = new Script(SIZE, { pipeline: 1, maxStrikes: 2 });
  const [i] = requests(s.link(1, 1, [1, 2, 3]), 1);
  const next = s.msg(1, { type: 'REJECT', index: i as number, reason: 'missing' });
  const [j] = requests(next, 1);
  t.not(j, i);
  const out = s.msg(1, { type: 'REJECT', index: j as number, reason: 'missing' });
  t.deepEqual(closes(out), ['FALSE_CLAIMS']);
  t.is(s.core.stats(0).bannedPeers, 0, 'a penalty, not a ban');
});

test('a peer that said busy gets one request at a time until it delivers, then a full pipeline', (t) => {
  const s = new Script(SIZE, { pipeline: 4, roundMs: 1000 });
  const first = requests(s.link(1, 1, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), 1);
  t.is(first.length, 4);
  for (const index of first) t.deepEqual(requests(s.msg(1, { type: 'REJECT', index, reason: 'busy' }), 1), [], 'nothing more within the round');
  const probe = requests(s.tick(1100), 1);
  t.is(probe.length, 1, 'one request after the round, not a pipeline for it to refuse again');
  const index = probe[0] as number;
  const after = requests(s.msg(1, { type: 'BLOCK', index, data: new Uint8Array(1024) }), 1);
  t.is(after.length, 4, 'it delivered: a full pipeline again');
  t.false(after.includes(index));
});

test('requests that time out go elsewhere and count against the slow peer', (t) => {
  const s = new Script(SIZE, { pipeline: 1, requestTimeoutMs: 5000, maxStrikes: 1 });
  const [i] = requests(s.link(1, 1, [7]), 1);
  s.link(2, 2, [7]);
  const out = s.tick(6000);
  t.deepEqual(closes(out), ['TOO_SLOW'], 'slow peer dropped');
  t.deepEqual(requests(out, 2), [i]);
});

test('alone, the peer goes to the source every round and fetches runs of what it misses', (t) => {
  const s = new Script(SIZE, { roundMs: 1000 });
  const first = ofType(s.feed({ type: 'peers', peers: [] }), 'fetchSource');
  t.is(first.length, 1);
  const run = first[0]!;
  t.true(run.count >= 1 && run.first + run.count <= 10);
  for (let i = run.first; i < run.first + run.count; i++) {
    const len = i === 9 ? 924 : 1024;
    t.is(ofType(s.feed({ type: 'sourceBlock', index: i, data: new Uint8Array(len) }), 'store').length, 1);
  }
  // A block we did not ask for, or of the wrong size, is ignored.
  t.deepEqual(ofType(s.feed({ type: 'sourceBlock', index: run.first, data: new Uint8Array(1024) }), 'store'), []);
  const next = ofType(s.feed({ type: 'sourceEnd', ok: true }, 100), 'fetchSource');
  t.is(next.length, 1, 'the lease of the round keeps the source busy');
  t.true(next[0]!.first + next[0]!.count <= run.first || next[0]!.first >= run.first + run.count);
});

test('the source run prefers blocks no one in the view has (last-block rule)', (t) => {
  const s = new Script(SIZE, { roundMs: 1000, pipeline: 0, backoff: false });
  s.link(1, 1, [0, 1, 2, 3, 4, 5, 6, 7]);
  t.deepEqual(ofType(s.tick(0), 'fetchSource'), [], 'no source before the first round or topology answer');
  t.deepEqual(ofType(s.tick(1000), 'fetchSource'), [], 'nor in the first round without one');
  const runs = ofType(s.tick(2000), 'fetchSource'); // without a topology answer it opens after two rounds
  t.is(runs.length, 1);
  t.true(runs[0]!.first >= 8, `run ${JSON.stringify(runs[0])} should be in blocks 8..9`);
});

test('with n known peers the source is visited in about k/n of the rounds', (t) => {
  // Every run is failed at once to end it; the core must not give up on the source for that.
  const s = new Script(1024 * 64, { roundMs: 1000, k: 3, pipeline: 0, U: 40, maxSourceFailures: 1e9, sourceLeaseRounds: 1 });
  // 29 origins known through a neighbor -> n = 30, so p = 0.1.
  s.feed({ type: 'opened', conn: 1, outbound: false });
  s.msg(1, s.hello(1));
  // They hold block 0 (so our view is not starved and the lottery applies), we hold no link to them.
  s.msg(1, { type: 'UPDATE', entries: Array.from({ length: 29 }, (_, i) => s.entry(i + 1, i === 0 ? [] : [0], { seq: 1e6 })) });
  const rounds = 2000;
  for (let r = 1; r <= rounds; r++) {
    const out = s.tick(r * 1000);
    if (ofType(out, 'fetchSource').length > 0) s.feed({ type: 'sourceEnd', ok: false }, r * 1000);
    // keep the origins fresh
    if (r % 5 === 0) s.msg(1, { type: 'UPDATE', entries: Array.from({ length: 29 }, (_, i) => s.entry(i + 1, i === 0 ? [] : [0], { seq: 1e6 + r })) });
  }
  const won = s.core.stats(s.now).sourceRounds;
  t.log(`won ${won} of ${rounds} rounds (expected ~${rounds * 0.1})`);
  t.true(won > rounds * 0.07 && won < rounds * 0.13, `won ${won}`);
});

test('updates are flooded to other neighbors with hops + 1, not back, and old news is not forwarded', (t) => {
  const s = new Script(SIZE, { updateIntervalMs: 100, forwardEveryMs: 0 });
  const other = new Listener(s);
  s.link(1, 1, [0]);
  s.link(2, 2, []);
  s.tick(0);
  other.take(1);
  other.take(2);
  s.msg(1, { type: 'UPDATE', entries: [s.entry(7, [3], { seq: 5, hops: 1 })] });
  s.tick(200);
  const fwd = other.take(2).find((e) => e.id === peerId(7));
  t.truthy(fwd, 'forwarded to neighbor 2');
  t.is(fwd?.hops, 2);
  t.false(other.take(1).some((e) => e.id === peerId(7)), 'not sent back where it came from');
  s.msg(1, { type: 'UPDATE', entries: [s.entry(7, [3], { seq: 4, hops: 0 })] });
  s.tick(400);
  t.false(other.take(2).some((e) => e.id === peerId(7)), 'an older seq is dropped');
});

test('leave sends BYE on every connection and then ignores everything', (t) => {
  const s = new Script(SIZE);
  s.link(1, 1, [0]);
  s.link(2, 2, [1]);
  const out = s.feed({ type: 'leave', reason: 'finished' });
  t.is(sent(out, 'BYE').length, 2);
  t.is(ofType(out, 'close').length, 2);
  t.deepEqual(s.tick(10_000), []);
  t.is(s.core.nextDeadline(), Infinity);
});

test('resuming with every block already on disk completes at once', (t) => {
  const s = new Script(2048, {}, 1, new Uint8Array([0xc0]));
  t.is(ofType(s.tick(0), 'complete').length, 1);
  t.deepEqual(ofType(s.tick(1000), 'fetchSource'), []);
});

test('blocks streaming from the source are advertised; requests for them wait and are served on arrival', (t) => {
  const s = new Script(SIZE, { roundMs: 1000, updateIntervalMs: 100, maxSourceRun: 4 });
  const other = new Listener(s);
  s.link(1, 1, []);
  const run = ofType(s.feed({ type: 'peers', peers: [] }, 0), 'fetchSource')[0];
  t.truthy(run);
  const { first, count } = run!;
  s.tick(100);
  const own = other.take(1).filter((e) => e.id === '00'.repeat(16)).at(-1);
  t.truthy(own);
  for (let i = first; i < first + count; i++) t.true(((own!.bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0, `block ${i} advertised`);
  // Peer 1 asks for a coming block: nothing yet, then served once it is stored.
  t.deepEqual(ofType(s.msg(1, { type: 'REQUEST', index: first }), 'serve'), []);
  t.deepEqual(sent(s.log.slice(-5), 'REJECT'), []);
  s.feed({ type: 'sourceBlock', index: first, data: new Uint8Array(first === 9 ? 924 : 1024) });
  t.deepEqual(ofType(s.feed({ type: 'stored', index: first }), 'serve').map((a) => [a.conn, a.index]), [[1, first]]);
  t.is(count, 1, 'the first run is one block; core-source.test.ts follows a longer run that fails');
});

test('last-block rule: a starving peer asks for a fresh count and draws with it, not with the crowd the gossip remembers', (t) => {
  // Busy: the neighbors have every block and answer one request a round, so blocks keep arriving.
  const run = (busy: boolean): { won: number; refreshes: number } => {
    const s = new Script(1024 * 256, { roundMs: 1000, k: 3, pipeline: busy ? 1 : 0, dataConnections: 1, maxSourceFailures: 1e9, eta: 4, sourceLeaseRounds: 1 });
    const all = Array.from({ length: 256 }, (_, i) => i);
    // Four neighbor dials that stay pending: the mesh has its neighbors and asks for no more peers.
    s.feed({ type: 'peers', peers: [11, 12, 13, 14].map((n) => ({ id: peerId(n), host: '127.0.0.1', port: 9000 + n })) });
    const asked: [number, number][] = [];
    const keep = (out: PeerAction[]): void => {
      for (const a of out) if (a.type === 'send' && a.msg.type === 'REQUEST') asked.push([a.conn, a.msg.index]);
    };
    for (const n of [1, 2, 3]) keep(s.link(n, n, busy ? all : []));
    // Three direct connections say a million peers are here (a crowd that has since left).
    const gossip = (r: number): void => {
      for (const n of [1, 2, 3]) keep(s.msg(n, { type: 'UPDATE', entries: [s.entry(n, busy ? all : [], { seq: 2 + r, estimate: { n: 1e6, ageS: 0 } })] }));
    };
    gossip(0);
    let won = 0;
    let refreshes = 0;
    for (let r = 1; r <= 200; r++) {
      gossip(r);
      const out = s.tick(r * 1000);
      keep(out);
      const answer = asked.shift();
      if (answer) {
        keep(s.msg(answer[0], { type: 'BLOCK', index: answer[1], data: new Uint8Array(1024) }));
        keep(s.feed({ type: 'stored', index: answer[1] }, r * 1000 + 1));
      }
      if (ofType(out, 'needPeers').length > 0) {
        refreshes++;
        s.feed({ type: 'peers', peers: [], count: 5 }, r * 1000); // the server: five are left
      }
      const runs = ofType(out, 'fetchSource');
      if (runs.length > 0) won++;
      for (const run of runs) keep(s.feed({ type: 'sourceEnd', ok: false, first: run.first }, r * 1000));
    }
    return { won, refreshes };
  };
  const starving = run(false);
  // n = 5: the server's count since we began to starve wins over the gossip's million.
  t.log(`starving: went to the source in ${starving.won} of 200 rounds (p = 3/5 expected), ${starving.refreshes} refreshes`);
  t.true(starving.won > 85 && starving.won < 155, `won ${starving.won}`);
  // It asks again once its count is over 10 s old (2 × needPeersEveryMs): 20 times in 200 s, give or take.
  t.true(starving.refreshes >= 15 && starving.refreshes <= 21, `one refresh per 10 s, got ${starving.refreshes}`);
  const busy = run(true);
  t.log(`not starving: ${busy.won} of 200 rounds with n = 10^6`);
  t.true(busy.won <= 2, `won ${busy.won}`);
  t.is(busy.refreshes, 0);
});

test('a BYE before HELLO (the other side is full) closes without banning', (t) => {
  const s = new Script(SIZE);
  s.feed({ type: 'peers', peers: [{ id: peerId(1), host: '127.0.0.1', port: 9001 }] });
  s.feed({ type: 'opened', conn: 1, outbound: true, peerId: peerId(1) });
  const out = s.msg(1, { type: 'BYE', reason: 'too many connections' });
  t.deepEqual(closes(out), ['REFUSED']);
  t.is(s.core.stats(0).bannedPeers, 0);
});

test('nextDeadline never lies in the past once there is nothing left to draw for', (t) => {
  const s = new Script(2048, { roundMs: 1000 });
  const run = ofType(s.feed({ type: 'peers', peers: [] }, 0), 'fetchSource')[0]!;
  for (let i = run.first; i < run.first + run.count; i++) s.feed({ type: 'sourceBlock', index: i, data: new Uint8Array(1024) }, 10);
  s.feed({ type: 'sourceEnd', ok: true }, 20);
  // Blocks are being stored: nothing to draw for, so no deadline before the next periodic one.
  for (let at = 2000; at < 6000; at += 1000) {
    s.tick(at);
    t.true(s.core.nextDeadline() > at, `deadline ${s.core.nextDeadline()} at ${at}`);
  }
});

test('endgame: a block a silent peer sits on is asked of another holder, the first copy wins', (t) => {
  const s = new Script(2048, { pipeline: 2, endgameAfterMs: 2000, requestTimeoutMs: 15_000 });
  const asked = requests(s.link(1, 1, [0, 1]), 1);
  t.deepEqual(asked.sort(), [0, 1]);
  s.link(2, 2, [0, 1]);
  s.msg(1, { type: 'BLOCK', index: 0, data: new Uint8Array(1024) });
  s.feed({ type: 'stored', index: 0 });
  t.deepEqual(requests(s.tick(1000), 2), [], 'not yet: the request is young');
  t.deepEqual(requests(s.tick(2500), 2), [1], 'asked again of the other holder');
  t.deepEqual(requests(s.tick(3000), 2), [], 'only once');
  t.is(ofType(s.msg(2, { type: 'BLOCK', index: 1, data: new Uint8Array(1024) }), 'store').length, 1);
  t.deepEqual(ofType(s.msg(1, { type: 'BLOCK', index: 1, data: new Uint8Array(1024) }), 'store'), [], 'the late copy is dropped');
});

test('a connection flooding UPDATEs past its budget is banned', (t) => {
  const s = new Script(SIZE, { updateEntryRate: 100 });
  s.link(1, 1, [0]);
  let closed = 0;
  for (let i = 0; i < 20 && closed === 0; i++) {
    const entries = Array.from({ length: 20 }, (_, j) => s.entry(100 + i * 20 + j, [1], { hops: 1 }));
    closed += ofType(s.msg(1, { type: 'UPDATE', entries }), 'close').length;
  }
  t.is(closed, 1);
  t.deepEqual(closes(s.log), ['UPDATE_FLOOD']);
  t.is(s.core.stats(0).bannedPeers, 1);
  t.true(s.core.stats(0).peersSeen <= 400);
});

test('after a timeout a peer is on probation: one request at a time', (t) => {
  const s = new Script(SIZE, { pipeline: 4, requestTimeoutMs: 5000, maxStrikes: 3 });
  t.is(requests(s.link(1, 1, [0, 1, 2, 3, 4, 5, 6, 7]), 1).length, 4);
  const out = s.tick(6000); // all four time out: four strikes
  t.deepEqual(closes(out), ['TOO_SLOW'], 'four timeouts are more than maxStrikes');
  const s2 = new Script(SIZE, { pipeline: 4, requestTimeoutMs: 5000, maxStrikes: 10 });
  s2.link(1, 1, [0, 1, 2, 3, 4, 5, 6, 7]);
  t.is(requests(s2.tick(6000), 1).length, 1, 'after timeouts, one request at a time');
});

test('a peer dropped for slowness is not dialled again during its penalty', (t) => {
  const s = new Script(SIZE, { pipeline: 1, requestTimeoutMs: 5000, maxStrikes: 1, penaltyMs: 60_000 });
  requests(s.link(1, 1, [7]), 1);
  t.deepEqual(closes(s.tick(6000)), ['TOO_SLOW']);
  const redial = (at: number): boolean =>
    ofType(s.feed({ type: 'peers', peers: [{ id: peerId(1), host: '127.0.0.1', port: 9001 }] }, at), 'connect').some((c) => c.peerId === peerId(1));
  t.false(redial(7000), 'avoided during the penalty');
  t.true(redial(70_000), 'dialled again once it is over');
});

test('addresses that are not a hostname or an IP literal are never dialled', (t) => {
  for (const good of ['127.0.0.1', 'peer-3.example.org', '::1', 'fe80::1']) t.true(isDialableHost(good), good);
  for (const bad of ['127B0.0.1:80', 'a b', 'x/y', 'user@host', '', '-a.b', 'a..b', '[::1]x']) t.false(isDialableHost(bad), bad);
  const s = new Script(SIZE);
  s.link(1, 1, []);
  s.msg(1, { type: 'UPDATE', entries: [s.entry(5, [0], { host: 'evil/../x', hops: 1 }), s.entry(6, [0], { hops: 1 })] });
  const dials = ofType(s.tick(1000), 'connect').map((c) => c.peerId);
  t.false(dials.includes(peerId(5)));
  s.feed({ type: 'opened', conn: 9, outbound: false });
  t.deepEqual(closes(s.msg(9, s.hello(9, HELLO_NEIGHBOR, { host: 'no such host!' }))), ['UNDIALLABLE']);
});

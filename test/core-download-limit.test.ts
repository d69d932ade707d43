// The download limit (peer/core/download-budget.ts): the bytes a peer asks for, of peers and
// the source together, never run ahead of burst + rate x time, whatever answers how fast;
// and what it refuses it asks for again when the limit allows, without ticking in a loop.
import test from 'ava';
import { SeededRng } from '../estimation/random.ts';
import { DownloadBudget, DownloadPool, MIN_DOWNLOAD_RATE } from '../peer/core/download-budget.ts';
import type { PeerAction } from '../peer/core/events.ts';
import type { PeerStats } from '../peer/core/peer.ts';
import { SEED, SELF, Script } from './fixtures/scripted-core.ts';

const BLOCK = 1024; // the scripted core's block size
const BLOCKS = 64;
const SIZE = BLOCKS * BLOCK - 100; // the last block short

test('the budget: a burst, then the rate; refused bytes book a wake-up for when they are allowed', (t) => {
  const b = new DownloadBudget(4096, BLOCK, 0);
  t.is(b.burst, 4096, 'a second of the rate');
  for (let i = 0; i < 4; i++) {
    t.true(b.allows(0, BLOCK));
    b.take(0, BLOCK);
  }
  t.is(b.wakeAt(), Infinity, 'nothing refused yet');
  t.false(b.allows(0, BLOCK));
  t.is(b.wakeAt(), 250, 'a block at 4 KiB/s takes 250 ms');
  t.false(b.allows(249, BLOCK));
  t.true(b.allows(250, BLOCK));
  b.woke();
  t.is(b.wakeAt(), Infinity);
  t.is(b.runBlocks(10_000, BLOCK, 64), 4, 'an idle spell fills it to the burst, no more');
  b.take(10_000, 6 * BLOCK); // a dispute's GET is not held back: debt
  t.false(b.allows(10_000, BLOCK));
  t.is(b.readyAt(BLOCK), 10_000 + 750, 'the debt is paid before the next block');
  // A run waits for a second's worth (or what it wants, if less), and holds it back from requests meanwhile.
  t.is(b.runBlocks(11_000, BLOCK, 64), 0, 'two blocks affordable: the run waits for four');
  t.false(b.allows(11_000, BLOCK), 'and a request does not take the block it waits for');
  t.is(b.nextRunAt(BLOCK), 11_500);
  t.is(b.runBlocks(11_500, BLOCK, 64), 4);
  t.is(b.runBlocks(11_500, BLOCK, 2), 2, 'never more than it wants');
  t.true(b.allows(11_500, BLOCK), 'started: nothing held');
  const idle = new DownloadBudget(4096, BLOCK, 0);
  for (let i = 0; i < 4; i++) idle.take(0, BLOCK);
  t.is(idle.runBlocks(100, BLOCK, 8), 0);
  t.false(idle.allows(1000, BLOCK), 'held up to when it can start...');
  t.true(idle.allows(1000 + 250 + 1, BLOCK), '...and a little past: a run whose lease ended does not hold it for ever');
  t.is(new DownloadBudget(MIN_DOWNLOAD_RATE, 256 * 1024, 0).burst, 256 * 1024, 'at least one block at once');
  t.throws(() => new DownloadBudget(MIN_DOWNLOAD_RATE - 1, BLOCK, 0), { instanceOf: RangeError });
  t.throws(() => new DownloadBudget(Number.NaN, BLOCK, 0), { instanceOf: RangeError });
});

test('the budget never lets more through than burst + rate x time (requests and runs at random, seeded)', (t) => {
  for (let run = 0; run < 50; run++) {
    const rng = new SeededRng(SEED + run);
    const rate = MIN_DOWNLOAD_RATE + Math.floor(rng.next() * 100_000);
    const b = new DownloadBudget(rate, BLOCK, 0);
    let now = 0;
    let taken = 0;
    for (let step = 0; step < 500; step++) {
      now += Math.floor(rng.next() * 300);
      const bytes = 1 + Math.floor(rng.next() * BLOCK);
      if (rng.next() < 0.3) {
        const wake = b.wakeAt();
        if (wake !== Infinity) now = Math.max(now, wake); // a driver ticks at the wake-up
        b.woke();
      }
      if (rng.next() < 0.2) {
        const run = b.runBlocks(now, BLOCK, 1 + Math.floor(rng.next() * 64)); // a Range GET's run
        b.take(now, run * BLOCK);
        taken += run * BLOCK;
      } else if (b.allows(now, bytes)) {
        b.take(now, bytes);
        taken += bytes;
      }
      if (taken > b.burst + (rate * now) / 1000 + 1e-6) return t.fail(`run ${run}: ${taken} bytes by ${now} ms at ${rate}/s`);
    }
  }
  t.pass();
});

test('budgets sharing a pool (a proxy\'s downloads): waiting runs start in turn, and requests wait for them', (t) => {
  const pool = new DownloadPool(4096, BLOCK, 0);
  const [a, b, c] = [0, 1, 2].map(() => new DownloadBudget(pool, BLOCK, 0));
  if (!a || !b || !c) return t.fail();
  a.take(0, 4 * BLOCK); // the pool is empty
  t.is(a.runBlocks(0, BLOCK, 8), 0, 'the first run waits for a second\'s worth...');
  t.is(a.nextRunAt(BLOCK), 1000);
  t.is(b.runBlocks(0, BLOCK, 8), 0, '...and the second for the first\'s and then its own');
  t.true(b.nextRunAt(BLOCK) > 1000, 'the second is not woken before the first can go');
  t.is(b.runBlocks(1000, BLOCK, 8), 0, 'asking first at 1000 ms, the second still waits its turn');
  t.false(c.allows(1000, BLOCK), 'a request waits for both');
  t.true(c.wakeAt() > 1000);
  t.is(a.runBlocks(1000, BLOCK, 8), 4, 'the first goes');
  a.take(1000, 4 * BLOCK);
  t.is(b.runBlocks(1999, BLOCK, 8), 0);
  t.is(b.runBlocks(2000, BLOCK, 8), 4, 'then the second, a second later');
  t.throws(() => new DownloadBudget(new DownloadPool(MIN_DOWNLOAD_RATE, 512, 0), BLOCK, 0), { instanceOf: RangeError }, 'a pool whose burst is under a block could never allow one');
});

test('budgets sharing a pool never take more than burst + rate x time together, and a refusal never wakes at once (seeded)', (t) => {
  for (let run = 0; run < 50; run++) {
    const rng = new SeededRng(SEED + 100 + run);
    const rate = MIN_DOWNLOAD_RATE * 2 + Math.floor(rng.next() * 100_000);
    const pool = new DownloadPool(rate, BLOCK, 0);
    const budgets = [0, 1, 2].map(() => new DownloadBudget(pool, BLOCK, 0));
    let now = 0;
    let taken = 0;
    for (let step = 0; step < 600; step++) {
      now += Math.floor(rng.next() * 200);
      const b = budgets[Math.floor(rng.next() * budgets.length)];
      if (!b) return t.fail();
      if (rng.next() < 0.3) {
        const wake = b.wakeAt();
        if (wake !== Infinity) now = Math.max(now, wake);
        b.woke();
      }
      if (rng.next() < 0.25) {
        const blocks = b.runBlocks(now, BLOCK, 1 + Math.floor(rng.next() * 64));
        if (blocks === 0 && !(b.wakeAt() > now && b.nextRunAt(BLOCK) > now)) return t.fail(`run ${run}, step ${step}: a waiting run would wake at once (${b.wakeAt()}, ${b.nextRunAt(BLOCK)} at ${now}, rate ${rate})`);
        b.take(now, blocks * BLOCK);
        taken += blocks * BLOCK;
      } else {
        const bytes = 1 + Math.floor(rng.next() * BLOCK);
        if (b.allows(now, bytes)) {
          b.take(now, bytes);
          taken += bytes;
        } else if (!(b.wakeAt() > now)) return t.fail(`run ${run}, step ${step}: a refused request would wake at once`);
      }
      if (taken > pool.burst + (rate * now) / 1000 + 1e-6) return t.fail(`run ${run}: ${taken} bytes by ${now} ms at ${rate}/s`);
    }
  }
  t.pass();
});

interface Drive {
  finishedAt: number; // ms; Infinity if not finished
  ticks: number;
  worstLead: number; // most bytes asked for beyond burst + rate x time (<= 0 within the limit)
  fromPeer: number;
  closed: number; // connections the core closed (a strike-out would be one)
  end: PeerStats;
}

/**
 * Runs the scripted core to completion: the source and the peers in `peers` (conns 1..n,
 * linked with every block) answer every request at once, so only the limit holds it back.
 */
function drive(limit: number | undefined, peers: number, blocks = BLOCKS): Drive {
  const size = blocks * BLOCK - 100;
  const s = new Script(size, { roundMs: 1000 }, SEED, undefined, SELF, undefined, limit === undefined ? {} : { downloadLimit: limit });
  const all = Array.from({ length: blocks }, (_, i) => i);
  const len = (i: number): number => (i === blocks - 1 ? size - i * BLOCK : BLOCK);
  const queue: PeerAction[] = [];
  for (let p = 1; p <= peers; p++) queue.push(...s.link(p, p, all));
  queue.push(...s.feed({ type: 'peers', peers: [] }, 0));
  const burst = limit === undefined ? Infinity : Math.max(BLOCK, limit);
  const r = { finishedAt: Infinity, ticks: 0, worstLead: -Infinity, fromPeer: 0, closed: 0 };
  let asked = 0;
  const ask = (bytes: number): void => {
    asked += bytes;
    if (limit !== undefined) r.worstLead = Math.max(r.worstLead, asked - (burst + (limit * s.now) / 1000));
  };
  while (r.finishedAt === Infinity && s.now < 600_000) {
    for (let a = queue.shift(); a; a = queue.shift()) {
      if (a.type === 'complete') r.finishedAt = s.now;
      else if (a.type === 'store') queue.push(...s.feed({ type: 'stored', index: a.index }));
      else if (a.type === 'close') r.closed++;
      else if (a.type === 'fetchSource') {
        for (let i = a.first; i < a.first + a.count; i++) ask(len(i));
        for (let i = a.first; i < a.first + a.count; i++) queue.push(...s.feed({ type: 'sourceBlock', index: i, data: new Uint8Array(len(i)) }));
        queue.push(...s.feed({ type: 'sourceEnd', ok: true, first: a.first }));
      } else if (a.type === 'send' && a.msg.type === 'REQUEST') {
        ask(len(a.msg.index));
        r.fromPeer += len(a.msg.index);
        queue.push(...s.msg(a.conn, { type: 'BLOCK', index: a.msg.index, data: new Uint8Array(len(a.msg.index)) }));
      }
    }
    if (r.finishedAt !== Infinity) break;
    const next = s.core.nextDeadline();
    if (next === Infinity) break;
    r.ticks++;
    queue.push(...s.tick(Math.max(s.now, next)));
  }
  return { ...r, end: s.core.stats(s.now) };
}

test('alone: the source is asked at the limit, and the download takes what the limit says', (t) => {
  const rate = 4 * BLOCK; // 4 blocks a second: 64 blocks, less a burst of 4, take 15 s
  const capped = drive(rate, 0);
  t.true(capped.worstLead <= 1e-6, `asked ${capped.worstLead} bytes ahead of the limit`);
  const floor = ((SIZE - rate) / rate) * 1000;
  t.true(capped.finishedAt >= floor && capped.finishedAt <= floor + 2000, `finished at ${capped.finishedAt} ms, the limit allows ${floor}`);
  t.true(capped.ticks < 400, `${capped.ticks} ticks: the wake-ups are booked, not spun`);
  const free = drive(undefined, 0);
  t.true(free.finishedAt < 3000, `without a limit the instant source is done at ${free.finishedAt} ms`);
});

test('with peers answering at once: requests wait for the limit, none times out', (t) => {
  const rate = 8 * BLOCK;
  const capped = drive(rate, 3);
  t.true(capped.worstLead <= 1e-6, `asked ${capped.worstLead} bytes ahead of the limit`);
  t.true(capped.fromPeer > SIZE / 2, `${capped.fromPeer} bytes from peers`);
  const floor = ((SIZE - rate) / rate) * 1000;
  t.true(capped.finishedAt >= floor && capped.finishedAt <= floor + 2000, `finished at ${capped.finishedAt} ms, the limit allows ${floor}`);
  t.is(capped.closed, 0, 'no peer struck off or dropped');
  t.true(capped.ticks < 600, `${capped.ticks} ticks`);
  const free = drive(undefined, 3);
  t.true(free.finishedAt < 1000, `without a limit: ${free.finishedAt} ms`);
});

test('a wake-up no one needs any more is not booked again', (t) => {
  const s = new Script(SIZE, { roundMs: 1000 }, SEED, undefined, SELF, undefined, { downloadLimit: 3 * BLOCK });
  const all = Array.from({ length: BLOCKS }, (_, i) => i);
  const asked = [...s.link(1, 1, all), ...s.tick(0)].filter((a) => a.type === 'send' && a.msg.type === 'REQUEST');
  t.is(asked.length, 3, 'the burst: three blocks, a fourth refused');
  const wake = s.core.nextDeadline(); // before the first flood (500 ms) and round (1 s)
  t.is(wake, 334, `the limit books a wake-up for the next block (${wake})`);
  s.feed({ type: 'closed', conn: 1, reason: 'gone' }, 10); // it leaves: no one left to ask
  s.tick(wake);
  t.true(s.core.nextDeadline() > wake, `after the wake-up, the next is later (${s.core.nextDeadline()})`);
});

test('while the limit holds requests back, the bandwidth estimator holds its settings', (t) => {
  // 8 peers with every block, 256 blocks at 8 a second: 30 s of rounds. Read as the peers'
  // rate, the limit's would look like congestion: floods slowed to 5 s, neighbors dropped.
  const capped = drive(8 * BLOCK, 8, 256);
  t.is(capped.end.updateIntervalMs, 500, 'the flood period as it started');
  t.is(capped.end.dataConnectionsTarget, 4);
  t.is(capped.end.bandwidthState, 'under-utilized', 'the state it started in: no judgment made');
  t.true(capped.worstLead <= 1e-6);
});

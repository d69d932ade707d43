// The source and serving paths through the scripted core: runs that fail part-way, giving up
// on a source that keeps failing, and the serve cap with its REJECTs.
import test from 'ava';
import { ofType, Script, sent } from './fixtures/scripted-core.ts';

const SIZE = 10 * 1024 - 100; // 10 blocks of 1 KiB, the last one short
const len = (i: number): number => (i === 9 ? 924 : 1024);

/** Alone: the first run is one block; finishing it quickly makes the next run longer. */
function secondRun(s: Script): { first: number; count: number } {
  const first = ofType(s.feed({ type: 'peers', peers: [] }, 0), 'fetchSource')[0]!;
  t_assert(first.count === 1, 'the first run is one block');
  s.feed({ type: 'sourceBlock', index: first.first, data: new Uint8Array(len(first.first)) }, 10);
  const next = ofType(s.feed({ type: 'sourceEnd', ok: true }, 10), 'fetchSource')[0];
  t_assert(next !== undefined, 'the lease keeps the source busy');
  return next!;
}

function t_assert(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

test('a multi-block run whose GET fails: its blocks go back, waiting requesters hear busy', (t) => {
  const s = new Script(SIZE, { roundMs: 1000, maxSourceRun: 4 });
  s.link(1, 1, []);
  const run = secondRun(s);
  t.true(run.count > 1, `run ${JSON.stringify(run)}`);
  // Peer 1 asks for two blocks of the run: they are coming, so the requests wait.
  for (const i of [run.first, run.first + 1]) t.deepEqual(ofType(s.msg(1, { type: 'REQUEST', index: i }), 'serve'), []);
  // The first block arrives (with one to come, the next run may start beside it), then the GET fails.
  const beside = ofType(s.feed({ type: 'sourceBlock', index: run.first, data: new Uint8Array(len(run.first)) }, 20), 'fetchSource');
  t.deepEqual(ofType(s.feed({ type: 'stored', index: run.first }, 21), 'serve').map((a) => a.index), [run.first]);
  const out = s.feed({ type: 'sourceEnd', ok: false, first: run.first, reason: 'connection reset' }, 30);
  t.deepEqual(sent(out, 'REJECT', 1), [{ type: 'REJECT', index: run.first + 1, reason: 'busy' }]);
  t.deepEqual(ofType(out, 'abort'), [], 'one failure is not the end');
  for (const other of beside) s.feed({ type: 'sourceEnd', ok: false, first: other.first }, 31); // it fails too: its blocks go back
  // The blocks that did not come are missing again: a later run fetches them.
  const lost = run.first + 1;
  let refetched = false;
  const runs = ofType(s.tick(1000), 'fetchSource');
  for (let at = 1100; runs.length > 0 && !refetched; at += 100) {
    const again = runs.shift()!;
    refetched = again.first <= lost && lost < again.first + again.count;
    for (let i = again.first; i < again.first + again.count; i++) {
      runs.push(...ofType(s.feed({ type: 'sourceBlock', index: i, data: new Uint8Array(len(i)) }, at), 'fetchSource'));
      runs.push(...ofType(s.feed({ type: 'stored', index: i }, at), 'fetchSource'));
    }
    runs.push(...ofType(s.feed({ type: 'sourceEnd', ok: true, first: again.first }, at + 50), 'fetchSource'));
    if (runs.length === 0) runs.push(...ofType(s.tick(at + 1000), 'fetchSource'));
  }
  t.true(refetched, `block ${lost} fetched again`);
});

test('a source that keeps failing: the core gives up after maxSourceFailures in a row', (t) => {
  const s = new Script(SIZE, { roundMs: 1000, maxSourceFailures: 3 });
  s.feed({ type: 'peers', peers: [] }, 0);
  const aborts: unknown[] = [];
  for (let r = 0; r < 10 && aborts.length === 0; r++) {
    const at = r * 1000 + 5;
    aborts.push(...ofType(s.feed({ type: 'sourceEnd', ok: false, reason: '503' }, at), 'abort'));
    s.tick((r + 1) * 1000);
  }
  t.deepEqual(aborts, [{ type: 'abort', code: 'SOURCE_FAILED', reason: '503' }]);
  t.is(s.core.stats(5000).sourceRequests, 3);
  t.deepEqual(s.tick(20_000), [], 'after abort the core does nothing more');
  t.is(s.core.nextDeadline(), Infinity);
});

test('a success in between resets the count; a fatal failure gives up at once', (t) => {
  const s = new Script(SIZE, { roundMs: 1000, maxSourceFailures: 2 });
  let run = ofType(s.feed({ type: 'peers', peers: [] }, 0), 'fetchSource')[0]!;
  t.deepEqual(ofType(s.feed({ type: 'sourceEnd', ok: false }, 5), 'abort'), []);
  run = ofType(s.tick(1000), 'fetchSource')[0]!;
  s.feed({ type: 'sourceBlock', index: run.first, data: new Uint8Array(len(run.first)) }, 1005);
  const next = ofType(s.feed({ type: 'sourceEnd', ok: true }, 1010), 'fetchSource');
  t.is(next.length, 1);
  t.deepEqual(ofType(s.feed({ type: 'sourceEnd', ok: false }, 1020), 'abort'), [], 'one failure since the success');
  const fatal = new Script(SIZE, { roundMs: 1000 });
  fatal.feed({ type: 'peers', peers: [] }, 0);
  t.is(ofType(fatal.feed({ type: 'sourceEnd', ok: false, fatal: true, reason: 'changed' }, 5), 'abort').length, 1);
});

test('serving: at most maxServePerConn at once per connection, REJECT busy beyond', (t) => {
  const s = new Script(SIZE, { maxServePerConn: 2 }, undefined, new Uint8Array([0xff, 0xc0]));
  s.link(1, 1, []);
  t.is(ofType(s.msg(1, { type: 'REQUEST', index: 0 }), 'serve').length, 1);
  t.is(ofType(s.msg(1, { type: 'REQUEST', index: 1 }), 'serve').length, 1);
  t.deepEqual(sent(s.msg(1, { type: 'REQUEST', index: 2 }), 'REJECT'), [{ type: 'REJECT', index: 2, reason: 'busy' }]);
  s.feed({ type: 'served', conn: 1, index: 0, bytes: 1024 });
  t.is(ofType(s.msg(1, { type: 'REQUEST', index: 2 }), 'serve').length, 1, 'room again once one went out');
  t.is(s.core.stats(0).uploaded, 1024);
});

test('a block the driver cannot read is refused at once (REJECT busy) and frees its slot', (t) => {
  const s = new Script(SIZE, { maxServePerConn: 1 }, undefined, new Uint8Array([0xff, 0xc0]));
  s.link(1, 1, []);
  t.is(ofType(s.msg(1, { type: 'REQUEST', index: 3 }), 'serve').length, 1);
  const out = s.feed({ type: 'serveFailed', conn: 1, index: 3, reason: 'EIO' });
  t.deepEqual(sent(out, 'REJECT', 1), [{ type: 'REJECT', index: 3, reason: 'busy' }]);
  t.is(ofType(out, 'log').filter((l) => l.level === 'warn').length, 1);
  t.is(ofType(s.msg(1, { type: 'REQUEST', index: 4 }), 'serve').length, 1);
});

test('sourceRunsInFlight 2: the next run is asked for while the last block of the current one is to come, never a third; 1 waits for the end', (t) => {
  // Alone, 10 blocks: the first run (one block) shows the rate; then runs of up to 2 blocks.
  const flow = (runsInFlight: number): { atBlock: number; atEnd: number; most: number } => {
    const s = new Script(SIZE, { roundMs: 1000, maxSourceRun: 2, sourceRunsInFlight: runsInFlight });
    const open = new Map<number, { first: number; count: number }>();
    const take = (out: ReturnType<Script['feed']>): number => {
      const runs = ofType(out, 'fetchSource');
      for (const r of runs) open.set(r.first, r);
      return runs.length;
    };
    take(s.feed({ type: 'peers', peers: [] }, 0));
    let atBlock = 0;
    let atEnd = 0;
    let most = open.size;
    for (let at = 10; open.size > 0 && at < 5000; at += 10) {
      const [first, run] = [...open][0]!;
      for (let i = run.first; i < run.first + run.count; i++) {
        atBlock += take(s.feed({ type: 'sourceBlock', index: i, data: new Uint8Array(len(i)) }, at));
        most = Math.max(most, open.size);
      }
      open.delete(first);
      atEnd += take(s.feed({ type: 'sourceEnd', ok: true, first }, at + 5));
      most = Math.max(most, open.size);
    }
    t.is(s.core.stats(5000).fromSource, SIZE, 'every block came from the source, once');
    return { atBlock, atEnd, most };
  };
  const two = flow(2);
  t.true(two.atBlock >= 2, `runs asked for beside a last block: ${two.atBlock}`);
  t.is(two.most, 2, 'never more than two GETs');
  const one = flow(1);
  t.is(one.atBlock, 0, 'one at a time: only after a GET ends');
  t.true(one.atEnd >= 3);
  t.is(one.most, 1);
});

test('sourceFirstRun: the first run has that many blocks (capped by maxSourceRun), the next at most twice as many; a bad value is one line', (t) => {
  const runsOf = (params: ConstructorParameters<typeof Script>[1]): number[] => {
    const s = new Script(SIZE, { roundMs: 1000, ...params });
    const counts: number[] = [];
    const runs = ofType(s.feed({ type: 'peers', peers: [] }, 0), 'fetchSource');
    for (let at = 10; runs.length > 0 && at < 5000; at += 10) {
      const run = runs.shift()!;
      counts.push(run.count);
      for (let i = run.first; i < run.first + run.count; i++) s.feed({ type: 'sourceBlock', index: i, data: new Uint8Array(len(i)) }, at);
      runs.push(...ofType(s.feed({ type: 'sourceEnd', ok: true, first: run.first }, at + 5), 'fetchSource'));
    }
    t.is(s.core.stats(5000).fromSource, SIZE, 'every block came from the source, once');
    return counts;
  };
  t.is(runsOf({})[0], 1, 'the default: one block');
  const two = runsOf({ sourceFirstRun: 2 });
  t.is(two[0], 2);
  t.true((two[1] ?? 0) <= 4, `the second run at most twice the first: ${two.join(', ')}`);
  t.is(runsOf({ sourceFirstRun: 8, maxSourceRun: 3 })[0], 3, 'never past maxSourceRun');
  t.throws(() => new Script(SIZE, { sourceFirstRun: 0 }), { message: /sourceFirstRun must be a whole number of blocks, at least 1/ });
  t.throws(() => new Script(SIZE, { sourceFirstRun: 1.5 }), { message: /sourceFirstRun must be a whole number/ });
});

// The last-block rule (source-policy.ts): a starving peer waits a while for a block someone in
// the swarm has or is fetching before it fetches that block from the source itself ('wait'),
// where the paper's rule ('view', the ablation) fetches any block no one in its view has at once.
import test from 'ava';
import { SeededRng } from '../estimation/random.ts';
import type { Conn } from '../peer/core/connection.ts';
import { SourcePolicy, type SourceView } from '../peer/core/source-policy.ts';
import { SwarmKnown } from '../peer/core/swarm-known.ts';
import { ofType, Script } from './fixtures/scripted-core.ts';

const ROUND = 1000;
const PATIENCE_MS = 6 * ROUND; // PATIENCE_ROUNDS

/** A view of 8 blocks: `heard` maps a block to when we first heard of it; `seen` blocks are in view. */
function fakeView(o: { missing: number[]; heard: Map<number, number>; seen?: number[]; starved?: boolean }): SourceView & { now: number } {
  const seen = new Set(o.seen ?? []);
  const view = {
    now: 0,
    blocks: 8,
    starved: () => o.starved ?? true,
    groupSize: () => 1, // n <= k: every draw wins, so only the choice of blocks is under test
    starvingGroupSize: () => 1,
    view: () => ({ size: 0, busy: 0 }),
    wanted: (i: number) => o.missing.includes(i),
    unheard: (i: number) => !seen.has(i) && !o.heard.has(i),
    unseen: (i: number) => !seen.has(i),
    heardFor: (i: number) => view.now - (o.heard.get(i) ?? Infinity),
    sourceQuiet: () => false,
  };
  return view;
}

function policy(lastBlock: 'wait' | 'view', seed = 1): SourcePolicy {
  const p = new SourcePolicy(new SeededRng(seed), { k: 3, backoff: true, roundMs: ROUND, leaseRounds: 4, blockSize: 1024, maxRun: 1, maxFailures: 5, lastBlock }, 0);
  p.onPeers(0, true); // alone: open at once
  return p;
}

/** Calls decide once a round from `from` to `to` (ms); returns when the first run started (or null) and which. */
function firstRun(p: SourcePolicy, view: SourceView & { now: number }, from: number, to: number): { at: number; first: number } | null {
  for (let at = from; at <= to; at += ROUND / 4) {
    view.now = at;
    const run = p.decide(at, view);
    if (run) return { at, first: run.first };
  }
  return null;
}

test('wait: a starving peer fetches a block the swarm has only after knowing of it for PATIENCE_ROUNDS', (t) => {
  const heard = new Map([[5, 0]]); // someone far away started fetching block 5 at t = 0
  const view = fakeView({ missing: [5], heard });
  const run = firstRun(policy('wait'), view, 0, 20_000);
  t.truthy(run, 'it does fetch it in the end (the holders may be gone)');
  t.is(run?.first, 5);
  t.true((run?.at ?? 0) >= PATIENCE_MS, `fetched at ${run?.at} ms, before the patience ran out`);
  t.true((run?.at ?? Infinity) < PATIENCE_MS + 2 * ROUND, `fetched at ${run?.at} ms, long after the patience ran out`);
});

test('view (the ablation): any peer that wins a draw fetches it at once, starving or not', (t) => {
  for (const starved of [true, false]) {
    const view = fakeView({ missing: [5], heard: new Map([[5, 0]]), starved });
    t.deepEqual(firstRun(policy('view'), view, 0, 20_000), { at: 0, first: 5 }, `starved ${starved}`);
  }
});

test('wait: a block no one has heard of is fetched at once, before one the swarm has', (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const view = fakeView({ missing: [2, 5], heard: new Map([[5, -60_000]]) }); // 5 overdue long ago
    const run = firstRun(policy('wait', seed), view, 0, 0);
    t.is(run?.first, 2, `seed ${seed}`);
  }
});

test('wait: a peer that is not starving never fetches what the swarm has; its lease ends instead', (t) => {
  const view = fakeView({ missing: [5], heard: new Map([[5, -60_000]]), starved: false });
  const p = policy('wait');
  t.is(firstRun(p, view, 0, 20_000), null);
  t.is(p.roundsWon > 0, true, 'it did win draws');
});

test('wait: a starving peer whose holders in view do not deliver fetches an overdue block it sees', (t) => {
  const heard = new Map([[5, 0]]);
  const view = fakeView({ missing: [5], heard, seen: [5] });
  const run = firstRun(policy('wait'), view, 0, 20_000);
  t.is(run?.first, 5);
  t.true((run?.at ?? 0) >= PATIENCE_MS);
});

test('SwarmKnown: heardFor counts from the first news of a block, from any path; lost forgets it', (t) => {
  const known = new SwarmKnown(20);
  t.is(known.heardFor(100, 3), -Infinity);
  known.add(100, 3);
  known.add(900, 3); // heard again: still from t = 100
  t.is(known.heardFor(1100, 3), 1000);
  const bits = new Uint8Array(3);
  bits[1] = 0b0100_0001; // blocks 9 and 15
  known.addAll(200, bits);
  known.addAll(700, bits);
  t.is(known.heardFor(1200, 9), 1000);
  t.is(known.heardFor(1200, 15), 1000);
  t.is(known.heardFor(1200, 10), -Infinity);
  t.is(known.heard(300, { knownTold: null } as Conn, [12, 3]), 'new');
  t.is(known.heardFor(1300, 12), 1000);
  t.is(known.heardFor(1300, 3), 1200);
  known.lost(3);
  t.false(known.has(3));
  t.is(known.heardFor(1300, 3), -Infinity);
  t.true(known.has(12));
});

// Through the whole core: a neighbor has blocks 0-2 and says block 3 is being fetched far away.
function starvingCore(lastBlock: 'wait' | 'view'): { at: number; first: number } | null {
  const s = new Script(4 * 1024, { roundMs: ROUND, k: 3, lastBlock });
  s.feed({ type: 'peers', peers: [{ id: '01'.padStart(32, '0'), host: '127.0.0.1', port: 9001 }] }, 0);
  s.link(1, 1, [0, 1, 2]);
  s.msg(1, { type: 'UPDATE', entries: [], known: [3] });
  for (let at = 250; at <= 20_000; at += 250) {
    const runs = ofType(at % ROUND === 0 ? s.tick(at) : s.feed({ type: 'tick' }, at), 'fetchSource');
    if (runs.length > 0) return { at, first: runs[0]!.first };
  }
  return null;
}

test('through the core: block 3, heard of from a neighbor, comes from the source after the patience (wait) or at once (view)', (t) => {
  const wait = starvingCore('wait');
  const view = starvingCore('view');
  t.is(wait?.first, 3);
  t.is(view?.first, 3);
  t.true((wait?.at ?? 0) >= PATIENCE_MS, `wait: fetched at ${wait?.at} ms`);
  t.true((view?.at ?? Infinity) < PATIENCE_MS, `view: fetched at ${view?.at} ms`);
});

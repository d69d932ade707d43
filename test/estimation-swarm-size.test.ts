// The count-based swarm-size estimate (estimation/swarm-size.ts): the (f+1)-th largest fresh
// report of our direct connections, never below our own fresh count from the topology server.
import test from 'ava';
import { SwarmSizeEstimator } from '../estimation/swarm-size.ts';

test('the (f+1)-th largest fresh report: f liars reporting huge values move nothing', (t) => {
  const e = new SwarmSizeEstimator({ tolerate: 2, maxAgeMs: 10_000 });
  e.report(0, 'a', 100, 0);
  e.report(0, 'b', 110, 0);
  e.report(0, 'c', 120, 0);
  e.report(0, 'liar1', 1e9, 0);
  e.report(0, 'liar2', 1e9, 0);
  t.is(e.estimate(0)?.n, 120);
});

test('a peer\'s new report replaces its old one, in value and in age', (t) => {
  const e = new SwarmSizeEstimator({ tolerate: 0, maxAgeMs: 10_000 });
  e.report(0, 'a', 500, 0);
  e.report(0, 'b', 100, 0);
  t.is(e.estimate(0)?.n, 500);
  e.report(1000, 'a', 50, 2); // smaller now, observed 2 s before it was sent
  t.deepEqual(e.estimate(1000), { n: 100, at: 0 });
  e.report(2000, 'b', 40, 0);
  t.deepEqual(e.estimate(2000), { n: 50, at: -1000 });
  // a's observation is from -1000: stale 10 s after that, b's is not.
  t.deepEqual(e.estimate(9000), { n: 50, at: -1000 });
  t.deepEqual(e.estimate(9001), { n: 40, at: 2000 });
});

test('past maxSources new peers are refused, known ones still update; our own fresh count is a floor', (t) => {
  const e = new SwarmSizeEstimator({ tolerate: 0, maxAgeMs: 10_000, maxSources: 2 });
  e.report(0, 'a', 10, 0);
  e.report(0, 'b', 20, 0);
  e.report(0, 'c', 999, 0); // refused: no room
  t.is(e.estimate(0)?.n, 20);
  e.report(0, 'a', 30, 0); // a known peer: updated
  t.is(e.estimate(0)?.n, 30);
  e.forget('a');
  e.report(0, 'c', 25, 0); // room again
  t.is(e.estimate(0)?.n, 25);
  e.observe(0, 70);
  t.is(e.estimate(0)?.n, 70);
  t.is(new SwarmSizeEstimator().estimate(0), null);
});

test('bad reports are ignored', (t) => {
  const e = new SwarmSizeEstimator({ tolerate: 0 });
  for (const [n, age] of [[0, 0], [1.5, 0], [2 ** 32, 0], [10, -1], [10, NaN]] as const) e.report(0, 'x', n, age);
  t.is(e.estimate(0), null);
});

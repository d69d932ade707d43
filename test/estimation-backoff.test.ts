import test from 'ava';
import fc from 'fast-check';
import { chooseSourceRun, drawSourceRound, sourceProbability } from '../estimation/backoff.ts';
import { SeededRng, seedFrom } from '../estimation/random.ts';

const SEED = seedFrom(process.env, 941);

test('sourceProbability is min(1, k/n), and 1 for anything that makes no sense', (t) => {
  t.is(sourceProbability(3, 24), 3 / 24);
  t.is(sourceProbability(3, 3), 1);
  t.is(sourceProbability(3, 2), 1);
  t.is(sourceProbability(3, 1e6), 3e-6);
  for (const [k, n] of [[3, 0.5], [3, 0], [3, -4], [3, Number.NaN], [3, Number.POSITIVE_INFINITY], [Number.NaN, 10], [0, 10], [-1, 10], [Number.POSITIVE_INFINITY, 10]] as const) {
    t.is(sourceProbability(k, n), 1, `k=${k} n=${n}`);
  }
});

test('drawSourceRound: the share of rounds that go to the source matches k/n', (t) => {
  t.log(`seed ${SEED}`);
  const rng = new SeededRng(SEED);
  const draws = 100_000;
  for (const n of [4, 24, 100, 1000]) {
    const p = sourceProbability(3, n);
    let yes = 0;
    for (let i = 0; i < draws; i++) if (drawSourceRound(rng, 3, n, true)) yes++;
    const sd = Math.sqrt((p * (1 - p)) / draws);
    // 5 standard deviations: a correct draw fails this about once in 3 million runs.
    t.true(Math.abs(yes / draws - p) <= 5 * sd + 1e-12, `n=${n}: ${yes / draws} vs ${p}`);
  }
});

test('drawSourceRound without backoff, or with p = 1, always goes', (t) => {
  const rng = new SeededRng(SEED);
  for (let i = 0; i < 1000; i++) {
    t.true(drawSourceRound(rng, 3, 1e6, false));
    t.true(drawSourceRound(rng, 3, 2, true));
  }
});

const setArb = fc.array(fc.boolean(), { minLength: 1, maxLength: 300 });

test('chooseSourceRun: a contiguous run of wanted blocks, preferred ones when any exist, as long as allowed', (t) => {
  t.log(`seed ${SEED}`);
  fc.assert(
    fc.property(setArb, fc.array(fc.boolean(), { minLength: 300, maxLength: 300 }), fc.integer({ min: 1, max: 40 }), fc.integer(), (wantedBits, preferredBits, maxRun, seed) => {
      const blocks = wantedBits.length;
      const wanted = (i: number): boolean => wantedBits[i] === true;
      const preferred = (i: number): boolean => preferredBits[i] === true;
      const run = chooseSourceRun(new SeededRng(seed), blocks, wanted, preferred, maxRun);
      const anyWanted = wantedBits.some(Boolean);
      if (run === null) return !anyWanted;
      if (!anyWanted) return false;
      const anyPreferred = wantedBits.some((w, i) => w && preferred(i));
      const eligible = (i: number): boolean => wanted(i) && (!anyPreferred || preferred(i));
      if (!Number.isInteger(run.first) || !Number.isInteger(run.count) || run.count < 1 || run.count > maxRun) return false;
      if (run.first < 0 || run.first + run.count > blocks) return false;
      for (let i = run.first; i < run.first + run.count; i++) if (!eligible(i)) return false;
      // Extended as far as allowed: it stops at maxRun, the end, or the first block that does not qualify.
      const next = run.first + run.count;
      return run.count === maxRun || next === blocks || !eligible(next);
    }),
    { seed: SEED, numRuns: 500 },
  );
  t.pass();
});

test('chooseSourceRun starts at a uniformly chosen eligible block', (t) => {
  t.log(`seed ${SEED}`);
  const rng = new SeededRng(SEED);
  // 20 isolated preferred blocks among 100 wanted ones: each run is one block, its start the draw.
  const preferredSet = new Set(Array.from({ length: 20 }, (_, i) => 5 * i));
  const counts = new Map<number, number>();
  const draws = 20_000;
  for (let i = 0; i < draws; i++) {
    const run = chooseSourceRun(rng, 100, () => true, (b) => preferredSet.has(b), 8);
    if (!run) return t.fail('no run');
    counts.set(run.first, (counts.get(run.first) ?? 0) + 1);
  }
  t.deepEqual([...counts.keys()].sort((a, b) => a - b), [...preferredSet]);
  const expected = draws / preferredSet.size;
  let chi2 = 0;
  for (const c of counts.values()) chi2 += (c - expected) ** 2 / expected;
  t.log(`chi-square ${chi2.toFixed(1)} (19 degrees of freedom; 43.8 is the 0.1% critical value)`);
  t.true(chi2 < 43.8);
});

test('chooseSourceRun over 2^20 blocks: finds the last missing block, and runs among many', (t) => {
  const blocks = 2 ** 20;
  const rng = new SeededRng(SEED);
  const last = chooseSourceRun(rng, blocks, (i) => i === blocks - 1, () => false, 16);
  t.deepEqual(last, { first: blocks - 1, count: 1 });
  // Everything wanted, a stretch no one has: the run lies in the stretch.
  const run = chooseSourceRun(rng, blocks, () => true, (i) => i >= 500_000 && i < 500_100, 16);
  t.truthy(run);
  if (run) {
    t.true(run.first >= 500_000 && run.first + run.count <= 500_100);
    t.true(run.count === 16 || run.first + run.count === 500_100);
  }
});

test('chooseSourceRun guards: nothing wanted, no blocks, odd maxRun', (t) => {
  const rng = new SeededRng(SEED);
  t.is(chooseSourceRun(rng, 10, () => false, () => true, 4), null);
  t.is(chooseSourceRun(rng, 0, () => true, () => true, 4), null);
  t.is(chooseSourceRun(rng, Number.NaN, () => true, () => true, 4), null);
  t.is(chooseSourceRun(rng, 10, () => true, () => true, 0)?.count, 1);
  t.is(chooseSourceRun(rng, 10, () => true, () => true, Number.NaN)?.count, 1);
  const all = chooseSourceRun(rng, 10, () => true, () => true, Number.POSITIVE_INFINITY);
  t.is(all ? all.first + all.count : -1, 10);
});

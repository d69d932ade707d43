// Streaming block choice (PeerParams.inOrderWindow): from peers and from the source, a block
// among the W lowest candidates, each of them drawn (from the source, the lowest most often);
// W = 0 keeps the paper's uniform choice.
import test from 'ava';
import { chooseSourceRun } from '../estimation/backoff.ts';
import { SeededRng, seedFrom } from '../estimation/random.ts';
import { setBit } from '../peer/core/bits.ts';
import { pickBlock } from '../peer/core/scheduler.ts';

const SEED = seedFrom(process.env, 1414);

function bits(n: number, set: (i: number) => boolean): Uint8Array {
  const b = new Uint8Array(Math.ceil(n / 8));
  for (let i = 0; i < n; i++) if (set(i)) setBit(b, i);
  return b;
}

test('pickBlock with a window: only the W lowest blocks the peer has and we have not taken, each of them', (t) => {
  t.log(`seed ${SEED}`);
  const rng = new SeededRng(SEED);
  const remote = bits(200, (i) => i % 3 !== 0); // the peer lacks every third block
  const taken = bits(200, (i) => i < 20 || i === 25); // we have or asked for these
  // Candidates from the lowest: 20 22 23 26 28 29 31 32 ...; the window of 5 is 20..29 less 25.
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) seen.add(pickBlock(rng, remote, taken, 5));
  t.deepEqual([...seen].sort((a, b) => a - b), [20, 22, 23, 26, 28]);
  // No window: anywhere among all candidates (the paper's rule).
  const anywhere = new Set<number>();
  for (let i = 0; i < 2000; i++) anywhere.add(pickBlock(rng, remote, taken));
  t.true(Math.max(...anywhere) > 150, 'uniform over the whole file without a window');
  t.is(pickBlock(rng, remote, bits(200, () => true), 5), -1);
});

test('chooseSourceRun with a window: runs start among the W lowest eligible blocks of the best tier', (t) => {
  t.log(`seed ${SEED}`);
  const rng = new SeededRng(SEED);
  const starts = new Set<number>();
  // Blocks below 40 are wanted but not preferred (the swarm has them); preferred ones are the
  // even blocks from 40 on: runs are single blocks starting at 40, 42, 44 or 46.
  for (let i = 0; i < 2000; i++) {
    const run = chooseSourceRun(rng, 100, () => true, (b) => b >= 40 && b % 2 === 0, 8, false, 4);
    if (!run) return t.fail('no run');
    starts.add(run.first);
    t.is(run.count, 1);
  }
  t.deepEqual([...starts].sort((a, b) => a - b), [40, 42, 44, 46]);
  // Contiguous eligible blocks: the run still extends forward from its start.
  const run = chooseSourceRun(rng, 100, (b) => b >= 10, () => true, 8, false, 1);
  t.deepEqual(run, { first: 10, count: 8 });
});

test('chooseSourceRun with a window favours the lowest eligible block: the prefix fills first', (t) => {
  t.log(`seed ${SEED}`);
  const rng = new SeededRng(SEED);
  const counts = new Map<number, number>();
  const draws = 4000;
  for (let i = 0; i < draws; i++) {
    const first = chooseSourceRun(rng, 100, (b) => b % 2 === 1, () => true, 1, false, 8)?.first ?? -1;
    counts.set(first, (counts.get(first) ?? 0) + 1);
  }
  const share = (b: number): number => (counts.get(b) ?? 0) / draws;
  // The lowest eligible (1) about half the time, the next (3) a quarter; still all 8 drawn.
  t.true(share(1) > 0.45 && share(1) < 0.55, `block 1: ${share(1)}`);
  t.true(share(3) > 0.2 && share(3) < 0.3, `block 3: ${share(3)}`);
  t.deepEqual([...counts.keys()].sort((a, b) => a - b), [1, 3, 5, 7, 9, 11, 13, 15]);
  // A lease holder drawing again and again reaches the lowest block in a few runs, not ~W.
  let runsUntilLowest = 0;
  for (let trial = 0; trial < 200; trial++) {
    let runs = 1;
    while (chooseSourceRun(rng, 100, () => true, () => true, 1, false, 8)?.first !== 0) runs++;
    runsUntilLowest += runs;
  }
  t.true(runsUntilLowest / 200 < 2.5, `mean runs until block 0: ${runsUntilLowest / 200}`);
});

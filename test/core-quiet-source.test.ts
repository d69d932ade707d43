// A quiet source (no run announced for a while though blocks remain) is restarted with draws at
// k/n instead of k/(n L); the leases those draws win last two rounds, not L (source-policy.ts).
// Leases of L rounds won at k/n piled up to about k L GETs at once (13 at 10^4 simulated peers).
import test from 'ava';
import { SeededRng } from '../estimation/random.ts';
import { SourcePolicy, type SourceView } from '../peer/core/source-policy.ts';

const ROUND = 1000;
const LEASE_ROUNDS = 4;

function view(quiet: boolean): SourceView {
  return {
    blocks: 64,
    starved: () => false,
    groupSize: () => 1000,
    starvingGroupSize: () => 1000,
    view: () => ({ size: 0, busy: 0 }),
    wanted: () => true,
    unheard: () => true, // no one has any block: every draw's winner has something to fetch
    unseen: () => true,
    heardFor: () => -Infinity,
    sourceQuiet: () => quiet,
  };
}

/** Ticks a policy every quarter round until it starts a run; ends that run at once. Returns when. */
function firstWin(p: SourcePolicy, v: SourceView): number {
  for (let at = 0; at < 10_000_000; at += ROUND / 4) {
    const run = p.decide(at, v);
    if (run) {
      p.end(at, true);
      return at;
    }
  }
  throw new Error('never won a draw');
}

function policy(seed: number): SourcePolicy {
  const p = new SourcePolicy(new SeededRng(seed), { k: 3, backoff: true, roundMs: ROUND, leaseRounds: LEASE_ROUNDS, blockSize: 1024, maxRun: 1, maxFailures: 5 }, 0);
  p.onPeers(0, false);
  return p;
}

test('a lease won while the source is quiet lasts two rounds; an ordinary one lasts L = 4', (t) => {
  for (let seed = 1; seed <= 10; seed++) {
    for (const quiet of [true, false]) {
      const p = policy(seed);
      const v = view(quiet);
      const won = firstWin(p, v);
      t.is(p.roundsWon, 1);
      // Two rounds after the win: inside an L-round lease a new run starts without a draw;
      // after a two-round lease, only a new draw (rarely won at k/n = 0.3%) could start one.
      const run = p.decide(won + 2 * ROUND, v);
      if (quiet) t.true(run === null || p.roundsWon === 2, `seed ${seed}: a run two rounds on without a new draw`);
      else t.deepEqual([run !== null, p.roundsWon], [true, 1], `seed ${seed}: the lease still held`);
    }
  }
});

test('quiet draws are k/n a round, ordinary ones k/(n L): quiet wins come about L times sooner', (t) => {
  const mean = (quiet: boolean): number => {
    let sum = 0;
    for (let seed = 1; seed <= 40; seed++) sum += firstWin(policy(seed), view(quiet));
    return sum / 40;
  };
  const quiet = mean(true);
  const ordinary = mean(false);
  t.true(ordinary / quiet > 2 && ordinary / quiet < 8, `first win after ${quiet.toFixed(0)} ms quiet, ${ordinary.toFixed(0)} ms not`);
});

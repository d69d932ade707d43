// The host-load estimator: how late the peer's timers fire stretches its control traffic
// (multiplicative when busy for two rounds running, additive recovery, a hold between).
import test from 'ava';
import fc from 'fast-check';
import { DEFAULT_HOST_LOAD_PARAMS, HostLoad, stretched } from '../estimation/host-load.ts';
import { seedFrom } from '../estimation/random.ts';

const SEED = seedFrom(process.env, 0x10ad);
const load = (busyLagMs = 20, maxStretch = 4): HostLoad => new HostLoad({ ...DEFAULT_HOST_LOAD_PARAMS, busyLagMs, maxStretch });

/** One round: the round's lateness samples, then the round's judgment; returns the stretch. */
function round(h: HostLoad, ...lates: number[]): number {
  for (const late of lates) h.observe(late);
  h.evaluate();
  return h.stretch;
}

test('timers on time: the periods stay as the parameters give them', (t) => {
  const h = load();
  for (let i = 0; i < 50; i++) t.is(round(h, 1, 3, 0), 1);
  t.true(h.lagMs < 20);
});

test('lag for two rounds running halves the rate, down to 1 / maxStretch', (t) => {
  const h = load(20, 4);
  t.deepEqual([round(h, 200, 200), round(h, 200), round(h, 200), round(h, 200), round(h, 200)], [1, 2, 4, 4, 4]);
  t.is(h.stretchedRounds, 4, 'every round that ended stretched counts');
});

test('one slow round (a burst at start-up) is not a busy host', (t) => {
  const h = load();
  t.is(round(h, 300), 1, 'the mean is over the threshold, but once');
  for (let i = 0; i < 20; i++) round(h, 0);
  t.is(h.stretch, 1);
  t.true(h.lagMs < 1);
});

test('room again: the rate comes back a quarter of the full rate a round; in between it holds', (t) => {
  const h = load(20, 4);
  round(h, 500);
  round(h, 500);
  round(h, 500);
  t.is(h.stretch, 4);
  // The mean falls toward 12 ms: busy while at or above 20, then held between 10 and 20.
  for (let i = 0; i < 30; i++) t.is(round(h, 12), 4, `at a mean of ${h.lagMs.toFixed(1)} ms`);
  t.true(h.lagMs >= 10 && h.lagMs < 20);
  const rates = [round(h, 0), round(h, 0), round(h, 0), round(h, 0)].map((s) => 1 / s);
  t.deepEqual(rates, [0.5, 0.75, 1, 1]);
});

test('busyLagMs 0 never stretches (the paper\'s form); bad samples are ignored', (t) => {
  const off = load(0);
  for (let i = 0; i < 10; i++) t.is(round(off, 5000), 1);
  const h = load();
  round(h, Number.NaN, -5, Number.POSITIVE_INFINITY);
  t.is(h.lagMs, 0, 'nothing counted');
  t.throws(() => load(20, 0.5), { message: /maxStretch must be at least 1/ });
});

test('stretched periods: never shorter, never past half of staleMs on account of the load', (t) => {
  t.is(stretched(500, 1, 10_000), 500);
  t.is(stretched(500, 4, 10_000), 2000);
  t.is(stretched(2000, 4, 10_000), 5000, 'capped at staleMs / 2');
  t.is(stretched(8000, 4, 10_000), 8000, 'a period already longer stays as it is');
});

test('property: the stretch stays within [1, maxStretch] and is 1 until two rounds ran busy', (t) => {
  t.log(`seed ${SEED}`);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 1, max: 16 }),
      fc.array(fc.array(fc.double({ min: -10, max: 2000, noNaN: false }), { maxLength: 4 }), { minLength: 1, maxLength: 200 }),
      (busyLagMs, maxStretch, rounds) => {
        const h = load(busyLagMs, maxStretch);
        let over = 0;
        let everBusy = false;
        for (const lates of rounds) {
          const s = round(h, ...lates);
          over = h.lagMs >= busyLagMs ? over + 1 : 0;
          everBusy ||= over >= 2;
          if (!(s >= 1 && s <= maxStretch + 1e-9)) return false;
          if (!everBusy && s !== 1) return false;
        }
        return true;
      },
    ),
    { seed: SEED, numRuns: 300 },
  );
  t.pass();
});

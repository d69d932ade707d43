import test from 'ava';
import fc from 'fast-check';
import { BandwidthController, DEFAULT_BANDWIDTH_PARAMS } from '../estimation/bandwidth.ts';
import type { BandwidthAction, BandwidthDecision, BandwidthParams, BandwidthState } from '../estimation/bandwidth.ts';
import { SeededRng, seedFrom } from '../estimation/random.ts';

const SEED = seedFrom(process.env, 0x5eed);
const ROUND = 1000;
const OPEN = { canAddDataConnection: true, wantMore: true };
const D = DEFAULT_BANDWIDTH_PARAMS;
/** No periodic probes: isolates the transition under test. */
const QUIET = { probeMs: 600_000, maxProbeMs: 600_000 };

/** A link whose rate is min(capacity, perConnection × data connections), times seeded noise. */
interface Link {
  capacity: (round: number) => number;
  perConnection: number;
  noise: number;
  rng?: SeededRng;
}

interface Step {
  round: number;
  decision: BandwidthDecision;
  connections: number;
  /** The share of the link's capacity the connections could use (noise aside). */
  utilization: number;
  updateIntervalMs: number;
}

/** Drive `bw` for rounds [from, to): bytes of one round, then one evaluate, as the peer core will. */
function drive(bw: BandwidthController, link: Link, from: number, to: number, ctx = OPEN): Step[] {
  const steps: Step[] = [];
  for (let round = from; round < to; round++) {
    const cap = link.capacity(round);
    const clean = Math.min(cap, link.perConnection * bw.dataConnections);
    const noise = link.rng ? 1 + link.noise * (2 * link.rng.next() - 1) : 1;
    bw.recordBytes(round * ROUND, clean * noise * (ROUND / 1000));
    const decision = bw.evaluate(round * ROUND, ctx);
    const utilization = Math.min(cap, link.perConnection * bw.dataConnections) / cap;
    steps.push({ round, decision, connections: bw.dataConnections, utilization, updateIntervalMs: bw.updateIntervalMs });
  }
  return steps;
}

const actions = (steps: Step[]): BandwidthAction[] => steps.map((s) => s.decision.action).filter((a) => a !== 'hold');
const changes = (steps: Step[], before: number): number => {
  let n = 0;
  let c = before;
  for (const s of steps) {
    if (s.connections !== c) n++;
    c = s.connections;
  }
  return n;
};

// ---- unit tests: each transition and the order of actions ----

test('starts under-utilized at the initial knobs and judges nothing before a full window', (t) => {
  const bw = new BandwidthController({}, 0);
  t.is(bw.state, 'under-utilized');
  t.is(bw.dataConnections, D.initialDataConnections);
  t.is(bw.updateIntervalMs, D.initialUpdateIntervalMs);
  t.is(bw.neighbors, D.initialNeighbors);
  const steps = drive(bw, { capacity: () => 1e9, perConnection: 1e5, noise: 0 }, 1, D.windowMs / ROUND);
  t.deepEqual(actions(steps), []);
});

test('under-utilized: adds a data connection while each add raises the rate', (t) => {
  const bw = new BandwidthController({}, 0);
  const steps = drive(bw, { capacity: () => 1e9, perConnection: 1e5, noise: 0 }, 1, 40);
  const adds = steps.filter((s) => s.decision.action === 'add-data-connection');
  t.true(adds.length >= 3);
  for (const s of adds) t.is(s.decision.state, 'under-utilized');
  t.deepEqual(actions(steps), adds.map(() => 'add-data-connection'));
  t.is(bw.dataConnections, D.initialDataConnections + adds.length);
});

test('under-utilized with no connection to add: raises the update rate additively and the neighbors', (t) => {
  const bw = new BandwidthController({}, 0);
  const steps = drive(bw, { capacity: () => 1e9, perConnection: 1e5, noise: 0 }, 1, 8, { canAddDataConnection: false, wantMore: true });
  const first = steps.find((s) => s.decision.action !== 'hold');
  t.deepEqual(first?.decision, { state: 'under-utilized', action: 'raise-updates-and-neighbors' });
  t.is(bw.dataConnections, D.initialDataConnections);
  t.is(bw.updateIntervalMs, 1000 / (1000 / D.initialUpdateIntervalMs + D.updateRateStep));
  t.is(bw.neighbors, D.initialNeighbors + 1);
});

test('under-utilized at the maximum of data connections: raises updates and neighbors instead', (t) => {
  const bw = new BandwidthController({ maxDataConnections: 2, initialDataConnections: 2 }, 0);
  const steps = drive(bw, { capacity: () => 1e9, perConnection: 1e5, noise: 0 }, 1, 8);
  t.is(steps.find((s) => s.decision.action !== 'hold')?.decision.action, 'raise-updates-and-neighbors');
  t.is(bw.dataConnections, 2);
});

test('an add that brings nothing is undone and the state is at-capacity', (t) => {
  // Two connections fill the link: the climb's first add (to 3) cannot help.
  const bw = new BandwidthController(QUIET, 0);
  const steps = drive(bw, { capacity: () => 2e5, perConnection: 1e5, noise: 0 }, 1, 20);
  t.deepEqual(actions(steps), ['add-data-connection', 'drop-data-connection']);
  const drop = steps.find((s) => s.decision.action === 'drop-data-connection');
  t.is(drop?.decision.state, 'at-capacity');
  t.is(bw.dataConnections, 2);
  t.is(bw.state, 'at-capacity');
});

test('throttle-back: lowers update rate and neighbors to their floors first, then drops connections, restores the one that hurt', (t) => {
  const bw = new BandwidthController(QUIET, 0);
  const link = { capacity: (r: number) => (r < 30 ? 6e5 : 2.5e5), perConnection: 1e5, noise: 0 };
  drive(bw, link, 1, 30);
  t.is(bw.state, 'at-capacity');
  t.is(bw.dataConnections, 6);
  const steps = drive(bw, link, 30, 80);
  const acts = actions(steps);
  const firstDrop = acts.indexOf('drop-data-connection');
  const lowers = acts.filter((a) => a === 'lower-updates-and-neighbors').length;
  t.true(lowers >= 1);
  t.true(firstDrop > 0);
  t.deepEqual(acts.slice(0, firstDrop), Array(firstDrop).fill('lower-updates-and-neighbors'));
  // Multiplicative decrease of the update rate until the floor.
  t.is(bw.updateIntervalMs, D.maxUpdateIntervalMs);
  t.is(bw.neighbors, D.minNeighbors);
  for (const s of steps.filter((x) => x.decision.action !== 'hold').slice(0, -1)) t.is(s.decision.state, 'throttle-back');
  // 6 -> 3 cost nothing (2.5e5 needs 3), 3 -> 2 did: put back, then hold at-capacity.
  t.is(acts.at(-1), 'add-data-connection');
  t.is(bw.dataConnections, 3);
  t.is(bw.state, 'at-capacity');
  t.deepEqual(actions(drive(bw, link, 80, 85)), []);
});

test('throttle-back lowers the update rate multiplicatively', (t) => {
  const bw = new BandwidthController({ ...QUIET, initialUpdateIntervalMs: 400 }, 0);
  const link = { capacity: (r: number) => (r < 30 ? 6e5 : 2.5e5), perConnection: 1e5, noise: 0 };
  drive(bw, link, 1, 30);
  const lowered = drive(bw, link, 30, 50).filter((s) => s.decision.action === 'lower-updates-and-neighbors');
  t.deepEqual(lowered.slice(0, 3).map((s) => s.updateIntervalMs), [800, 1600, 3200]);
});

test('a rate that recovers during throttle-back ends it without dropping connections', (t) => {
  const bw = new BandwidthController(QUIET, 0);
  const link = { capacity: (r: number) => (r >= 30 && r < 36 ? 2e5 : 6e5), perConnection: 1e5, noise: 0 };
  drive(bw, link, 1, 30);
  const steps = drive(bw, link, 30, 50);
  t.true(steps.some((s) => s.decision.state === 'throttle-back'));
  t.false(actions(steps).includes('drop-data-connection'));
  t.is(bw.state, 'at-capacity');
  t.is(bw.dataConnections, 6);
});

test('one slow round is not congestion: no throttle-back', (t) => {
  const bw = new BandwidthController(QUIET, 0);
  const link = { capacity: (r: number) => (r === 40 ? 1 : 6e5), perConnection: 1e5, noise: 0 };
  drive(bw, link, 1, 35);
  t.is(bw.state, 'at-capacity');
  const steps = drive(bw, link, 35, 48);
  t.false(steps.some((s) => s.decision.state === 'throttle-back'));
  t.deepEqual(actions(steps), []);
});

test('wantMore=false is not congestion: holds and restarts the measurement', (t) => {
  const bw = new BandwidthController(QUIET, 0);
  const link = { capacity: (r: number) => (r < 30 ? 6e5 : 0.001), perConnection: 1e5, noise: 0 };
  drive(bw, link, 1, 30);
  const knobs = [bw.dataConnections, bw.updateIntervalMs, bw.neighbors];
  const idle = drive(bw, link, 30, 60, { canAddDataConnection: true, wantMore: false });
  t.deepEqual(actions(idle), []);
  t.false(idle.some((s) => s.decision.state === 'throttle-back'));
  t.deepEqual([bw.dataConnections, bw.updateIntervalMs, bw.neighbors], knobs);
  // Back to normal: the next judgment waits for a full window, and the rate is fine again.
  const back = drive(bw, { ...link, capacity: () => 6e5 }, 60, 70);
  t.false(back.some((s) => s.decision.state === 'throttle-back'));
});

test('a rate rising by itself at capacity (the link grew) leads to adding connections', (t) => {
  // 3 connections are enough for 2.5e5 and carry up to 3e5 once the link grows.
  const bw = new BandwidthController(QUIET, 0);
  const link = { capacity: (r: number) => (r < 30 ? 2.5e5 : 1e6), perConnection: 1e5, noise: 0 };
  drive(bw, link, 1, 30);
  t.is(bw.dataConnections, 3);
  const steps = drive(bw, link, 30, 80);
  const firstAdd = steps.find((s) => s.decision.action === 'add-data-connection');
  t.is(firstAdd?.decision.state, 'under-utilized');
  t.true(bw.dataConnections >= 9);
});

test('at-capacity probes for more after probeMs, undoes a useless probe, and backs off', (t) => {
  const bw = new BandwidthController({ probeMs: 10_000, maxProbeMs: 40_000 }, 0);
  const link = { capacity: () => 3e5, perConnection: 1e5, noise: 0 };
  const steps = drive(bw, link, 1, 200);
  const probes = steps.filter((s) => s.decision.action === 'add-data-connection' && s.round > 15).map((s) => s.round);
  t.true(probes.length >= 3);
  const gaps = probes.slice(1).map((r, i) => r - (probes[i] as number));
  t.true((gaps[1] as number) > (gaps[0] as number), `gaps ${gaps.join(',')}`);
  for (const g of gaps) t.true(g * ROUND >= 10_000 && g * ROUND <= 40_000 + 2 * D.windowMs);
  t.is(bw.dataConnections, 3);
});

test('an add blocked for want of a peer is tried as soon as a peer is available', (t) => {
  const bw = new BandwidthController(QUIET, 0);
  const link = { capacity: () => 3e5, perConnection: 1e5, noise: 0 };
  const blocked = drive(bw, link, 1, 12, { canAddDataConnection: false, wantMore: true });
  t.true(actions(blocked).includes('raise-updates-and-neighbors'));
  const open = drive(bw, link, 12, 14);
  t.is(open[0]?.decision.action, 'add-data-connection');
});

test('timeInState adds up to the time elapsed', (t) => {
  const bw = new BandwidthController(QUIET, 1000);
  const link = { capacity: (r: number) => (r < 40 ? 6e5 : 2e5), perConnection: 1e5, noise: 0 };
  drive(bw, link, 2, 100);
  const spent = bw.timeInState(100 * ROUND);
  t.is(spent['under-utilized'] + spent['throttle-back'] + spent['at-capacity'], 99 * ROUND);
  for (const v of Object.values(spent)) t.true(v > 0);
});

test('bad parameters are refused with a clear error; bad input is ignored', (t) => {
  t.throws(() => new BandwidthController({ minDataConnections: 5, maxDataConnections: 2 }, 0), { instanceOf: RangeError, message: /minDataConnections/ });
  t.throws(() => new BandwidthController({ windowMs: Number.NaN }, 0), { instanceOf: RangeError });
  t.throws(() => new BandwidthController({ updateRateDecrease: 1 }, 0), { instanceOf: RangeError });
  const bw = new BandwidthController({}, 0);
  bw.recordBytes(0, Number.NaN);
  bw.recordBytes(0, -5);
  bw.recordBytes(0, Number.POSITIVE_INFINITY);
  t.deepEqual(bw.evaluate(Number.NaN, OPEN), { state: 'under-utilized', action: 'hold' });
  t.deepEqual(bw.evaluate(-1000, OPEN), { state: 'under-utilized', action: 'hold' });
  t.is(bw.dataConnections, D.initialDataConnections);
});

// ---- property tests on a simulated link ----

const linkArb = fc.record({
  perConnection: fc.double({ min: 5e4, max: 5e6, noNaN: true }),
  knee: fc.double({ min: 0.6, max: 6, noNaN: true }), // capacity / perConnection: the connections the link needs
  noise: fc.double({ min: 0, max: 0.1, noNaN: true }),
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
});

test('no oscillation on a constant-capacity link: after convergence, connections change at most once per probe interval on average', (t) => {
  t.log(`seed ${SEED}`);
  let worst = 0;
  fc.assert(
    fc.property(linkArb, ({ perConnection, knee, noise, seed }) => {
      const bw = new BandwidthController({}, 0);
      const link = { capacity: () => knee * perConnection, perConnection, noise, rng: new SeededRng(seed) };
      drive(bw, link, 1, 100);
      const before = bw.dataConnections;
      const rounds = 300;
      const steps = drive(bw, link, 100, 100 + rounds);
      const n = changes(steps, before);
      worst = Math.max(worst, n);
      // Failed probes (add + undo) are the only changes on a steady link; they come at most
      // every probeMs. A flapping controller would change at every judgment (~every 3 rounds).
      if (n > (rounds * ROUND) / D.probeMs) return false;
      if (steps.some((s) => s.decision.state === 'throttle-back')) return false;
      return steps.every((s) => s.utilization >= 0.8 && s.connections <= Math.ceil(knee) + 3);
    }),
    { seed: SEED, numRuns: 100 },
  );
  t.log(`most changes of data connections in 300 rounds after convergence: ${worst}`);
  t.pass();
});

test('converges after a capacity step up', (t) => {
  t.log(`seed ${SEED}`);
  fc.assert(
    fc.property(linkArb, fc.double({ min: 1.5, max: 2.5, noNaN: true }), ({ perConnection, knee, noise, seed }, factor) => {
      const bw = new BandwidthController({}, 0);
      const link = {
        capacity: (r: number) => knee * perConnection * (r < 100 ? 1 : factor),
        perConnection,
        noise: Math.min(noise, 0.05),
        rng: new SeededRng(seed),
      };
      drive(bw, link, 1, 100);
      const steps = drive(bw, link, 100, 400);
      // Within 200 rounds the connections use the bigger link, and keep doing so.
      const reached = steps.findIndex((s) => s.utilization >= 0.85);
      return reached >= 0 && reached <= 200 && steps.slice(250).every((s) => s.utilization >= 0.8);
    }),
    { seed: SEED, numRuns: 100 },
  );
  t.pass();
});

test('converges after a capacity step down: throttles back to near the new knee', (t) => {
  t.log(`seed ${SEED}`);
  fc.assert(
    fc.property(linkArb, fc.double({ min: 2, max: 5, noNaN: true }), ({ perConnection, knee, noise, seed }, factor) => {
      const bw = new BandwidthController({}, 0);
      const high = Math.max(knee, 2) * factor; // connections the big link needs
      const link = {
        capacity: (r: number) => perConnection * (r < 100 ? high : high / factor),
        perConnection,
        noise: Math.min(noise, 0.05),
        rng: new SeededRng(seed),
      };
      drive(bw, link, 1, 100);
      const steps = drive(bw, link, 100, 300);
      if (!steps.some((s) => s.decision.state === 'throttle-back')) return false;
      const newKnee = Math.ceil(high / factor);
      const done = steps.findIndex((s, i) => i > 0 && s.connections <= newKnee + 1 && s.utilization >= 0.85);
      return done >= 0 && done <= 120 && bw.state !== 'throttle-back' && steps.slice(150).every((s) => s.utilization >= 0.8);
    }),
    { seed: SEED, numRuns: 100 },
  );
  t.pass();
});

const STATES: BandwidthState[] = ['under-utilized', 'throttle-back', 'at-capacity'];
const ACTIONS: BandwidthAction[] = ['add-data-connection', 'raise-updates-and-neighbors', 'lower-updates-and-neighbors', 'drop-data-connection', 'hold'];

test('bounds are never crossed, whatever the input', (t) => {
  t.log(`seed ${SEED}`);
  const paramsArb = fc
    .record({
      minDataConnections: fc.integer({ min: 0, max: 4 }),
      extraConnections: fc.integer({ min: 0, max: 8 }),
      minNeighbors: fc.integer({ min: 1, max: 4 }),
      extraNeighbors: fc.integer({ min: 0, max: 6 }),
      windowMs: fc.integer({ min: 1, max: 5000 }),
      probeMs: fc.integer({ min: 0, max: 20_000 }),
    })
    .map(
      (r): Partial<BandwidthParams> => ({
        minDataConnections: r.minDataConnections,
        maxDataConnections: r.minDataConnections + r.extraConnections,
        minNeighbors: r.minNeighbors,
        maxNeighbors: r.minNeighbors + r.extraNeighbors,
        windowMs: r.windowMs,
        probeMs: r.probeMs,
        maxProbeMs: r.probeMs * 4,
      }),
    );
  const stepArb = fc.record({
    dt: fc.oneof(fc.integer({ min: -500, max: 6000 }), fc.constant(Number.NaN)),
    bytes: fc.oneof(fc.double({ min: 0, max: 1e8 }), fc.double(), fc.constant(Number.POSITIVE_INFINITY)),
    canAddDataConnection: fc.boolean(),
    wantMore: fc.boolean(),
  });
  fc.assert(
    fc.property(paramsArb, fc.array(stepArb, { minLength: 1, maxLength: 400 }), (params, steps) => {
      const p = { ...D, ...params };
      const bw = new BandwidthController(params, 0);
      let now = 0;
      let latest = 0;
      for (const s of steps) {
        now += s.dt;
        if (Number.isFinite(now)) latest = Math.max(latest, now);
        else now = latest;
        bw.recordBytes(now, s.bytes);
        const d = bw.evaluate(s.dt === s.dt ? now : Number.NaN, s);
        if (!STATES.includes(d.state) || !ACTIONS.includes(d.action) || d.state !== bw.state) return false;
        const c = bw.dataConnections;
        if (!Number.isInteger(c) || c < p.minDataConnections || c > p.maxDataConnections) return false;
        if (!(bw.updateIntervalMs >= p.minUpdateIntervalMs && bw.updateIntervalMs <= p.maxUpdateIntervalMs)) return false;
        if (!Number.isInteger(bw.neighbors) || bw.neighbors < p.minNeighbors || bw.neighbors > p.maxNeighbors) return false;
      }
      const spent = Object.values(bw.timeInState(latest));
      return spent.every((v) => v >= 0) && spent.reduce((a, b) => a + b, 0) <= latest;
    }),
    { seed: SEED, numRuns: 300 },
  );
  t.pass();
});

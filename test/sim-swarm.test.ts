// The simulator: unchanged peer cores in virtual time, small swarms with seeds.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { seedFrom } from '../estimation/random.ts';
import { EventQueue } from '../experiments/sim/event-queue.ts';
import { simulate, type SimResult, type SimScenario } from '../experiments/sim/simulate.ts';

const seed = seedFrom(process.env, 7);
const MiB = 1024 * 1024;

const small: SimScenario = {
  peers: 8,
  size: 4 * MiB,
  sourceRate: 4 * MiB,
  peerUp: 16 * MiB,
  peerDown: 16 * MiB,
  latencyMs: 5,
  seed,
};

function allComplete(t: ExecutionContext, r: SimResult, peers: number): void {
  t.is(r.outcome, 'complete', r.problem ?? '');
  t.is(r.completed, peers);
  t.true(r.peers.every((p) => p.seconds !== null));
  t.deepEqual(r.anomalies, [], 'the core kept the driver contract');
  // Every block must leave the source at least once, so no one can beat F / u_s.
  for (const p of r.peers) t.true((p.seconds as number) >= r.tMinSeconds * 0.999, `peer ${p.index}: ${p.seconds} s`);
}

test('the event queue pops by time, and equal times in the order they were pushed', (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 300 }), (times) => {
      const q = new EventQueue<number>();
      times.forEach((time, i) => q.push(time, i));
      const out: number[] = [];
      let last = -Infinity;
      while (q.size > 0) {
        const time = q.peekTime();
        if (time < last) return false;
        last = time;
        out.push(q.pop() as number);
      }
      const expected = times.map((time, i) => ({ time, i })).sort((a, b) => a.time - b.time || a.i - b.i).map((x) => x.i);
      return q.pop() === undefined && q.peekTime() === Infinity && JSON.stringify(out) === JSON.stringify(expected);
    }),
    { seed },
  );
  t.is(new EventQueue<number>().pop(), undefined);
  t.throws(() => new EventQueue<number>().push(NaN, 1), { instanceOf: RangeError });
});

test('one peer alone fetches the whole file from the source, each block once', (t) => {
  t.log(`seed ${seed}`);
  const r = simulate({ ...small, peers: 1, size: 2 * MiB + 1000 }); // the last block is short
  allComplete(t, r, 1);
  t.is(r.sourceBytes, 2 * MiB + 1000);
  t.is(r.sourceDuplicateBlocks, 0);
  t.is(r.peakSourceRuns, 1);
  t.is(r.peers[0]?.stats?.fromSource, 2 * MiB + 1000);
  t.is(r.peers[0]?.stats?.fromPeers, 0);
});

test('8 peers: all complete, they trade blocks, the source serves between 1x and 3x the file', (t) => {
  t.log(`seed ${seed}`);
  const r = simulate(small);
  allComplete(t, r, 8);
  t.true(r.peers.some((p) => (p.stats?.fromPeers ?? 0) > 0), 'blocks went between peers');
  t.true(r.sourceRatio >= 1, `source ${r.sourceRatio}x F`);
  // Not a speed: 8 plain clients would pull 8 copies.
  t.true(r.sourceRatio < 3, `source served ${r.sourceRatio.toFixed(2)}x the file`);
  t.true((r.messages.BLOCK?.count ?? 0) > 0 && (r.messages.UPDATE?.count ?? 0) > 0);
});

test('30 peers: the same seed gives the same run, another seed completes too', (t) => {
  t.log(`seed ${seed}`);
  const scenario: SimScenario = { ...small, peers: 30, blockSize: 128 * 1024, peerUp: 32 * MiB, peerDown: 32 * MiB };
  const strip = (r: SimResult): Omit<SimResult, 'wallMs'> => {
    const { wallMs: _wall, ...rest } = r;
    return rest;
  };
  const a = simulate(scenario);
  allComplete(t, a, 30);
  t.true(a.sourceRatio >= 1 && a.sourceRatio < 30 / 5, `source served ${a.sourceRatio.toFixed(2)}x the file`);
  t.deepEqual(strip(simulate(scenario)), strip(a));
  const b = simulate({ ...scenario, seed: seed + 1 });
  allComplete(t, b, 30);
  t.notDeepEqual(
    b.peers.map((p) => p.id),
    a.peers.map((p) => p.id),
  );
});

test('peers arriving over time all complete', (t) => {
  t.log(`seed ${seed}`);
  const r = simulate({ ...small, arrivalSpreadMs: 1500 });
  t.is(r.outcome, 'complete', r.problem ?? '');
  t.deepEqual(r.anomalies, []);
  const arrivals = r.peers.map((p) => p.arrivedMs);
  t.true(arrivals.every((x, i) => x >= 0 && x < 1500 && (i === 0 || x >= (arrivals[i - 1] as number))));
  t.true(arrivals.some((x) => x > 0));
});

test('a stall or the time limit ends the run with a reason instead of looping', (t) => {
  const stalled = simulate({ ...small, stallMs: 1 }); // no block can be stored within 1 ms
  t.is(stalled.outcome, 'stalled');
  t.regex(stalled.problem ?? '', /no block stored/);
  t.is(stalled.completed, 0);
  t.true(stalled.stuck.length > 0);
  const late = simulate({ ...small, maxSimSeconds: 0.5 }); // T_min is 1 s
  t.is(late.outcome, 'timeout');
  t.regex(late.problem ?? '', /time limit/);
  t.true(late.simSeconds <= 0.5);
});

test('a scenario that makes no sense is refused in one line', (t) => {
  for (const bad of [{ peers: 0 }, { size: -1 }, { sourceRate: 0 }, { latencyMs: -1 }, { seed: 1.5 }, { maxSimSeconds: 0 }]) {
    const err = t.throws(() => simulate({ ...small, ...bad }), { instanceOf: RangeError }, JSON.stringify(bad));
    t.false(err?.message.includes('\n'));
  }
});

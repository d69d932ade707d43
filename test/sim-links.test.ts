// The simulator's per-peer links (scenario.peerLinks): the PlanetLab-like scenarios.
import test from 'ava';
import { seedFrom } from '../estimation/random.ts';
import { canonical, modelFields } from '../experiments/sim/compare-results.ts';
import { simulate, type SimScenario } from '../experiments/sim/simulate.ts';

const seed = seedFrom(process.env, 5);
const MiB = 1024 * 1024;

const base: SimScenario = {
  peers: 16,
  size: 4 * MiB,
  sourceRate: 2 * MiB,
  peerUp: 8 * MiB,
  peerDown: 8 * MiB,
  latencyMs: 4,
  seed,
  arrivalSpreadMs: 2000,
};

test('links given per peer, all the same, replay the homogeneous run exactly', (t) => {
  t.log(`seed ${seed}`);
  const same = Array.from({ length: base.peers }, () => ({ up: base.peerUp, down: base.peerDown, latencyMs: base.latencyMs }));
  const plain = JSON.parse(JSON.stringify(simulate(base))) as Record<string, unknown>;
  const given = JSON.parse(JSON.stringify(simulate({ ...base, peerLinks: same }))) as Record<string, unknown>;
  t.is(plain.outcome, 'complete');
  t.is(canonical(modelFields(plain)), canonical(modelFields(given)));
});

test('slow peers finish later than fast ones, and the fluid bound counts the slowest downlink and every uplink', (t) => {
  // Half the peers on a downlink a quarter of the source's rate: they cannot finish before F / d_min.
  const slowDown = MiB / 2;
  const peerLinks = Array.from({ length: base.peers }, (_, i) =>
    i % 2 === 0 ? { up: MiB / 4, down: slowDown, latencyMs: 40 } : { up: base.peerUp, down: base.peerDown, latencyMs: 2 });
  const r = simulate({ ...base, peerLinks });
  t.is(r.outcome, 'complete', r.problem ?? '');
  t.is(r.completed, base.peers);
  const sumUp = peerLinks.reduce((s, l) => s + l.up, 0);
  t.is(r.fluidBoundSeconds, Math.max(base.size / base.sourceRate, base.size / slowDown, (base.peers * base.size) / (base.sourceRate + sumUp)));
  const mean = (even: boolean): number => {
    const xs = r.peers.filter((p) => (p.index % 2 === 0) === even).map((p) => p.seconds as number);
    return xs.reduce((s, x) => s + x, 0) / xs.length;
  };
  t.true(mean(true) > mean(false), `slow ${mean(true)} s, fast ${mean(false)} s`);
  for (const p of r.peers) if (p.index % 2 === 0) t.true((p.seconds as number) >= base.size / slowDown - 1e-9, `peer ${p.index}: ${p.seconds} s`);
});

test('peer links that do not fit the scenario are refused in one line', (t) => {
  const good = { up: MiB, down: MiB, latencyMs: 1 };
  const cases = [
    Array.from({ length: base.peers - 1 }, () => good),
    Array.from({ length: base.peers }, (_, i) => (i === 3 ? { ...good, down: 0 } : good)),
    Array.from({ length: base.peers }, (_, i) => (i === 5 ? { ...good, latencyMs: -2 } : good)),
  ];
  for (const peerLinks of cases) {
    const err = t.throws(() => simulate({ ...base, peerLinks }), { instanceOf: RangeError });
    t.regex(err?.message ?? '', /peerLinks/);
    t.false(err?.message.includes('\n'));
  }
});

// The simulator on a testbed's plan (scenarios/plan.ts): each peer arrives at its planned
// instant, and a churned peer leaves at its planned time unless done, as the testbed stops it.
import test from 'ava';
import { loadScenario } from '../experiments/scenarios/scenario-file.ts';
import { planPeers, toSimScenario } from '../experiments/scenarios/plan.ts';
import { simulate, type SimScenario } from '../experiments/sim/simulate.ts';

const MiB = 1024 * 1024;

test('planetlab-55: the simulator gets the plan\'s arrivals and churn, peer for peer', async (t) => {
  const s = await loadScenario('planetlab-55');
  const plan = planPeers(s);
  const { sim } = toSimScenario(s);
  t.deepEqual(sim.arrivalsMs, plan.map((p) => p.arrivalSeconds * 1000));
  t.deepEqual(sim.leaveAfterMs, plan.map((p) => (p.leaveAfterSeconds === null ? null : p.leaveAfterSeconds * 1000)));
  t.true((sim.leaveAfterMs ?? []).some((x) => x !== null));
});

test('given arrivals and churn: each peer arrives then, a churned one leaves unfinished then, and the run completes', (t) => {
  const peers = 8;
  const arrivalsMs = [0, 500, 100, 300, 50, 700, 200, 400];
  const leaveAfterMs = [null, null, 200, null, null, null, null, null];
  const s: SimScenario = { peers, size: 4 * MiB, sourceRate: 4 * MiB, peerUp: 16 * MiB, peerDown: 16 * MiB, latencyMs: 5, seed: 3, arrivalsMs, leaveAfterMs };
  const r = simulate(s);
  t.is(r.outcome, 'complete', r.problem ?? '');
  t.is(r.completed, peers - 1);
  t.deepEqual(r.peers.map((p) => p.arrivedMs), arrivalsMs);
  const churned = r.peers[2];
  t.is(churned?.seconds, null);
  t.is(churned?.leftMs, 300);
  t.deepEqual(r.anomalies, []);
  const wrong = t.throws(() => simulate({ ...s, leaveAfterMs: [1] }), { instanceOf: RangeError });
  t.regex(wrong?.message ?? '', /leaveAfterMs/);
});

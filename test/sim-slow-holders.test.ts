// mixed-16 in the simulator (half the peers on 256 KiB/s uplinks): a slow peer that fetched
// blocks first no longer holds the others back (peer/core/upload-backlog.ts). Before the
// uplink bound, seed 2 took 40 s on average and seed 5 50 s, with the source idle for most
// of it; plain HTTP gives everyone the file in about 25 s.
import test from 'ava';
import { loadScenario } from '../experiments/scenarios/scenario-file.ts';
import { planPeers, toSimScenario } from '../experiments/scenarios/plan.ts';
import { measuredCpu } from '../experiments/sim/cpu-model.ts';
import { simulate } from '../experiments/sim/simulate.ts';

for (const seed of [2, 5]) {
  test(`mixed-16 seed ${seed}, CPU modelled: every peer done well under plain HTTP's 25 s, the source under 2 copies`, async (t) => {
    t.timeout(60_000);
    const scenario = { ...(await loadScenario('mixed-16')), seed };
    const { sim } = toSimScenario(scenario, measuredCpu(2), 'fifo');
    const r = simulate({ ...sim, maxSimSeconds: 300 });
    t.is(r.completed, scenario.peers.count, r.problem ?? '');
    const plan = planPeers(scenario);
    const mean = (slow: boolean): number => {
      const xs = r.peers.filter((p) => (plan[p.index]?.linkClass === 'slow') === slow).map((p) => p.seconds as number);
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    t.log(`seed ${seed}: fast ${mean(false).toFixed(1)} s, slow ${mean(true).toFixed(1)} s, source ${r.sourceRatio.toFixed(2)} F`);
    t.true(mean(false) < 20, `fast half: ${mean(false)} s`);
    t.true(mean(true) < 22, `slow half: ${mean(true)} s`);
    t.true(r.sourceRatio < 2, `source: ${r.sourceRatio} F`);
  });
}

// The simulator at the CPU a testbed run used (--sim-cpu-of-run): the start-up at the testbed
// peers' median, the other costs scaled until the simulated peers use what the testbed's did.
import test from 'ava';
import { loadScenario } from '../experiments/scenarios/scenario-file.ts';
import { planPeers, tMinSeconds } from '../experiments/scenarios/plan.ts';
import { measuredCpu } from '../experiments/sim/cpu-model.ts';
import { simAtRunCpu } from '../experiments/testbed/sim-at-run-cpu.ts';
import { atRunCpuLine, markdownTable, summarize, type PeerResult } from '../experiments/testbed/results.ts';
import { runSimSystem } from '../experiments/testbed/sim-system.ts';

const MiB = 1048576;

/** A testbed slurpie run of tiny-4 whose peers each used `cpu` CPU-s, `startup` of it to start. */
function testbedRun(seconds: number[], cpu: number, startups: number[]) {
  const perPeer: PeerResult[] = seconds.map((s, i) => ({
    id: `p${i + 1}`, linkClass: null, arrivalSeconds: 0, seconds: s, ownSeconds: s, fromSource: MiB, fromPeers: 3 * MiB, uploaded: 3 * MiB,
    maxRssBytes: null, cpuSeconds: cpu, startupCpuSeconds: startups[i] as number, ok: true, left: false,
  }));
  return summarize({ system: 'slurpie', stopped: false, timeLimitSeconds: 240, wallSeconds: 30, sourceBytes: 4 * MiB, peakSourceGets: 2, fileBytes: 4 * MiB, tMinSeconds: 4.194304, perPeer });
}

test('the simulated peers end up using the testbed peers\' CPU after start-up; the start-up is their median', async (t) => {
  t.timeout(60_000);
  const s = await loadScenario('tiny-4');
  const tMin = tMinSeconds(s, planPeers(s));
  const cpu = measuredCpu(2);
  const run = { s, tMinSeconds: tMin, timeLimitSeconds: 240, cpu, uplink: 'fair' as const, seed: s.seed };
  const first = runSimSystem(s, tMin, 240, cpu, 'fair', s.seed);
  const simEach = (first.simCpu?.busySeconds as number) / (first.simCpu?.started as number) - cpu.startupMs / 1000;
  t.true(simEach > 0, String(simEach));

  // Peers that used five times what the model charges, after a start-up of 0.2-0.4 CPU-s.
  const startups = [0.2, 0.3, 0.3, 0.4];
  const testbed = testbedRun([9, 9, 10, 10], 5 * simEach + 0.3, startups);
  const a = simAtRunCpu(run, testbed);
  if (!a) return t.fail('no result');
  t.is(a.startupMs, 300);
  t.true(Math.abs(a.testbedCpuSeconds - 5 * simEach) < 0.002, `${a.testbedCpuSeconds} against ${5 * simEach}`);
  // Close to the target, or out of passes; either way the factor went up by about five.
  t.true(Math.abs(a.simCpuSeconds / a.testbedCpuSeconds - 1) <= 0.03 || a.passes === 4, JSON.stringify(a));
  t.true(a.scale > 3 && a.scale < 8, JSON.stringify(a));
  // More CPU on 2 cores: slower than with the measured costs.
  t.true((a.meanSeconds as number) > (first.meanSeconds as number), `${a.meanSeconds} against ${first.meanSeconds}`);
  t.regex(atRunCpuLine(a, testbed), /^The simulator at this run's CPU \(--sim-cpu-of-run\): start-up 300 CPU-ms \(the testbed peers' median\), its other costs ×\d\.\d\d \(\d pass(es)?\), so a peer used [\d.]+ CPU-s after start-up against the testbed's [\d.]+: 4 finished, mean [\d.]+ T_min, [\d.]+ F, [\d.]+ of the testbed's on time and [\d.]+ on source bytes\.$/);
  const md = markdownTable({ version: 1, scenario: s, startedAt: 't', machine: { cpus: 2, node: 'v20' }, fileBytes: s.fileBytes, peers: 4, tMinSeconds: tMin, approximations: [], systems: [testbed, { ...first, atRunCpu: a }] });
  t.true(md.includes(`\n${atRunCpuLine(a, testbed)}\n`));
});

test('no figure without the testbed peers\' CPU or the CPU model', async (t) => {
  t.timeout(60_000);
  const s = await loadScenario('tiny-4');
  const tMin = tMinSeconds(s, planPeers(s));
  const run = { s, tMinSeconds: tMin, timeLimitSeconds: 240, cpu: measuredCpu(2), uplink: 'fair' as const, seed: s.seed };
  const curlLike = summarize({ system: 'slurpie', stopped: false, timeLimitSeconds: 240, wallSeconds: 30, sourceBytes: 4 * MiB, peakSourceGets: 2, fileBytes: 4 * MiB, tMinSeconds: tMin, perPeer: [] });
  t.is(simAtRunCpu(run, curlLike), null);
});

// The simulator at the CPU a testbed run used (`slurpie experiment --sim-cpu-of-run`).
//
// The CPU model's costs were measured once (experiments/sim/cpu-model.ts), but this VM runs the
// same work up to half again slower from one minute to the next (speed-probe.ts), and a peer's
// CPU grows with the load it shares the cores with: a start-up cost the first `planetlab-55`
// arrivals 0.17 CPU-s and the late ones 0.28-0.32 (2026-12-03). So the simulator beside a
// testbed run answers "how long, on the machine of the day the costs were measured"; this
// answers "given the CPU this run's peers used, does the model's protocol and network give
// this run's times?". The start-up costs the testbed peers' median start-up CPU, and the
// other costs (per message, per wake-up, per MiB) are scaled by one factor until the simulated
// peers use, after start-up, what the testbed's used on average: within 3%, in at most 4
// passes (the factor changes how often a process finds itself idle, and so how many wake-ups
// it pays for: the CPU is not linear in it).
import { median } from './median.ts';
import { cpuOf, type SystemResult } from './results.ts';
import { runSimSystem } from './sim-system.ts';
import type { Scenario } from '../scenarios/scenario-file.ts';
import type { SimCpu, UplinkModel } from '../sim/scenario.ts';

const MAX_PASSES = 4;
const CLOSE_ENOUGH = 0.03;

export interface AtRunCpu {
  startupMs: number; // the testbed peers' median start-up CPU
  scale: number; // eventMs, wakeMs and mibMs times this
  passes: number;
  testbedCpuSeconds: number; // a testbed peer's CPU after start-up, on average
  simCpuSeconds: number; // a simulated peer's, at the last pass
  finished: number;
  meanSeconds: number | null;
  meanRatio: number | null;
  sourceRatio: number;
}

interface SimRun {
  s: Scenario;
  tMinSeconds: number;
  timeLimitSeconds: number;
  cpu: SimCpu; // the costs the first simulation ran with
  uplink: UplinkModel;
  seed: number;
}

/** Null when the testbed's peers reported no CPU or the simulation ran without the CPU model. */
export function simAtRunCpu(run: SimRun, testbed: SystemResult): AtRunCpu | null {
  const used = cpuOf(testbed.perPeer);
  const starts = testbed.perPeer.flatMap((p) => (typeof p.startupCpuSeconds === 'number' ? [p.startupCpuSeconds] : []));
  if (used === null || starts.length === 0) return null;
  const target = used.cpu / used.peers - used.startup;
  const startupMs = Math.round(median(starts) * 1000);
  let scale = 1;
  let last: SystemResult | null = null;
  let each = 0;
  let passes = 0;
  while (passes < MAX_PASSES) {
    const { cpu } = run;
    const costs: SimCpu = { ...cpu, startupMs, eventMs: cpu.eventMs * scale, mibMs: cpu.mibMs * scale, ...(cpu.wakeMs !== undefined && { wakeMs: cpu.wakeMs * scale }) };
    last = runSimSystem(run.s, run.tMinSeconds, run.timeLimitSeconds, costs, run.uplink, run.seed);
    passes++;
    const sim = last.simCpu;
    if (!sim || sim.started === 0) return null;
    each = sim.busySeconds / sim.started - startupMs / 1000;
    if (each <= 0 || Math.abs(each / target - 1) <= CLOSE_ENOUGH) break;
    if (passes < MAX_PASSES) scale *= target / each;
  }
  if (last === null) return null;
  return {
    startupMs,
    scale: Math.round(scale * 1000) / 1000,
    passes,
    testbedCpuSeconds: Math.round(target * 1000) / 1000,
    simCpuSeconds: Math.round(each * 1000) / 1000,
    finished: last.finished,
    meanSeconds: last.meanSeconds,
    meanRatio: last.meanRatio,
    sourceRatio: last.sourceRatio,
  };
}

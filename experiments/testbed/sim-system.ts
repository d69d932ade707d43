// The simulator as one more system of `slurpie experiment` (--systems sim): the same scenario
// mapped onto a SimScenario (scenarios/plan.ts toSimScenario), run in virtual time, reported in
// the same results format so the two can be set side by side. No testbed, no root needed.
import { simulate, type SimResult } from '../sim/simulate.ts';
import { planPeers, toSimScenario } from '../scenarios/plan.ts';
import type { Scenario } from '../scenarios/scenario-file.ts';
import type { CpuSummary } from '../sim/cpu.ts';
import type { SimCpu, UplinkModel } from '../sim/scenario.ts';
import { summarize, type PeerResult, type SystemResult } from './results.ts';

/**
 * `cpu`: the peers share its cores at its costs (the testbed machine's, by default in `slurpie
 * experiment`); null: infinite CPU. `seed`: the protocol's and the network's draws (default the
 * scenario's); the peers, their links and arrivals stay the scenario's plan whatever it is, so
 * `--runs N` samples the simulator's own spread over the same crowd.
 */
export function runSimSystem(s: Scenario, tMinSeconds: number, timeLimitSeconds: number, cpu: SimCpu | null = null, uplink: UplinkModel = 'fifo', seed = s.seed): SystemResult {
  const { sim, approximations } = toSimScenario(s, cpu, uplink);
  const r = simulate({ ...sim, seed, maxSimSeconds: timeLimitSeconds });
  const planned = planPeers(s); // the order toSimScenario gave the links in

  const width = s.peers.count >= 100 ? 3 : 2;
  const perPeer: PeerResult[] = r.peers.map((p) => ({
    id: `p${String(p.index + 1).padStart(width, '0')}`,
    linkClass: planned[p.index]?.linkClass ?? null,
    arrivalSeconds: p.arrivedMs / 1000,
    seconds: p.seconds,
    ownSeconds: p.seconds,
    fromSource: p.stats?.fromSource ?? null,
    fromPeers: p.stats?.fromPeers ?? null,
    uploaded: p.stats?.uploaded ?? null,
    maxRssBytes: null,
    ...(p.stats && { messages: p.messages, refusedBusy: p.stats.refusedBusy }),
    ...(p.stats && { progressSeconds: p.stats.tenthsAtMs.map((ms) => Math.round(ms - p.arrivedMs) / 1000) }),
    ok: p.seconds !== null,
    left: p.seconds === null && p.leftMs !== null, // churn: stopped at its planned time
    ...(p.seconds === null && { error: p.leftMs !== null ? 'left early (churn)' : (r.problem ?? 'did not finish in the simulated time limit') }),
  }));
  return {
    ...summarize({
      system: 'sim',
      stopped: r.outcome === 'timeout',
      timeLimitSeconds,
      wallSeconds: r.simSeconds, // virtual seconds, as the testbed's are wall seconds
      sourceBytes: r.sourceBytes,
      peakSourceGets: r.peakSourceRuns,
      fileBytes: s.fileBytes,
      tMinSeconds,
      perPeer,
    }),
    approximations: r.cpu ? [...approximations, cpuUsed(r.cpu)] : approximations,
    machineWallSeconds: r.wallMs / 1000,
    ...(r.cpu && { simCpu: { busySeconds: r.cpu.busySeconds, started: startedPeers(r) } }),
    simSeed: seed,
  };
}

/** Peers whose process started (each paid the start-up's CPU). */
function startedPeers(r: SimResult): number {
  return r.peers.filter((p) => p.stats !== null).length;
}

// What the CPU model charged, to set beside the testbed's per-peer cpuSeconds and startupSeconds.
function cpuUsed(cpu: CpuSummary): string {
  return `CPU used in the simulation: ${cpu.busySeconds.toFixed(1)} CPU-s for all peers (${cpu.wakes} wake-ups of an idle process${cpu.reads ? `, ${cpu.reads} of them to read part of a message still arriving` : ''}, in ${cpu.jobs} jobs), ${cpu.waitSeconds.toFixed(0)} s waiting for a core beyond that; launch to registering ${cpu.startupDelay.p50.toFixed(2)} s at the median ` +
    `(max ${cpu.startupDelay.max.toFixed(2)} s); up to ${cpu.peakRunnable} processes wanting a core at once`;
}

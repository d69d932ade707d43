// `slurpie experiment`: one scenario, several systems, one after the other in the same namespace
// testbed (netns.ts) with the same file; fresh source counters and fresh peers for each system.
// Everything started is killed by PID and the testbed removed at the end, on error and on abort.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { announced, killChild, peakRss, spawnSlurpie, type Child } from '../swarm/processes.ts';
import { asService, SERVICE_NICE } from './service-priority.ts';
import { exists, lastLine, plainCli, sourceStats } from '../swarm/run-swarm.ts';
import { writeTestFile } from '../swarm/test-file.ts';
import { planPeers, tMinSeconds, type PeerPlan } from '../scenarios/plan.ts';
import type { Scenario } from '../scenarios/scenario-file.ts';
import type { PeerParams } from '../../peer/core/params.ts';
import type { SimCpu, UplinkModel } from '../sim/scenario.ts';
import { LaunchGate, reniceAll, STARTUP_NICE } from './launch-gate.ts';
import { createTestbed, removeRun, type HostSpec, type Testbed } from './netns.ts';
import { latencyNotes, sourceLatencyEnv } from './latency.ts';
import { claimRun, releaseRun } from './runs.ts';
import { testbedSystems, type SystemName } from './system-names.ts';
import { runSimSystem } from './sim-system.ts';
import { SourceLinkSampler } from './source-link.ts';
import { SYSTEM_DEFS, type PeerReport, type RunContext } from './systems.ts';
import { machineCpuBetween, machineInfo, readCpuTimes } from './machine.ts';
import { median } from './median.ts';
import { probeCpuMs, probeMedianMs } from './speed-probe.ts';
import { simAtRunCpu } from './sim-at-run-cpu.ts';
import { round, summarize, type ExperimentResults, type PeerResult, type SystemResult } from './results.ts';

export interface ExperimentOptions {
  scenario: Scenario;
  systems: SystemName[];
  dir: string; // scratch: the file, the peers' copies (removed per system once verified)
  timeLimitSeconds?: number; // overrides the scenario's, for every system
  baselineTimeLimitSeconds?: number; // for http and BitTorrent only (they may never finish)
  signal?: AbortSignal; // SIGINT: stop, clean up, return what there is
  emulateLatency?: boolean; // default true: the scenario's latencyMs, per message (latency.ts)
  simUplink?: UplinkModel; // the sim system's uplink model (default fair: TCP connections share a shaped link)
  simSeed?: number; // the sim system's protocol seed (default the scenario's); the peers' plan stays the scenario's
  peerEntry?: string; // slurpie's peers and topology server run this CLI build instead (before/after in one testbed)
  peerEntryB?: string; // every other slurpie peer runs this build: an A/B in one swarm, at the same time
  paramsB?: Partial<PeerParams>; // every other slurpie peer runs with these protocol parameters (the scenario's and --param-b's)
  simCpu?: SimCpu | null; // the sim system's peers share these cores at these costs (default null: infinite CPU; the CLI gives this machine's cores)
  simCpuOfRun?: boolean; // the sim system once more after the testbed, at the CPU its slurpie peers used (sim-at-run-cpu.ts)
  launchSlots?: number; // at most this many peers starting up at once, the others held in arrival order (launch-gate.ts); default 0: no limit
  log: (line: string) => void; // progress, a line per 5 s
}

const SOURCE_PORT = 8080;

type TestbedSystem = Exclude<SystemName, 'sim'>;

export async function runExperiment(o: ExperimentOptions): Promise<ExperimentResults> {
  const s = o.scenario;
  const peers = planPeers(s);
  const startedAt = new Date().toISOString();
  const machine = machineInfo(); // the load before the run, not after it
  const results: SystemResult[] = [];
  const limit = o.timeLimitSeconds ?? s.timeLimitSeconds;
  const limitOf = (name: SystemName): number => (name === 'slurpie' || name === 'sim' ? limit : (o.baselineTimeLimitSeconds ?? o.timeLimitSeconds ?? s.baselineTimeLimitSeconds ?? limit));
  const tMin = tMinSeconds(s, peers);
  const todo: TestbedSystem[] = [];
  for (const name of testbedSystems(o.systems)) {
    const why = await SYSTEM_DEFS[name].unavailable();
    if (why) results.push(skipped(name, why, limitOf(name)));
    else todo.push(name);
  }
  if (o.systems.includes('sim')) {
    o.log(`sim: simulating ${peers.length} peers in virtual time`);
    results.push(runSimSystem(s, tMin, limit, o.simCpu ?? null, o.simUplink ?? 'fair', o.simSeed));
  }
  if (todo.length > 0) results.push(...(await runInTestbed(o, todo, peers, limitOf)));
  const simIndex = results.findIndex((r) => r.system === 'sim');
  const testbedSlurpie = results.find((r) => r.system === 'slurpie' && !r.skipped);
  if (o.simCpuOfRun && simIndex >= 0 && testbedSlurpie && o.simCpu) {
    o.log('sim: again, at the CPU the testbed\'s peers used (--sim-cpu-of-run)');
    const atRunCpu = simAtRunCpu({ s, tMinSeconds: tMin, timeLimitSeconds: limit, cpu: o.simCpu, uplink: o.simUplink ?? 'fair', seed: o.simSeed ?? s.seed }, testbedSlurpie);
    if (atRunCpu) results[simIndex] = { ...(results[simIndex] as SystemResult), atRunCpu };
  }
  const order = (n: string): number => o.systems.indexOf(n as SystemName);
  results.sort((a, b) => order(a.system) - order(b.system));
  return {
    version: 1,
    scenario: s,
    startedAt,
    machine,
    fileBytes: s.fileBytes,
    peers: peers.length,
    tMinSeconds: tMin,
    approximations: todo.length > 0 ? testbedApproximations(s, peers, o.emulateLatency ?? true, o.launchSlots ?? 0) : [],
    ...(todo.length > 0 && { launchSlots: o.launchSlots ?? 0 }),
    ...(o.peerEntry !== undefined && todo.includes('slurpie') && { slurpieEntry: o.peerEntry }),
    ...(o.peerEntryB !== undefined && todo.includes('slurpie') && { slurpieEntryB: o.peerEntryB }),
    ...(o.paramsB !== undefined && todo.includes('slurpie') && { slurpieParamsB: o.paramsB }),
    systems: results,
  };
}

/** Builds the testbed, runs each system in it in turn, removes it whatever happens. */
async function runInTestbed(o: ExperimentOptions, todo: TestbedSystem[], peers: PeerPlan[], limitOf: (name: SystemName) => number): Promise<SystemResult[]> {
  const s = o.scenario;
  const results: SystemResult[] = [];
  await rm(o.dir, { recursive: true, force: true });
  await mkdir(o.dir, { recursive: true });
  const file = join(o.dir, 'file.bin');
  const sha256 = await writeTestFile(file, s.fileBytes, s.seed);
  const runId = await claimRun();
  const { entry, dispose } = await plainCli();
  try {
    const hosts: HostSpec[] = [
      { name: 'src', up: s.source.up, down: s.source.down },
      { name: 'topo' },
      ...peers.map((p) => ({ name: p.id, up: p.link.up, down: p.link.down })),
    ];
    o.log(`testbed ${runId}: ${hosts.length} namespaces on bridge slp-${runId}`);
    const testbed = await createTestbed(runId, hosts);
    for (const name of todo) {
      if (o.signal?.aborted) {
        results.push(skipped(name, 'interrupted before it started', limitOf(name)));
        continue;
      }
      results.push(await runSystem(name, { o, peers, testbed, file, sha256, entry, limit: limitOf(name) }));
    }
  } finally {
    await removeRun(runId);
    await releaseRun(runId);
    await dispose();
    await rm(file, { force: true });
  }
  return results;
}

interface Shared {
  o: ExperimentOptions;
  peers: PeerPlan[];
  testbed: Testbed;
  file: string;
  sha256: string;
  entry: string;
  limit: number;
}

interface Running {
  plan: PeerPlan;
  dir: string;
  child: Child | null;
  arrivedAt: number; // performance.now() at its planned arrival: its times count from here
  spawnedAt: number;
  spawnedAtEpoch: number; // Date.now() at spawn: peers report readyAt in these terms
  exit: { code: number | null; at: number } | null;
  left: boolean; // stopped by churn
  rss: number;
}

async function runSystem(name: TestbedSystem, x: Shared): Promise<SystemResult> {
  const { o, testbed } = x;
  const dir = join(o.dir, name);
  await mkdir(dir, { recursive: true });
  const children: Child[] = [];
  const track = (c: Child): Child => (children.push(c), c);
  const src = testbed.hosts.get('src');
  if (!src) throw new Error('the testbed has no source host');
  try {
    const emulateLatency = o.emulateLatency ?? true;
    const env = emulateLatency ? sourceLatencyEnv(testbed, o.scenario, x.peers) : {};
    const source = track(asService(spawnSlurpie(['serve', x.file, '--host', src.ip, '--port', String(SOURCE_PORT)], { entry: x.entry, netns: src.ns, env })));
    const sourceUrl = await announced(source, /^serving (\S+)/, 30_000);
    const statsUrl = new URL('/_stats', sourceUrl).toString();
    const ctx: RunContext = { testbed, scenario: o.scenario, dir, file: x.file, sha256: x.sha256, sourceUrl, cliEntry: x.entry, slurpieEntry: o.peerEntry ?? x.entry, ...(o.peerEntryB !== undefined && { slurpieEntryB: o.peerEntryB }), ...(o.paramsB !== undefined && { slurpieParamsB: o.paramsB }), track, emulateLatency, peers: x.peers };
    const plan = await SYSTEM_DEFS[name].prepare(ctx);
    const running: Running[] = x.peers.map((p) => ({ plan: p, dir: join(dir, p.id), child: null, arrivedAt: 0, spawnedAt: 0, spawnedAtEpoch: 0, exit: null, left: false, rss: 0 }));
    await Promise.all(running.map((r) => mkdir(r.dir, { recursive: true })));

    const link = new SourceLinkSampler(src.outer, o.scenario.source.up);
    await link.begin();
    const probeBeforeMs = probeMedianMs();
    const probes: number[] = [];
    const cpuAtLaunch = await readCpuTimes();
    const started = performance.now();
    const elapsed = (): number => (performance.now() - started) / 1000;
    let sourceBytes = 0;
    let peak = 0;
    let nextLine = 0;
    const deadline = started + x.limit * 1000;
    const done = (): boolean => running.every((r) => r.exit !== null);
    let launching = true;
    const launched = launchInTurn(running, new LaunchGate(o.launchSlots ?? 0), started, () => launching && performance.now() < deadline && !o.signal?.aborted, (r) => {
      const host = testbed.hosts.get(r.plan.id);
      if (!host) throw new Error(`the testbed has no host ${r.plan.id}`);
      r.child = track(plan.startPeer(r.plan, host, r.dir));
      r.spawnedAt = performance.now();
      r.spawnedAtEpoch = Date.now();
      void r.child.exited.then((e) => (r.exit = e));
      return r.child;
    });
    while (!done() && performance.now() < deadline && !o.signal?.aborted) {
      for (const r of running) {
        if (r.child && r.exit === null && r.plan.leaveAfterSeconds !== null && (performance.now() - r.spawnedAt) / 1000 >= r.plan.leaveAfterSeconds) {
          r.left = true;
          killChild(r.child, 'SIGTERM');
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      await Promise.all(running.map(async (r) => {
        if (r.child && r.exit === null) r.rss = Math.max(r.rss, await peakRss(r.child.pid));
      }));
      await link.sample(elapsed());
      const live = await sourceStats(statsUrl);
      if (live) {
        sourceBytes = live.bytesSent;
        peak = Math.max(peak, live.peakConcurrent);
      }
      if (elapsed() >= nextLine) {
        probes.push(probeCpuMs());
        nextLine = (Math.floor(elapsed() / 5) + 1) * 5; // a loaded machine's slow loop prints no backlog
        const finished = running.filter((r) => r.exit?.code === 0).length;
        o.log(`${name}: ${elapsed().toFixed(0)} s, finished ${finished}/${running.length}, source ${(sourceBytes / 1048576).toFixed(1)} MiB (${(sourceBytes / o.scenario.fileBytes).toFixed(2)} F)`);
      }
    }
    const wallSeconds = elapsed();
    const cores = machineCpuBetween(cpuAtLaunch, await readCpuTimes());
    const machineCpu = cores && { ...cores, probeBeforeMs: round(probeBeforeMs, 2), ...(probes.length > 0 && { probeDuringMs: round(median(probes), 2) }) };
    const stopped = !done();
    launching = false;
    await launched;
    // SIGTERM first: slurpie, WebTorrent and libtorrent peers then write what they got so far.
    for (const r of running) if (r.child && r.exit === null) killChild(r.child, 'SIGTERM');
    await Promise.race([Promise.all(running.map((r) => r.child?.exited)), new Promise((resolve) => setTimeout(resolve, 5000))]);
    for (const r of running) if (r.child && r.exit === null) killChild(r.child, 'SIGKILL');
    await Promise.all(running.map((r) => r.child?.exited));
    await link.sample(elapsed());
    const final = await sourceStats(statsUrl);
    if (final) {
      sourceBytes = final.bytesSent;
      peak = Math.max(peak, final.peakConcurrent);
    }

    const perPeer: PeerResult[] = [];
    for (const r of running) perPeer.push(await peerResult(r, plan.output(r.dir), await plan.report(r.plan, r.dir), x.sha256, started));
    await rm(dir, { recursive: true, force: true }); // 48 copies of the file per system add up
    const result = summarize({
      system: name,
      stopped,
      timeLimitSeconds: x.limit,
      wallSeconds,
      sourceBytes,
      peakSourceGets: peak,
      fileBytes: o.scenario.fileBytes,
      tMinSeconds: tMinSeconds(o.scenario, x.peers),
      perPeer,
      interrupted: o.signal?.aborted ?? false,
      sourceLink: link.result(),
      machineCpu,
    });
    return name === 'http' ? { ...result, analytic: httpAnalytic(o.scenario, x.peers) } : result;
  } finally {
    for (const c of children) killChild(c, 'SIGKILL');
    await Promise.all(children.map((c) => c.exited));
  }
}

async function peerResult(r: Running, output: string, rep: PeerReport, sha256: string, started: number): Promise<PeerResult> {
  const exitedOk = r.exit?.code === 0;
  const verified = exitedOk && (await exists(output)) && (await hashFile(output)) === sha256;
  // From its planned arrival (a wait in the launch gate counts) until the file was ready (a
  // slurpie peer then stays for its hand-over), else until exit.
  const launchDelayMs = r.child ? r.spawnedAt - r.arrivedAt : 0;
  const exitSeconds = verified && r.exit ? (r.exit.at - r.arrivedAt) / 1000 : null;
  const seconds = exitSeconds !== null && rep.readyAt !== undefined ? Math.min(exitSeconds, (rep.readyAt - r.spawnedAtEpoch + launchDelayMs) / 1000) : exitSeconds;
  let error: string | undefined;
  if (!verified) {
    if (r.child === null) error = 'not started before the time limit';
    else if (r.left) error = 'left early (churn)';
    else if (r.exit === null || r.exit.code === null) error = 'stopped at the time limit';
    else if (!exitedOk) error = rep.error ?? (lastLine(r.child.stderr()) || `exit ${r.exit.code}`);
    else error = 'the copy does not match the source';
  }
  return {
    id: r.plan.id,
    linkClass: r.plan.linkClass,
    arrivalSeconds: r.child ? (r.arrivedAt - started) / 1000 : r.plan.arrivalSeconds,
    ...(r.child && { launchDelaySeconds: launchDelayMs / 1000 }),
    seconds,
    exitSeconds,
    ownSeconds: rep.ownSeconds,
    fromSource: rep.fromSource,
    fromPeers: rep.fromPeers,
    uploaded: rep.uploaded,
    maxRssBytes: Math.max(r.rss, rep.maxRssBytes ?? 0) || null,
    ...(rep.cpuSeconds !== undefined && { cpuSeconds: rep.cpuSeconds }),
    ...(rep.startupSeconds !== undefined && { startupSeconds: rep.startupSeconds }),
    ...(rep.startupCpuSeconds !== undefined && { startupCpuSeconds: rep.startupCpuSeconds }),
    ...(rep.messages !== undefined && { messages: rep.messages }),
    ...(rep.secondsStretched !== undefined && { secondsStretched: rep.secondsStretched }),
    ...(rep.refusedBusy !== undefined && { refusedBusy: rep.refusedBusy }),
    // From its arrival, as `seconds`: the launch gate's hold and the process's start-up first.
    ...(rep.progressSeconds !== undefined && rep.startupSeconds !== undefined && { progressSeconds: rep.progressSeconds.map((s) => Math.round(launchDelayMs + 1000 * ((rep.startupSeconds as number) + s)) / 1000) }),
    ...(rep.mainThreadSwitches !== undefined && { mainThreadSwitches: rep.mainThreadSwitches }),
    ...(rep.build !== undefined && { build: rep.build }),
    ok: verified,
    left: r.left,
    ...(error !== undefined && { error }),
  };
}

/**
 * Starts each peer at its planned arrival, or later if the gate is full, in arrival order;
 * polls every 20 ms (a start-up alone takes ~150 ms) while `go()` holds and peers are left.
 */
async function launchInTurn(running: Running[], gate: LaunchGate, started: number, go: () => boolean, start: (r: Running) => Child): Promise<void> {
  const queue = [...running].sort((a, b) => a.plan.arrivalSeconds - b.plan.arrivalSeconds);
  for (const r of queue) r.arrivedAt = started + r.plan.arrivalSeconds * 1000;
  // The launcher itself must not wait behind the running peers for its turn to launch the next
  // (with the gate, behind the start-ups either): a peer launched late is charged the delay.
  const own = getPriority();
  reniceAll(process.pid, gate.slots > 0 ? STARTUP_NICE : SERVICE_NICE);
  try {
    let next = 0;
    while (next < queue.length && go()) {
      await gate.poll(performance.now());
      for (let r = queue[next]; r !== undefined && gate.free() > 0 && performance.now() >= r.arrivedAt; r = queue[++next]) {
        const child = start(r);
        // Set before it has threads of its own (they inherit it); without the gate, back to the
        // launcher's own priority, which a child would otherwise inherit from it.
        reniceAll(child.pid, gate.slots > 0 ? STARTUP_NICE : own);
        if (gate.slots === 0) continue;
        gate.add({ pid: child.pid, since: r.spawnedAt, exited: () => r.exit !== null, started: () => reniceAll(child.pid, own) });
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    reniceAll(process.pid, own);
  }
}

function skipped(system: TestbedSystem, reason: string, limit: number): SystemResult {
  return summarize({ system, stopped: false, timeLimitSeconds: limit, wallSeconds: 0, sourceBytes: 0, peakSourceGets: null, fileBytes: 1, tMinSeconds: 1, perPeer: [], skipped: reason });
}

/**
 * Plain HTTP in a flash crowd, worked out rather than waited for: N GETs share the source's
 * uplink fairly (no peer's downlink slower than its share), so all finish together at N·F/u_s.
 */
function httpAnalytic(s: Scenario, peers: PeerPlan[]): SystemResult['analytic'] {
  const share = s.source.up / peers.length;
  if (s.arrivals.kind !== 'flash' || s.churn || peers.some((p) => p.link.down < share)) return null;
  const seconds = (peers.length * s.fileBytes) / s.source.up;
  return { meanSeconds: seconds, meanRatio: seconds / tMinSeconds(s, peers), sourceRatio: peers.length, note: 'flash crowd, fair share of the source link: every GET ends at N·F/u_s' };
}

/** What the namespace testbed could not reproduce of this scenario (see netns.ts). */
function testbedApproximations(s: Scenario, peers: PeerPlan[], emulateLatency: boolean, launchSlots: number): string[] {
  const notes = latencyNotes(s, peers, emulateLatency);
  notes.push('CPU is shared: every host runs on this machine\'s cores (the source, topology server and tracker at nice -10, as if on machines of their own; TCP receive buffers start at 1 MiB, so a receiver waiting for a core does not hold its sender back by its window)');
  notes.push(launchSlots > 0
    ? `start-ups: at most ${launchSlots} ${launchSlots === 1 ? 'peer' : 'peers'} starting at once, the others held in arrival order, each ahead of the running peers until its first connection (--launch-slots, launch-gate.ts); every peer's time counts from its planned arrival, its wait included (launchDelaySeconds)`
    : 'start-ups: every peer launched at its arrival (--launch-slots 0), those arriving together sharing the cores');
  if (s.churn) notes.push('churn: a leaving peer is stopped with SIGTERM (slurpie and WebTorrent leave cleanly; curl and libtorrent just stop)');
  const capped = peers.filter((p) => p.link.downloadLimit !== undefined).length;
  if (capped > 0) notes.push(`download limits: ${capped} ${capped === 1 ? 'peer runs' : 'peers run'} slurpie with --download-limit, curl with --limit-rate, WebTorrent with downloadLimit and libtorrent with the torrent's download limit`);
  return notes;
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

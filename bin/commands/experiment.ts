// `slurpie experiment SCENARIO`: run a scenario in the network-namespace testbed for each system
// (slurpie, plain HTTP, BitTorrent), write the results JSON and a markdown table.
// `slurpie experiment --cleanup`: remove what a crashed run left behind.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { Scenario } from '../../experiments/scenarios/scenario-file.ts';
import { checkParamOverrides, type PeerParams } from '../../peer/core/params.ts';
import { MEASURED_EVENT_MS, DEFAULT_READ_BYTES, FITTED_WAKE_MS, MEASURED_MIB_MS, MEASURED_STARTUP_MS } from '../../experiments/sim/cpu-model.ts';
import { UPLINK_MODELS, type UplinkModel } from '../../experiments/sim/scenario.ts';
import type { ExperimentResults } from '../../experiments/testbed/results.ts';
import { parseSystems, testbedSystems } from '../../experiments/testbed/system-names.ts';
import { parseParamFlags } from '../protocol-params.ts';
import { usageText } from '../usage-text.ts';

interface ExperimentArgs {
  scenario?: string;
  systems: string;
  out: string;
  timeLimit?: number;
  baselineTimeLimit?: number;
  dir: string;
  cleanup: boolean;
  latency: boolean;
  hosts?: string;
  bind?: string;
  launchSlots: number;
  simCpuCores: number;
  simCpuStartupMs: number;
  simCpuEventMs: number;
  simCpuWakeMs: number;
  simCpuReadBytes: number;
  simCpuMibMs: number;
  simUplink: UplinkModel;
  simCpuOfRun: boolean;
  runs: number;
  peerEntry?: string;
  peerEntryB?: string;
  param?: string | string[];
  paramB?: string | string[];
}

function fail(msg: string): never {
  process.stderr.write(`slurpie experiment: ${msg} (see slurpie experiment --help)\n`);
  process.exit(2);
}

export const experimentCommand: CommandModule<object, ExperimentArgs> = {
  command: 'experiment [scenario]',
  describe: 'run a scenario in a network-namespace testbed for slurpie, plain HTTP and BitTorrent, and write the results (root)',
  builder: (y: Argv) =>
    y
      .usage(
        '$0 experiment SCENARIO [options]\n$0 experiment --cleanup\n\n' +
          'Build a testbed of Linux network namespaces (one per host: the source, the topology server,\n' +
          'each peer) on a bridge, each link shaped with tc tbf as the scenario says, and run each\n' +
          'system in it in turn with the same file: fresh peers, a fresh source. No netem here, so\n' +
          'latency is emulated per message: a slurpie peer holds each message it receives for the\n' +
          'one-way latency between the two hosts, the source answers each request one round trip late\n' +
          '(not TCP\'s own round trips, loss or jitter; experiments/testbed/latency.ts). A system still\n' +
          'running at the time limit is stopped and reported. The sim system models this machine\'s\n' +
          'CPU, which the testbed\'s hosts share (--sim-cpu-cores).\n' +
          'Writes OUT/<scenario>-<time>.json (per peer: time, bytes from the source, memory) and .md\n' +
          '(the table); with --runs N, N of them and OUT/<scenario>-<time>-runs.md (each system\'s median\n' +
          'and range). Progress on stderr every 5 s. Needs root (but for --systems sim). Ctrl-C stops\nand cleans up.\n\n' +
          'SCENARIO is a name in experiments/scenarios (lan-48, lan-12, planetlab-55, planetlab-24, mixed-16, tiny-4, tiny-capped) or a .json file.\n\n' +
          'With --hosts FILE --bind ADDR the peers run on real machines over ssh instead (slurpie\n' +
          'only; their own links, nothing shaped; no root needed): the source and topology server\n' +
          'listen here on ADDR, and each peer is `slurpie get` on the next host with a free slot at\n' +
          'its planned arrival. FILE: one host per line, [user@]host[:port] [slots=N] [dir=PATH]\n' +
          '[slurpie=CMD] [key=PATH] (experiments/launcher/hosts.ts).',
      )
      .positional('scenario', { type: 'string', describe: 'scenario name or .json file' })
      .option('systems', { type: 'string', default: 'slurpie,http,bittorrent,sim', describe: 'comma-separated: slurpie, http, webtorrent, libtorrent, sim (the simulator on the same scenario, seconds); bittorrent = both clients' })
      .option('out', { type: 'string', default: '.', describe: 'directory for the results JSON and table' })
      .option('time-limit', { type: 'number', describe: 'seconds per system before it is stopped (default: the scenario\'s timeLimitSeconds)' })
      .option('baseline-time-limit', { type: 'number', describe: 'seconds for http and BitTorrent only (default: the scenario\'s baselineTimeLimitSeconds, else --time-limit): plain HTTP takes N·F/u_s, so cap it and keep slurpie\'s limit' })
      .option('dir', { type: 'string', default: join(tmpdir(), 'slurpie-experiment'), describe: 'scratch directory (emptied first; peers\' copies are removed once verified)' })
      .option('hosts', { type: 'string', requiresArg: true, describe: 'run the peers on the hosts listed in this file, over ssh (see above)' })
      .option('bind', { type: 'string', requiresArg: true, describe: 'with --hosts: the address of this machine the hosts reach the source and topology server at' })
      .option('latency', { type: 'boolean', default: true, describe: 'emulate the scenario\'s latencyMs per message (--no-latency: hosts ~0.05 ms apart)' })
      .option('launch-slots', {
        type: 'number', default: 0,
        describe: "at most this many peers starting up at once, later ones held in arrival order and each run ahead of the running peers until its first connection, as on hosts with CPUs of their own (e.g. this machine's cores); a peer's time counts from its arrival, its wait included. The sim system's launcher does the same. 0 (the default): every peer at its arrival",
      })
      .option('sim-cpu-cores', {
        type: 'number', default: availableParallelism(),
        describe: "sim: the simulated peers share this many cores, as the testbed's peer processes share this machine's (default: its cores; 0: infinite CPU)",
      })
      // This machine's speed varies from day to day (sha256sum of 256 MiB: 0.77 to 1.6 CPU-s):
      // costs measured on the day (npm run bench:peer-cost, bench:message-cost) can replace the defaults.
      .option('sim-cpu-startup-ms', { type: 'number', default: MEASURED_STARTUP_MS, describe: 'sim: CPU-ms a peer spends starting (default: measured once, experiments/sim/cpu-model.ts; npm run bench:peer-cost measures it today)' })
      .option('sim-cpu-event-ms', { type: 'number', default: MEASURED_EVENT_MS, describe: 'sim: CPU-ms per message received or sent and per tick (npm run bench:message-cost)' })
      .option('sim-cpu-wake-ms', { type: 'number', default: FITTED_WAKE_MS, describe: 'sim: CPU-ms more per wake-up, an event that finds its process idle (fitted: experiments/sim/cpu-model.ts)' })
      .option('sim-cpu-of-run', { type: 'boolean', default: false, describe: "with --systems slurpie,sim: simulate once more after the testbed, at the CPU its slurpie peers used (their median start-up; the other costs scaled until the simulated peers use as much): a line under the table (experiments/testbed/sim-at-run-cpu.ts)" })
      .option('sim-cpu-read-bytes', { type: 'number', default: DEFAULT_READ_BYTES, describe: 'sim: an idle peer wakes to read each time this many more bytes of a message still arriving have come; 0, the default: only whole messages (experiments/sim/cpu-model.ts)' })
      .option('sim-cpu-mib-ms', { type: 'number', default: MEASURED_MIB_MS, describe: 'sim: CPU-ms per MiB of blocks moved (npm run bench:peer-cost)' })
      .option('sim-uplink', {
        type: 'string', choices: [...UPLINK_MODELS], default: 'fair',
        describe: "sim: a peer's uplink shared fairly by its connections, as TCP shares the testbed's shaped links (the default), or one FIFO (slurpie sim --uplink)",
      })
      .option('runs', {
        type: 'number', default: 1,
        describe: 'run the scenario this many times in a row: a results file for each, then one table of each system\'s median and range over them (OUT/<scenario>-<time>-runs.md) and the plots of the median run; the sim system\'s run i takes the scenario\'s seed + i - 1, the same crowd',
      })
      .option('peer-entry', {
        type: 'string',
        requiresArg: true,
        describe: 'slurpie\'s peers and topology server run this CLI build (a bundled cli.mjs, e.g. an older commit\'s) instead of this one: before and after in the same testbed; the source and the other systems are unchanged',
      })
      .option('peer-entry-b', {
        type: 'string',
        requiresArg: true,
        describe: 'every other slurpie peer runs this build instead (the builds must speak the same protocol): an A/B in one swarm, at the same time on the same machine, so the machine\'s drift cancels; the table gives each half\'s CPU per MiB',
      })
      .option('param', {
        type: 'string',
        requiresArg: true,
        describe: 'NAME=VALUE: a protocol parameter (peer/core/params.ts) for every slurpie peer and the sim, e.g. updateIntervalMs=1000; repeatable; added to the scenario\'s own "params" and named in the results',
      })
      .option('param-b', {
        type: 'string',
        requiresArg: true,
        describe: 'NAME=VALUE: every other slurpie peer (build b) runs with this protocol parameter too (repeatable): an A/B of parameters in one swarm, as --peer-entry-b is of builds',
      })
      .option('cleanup', { type: 'boolean', default: false, describe: 'remove every slp-* namespace and bridge left by a crashed run (live runs are kept), then exit' })
      .check((a) => {
        if (a.cleanup) return true;
        if (a.scenario === undefined || a.scenario === '') throw new Error('a scenario is needed (e.g. lan-48), got nothing');
        parseSystems(String(a.systems));
        for (const [flag, v] of [['--time-limit', a.timeLimit], ['--baseline-time-limit', a.baselineTimeLimit]] as const) {
          if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new Error(`${flag} must be a positive number of seconds, got ${v}`);
        }
        const slots = a.launchSlots as number;
        if (!(Number.isInteger(slots) && slots >= 0 && slots <= 4096)) throw new Error(`--launch-slots must be an integer from 0 to 4096, got ${slots}`);
        const cores = a.simCpuCores as number;
        if (!(Number.isFinite(cores) && cores >= 0 && cores <= 4096)) throw new Error(`--sim-cpu-cores must be a number from 0 to 4096, got ${cores}`);
        for (const [flag, v] of [['--sim-cpu-startup-ms', a.simCpuStartupMs], ['--sim-cpu-event-ms', a.simCpuEventMs], ['--sim-cpu-wake-ms', a.simCpuWakeMs], ['--sim-cpu-mib-ms', a.simCpuMibMs]] as const) {
          if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 60_000)) throw new Error(`${flag} must be a number of CPU-ms from 0 to 60000, got ${v}`);
        }
        if (a.simCpuOfRun) {
          const systems = parseSystems(String(a.systems));
          if (!systems.includes('slurpie') || !systems.includes('sim') || a.hosts !== undefined) throw new Error('--sim-cpu-of-run needs --systems with both slurpie and sim, in the testbed');
          if (cores === 0) throw new Error('--sim-cpu-of-run needs the CPU model (--sim-cpu-cores above 0)');
        }
        const readBytes = a.simCpuReadBytes as number;
        if (!(Number.isFinite(readBytes) && readBytes >= 0)) throw new Error(`--sim-cpu-read-bytes must be a non-negative number of bytes, got ${readBytes}`);
        const runs = a.runs as number;
        if (!(Number.isInteger(runs) && runs >= 1 && runs <= 100)) throw new Error(`--runs must be an integer from 1 to 100, got ${runs}`);
        if (String(a.out).trim() === '') throw new Error('--out needs a directory, got nothing');
        if ((a.hosts === undefined) !== (a.bind === undefined)) throw new Error(`--hosts and --bind go together, got ${a.hosts === undefined ? '--bind' : '--hosts'} alone`);
        for (const [flag, v] of [['--peer-entry', a.peerEntry], ['--peer-entry-b', a.peerEntryB]] as const) {
          if (v === undefined) continue;
          if (a.hosts !== undefined) throw new Error(`${flag} is for the testbed; with --hosts each host runs the slurpie its hosts file names (slurpie=CMD)`);
          if (!existsSync(String(v))) throw new Error(`${flag} ${v}: no such file`);
        }
        if (a.param !== undefined) parseParamFlags([a.param].flat());
        if (a.paramB !== undefined) {
          if (a.hosts !== undefined) throw new Error('--param-b is for the testbed; with --hosts, give every peer the same --param');
          parseParamFlags([a.paramB].flat(), '--param-b');
        }
        return true;
      })
      .fail((msg: string | undefined, err: Error | undefined) => fail(usageText(msg, err))) as unknown as Argv<ExperimentArgs>,
  handler: async (args: ArgumentsCamelCase<ExperimentArgs>) => {
    const { testbedUnavailable } = await import('../../experiments/testbed/netns.ts');
    if (args.cleanup) {
      const why = await testbedUnavailable();
      if (why) fail(why);
      const { cleanupStale } = await import('../../experiments/testbed/runs.ts');
      const r = await cleanupStale();
      process.stdout.write(`removed ${r.namespaces.length} namespaces and ${r.links.length} links of ${r.runs.length} stale runs${r.killed.length ? `, killed ${r.killed.length} processes left in them` : ''}\n`);
      return;
    }
    const { loadScenario, ScenarioError } = await import('../../experiments/scenarios/scenario-file.ts');
    let scenario;
    try {
      scenario = await loadScenario(args.scenario as string);
    } catch (err) {
      if (err instanceof ScenarioError) fail(err.message);
      throw err;
    }
    if (args.param !== undefined) scenario = withParams(scenario, parseParamFlags([args.param].flat()));
    const paramsB = args.paramB === undefined ? undefined : withParams(scenario, parseParamFlags([args.paramB].flat(), '--param-b'), '--param-b').params;
    if (args.hosts !== undefined) return runHosts(args, scenario);
    const systems = parseSystems(args.systems);
    if (testbedSystems(systems).length > 0) {
      const why = await testbedUnavailable();
      if (why) fail(why);
    }

    const controller = new AbortController();
    const interrupt = (): void => {
      if (controller.signal.aborted) return;
      process.stderr.write('slurpie experiment: interrupted: stopping the peers and removing the testbed\n');
      controller.abort();
    };
    process.on('SIGINT', interrupt);
    process.on('SIGTERM', interrupt);
    const { runExperiment } = await import('../../experiments/testbed/run-experiment.ts');
    await repeatRuns(args, controller.signal, (run) =>
      runExperiment({
        scenario,
        systems,
        dir: args.dir,
        ...(args.timeLimit !== undefined && { timeLimitSeconds: args.timeLimit }),
        ...(args.baselineTimeLimit !== undefined && { baselineTimeLimitSeconds: args.baselineTimeLimit }),
        signal: controller.signal,
        emulateLatency: args.latency,
        simCpu: args.simCpuCores > 0 ? { cores: args.simCpuCores, startupMs: args.simCpuStartupMs, eventMs: args.simCpuEventMs, wakeMs: args.simCpuWakeMs, readBytes: args.simCpuReadBytes, mibMs: args.simCpuMibMs, ...(args.launchSlots > 0 && { launchSlots: args.launchSlots }) } : null,
        launchSlots: args.launchSlots,
        simUplink: args.simUplink,
        simCpuOfRun: args.simCpuOfRun,
        simSeed: scenario.seed + run - 1,
        ...(args.peerEntry !== undefined && { peerEntry: resolve(args.peerEntry) }),
        ...(args.peerEntryB !== undefined && { peerEntryB: resolve(args.peerEntryB) }),
        ...(paramsB !== undefined && { paramsB }),
        log,
      }),
    );
    if (controller.signal.aborted) process.exitCode = 130;
  },
};

const log = (line: string): void => void process.stderr.write(`slurpie experiment: ${line}\n`);

/** The scenario's params (--param's included) with `flag`'s over them, checked together (U >= eta, say). */
function withParams(scenario: Scenario, flags: Partial<PeerParams>, flag = '--param'): Scenario {
  try {
    return { ...scenario, params: checkParamOverrides({ ...scenario.params, ...flags }) };
  } catch (err) {
    return fail(`${flag} with the ${flag === '--param' ? "scenario's own params" : 'other peers\' params'}: ${(err as Error).message}`);
  }
}

/**
 * Runs `once` --runs times (fewer when interrupted), writing each run's results as it ends;
 * with more than one, then the table over them and the plots of the median run.
 */
async function repeatRuns(args: ExperimentArgs, signal: AbortSignal, once: (run: number) => Promise<ExperimentResults>): Promise<void> {
  const runs: ExperimentResults[] = [];
  const files: string[] = [];
  for (let i = 1; i <= args.runs && !signal.aborted; i++) {
    if (args.runs > 1) log(`run ${i} of ${args.runs}`);
    const results = await once(i);
    runs.push(results);
    files.push(await writeResults(args.out, results, args.runs === 1));
  }
  if (args.runs === 1 || runs.length === 0) return;
  const { summarizeRuns } = await import('../../experiments/testbed/repeated-runs.ts');
  const { markdown, medianRun } = summarizeRuns(runs, files);
  const path = `${stemOf(args.out, runs[0] as ExperimentResults)}-runs.md`;
  await writeFile(path, markdown);
  process.stdout.write(`${markdown}\nwrote ${path}\n`);
  await drawPlots(files[medianRun] as string, args.out);
}

/** Where a run's files go: OUT/<scenario>-<start time>, without characters file names dislike. */
function stemOf(out: string, results: ExperimentResults): string {
  return join(out, `${results.scenario.name}-${results.startedAt.replace(/[:.]/g, '-')}`);
}

/** Writes one run's JSON and table (and, if `plots`, its plots); the JSON's path. */
async function writeResults(out: string, results: ExperimentResults, plots = true): Promise<string> {
  const { markdownTable } = await import('../../experiments/testbed/results.ts');
  await mkdir(out, { recursive: true });
  const stem = stemOf(out, results);
  const table = markdownTable(results);
  await writeFile(`${stem}.json`, JSON.stringify(results, null, 2) + '\n');
  await writeFile(`${stem}.md`, table);
  process.stdout.write(`${table}\nwrote ${stem}.json and ${stem}.md\n`);
  if (plots) await drawPlots(`${stem}.json`, out);
  return `${stem}.json`;
}

/**
 * The plots a results file's data allows (the CDF per system; sim beside slurpie), as `slurpie
 * plot` draws them. A plot that fails costs only itself: the results are written already.
 */
async function drawPlots(json: string, out: string): Promise<void> {
  try {
    const { writePlots } = await import('../../experiments/plot/write-plots.ts');
    for (const file of await writePlots([json], out)) process.stdout.write(`wrote ${file}\n`);
  } catch (err) {
    process.stderr.write(`slurpie experiment: no plots: ${(err as Error).message} (the results are written; try slurpie plot ${json})\n`);
  }
}

// --hosts: the same scenario, peers on real machines over ssh (experiments/launcher).
async function runHosts(args: ExperimentArgs, scenario: Scenario): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const { parseHosts } = await import('../../experiments/launcher/hosts.ts');
  const { runOnHosts } = await import('../../experiments/launcher/run-hosts.ts');
  let hosts;
  try {
    hosts = parseHosts(await readFile(args.hosts as string, 'utf8'), args.hosts);
  } catch (err) {
    fail(`--hosts: ${(err as Error).message}`);
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  await mkdir(args.dir, { recursive: true });
  await repeatRuns(args, controller.signal, () =>
    runOnHosts({
      scenario, hosts, bind: args.bind as string, knownHosts: join(args.dir, 'known_hosts'),
      ...(args.timeLimit !== undefined && { timeLimitSeconds: args.timeLimit }),
      signal: controller.signal,
      log,
    }),
  );
  if (controller.signal.aborted) process.exitCode = 130;
}

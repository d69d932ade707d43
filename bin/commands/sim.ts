// `slurpie sim`: a swarm of unchanged peer cores in virtual time (experiments/sim), one seed.
import { writeFile } from 'node:fs/promises';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { simulate, type SimResult, type SimScenario } from '../../experiments/sim/simulate.ts';
import { DEFAULT_PARAMS, GROUP_SIZE_MODES, LAST_BLOCK_RULES, type GroupSizeMode, type LastBlockRule } from '../../peer/core/params.ts';
import { formatBytes, parseBytes } from '../units.ts';
import { UPLINK_MODELS, type UplinkModel } from '../../experiments/sim/scenario.ts';
import { describeCpu, MEASURED_EVENT_MS, DEFAULT_READ_BYTES, FITTED_WAKE_MS, MEASURED_MIB_MS, MEASURED_STARTUP_MS } from '../../experiments/sim/cpu-model.ts';
import { orphanCheck, rerunWith, wantedV8Flags } from './sim-v8-flags.ts';
import { describeParams, parseParamFlags } from '../protocol-params.ts';
import { usageText } from '../usage-text.ts';

interface SimArgs {
  peers: number;
  size: number;
  blockSize?: number;
  sourceRate: number;
  peerUp: number;
  peerDown: number;
  latencyMs: number;
  seed: number;
  spreadMs: number;
  lingerMs: number;
  maxSimSeconds?: number;
  stallMs: number;
  sourceK: number;
  backoff: boolean;
  groupSize: GroupSizeMode;
  answer: 'newest' | 'mixed';
  lastBlock: LastBlockRule;
  live: boolean;
  json?: string;
  cpuCores: number;
  launchSlots: number;
  uplink: UplinkModel;
  cpuStartupMs: number;
  cpuEventMs: number;
  cpuWakeMs: number;
  cpuReadBytes: number;
  cpuMibMs: number;
  param?: string | string[];
}

const bytes = (flag: string) => (v: unknown) => parseBytes(v, flag);

export const simCommand: CommandModule<object, SimArgs> = {
  command: 'sim',
  describe: 'simulate a swarm of peers in virtual time (deterministic for a seed) and report',
  builder: (y: Argv) =>
    y
      .usage('$0 sim [options]\n\nRun N unchanged peer cores against a simulated source, topology server and network in virtual time.\nRates are bytes per second (4MiB, 1.25MB, 1250000). The same seed gives the same run.\nCPU is infinite unless --cpu-cores N: then the peer processes share N cores (processor sharing, each\npeer doing its work in order, one thing at a time) at costs measured on the testbed machine, the wake-up fitted (experiments/sim/cpu-model.ts).\nIt runs in a node started with a larger heap (--max-semi-space-size: 64-1024 MiB by --peers, --max-old-space-size:\n75% of RAM) unless node was given heap flags already or SLURPIE_SIM_V8=0.')
      .option('peers', { type: 'number', default: 100, describe: 'number of peers' })
      .option('size', { type: 'string', default: '64MiB', coerce: bytes('size'), describe: 'file size' })
      .option('block-size', { type: 'string', coerce: bytes('block-size'), describe: 'block size (default: the protocol default, 256KiB)' })
      .option('source-rate', { type: 'string', default: '4MiB', coerce: bytes('source-rate'), describe: "the source's link, bytes/s, shared by its GETs" })
      .option('peer-up', { type: 'string', default: '10MiB', coerce: bytes('peer-up'), describe: "each peer's uplink, bytes/s" })
      .option('peer-down', { type: 'string', default: '10MiB', coerce: bytes('peer-down'), describe: "each peer's downlink, bytes/s" })
      .option('latency-ms', { type: 'number', default: 20, describe: 'one-way latency of every hop, ms' })
      .option('seed', { type: 'number', default: 1, describe: 'seed: the same seed replays the same run' })
      .option('spread-ms', { type: 'number', default: 0, describe: 'arrivals uniform over this many ms (0: flash crowd at t=0)' })
      .option('linger-ms', { type: 'number', default: 0, describe: 'a finished peer keeps serving this long' })
      .option('max-sim-seconds', { type: 'number', describe: 'virtual time limit (default: max(3600, 100 x the fluid bound))' })
      .option('stall-ms', { type: 'number', default: 60_000, describe: 'end the run as stalled when no block is stored anywhere this long (raise it for ablations meant to crawl, e.g. --no-backoff at 1,000 peers)' })
      .option('source-k', { type: 'number', default: DEFAULT_PARAMS.k, describe: 'k: a peer goes to the source with probability k/n each round (n: the group-size estimate)' })
      .option('backoff', { type: 'boolean', default: true, describe: 'random backoff at the source (--no-backoff: every round, for ablation)' })
      .option('group-size', { type: 'string', choices: [...GROUP_SIZE_MODES], default: 'topology', describe: "where n for k/n comes from: the topology server's count (gossiped), or the mesh: mean-hops, paper (ablations)" })
      .option('answer', { type: 'string', choices: ['mixed', 'newest'], default: 'mixed', describe: "the topology server's answers: half newest and half random, or the newest only (the paper's)" })
      .option('last-block', {
        type: 'string',
        choices: [...LAST_BLOCK_RULES],
        default: 'wait',
        describe: 'what a starving peer fetches from the source: blocks the swarm has only after waiting 6 rounds for them (wait), or any block no one in its view has (view: the paper\'s, ablation)',
      })
      .option('param', {
        type: 'string',
        requiresArg: true,
        describe: 'NAME=VALUE: any other protocol parameter of peer/core/params.ts, e.g. updateIntervalMs=1000 (repeatable; for studies and ablations)',
      })
      .option('cpu-cores', {
        type: 'number', default: 0,
        describe: "model the CPU: the peers' processes share this many cores, each peer's work serial, delaying what it does (0: infinite CPU, the default; the testbed's machine: its core count)",
      })
      .option('cpu-startup-ms', { type: 'number', default: MEASURED_STARTUP_MS, describe: 'with --cpu-cores: CPU-ms a peer spends starting, before it registers (measured: experiments/sim/cpu-model.ts)' })
      .option('cpu-event-ms', { type: 'number', default: MEASURED_EVENT_MS, describe: 'with --cpu-cores: CPU-ms per message received or sent and per tick (measured)' })
      .option('cpu-wake-ms', { type: 'number', default: FITTED_WAKE_MS, describe: 'with --cpu-cores: CPU-ms more per wake-up, an event that finds its process idle (fitted: experiments/sim/cpu-model.ts)' })
      .option('cpu-read-bytes', { type: 'number', default: DEFAULT_READ_BYTES, describe: 'with --cpu-cores: an idle peer wakes (--cpu-wake-ms) to read each time this many more bytes of a BLOCK or source response still arriving have come; 0, the default: only whole messages wake it (experiments/sim/cpu-model.ts)' })
      .option('launch-slots', { type: 'number', default: 0, describe: 'with --cpu-cores: at most N peers starting at once, later arrivals held in order (the testbed launcher\'s --launch-slots); 0: no limit' })
      .option('cpu-mib-ms', { type: 'number', default: MEASURED_MIB_MS, describe: 'with --cpu-cores: CPU-ms per MiB of blocks received or uploaded (measured)' })
      .option('uplink', {
        type: 'string', choices: [...UPLINK_MODELS], default: 'fifo',
        describe: "a peer's uplink: one FIFO for all its messages (the default), or shared fairly by its connections, each in order, control messages at once (experiments/sim/network.ts)",
      })
      .option('live', { type: 'boolean', default: true, describe: 'print progress on stderr every 10 virtual seconds (--no-live to hide)' })
      .option('json', { type: 'string', describe: 'also write the full result (per peer, timeline) as JSON to this file' })
      .check((raw) => {
        const a = raw as unknown as SimArgs;
        if (!Number.isInteger(a.peers) || a.peers < 1 || a.peers > 1_000_000) throw new Error(`--peers must be an integer from 1 to 1000000, got ${a.peers}`);
        if (!Number.isInteger(a.seed)) throw new Error(`--seed must be an integer, got ${a.seed}`);
        if (!(Number.isFinite(a.latencyMs) && a.latencyMs >= 0)) throw new Error(`--latency-ms must be a non-negative number, got ${a.latencyMs}`);
        if (!(Number.isFinite(a.spreadMs) && a.spreadMs >= 0)) throw new Error(`--spread-ms must be a non-negative number, got ${a.spreadMs}`);
        if (!(Number.isFinite(a.lingerMs) && a.lingerMs >= 0)) throw new Error(`--linger-ms must be a non-negative number, got ${a.lingerMs}`);
        if (!(Number.isFinite(a.cpuCores) && a.cpuCores >= 0 && a.cpuCores <= 4096)) throw new Error(`--cpu-cores must be a number from 0 to 4096, got ${a.cpuCores}`);
        if (!(Number.isInteger(a.launchSlots) && a.launchSlots >= 0 && a.launchSlots <= 4096)) throw new Error(`--launch-slots must be an integer from 0 to 4096, got ${a.launchSlots}`);
        for (const [flag, v] of [['--cpu-startup-ms', a.cpuStartupMs], ['--cpu-event-ms', a.cpuEventMs], ['--cpu-wake-ms', a.cpuWakeMs], ['--cpu-read-bytes', a.cpuReadBytes], ['--cpu-mib-ms', a.cpuMibMs]] as const) {
          if (!(Number.isFinite(v) && v >= 0)) throw new Error(`${flag} must be a non-negative number, got ${v}`);
        }
        const params = a.param === undefined ? {} : parseParamFlags([a.param].flat());
        if ('groupSize' in params || 'lastBlock' in params) throw new Error(`--param ${'groupSize' in params ? 'groupSize: use --group-size' : 'lastBlock: use --last-block'}`);
        if (!(Number.isFinite(a.sourceK) && a.sourceK > 0)) throw new Error(`--source-k must be a positive number, got ${a.sourceK}`);
        if (!(Number.isFinite(a.stallMs) && a.stallMs > 0)) throw new Error(`--stall-ms must be a positive number, got ${a.stallMs}`);
        if (a.maxSimSeconds !== undefined && !(Number.isFinite(a.maxSimSeconds) && a.maxSimSeconds > 0)) {
          throw new Error(`--max-sim-seconds must be a positive number, got ${a.maxSimSeconds}`);
        }
        return true;
      })
      // One line and exit 2 for a bad flag, whatever the root's failure handler does.
      .fail((msg: string | undefined, err: Error | undefined) => {
        process.stderr.write(`slurpie sim: ${usageText(msg, err)} (see slurpie sim --help)\n`);
        process.exit(2);
      }) as unknown as Argv<SimArgs>,
  handler: async (args: ArgumentsCamelCase<SimArgs>) => {
    // The flags were checked above; now run where the heap suits a simulation (sim-v8-flags.ts).
    const v8Flags = wantedV8Flags(args.peers);
    if (v8Flags.length > 0) {
      process.exitCode = await rerunWith(v8Flags);
      return;
    }
    const given = args.param === undefined ? {} : parseParamFlags([args.param].flat()); // checked above
    const scenario: SimScenario = {
      peers: args.peers,
      size: args.size,
      ...(args.blockSize !== undefined && { blockSize: args.blockSize }),
      sourceRate: args.sourceRate,
      peerUp: args.peerUp,
      peerDown: args.peerDown,
      latencyMs: args.latencyMs,
      seed: args.seed,
      arrivalSpreadMs: args.spreadMs,
      lingerMs: args.lingerMs,
      ...(args.maxSimSeconds !== undefined && { maxSimSeconds: args.maxSimSeconds }),
      stallMs: args.stallMs,
      answer: args.answer,
      params: { ...given, k: args.sourceK, backoff: args.backoff, groupSize: args.groupSize, lastBlock: args.lastBlock },
      uplink: args.uplink,
      ...(args.cpuCores > 0 && { cpu: { cores: args.cpuCores, startupMs: args.cpuStartupMs, eventMs: args.cpuEventMs, wakeMs: args.cpuWakeMs, readBytes: args.cpuReadBytes, mibMs: args.cpuMibMs, ...(args.launchSlots > 0 && { launchSlots: args.launchSlots }) } }),
    };
    process.stdout.write(`${describe(scenario)}\n`);
    const givenLine = describeParams(given);
    if (givenLine !== null) process.stdout.write(`protocol parameters given (--param): ${givenLine}\n`);
    const orphaned = orphanCheck();
    const result = simulate(scenario, {
      onSample: (s) => {
        orphaned();
        if (!args.live || s.t === 0 || s.t % 10 !== 0) return;
        process.stderr.write(`t=${s.t}s  done ${s.done}/${args.peers}  source ${(s.sourceBytes / args.size).toFixed(2)}x F, ${s.sourceRuns} GETs now\n`);
      },
    });
    process.stdout.write(`${summary(scenario, result)}\n`);
    if (args.json) await writeFile(args.json, JSON.stringify({ scenario, ...result }, null, 2) + '\n');
    if (result.outcome !== 'complete') process.exitCode = 1;
  },
};

function ms(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(x < 10 ? 1 : 0)} ms`;
}

function rate(r: number): string {
  return `${formatBytes(r)}/s (${((r * 8) / 1e6).toFixed(1)} Mb/s)`;
}

function describe(s: SimScenario): string {
  return `${s.peers} peers, ${formatBytes(s.size)} file, source ${rate(s.sourceRate)}, peers up ${rate(s.peerUp)} / down ${rate(s.peerDown)}, ` +
    `latency ${s.latencyMs} ms, ${s.arrivalSpreadMs ? `arrivals over ${s.arrivalSpreadMs} ms` : 'flash crowd'}, seed ${s.seed}` +
    (s.cpu ? `\n${describeCpu(s.cpu)}` : '');
}

export function summary(s: SimScenario, r: SimResult): string {
  const tails = r.peers.flatMap((p) => (p.tailSeconds === null ? [] : [p.tailSeconds]));
  const meanTail = tails.length ? tails.reduce((a, b) => a + b, 0) / tails.length : NaN;
  const lines = [
    `T_min = F/u_s = ${r.tMinSeconds.toFixed(1)} s (fluid bound with the peers' links: ${r.fluidBoundSeconds.toFixed(1)} s); ${r.blocks} blocks`,
    `completed ${r.completed}/${s.peers}: mean ${r.meanSeconds.toFixed(1)} s = ${r.meanRatio.toFixed(2)}x T_min, max ${r.maxSeconds.toFixed(1)} s = ${r.maxRatio.toFixed(2)}x T_min; ` +
      `last 5% of blocks took ${meanTail.toFixed(1)} s on average`,
    `source served ${r.sourceRatio.toFixed(2)}x F (${r.sourceDuplicateBlocks} blocks sent more than once) in ${r.sourceRuns} GETs, ` +
      `peak ${r.peakSourceRuns} at once (mean ${r.meanSourceRuns.toFixed(1)} while busy), busy ${(100 * r.sourceBusyFraction).toFixed(1)}% of the time`,
    `peers' uplinks busy ${(100 * r.peerUploadUtilization).toFixed(1)}% of their time; a REQUEST is answered in ${ms(r.requestLatencyMs.p50)} ` +
      `(p90 ${ms(r.requestLatencyMs.p90)}, max ${ms(r.requestLatencyMs.max)})`,
    `${r.events} events in ${(r.wallMs / 1000).toFixed(1)} s wall for ${r.simSeconds.toFixed(1)} s virtual ` +
      `(${Math.round(r.events / Math.max(r.wallMs / 1000, 1e-3))} events/s); peak RSS ${formatBytes(r.memory.peakRssBytes)}, heap ${formatBytes(r.memory.heapUsedBytes)} at the end`,
  ];
  const sc = r.scale;
  const e = sc.estimateError;
  lines.push(
    `group-size estimate / live peers: p10 ${e.p10.toFixed(2)}, p50 ${e.p50.toFixed(2)}, p90 ${e.p90.toFixed(2)} over ${e.samples} samples; ` +
      `UPDATE ${Math.round(sc.updateBytesPerPeerSecond)} B per peer per second, ${(100 * sc.updateShareOfBlocks).toFixed(2)}% of BLOCK bytes; ` +
      `${sc.registrations} registrations, peak ${sc.peakRegistrationsPerSecond}/s`,
  );
  if (sc.mesh) {
    const m = sc.mesh;
    lines.push(
      `mesh at t=${m.atSeconds.toFixed(0)} s: ${m.peers} peers, degree ${m.meanDegree.toFixed(1)}, diameter >= ${m.diameter} ` +
        `(log_{d-1} n = ${m.logDiameter.toFixed(1)}), mean distance ${m.meanDistance.toFixed(2)}${m.unreachable > 0 ? `, ${(100 * m.unreachable).toFixed(1)}% unreachable` : ''}`,
    );
  }
  if (r.cpu) {
    lines.push(`CPU: ${r.cpu.busySeconds.toFixed(1)} CPU-s used on ${r.cpu.cores} cores over ${r.cpu.jobs} events (${r.cpu.wakes} wake-ups of an idle process, ${r.cpu.reads} of them to read part of a message), up to ${r.cpu.peakRunnable} processes runnable at once; ` +
      `arrival to registering ${r.cpu.startupDelay.p50.toFixed(2)} s at the median (max ${r.cpu.startupDelay.max.toFixed(2)} s)`);
  }
  if (r.failed > 0) lines.push(`${r.failed} peers gave up`);
  if (r.spinTicks > 0) lines.push(`${r.spinTicks} ticks the core asked for again at once (its deadline did not move), first: ${r.spins[0]}`);
  if (r.anomalies.length > 0) lines.push(`driver checks failed:\n  ${r.anomalies.join('\n  ')}`);
  if (r.warningCount > 0) lines.push(`${r.warningCount} core warnings, first: ${r.warnings[0]}`);
  if (r.problem) lines.push(`${r.outcome.toUpperCase()}: ${r.problem}`);
  return lines.join('\n');
}

// The systems `slurpie experiment` compares, each as: the services it needs in the testbed (a
// topology server, a tracker), how to start one peer in its namespace, and how to read back
// what the peer says about itself. The source (`slurpie serve`) is the runner's, fresh per system.
import { execFile } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { paramFlags } from '../../bin/protocol-params.ts';
import { isThreadSwitches, type ThreadSwitches } from '../../bin/thread-switches.ts';
import { announced, spawnCommand, spawnSlurpie, type Child } from '../swarm/processes.ts';
import { asService } from './service-priority.ts';
import { PROJECT_ROOT } from '../swarm/project-root.ts';
import { exists, num, readJson } from '../swarm/run-swarm.ts';
import { isTenths } from './progress.ts';
import type { PeerPlan } from '../scenarios/plan.ts';
import type { Scenario } from '../scenarios/scenario-file.ts';
import type { PeerParams } from '../../peer/core/params.ts';
import type { RefusedBusy } from '../../peer/core/serving.ts';
import { isRefusedBusy } from './refusals.ts';
import type { MessageCounts } from '../../peer/node/message-counts.ts';
import { peerLatencyEnv } from './latency.ts';
import type { Host, Testbed } from './netns.ts';
import type { SystemName } from './system-names.ts';


export interface RunContext {
  testbed: Testbed;
  scenario: Scenario;
  dir: string; // this system's scratch directory
  file: string; // the served file
  sha256: string;
  sourceUrl: string;
  cliEntry: string; // the CLI to start (a plain-JS bundle)
  slurpieEntry: string; // the CLI slurpie's peers and topology server run: cliEntry, or --peer-entry's build
  slurpieEntryB?: string; // --peer-entry-b: every other slurpie peer (odd index) runs this build instead
  slurpieParamsB?: Partial<PeerParams>; // --param-b: ...and with these protocol parameters (the scenario's included)
  track: (c: Child) => Child; // every process started goes through here (killed by PID at the end)
  emulateLatency: boolean; // slurpie peers hold their messages (latency.ts)
  peers: PeerPlan[]; // every peer of the scenario (their hosts' latencies)
}

/** What a peer reports about itself (zeros / null where a system does not say). */
export interface PeerReport {
  ownSeconds: number | null;
  readyAt?: number; // Date.now() when its file was verified and in place, where the system says (slurpie: before its hand-over)
  fromSource: number | null;
  fromPeers: number | null;
  uploaded: number | null;
  maxRssBytes: number | null;
  cpuSeconds?: number;
  startupSeconds?: number;
  startupCpuSeconds?: number;
  build?: 'a' | 'b'; // with --peer-entry-b: which build this peer ran
  messages?: MessageCounts; // protocol messages by type (slurpie)
  secondsStretched?: number; // its periodic updates slowed, its host busy (slurpie: host load)
  refusedBusy?: RefusedBusy; // the REQUESTs it refused busy, by rule (slurpie)
  progressSeconds?: number[]; // from its download's start to holding each tenth of the file (slurpie)
  mainThreadSwitches?: ThreadSwitches; // its main thread's context switches (slurpie, on Linux)
  error?: string;
}

export interface SystemPlan {
  startPeer(peer: PeerPlan, host: Host, dir: string): Child;
  output(dir: string): string; // where the peer's copy of the file ends up
  report(peer: PeerPlan, dir: string): Promise<PeerReport>;
}

export interface SystemDef {
  name: Exclude<SystemName, 'sim'>;
  /** Why it cannot run here (checked before the testbed exists), or null. */
  unavailable(): Promise<string | null>;
  prepare(ctx: RunContext): Promise<SystemPlan>;
}

const PEERS_DIR = join(PROJECT_ROOT, 'experiments', 'testbed', 'peers');
const TOPOLOGY_PORT = 7070;
const TRACKER_PORT = 8000;
const FILE_NAME = 'file.bin';

/**
 * With --peer-entry-b or --param-b, which build a peer runs (its CLI and protocol parameters):
 * every other one by index, so arrivals and link classes split evenly.
 */
function buildOf(ctx: RunContext, peer: PeerPlan): { build: 'a' | 'b'; entry: string; params: Scenario['params'] } | null {
  if (ctx.slurpieEntryB === undefined && ctx.slurpieParamsB === undefined) return null;
  const a = { build: 'a' as const, entry: ctx.slurpieEntry, params: ctx.scenario.params };
  return peer.index % 2 === 1 ? { build: 'b', entry: ctx.slurpieEntryB ?? a.entry, params: ctx.slurpieParamsB ?? a.params } : a;
}

const slurpie: SystemDef = {
  name: 'slurpie',
  unavailable: async () => null,
  prepare: async (ctx) => {
    const topo = hostOf(ctx, 'topo');
    const server = ctx.track(asService(spawnSlurpie(['topology', '--host', topo.ip, '--port', String(TOPOLOGY_PORT)], { entry: ctx.slurpieEntry, netns: topo.ns })));
    const topologyUrl = await announced(server, /^listening on (\S+)/, 30_000);
    const block = ctx.scenario.blockBytes === undefined ? [] : ['--block-size', String(ctx.scenario.blockBytes)];
    return {
      startPeer: (peer, host, dir) => {
        const build = buildOf(ctx, peer);
        return spawnSlurpie([
          'get', ctx.sourceUrl, '-o', join(dir, FILE_NAME), '--topology', topologyUrl, '--host', host.ip, '--stats-json', join(dir, 'stats.json'),
          '--no-progress', '--sha256', ctx.sha256, '--seed', String(ctx.scenario.seed * 1000 + peer.index), ...block, ...paramFlags(build?.params ?? ctx.scenario.params),
          ...(peer.link.downloadLimit === undefined ? [] : ['--download-limit', String(peer.link.downloadLimit)]),
        ], { entry: build?.entry ?? ctx.slurpieEntry, netns: host.ns, env: ctx.emulateLatency ? peerLatencyEnv(peer, ctx.testbed, ctx.peers) : {} });
      },
      output: (dir) => join(dir, FILE_NAME),
      report: async (peer, dir) => {
        const s = await readJson(join(dir, 'stats.json'));
        const build = buildOf(ctx, peer)?.build;
        // Only counts as the CLI writes them: a peer that failed wrote none.
        const counts = (v: unknown): v is Record<string, number> => typeof v === 'object' && v !== null && Object.values(v).every((n) => typeof n === 'number');
        return {
          ...(build !== undefined && { build }),
          ownSeconds: typeof s?.seconds === 'number' ? s.seconds : null,
          ...(typeof s?.readyAt === 'number' && { readyAt: s.readyAt }),
          fromSource: num(s?.fromSource),
          fromPeers: num(s?.fromPeers),
          uploaded: num(s?.uploaded),
          maxRssBytes: num(s?.maxRssBytes) || null,
          ...(typeof s?.cpuSeconds === 'number' && { cpuSeconds: s.cpuSeconds }),
          ...(typeof s?.startupSeconds === 'number' && { startupSeconds: s.startupSeconds }),
          ...(typeof s?.startupCpuSeconds === 'number' && { startupCpuSeconds: s.startupCpuSeconds }),
          ...(counts(s?.messages?.sent) && counts(s?.messages?.received) && { messages: { sent: s.messages.sent, received: s.messages.received } }),
          ...(typeof s?.secondsStretched === 'number' && { secondsStretched: s.secondsStretched }),
          ...(isRefusedBusy(s?.refusedBusy) && { refusedBusy: s.refusedBusy }),
          ...(isTenths(s?.progressSeconds) && { progressSeconds: s.progressSeconds }),
          ...(isThreadSwitches(s?.mainThreadSwitches) && { mainThreadSwitches: s.mainThreadSwitches }),
          ...(typeof s?.error === 'string' && { error: s.error }),
        };
      },
    };
  },
};

const http: SystemDef = {
  name: 'http',
  unavailable: async () => ((await works('curl', ['--version'])) ? null : 'curl is not installed'),
  prepare: async (ctx) => ({
    startPeer: (peer, host, dir) => {
      const limit = peer.link.downloadLimit === undefined ? [] : ['--limit-rate', String(peer.link.downloadLimit)]; // the same user's cap
      return spawnCommand('curl', ['-s', '-S', '--fail', ...limit, '-o', join(dir, FILE_NAME), ctx.sourceUrl], { netns: host.ns });
    },
    output: (dir) => join(dir, FILE_NAME),
    // curl writes as it receives: the copy's size is what the source delivered, finished or not.
    report: async (_peer, dir) => ({ ownSeconds: null, fromSource: await sizeOf(join(dir, FILE_NAME)), fromPeers: 0, uploaded: 0, maxRssBytes: null }),
  }),
};

/** A BitTorrent client: the torrent names the origin as its web seed and the testbed's tracker. */
function bittorrent(name: 'webtorrent' | 'libtorrent', start: (torrent: string, dir: string, host: Host, limit: string[]) => Child, unavailable: () => Promise<string | null>): SystemDef {
  return {
    name,
    unavailable: async () => (await missingTorrentTools(name)) ?? (await unavailable()),
    prepare: async (ctx) => {
      const topo = hostOf(ctx, 'topo');
      const tracker = ctx.track(asService(spawnCommand(process.execPath, [join(PEERS_DIR, 'tracker.mjs'), topo.ip, String(TRACKER_PORT)], { netns: topo.ns }, 'tracker')));
      const announce = await announced(tracker, /^tracking (\S+)/, 30_000);
      const torrent = join(ctx.dir, `${FILE_NAME}.torrent`);
      await writeFile(torrent, await makeTorrent(ctx.file, ctx.sourceUrl, announce, ctx.scenario.blockBytes ?? 256 * 1024));
      return {
        // The same user's cap, as the peer script's last argument.
        startPeer: (peer, host, dir) => start(torrent, dir, host, peer.link.downloadLimit === undefined ? [] : [String(peer.link.downloadLimit)]),
        output: (dir) => join(dir, FILE_NAME),
        report: async (_peer, dir) => {
          const s = await readJson(join(dir, 'stats.json'));
          return {
            ownSeconds: typeof s?.seconds === 'number' ? s.seconds : null,
            fromSource: typeof s?.fromSource === 'number' ? s.fromSource : null,
            fromPeers: typeof s?.fromPeers === 'number' ? s.fromPeers : null,
            uploaded: typeof s?.uploaded === 'number' ? s.uploaded : null,
            maxRssBytes: num(s?.maxRssBytes) || null,
            ...(typeof s?.error === 'string' && { error: s.error }),
          };
        },
      };
    },
  };
}

const webtorrent = bittorrent(
  'webtorrent',
  (torrent, dir, host, limit) => spawnCommand(process.execPath, [join(PEERS_DIR, 'webtorrent-peer.mjs'), torrent, dir, join(dir, 'stats.json'), ...limit], { netns: host.ns }, 'webtorrent'),
  async () => {
    try {
      await import('webtorrent' as string);
      return null;
    } catch (err) {
      return `webtorrent does not load (${(err as Error).message.split('\n')[0]}); npm install installs it`;
    }
  },
);

/**
 * What every BitTorrent baseline needs besides its client: the tracker, the torrent maker and the
 * scripts in experiments/testbed/peers. The published package ships none of them (devDependencies
 * and experiments' sources), so there they are skipped with this note, not failed mid-run.
 */
async function missingTorrentTools(name: 'webtorrent' | 'libtorrent'): Promise<string | null> {
  const script = name === 'webtorrent' ? 'webtorrent-peer.mjs' : 'libtorrent-peer.py';
  for (const f of ['tracker.mjs', script]) {
    if (!(await exists(join(PEERS_DIR, f)))) return `${join('experiments', 'testbed', 'peers', f)} is not here: the BitTorrent baselines run from a clone of the repository`;
  }
  for (const m of ['create-torrent', 'bittorrent-tracker']) {
    try {
      await import(m as string);
    } catch {
      return `${m} does not load: the BitTorrent baselines run from a clone of the repository, after npm install`;
    }
  }
  return null;
}

const PYTHON = '/usr/bin/python3'; // Debian's, where python3-libtorrent installs (not a pyenv shim)
const libtorrent = bittorrent(
  'libtorrent',
  (torrent, dir, host, limit) => spawnCommand(PYTHON, [join(PEERS_DIR, 'libtorrent-peer.py'), torrent, dir, join(dir, 'stats.json'), ...limit], { netns: host.ns }, 'libtorrent'),
  async () => ((await works(PYTHON, ['-c', 'import libtorrent'])) ? null : 'python3-libtorrent is not installed (apt-get install python3-libtorrent)'),
);

export const SYSTEM_DEFS: Record<Exclude<SystemName, 'sim'>, SystemDef> = { slurpie, http, webtorrent, libtorrent };

/** A single-file torrent of `file` (named file.bin) with the origin as web seed (BEP 19 url-list); no tracker when `announce` is null. */
export async function makeTorrent(file: string, webSeed: string, announce: string | null, pieceLength: number): Promise<Buffer> {
  const { default: createTorrent } = (await import('create-torrent' as string)) as {
    default: (input: string, opts: object, cb: (err: Error | null, torrent: Buffer) => void) => void;
  };
  return new Promise((resolve, reject) => {
    createTorrent(file, { name: FILE_NAME, announceList: announce === null ? [] : [[announce]], urlList: [webSeed], pieceLength, private: false, createdBy: 'slurpie experiment' }, (err, t) =>
      err ? reject(err) : resolve(t),
    );
  });
}

function hostOf(ctx: RunContext, name: string): Host {
  const h = ctx.testbed.hosts.get(name);
  if (!h) throw new Error(`the testbed has no host ${name}`);
  return h;
}

async function works(cmd: string, args: string[]): Promise<boolean> {
  return promisify(execFile)(cmd, args).then(() => true, () => false);
}

async function sizeOf(path: string): Promise<number | null> {
  return stat(path).then((st) => st.size, () => null);
}

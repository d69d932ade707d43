// One flash crowd on loopback: a throttled source, a topology server and N `slurpie get`
// processes started at once. Used by `slurpie demo`, `npm run bench` and the swarm tests.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emptyScratchDir } from './scratch-dir.ts';
import { announced, killChild, peakRss, SLURPIE_BIN, spawnSlurpie, type Child } from './processes.ts';
import { writeTestFile } from './test-file.ts';

export interface SwarmScenario {
  peers: number;
  size: number; // bytes
  sourceRate: number; // bytes/s at the source
  seed: number;
  dir: string; // scratch directory (created; emptied first)
  getArgs?: string[]; // extra flags for every `slurpie get`
  timeoutMs?: number; // the whole swarm; peers still running then are killed
  onTick?: (live: LiveView) => void; // ~5 times a second
  onSpawn?: (child: Child) => void; // e.g. a test's teardown, to kill by PID whatever happens
}

export interface LiveView {
  seconds: number;
  sourceBytes: number;
  sourceConcurrent: number;
  done: number;
  failed: number;
  peers: number;
}

export interface PeerResult {
  peer: number;
  ok: boolean;
  exitCode: number | null;
  readySeconds: number; // from the crowd's launch to this peer's file verified and in place
  wallSeconds: number; // from the crowd's launch to this process's exit (after its hand-over)
  seconds: number | null; // the peer's own measure, from its start
  fromSource: number;
  fromPeers: number;
  uploaded: number;
  sourceRequests: number;
  groupSizeEstimate: number | null;
  peakRssBytes: number;
  verified: boolean; // output matches the source's sha256, no .part left
  error?: string;
}

export interface SwarmResult {
  peers: number;
  size: number;
  sourceRate: number;
  seed: number;
  tMinSeconds: number; // fluid lower bound F / u_s
  meanRatio: number; // mean wall completion (launch to file ready, process start-up included) / tMin
  maxRatio: number;
  meanExitRatio: number; // mean launch-to-exit / tMin: exit comes after the hand-over to the swarm
  meanOwnRatio: number; // mean of the peers' own `seconds` / tMin (no process start-up)
  sourceBytes: number;
  sourceRatio: number; // source bytes / F
  peakSourceConnections: number;
  peakRssBytes: number; // the largest peer
  allVerified: boolean;
  results: PeerResult[];
  sourceTimeline: { seconds: number; concurrent: number; bytesSent: number }[]; // sampled ~5/s
}

export async function runSwarm(s: SwarmScenario): Promise<SwarmResult> {
  await emptyScratchDir(s.dir); // its marker stays: `demo --dir` reruns on a directory it made
  await mkdir(join(s.dir, 'source'), { recursive: true });
  const file = join(s.dir, 'source', 'file.bin');
  const sha256 = await writeTestFile(file, s.size, s.seed);
  const { entry, dispose } = await plainCli();
  const children: Child[] = [];
  const track = (c: Child): Child => {
    children.push(c);
    s.onSpawn?.(c);
    return c;
  };
  const start = (args: string[]): Child => track(spawnSlurpie(args, { entry }));
  try {
    const source = start(['serve', file, '--rate', String(s.sourceRate), '--port', '0']);
    const topology = start(['topology', '--port', '0']);
    const url = await announced(source, /^serving (\S+)/);
    const topologyUrl = await announced(topology, /^listening on (\S+)/);
    const statsUrl = new URL('/_stats', url).toString();

    const started = performance.now();
    const launchedAt = Date.now(); // the peers' stats say when their file was ready in Date.now() terms
    const peers = Array.from({ length: s.peers }, (_, i) => {
      const dir = join(s.dir, `peer-${i}`);
      return { i, dir, output: join(dir, 'file.bin'), statsFile: join(dir, 'stats.json') };
    });
    await Promise.all(peers.map((p) => mkdir(p.dir, { recursive: true })));
    const running = peers.map((p) => {
      const child = start([
        'get', url, '-o', p.output, '--topology', topologyUrl, '--stats-json', p.statsFile, '--no-progress',
        '--sha256', sha256, '--seed', String(s.seed * 1000 + p.i), ...(s.getArgs ?? []),
      ]);
      return { ...p, child, rss: 0, exit: null as null | { code: number | null; at: number } };
    });
    for (const r of running) void r.child.exited.then((e) => (r.exit = e));

    let peakSource = 0;
    let sourceBytes = 0;
    const timeline: SwarmResult['sourceTimeline'] = [];
    const deadline = started + (s.timeoutMs ?? 600_000);
    while (running.some((r) => r.exit === null) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await Promise.all(running.map(async (r) => {
        if (r.exit === null) r.rss = Math.max(r.rss, await peakRss(r.child.pid));
      }));
      const live = await sourceStats(statsUrl);
      if (live) {
        peakSource = Math.max(peakSource, live.peakConcurrent, live.concurrent);
        sourceBytes = live.bytesSent;
        timeline.push({ seconds: (performance.now() - started) / 1000, concurrent: live.concurrent, bytesSent: live.bytesSent });
      }
      s.onTick?.({
        seconds: (performance.now() - started) / 1000,
        sourceBytes,
        sourceConcurrent: live?.concurrent ?? 0,
        done: running.filter((r) => r.exit?.code === 0).length,
        failed: running.filter((r) => r.exit !== null && r.exit.code !== 0).length,
        peers: s.peers,
      });
    }
    for (const r of running) if (r.exit === null) killChild(r.child, 'SIGKILL');
    const final = await sourceStats(statsUrl);
    if (final) {
      sourceBytes = final.bytesSent;
      peakSource = Math.max(peakSource, final.peakConcurrent);
    }

    const results: PeerResult[] = await Promise.all(running.map(async (r) => {
      const stats = await readJson(r.statsFile);
      const exit = r.exit ?? { code: null, at: performance.now() };
      const verified = exit.code === 0 && stats?.sha256 === sha256 && (await exists(r.output)) && !(await exists(`${r.output}.part`));
      const result: PeerResult = {
        peer: r.i,
        ok: exit.code === 0 && stats?.ok === true,
        exitCode: exit.code,
        readySeconds: typeof stats?.readyAt === 'number' && exit.code === 0 ? (stats.readyAt - launchedAt) / 1000 : (exit.at - started) / 1000,
        wallSeconds: (exit.at - started) / 1000,
        seconds: typeof stats?.seconds === 'number' ? stats.seconds : null,
        fromSource: num(stats?.fromSource),
        fromPeers: num(stats?.fromPeers),
        uploaded: num(stats?.uploaded),
        sourceRequests: num(stats?.sourceRequests),
        groupSizeEstimate: typeof stats?.groupSizeEstimate === 'number' ? stats.groupSizeEstimate : null,
        peakRssBytes: Math.max(r.rss, num(stats?.maxRssBytes)),
        verified: Boolean(verified),
      };
      if (exit.code !== 0) result.error = lastLine(r.child.stderr()) || `exit ${exit.code}`;
      return result;
    }));

    const tMin = s.size / s.sourceRate;
    const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
    return {
      peers: s.peers,
      size: s.size,
      sourceRate: s.sourceRate,
      seed: s.seed,
      tMinSeconds: tMin,
      meanRatio: mean(results.map((r) => r.readySeconds)) / tMin,
      maxRatio: Math.max(...results.map((r) => r.readySeconds)) / tMin,
      meanExitRatio: mean(results.map((r) => r.wallSeconds)) / tMin,
      meanOwnRatio: mean(results.map((r) => r.seconds ?? NaN)) / tMin,
      sourceBytes,
      sourceRatio: sourceBytes / s.size,
      peakSourceConnections: peakSource,
      peakRssBytes: Math.max(...results.map((r) => r.peakRssBytes)),
      allVerified: results.every((r) => r.verified),
      results,
      sourceTimeline: timeline,
    };
  } finally {
    for (const c of children) killChild(c, 'SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await dispose();
  }
}

// Running from TypeScript (tsx: tests, benchmarks, a checkout whose dev bundle is stale), every
// peer would pay for tsx's loader: bundle the CLI once for this run with esbuild, a
// devDependency. Running from a bundle (the dev bundle, or an installed package's dist/cli:
// its entry, cli.mjs, is beside this file), every peer runs that entry: the build this run
// started with, whatever is edited meanwhile, and without bin/slurpie.js's look at every
// source it came from (~180 files, ~7 ms of each peer's start-up CPU, issue #12). From tsc's
// build (dist/, no bundle beside it), bin/slurpie.js.
export async function plainCli(): Promise<{ entry: string; dispose: () => Promise<void> }> {
  if (!import.meta.url.endsWith('.ts')) {
    const bundleEntry = fileURLToPath(new URL('./cli.mjs', import.meta.url));
    return { entry: existsSync(bundleEntry) ? bundleEntry : SLURPIE_BIN, dispose: async () => {} };
  }
  // Not a literal, so that tsc leaves bundle.ts (and its esbuild import) out of dist/.
  const bundleModule: string = './bundle.ts';
  const { bundleCli, runBundleDir } = (await import(bundleModule)) as { bundleCli(outdir: string): Promise<string>; runBundleDir(): string };
  const entry = await bundleCli(runBundleDir());
  return { entry, dispose: () => rm(dirname(entry), { recursive: true, force: true }) };
}

export async function sourceStats(url: string): Promise<{ bytesSent: number; concurrent: number; peakConcurrent: number } | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as { bytesSent: number; concurrent: number; peakConcurrent: number };
  } catch {
    return null;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function readJson(path: string): Promise<any> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

export function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

export function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}

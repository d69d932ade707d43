// One fault scenario's world on loopback: an in-process throttled source (so a row can
// replace() its file) and topology server (so a row can read the registry or restart it),
// and `slurpie get` peers as real processes, each tracked for a kill by PID.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SeededRng } from '../../estimation/random.ts';
import { startSourceServer, type SourceServer } from '../source/range-server.ts';
import { startTopologyServer, type TopologyServer, type TopologyServerOptions } from '../../topology-server/server.ts';
import { probeSource } from '../../peer/node/source-client.ts';
import { swarmIdFor } from '../../peer/node/swarm-id.ts';
import type { BlockMapIdentity } from '../../peer/storage/block-map.ts';
import { keptBlocks } from '../../peer/storage/part-open.ts';
import { spawnSlurpie, type Child } from '../swarm/processes.ts';
import type { FaultOptions } from './fault-row.ts';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const BLOCK_SIZE = 64 * KiB;

export interface ScenePeer {
  child: Child;
  output: string;
  statsFile: string;
  args: string[];
}

export interface Scene {
  data: Buffer;
  sha256: string;
  source: SourceServer;
  topology: TopologyServer | null; // null while a row has it stopped
  topologyPort: number;
  swarmId: string;
  identity: BlockMapIdentity;
  /** Starts `slurpie get` as peer `name` (its own directory; `output` elsewhere if given); extra flags appended. */
  peer(name: string, extra?: string[], output?: string): Promise<ScenePeer>;
  /** Same command again (resume), same output. */
  rerun(p: ScenePeer): ScenePeer;
  close(): Promise<void>;
}

export function testData(size: number, seed: number): Buffer {
  const rng = new SeededRng(seed);
  const buf = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) buf.writeUInt32LE((rng.next() * 2 ** 32) >>> 0, i);
  return buf;
}

export const sha256Of = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
export const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `blockSize`: every peer's --block-size (default BLOCK_SIZE); `topologyOptions`: the topology server's. */
export async function startScene(
  opts: FaultOptions & { size: number; rate: number; topology?: boolean; blockSize?: number; topologyOptions?: TopologyServerOptions },
): Promise<Scene> {
  const blockSize = opts.blockSize ?? BLOCK_SIZE;
  await rm(opts.dir, { recursive: true, force: true });
  await mkdir(opts.dir, { recursive: true });
  const data = testData(opts.size, opts.seed);
  const sha256 = sha256Of(data);
  const source = await startSourceServer({ data, name: 'file.bin', rate: opts.rate });
  const topology = opts.topology === false ? null : await startTopologyServer({ ...opts.topologyOptions, host: '127.0.0.1', port: 0 });
  const info = await probeSource(source.url);
  const swarmId = swarmIdFor(info.url, data.length, info.validator);
  let peers = 0; // each peer its own seed: identical seeds would make identical choices
  const scene: Scene = {
    data, sha256, source, topology, swarmId, topologyPort: topology?.port ?? 0,
    identity: { url: info.url, size: data.length, blockSize, validator: info.validator, swarmId },
    async peer(name, extra = [], output = join(opts.dir, name, 'file.bin')) {
      const dir = join(opts.dir, name);
      await mkdir(dir, { recursive: true });
      const statsFile = join(dir, 'stats.json');
      const args = [
        'get', source.url, '-o', output, '--sha256', sha256, '--stats-json', statsFile, '--no-progress',
        '--block-size', `${blockSize / KiB}KiB`, '--seed', String(opts.seed * 1000 + peers++),
        ...(scene.topologyPort ? ['--topology', `http://127.0.0.1:${scene.topologyPort}`] : []), ...extra,
      ];
      return scene.rerun({ child: null as unknown as Child, output, statsFile, args });
    },
    rerun(p) {
      const child = spawnSlurpie(p.args);
      opts.track(child);
      return { ...p, child };
    },
    async close() {
      await Promise.all([source.close(), scene.topology?.close()]);
    },
  };
  return scene;
}

/** The peer's output is the source's bytes, under its final name, with no .part left. */
export async function verified(scene: Scene, p: ScenePeer): Promise<boolean> {
  const bytes = await readFile(p.output).catch(() => null);
  return bytes !== null && sha256Of(bytes) === scene.sha256 && !(await exists(`${p.output}.part`));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function readStats(p: ScenePeer): Promise<any> {
  return JSON.parse(await readFile(p.statsFile, 'utf8').catch(() => 'null'));
}

/** Blocks a rerun would keep: those the sidecar records, with what its journal adds and takes away. */
export async function keptCount(scene: Scene, output: string): Promise<number> {
  return (await keptCounts(scene, output)).kept;
}

/** keptCount, and how many of those blocks the sidecar alone records. */
export async function keptCounts(scene: Scene, output: string): Promise<{ kept: number; sidecar: number }> {
  const claims = await keptBlocks(output, scene.identity).catch(() => null);
  const out = { kept: 0, sidecar: 0 };
  if (!claims) return out;
  for (let i = 0; i < blockCountOf(scene); i++) {
    if (claims.kept.get(i)) out.kept++;
    if (claims.sidecar.get(i)) out.sidecar++;
  }
  return out;
}

// ---- bytes lost (FaultRow.bytesLost) ----

/** The length of block `i` of the scene's file. */
function blockLength(scene: Scene, i: number): number {
  const { blockSize } = scene.identity;
  return Math.min(blockSize, scene.data.length - i * blockSize);
}

export function blockCountOf(scene: Scene): number {
  return Math.ceil(scene.data.length / scene.identity.blockSize);
}

/**
 * What a peer that was meant to finish lost: the whole file if its output is missing or
 * wrong (or it left no stats to account for its bytes); else the bytes it stored beyond
 * what it lacked at start (blocks fetched twice) past `allowance` bytes.
 */
export async function lostByFinisher(scene: Scene, p: ScenePeer, allowance = 0): Promise<number> {
  const size = scene.data.length;
  if (!(await verified(scene, p))) return size;
  const stats = await readStats(p);
  if (stats === null || typeof stats.fromSource !== 'number' || typeof stats.fromPeers !== 'number') return size;
  const resumed = typeof stats.resumedBlocks === 'number' ? stats.resumedBlocks : 0;
  let lacked = size;
  for (let i = 0; i < resumed; i++) lacked -= blockLength(scene, i); // resumed blocks count as full ones but the last
  const fetched = stats.fromSource + stats.fromPeers;
  return Math.max(0, fetched - Math.max(0, lacked) - allowance);
}

/**
 * What a stopped peer's disk no longer holds of what it claims (its sidecar, and the blocks its
 * journal adds): the bytes of every block claimed whose bytes in the .part differ from the
 * source's, or the whole file if a sidecar is there but a rerun would start over (it cannot be
 * read, or the .part is gone). No sidecar: nothing was claimed, nothing is lost.
 */
export async function keptButLost(scene: Scene, output: string): Promise<number> {
  if (!(await exists(`${output}.part.map`))) return 0;
  const claims = await keptBlocks(output, scene.identity).catch(() => null);
  if (!claims) return scene.data.length;
  const part = await readFile(`${output}.part`).catch(() => null);
  let lost = 0;
  for (let i = 0; i < blockCountOf(scene); i++) {
    if (!claims.kept.get(i)) continue;
    const start = i * scene.identity.blockSize;
    const end = start + blockLength(scene, i);
    if (part === null || part.length < end || !part.subarray(start, end).equals(scene.data.subarray(start, end))) lost += end - start;
  }
  return lost;
}

/** Like waitFor, but a condition not reached within `ms` is an error naming `what`: no silent time-outs. */
export async function mustReach(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  if (!(await waitFor(cond, ms))) throw new Error(`not reached within ${(ms / 1000).toFixed(0)} s: ${what}`);
}

/** Polls `cond` every 50 ms up to `ms`; true if it held. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await cond()) return true;
    await sleep(50);
  }
  return cond();
}

/** A child's exit code within `ms`, or 'timeout' (then it was killed). */
export async function exitOf(child: Child, ms: number): Promise<number | null | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  // The guard is cleared once the child is gone: a pending timer would hold the process (and
  // an ava worker) open for the rest of its `ms`.
  const r = await Promise.race([child.exited, guard]).finally(() => clearTimeout(timer));
  if (r === 'timeout') {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // gone
    }
    return 'timeout';
  }
  return r.code;
}

export function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}

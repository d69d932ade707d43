// What the simulator's live memory is made of, per simulated peer: runs a swarm until virtual
// second `at`, collects garbage, writes a V8 heap snapshot and sums its nodes' self sizes by
// type and constructor (typed-array contents show as "system / JSArrayBufferData"), then the
// sizes of those buffers (a 2048-byte buffer per connection is a 128-block table of 16-byte
// digests). memory-per-peer.ts gives the total; this says where to cut it. The process's
// code and the baseline of one peer are not subtracted: use a few hundred peers or more.
//
// Run: node --expose-gc --import tsx experiments/sim/heap-by-type.ts [peers=500] [at=10] [top=30]
// (the snapshot goes to the temp dir and is removed after; 500 peers take ~60 MiB of it).
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { simulate } from './simulate.ts';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

const MiB = 1024 * 1024;

/** Runs the LAN reference scenario to `at` s and returns the path of a heap snapshot taken there. */
function snapshotAt(peers: number, at: number): string {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  let path: string | null = null;
  simulate({ peers, size: 32 * MiB, sourceRate: 1.25e6, peerUp: 12.5e6, peerDown: 12.5e6, latencyMs: 1, seed: 1, maxSimSeconds: at }, {
    onSample: (s) => {
      if (s.t !== at) return;
      gc();
      path = writeHeapSnapshot(join(tmpdir(), `slurpie-sim-${process.pid}.heapsnapshot`));
    },
  });
  if (path === null) throw new Error(`the run ended before t=${at} s`);
  return path;
}

/** Bytes and node counts by "type name", and the sizes of typed-array buffers. */
export function summarize(snap: Snapshot): { byKind: Map<string, [number, number]>; buffers: Map<number, number> } {
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [ti, ni, si] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const byKind = new Map<string, [number, number]>();
  const buffers = new Map<number, number>();
  const { nodes, strings } = snap;
  for (let i = 0; i < nodes.length; i += fields.length) {
    const type = types[nodes[i + ti] as number] as string;
    let name = strings[nodes[i + ni] as number] as string;
    if (type.endsWith('string')) name = '';
    const size = nodes[i + si] as number;
    const key = `${type} ${name.slice(0, 50)}`;
    const sum = byKind.get(key) ?? [0, 0];
    sum[0] += size;
    sum[1]++;
    byKind.set(key, sum);
    if (name === 'system / JSArrayBufferData') buffers.set(size, (buffers.get(size) ?? 0) + 1);
  }
  return { byKind, buffers };
}

function main(): void {
  const peers = Number(process.argv[2] ?? 500);
  const at = Number(process.argv[3] ?? 10);
  const top = Number(process.argv[4] ?? 30);
  const path = snapshotAt(peers, at);
  const { byKind, buffers } = summarize(JSON.parse(readFileSync(path, 'utf8')) as Snapshot);
  rmSync(path, { force: true });
  const total = [...byKind.values()].reduce((s, [b]) => s + b, 0);
  const perPeer = (b: number): string => `${(b / peers).toFixed(0).padStart(7)} B`;
  const lines = [`${peers} peers at t=${at} s: ${(total / MiB).toFixed(1)} MiB in the heap snapshot, ${(total / peers / 1024).toFixed(1)} KiB per peer`];
  for (const [key, [bytes, count]] of [...byKind].sort((a, b) => b[1][0] - a[1][0]).slice(0, top)) {
    lines.push(`${perPeer(bytes)} per peer  ${String(count).padStart(8)} nodes  ${key}`);
  }
  lines.push('typed-array buffers by size:');
  for (const [size, count] of [...buffers].sort((a, b) => b[0] * b[1] - a[0] * a[1]).slice(0, 10)) {
    lines.push(`${perPeer(size * count)} per peer  ${String(count).padStart(8)} x ${size} bytes`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main();

// `npm run faults [-- --short] [--only NAME,…]`: runs every fault row against real
// processes on loopback and prints fault | expected | observed | bytes lost | pass.
// Exits 1 if any row fails. SLURPIE_SEED=… replays a run.
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedFrom } from '../../estimation/random.ts';
import { killChild, type Child } from '../swarm/processes.ts';
import type { FaultRow, FaultRun } from './fault-row.ts';
import { run as killResume } from './kill-resume.ts';
import { run as sourceChanged } from './source-changed.ts';
import { run as lyingPeer, runConsistent as lyingPeerConsistent } from './lying-peer.ts';
import { run as pushingPeer } from './pushing-peer.ts';
import { run as fuzzFrames } from './fuzz-frames.ts';
import { run as topologyRestart } from './topology-restart.ts';
import { run as churn } from './churn.ts';
import { run as diskFull } from './disk-full.ts';
import { run as slowLoris } from './slow-loris.ts';
import { run as updateFlood, runSilent as updateFloodSilent } from './update-flood.ts';
import { run as topologyGarbage } from './topology-garbage.ts';
import { run as topologyReflection } from './topology-reflection.ts';
import { run as topologyTakeover } from './topology-takeover.ts';
import { run as topologySybil } from './topology-sybil.ts';

export const ROWS: Record<string, FaultRun> = {
  'kill-resume': killResume,
  'source-changed': sourceChanged,
  'lying-peer': lyingPeer,
  'lying-peer-consistent': lyingPeerConsistent,
  'pushing-peer': pushingPeer,
  'fuzz-frames': fuzzFrames,
  'topology-restart': topologyRestart,
  churn,
  'disk-full': diskFull,
  'slow-loris': slowLoris,
  'update-flood': updateFlood,
  'update-flood-silent': updateFloodSilent,
  'topology-garbage': topologyGarbage,
  'topology-reflection': topologyReflection,
  'topology-takeover': topologyTakeover,
  'topology-sybil': topologySybil,
};

/** Runs one row; a row that throws is a failed row, and its processes are killed whatever happens. */
export async function runRow(name: string, run: FaultRun, opts: { short: boolean; seed: number; dir: string }): Promise<FaultRow & { seconds: number }> {
  const children: Child[] = [];
  const started = performance.now();
  try {
    const row = await run({ ...opts, dir: join(opts.dir, name), track: (c) => children.push(c) });
    return { ...row, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    return { fault: name, expected: '-', observed: `error: ${(err as Error).message.split('\n')[0]}`, bytesLost: null, pass: false, seconds: (performance.now() - started) / 1000 };
  } finally {
    for (const c of children) killChild(c, 'SIGKILL');
    await Promise.all(children.map((c) => c.exited));
  }
}

export function formatMatrix(rows: (FaultRow & { seconds?: number })[]): string {
  const cells = rows.map((r) => [r.fault, r.expected, r.observed, r.bytesLost === null ? 'n/a' : String(r.bytesLost), r.sourceBytes === undefined ? 'n/a' : `${(r.sourceBytes / 2 ** 20).toFixed(1)} MiB`, r.skipped ? 'skip' : r.pass && r.bytesLost !== null && r.bytesLost > 0 ? 'FAIL (bytes lost)' : r.pass ? 'pass' : 'FAIL', r.seconds?.toFixed(0) ?? '']);
  const head = ['fault', 'expected', 'observed', 'bytes lost', 'source bytes', 'pass', 's'];
  const lines = [head, head.map(() => '---'), ...cells].map((c) => `| ${c.join(' | ')} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const short = args.includes('--short');
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',') : Object.keys(ROWS);
  const unknown = only.filter((n) => !(n in ROWS));
  if (unknown.length) {
    process.stderr.write(`faults: unknown row ${unknown.join(', ')}; rows: ${Object.keys(ROWS).join(', ')}\n`);
    process.exit(2);
  }
  const seed = seedFrom(process.env, 6);
  const dir = join(tmpdir(), `slurpie-faults-${process.pid}`);
  process.stdout.write(`fault matrix (${short ? 'short' : 'full'}), seed ${seed} (replay with SLURPIE_SEED=${seed})\n`);
  const rows: (FaultRow & { seconds: number })[] = [];
  const started = performance.now();
  for (const name of only) {
    const row = await runRow(name, ROWS[name]!, { short, seed, dir });
    process.stderr.write(`${row.pass ? 'pass' : 'FAIL'} ${name} (${row.seconds.toFixed(1)} s): ${row.observed}\n`);
    rows.push(row);
  }
  await rm(dir, { recursive: true, force: true });
  process.stdout.write(formatMatrix(rows) + '\n');
  const failed = rows.filter((r) => !r.pass || (r.bytesLost ?? 0) !== 0);
  process.stdout.write(`${rows.length - failed.length}/${rows.length} rows pass in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  process.exit(failed.length ? 1 : 0); // pooled HTTP clients would otherwise hold the process open
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await main();

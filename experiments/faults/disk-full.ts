// The disk fills: `get` into a tmpfs smaller than the file exits 7 with a one-line error
// and keeps the .part; with room again (remount bigger), the same command resumes and
// verifies. Skipped where mounting is not permitted.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { BLOCK_SIZE, MiB, keptCount, keptButLost, exists, exitOf, lastLine, lostByFinisher, readStats, startScene, verified } from './scene.ts';

const exec = promisify(execFile);

export async function run(opts: FaultOptions): Promise<FaultRow> {
  // Room for 3/4 of the file: past the block map's periodic flushes (every 64 blocks), so
  // some blocks are recorded durable before the disk fills.
  const size = opts.short ? 8 * MiB : 64 * MiB;
  const row = { fault: 'disk full (tmpfs)', expected: 'exit 7, one-line error, .part kept; rerun with room resumes, verifies' };
  const scene = await startScene({ ...opts, size, rate: 16 * MiB, topology: false });
  const mnt = join(opts.dir, 'mnt');
  await mkdir(mnt, { recursive: true });
  try {
    await exec('mount', ['-t', 'tmpfs', '-o', `size=${(size * 3) / 4}`, 'tmpfs', mnt]);
  } catch (err) {
    await scene.close();
    return { ...row, observed: `skipped: cannot mount a tmpfs (${lastLine((err as { stderr?: string }).stderr ?? (err as Error).message)})`, bytesLost: null, pass: true, skipped: true };
  }
  try {
    // The file inside the tmpfs, the stats outside it.
    const first = await scene.peer('get', [], join(mnt, 'file.bin'));
    const inMount = first;
    const code = await exitOf(first.child, 60_000);
    const errLines = first.child.stderr().trim().split('\n').filter((l) => l.trim() !== '');
    const partKept = await exists(`${inMount.output}.part`);
    const kept = await keptCount(scene, inMount.output);
    const damaged = await keptButLost(scene, inMount.output);
    await exec('mount', ['-o', `remount,size=${size * 2}`, mnt]);
    const second = scene.rerun(inMount);
    const code2 = await exitOf(second.child, 60_000);
    const stats = await readStats(second);
    const resumed = typeof stats?.resumedBlocks === 'number' ? stats.resumedBlocks : 0;
    const ok = await verified(scene, second);
    // Blocks recorded (sidecar or journal) the rerun did not keep, recorded blocks whose bytes
    // were wrong after the failure, and what the rerun fetched twice or got wrong.
    const bytesLost = Math.max(0, kept - resumed) * BLOCK_SIZE + damaged + (await lostByFinisher(scene, second));
    const pass = code === 7 && errLines.length === 1 && partKept && code2 === 0 && ok && resumed > 0 && bytesLost === 0;
    return {
      ...row,
      observed: `exit ${code}: "${errLines.join(' / ').slice(0, 120)}"; .part ${partKept ? 'kept' : 'GONE'}, ${kept} blocks recorded; ` +
        `after remount exit ${code2}, resumed ${resumed} blocks, verified ${ok}`,
      bytesLost,
      sourceBytes: scene.source.stats().bytesSent,
      pass,
    };
  } finally {
    await exec('umount', ['-l', mnt]).catch(() => {});
    await scene.close();
  }
}

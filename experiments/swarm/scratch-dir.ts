// The scratch directory of `slurpie demo` and the swarm runs: emptied before each run, so it
// must be one we made. A marker file says so; a non-empty directory without it is someone
// else's and is refused, never emptied (`demo --dir ~/Documents` must not wipe documents).
import { lstat, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const SCRATCH_MARKER = '.slurpie-demo';

/**
 * Makes `dir` ours: creates it (or takes it if empty) and marks it. Throws a one-line reason
 * if it is a non-empty directory without our marker, or not a directory. `trusted`: the
 * default directory, ours by name (runs from before the marker existed left it unmarked).
 */
export async function claimScratchDir(dir: string, trusted = false): Promise<void> {
  const st = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (st !== null && !st.isDirectory()) throw new Error(`--dir must be a directory, got ${JSON.stringify(dir)} (not a directory)`);
  if (st !== null && !trusted) {
    const entries = await readdir(dir);
    if (entries.length > 0 && !entries.includes(SCRATCH_MARKER)) {
      const what = `${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} and no ${SCRATCH_MARKER}`;
      throw new Error(`--dir must be new, empty or made by slurpie demo (it is emptied first), got ${JSON.stringify(dir)} (${what})`);
    }
  }
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, SCRATCH_MARKER), 'made by slurpie demo: emptied before each run\n');
}

/** Removes everything in `dir` but the marker (creating `dir` if need be). */
export async function emptyScratchDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const entry of await readdir(dir)) {
    if (entry !== SCRATCH_MARKER) await rm(join(dir, entry), { recursive: true, force: true });
  }
}

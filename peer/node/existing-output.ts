// A rerun on a finished download (issue #13): if the output file is already there, decide
// before any block is fetched whether it is this download, complete, or someone else's file.
// wget -c says "already fully retrieved"; we do the same, and never overwrite a file we
// cannot show is this one (today's silent replace at the final rename could destroy one).
import { lstat } from 'node:fs/promises';
import { SlurpieError } from '../errors.ts';
import { diskOp } from '../storage/disk-error.ts';
import { sha256File } from '../storage/verify.ts';

export type Existing = { kind: 'absent' } | { kind: 'complete'; size: number; sha256: string };

/**
 * 'absent' when nothing is at `output`; 'complete' when a regular file is there with the
 * source's size and, if a digest is known, that digest (with no digest, the size is all we
 * can go by, as wget -c). Anything else there throws BAD_INPUT and leaves it untouched.
 */
export async function checkExisting(output: string, size: number | null, sha256: string | undefined): Promise<Existing> {
  const st = await lstat(output).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (st === null) return { kind: 'absent' };
  const refuse = (why: string): never => {
    throw new SlurpieError('BAD_INPUT', `${output} already exists and ${why}; it is left as it is: move it away or choose another -o`);
  };
  if (!st.isFile()) refuse('is not a regular file');
  if (size === null && sha256 === undefined) refuse('the source gives neither its size nor a sha256 to compare it with');
  if (size !== null && st.size !== size) refuse(`is ${st.size} bytes, the source's file ${size}`);
  const actual = await diskOp('read', output, () => sha256File(output));
  if (sha256 !== undefined && actual !== sha256) refuse(`its sha256 is ${actual.slice(0, 16)}…, expected ${sha256.slice(0, 16)}…`);
  return { kind: 'complete', size: st.size, sha256: actual };
}

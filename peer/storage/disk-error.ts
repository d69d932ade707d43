// File-system failures as one kind of error: SlurpieError('DISK', what failed on which
// path, and why in words), so the CLI can map them to one exit code and a person can act
// on the message. Used by the .part file and by the plain (no Range) download.

import { SlurpieError } from '../errors.ts';

/** Runs `work`; a file-system error from it becomes a DISK error about `what` on `path`. */
export async function diskOp<T>(what: string, path: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toDiskError(err, what, path);
  }
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  ENOENT: 'no such file or directory',
  EFBIG: 'file too large',
  EIO: 'I/O error',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
};

/** A file-system error as SlurpieError('DISK', one line saying what failed on which path). */
export function toDiskError(err: unknown, what: string, path: string): unknown {
  if (err instanceof SlurpieError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('E')) return err;
  const reason = REASONS[code] ?? code;
  return new SlurpieError('DISK', `cannot ${what} ${path}: ${reason} (${code})`, { cause: err });
}

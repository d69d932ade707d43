// Failures a download can end with, each with a stable code that the CLI maps to an
// exit status (README "Exit codes"). Messages are one line, for a person.

export type ErrorCode =
  | 'BAD_INPUT' // a flag or URL that cannot be used
  | 'SOURCE_HTTP' // the source answered with an error status
  | 'SOURCE_UNREACHABLE' // the source could not be reached (after retries)
  | 'SOURCE_CHANGED' // the file changed at the source mid-download
  | 'INTEGRITY_FAILED' // the finished file does not match its digest
  | 'DISK' // the output could not be written (full disk, permissions)
  | 'TOPOLOGY_UNREACHABLE' // the topology server could not be reached
  | 'INTERRUPTED' // stopped by a signal; the .part file is kept
  | 'INTERNAL'; // anything else (a bug or an unexpected failure): the original error is its `cause`

export const EXIT_CODES: Record<ErrorCode, number> = {
  BAD_INPUT: 2,
  SOURCE_HTTP: 3,
  SOURCE_UNREACHABLE: 4,
  SOURCE_CHANGED: 5,
  INTEGRITY_FAILED: 6,
  DISK: 7,
  TOPOLOGY_UNREACHABLE: 8,
  INTERRUPTED: 130,
  INTERNAL: 1,
};

export class SlurpieError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SlurpieError';
    this.code = code;
  }
}

export function isSlurpieError(err: unknown): err is SlurpieError {
  return err instanceof SlurpieError;
}

/**
 * `err` as a SlurpieError, so a library caller meets one error type: an abort (the caller's
 * signal, or an AbortError from below) is INTERRUPTED, a file-system error DISK, anything
 * else INTERNAL; the original is kept as `cause`.
 */
export function asSlurpieError(err: unknown, signal?: AbortSignal): SlurpieError {
  // Once the caller has aborted, whatever failed next failed because of it.
  if (err instanceof SlurpieError && (err.code === 'INTERRUPTED' || !signal?.aborted)) return err;
  const e = err as { name?: string; code?: string; message?: string } | null;
  const message = e?.message ?? String(err);
  if (signal?.aborted || e?.name === 'AbortError') return new SlurpieError('INTERRUPTED', 'interrupted (a .part file, if any, is kept for resume)', { cause: err });
  if (typeof e?.code === 'string' && /^E(NOSPC|ACCES|PERM|ROFS|DQUOT|IO|ISDIR|NOTDIR|MFILE)$/.test(e.code)) return new SlurpieError('DISK', message, { cause: err });
  return new SlurpieError('INTERNAL', message, { cause: err });
}

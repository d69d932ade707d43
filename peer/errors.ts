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
  | 'INTERRUPTED'; // stopped by a signal; the .part file is kept

export const EXIT_CODES: Record<ErrorCode, number> = {
  BAD_INPUT: 2,
  SOURCE_HTTP: 3,
  SOURCE_UNREACHABLE: 4,
  SOURCE_CHANGED: 5,
  INTEGRITY_FAILED: 6,
  DISK: 7,
  TOPOLOGY_UNREACHABLE: 8,
  INTERRUPTED: 130,
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

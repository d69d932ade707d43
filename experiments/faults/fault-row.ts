// What one row of the fault matrix takes and reports (issue 6).
import type { Child } from '../swarm/processes.ts';

export interface FaultRow {
  fault: string;
  expected: string;
  observed: string;
  bytesLost: number; // bytes that were durable before the fault but fetched again; must be 0
  pass: boolean;
  skipped?: boolean; // the row could not run here (e.g. no permission to mount); pass is then true
}

export interface FaultOptions {
  short: boolean; // seconds per row, small files; the full form is bigger (whole matrix < 10 min)
  seed: number;
  dir: string; // scratch directory of this row (created; the row may empty it)
  track: (child: Child) => void; // every spawned process, so the caller can kill it by PID
}

export type FaultRun = (opts: FaultOptions) => Promise<FaultRow>;

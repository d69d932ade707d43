// What one row of the fault matrix takes and reports (issue 6).
import type { Child } from '../swarm/processes.ts';

export interface FaultRow {
  fault: string;
  expected: string;
  observed: string;
  // Bytes the row saw lost, from what it observed (scene.ts: lostByFinisher, keptButLost):
  // durable or verified data gone or wrong, blocks fetched twice beyond what the row allows,
  // outputs missing or wrong. Must be 0. null: not measured (the row downloads no file, was
  // skipped, or failed before it could count).
  bytesLost: number | null;
  sourceBytes?: number; // bytes the source served in the row, counted at the source (rows that download)
  pass: boolean;
  skipped?: boolean; // the row could not run here (e.g. no permission to mount); pass is then true, and a test must report a skip
}

export interface FaultOptions {
  short: boolean; // seconds per row, small files; the full form is bigger (whole matrix < 10 min)
  seed: number;
  dir: string; // scratch directory of this row (created; the row may empty it)
  track: (child: Child) => void; // every spawned process, so the caller can kill it by PID
}

export type FaultRun = (opts: FaultOptions) => Promise<FaultRow>;

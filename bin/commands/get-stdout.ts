// `slurpie get URL -o -`: the file goes to stdout in order while it downloads; everything
// else (progress, notes, the summary) goes to stderr. The .part file (peers are served from
// it) lives in a fresh temporary directory that is removed when get ends, whatever the end:
// a consumer that has read half the file cannot be resumed into, so `-o -` never resumes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Writable } from 'node:stream';

export interface StdoutTarget {
  output: string; // where the .part file goes
  stream: Writable; // stdout
  cleanup(): Promise<void>;
}

export async function stdoutTarget(url: string): Promise<StdoutTarget> {
  const dir = await mkdtemp(join(tmpdir(), 'slurpie-stdout-'));
  const name = basename(decodeURIComponent(new URL(url).pathname)) || 'download';
  // process.stdout: a pipe there is non-blocking, and write() returning false holds the stream
  // back (not the peer's uploads) behind a slow consumer.
  return { output: join(dir, name), stream: process.stdout, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

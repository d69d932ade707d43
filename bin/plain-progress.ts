// The progress of `slurpie get` off a terminal. Apart from the bar (progress-view.ts), so that
// a peer started by an experiment does not load cli-progress and readline (~3 ms of start-up CPU).
import type { Progress } from '../peer/node/download.ts';

/**
 * Off a terminal (a log file, CI, a pipe): a plain line every `everyMs`, no escape codes,
 * like wget's dot progress but one line each, e.g.
 *   slurpie: 41% 13.1/32.0 MiB, 4.1 MiB/s, 3 peers, 22% from the source, ETA 5 s
 */
export class PlainProgress {
  private last = performance.now();

  constructor(
    private readonly write: (line: string) => void = (line) => process.stderr.write(line),
    private readonly everyMs = 5000,
  ) {}

  update(p: Progress): void {
    const now = performance.now();
    if (now - this.last < this.everyMs) return;
    this.last = now;
    this.write(plainLine(p) + '\n');
  }

  interrupt(): void {}

  stop(): void {}
}

export function plainLine(p: Progress): string {
  const mib = (b: number): string => (b / 1048576).toFixed(1);
  const moved = p.fromSource + p.fromPeers; // this run's bytes: resumed ones are not a rate
  const rate = p.seconds > 0 ? moved / p.seconds : 0;
  const percent = p.size > 0 ? Math.floor((100 * p.bytesHave) / p.size) : 100;
  const share = moved > 0 ? Math.round((100 * p.fromSource) / moved) : 0;
  const eta = rate > 0 ? duration((p.size - p.bytesHave) / rate) : 'unknown';
  return `slurpie: ${percent}% ${mib(p.bytesHave)}/${mib(p.size)} MiB, ${mib(rate)} MiB/s, ${p.connections} peers, ` +
    `${share}% from the source, ETA ${eta}`;
}

function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

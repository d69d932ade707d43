// The progress bar of `slurpie get` on a terminal: rate, peers, source share, ETA. Loaded on a
// terminal only; off one, plain-progress.ts.
import cliProgress from 'cli-progress';
import type { Progress } from '../peer/node/download.ts';

export class ProgressView {
  private readonly bar = new cliProgress.SingleBar(
    {
      format: '{bar} {percentage}% | {have}/{size} MiB | {rate} MiB/s | {peers} peers | source {share}% | ETA {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  private started = false;

  update(p: Progress): void {
    const mib = (b: number): string => (b / 1048576).toFixed(1);
    const payload = {
      have: mib(p.bytesHave),
      size: mib(p.size),
      rate: p.seconds > 0 ? mib((p.fromSource + p.fromPeers) / p.seconds) : '0.0',
      peers: p.connections,
      share: p.fromSource + p.fromPeers > 0 ? ((100 * p.fromSource) / (p.fromSource + p.fromPeers)).toFixed(0) : '0',
    };
    if (!this.started) {
      this.bar.start(p.size, p.bytesHave, payload);
      this.started = true;
    } else {
      this.bar.update(p.bytesHave, payload);
    }
  }

  /** Clears the bar's line so a log message can be printed. */
  interrupt(): void {
    if (this.started) process.stderr.write('\r\x1b[K');
  }

  stop(): void {
    if (this.started) this.bar.stop();
    this.started = false;
  }
}

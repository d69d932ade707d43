// What the source's link carried over a testbed run, second by second: the bytes counter of the
// source host's veth end on the bridge (root namespace; what it receives is what the source
// sent through its shaped uplink), read each turn of the experiment's loop. Whether the source
// is the bottleneck shows here and nowhere else: a run can take twice T_min with the source
// link busy a third of the time (start-ups, gaps between GETs) or with it saturated and the
// mesh behind (the last blocks reaching everyone seconds after they left the source).
import { readFile } from 'node:fs/promises';

export interface SourceLink {
  rate: number; // the link's shaped rate, bytes/s
  samples: [seconds: number, bytes: number][]; // seconds from the launch, bytes since the launch
}

export interface SourceLinkSummary {
  startSeconds: number; // when the link had carried 1% of what it carried in the run
  endSeconds: number; // when it carried its last data (all but the last TRAILING_BYTES)
  bytes: number; // what it carried in all
  busyShare: number; // bytes between the two / what the rate allows in that time
}

/** Reads a network device's received-bytes counter in the root namespace; null where there is none. */
async function rxBytes(device: string): Promise<number | null> {
  try {
    const text = await readFile(`/sys/class/net/${device}/statistics/rx_bytes`, 'utf8');
    const n = Number(text.trim());
    return Number.isSafeInteger(n) ? n : null;
  } catch {
    return null;
  }
}

/** Samples one device's counter, in bytes since begin(), at the times the caller gives. */
export class SourceLinkSampler {
  private base: number | null = null;
  private readonly samples: [number, number][] = [];

  constructor(
    private readonly device: string,
    private readonly rate: number,
  ) {}

  /** Takes the counter's starting value; call just before the launch. */
  async begin(): Promise<void> {
    this.base = await rxBytes(this.device);
  }

  async sample(seconds: number): Promise<void> {
    if (this.base === null) return;
    const n = await rxBytes(this.device);
    if (n !== null) this.samples.push([Math.round(seconds * 1000) / 1000, n - this.base]);
  }

  /** The samples so far; null if the counter could not be read. */
  result(): SourceLink | null {
    return this.base === null || this.samples.length < 2 ? null : { rate: this.rate, samples: this.samples };
  }
}

/** Control frames the link may carry after its last data (connections closing: a FIN each). */
const TRAILING_BYTES = 64 * 1024;

/** Where the link's traffic started and ended and how busy it was in between; null if it carried nothing. */
export function summarizeSourceLink(link: SourceLink): SourceLinkSummary | null {
  const s = link.samples;
  const total = s.length > 0 ? (s[s.length - 1] as [number, number])[1] : 0;
  if (total <= 0 || !(link.rate > 0)) return null;
  // The first 1% may be probes and HEADs long before the first GET: the window starts after it.
  const from = s.find(([, b]) => b >= total / 100) as [number, number];
  // And it ends with the last data, not the last frame: connections' FINs and ACKs trickle on after.
  const to = s.find(([, b]) => b >= total - Math.min(TRAILING_BYTES, total / 100)) as [number, number];
  const seconds = to[0] - from[0];
  const busyShare = seconds > 0 ? Math.min(1, (to[1] - from[1]) / (link.rate * seconds)) : 1;
  return { startSeconds: from[0], endSeconds: to[0], bytes: total, busyShare };
}

/**
 * One line for the markdown: the link's busy share, and how long after its last data the peers
 * finished (`finishedAt`: each finished peer's launch-relative time).
 */
export function sourceLinkLine(system: string, link: SourceLink, finishedAt: readonly number[]): string | null {
  const sum = summarizeSourceLink(link);
  if (sum === null) return null;
  const busy = `${(sum.busyShare * 100).toFixed(0)}%`;
  const tail = finishedAt.length > 0 ? `; ${system}'s peers finished ${(finishedAt.reduce((a, b) => a + b, 0) / finishedAt.length - sum.endSeconds).toFixed(1)} s after its last data on average` : '';
  return `Source link (${system}): carried 1% of its ${(sum.bytes / 1048576).toFixed(1)} MiB by ${sum.startSeconds.toFixed(1)} s and its last data at ` +
    `${sum.endSeconds.toFixed(1)} s from the launch, busy ${busy} in between (bytes through it / its rate)${tail}.`;
}

/** What the link carried in one bin of a run: its mean rate there, as a share of the link's rate. */
export interface SourceLinkBin {
  seconds: number; // the bin's start, from the launch
  share: number; // bytes through the link in the bin / (rate × bin length); may pass 1 a little (the shaper's burst)
}

/**
 * The link's rate over time in bins of `binSeconds` from the launch to the last sample. Samples
 * come each ~200 ms loop turn, not on bin edges: the bytes at an edge are read off the straight
 * line between the samples around it.
 */
export function sourceLinkBins(link: SourceLink, binSeconds = 1): SourceLinkBin[] {
  // The counter is 0 at the launch (begin()), before the first sample.
  const s: [number, number][] = link.samples.length > 0 && (link.samples[0] as [number, number])[0] > 0 ? [[0, 0], ...link.samples] : link.samples;
  if (s.length < 2 || !(link.rate > 0) || !(binSeconds > 0)) return [];
  const end = (s[s.length - 1] as [number, number])[0];
  let i = 1; // the bin edges only grow: the sample after the last edge is where the next search starts
  const bytesAt = (t: number): number => {
    while (i < s.length - 1 && (s[i] as [number, number])[0] < t) i++;
    const [t0, b0] = s[i - 1] as [number, number];
    const [t1, b1] = s[i] as [number, number];
    if (t <= t0) return b0;
    if (t >= t1) return b1;
    return b0 + ((b1 - b0) * (t - t0)) / (t1 - t0);
  };
  const bins: SourceLinkBin[] = [];
  let atFrom = bytesAt(0);
  for (let from = 0; from < end; from += binSeconds) {
    const to = Math.min(end, from + binSeconds);
    const atTo = bytesAt(to); // each edge read once, in order
    bins.push({ seconds: from, share: (atTo - atFrom) / (link.rate * (to - from)) });
    atFrom = atTo;
  }
  return bins;
}

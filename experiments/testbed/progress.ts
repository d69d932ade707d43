// How a system's peers filled their copies: each slurpie peer (and simulated one) reports
// when it came to hold each tenth of the file (PeerResult.progressSeconds, from its arrival).
// The median over peers at each tenth says where a run's time went: start-up and the first
// blocks, the middle, or the last tenth (the simulator against the testbed on planetlab-55:
// late arrivals' first tenth, docs/simulator-vs-testbed.md).
import { median } from './median.ts';
import type { PeerResult } from './results.ts';

/** A peer's progressSeconds as the stats JSON and results files have them: at most 10 finite times, none earlier than the one before. */
export function isTenths(v: unknown): v is number[] {
  return Array.isArray(v) && v.length <= 10 && v.every((t, i) => typeof t === 'number' && Number.isFinite(t) && t >= 0 && (i === 0 || t >= (v[i - 1] as number)));
}

/** The median over the peers that reported all ten marks, seconds from arrival at each tenth; null if none did. */
export function medianProgress(perPeer: readonly { progressSeconds?: readonly number[] | undefined }[]): { peers: number; seconds: number[] } | null {
  const full = perPeer.flatMap((p) => (p.progressSeconds?.length === 10 ? [p.progressSeconds] : []));
  if (full.length === 0) return null;
  const seconds = Array.from({ length: 10 }, (_, i) => median(full.map((marks) => marks[i] as number)));
  return { peers: full.length, seconds };
}

/** "Progress (slurpie, median over 53 peers, seconds from arrival): 10% 5.3, 50% 16.1, 90% 33.0, all 46.0". */
export function progressLine(system: string, perPeer: readonly PeerResult[]): string | null {
  const m = medianProgress(perPeer);
  if (m === null) return null;
  const at = (tenth: number): string => (m.seconds[tenth - 1] as number).toFixed(1);
  return `Progress (${system}, median over ${m.peers} peers, seconds from arrival to holding a share of the file): 10% ${at(1)}, 50% ${at(5)}, 90% ${at(9)}, all ${at(10)}`;
}

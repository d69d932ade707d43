// A swarm run as text: the per-peer table and the headline ratios.
import type { LiveView, SwarmResult } from './run-swarm.ts';

const MiB = 1024 * 1024;

export function liveLine(v: LiveView, size: number): string {
  return `t=${v.seconds.toFixed(1)}s  source sent ${(v.sourceBytes / MiB).toFixed(1)} MiB (${(v.sourceBytes / size).toFixed(2)}x F), ` +
    `${v.sourceConcurrent} GETs now  peers done ${v.done}/${v.peers}${v.failed ? `  failed ${v.failed}` : ''}`;
}

export function peerTable(r: SwarmResult): string {
  const head = ['peer', 'time s', 'x T_min', 'source MiB', 'peers MiB', 'up MiB', 'n est', 'RSS MiB', 'verified'];
  const rows = r.results.map((p) => [
    String(p.peer),
    p.readySeconds.toFixed(1),
    (p.readySeconds / r.tMinSeconds).toFixed(2),
    (p.fromSource / MiB).toFixed(1),
    (p.fromPeers / MiB).toFixed(1),
    (p.uploaded / MiB).toFixed(1),
    p.groupSizeEstimate === null ? '-' : String(Math.round(p.groupSizeEstimate)),
    (p.peakRssBytes / MiB).toFixed(0),
    p.verified ? 'yes' : `NO${p.error ? ` (${p.error})` : ''}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export function headline(r: SwarmResult): string {
  return [
    `${r.peers} peers, ${(r.size / MiB).toFixed(0)} MiB file, source ${(r.sourceRate / MiB).toFixed(1)} MiB/s: fluid bound T_min = F/u_s = ${r.tMinSeconds.toFixed(1)} s`,
    `mean completion ${r.meanRatio.toFixed(2)}x T_min from launch to a verified file (peers' own clocks: ${r.meanOwnRatio.toFixed(2)}x), max ${r.maxRatio.toFixed(2)}x; processes exit after the hand-over at ${r.meanExitRatio.toFixed(2)}x`,
    `source served ${r.sourceRatio.toFixed(2)}x the file, peak ${r.peakSourceConnections} concurrent GETs; largest peer RSS ${(r.peakRssBytes / MiB).toFixed(0)} MiB`,
    `plain HTTP would take ${r.peers}x T_min for the last client and serve ${r.peers}x the file`,
    r.allVerified ? 'every output verified (sha256), no .part left' : 'SOME OUTPUTS FAILED: see the table',
  ].join('\n');
}

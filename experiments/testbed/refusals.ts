// How often a system's holders said `busy`: each slurpie peer (and simulated one) counts the
// REQUESTs it refused busy by the rule that refused them (peer/core/serving.ts RefusedBusy),
// and its messages say how many of its own REQUESTs were refused. On planetlab-55 the testbed's
// late arrivals were refused 188 of 332 requests against 41 of 169 in the simulator (a median
// peer, 2026-12-03), nearly all by the rule that keeps a loaded uplink for blocks only it has.
import type { RefusedBusy } from '../../peer/core/serving.ts';
import type { PeerResult } from './results.ts';

/** "Busy: a slurpie peer refused 112 requests (shared 110, backlog 2, per connection 0) and was refused 106 of the 265 it sent (means over 52 peers)". */
export function busyLine(system: string, perPeer: readonly PeerResult[]): string | null {
  const each = perPeer.flatMap((p) => (p.refusedBusy && p.messages ? [{ refused: p.refusedBusy, sent: p.messages.sent, received: p.messages.received }] : []));
  if (each.length === 0) return null;
  const mean = (f: (e: (typeof each)[number]) => number): string => Math.round(each.reduce((n, e) => n + f(e), 0) / each.length).toLocaleString('en-US');
  const refused = mean((e) => e.refused.shared + e.refused.backlog + e.refused.perConnection);
  return `Busy: a ${system} peer refused ${refused} requests (shared ${mean((e) => e.refused.shared)}, backlog ${mean((e) => e.refused.backlog)}, per connection ${mean((e) => e.refused.perConnection)}) ` +
    `and was refused ${mean((e) => e.received.REJECT ?? 0)} of the ${mean((e) => e.sent.REQUEST ?? 0)} it sent (means over ${each.length} peers)`;
}

/** Whether `v` is a RefusedBusy as a stats JSON holds it (read back by the testbed). */
export function isRefusedBusy(v: unknown): v is RefusedBusy {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return ['perConnection', 'backlog', 'shared'].every((k) => Number.isInteger(r[k]) && (r[k] as number) >= 0);
}

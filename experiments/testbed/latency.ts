// Latency in the namespace testbed. Checked on this kernel (6.18, /proc/config.gz): no netem;
// cls_bpf is there but no fq, the only qdisc that holds packets to a BPF-set EDT timestamp;
// tbf's `latency` is only its queue limit, not a delay; NFQUEUE is there, but a user-space daemon
// holding every packet (tens of thousands a second over 55 hosts) would cost more CPU than the
// peers on 2 shared cores. So latency is emulated above the network, experiment-only, per message:
// - slurpie peers (peer/node/experiment-delay.ts): SLURPIE_EXPERIMENT_DELAY_MS = latencyMs / 2 of
//   its own host and SLURPIE_EXPERIMENT_PEER_DELAYS the halves of hosts with another latency; each
//   WebSocket message is held on receipt, in order, for (a + b) / 2 when it comes from host a to
//   host b, so a request/answer pays a + b (the simulator's hop, experiments/sim/network.ts).
// - the source: SLURPIE_EXPERIMENT_SOURCE_DELAYS (experiments/source/response-delay.ts) holds
//   every request from a peer the round trip source.latencyMs + peer.latencyMs before answering,
//   so each Range GET's first byte pays the RTT, for every system (curl and BitTorrent web-seed
//   requests too).
// Not emulated: TCP's own round trips (connect, WebSocket upgrade, slow start and window growth
// at the RTT: with ~0.05 ms real RTT a window opens at once), loss, jitter; topology-server
// requests; BitTorrent's peer-to-peer traffic (no hook in WebTorrent or libtorrent).
import { formatSourceDelays, SOURCE_DELAYS_ENV } from '../source/response-delay.ts';
import { DELAY_ENV, PEER_DELAYS_ENV } from '../../peer/node/experiment-delay.ts';
import type { PeerPlan } from '../scenarios/plan.ts';
import type { Scenario } from '../scenarios/scenario-file.ts';
import type { Testbed } from './netns.ts';

/** The source's environment: each peer host's round trip to it. */
export function sourceLatencyEnv(testbed: Testbed, s: Scenario, peers: PeerPlan[]): Record<string, string> {
  const rtt = new Map<string, number>();
  for (const p of peers) {
    const host = testbed.hosts.get(p.id);
    if (host) rtt.set(host.ip, s.source.latencyMs + p.link.latencyMs);
  }
  const value = formatSourceDelays(rtt);
  return value === '' ? {} : { [SOURCE_DELAYS_ENV]: value };
}

/** A slurpie peer's environment: half its host's one-way latency, and the halves of hosts unlike it. */
export function peerLatencyEnv(peer: PeerPlan, testbed: Testbed, peers: PeerPlan[]): Record<string, string> {
  const env: Record<string, string> = peer.link.latencyMs > 0 ? { [DELAY_ENV]: String(peer.link.latencyMs / 2) } : {};
  const others = peers
    .filter((p) => p.link.latencyMs !== peer.link.latencyMs)
    .flatMap((p) => {
      const ip = testbed.hosts.get(p.id)?.ip;
      return ip === undefined ? [] : [`${ip}=${p.link.latencyMs / 2}`];
    });
  if (others.length > 0) env[PEER_DELAYS_ENV] = others.join(',');
  return env;
}

/** What the results say about latency (`approximations`). */
export function latencyNotes(s: Scenario, peers: PeerPlan[], emulated: boolean): string[] {
  const any = s.source.latencyMs > 0 || peers.some((p) => p.link.latencyMs > 0);
  if (!any) return [];
  if (!emulated) return ['latency is not emulated (--no-latency): hosts are ~0.05 ms apart whatever latencyMs says'];
  return [
    'latency is emulated per message, not per packet (no netem on this kernel): a slurpie peer holds each message it receives for the one-way latency (a + b) / 2 between the two hosts, and the source answers each request after the round trip source.latencyMs + peer.latencyMs',
    'not emulated: TCP round trips (connect, slow start, window growth), loss, jitter, topology-server requests, and BitTorrent peer-to-peer messages (only its web-seed requests wait)',
  ];
}

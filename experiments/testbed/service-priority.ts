// The hosts that serve an experiment but are not under test (the source, the topology server,
// BitTorrent's tracker) had machines of their own in the paper's testbed. Here they share two
// cores with 48 peers, and a source process waiting its turn behind them leaves its link idle:
// each Range GET is a request to accept, a file to read and a socket to fill, and at lan-48 a
// run is 1.5 blocks on average. So they run at a higher priority (nice -10): they use little
// CPU, and what they use they get when they need it. Every system meets the same source.
import { setPriority } from 'node:os';
import type { Child } from '../swarm/processes.ts';

export const SERVICE_NICE = -10;

/** Runs `child` ahead of the peers (needs root, as the testbed does); returns it. */
export function asService(child: Child): Child {
  try {
    setPriority(child.pid, SERVICE_NICE);
  } catch {
    // not permitted (not root): it runs at the peers' priority, as before
  }
  return child;
}

// What a peer reports about itself (PROTOCOL.md §10 stats JSON, and the simulator).
import type { BandwidthState } from '../../estimation/bandwidth.ts';

export interface PeerStats {
  meanDegree: number; // d̄ seen in updates
  diameter: number; // max hops seen
  bandwidthState: BandwidthState;
  timeInState: Record<BandwidthState, number>; // ms
  dataConnectionsTarget: number;
  updateIntervalMs: number;
  fromSource: number;
  fromPeers: number;
  uploaded: number;
  maxDataConnections: number;
  sourceRequests: number;
  sourceRounds: number;
  peersSeen: number;
  groupSizeEstimate: number; // median of the per-round estimates while downloading
  groupSizeNow: number; // the estimate at this moment (drops as peers leave)
  neighbors: number;
  connections: number;
  blocks: number;
  blocksHave: number;
  bannedPeers: number;
}

/** One sample a round, in bounded memory: past `max` samples, every other one is dropped. */
export class RoundSamples {
  private values: number[] = [];

  constructor(private readonly max = 4096) {}

  get length(): number {
    return this.values.length;
  }

  push(value: number): void {
    this.values.push(value);
    if (this.values.length > this.max) this.values = this.values.filter((_, i) => i % 2 === 0);
  }

  median(): number {
    const sorted = [...this.values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] as number;
  }
}

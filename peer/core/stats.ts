// What a peer reports about itself (PROTOCOL.md §10 stats JSON, and the simulator).
import type { BandwidthState } from '../../estimation/bandwidth.ts';
import type { RefusedBusy } from './serving.ts';
import { estimateFromRegisters, hashId, registerAndRank } from '../../estimation/hyperloglog.ts';

export interface PeerStats {
  meanDegree: number; // d̄ seen in updates
  diameter: number; // max hops seen
  bandwidthState: BandwidthState;
  timeInState: Record<BandwidthState, number>; // ms
  dataConnectionsTarget: number;
  updateIntervalMs: number; // the bandwidth controller's flood period
  loadStretch: number; // the control traffic's periods are this many times longer: the host is busy (host-load.ts)
  hostLagMs: number; // the mean lateness of our periodic timers
  stretchedSeconds: number; // how long the control traffic has been stretched, in all
  fromSource: number;
  fromPeers: number;
  uploaded: number;
  refusedBusy: RefusedBusy; // REQUESTs we refused `busy`, by why (serving.ts)
  maxDataConnections: number;
  sourceRequests: number;
  sourceRounds: number;
  peersSeen: number; // distinct peers heard of: exact up to about 10, then within about 13% (a 64-register HyperLogLog)
  groupSizeEstimate: number; // median of the per-round estimates while downloading
  groupSizeNow: number; // the estimate at this moment (drops as peers leave)
  neighbors: number;
  connections: number;
  blocks: number;
  blocksHave: number;
  bannedPeers: number;
  disputes: number; // blocks fetched from the source to settle whose digest was right
  badDigests: number; // BLOCKs whose bytes did not match the digest sent with them
  tenthsAtMs: readonly number[]; // when it came to hold each tenth of the blocks (its clock): where a download slowed
}

/** When a peer came to hold each tenth of its blocks: at most 10 numbers, whatever the file. */
export class TenthMarks {
  readonly atMs: number[] = [];

  constructor(private readonly blocks: number) {}

  note(now: number, have: number): void {
    while (this.atMs.length < 10 && have * 10 >= (this.atMs.length + 1) * this.blocks) this.atMs.push(now);
  }
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

/**
 * How many distinct peers we heard of, in 64 bytes whatever the swarm's size (a HyperLogLog:
 * exact for a handful, within about 13% beyond; a set of ids would cost kilobytes a peer).
 */
export class DistinctCount {
  private readonly registers = new Uint8Array(64);

  add(id: string): void {
    const { register, rank } = registerAndRank(hashId(id), 6);
    if (rank > (this.registers[register] ?? 0)) this.registers[register] = rank;
  }

  get count(): number {
    return Math.round(estimateFromRegisters(this.registers, 6));
  }
}

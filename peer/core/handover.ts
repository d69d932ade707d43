// The hand-over: a finished peer leaves once no one has asked it for a block for
// `handoverMs` (at most `maxHandoverMs` after finishing; at once if it has no connection, or
// if every peer it is connected to says it holds the whole file: none of them will ask).
// A crowd that finishes together would otherwise leave its stragglers with no one to ask
// for the last blocks, and send them to the source for copies the swarm had a moment ago.
// Measured at 1,000 simulated peers: without it, the last peers took up to 3.3 T_min and the
// source served 1.44 copies; with it, 1.14 T_min and 1.07 copies.
// A peer that holds a block it fetched from the source and never sent anyone may hold the
// swarm's only copy, whose news may not have reached anyone yet: it stays the whole
// `maxHandoverMs` while someone may ask. (Simulated lan-48, CPU modelled, two GETs in flight:
// a holder finished on such a block, no one asked in 2 s, and 47 peers waited 8 s for the
// source to send it again.)
// The cap was 10 s. On the testbed's planetlab-55 the last arrivals on slow links (1.25 MB/s
// down) then lost their fast holders 10 s after those finished and fetched the rest from slow
// ones (250 KB/s up), a block a second shared among them, until starving sent them to the
// source: 34–81 s for peers the model finishes in 32–39, and 1.00–1.21 F (median 1.07). With
// 30 s (four alternating pairs, 2026-12-03): 34–44 s, 1.00–1.02 F, the slowest peer 1.55–1.87
// T_min against 1.79–3.00; the simulator the same at lan-12, lan-48, mixed-16 and 1,000 peers.
import type { PeerParams } from './params.ts';

export class Handover {
  private completedAt = Infinity;
  private lastAskedAt = -Infinity; // a peer last asked us for a block
  private readonly unshared = new Set<number>(); // blocks from the source we have not sent anyone
  private departed = false;

  constructor(
    private readonly params: Pick<PeerParams, 'handoverMs' | 'maxHandoverMs'>,
    /** Whether a peer we are connected to may still ask: it has no connection, or its latest entry lacks a block. */
    private readonly someoneMayAsk: () => boolean,
  ) {}

  /** Every block is stored. */
  completed(now: number): void {
    this.completedAt = now;
  }

  /** A block arrived from the source. */
  fromSource(index: number): void {
    this.unshared.add(index);
  }

  /** We sent a block to a peer. */
  served(index: number): void {
    this.unshared.delete(index);
  }

  /** Someone asked us for a block. */
  asked(now: number): void {
    this.lastAskedAt = now;
  }

  /** When we may leave (Infinity: not finished, or gone already). */
  deadline(): number {
    if (this.completedAt === Infinity || this.departed) return Infinity;
    // A crowd that finishes together would otherwise wait out `handoverMs` with no one to serve.
    if (!this.someoneMayAsk()) return this.completedAt;
    if (this.unshared.size > 0) return this.completedAt + this.params.maxHandoverMs;
    return Math.min(Math.max(this.completedAt, this.lastAskedAt) + this.params.handoverMs, this.completedAt + this.params.maxHandoverMs);
  }

  /** True once, when the hand-over is over at `now`. */
  due(now: number): boolean {
    if (now < this.deadline()) return false;
    this.departed = true;
    return true;
  }
}

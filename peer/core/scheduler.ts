// The block scheduler (PROTOCOL.md §6): which block to ask of whom, and what happens to a
// request afterwards (answer, REJECT, timeout, endgame).
//
// - Block choice: among the blocks a peer has and we have not taken (blocks.ts), a uniformly
//   random one (the paper's rule); when streaming (params.inOrderWindow = W > 0), a random one
//   of the W lowest-numbered, so the prefix fills first.
// - Data connections: up to `dataConnections` peers at once (the bandwidth controller sets
//   it), `pipeline` requests outstanding on each; peers we already download from keep their
//   place, idle ones fill the rest in turn from a random place. Too few holders connected: dial one.
// - A request unanswered for `requestTimeoutMs` goes back to the pool and is a strike (not
//   while the peer's fresh entry says it is fetching from the source: expireRequests); a
//   peer with strikes gets one request at a time (probation); `maxStrikes` drops it for a
//   while (reputation.ts). REJECT busy: no requests to it for a round, then one at a time
//   until it delivers. REJECT missing: we believe it, clear the bit, and count a strike.
// - A download limit (download-budget.ts): a request waits until the budget allows its block;
//   the budget books the wake-up.
// - Endgame: when nothing is left to ask for, a request outstanding for `endgameAfterMs` is
//   asked once more of another idle holder; the first copy to arrive wins.
// - A BLOCK is checked before it is kept (digests.ts): one we never asked for, or whose bytes
//   do not match the digest its sender put on it, gets the sender banned and is dropped; one
//   another connection contradicts is disputed and fetched from the source instead.
import type { BandwidthController } from '../../estimation/bandwidth.ts';
import { pick, randomInt, type Rng } from '../../estimation/random.ts';
import type { BlockTable } from './blocks.ts';
import { countAndNot, hasBit, nthAndNot } from './bits.ts';
import { noteAnswered, noteAsked, type Conn } from './connection.ts';
import { digestsEqual, type BlockDigests, type Claim } from './digests.ts';
import type { DownloadBudget } from './download-budget.ts';
import type { PeerEvent } from './events.ts';
import type { Block, PeerId, RejectReason } from './messages.ts';
import type { Mesh } from './mesh.ts';
import type { OriginCache } from './origin-cache.ts';
import { ViewMemo } from './view-memo.ts';
import type { Outbox } from './outbox.ts';
import type { PeerParams } from './params.ts';
import type { Reputation } from './reputation.ts';
import type { CloseCode, Violation } from './violations.ts';

/** A random block set in `remote` and clear in `taken` (of the `window` lowest such, when > 0), or -1 when there is none. */
export function pickBlock(rng: Rng, remote: ArrayLike<number>, taken: ArrayLike<number>, window = 0): number {
  const candidates = countAndNot(remote, taken);
  if (candidates === 0) return -1;
  return nthAndNot(remote, taken, randomInt(rng, window > 0 ? Math.min(window, candidates) : candidates));
}

/**
 * Requests `conn` may have outstanding. On probation (a request timed out) or after a busy
 * REJECT, one until it delivers: a busy peer refused most of a full pipeline again a round
 * later, and each refusal is a REQUEST and a REJECT of CPU for both ends (lan-48 in the simulator: busy
 * REJECTs 131 → 84 a peer, mean time 1.55 → 1.45 T_min; mixed-16 and planetlab-55 unchanged).
 */
export function pipelineOf(conn: Conn, pipeline: number): number {
  return conn.strikes > 0 || conn.refusedBusy ? 1 : pipeline;
}

export interface SchedulerDeps {
  params: PeerParams;
  rng: Rng;
  out: Outbox;
  blocks: BlockTable;
  cache: OriginCache;
  mesh: Mesh;
  reputation: Reputation;
  bandwidth: BandwidthController;
  digests: BlockDigests;
  budget: DownloadBudget | null; // a download limit: requests wait for it (download-budget.ts)
  blockLength: (index: number) => number;
  /** The bytes of a block arrived from a peer, checked: store them. */
  accept: (now: number, index: number, data: Uint8Array, from: PeerId, digest: Uint8Array, witnessed: boolean) => void;
  /** Peers disagree about a block: fetch it from the source to settle who lied. */
  dispute: (now: number, index: number, claims: readonly Claim[]) => void;
  /** Drop a connection that wastes our requests, and keep its peer away for a while. */
  penalize: (now: number, conn: Conn, code: CloseCode, reason: string) => void;
}

/**
 * Whether an event may change what fill() works from. Uploads, news that changes no one's
 * holdings (UPDATE: a view change is reported by the flood) and digest claims do not, so the
 * core skips the fill after them.
 */
export function mayChangeSchedule(event: PeerEvent): boolean {
  if (event.type === 'served' || event.type === 'serveFailed') return false;
  return !(event.type === 'message' && (event.msg.type === 'REQUEST' || event.msg.type === 'UPDATE' || event.msg.type === 'DIGESTS'));
}

export class Scheduler {
  maxDataConnections = 0; // most peers downloaded from at once (stats)
  // No request asked of one peer only has a deadline before this (a lower bound: requests
  // only end or are asked twice between scans), so the endgame finds nothing stuck until
  // then: it runs on most events near the end, and most of them found nothing.
  private earliestDeadline = Infinity;
  // Blocks someone in view has that we have not taken.
  private readonly wanted: ViewMemo<number>;

  constructor(private readonly d: SchedulerDeps) {
    this.wanted = new ViewMemo(d.cache.tree, d.blocks, (tree, taken) => tree.countWanted(taken));
  }

  /** Keep up to `pipeline` requests on each of up to `dataConnections` peers that have what we miss. */
  fill(now: number): void {
    const open = this.d.mesh.open;
    const target = this.d.bandwidth.dataConnections;
    const wanted = this.wanted.get();
    if (wanted === 0 && this.d.blocks.inFlightCount === 0) return; // no one we know has anything for us
    // With nothing wanted the loops below only count active peers for the high-water mark,
    // which cannot rise past target: skip them once it is there (the usual state while the
    // source is the bottleneck; walking every connection on each event cost a tenth of the simulator).
    if (wanted === 0 && this.maxDataConnections >= target) return this.endgame(now);
    let active = 0;
    // Peers we already download from keep their place...
    for (const conn of open) {
      if (active >= target) break;
      if (conn.requests.size === 0 || now < conn.busyUntil) continue;
      if (wanted > 0) this.topUp(now, conn);
      active++;
    }
    // ...and idle ones fill the rest, taken in turn from a random place (if anyone in our view
    // has a block we have not taken: often, while the source is the bottleneck, no one has).
    const n = active < target && wanted > 0 ? open.length : 0;
    const start = n > 0 ? randomInt(this.d.rng, n) : 0;
    for (let i = 0; i < n && active < target; i++) {
      const conn = open[(start + i) % n] as Conn;
      if (conn.requests.size > 0 || now < conn.busyUntil) continue;
      this.topUp(now, conn);
      if (conn.requests.size > 0) active++;
    }
    this.maxDataConnections = Math.max(this.maxDataConnections, active);
    if (active < target && n > 0) this.dialHolder(now);
    if (wanted === 0) this.endgame(now);
  }

  // Requests to `conn` for blocks it has and we have not taken, up to its pipeline.
  private topUp(now: number, conn: Conn): void {
    const { params, rng, blocks, out, budget } = this.d;
    const bits = this.d.cache.get(conn.peerId as PeerId)?.bits;
    if (!bits) return;
    const pipeline = pipelineOf(conn, params.pipeline);
    while (conn.requests.size < pipeline) {
      if (budget && !budget.allows(now, params.blockSize)) break;
      const index = pickBlock(rng, bits, blocks.taken, params.inOrderWindow);
      if (index < 0) break;
      budget?.take(now, this.d.blockLength(index));
      blocks.request(index, conn.id);
      const deadline = now + params.requestTimeoutMs;
      conn.requests.set(index, deadline);
      if (deadline < this.earliestDeadline) this.earliestDeadline = deadline;
      noteAsked(conn, index);
      conn.lastUsedAt = now;
      out.send(conn.id, { type: 'REQUEST', index });
    }
  }

  // Whether `conn` has requests out and its fresh entry says it is fetching from the source.
  private waitsOnSource(now: number, conn: Conn): boolean {
    const origin = conn.requests.size > 0 && conn.peerId ? this.d.cache.get(conn.peerId) : undefined;
    return origin !== undefined && origin.sourceBusy && now - origin.heardAt <= this.d.params.staleMs;
  }

  /**
   * Once a round: requests past their deadline go back to the pool, each a strike, unless
   * the peer's fresh entry says it is fetching from the source: it advertises those blocks
   * from the start of its GET and serves our requests as they arrive (serving.ts), so a slow
   * source is not its fault. A silent peer sends no fresh entries and is struck.
   */
  expireRequests(now: number): void {
    const { blocks, reputation } = this.d;
    for (const conn of this.d.mesh.conns.values()) {
      const excused = this.waitsOnSource(now, conn);
      for (const [index, deadline] of conn.requests) {
        if (deadline > now) continue;
        conn.requests.delete(index);
        blocks.release(index, conn.id);
        if (!excused) conn.strikes++;
      }
      if (reputation.outOfStrikes(conn)) this.d.penalize(now, conn, 'TOO_SLOW', 'too slow: requests timed out');
    }
  }

  /** A BLOCK from `conn`. Returns a violation when it must be banned. */
  onBlock(now: number, conn: Conn, msg: Block, actual: Uint8Array): Violation | null {
    const { blocks, digests } = this.d;
    const { index, data } = msg;
    if (index >= blocks.count) return { code: 'INDEX_RANGE', detail: `block ${index} out of range` };
    const expected = this.d.blockLength(index);
    if (data.length !== expected) return { code: 'BLOCK_LENGTH', detail: `sent block ${index} with ${data.length} bytes, expected ${expected}` };
    // Pushed at us: it would cancel someone else's request for the block. Nothing of it is kept.
    if (!noteAnswered(conn, index)) return { code: 'UNREQUESTED_BLOCK', detail: `sent block ${index}, which we never asked of it` };
    conn.lastUsedAt = now;
    if (conn.requests.delete(index)) this.d.reputation.delivered(conn);
    conn.refusedBusy = false;
    if (!digestsEqual(msg.digest, actual)) {
      digests.badDigests++;
      blocks.release(index, conn.id); // (if it still held the request)
      return { code: 'BAD_DIGEST', detail: `block ${index}: the bytes do not match the digest it sent with them` };
    }
    const state = blocks.state(index);
    if (state === 'have' || state === 'storing' || state === 'fromSource') return null;
    // Asked of another peer too (endgame), or a late answer after a timeout: first one wins.
    const owner = blocks.owner(index);
    if (state === 'requested' && owner !== conn.id) this.d.mesh.get(owner as number)?.requests.delete(index);
    const witness = digests.witness(index, actual, conn, this.d.mesh.open);
    if (witness.verdict === 'disputed') {
      if (state === 'requested') blocks.release(index, owner as number);
      this.d.dispute(now, index, [{ peerId: conn.peerId as PeerId, digest: actual }, ...witness.against]);
      return null;
    }
    blocks.storing(index, conn.id);
    this.d.accept(now, index, data, conn.peerId as PeerId, actual, witness.verdict === 'witnessed');
    return null;
  }

  onReject(now: number, conn: Conn, index: number, reason: RejectReason): void {
    noteAnswered(conn, index);
    if (!conn.requests.delete(index)) return;
    this.d.blocks.release(index, conn.id);
    if (reason === 'busy') {
      conn.busyUntil = now + this.d.params.roundMs;
      conn.refusedBusy = true;
      return;
    }
    // It advertised a block it does not have: believe the REJECT, count it against it.
    if (conn.peerId) this.d.cache.clearBit(conn.peerId, index);
    if (this.d.reputation.strike(conn)) this.d.penalize(now, conn, 'FALSE_CLAIMS', 'advertises blocks it does not have');
  }

  /** A connection went away: what we asked of it goes back to the pool. */
  onDown(conn: Conn): void {
    for (const index of conn.requests.keys()) this.d.blocks.release(index, conn.id);
  }

  // Endgame: nothing is left to ask for, only answers to wait for. A block awaited for
  // `endgameAfterMs` from one peer is asked once more of another idle holder, so a slow or
  // silent peer cannot hold the last blocks hostage; the first copy to arrive is kept.
  private endgame(now: number): void {
    const { params, blocks, cache, mesh, out } = this.d;
    if (blocks.inFlightCount === 0) return; // (called when no one in view has anything else for us)
    // The requests that have waited long enough, asked of one peer only (usually none).
    const askedBefore = now - params.endgameAfterMs + params.requestTimeoutMs; // as a deadline
    if (this.earliestDeadline > askedBefore) return; // none yet (and nothing else here has effects)
    // Nobody could take a second request (busy, on probation, pipeline full): nothing to do,
    // and no need to look up every request in flight.
    if (!mesh.open.some((conn) => this.endgameTaker(now, conn))) return;
    const stuck: [number, number][] = []; // block, the connection it was asked of
    let earliest = Infinity;
    for (const [index, owner] of blocks.inFlight()) {
      if (blocks.state(index) !== 'requested' || blocks.askedTwice(index)) continue;
      const deadline = mesh.get(owner as number)?.requests.get(index);
      if (deadline === undefined) continue;
      if (deadline < earliest) earliest = deadline;
      if (deadline <= askedBefore) stuck.push([index, owner as number]);
    }
    this.earliestDeadline = earliest;
    if (stuck.length === 0) return;
    for (const conn of mesh.open) {
      if (!this.endgameTaker(now, conn)) continue;
      const bits = cache.get(conn.peerId as PeerId)?.bits as Uint8Array;
      for (const [index, owner] of stuck) {
        if (owner === conn.id || blocks.askedTwice(index) || !hasBit(bits, index)) continue;
        if (this.d.budget && !this.d.budget.allows(now, this.d.blockLength(index))) return; // a second copy is bytes too
        this.d.budget?.take(now, this.d.blockLength(index));
        blocks.markAskedTwice(index);
        conn.requests.set(index, now + params.requestTimeoutMs);
        noteAsked(conn, index);
        out.send(conn.id, { type: 'REQUEST', index });
        break;
      }
    }
  }

  // Whether `conn` may be asked for a block already asked of another (its bitfield aside).
  private endgameTaker(now: number, conn: Conn): boolean {
    if (now < conn.busyUntil || conn.strikes > 0 || conn.requests.size >= pipelineOf(conn, this.d.params.pipeline)) return false;
    return this.d.cache.get(conn.peerId as PeerId) !== undefined;
  }

  // Open a data connection to someone in our view that has a block we still need.
  private dialHolder(now: number): void {
    const { rng, blocks, cache, mesh, reputation, params } = this.d;
    if (mesh.dialing.size >= 2 || !mesh.hasRoom()) return;
    const index = pickBlock(rng, cache.tree.root(), blocks.taken, params.inOrderWindow);
    if (index < 0) return;
    // No Set of the connected ids: this runs on most events while holders are few.
    const holders = cache.holders(index).filter((id) => !mesh.isConnected(id) && !mesh.dialing.has(id) && !reputation.avoided(id, now));
    const id = pick(rng, holders);
    const origin = id === undefined ? undefined : cache.get(id);
    if (origin) mesh.dial({ id: origin.id, host: origin.host, port: origin.port }, false);
  }
}

// One Slurpie peer as a pure state machine (DESIGN.md). Theory of operation:
//
// INPUTS AND OUTPUTS. The driver (peer/node with sockets and files, the simulator, the
// tests) calls `handle(now, event)` for everything that happens and carries out the actions
// it returns, in order; `nextDeadline()` says when to call `handle(now, { type: 'tick' })`.
// There is no other way in or out: no socket, clock, timer or Math.random in here. Time is
// the driver's monotonic clock in ms; randomness is the seeded Rng in the config, so one
// seed replays a run exactly.
//
// OBJECT GRAPH. PeerCore (this file) owns the parts and routes events between them:
//   blocks.ts        BlockTable: each block's state and owner (the block lifecycle)
//   mesh.ts          Mesh: known peers, dials, connections (connection.ts), neighbors, rewiring
//   flood.ts         Flood: our own UPDATE entry, forwarding, the per-connection entry budget
//   origin-cache.ts  OriginCache: the U origins we track, over the OR update tree (update-tree.ts)
//   scheduler.ts     Scheduler: which block from whom, request timeouts, the endgame
//   serving.ts       Uploads: requests from others, the serve cap, waiting for source blocks
//   source-policy.ts SourcePolicy: k/n draws, leases, runs, the last-block rule, giving up
//   source-fetch.ts  SourceFetch: starts the runs the policy decides on, takes and returns their blocks
//   digests.ts       BlockDigests: per-block integrity: BLOCK digests, vouching, disputes the source settles
//   handover.ts      Handover: when a finished peer may leave;  download-budget.ts: a download limit
//   reputation.ts    Reputation: strikes, probation, penalties, bans
//   timers.ts        TimerTable: the named deadlines;  outbox.ts: the actions of one call
//   group-size.ts    GroupSize: n for k/n from the estimators in estimation/ (swarm-size, group-size)
//   origin-refs.ts   per-connection origin refs: UPDATEs carry only what changed
//   swarm-known.ts   SwarmKnown: blocks someone in the swarm has or is fetching (gossiped)
//   estimation/      BandwidthController (§7) and the size estimators (§8), pure
//
// BLOCK LIFECYCLE (blocks.ts): missing -> requested (asked of a connection) or fromSource (in a
// Range GET) -> storing (bytes handed to the driver) -> have. A timeout, REJECT, closed connection
// or short GET sends a block back to missing. A BLOCK is kept only if we asked for it and its bytes
// match its digest and no other connection's (digests.ts); a disputed block goes to fromSource
// instead, fetched alone to settle who lied. Blocks streaming from the source are advertised at
// once, so requests for them queue with us (serving.ts) instead of reaching the source again.
//
// CONNECTION LIFECYCLE (connection.ts): dialling -> helloSent (outbound) or awaitingHello
// (inbound) -> open (data only) or neighbor (a mesh link, carries floods) -> closed.
//
// TIMERS (timers.ts): `flood` (send UPDATEs; period set by the bandwidth controller, stretched
// while these timers fire late: host-load.ts), `round` (adapt, expire requests and stale origins,
// keep η neighbors), `rewire` (at the next round), `source` (the next draw or run), `budget` (a
// download limit allows what it refused). nextDeadline() is the earliest.
//
// DRIVER CONTRACT: what a driver must answer to each action is in events.ts. Everything a peer
// sends is untrusted: the handlers check every field and length, and a violation (violations.ts)
// closes the connection and bans the peer.
import type { BandwidthController } from '../../estimation/bandwidth.ts';
import { DEFAULT_HOST_LOAD_PARAMS, HostLoad, stretched } from '../../estimation/host-load.ts';
import type { Rng } from '../../estimation/random.ts';
import { isFull } from './bits.ts';
import { BlockTable } from './blocks.ts';
import { isOpen } from './connection.ts';
import { BlockDigests, type Claim } from './digests.ts';
import { EventLog } from './event-log.ts';
import { DownloadBudget, type DownloadPool } from './download-budget.ts';
import type { ConnId, PeerAction, PeerEvent } from './events.ts';
import { Flood } from './flood.ts';
import { Handover } from './handover.ts';
import { GroupSize } from './group-size.ts';
import type { Message, PeerId } from './messages.ts';
import { Mesh } from './mesh.ts';
import { OriginCache, pinReserve } from './origin-cache.ts';
import { Outbox } from './outbox.ts';
import { bandwidthControllerFor, resolveParams, type PeerParams } from './params.ts';
import { Discipline, Reputation } from './reputation.ts';
import { mayChangeSchedule, Scheduler } from './scheduler.ts';
import type { SwarmAuth } from './swarm-auth.ts';
import { SwarmKnown } from './swarm-known.ts';
import { Uploads } from './serving.ts';
import { SourceFetch } from './source-fetch.ts';
import { sourcePolicyFor, type SourcePolicy } from './source-policy.ts';
import { DistinctCount, TenthMarks, type PeerStats } from './stats.ts';
import { TimerTable } from './timers.ts';
import type { Violation } from './violations.ts';

export type { PeerStats } from './stats.ts';

export interface PeerConfig {
  id: PeerId;
  swarmId: string;
  host: string; // where we accept connections (sent in HELLO and in our update entry)
  port: number;
  size: number;
  params?: Partial<PeerParams>;
  rng: Rng;
  now: number;
  have?: Uint8Array; // blocks already on disk (resume)
  auth?: SwarmAuth; // a private swarm: peers prove they hold its key before anything else (swarm-auth.ts)
  downloadLimit?: number | DownloadPool; // bytes a second taken at most, from peers and the source together, or a pool shared with other cores (download-budget.ts)
  events?: boolean; // the protocol's events as debug log actions (event-log.ts: `get -v`)
}

export class PeerCore {
  readonly params: PeerParams;
  readonly blocks: number;
  private readonly fileSize: number;
  private readonly out = new Outbox();
  private readonly timers = new TimerTable();
  private readonly table: BlockTable;
  private readonly digests: BlockDigests;
  private readonly cache: OriginCache;
  private readonly reputation: Reputation;
  private readonly mesh: Mesh;
  private readonly flood: Flood;
  private readonly scheduler: Scheduler;
  private readonly uploads: Uploads;
  private readonly source: SourcePolicy;
  private readonly fetch: SourceFetch;
  private readonly bandwidth: BandwidthController;
  private readonly budget: DownloadBudget | null;
  private readonly load: HostLoad;
  private readonly size: GroupSize;
  private readonly seen = new DistinctCount();
  private readonly known: SwarmKnown;
  private readonly received = { fromSource: 0, fromPeers: 0 };
  private readonly tenths: TenthMarks;
  private completed = false;
  private readonly handover: Handover;
  private readonly discipline: Discipline;
  private schedule = true; // something the scheduler depends on may have changed
  private stopped = false; // left or gave up: no more actions

  constructor(cfg: PeerConfig) {
    const params = resolveParams(cfg.params);
    this.params = params;
    this.fileSize = cfg.size;
    this.blocks = Math.ceil(cfg.size / params.blockSize);
    const self = { id: cfg.id, swarmId: cfg.swarmId, host: cfg.host, port: cfg.port, size: cfg.size };
    const out = this.out;
    if (cfg.events) out.events = new EventLog(out);
    this.table = new BlockTable(this.blocks, cfg.have);
    (this.tenths = new TenthMarks(this.blocks)).note(cfg.now, this.table.haveCount);
    this.digests = new BlockDigests(this.blocks);
    this.known = new SwarmKnown(this.blocks);
    this.cache = new OriginCache(params.U, this.table.have.length, this.blocks, pinReserve(params.U));
    this.reputation = new Reputation(params);
    this.bandwidth = bandwidthControllerFor(params, cfg.now);
    const budget = (this.budget = cfg.downloadLimit === undefined ? null : new DownloadBudget(cfg.downloadLimit, params.blockSize, cfg.now));
    this.load = new HostLoad({ ...DEFAULT_HOST_LOAD_PARAMS, busyLagMs: params.busyLagMs, maxStretch: params.maxLoadStretch });
    this.source = sourcePolicyFor(cfg.rng, params, cfg.now);
    this.handover = new Handover(params, () => this.mesh.open.some((c) => !isFull(c.peerId ? this.cache.get(c.peerId)?.bits : undefined, this.blocks)));
    this.size = new GroupSize(params, () => this.mesh.known.size + 1, () => this.mesh.neighborCount());
    this.mesh = new Mesh({
      self, params, rng: cfg.rng, out, reputation: this.reputation,
      ...(cfg.auth && { auth: cfg.auth }),
      origins: () => this.cache.values(),
      onDown: (conn) => {
        this.scheduler.onDown(conn);
        // Its size report was a direct connection's: once we are not connected, it no longer counts.
        if (conn.peerId) this.size.swarm.forget(conn.peerId);
      },
      onLinked: (id) => this.cache.pinnedNow(id, (p) => this.mesh.isConnected(p)),
    });
    this.flood = new Flood({
      self, params, out, blocks: this.table, cache: this.cache, mesh: this.mesh,
      reputation: this.reputation, estimator: this.size.mesh, sizes: this.size.swarm, seen: this.seen, known: this.known,
      sourceBusy: () => this.source.busy, meshEstimate: (now) => this.size.usesMesh(now), sizeReport: (now) => this.size.report(now),
    });
    this.scheduler = new Scheduler({
      params, rng: cfg.rng, out, blocks: this.table, cache: this.cache, mesh: this.mesh,
      reputation: this.reputation, bandwidth: this.bandwidth, digests: this.digests, budget,
      blockLength: (i) => this.blockLength(i),
      accept: (now, index, data, from, digest, witnessed) => this.accept(now, index, data, from, digest, witnessed),
      dispute: (now, index, claims) => this.dispute(now, index, claims),
      penalize: (now, conn, code, reason) => this.discipline.penalize(now, conn, code, reason),
    });
    this.uploads = new Uploads(params, out, this.table, this.mesh, this.digests, (i) => this.cache.tree.anyHas(i));
    this.discipline = new Discipline({ self: cfg.id, params, out, reputation: this.reputation, mesh: this.mesh, cache: this.cache, size: this.size });
    this.fetch = new SourceFetch({
      policy: this.source, out, blocks: this.table, cache: this.cache, flood: this.flood, uploads: this.uploads, known: this.known,
      budget, blockSize: params.blockSize, blockLength: (i) => this.blockLength(i),
      groupSize: (now) => this.size.n(now), starvingGroupSize: (now, since) => this.size.starvingN(now, since),
      roundMs: params.roundMs,
      // A fresh count for a starving peer, unless its own is fresh enough: at 10^4 peers many
      // starve at once while the source is the bottleneck, and the topology server is one.
      refresh: (now) => {
        if (this.size.countOlderThan(now, 2 * params.needPeersEveryMs)) this.mesh.requestPeers(now, params.needPeersEveryMs);
      },
      accept: (now, index, data, digest) => {
        this.handover.fromSource(index);
        this.accept(now, index, data, 'source', digest, false);
      },
      unsettled: (index) => this.digests.drop(index),
    });
    this.timers.set('flood', cfg.now);
    this.timers.set('round', cfg.now);
    this.timers.set('rewire', cfg.now + params.reconnectPeriodMs);
  }

  get isComplete(): boolean {
    return this.table.complete;
  }

  blockLength(index: number): number {
    return Math.min(this.params.blockSize, this.fileSize - index * this.params.blockSize);
  }

  /** When the driver should next call `handle(now, { type: 'tick' })`. */
  nextDeadline(): number {
    if (this.stopped) return Infinity;
    const sourceIdle = this.completed || this.table.haveCount + this.table.storingCount >= this.blocks;
    // With a limit a draw or run waits for it: a lease held with the limit spent must not spin.
    this.timers.set('source', sourceIdle ? Infinity : Math.max(this.source.deadline(), this.budget?.nextRunAt(this.params.blockSize) ?? -Infinity));
    this.timers.set('budget', this.budget?.wakeAt() ?? Infinity);
    this.timers.set('depart', this.handover.deadline());
    this.timers.set('known', this.flood.knownDeadline());
    return this.timers.next();
  }

  handle(now: number, event: PeerEvent): PeerAction[] {
    if (this.stopped) return [];
    this.dispatch(now, event);
    if (!this.stopped) {
      if (!this.completed && this.table.complete) {
        this.onComplete(now); // e.g. resumed with every block already on disk
      }
      if (!this.completed) {
        // The scheduler runs only when something it depends on may have changed: most
        // events are UPDATEs that change nothing for it, and it looks at every connection.
        if (this.schedule) this.scheduler.fill(now);
        this.schedule = false;
        this.fetch.maybeFetch(now);
      }
    }
    return this.out.take();
  }

  /** n as the k/n draw would use it now. */
  groupSizeNow(now: number): number {
    return this.size.n(now);
  }

  /** Our mesh neighbors' ids (to measure the mesh from outside). */
  neighborIds(): PeerId[] {
    return this.mesh.open.filter((c) => c.state === 'neighbor').map((c) => c.peerId as PeerId);
  }

  stats(now: number): PeerStats {
    const group = this.size.meshSnapshot(now);
    return {
      meanDegree: group.meanDegree, diameter: group.diameter,
      bandwidthState: this.bandwidth.state, timeInState: this.bandwidth.timeInState(now),
      dataConnectionsTarget: this.bandwidth.dataConnections, updateIntervalMs: this.bandwidth.updateIntervalMs,
      loadStretch: this.load.stretch, hostLagMs: this.load.lagMs,
      stretchedSeconds: (this.load.stretchedRounds * this.params.roundMs) / 1000,
      fromSource: this.received.fromSource, fromPeers: this.received.fromPeers,
      uploaded: this.uploads.uploaded, refusedBusy: { ...this.uploads.refused },
      maxDataConnections: this.scheduler.maxDataConnections,
      sourceRequests: this.source.requests, sourceRounds: this.source.roundsWon,
      peersSeen: this.seen.count, groupSizeEstimate: this.size.typical(now), groupSizeNow: this.size.n(now),
      neighbors: this.mesh.neighborCount(), connections: this.mesh.conns.size,
      blocks: this.blocks, blocksHave: this.table.haveCount,
      bannedPeers: this.reputation.bannedCount, disputes: this.digests.disputesOpened, badDigests: this.digests.badDigests,
      tenthsAtMs: this.tenths.atMs.slice(),
    };
  }

  private dispatch(now: number, event: PeerEvent): void {
    if (mayChangeSchedule(event)) this.schedule = true;
    switch (event.type) {
      case 'tick':
        return this.onTick(now);
      case 'peers':
        if (event.count !== undefined) this.size.observeCount(now, event.count);
        this.out.events?.topology(event.peers.length, event.count);
        this.source.onPeers(now, event.peers.length === 0);
        this.mesh.learn(event.peers, now);
        return this.maintainNeighbors(now);
      case 'opened':
        return this.mesh.onOpened(now, event.conn, event.outbound, event.peerId);
      case 'connectFailed':
        this.mesh.onConnectFailed(event.peerId);
        return this.discipline.forget(event.peerId);
      case 'message':
        return this.onMessage(now, event.conn, event.msg, event.digest);
      case 'malformed':
        return this.discipline.violation(event.conn, { code: 'MALFORMED_FRAME', detail: `${event.code}: ${event.detail}` });
      case 'closed':
        return this.mesh.onClosed(event.conn, event.reason);
      case 'served':
        this.handover.served(event.index);
        return this.uploads.onServed(now, event.conn, event.index, event.bytes);
      case 'serveFailed':
        return this.uploads.onServeFailed(event.conn, event.index, event.reason);
      case 'sourceBlock':
        return this.fetch.onBlock(now, event.index, event.data, event.digest);
      case 'sourceEnd':
        if (!this.fetch.onEnd(now, event.ok, event.fatal ?? false, event.reason, event.first)) return;
        this.stopped = true;
        return this.out.push({ type: 'abort', code: 'SOURCE_FAILED', reason: event.reason ?? 'the source keeps failing' });
      case 'stored':
        return this.onStored(now, event.index);
      case 'ban':
        return this.discipline.ban(event.peerId, 'BAD_DATA', event.reason);
      case 'leave':
        this.stopped = true;
        return this.mesh.leave(event.reason);
    }
  }

  // ---- timers ---------------------------------------------------------------------

  private onTick(now: number): void {
    const { timers, params, load } = this;
    // The periodic timers' lateness: how long this process took to get to them.
    if (timers.due('flood', now)) load.observe(now - timers.get('flood'));
    if (timers.due('round', now)) load.observe(now - timers.get('round'));
    if (timers.due('budget', now)) this.budget?.woke(); // what it refused asks again (the tick runs the scheduler)
    this.maybeDepart(now);
    this.flood.spreadKnown(now);
    if (timers.due('flood', now)) {
      const stretch = load.stretch;
      this.flood.flood(now, stretch);
      this.digests.announce(now, this.mesh.open, params.digestEveryMs, this.out);
      timers.set('flood', now + stretched(this.bandwidth.updateIntervalMs, stretch, params.staleMs));
    }
    if (timers.due('round', now)) {
      timers.set('round', now + params.roundMs);
      load.evaluate();
      this.adapt(now);
      this.scheduler.expireRequests(now);
      for (const id of this.cache.expire(now, params.staleMs, this.mesh.connectedIds())) this.mesh.forget(id);
      this.mesh.closeIdle(now, params.idleLinkMs);
      if (timers.due('rewire', now)) {
        timers.set('rewire', now + params.reconnectPeriodMs);
        this.mesh.rewire(now);
      }
      this.maintainNeighbors(now);
      this.maybeDepart(now); // again: the round may have closed the last link that could ask
    }
  }

  // Every block is stored: say so (the driver verifies), and from now on only serve.
  private onComplete(now: number): void {
    this.completed = true;
    this.out.events?.complete(this.received.fromPeers, this.received.fromSource);
    this.handover.completed(now);
    this.out.push({ type: 'complete' });
    this.maybeDepart(now);
  }

  private maybeDepart(now: number): void {
    if (this.handover.due(now)) this.out.push({ type: 'depart' });
  }

  // Once a round: the three-state estimator sets how many peers we download from, how
  // often we flood, and how many neighbors we keep (PROTOCOL.md §7).
  private adapt(now: number): void {
    if (this.completed) return;
    this.size.sample(now);
    const wantMore = this.cache.tree.countWanted(this.table.taken) > 0 && !this.budget?.limited();
    this.bandwidth.evaluate(now, { wantMore, canAddDataConnection: wantMore && this.mesh.hasRoom() });
    this.out.events?.round(this.bandwidth, this.load.stretch, this.size.n(now));
  }

  private maintainNeighbors(now: number): void {
    if (!this.completed) this.mesh.maintain(now, this.bandwidth.neighbors);
  }

  // ---- messages -------------------------------------------------------------------

  private onMessage(now: number, id: ConnId, msg: Message, digest: Uint8Array | undefined): void {
    const conn = this.mesh.get(id);
    if (!conn) return;
    if (!isOpen(conn)) {
      if (msg.type === 'HELLO' && conn.state !== 'proving') {
        const opened = this.mesh.handshake(now, conn, msg, this.completed);
        if (!opened) return;
        this.seen.add(msg.peerId);
        if (opened === 'open') this.flood.greet(now, conn);
      } else if (conn.state === 'proving' && (msg.type === 'CHALLENGE' || msg.type === 'PROOF')) {
        const proved = this.mesh.prove(now, conn, msg.type === 'CHALLENGE' ? msg.nonce : null, msg.type === 'PROOF' ? msg.mac : null);
        if (proved === 'open') this.flood.greet(now, conn);
        else if (proved) this.discipline.violation(id, proved);
      } else if (msg.type === 'BYE') {
        this.mesh.refused(now, id, msg.reason); // e.g. it is full
      } else if (conn.state === 'proving') {
        this.discipline.violation(id, { code: 'UNAUTHENTICATED', detail: `${msg.type} before proving it holds the swarm key` });
      } else {
        this.discipline.violation(id, { code: 'MESSAGE_BEFORE_HELLO', detail: `${msg.type} before HELLO` });
      }
      return;
    }
    let violation: Violation | null = null;
    switch (msg.type) {
      case 'HELLO':
        violation = { code: 'SECOND_HELLO', detail: 'second HELLO' };
        break;
      case 'UPDATE':
        violation = this.flood.receive(now, conn, msg);
        if (this.flood.changedView) this.schedule = true;
        break;
      case 'REQUEST':
        this.handover.asked(now);
        conn.lastUsedAt = now;
        violation = this.uploads.onRequest(now, conn, msg.index);
        break;
      case 'BLOCK':
        if (!digest) throw new Error('driver contract: a BLOCK message comes with the digest of its bytes');
        violation = this.scheduler.onBlock(now, conn, msg, digest);
        break;
      case 'DIGESTS':
        violation = this.digests.onClaims(conn, msg.blocks);
        break;
      case 'REJECT':
        this.scheduler.onReject(now, conn, msg.index, msg.reason);
        break;
      case 'BYE':
        if (conn.peerId) this.discipline.forget(conn.peerId);
        this.mesh.close(id, 'PEER_LEFT', `peer left: ${msg.reason}`);
        break;
    }
    if (violation) {
      this.schedule = true; // the connection closes: what we asked of it goes back to the pool
      this.discipline.violation(id, violation);
    }
  }

  // ---- blocks ---------------------------------------------------------------------

  /** Bytes of a block arrived, checked, and are handed to the driver to store. */
  private accept(now: number, index: number, data: Uint8Array, from: PeerId | 'source', digest: Uint8Array, witnessed: boolean): void {
    this.bandwidth.recordBytes(now, data.length);
    if (from === 'source') this.received.fromSource += data.length;
    else this.received.fromPeers += data.length;
    this.digests.record(index, digest, from === 'source' || witnessed);
    this.out.push({ type: 'store', index, data, from, witnessed });
    if (from !== 'source') return;
    // The source's bytes settle any dispute about this block: whoever claimed otherwise lied.
    for (const liar of this.digests.settle(index, digest)) {
      this.discipline.ban(liar, 'FALSE_DIGEST', `its digest for block ${index} is not the source's`);
    }
  }

  // Peers disagree about a block's digest: fetch that block alone from the source.
  private dispute(now: number, index: number, claims: readonly Claim[]): void {
    this.digests.open(index, claims);
    this.out.log('warn', `peers disagree about block ${index}: asking the source`);
    this.fetch.settle(now, index);
  }

  private onStored(now: number, index: number): void {
    if (this.table.state(index) !== 'storing') return;
    this.table.stored(index);
    this.tenths.note(now, this.table.haveCount);
    this.fetch.progressed(now);
    this.flood.markDirty();
    this.uploads.onStored(index);
    if (this.table.complete && !this.completed) this.onComplete(now);
  }
}

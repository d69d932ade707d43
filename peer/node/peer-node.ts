// The driver of one peer: runs PeerCore against real sockets, the HTTP source, the
// .part file and timers. It makes no protocol decisions; it carries out actions.
import { performance } from 'node:perf_hooks';
import type { PeerCore } from '../core/peer.ts';
import type { ConnId, PeerAction, PeerEvent } from '../core/events.ts';
import type { Message, PeerId } from '../core/messages.ts';
import { isSlurpieError, SlurpieError } from '../errors.ts';
import type { PartFile } from '../storage/part-file.ts';
import { blockDigest } from '../storage/verify.ts';
import { BlockPool } from './block-pool.ts';
import { GcPacer } from './gc-pacer.ts';
import { ServeQueue } from './serve-queue.ts';
import { blockRun } from '../core/event-log.ts';
import { TokenBucket } from './token-bucket.ts';
import { fetchBlocks, type SourceInfo } from './source-client.ts';
import type { TopologyClient, TopologyProgress } from './topology-client.ts';
import type { Transport } from './transport.ts';
import type { SwarmFile } from '../../topology-server/swarm-file.ts';

export interface Membership {
  client: TopologyClient;
  swarmId: string;
  self: { id: PeerId; host: string; port: number };
  file?: SwarmFile; // sent with each registration: what the dashboard names the swarm
}

/** What the driver needs of the file: a .part file while downloading, the finished file when seeding. */
export type BlockStore = Pick<PartFile, 'readBlock' | 'writeBlock' | 'blockSize'>;

// Blocks held in memory while the disk catches up (4 MiB at 256 KiB): past this the source
// GET is paused and peers' sockets are not read, so a slow disk bounds memory instead of
// growing it with the file (issue #12: resident memory at most 100 MiB whatever the file size).
const MAX_WRITES_IN_FLIGHT = 16;

// Bytes received (from peers or the source) between two young-generation collections, where
// the peer process sets a collector (gc-pacer.ts).
const COLLECT_EVERY_BYTES = 2 * 1024 * 1024;

/** The digest an alone peer records for a source block: never sent, never compared. */
const UNSHARED_DIGEST = new Uint8Array(16);

export type LogFn = (level: 'debug' | 'info' | 'warn', msg: string) => void;

export interface PeerNodeOptions {
  /**
   * Bytes a second this peer sends blocks to other peers at most (--upload-limit), all
   * connections together. A capped serve waits before it goes out, so its delivery, and the
   * rate the core's upload backlog measures from it, keep to the cap: requests past what it
   * can send in time are refused busy and asked elsewhere. A TokenBucket is a limit shared
   * with other downloads in this process (SharedLimits: `slurpie proxy --upload-limit`).
   */
  uploadLimit?: number | TokenBucket | undefined;
  /** Log how long each Range GET took, at 'debug' (`get -v`, with the core's own events). */
  protocolEvents?: boolean;
}

export class PeerNode {
  private timer: NodeJS.Timeout | null = null;
  private timerFor = Infinity; // the core deadline `timer` is armed for
  private membership: Membership | null = null;
  private reregister: NodeJS.Timeout | null = null;
  private readonly stopping = new AbortController(); // ends the source GET, and serves waiting for the upload limit
  private stopped = false;
  private completeWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private departed = false;
  private departWaiters: (() => void)[] = [];
  private completed = false;
  private failure: Error | null = null;
  private sourceError: Error | null = null; // the last failed GET's error, reported if the core gives up
  /** Blocks stored this run whose digest another peer confirmed, or that came from the source. */
  readonly vouched = new Set<number>();
  private writing = 0; // blocks handed to the disk and not yet written
  private writeWaiters: (() => void)[] = [];
  /** Told of every block once it is in the part file (the in-order stream of `-o -` and the proxy). */
  onStored: ((index: number) => void) | null = null;
  private readonly pool: BlockPool;
  private readonly serves = new ServeQueue();
  private readonly served: BlockPool; // blocks read to be sent: framed (copied) at once, so used again
  private offered: Uint8Array | null = null; // the pooled block (from the source or a peer) being handed to the core
  private readonly gc = new GcPacer(COLLECT_EVERY_BYTES); // frees the buffers ws and undici read into
  private readonly uploads: TokenBucket | null; // --upload-limit
  private readonly sourceTimes: boolean; // -v: how long each Range GET took

  constructor(
    readonly core: PeerCore,
    private readonly part: BlockStore,
    private readonly source: SourceInfo,
    private readonly log: LogFn,
    readonly transport: Transport | null,
    options: PeerNodeOptions = {},
  ) {
    const limit = options.uploadLimit;
    this.uploads = limit === undefined ? null : typeof limit === 'number' ? new TokenBucket({ rate: limit, burst: part.blockSize }) : limit;
    this.sourceTimes = options.protocolEvents === true;
    this.pool = new BlockPool(part.blockSize);
    this.served = new BlockPool(part.blockSize);
    transport?.bind({
      opened: (conn, outbound, peerId) =>
        this.dispatch(peerId === undefined ? { type: 'opened', conn, outbound } : { type: 'opened', conn, outbound, peerId }),
      connectFailed: (peerId, reason) => this.dispatch({ type: 'connectFailed', peerId, reason }),
      message: (conn, msg) => (msg.type === 'BLOCK' ? this.received(conn, msg) : this.dispatch({ type: 'message', conn, msg })),
      malformed: (conn, code, detail) => this.dispatch({ type: 'malformed', conn, code, detail }),
      closed: (conn, reason) => {
        this.serves.forget(conn);
        this.dispatch({ type: 'closed', conn, reason });
      },
    });
  }

  now(): number {
    return performance.now();
  }

  /** Joins the swarm through the topology server; a failure leaves us downloading alone. */
  async join(membership: Membership, ttlHint: number): Promise<void> {
    this.membership = membership;
    await this.register(true);
    const every = Math.max(1000, (ttlHint * 1000) / 2);
    // Jittered, so a flash crowd that joined together does not renew (and refresh its counts) together.
    const next = (): void => {
      if (this.stopped) return;
      this.reregister = setTimeout(() => {
        void this.register();
        next();
      }, every * (0.75 + 0.5 * Math.random()));
      this.reregister.unref();
    };
    next();
  }

  start(): void {
    this.dispatch({ type: 'tick' });
  }

  /** Resolves when every block is stored; rejects on a fatal error. */
  whenComplete(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.completed) return Promise.resolve();
    return new Promise((resolve, reject) => this.completeWaiters.push({ resolve, reject }));
  }

  /** Resolves when the core's hand-over is done (it may leave), or once stopped. */
  whenDepartable(): Promise<void> {
    if (this.departed || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.departWaiters.push(resolve));
  }

  dispatch(event: PeerEvent): void {
    if (this.stopped) return;
    this.execute(this.core.handle(this.now(), event));
    this.schedule();
  }

  /** Sends BYE, deregisters and closes everything. */
  async leave(reason: string): Promise<void> {
    if (this.stopped) return;
    this.dispatch({ type: 'leave', reason });
    await this.stop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.departWaiters.splice(0)) w();
    for (const w of this.writeWaiters.splice(0)) w(); // a paused source GET sees the abort
    if (this.timer) clearTimeout(this.timer);
    if (this.reregister) clearTimeout(this.reregister);
    this.stopping.abort();
    const m = this.membership;
    if (m) await m.client.deregister(m.swarmId, m.self.id).catch(() => {});
    await this.transport?.stop();
  }

  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const w of this.completeWaiters.splice(0)) w.reject(err);
  }

  /** Downloading alone: tells the core there is no one else, so it goes straight to the source. */
  alone(): void {
    this.dispatch({ type: 'peers', peers: [] });
  }

  private async register(first = false): Promise<void> {
    const m = this.membership;
    if (!m || this.stopped) return;
    try {
      const answer = await m.client.register(m.swarmId, m.self, this.progress(), m.file);
      this.dispatch(answer.count === undefined ? { type: 'peers', peers: answer.peers } : { type: 'peers', peers: answer.peers, count: answer.count });
    } catch (err) {
      if (first) {
        this.log('warn', `${(err as Error).message}: downloading alone`);
        this.alone();
      } else {
        this.log('warn', `${(err as Error).message}; carrying on with the peers already known`);
      }
    }
  }

  /** What the topology server is told with each registration (its GET /metrics). */
  private progress(): TopologyProgress {
    const s = this.core.stats(this.now());
    return { fromSource: s.fromSource, fromPeers: s.fromPeers, uploaded: s.uploaded, blocksHave: s.blocksHave, blocks: s.blocks, done: this.completed || s.blocksHave === s.blocks };
  }

  // Most events leave the core's next deadline where it was (the next flood, say): the timer
  // armed for it then stays, instead of being cleared and set again after every event (12
  // peers of `bench:peer-cost -- 32 --peers 12 --rate 4`: 456 timers set instead of 12,722).
  private schedule(): void {
    if (this.stopped) return;
    const deadline = this.core.nextDeadline();
    if (this.timer && deadline === this.timerFor) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!Number.isFinite(deadline)) return;
    const delay = Math.max(0, deadline - this.now());
    this.timerFor = deadline;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.dispatch({ type: 'tick' });
    }, Math.ceil(delay));
  }

  private execute(actions: PeerAction[]): void {
    for (const action of actions) {
      switch (action.type) {
        case 'connect':
          this.transport?.connect(action.peerId, action.host, action.port);
          break;
        case 'send':
          this.transport?.send(action.conn, action.msg);
          break;
        case 'close':
          this.serves.forget(action.conn); // nothing more is sent on it
          this.transport?.close(action.conn, action.reason);
          break;
        case 'serve': {
          const { conn, index, digest } = action;
          this.serves.push(conn, () => this.serve(conn, index, digest));
          break;
        }
        case 'store':
          if (action.from === 'source' || action.witnessed) this.vouched.add(action.index);
          else this.vouched.delete(action.index);
          void this.store(action.index, action.data, action.from, this.takeOffered(action.data));
          break;
        case 'fetchSource':
          void this.fetchSource(action.first, action.count);
          break;
        case 'needPeers':
          void this.register();
          break;
        case 'abort':
          this.fail(this.sourceError ?? new SlurpieError('SOURCE_HTTP', action.reason));
          break;
        case 'depart':
          this.departed = true;
          for (const w of this.departWaiters.splice(0)) w();
          break;
        case 'complete':
          this.completed = true;
          for (const w of this.completeWaiters.splice(0)) w.resolve();
          void this.register(); // the topology server (its dashboard) learns at once that we are done
          break;
        case 'log':
          this.log(action.level, action.msg);
          break;
      }
    }
  }

  /** Where blocks are served from once the .part file has become the final file (--linger); into `into` when given. */
  serveFrom(read: (index: number, into: Buffer) => Promise<Uint8Array>): void {
    this.readBlock = read;
  }

  private readBlock = (index: number, into: Buffer): Promise<Uint8Array> => this.part.readBlock(index, into);

  /** Reads and sends one block; resolves once ws has handed the frame to the socket, tells the core `served` once the peer has it. */
  private async serve(conn: number, index: number, digest: Uint8Array | undefined): Promise<void> {
    const into = this.served.take(this.part.blockSize);
    let data: Uint8Array;
    try {
      data = await this.readBlock(index, into);
    } catch (err) {
      this.served.give(into);
      this.dispatch({ type: 'serveFailed', conn, index, reason: (err as Error).message });
      return;
    }
    const bytes = data.length;
    if (this.uploads) {
      try {
        await this.uploads.take(bytes, this.stopping.signal);
      } catch {
        this.served.give(into); // stopping
        return;
      }
    }
    const sent = new Promise<void>((resolve) => {
      const transport = this.transport;
      if (!transport) return resolve();
      transport.send(conn, { type: 'BLOCK', index, digest: digest ?? blockDigest(data), data }, () => resolve(), () => this.dispatch({ type: 'served', conn, index, bytes }));
    });
    this.served.give(into); // send framed it (a copy) or failed: either way it is done with it
    await sent;
  }

  /**
   * A block from a peer, moved to a pooled buffer at once: the buffer ws made for the message
   * (and the socket's chunks) is then dead before the next scavenge, freed young, instead of
   * living until the block is written and hashed, past two scavenges and into the old
   * generation, freed only at a full collection (issue #12; gc-pacer.ts).
   */
  private received(conn: ConnId, msg: Extract<Message, { type: 'BLOCK' }>): void {
    const data = this.pool.take(msg.data.length);
    data.set(msg.data);
    this.offered = data;
    this.dispatch({ type: 'message', conn, msg: { ...msg, data }, digest: blockDigest(data) });
    if (this.offered === data) this.pool.give(data); // not stored: free at once
    this.offered = null;
    this.gc.received(data.length);
  }

  /** If `data` is the pooled block being offered, the core has kept it: how to give it back. */
  private takeOffered(data: Uint8Array): (() => void) | undefined {
    if (data !== this.offered) return undefined;
    this.offered = null;
    return () => this.pool.give(data);
  }

  private async store(index: number, data: Uint8Array, from: PeerId | 'source', release: (() => void) | undefined): Promise<void> {
    this.writing++;
    if (this.writing >= MAX_WRITES_IN_FLIGHT) this.transport?.setReading(false); // peers wait too
    try {
      await this.part.writeBlock(index, data, from, release);
      this.onStored?.(index);
      this.dispatch({ type: 'stored', index });
    } catch (err) {
      this.fail(isSlurpieError(err) ? err : new SlurpieError('DISK', `cannot write block ${index}: ${(err as Error).message}`));
    } finally {
      this.writing--;
      if (this.writing < MAX_WRITES_IN_FLIGHT) {
        this.transport?.setReading(true);
        for (const w of this.writeWaiters.splice(0)) w();
      }
    }
  }

  /** Resolves once fewer than MAX_WRITES_IN_FLIGHT blocks wait for the disk. */
  private writesDrained(): Promise<void> | undefined {
    if (this.writing < MAX_WRITES_IN_FLIGHT || this.stopped) return undefined;
    return new Promise((resolve) => this.writeWaiters.push(resolve));
  }

  private async fetchSource(first: number, count: number): Promise<void> {
    const started = performance.now();
    try {
      const { bytes } = await fetchBlocks(this.source, first, count, this.part.blockSize, (index, data) => {
        // Alone (no transport) no one is told a digest or served a block: skip the second
        // SHA-256 pass over the file (the whole-file check still hashes every byte).
        const digest = this.transport ? blockDigest(data) : UNSHARED_DIGEST;
        this.offered = data;
        this.dispatch({ type: 'sourceBlock', index, data, digest });
        if (this.offered === data) this.pool.give(data); // not stored (the core had it): free at once
        this.offered = null;
        this.gc.received(data.length); // undici's chunks, copied into `data`, are dead
        return this.writesDrained(); // the source waits while the disk is behind
      }, { signal: this.stopping.signal, allocate: (length) => this.pool.take(length) });
      if (this.sourceTimes) this.logSourceRun(first, count, bytes, performance.now() - started);
      this.dispatch({ type: 'sourceEnd', ok: true, first });
    } catch (err) {
      if (this.stopped) return;
      // A changed file is fatal (never mix versions); how many other failures to bear is the core's call.
      this.sourceError = err as Error;
      const fatal = isSlurpieError(err) && err.code === 'SOURCE_CHANGED';
      this.dispatch({ type: 'sourceEnd', ok: false, first, reason: (err as Error).message, fatal });
    }
  }

  private logSourceRun(first: number, count: number, bytes: number, ms: number): void {
    const rate = ms > 0 ? ` (${(bytes / 1048576 / (ms / 1000)).toFixed(1)} MiB/s)` : '';
    this.log('debug', `source: ${blockRun(first, count)} in ${(ms / 1000).toFixed(2)} s${rate}`);
  }
}

// A deterministic discrete-event simulation of a Slurpie swarm (DESIGN.md: experiments/sim).
// Many unchanged PeerCore instances run in virtual time; this file is only their world:
// links, a topology server, an HTTP source and disks. One seed replays a run exactly.
//
// The model, kept simple on purpose:
// - Time is in milliseconds. Every hop (peer-peer, peer-source, peer-topology) has the
//   same one-way latency L.
// - A peer's uplink is a FIFO at `peerUp` bytes/s: its outgoing messages leave one after
//   another. Its downlink is a FIFO at `peerDown` bytes/s that books each message when
//   its first byte gets there (upload start + L). A message arrives at max(end of upload
//   + L, end of download) (cut-through): the slower of the two links sets the pace.
//   Messages on one connection arrive in order.
// - Message sizes: BLOCK = data + 8, UPDATE = Σ(bitfield + 40) + 4, others a few bytes.
// - The source is one link of `sourceRate` bytes/s shared equally (processor sharing) by
//   its active Range GETs, each capped at the peer's `peerDown`. Source traffic does not
//   book the peer's downlink FIFO (with the source the bottleneck this hardly matters).
//   A GET starts L after the peer asks and each block arrives L after the source sent it.
// - Connecting takes one round trip: the acceptor sees `opened` after L, the dialler
//   after 2L; a dial to a peer that left gets `connectFailed` after 2L. A close reaches
//   the other side after the data already sent on that connection.
// - The topology server answers each registration with the last β live registrants
//   (newest first), then registers the caller; answers take 2L. Peers re-register every
//   `reregisterMs` (the node does every ttl/2) and when the core asks (`needPeers`).
// - Disk writes take `diskMs`. A finished peer lingers `lingerMs`, then gets `leave`,
//   deregisters and disappears (dials to it fail, its connections close).
import { SeededRng } from '../../estimation/random.ts';
import type { ConnId, PeerAction, PeerAddress, PeerEvent } from '../../peer/core/events.ts';
import type { Message, PeerId } from '../../peer/core/messages.ts';
import { resolveParams, type PeerParams } from '../../peer/core/params.ts';
import { PeerCore, type PeerStats } from '../../peer/core/peer.ts';
import { EventQueue } from './event-queue.ts';

export interface SimScenario {
  peers: number;
  size: number; // file bytes
  blockSize?: number; // overrides params.blockSize
  sourceRate: number; // bytes/s
  peerUp: number; // bytes/s
  peerDown: number; // bytes/s
  latencyMs: number; // one way, every hop
  seed: number;
  arrivalSpreadMs?: number; // 0 (default): a flash crowd at t = 0; else arrivals uniform in [0, spread)
  params?: Partial<PeerParams>;
  maxSimSeconds?: number; // virtual time limit (default: max(3600 s, 100 × the fluid bound))
  lingerMs?: number; // a finished peer keeps serving this long (default 0)
  stallMs?: number; // no block stored anywhere for this long = a stall (default 60 s)
  diskMs?: number; // time to write a block (default 0.5 ms)
  reregisterMs?: number; // periodic re-registration (default 30 s, as the node with ttl 60 s)
}

export interface SimPeerResult {
  index: number;
  id: PeerId;
  arrivedMs: number;
  doneMs: number | null; // when the core said `complete`
  seconds: number | null; // doneMs - arrivedMs
  tailSeconds: number | null; // from holding 95% of the blocks to done (the last-block problem)
  upBusySeconds: number; // time its uplink spent sending
  stats: PeerStats | null; // at leave, or at the end of the run (null: had not arrived)
}

export interface SimMessageCount {
  count: number;
  bytes: number;
}

export interface SimResult {
  outcome: 'complete' | 'stalled' | 'timeout';
  problem: string | null; // one line when the outcome is not `complete`
  stuck: { index: number; blocksHave: number; blocks: number; connections: number; neighbors: number; known: number }[];
  peers: SimPeerResult[];
  completed: number;
  blocks: number;
  tMinSeconds: number; // F / u_s
  fluidBoundSeconds: number; // max(F/u_s, F/d, N F / (u_s + N u)): nothing can beat it
  meanSeconds: number; // over completed peers (NaN if none)
  maxSeconds: number;
  meanRatio: number; // meanSeconds / tMinSeconds
  maxRatio: number;
  sourceBytes: number;
  sourceRatio: number; // sourceBytes / size
  sourceRuns: number; // fetchSource actions
  peakSourceRuns: number; // most GETs active at the source at once
  sourceBusyFraction: number; // share of [first arrival, end] with at least one GET active
  meanSourceRuns: number; // GETs active at the source, averaged over the time it was busy
  sourceDuplicateBlocks: number; // blocks the source sent more than once in all
  peerUploadUtilization: number; // Σ peers' uplink busy time / Σ their time in the swarm
  requestLatencyMs: LatencySummary; // REQUEST sent -> its BLOCK arrived (queueing at the server, and waiting for a block it has coming from the source)
  simSeconds: number;
  events: number;
  wallMs: number;
  messages: Record<string, SimMessageCount>; // sent, by type
  droppedMessages: number; // arrived at a closed connection
  spinTicks: number; // ticks the core asked for again at once (deadline not moved on)
  spins: string[]; // the first few of them
  anomalies: string[]; // driver-side checks of the core's contract (first few)
  warnings: string[]; // the cores' `log warn` lines (first few)
  warningCount: number;
  timeline: SimSample[]; // one sample per virtual second
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface SimSample {
  t: number; // seconds
  sourceRuns: number; // GETs active at the source
  sourceBytes: number; // sent so far
  arrived: number;
  done: number;
}

const MAX_SAMPLES = 20;
const SPIN_CLAMP_MS = 1; // like setTimeout's minimum: a deadline that never moves still lets time pass
const SWARM_ID = '5a'.repeat(32);

type EndState = 'pending' | 'open' | 'closed';

interface End {
  peer: SimPeer;
  conn: ConnId;
  outbound: boolean;
  dialled: PeerId; // outbound: the id we were asked to dial
  state: EndState;
  other: End | null;
  lastSent: number; // when the last byte sent from this end left its uplink
  lastArrival: number; // latest arrival time of a message sent from this end
  asked: Map<number, number> | null; // block -> when this end sent REQUEST for it
}

interface SimPeer {
  index: number;
  id: PeerId;
  host: string;
  port: number;
  arrivedAt: number;
  core: PeerCore | null; // created on arrival
  ends: Map<ConnId, End>;
  nextConn: ConnId;
  upFreeAt: number;
  upBusyMs: number;
  downFreeAt: number;
  tickAt: number; // the tick event that counts (others are stale)
  lastTickAt: number;
  storedBits: Uint8Array; // blocks the driver has stored (duplicate check)
  stored: number;
  doneAt: number | null;
  at95: number | null;
  gone: boolean;
  leftAt: number | null;
  stats: PeerStats | null;
}

interface Flow {
  peer: SimPeer;
  first: number;
  count: number;
  next: number; // block being sent
  remaining: number; // bytes of it still to send
  rate: number; // bytes/s
}

type SimEvent =
  | { k: 'arrive'; p: SimPeer }
  | { k: 'tick'; p: SimPeer; at: number }
  | { k: 'register'; p: SimPeer; why: 'join' | 'periodic' | 'asked' }
  | { k: 'deliver'; p: SimPeer; ev: PeerEvent }
  | { k: 'stored'; p: SimPeer; index: number }
  | { k: 'opened'; end: End }
  | { k: 'wire'; from: End; msg: Message; bytes: number; sentAt: number } // first byte at the receiver
  | { k: 'msg'; end: End; msg: Message }
  | { k: 'fin'; from: End; reason: string } // a close, behind the data sent before it
  | { k: 'served'; end: End; index: number; bytes: number }
  | { k: 'closed'; end: End; reason: string }
  | { k: 'connectFailed'; p: SimPeer; peerId: PeerId }
  | { k: 'sourceStart'; flow: Flow }
  | { k: 'sourceStep'; token: number }
  | { k: 'leave'; p: SimPeer };

/** A 32-bit seed for stream `i` of a run seeded with `seed` (murmur3's finalizer). */
function streamSeed(seed: number, i: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hexId(rng: SeededRng): PeerId {
  let s = '';
  for (let i = 0; i < 4; i++) s += ((rng.next() * 2 ** 32) >>> 0).toString(16).padStart(8, '0');
  return s;
}

export function messageBytes(msg: Message): number {
  switch (msg.type) {
    case 'BLOCK':
      return msg.data.length + 8;
    case 'UPDATE': {
      // Until the v2 codec lands: its layout's sizes, with 1-byte varint gaps.
      let n = 4;
      for (const e of msg.entries) {
        n += 8 + (e.intro ? 4 + e.intro.originId.length / 2 + e.intro.host.length : 0) + (e.estimate ? 6 : 0);
        if (e.body.kind === 'full') n += 3 + e.body.bits.length;
        else if (e.body.kind === 'delta') n += 2 + e.body.added.length * 2;
      }
      return n;
    }
    case 'HELLO':
      return 120;
    case 'REQUEST':
    case 'REJECT':
      return 8;
    case 'BYE':
      return 8 + msg.reason.length;
  }
}

function positive(name: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`scenario.${name} must be a positive number, got ${v}`);
}

function nonNegative(name: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`scenario.${name} must be a non-negative number, got ${v}`);
}

function checkScenario(s: SimScenario): void {
  if (!Number.isInteger(s.peers) || s.peers < 1) throw new RangeError(`scenario.peers must be a positive integer, got ${s.peers}`);
  if (!Number.isSafeInteger(s.size) || s.size < 1) throw new RangeError(`scenario.size must be a positive integer, got ${s.size}`);
  if (!Number.isInteger(s.seed)) throw new RangeError(`scenario.seed must be an integer, got ${s.seed}`);
  positive('sourceRate', s.sourceRate);
  positive('peerUp', s.peerUp);
  positive('peerDown', s.peerDown);
  nonNegative('latencyMs', s.latencyMs);
  for (const key of ['arrivalSpreadMs', 'lingerMs', 'diskMs'] as const) if (s[key] !== undefined) nonNegative(key, s[key]);
  for (const key of ['maxSimSeconds', 'stallMs', 'reregisterMs', 'blockSize'] as const) if (s[key] !== undefined) positive(key, s[key]);
}

/** The last β live registrants, newest first, as the topology server answers. */
class Registry {
  private readonly order: (SimPeer | null)[] = [];
  private readonly at = new Map<PeerId, number>();

  answer(self: SimPeer, beta: number): PeerAddress[] {
    const out: PeerAddress[] = [];
    for (let i = this.order.length - 1; i >= 0 && out.length < beta; i--) {
      const p = this.order[i];
      if (p && p !== self) out.push({ id: p.id, host: p.host, port: p.port });
    }
    return out;
  }

  register(p: SimPeer): void {
    this.remove(p.id);
    this.at.set(p.id, this.order.length);
    this.order.push(p);
    if (this.order.length > 64 && this.order.length > 2 * this.at.size) this.compact();
  }

  remove(id: PeerId): void {
    const i = this.at.get(id);
    if (i === undefined) return;
    this.order[i] = null;
    this.at.delete(id);
  }

  private compact(): void {
    const live = this.order.filter((p): p is SimPeer => p !== null);
    this.order.length = 0;
    this.at.clear();
    for (const p of live) {
      this.at.set(p.id, this.order.length);
      this.order.push(p);
    }
  }
}

export interface SimOptions {
  onSample?: (sample: SimSample) => void; // each virtual second, e.g. for a live line
  // Every event and action of these peers; `stats`: also their stats after each tick.
  trace?: { peers: number[]; log: (line: string) => void; stats?: boolean };
}

export function simulate(scenario: SimScenario, options: SimOptions = {}): SimResult {
  checkScenario(scenario);
  return new World(scenario, options).run();
}

class World {
  private readonly q = new EventQueue<SimEvent>();
  private readonly params: PeerParams;
  private readonly blocks: number;
  private readonly zero = new Map<number, Uint8Array>(); // one shared buffer per block length
  private readonly peers: SimPeer[] = [];
  private readonly byAddr = new Map<string, SimPeer>();
  private readonly registry = new Registry();
  private readonly L: number;
  private readonly upMsPerByte: number;
  private readonly downMsPerByte: number;
  private readonly lingerMs: number;
  private readonly stallMs: number;
  private readonly diskMs: number;
  private readonly reregisterMs: number;
  private readonly maxMs: number;
  private readonly tMinSeconds: number;
  private readonly fluidBoundSeconds: number;
  private now = 0;
  private events = 0;
  private completed = 0;
  private arrived = 0;
  private readonly timeline: SimSample[] = [];
  private readonly traced: Set<number>;
  private lastProgressAt = 0;
  private eventsAtNow = 0;
  private spinTicks = 0;
  private dropped = 0;
  private readonly latency = new LogHistogram();
  private readonly messages: Record<string, SimMessageCount> = {};
  private readonly anomalies: string[] = [];
  private readonly spins: string[] = [];
  private readonly warnings: string[] = [];
  private warningCount = 0;
  // The source.
  private flows: Flow[] = [];
  private sourceAt = 0;
  private sourceToken = 0;
  private sourceBusyMs = 0;
  private sourceRunMs = 0; // ∫ active GETs dt
  private sourceBytes = 0;
  private sourceRuns = 0;
  private peakSourceRuns = 0;
  private readonly sourceSent: Uint32Array;

  constructor(
    private readonly s: SimScenario,
    private readonly options: SimOptions,
  ) {
    this.traced = new Set(options.trace?.peers ?? []);
    this.params = resolveParams({ ...s.params, ...(s.blockSize !== undefined && { blockSize: s.blockSize }) });
    this.blocks = Math.ceil(s.size / this.params.blockSize);
    this.sourceSent = new Uint32Array(this.blocks);
    this.L = s.latencyMs;
    this.upMsPerByte = 1000 / s.peerUp;
    this.downMsPerByte = 1000 / s.peerDown;
    this.lingerMs = s.lingerMs ?? 0;
    this.stallMs = s.stallMs ?? 60_000;
    this.diskMs = s.diskMs ?? 0.5;
    this.reregisterMs = s.reregisterMs ?? 30_000;
    this.tMinSeconds = s.size / s.sourceRate;
    this.fluidBoundSeconds = Math.max(this.tMinSeconds, s.size / s.peerDown, (s.peers * s.size) / (s.sourceRate + s.peers * s.peerUp));
    this.maxMs = (s.maxSimSeconds ?? Math.max(3600, 100 * this.fluidBoundSeconds)) * 1000;

    const world = new SeededRng(streamSeed(s.seed, -1));
    const spread = s.arrivalSpreadMs ?? 0;
    const arrivals = Array.from({ length: s.peers }, () => (spread > 0 ? world.next() * spread : 0)).sort((a, b) => a - b);
    for (let i = 0; i < s.peers; i++) {
      const p: SimPeer = {
        index: i,
        id: hexId(world),
        host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        port: 7000,
        arrivedAt: arrivals[i] as number,
        core: null,
        ends: new Map(),
        nextConn: 1,
        upFreeAt: 0,
        upBusyMs: 0,
        downFreeAt: 0,
        tickAt: Infinity,
        lastTickAt: -Infinity,
        storedBits: new Uint8Array(Math.ceil(this.blocks / 8)),
        stored: 0,
        doneAt: null,
        at95: null,
        gone: false,
        leftAt: null,
        stats: null,
      };
      this.peers.push(p);
      this.q.push(p.arrivedAt, { k: 'arrive', p });
    }
  }

  run(): SimResult {
    const started = performance.now();
    let outcome: SimResult['outcome'] = 'complete';
    let problem: string | null = null;
    const livelockEvents = 1_000_000 + 1000 * this.s.peers;
    for (;;) {
      if (this.completed === this.s.peers) break;
      const next = this.q.pop();
      if (!next) {
        outcome = 'stalled';
        problem = `nothing left to happen at t=${fmt(this.now)} ms with ${this.s.peers - this.completed} peers unfinished`;
        break;
      }
      if (next.time > this.maxMs) {
        this.sample(this.maxMs);
        this.now = this.maxMs;
        outcome = 'timeout';
        problem = `virtual time limit of ${fmt(this.maxMs / 1000)} s reached with ${this.s.peers - this.completed} peers unfinished`;
        break;
      }
      if (next.time > this.now) {
        this.sample(next.time);
        this.now = next.time;
        this.eventsAtNow = 0;
      }
      if (this.now - this.lastProgressAt > this.stallMs) {
        outcome = 'stalled';
        problem = `no block stored anywhere from t=${fmt(this.lastProgressAt)} ms to t=${fmt(this.now)} ms; ${this.s.peers - this.completed} peers unfinished`;
        break;
      }
      if (++this.eventsAtNow > livelockEvents) {
        outcome = 'stalled';
        problem = `livelock: over ${livelockEvents} events at t=${fmt(this.now)} ms without time moving`;
        break;
      }
      this.events++;
      this.dispatch(next.item);
    }
    return this.result(outcome, problem, performance.now() - started);
  }

  // ---- events ---------------------------------------------------------------------

  private dispatch(e: SimEvent): void {
    switch (e.k) {
      case 'arrive':
        return this.arrive(e.p);
      case 'tick':
        if (e.p.gone || e.at !== e.p.tickAt) return;
        e.p.tickAt = Infinity;
        e.p.lastTickAt = this.now;
        return this.step(e.p, { type: 'tick' });
      case 'register':
        return this.register(e.p, e.why);
      case 'deliver':
        return this.step(e.p, e.ev);
      case 'stored':
        return this.stored(e.p, e.index);
      case 'opened':
        return this.opened(e.end);
      case 'msg':
        if (e.end.state !== 'open' || e.end.peer.gone) {
          this.dropped++;
          return;
        }
        if (e.msg.type === 'BLOCK' || e.msg.type === 'REJECT') this.answered(e.end, e.msg.index, e.msg.type === 'BLOCK');
        return this.step(e.end.peer, { type: 'message', conn: e.end.conn, msg: e.msg });
      case 'served':
        if (e.end.state !== 'open') return;
        return this.step(e.end.peer, { type: 'served', conn: e.end.conn, index: e.index, bytes: e.bytes });
      case 'wire':
        return this.wire(e.from, e.msg, e.bytes, e.sentAt);
      case 'fin':
        // Every message sent before the close has been booked by now: arrive after the last.
        this.q.push(Math.max(this.now, e.from.lastArrival), { k: 'closed', end: e.from.other as End, reason: e.reason });
        return;
      case 'closed':
        return this.remoteClosed(e.end, e.reason);
      case 'connectFailed':
        return this.step(e.p, { type: 'connectFailed', peerId: e.peerId, reason: 'connection refused' });
      case 'sourceStart':
        return this.sourceStart(e.flow);
      case 'sourceStep':
        if (e.token === this.sourceToken) this.sourceStep();
        return;
      case 'leave':
        return this.leave(e.p);
    }
  }

  private arrive(p: SimPeer): void {
    this.arrived++;
    this.lastProgressAt = Math.max(this.lastProgressAt, this.now); // a newcomer is progress too
    p.core = new PeerCore({
      id: p.id,
      swarmId: SWARM_ID,
      host: p.host,
      port: p.port,
      size: this.s.size,
      params: this.params,
      rng: new SeededRng(streamSeed(this.s.seed, p.index)),
      now: this.now,
    });
    this.byAddr.set(`${p.host}:${p.port}`, p);
    // The node registers first, then starts ticking.
    this.q.push(this.now + this.L, { k: 'register', p, why: 'join' });
  }

  // The request reaches the topology server after L; the answer comes back after L more.
  private register(p: SimPeer, why: 'join' | 'periodic' | 'asked'): void {
    if (p.gone) return;
    const peers = this.registry.answer(p, this.params.beta);
    this.registry.register(p);
    const at = this.now + this.L;
    this.q.push(at, { k: 'deliver', p, ev: { type: 'peers', peers } });
    if (why === 'join') this.q.push(at, { k: 'deliver', p, ev: { type: 'tick' } });
    if (why !== 'asked') this.q.push(this.now + this.reregisterMs, { k: 'register', p, why: 'periodic' });
  }

  /** Feeds one event to a peer's core, carries out its actions, and books its next tick. */
  private step(p: SimPeer, ev: PeerEvent): void {
    const core = p.core;
    if (p.gone || !core) return;
    const actions = core.handle(this.now, ev);
    if (this.traced.has(p.index)) this.trace(p, ev, actions);
    for (const a of actions) this.act(p, a);
    if (p.gone) return;
    const deadline = core.nextDeadline();
    if (!Number.isFinite(deadline)) return;
    let at = Math.max(deadline, this.now);
    if (at <= p.lastTickAt) {
      // The core wants a tick again at a time it has already been ticked at.
      at = p.lastTickAt + SPIN_CLAMP_MS;
      if (at === p.tickAt) return;
      if (this.spinTicks++ < MAX_SAMPLES) this.spins.push(`t=${fmt(this.now)} peer ${p.index}: after ${ev.type}, nextDeadline() = ${fmt(deadline)}, already ticked at ${fmt(p.lastTickAt)}`);
    }
    if (at !== p.tickAt) {
      p.tickAt = at;
      this.q.push(at, { k: 'tick', p, at });
    }
  }

  private act(p: SimPeer, a: PeerAction): void {
    switch (a.type) {
      case 'connect':
        return this.connect(p, a.peerId, a.host, a.port);
      case 'send': {
        const end = p.ends.get(a.conn);
        if (!end || end.state !== 'open') return this.anomaly(p, `send ${a.msg.type} on conn ${a.conn}, which is not open`);
        this.send(end, a.msg);
        return;
      }
      case 'close':
        return this.localClose(p, a.conn, a.reason);
      case 'serve': {
        const end = p.ends.get(a.conn);
        if (!end || end.state !== 'open') return this.anomaly(p, `serve on conn ${a.conn}, which is not open`);
        if (!hasBit(p.storedBits, a.index)) this.anomaly(p, `serves block ${a.index} it has not stored`);
        const data = this.zeroBlock(a.index);
        const sentAt = this.send(end, { type: 'BLOCK', index: a.index, data });
        this.q.push(sentAt, { k: 'served', end, index: a.index, bytes: data.length });
        return;
      }
      case 'store':
        if (a.data.length !== this.blockLength(a.index)) this.anomaly(p, `stores block ${a.index} with ${a.data.length} bytes`);
        this.q.push(this.now + this.diskMs, { k: 'stored', p, index: a.index });
        return;
      case 'fetchSource': {
        if (a.count < 1 || a.first < 0 || a.first + a.count > this.blocks) return this.anomaly(p, `fetchSource ${a.first}+${a.count} out of range`);
        this.sourceRuns++;
        const flow: Flow = { peer: p, first: a.first, count: a.count, next: a.first, remaining: this.blockLength(a.first), rate: 0 };
        this.q.push(this.now + this.L, { k: 'sourceStart', flow });
        return;
      }
      case 'needPeers':
        this.q.push(this.now + this.L, { k: 'register', p, why: 'asked' });
        return;
      case 'complete':
        if (p.doneAt !== null) return this.anomaly(p, 'said complete twice');
        if (p.stored !== this.blocks) this.anomaly(p, `complete with ${p.stored}/${this.blocks} blocks stored`);
        p.doneAt = this.now;
        this.completed++;
        this.q.push(this.now + this.lingerMs, { k: 'leave', p });
        return;
      case 'log':
        if (a.level !== 'warn') return;
        this.warningCount++;
        if (this.warnings.length < MAX_SAMPLES) this.warnings.push(`t=${fmt(this.now)} peer ${p.index}: ${a.msg}`);
        return;
    }
  }

  private stored(p: SimPeer, index: number): void {
    if (p.gone) return;
    if (hasBit(p.storedBits, index)) {
      this.anomaly(p, `block ${index} stored twice`);
    } else {
      setBit(p.storedBits, index);
      p.stored++;
      this.lastProgressAt = this.now;
      if (p.at95 === null && p.stored >= Math.ceil(0.95 * this.blocks)) p.at95 = this.now;
    }
    this.step(p, { type: 'stored', index });
  }

  private leave(p: SimPeer): void {
    if (p.gone || !p.core) return;
    this.registry.remove(p.id);
    this.step(p, { type: 'leave', reason: 'finished' });
    p.stats = p.core.stats(this.now);
    p.gone = true;
    p.leftAt = this.now;
    this.byAddr.delete(`${p.host}:${p.port}`);
    // Whatever the core did not close itself (dials in progress) goes with the process.
    for (const end of [...p.ends.values()]) this.localClose(p, end.conn, 'peer left');
    if (this.flows.some((f) => f.peer === p)) {
      this.advanceSource();
      this.flows = this.flows.filter((f) => f.peer !== p);
      this.rescheduleSource();
    }
  }

  // ---- connections ----------------------------------------------------------------

  private connect(p: SimPeer, peerId: PeerId, host: string, port: number): void {
    const target = this.byAddr.get(`${host}:${port}`);
    if (!target || target.gone) {
      this.q.push(this.now + 2 * this.L, { k: 'connectFailed', p, peerId });
      return;
    }
    const mine: End = { peer: p, conn: p.nextConn++, outbound: true, dialled: peerId, state: 'pending', other: null, lastSent: 0, lastArrival: 0, asked: null };
    const theirs: End = { peer: target, conn: target.nextConn++, outbound: false, dialled: '', state: 'pending', other: mine, lastSent: 0, lastArrival: 0, asked: null };
    mine.other = theirs;
    p.ends.set(mine.conn, mine);
    target.ends.set(theirs.conn, theirs);
    this.q.push(this.now + this.L, { k: 'opened', end: theirs });
    this.q.push(this.now + 2 * this.L, { k: 'opened', end: mine });
  }

  private opened(end: End): void {
    if (end.state !== 'pending' || end.peer.gone) return;
    end.state = 'open';
    this.step(
      end.peer,
      end.outbound ? { type: 'opened', conn: end.conn, outbound: true, peerId: end.dialled } : { type: 'opened', conn: end.conn, outbound: false },
    );
  }

  /** Puts a message on the wire; returns when its last byte left the sender. */
  private send(end: End, msg: Message): number {
    const p = end.peer;
    const to = end.other as End;
    const bytes = messageBytes(msg);
    const count = (this.messages[msg.type] ??= { count: 0, bytes: 0 });
    count.count++;
    count.bytes += bytes;
    const upStart = Math.max(this.now, p.upFreeAt);
    const upEnd = upStart + bytes * this.upMsPerByte;
    p.upBusyMs += upEnd - upStart;
    if (msg.type === 'REQUEST') (end.asked ??= new Map()).set(msg.index, this.now);
    p.upFreeAt = upEnd;
    end.lastSent = upEnd;
    this.q.push(upStart + this.L, { k: 'wire', from: end, msg, bytes, sentAt: upEnd });
    return upEnd;
  }

  // The receiver's downlink books messages in the order their first bytes reach it.
  private wire(from: End, msg: Message, bytes: number, sentAt: number): void {
    const to = from.other as End;
    if (to.peer.gone) return;
    const downStart = Math.max(this.now, to.peer.downFreeAt);
    const downEnd = downStart + bytes * this.downMsPerByte;
    to.peer.downFreeAt = downEnd;
    const arrive = Math.max(sentAt + this.L, downEnd, from.lastArrival);
    from.lastArrival = arrive;
    this.q.push(arrive, { k: 'msg', end: to, msg });
  }

  private answered(end: End, index: number, served: boolean): void {
    const at = end.asked?.get(index);
    if (at === undefined) return;
    end.asked?.delete(index);
    if (served) this.latency.add(this.now - at);
  }

  private localClose(p: SimPeer, conn: ConnId, reason: string): void {
    const end = p.ends.get(conn);
    if (!end || end.state === 'closed') return;
    end.state = 'closed';
    p.ends.delete(conn);
    this.q.push(Math.max(this.now, end.lastSent) + this.L, { k: 'fin', from: end, reason });
  }

  private remoteClosed(end: End, reason: string): void {
    if (end.state === 'closed') return;
    const was = end.state;
    end.state = 'closed';
    end.peer.ends.delete(end.conn);
    if (was === 'open') this.step(end.peer, { type: 'closed', conn: end.conn, reason });
    else if (end.outbound) this.step(end.peer, { type: 'connectFailed', peerId: end.dialled, reason });
    // An acceptor that never saw the connection has nothing to hear.
  }

  // ---- the source (processor sharing) ---------------------------------------------

  private sourceStart(flow: Flow): void {
    if (flow.peer.gone) return;
    this.advanceSource();
    this.flows.push(flow);
    this.peakSourceRuns = Math.max(this.peakSourceRuns, this.flows.length);
    this.rescheduleSource();
  }

  private advanceSource(): void {
    const dt = this.now - this.sourceAt;
    if (dt > 0 && this.flows.length > 0) {
      this.sourceBusyMs += dt;
      this.sourceRunMs += dt * this.flows.length;
      for (const f of this.flows) f.remaining -= (f.rate * dt) / 1000;
    }
    this.sourceAt = this.now;
  }

  private rescheduleSource(): void {
    this.sourceToken++;
    if (this.flows.length === 0) return;
    const rate = Math.min(this.s.peerDown, this.s.sourceRate / this.flows.length);
    let soonest = Infinity;
    for (const f of this.flows) {
      f.rate = rate;
      soonest = Math.min(soonest, Math.max(0, f.remaining) / rate);
    }
    this.q.push(this.now + soonest * 1000, { k: 'sourceStep', token: this.sourceToken });
  }

  // Blocks whose last byte left the source reach their peer L later; a finished GET ends.
  private sourceStep(): void {
    this.advanceSource();
    const at = this.now + this.L;
    const still: Flow[] = [];
    for (const f of this.flows) {
      if (f.remaining > 1e-3) {
        still.push(f);
        continue;
      }
      const length = this.blockLength(f.next);
      this.sourceBytes += length;
      this.sourceSent[f.next] = (this.sourceSent[f.next] ?? 0) + 1;
      this.q.push(at, { k: 'deliver', p: f.peer, ev: { type: 'sourceBlock', index: f.next, data: this.zeroBlock(f.next) } });
      f.next++;
      if (f.next < f.first + f.count) {
        f.remaining = this.blockLength(f.next);
        still.push(f);
      } else {
        this.q.push(at, { k: 'deliver', p: f.peer, ev: { type: 'sourceEnd', ok: true } });
      }
    }
    this.flows = still;
    this.rescheduleSource();
  }

  // ---- helpers --------------------------------------------------------------------

  /** Samples the state as it stands for every whole second up to `until`. */
  private sample(until: number): void {
    for (let t = this.timeline.length * 1000; t <= until && t <= this.maxMs; t += 1000) {
      const sample = { t: t / 1000, sourceRuns: this.flows.length, sourceBytes: this.sourceBytes, arrived: this.arrived, done: this.completed };
      this.timeline.push(sample);
      this.options.onSample?.(sample);
    }
  }

  private blockLength(index: number): number {
    return Math.min(this.params.blockSize, this.s.size - index * this.params.blockSize);
  }

  private zeroBlock(index: number): Uint8Array {
    const length = this.blockLength(index);
    let buf = this.zero.get(length);
    if (!buf) {
      buf = new Uint8Array(length);
      this.zero.set(length, buf);
    }
    return buf;
  }

  private trace(p: SimPeer, ev: PeerEvent, actions: PeerAction[]): void {
    const show = (x: PeerEvent | PeerAction): string => {
      if (x.type === 'message' || x.type === 'send') {
        const m = x.msg;
        const detail = m.type === 'UPDATE' ? `${m.entries.length} entries` : m.type === 'BLOCK' || m.type === 'REQUEST' || m.type === 'REJECT' ? `#${m.index}` : m.type === 'BYE' ? m.reason : '';
        return `${x.type} conn ${x.conn} ${m.type} ${detail}`;
      }
      if (x.type === 'peers') return `peers [${x.peers.map((a) => this.indexOf(a.id)).join(' ')}]`;
      if (x.type === 'connect') return `connect ${this.indexOf(x.peerId)}`;
      if (x.type === 'connectFailed') return `connectFailed ${this.indexOf(x.peerId)}`;
      if (x.type === 'opened') return `opened conn ${x.conn} ${x.outbound ? `out to ${this.indexOf(x.peerId ?? '')}` : 'in'}`;
      if (x.type === 'sourceBlock' || x.type === 'store') return `${x.type} #${x.index}`;
      const { type, ...rest } = x as { type: string } & Record<string, unknown>;
      return `${type} ${JSON.stringify(rest)}`;
    };
    const stats = ev.type === 'tick' && this.options.trace?.stats ? `  ${JSON.stringify((p.core as PeerCore).stats(this.now))}` : '';
    this.options.trace?.log(`t=${fmt(this.now)} peer ${p.index} <- ${show(ev)}${stats}${actions.length ? `\n    -> ${actions.map(show).join('\n    -> ')}` : ''}`);
  }

  private indexOf(id: PeerId): string {
    const p = this.peers.find((x) => x.id === id);
    return p ? `p${p.index}` : id.slice(0, 8);
  }

  private uploadUtilization(): number {
    let busy = 0;
    let present = 0;
    for (const p of this.peers) {
      if (!p.core) continue;
      const until = p.leftAt ?? this.now;
      busy += p.upBusyMs - Math.max(0, p.upFreeAt - until); // not what is still queued
      present += until - p.arrivedAt;
    }
    return present > 0 ? busy / present : 0;
  }

  private anomaly(p: SimPeer, what: string): void {
    if (this.anomalies.length < MAX_SAMPLES) this.anomalies.push(`t=${fmt(this.now)} peer ${p.index}: ${what}`);
  }

  private result(outcome: SimResult['outcome'], problem: string | null, wallMs: number): SimResult {
    const peers: SimPeerResult[] = this.peers.map((p) => ({
      index: p.index,
      id: p.id,
      arrivedMs: p.arrivedAt,
      doneMs: p.doneAt,
      seconds: p.doneAt === null ? null : (p.doneAt - p.arrivedAt) / 1000,
      tailSeconds: p.doneAt === null || p.at95 === null ? null : (p.doneAt - p.at95) / 1000,
      upBusySeconds: p.upBusyMs / 1000,
      stats: p.stats ?? p.core?.stats(this.now) ?? null,
    }));
    const times = peers.flatMap((p) => (p.seconds === null ? [] : [p.seconds]));
    const meanSeconds = times.length ? times.reduce((a, b) => a + b, 0) / times.length : NaN;
    const maxSeconds = times.length ? Math.max(...times) : NaN;
    const stuck = this.peers
      .filter((p) => p.doneAt === null && p.core)
      .slice(0, MAX_SAMPLES)
      .map((p) => {
        const st = (p.core as PeerCore).stats(this.now);
        return { index: p.index, blocksHave: st.blocksHave, blocks: st.blocks, connections: st.connections, neighbors: st.neighbors, known: st.peersSeen };
      });
    let duplicates = 0;
    for (const n of this.sourceSent) if (n > 1) duplicates += n - 1;
    const firstArrival = this.peers[0]?.arrivedAt ?? 0;
    const span = this.now - firstArrival;
    this.advanceSource();
    return {
      outcome,
      problem,
      stuck,
      peers,
      completed: this.completed,
      blocks: this.blocks,
      tMinSeconds: this.tMinSeconds,
      fluidBoundSeconds: this.fluidBoundSeconds,
      meanSeconds,
      maxSeconds,
      meanRatio: meanSeconds / this.tMinSeconds,
      maxRatio: maxSeconds / this.tMinSeconds,
      sourceBytes: this.sourceBytes,
      sourceRatio: this.sourceBytes / this.s.size,
      sourceRuns: this.sourceRuns,
      peakSourceRuns: this.peakSourceRuns,
      sourceBusyFraction: span > 0 ? this.sourceBusyMs / span : 0,
      meanSourceRuns: this.sourceBusyMs > 0 ? this.sourceRunMs / this.sourceBusyMs : 0,
      sourceDuplicateBlocks: duplicates,
      simSeconds: this.now / 1000,
      events: this.events,
      wallMs,
      messages: this.messages,
      droppedMessages: this.dropped,
      peerUploadUtilization: this.uploadUtilization(),
      requestLatencyMs: this.latency.summary(),
      spinTicks: this.spinTicks,
      spins: this.spins,
      anomalies: this.anomalies,
      warnings: this.warnings,
      warningCount: this.warningCount,
      timeline: this.timeline,
    };
  }
}

/** Quantiles of positive durations from log-spaced buckets (20 per decade, 0.01 ms to 10^6 ms): O(1) memory. */
class LogHistogram {
  private readonly buckets = new Float64Array(20 * 8 + 1);
  private count = 0;
  private max = 0;

  add(ms: number): void {
    const b = Math.min(this.buckets.length - 1, Math.max(0, Math.floor(20 * (Math.log10(Math.max(ms, 0.01)) + 2))));
    this.buckets[b] = (this.buckets[b] ?? 0) + 1;
    this.count++;
    this.max = Math.max(this.max, ms);
  }

  summary(): LatencySummary {
    const q = (f: number): number => {
      if (this.count === 0) return NaN;
      let seen = 0;
      for (let b = 0; b < this.buckets.length; b++) {
        seen += this.buckets[b] ?? 0;
        if (seen >= f * this.count) return Math.min(this.max, 10 ** ((b + 1) / 20 - 2)); // the bucket's upper edge
      }
      return this.max;
    };
    return { count: this.count, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: this.max };
  }
}

function hasBit(bits: Uint8Array, i: number): boolean {
  return ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0;
}

function setBit(bits: Uint8Array, i: number): void {
  bits[i >> 3] = (bits[i >> 3] ?? 0) | (0x80 >> (i & 7));
}

function fmt(ms: number): string {
  return Number.isFinite(ms) ? String(Math.round(ms * 10) / 10) : String(ms);
}

// The simulated world's event loop: peers arrive, register with the topology server, are
// fed events by their cores' deadlines and by the network and the source, act, finish and
// leave. Each peer is an unchanged PeerCore; this file is the driver around it (the same
// contract peer/node keeps with sockets, HTTP and files) and checks that the core keeps
// its side of it.
//
// - Arrivals: all at t = 0 (a flash crowd), uniform over `arrivalSpreadMs`, or each peer's
//   own (`arrivalsMs`: a testbed's plan). Churn (`leaveAfterMs`): a peer not done that long
//   after its arrival leaves then, as a stopped node does (leave, BYE, deregister). A newcomer
//   registers L later; its first tick comes with the answer.
// - Topology server: topology-server/registry.ts itself, on virtual time: it answers each
//   registration with the last β live registrants (newest first), then registers the
//   caller; answers take 2L. Peers re-register every `reregisterMs` (the node does every
//   ttl/2) and when the core asks (`needPeers`).
// - Disk writes take `diskMs`. A finished peer lingers `lingerMs`, then gets `leave`,
//   deregisters and disappears (dials to it fail, its connections close, its GETs end).
// - Ticks: a peer is ticked at its core's nextDeadline(); a deadline at or before the last
//   tick is a spin, clamped to 1 ms later so that time still moves (and reported).
// - Ends: every peer completes (`complete`), or nothing is left to happen, or no block is
//   stored anywhere for `stallMs` (a stall), or too many events pass without time moving
//   (a livelock), or the virtual time limit is reached.
// Randomness: one seed; the world's stream (arrivals, ids) and each core's stream are
// split from it, so a run replays exactly.
import { SeededRng } from '../../estimation/random.ts';
import type { ConnId, PeerAction, PeerEvent } from '../../peer/core/events.ts';
import type { Message, PeerId } from '../../peer/core/messages.ts';
import { PeerCore } from '../../peer/core/peer.ts';
import { Registry } from '../../topology-server/registry.ts';
import { EstimateSampler, probeMesh, type MeshShape } from './scale-metrics.ts';
import { EventQueue } from './event-queue.ts';
import { buildResult, fmt, Metrics } from './metrics.ts';
import { Network, type End, type Hangup, type PeerStepper, type Transit } from './network.ts';
import { blockLength, type ResolvedLink, type SimConfig } from './scenario.ts';
import type { SimOptions, SimResult } from './simulate.ts';
import { SourceModel, ZeroBlocks, type Flow } from './source-model.ts';
import { Tracer } from './trace.ts';
import { CpuModel, type CpuWorld } from './cpu.ts';
import type { Uplink } from './uplink.ts';
import { hasBit, setBit } from '../../peer/core/bits.ts';
import { hexId, newSimPeer, streamSeed, type SimPeer } from './sim-peer.ts';

const SPIN_CLAMP_MS = 1; // like setTimeout's minimum: a deadline that never moves still lets time pass
const SWARM_ID = '5a'.repeat(32);
const TICK: PeerEvent = Object.freeze({ type: 'tick' }); // one for all: a core must not change its events

export type { SimPeer } from './sim-peer.ts';

export type SimEvent =
  | { k: 'arrive'; p: SimPeer }
  | { k: 'tick'; p: SimPeer; at: number }
  | { k: 'register'; p: SimPeer; why: 'join' | 'periodic' | 'asked' }
  | { k: 'deliver'; p: SimPeer; ev: PeerEvent }
  | { k: 'stored'; p: SimPeer; index: number }
  | { k: 'opened'; end: End }
  | Transit // 'wire': its first byte at the receiver; 'msg': all of it
  | Hangup // 'fin': a close, behind the data sent before it; 'closed': heard at the other end
  | { k: 'served'; end: End; index: number; bytes: number }
  | { k: 'connectFailed'; p: SimPeer; peerId: PeerId }
  | { k: 'sourceStart'; flow: Flow }
  | { k: 'sourceStep'; token: number }
  | { k: 'leave'; p: SimPeer }
  | { k: 'churn'; p: SimPeer } // its planned departure (scenario.leaveAfterMs)
  | { k: 'cpu'; token: number } // the CPU model's next job end (cpu.ts)
  | { k: 'cpuRead'; p: SimPeer; token: number } // an idle process reads part of a message still arriving (cpu.ts)
  | { k: 'up'; up: Uplink; token: number }; // a peer's uplink: its next message sent in full (uplink.ts)

/** The queue of what happens next, and the virtual time now (ms): every part of the model books here. */
export class Agenda extends EventQueue<SimEvent> {
  now = 0;
}

export class World implements PeerStepper, CpuWorld {
  private readonly agenda = new Agenda();
  private readonly zero: ZeroBlocks;
  private readonly peers: SimPeer[] = [];
  private readonly registry: Registry; // the topology server's own, on virtual time
  private readonly metrics: Metrics;
  private readonly net: Network;
  readonly source: SourceModel;
  private readonly tracer: Tracer;
  private events = 0;
  private readonly renewals: SeededRng; // jitter of the periodic re-registrations
  completed = 0;
  failed = 0; // peers whose core gave up (abort)
  churned = 0; // peers that left unfinished at their planned time (scenario.leaveAfterMs)
  private left = 0;
  private readonly estimates: EstimateSampler;
  private mesh: MeshShape | null = null;
  private nextSecond = 1000;
  private readonly probeAtMs: number;
  arrived = 0;
  private lastProgressAt = 0;
  private eventsAtNow = 0;
  private readonly cpu: CpuModel | null; // null: infinite CPU, each event handled at once

  constructor(
    private readonly c: SimConfig,
    options: SimOptions,
  ) {
    const s = c.scenario;
    this.metrics = new Metrics(options.onSample);
    this.zero = new ZeroBlocks(c);
    this.net = new Network(this.agenda, this, this.metrics, s.uplink === 'fair');
    this.source = new SourceModel(c, this.agenda, this.zero, (p, bytesPerMs) => this.inflow(p, bytesPerMs));
    // A live peer re-registers every reregisterMs, so with the node's ttl (twice that) it
    // never expires; a peer that leaves deregisters. Each peer holds one registration at
    // most, so a cap of `peers` never trims anyone.
    const answers = new SeededRng(streamSeed(s.seed, -2));
    this.registry = new Registry({
      beta: c.params.beta, ttl: (2 * c.reregisterMs) / 1000, maxPerSwarm: s.peers, now: () => this.agenda.now,
      answer: s.answer ?? 'mixed', random: () => answers.next(),
    });
    this.renewals = new SeededRng(streamSeed(s.seed, -3));
    this.estimates = new EstimateSampler(streamSeed(s.seed, -4));
    // The mesh is measured at mid-download: half of T_min after the arrivals' midpoint.
    this.probeAtMs = (s.arrivalSpreadMs ?? 0) / 2 + (c.tMinSeconds * 1000) / 2;
    const world = new SeededRng(streamSeed(s.seed, -1));
    const spread = s.arrivalSpreadMs ?? 0;
    const arrivals = s.arrivalsMs ? [...s.arrivalsMs] : Array.from({ length: s.peers }, () => (spread > 0 ? world.next() * spread : 0)).sort((a, b) => a - b);
    for (let i = 0; i < s.peers; i++) {
      const p = newSimPeer(i, hexId(world), arrivals[i] as number, c.links[i] as ResolvedLink, c.blocks);
      this.peers.push(p);
      this.agenda.push(p.arrivedAt, { k: 'arrive', p });
      const after = s.leaveAfterMs?.[i] ?? null;
      if (after !== null) this.agenda.push(p.arrivedAt + after, { k: 'churn', p });
    }
    this.tracer = new Tracer(options.trace, this.peers);
    this.cpu = c.cpu ? new CpuModel(c, c.cpu, this.agenda, this, s.peers) : null;
  }

  run(): SimResult {
    const started = performance.now();
    const { c, agenda } = this;
    const peers = c.scenario.peers;
    let outcome: SimResult['outcome'] = 'complete';
    let problem: string | null = null;
    const livelockEvents = 1_000_000 + 1000 * peers;
    for (;;) {
      if (this.completed + this.failed + this.churned === peers) break;
      const time = agenda.peekTime();
      const next = agenda.pop();
      if (next === undefined) {
        outcome = 'stalled';
        problem = `nothing left to happen at t=${fmt(agenda.now)} ms with ${peers - this.completed - this.failed - this.churned} peers unfinished`;
        break;
      }
      if (time > c.maxMs) {
        this.metrics.sample(c.maxMs, c.maxMs, this);
        agenda.now = c.maxMs;
        outcome = 'timeout';
        problem = `virtual time limit of ${fmt(c.maxMs / 1000)} s reached with ${peers - this.completed - this.failed - this.churned} peers unfinished`;
        break;
      }
      if (time > agenda.now) {
        this.metrics.sample(time, c.maxMs, this);
        if (time >= this.nextSecond) this.everySecond(time);
        agenda.now = time;
        this.eventsAtNow = 0;
      }
      if (agenda.now - this.lastProgressAt > c.stallMs && !(this.cpu && this.cpu.starting > 0)) {
        outcome = 'stalled';
        problem = `no block stored anywhere from t=${fmt(this.lastProgressAt)} ms to t=${fmt(agenda.now)} ms; ${peers - this.completed - this.failed - this.churned} peers unfinished`;
        break;
      }
      if (++this.eventsAtNow > livelockEvents) {
        outcome = 'stalled';
        problem = `livelock: over ${livelockEvents} events at t=${fmt(agenda.now)} ms without time moving`;
        break;
      }
      this.events++;
      this.dispatch(next);
    }
    const end = {
      outcome, problem, now: agenda.now, events: this.events, completed: this.completed, failed: this.failed,
      wallMs: performance.now() - started, peers: this.peers, estimateError: this.estimates.quantiles(), mesh: this.mesh,
    };
    const result = buildResult(c, end, this.source, this.metrics);
    if (this.cpu) result.cpu = this.cpu.summary(); // absent when off: results as before, byte for byte
    return result;
  }

  private dispatch(e: SimEvent): void {
    switch (e.k) {
      case 'arrive':
        return this.arrive(e.p);
      case 'tick':
        if (e.p.gone || e.at !== e.p.tickAt) return;
        e.p.tickAt = Infinity;
        e.p.lastTickAt = this.agenda.now;
        return this.step(e.p, TICK);
      case 'register':
        return this.register(e.p, e.why);
      case 'deliver':
        return this.step(e.p, e.ev);
      case 'stored':
        return this.stored(e.p, e.index);
      case 'opened':
        return this.net.opened(e.end);
      case 'msg':
        return this.net.arrived(e);
      case 'served':
        return this.net.served(e.end, e.index, e.bytes);
      case 'wire':
        return this.net.wire(e);
      case 'fin':
        return this.net.fin(e);
      case 'closed':
        return this.net.remoteClosed(e);
      case 'connectFailed':
        return this.step(e.p, { type: 'connectFailed', peerId: e.peerId, reason: 'connection refused' });
      case 'sourceStart':
        return this.source.start(e.flow);
      case 'sourceStep':
        return this.source.step(e.token);
      case 'leave':
        return this.leave(e.p);
      case 'churn':
        return this.churn(e.p);
      case 'cpu':
        return this.cpu?.step(e.token);
      case 'cpuRead':
        return this.cpu?.read(e.p, e.token);
      case 'up':
        return this.net.upStep(e.up, e.token);
    }
  }

  private arrive(p: SimPeer): void {
    this.arrived++;
    if (this.cpu) return this.cpu.launch(p); // its process starts up first (cpu.ts), then started()
    this.started(p);
  }

  /** The peer's process is up: its core is made, it listens, it registers. */
  started(p: SimPeer): void {
    const now = this.agenda.now;
    this.lastProgressAt = Math.max(this.lastProgressAt, now); // a newcomer is progress too
    const downloadLimit = this.c.scenario.downloadLimits?.[p.index] ?? null;
    p.core = new PeerCore({
      id: p.id, swarmId: SWARM_ID, host: p.host, port: p.port,
      size: this.c.scenario.size, params: this.c.params,
      rng: new SeededRng(streamSeed(this.c.scenario.seed, p.index)),
      now,
      ...(downloadLimit !== null && { downloadLimit }),
    });
    this.net.listen(p);
    // The node registers first, then starts ticking.
    this.agenda.push(now + this.toServer(p), { k: 'register', p, why: 'join' });
  }

  /** One-way latency between a peer and the topology server (or the source). */
  private toServer(p: SimPeer): number {
    return p.link.halfL + this.c.serverHalfL;
  }

  // The request reaches the topology server after one hop; the answer comes back after one more.
  private register(p: SimPeer, why: 'join' | 'periodic' | 'asked'): void {
    if (p.gone) return;
    const now = this.agenda.now;
    const peers = this.registry.register(SWARM_ID, p); // the answer, then p registered
    const count = this.registry.count(SWARM_ID);
    const at = now + this.toServer(p);
    this.metrics.registration(now);
    this.agenda.push(at, { k: 'deliver', p, ev: { type: 'peers', peers, count } });
    if (why === 'join') this.agenda.push(at, { k: 'deliver', p, ev: TICK });
    // Jittered like the node's, so a crowd that joined together does not renew together.
    const every = this.c.reregisterMs * (0.75 + 0.5 * this.renewals.next());
    if (why !== 'asked') this.agenda.push(now + every, { k: 'register', p, why: 'periodic' });
  }

  /** Feeds one event to a peer's core, carries out its actions, and books its next tick (with the CPU model: in its turn, cpu.ts). */
  step(p: SimPeer, ev: PeerEvent): void {
    if (p.gone || !p.core) return;
    if (this.cpu) return this.cpu.submit(p, ev);
    this.carryOut(p, ev, this.handle(p, ev));
  }

  /** The peer's core handles an event now; its actions are not carried out yet. */
  handle(p: SimPeer, ev: PeerEvent): readonly PeerAction[] {
    const now = this.agenda.now;
    if (ev.type === 'message') p.messages.received(ev.msg);
    const actions = (p.core as PeerCore).handle(now, ev);
    if (this.tracer.active && this.tracer.wants(p)) this.tracer.log(now, p, ev, actions);
    return actions;
  }

  /** Carries out a peer's actions now and books its next tick. */
  carryOut(p: SimPeer, ev: PeerEvent, actions: readonly PeerAction[]): void {
    const core = p.core as PeerCore;
    const now = this.agenda.now;
    if (ev.type === 'message' && ev.msg.type === 'BLOCK') this.net.handled(ev);
    for (const a of actions) {
      this.act(p, a);
      if (p.gone) break; // an action that removes the peer (a give-up) ends its batch
    }
    if (p.gone) return;
    const deadline = core.nextDeadline();
    if (!Number.isFinite(deadline)) return;
    let at = Math.max(deadline, now);
    if (at <= p.lastTickAt) {
      // The core wants a tick again at a time it has already been ticked at. With the CPU
      // model, unless that tick still waits in its queue: handled in turn, it books the next.
      if (this.cpu?.tickQueued(p)) return;
      at = p.lastTickAt + SPIN_CLAMP_MS;
      if (at === p.tickAt) return;
      this.metrics.spin(now, p, ev.type, deadline);
    }
    if (at !== p.tickAt) {
      p.tickAt = at;
      this.agenda.push(at, { k: 'tick', p, at });
    }
  }

  // One small function per action, so a new action is one more case and one more function.
  private act(p: SimPeer, a: PeerAction): void {
    switch (a.type) {
      case 'connect':
        return this.net.connect(p, a.peerId, a.host, a.port);
      case 'send':
        return this.send(p, a.conn, a.msg);
      case 'close':
        return this.net.localClose(p, a.conn, a.reason);
      case 'serve':
        return this.serve(p, a.conn, a.index);
      case 'store':
        return this.store(p, a.index, a.data);
      case 'fetchSource':
        return this.fetchSource(p, a.first, a.count);
      case 'needPeers':
        this.agenda.push(this.agenda.now + this.toServer(p), { k: 'register', p, why: 'asked' });
        return;
      case 'complete':
        return this.complete(p);
      case 'depart':
        this.agenda.push(this.agenda.now + this.c.lingerMs, { k: 'leave', p });
        return;
      case 'abort':
        return this.abort(p, `${a.code}: ${a.reason}`);
      case 'log':
        if (a.level === 'warn') this.metrics.warn(this.agenda.now, p, a.msg);
        return;
    }
  }

  /** Bytes start or stop trickling into the peer (the CPU model's reads, cpu.ts). */
  inflow(p: SimPeer, bytesPerMs: number): void {
    if (this.cpu && !p.gone) this.cpu.inflow(p, bytesPerMs);
  }

  /** With the CPU model, a message that waited for its process while the connection closed. */
  dropped(): void {
    this.metrics.dropped++;
  }

  // With the CPU model a core may send on a connection whose close it has not handled yet
  // (queued behind its work): a send on a closed socket, dropped; else a broken contract.
  private send(p: SimPeer, conn: ConnId, msg: Message): void {
    const end = this.net.openEnd(p, conn);
    if (!end) return this.cpu ? this.dropped() : this.anomaly(p, `send ${msg.type} on conn ${conn}, which is not open`);
    this.net.send(end, msg);
  }

  private serve(p: SimPeer, conn: ConnId, index: number): void {
    const end = this.net.openEnd(p, conn);
    if (!end) return this.cpu ? this.dropped() : this.anomaly(p, `serve on conn ${conn}, which is not open`);
    if (!hasBit(p.storedBits, index)) this.anomaly(p, `serves block ${index} it has not stored`);
    this.net.serve(end, index, this.zero.get(index));
  }

  private store(p: SimPeer, index: number, data: Uint8Array): void {
    if (data.length !== blockLength(this.c, index)) this.anomaly(p, `stores block ${index} with ${data.length} bytes`);
    this.agenda.push(this.agenda.now + this.c.diskMs, { k: 'stored', p, index });
  }

  private fetchSource(p: SimPeer, first: number, count: number): void {
    if (count < 1 || first < 0 || first + count > this.c.blocks) return this.anomaly(p, `fetchSource ${first}+${count} out of range`);
    this.source.fetch(p, first, count);
  }

  private complete(p: SimPeer): void {
    if (p.doneAt !== null) return this.anomaly(p, 'said complete twice');
    if (p.stored !== this.c.blocks) this.anomaly(p, `complete with ${p.stored}/${this.c.blocks} blocks stored`);
    p.doneAt = this.agenda.now;
    this.completed++; // it leaves when its core says it may depart (the hand-over), plus lingerMs
  }

  // The core gave up (the simulated source never fails, so this is a finding).
  private abort(p: SimPeer, why: string): void {
    this.anomaly(p, `gave up: ${why}`);
    this.failed++;
    if (p.core) p.stats = p.core.stats(this.agenda.now);
    this.remove(p);
  }

  private stored(p: SimPeer, index: number): void {
    if (p.gone) return;
    if (hasBit(p.storedBits, index)) {
      this.anomaly(p, `block ${index} stored twice`);
    } else {
      setBit(p.storedBits, index);
      p.stored++;
      this.lastProgressAt = this.agenda.now;
      if (p.at95 === null && p.stored >= Math.ceil(0.95 * this.c.blocks)) p.at95 = this.agenda.now;
    }
    this.step(p, { type: 'stored', index });
  }

  // Churn: a peer not done by its planned time is stopped (a process still starting just ends).
  private churn(p: SimPeer): void {
    if (p.gone || p.doneAt !== null) return;
    this.churned++;
    if (p.core) return this.leave(p, 'stopped');
    p.stats = null;
    this.remove(p);
  }

  // The process exits now, whatever work it had queued (no CPU model here).
  private leave(p: SimPeer, reason = 'finished'): void {
    if (p.gone || !p.core) return;
    const ev: PeerEvent = { type: 'leave', reason };
    this.carryOut(p, ev, this.handle(p, ev));
    p.stats = p.core.stats(this.agenda.now);
    this.remove(p);
  }

  // Once per virtual second (state as of the last event before `time`): scale measures.
  private everySecond(time: number): void {
    const now = this.agenda.now;
    this.estimates.sample(now, this.peers, this.arrived - this.left);
    if (this.mesh === null && time >= this.probeAtMs) this.mesh = probeMesh(now, this.peers, streamSeed(this.c.scenario.seed, -5));
    this.nextSecond = (Math.floor(time / 1000) + 1) * 1000;
  }

  /** Takes a peer out of the world: it deregisters, and its process is gone with its connections and GETs. */
  private remove(p: SimPeer): void {
    this.left++;
    this.registry.deregister(SWARM_ID, p.id);
    p.gone = true;
    p.leftAt = this.agenda.now;
    this.net.unlisten(p);
    this.source.drop(p);
  }

  private anomaly(p: SimPeer, what: string): void {
    this.metrics.anomaly(this.agenda.now, p, what);
  }
}

// The optional CPU model (scenario.cpu): the peers' processes share `cores` CPUs, as the
// namespace testbed's 48 Node processes share this machine's 2 (issue #12). Off (no
// scenario.cpu), nothing here exists and the world steps each core at once, as before.
//
// - Each peer is one process with one thread: its work runs serially, in the order its
//   events came (one FIFO queue per peer). Every event the world has for a peer goes
//   through that queue, even one that costs nothing, so a peer's events keep their order.
// - A job is one event: the core handles it when the job reaches the head of its peer's
//   queue (the process reads it), and what it does (its actions: messages sent, Range GETs
//   started, closes) happens when the job's CPU work is done; then its next tick is booked.
//   Start-up is a job too: the process registers only once it is done. With `launchSlots`,
//   at most that many start-ups run at once and later arrivals wait in order, as the testbed's
//   launcher holds them (experiments/testbed/launch-gate.ts); the wait counts in a peer's time.
// - A job's work (cpu-model.ts for the measured costs): `startupMs` for the start-up;
//   `eventMs` per message received, per message sent and per tick; `mibMs` per MiB of block
//   data received (from a peer or the source) or uploaded. Other events (opened, closed,
//   stored, a topology answer) cost nothing of their own but wait their turn.
// - A wake-up costs `wakeMs` more: the job of an event that found its process idle (nothing
//   queued, nothing in service). An event that comes while its process is busy is read in
//   the same turn of the event loop as the work before it and pays none. So a busy peer
//   batches and a waiting one pays for every little thing, as on the testbed: `lan-12`'s
//   peers, with cores to spare, spent more CPU per MiB than `lan-48`'s, and `planetlab-55`'s,
//   often waiting on slow links, twice what per-message costs alone predict (cpu-model.ts).
// - Reads off a trickling link (`readBytes`; off unless given): while a BLOCK or a source
//   response is still arriving (Network and SourceModel report each one's rate: `inflow`), an
//   idle process wakes as soon as `readBytes` more have come, reads, and sleeps again: a job
//   of `wakeMs` alone (the message's own work is charged when all of it is in). What comes
//   while the process is busy or waiting for a core is read in that turn. So a peer reading
//   a slow link wakes often, and a starved one reads what piled up, as the testbed's peers
//   do (`planetlab-55`: 1,941-2,855 wake-ups a peer, `lan-48`: 639-1,147; cpu-model.ts says
//   what it changed and why it is off).
// - The cores: processor sharing among the peers with work to do (each of R runnable
//   processes runs at min(1, cores / R) of a core), not FIFO: Linux's CFS time-slices
//   runnable processes, and the testbed shows it. Its 48 peers, launched together, reached
//   their downloads 2.1-3.4 s after launch (docs/results/lan-48-default.json startupSeconds):
//   all near 48 x 0.13 CPU-s / 2 cores = 3.1 s, as under processor sharing, where a FIFO would
//   have started the first after 0.13 s and the median after 1.6 s.
// - Processor sharing with equal shares runs on a virtual clock V (CPU-ms each runnable
//   process has had): dV/dt = min(1, cores / R). A job that starts at V0 with work w ends when
//   V = V0 + w, so the jobs in service sit in a heap by that V, and one `cpu` event is booked
//   for the earliest; a job end sooner than the one booked rebooks it (older bookings carry a
//   stale token), a booking that comes too early books again.
// - A peer that is gone drops its queue; the job in service ends with nothing done.
import type { PeerAction, PeerEvent } from '../../peer/core/events.ts';
import { EventQueue } from './event-queue.ts';
import { blockLength, type SimConfig, type SimCpu } from './scenario.ts';
import type { Agenda, SimPeer } from './world.ts';

const MiB = 1024 * 1024;
const EPSILON_MS = 1e-6; // of CPU: V's rounding

/** What the CPU model needs of the world: handle an event now, carry out its actions now. */
export interface CpuWorld {
  handle(p: SimPeer, ev: PeerEvent): readonly PeerAction[];
  carryOut(p: SimPeer, ev: PeerEvent, actions: readonly PeerAction[]): void;
  started(p: SimPeer): void; // the start-up is done: create the core, listen, register
  dropped(p: SimPeer, ev: PeerEvent): void; // a message for a connection it has closed meanwhile
}

/** The model's own measures, in the result (SimResult.cpu) when it is on. */
export interface CpuSummary extends SimCpu {
  busySeconds: number; // CPU the peers used in all (Σ work)
  waitSeconds: number; // time their jobs spent wanting a core beyond their work (Σ in service - work): the run queue
  jobs: number; // events handled through the model
  wakes: number; // of them, those that found their process idle (each paid wakeMs)
  reads: number; // of the wakes, those to read part of a message still arriving (readBytes)
  peakRunnable: number; // most processes wanting a core at once
  startupDelay: { p50: number; max: number }; // seconds from arrival to registering
}

interface PeerCpu {
  queue: PeerEvent[]; // events not yet handled, oldest first (from `head`)
  head: number;
  busy: boolean; // a job in service
  ev: PeerEvent | null; // the job in service (null: the start-up or a read)
  reading: boolean; // the job in service is a read of a message still arriving
  inflow: number; // bytes/ms arriving in messages not yet in full (readBytes)
  readToken: number; // the booked read that counts (older ones are stale)
  actions: readonly PeerAction[]; // its actions, to carry out when it ends
  ticks: number; // ticks in `queue` (the core has not had them yet)
  woken: boolean; // the next job in `queue` found the process idle: it pays the wake-up
  servedAt: number; // when the job in service joined the cores
  work: number; // and its CPU-ms
}

export class CpuModel {
  private readonly perPeer: PeerCpu[];
  private readonly running = new EventQueue<SimPeer>(); // jobs in service, by the V they end at
  private v = 0; // the virtual clock, CPU-ms
  private at = 0; // agenda time `v` was brought up to
  private runnable = 0;
  private token = 0;
  private bookedAt = Infinity; // the live booking's time
  private stepping = false; // within step(): book once at its end
  private busyMs = 0;
  private waitMs = 0;
  private jobs = 0;
  private wakes = 0;
  private reads = 0;
  private peakRunnable = 0;
  private readonly startupDelays: number[] = [];
  private readonly waiting: SimPeer[] = []; // arrived, held by the launcher (cpu.launchSlots)
  starting = 0; // processes launched and still starting up (not a stall: 1,000 on 2 cores take 65 s)

  constructor(
    private readonly c: SimConfig,
    private readonly cpu: SimCpu,
    private readonly agenda: Agenda,
    private readonly world: CpuWorld,
    peers: number,
  ) {
    this.perPeer = Array.from({ length: peers }, () => ({ queue: [], head: 0, busy: false, ev: null, reading: false, inflow: 0, readToken: 0, actions: [], ticks: 0, woken: false, servedAt: 0, work: 0 }));
  }

  /** The peer's process has just been launched: its start-up comes first. */
  launch(p: SimPeer): void {
    if (this.cpu.startupMs <= 0) {
      this.startupDelays.push(0);
      return this.world.started(p);
    }
    const slots = this.cpu.launchSlots ?? 0;
    if (slots > 0 && this.starting >= slots) {
      this.waiting.push(p); // the launcher holds it until a start-up ends
      return;
    }
    const s = this.perPeer[p.index] as PeerCpu;
    this.starting++;
    s.busy = true;
    s.ev = null;
    this.serve(p, this.cpu.startupMs);
  }

  /** An event for the peer: handled in turn, after the work queued before it. */
  submit(p: SimPeer, ev: PeerEvent): void {
    const s = this.perPeer[p.index] as PeerCpu;
    if (ev.type === 'tick') s.ticks++;
    if (!s.busy && s.head >= s.queue.length) {
      s.woken = true;
      s.readToken++; // the event wakes it: a read booked meanwhile is stale
    }
    s.queue.push(ev);
    if (!s.busy) this.next(p, s);
  }

  /**
   * A message to the peer starts (`bytesPerMs` > 0) or stops (< 0) arriving at that rate:
   * while any is, an idle process wakes to read every `readBytes`.
   */
  inflow(p: SimPeer, bytesPerMs: number): void {
    const s = this.perPeer[p.index] as PeerCpu;
    s.inflow += bytesPerMs;
    if (s.inflow < 1e-9) s.inflow = 0; // rounding
    if (!s.busy && s.head >= s.queue.length && !p.gone) this.bookRead(p, s);
  }

  /** A booked read: the process, idle since, wakes to read what has come. */
  read(p: SimPeer, token: number): void {
    const s = this.perPeer[p.index] as PeerCpu;
    if (token !== s.readToken || s.busy || s.head < s.queue.length || p.gone) return;
    this.jobs++;
    this.wakes++;
    this.reads++;
    s.busy = true;
    s.reading = true;
    s.ev = null;
    this.serve(p, this.cpu.wakeMs ?? 0);
  }

  /** Whether a tick for the peer waits in its queue (its core has not had it yet). */
  tickQueued(p: SimPeer): boolean {
    return (this.perPeer[p.index] as PeerCpu).ticks > 0;
  }

  /** A booked step: only the latest booking counts. */
  step(token: number): void {
    if (token !== this.token) return;
    this.bookedAt = Infinity;
    this.advance();
    const running = this.running;
    this.stepping = true;
    while (running.size > 0 && running.peekTime() <= this.v + EPSILON_MS) {
      const p = running.pop() as SimPeer;
      this.runnable--;
      this.done(p);
    }
    this.stepping = false;
    this.reschedule();
  }

  summary(): CpuSummary {
    const d = [...this.startupDelays].sort((a, b) => a - b);
    return {
      ...this.cpu,
      busySeconds: this.busyMs / 1000,
      waitSeconds: this.waitMs / 1000,
      jobs: this.jobs,
      wakes: this.wakes,
      reads: this.reads,
      peakRunnable: this.peakRunnable,
      startupDelay: { p50: (d[Math.floor(d.length / 2)] ?? NaN) / 1000, max: (d[d.length - 1] ?? NaN) / 1000 },
    };
  }

  // The job in service ended: its effect happens now, then the peer's next job starts.
  private done(p: SimPeer): void {
    const s = this.perPeer[p.index] as PeerCpu;
    s.busy = false;
    this.waitMs += Math.max(0, this.agenda.now - s.servedAt - s.work);
    if (s.reading) {
      s.reading = false;
      if (p.gone) return this.clear(s);
      return this.next(p, s);
    }
    if (s.ev === null) {
      this.starting--;
      this.launchWaiting();
    }
    if (p.gone) return this.clear(s);
    if (s.ev === null) {
      this.startupDelays.push(this.agenda.now - p.arrivedAt);
      this.world.started(p);
    } else {
      const { ev, actions } = s;
      s.ev = null;
      s.actions = [];
      this.world.carryOut(p, ev, actions);
    }
    if (p.gone) return this.clear(s);
    if (!s.busy) this.next(p, s);
  }

  // A start-up ended: the launcher starts the next peer it held, if any (and not gone meanwhile).
  private launchWaiting(): void {
    for (let p = this.waiting.shift(); p !== undefined; p = this.waiting.shift()) {
      if (p.gone) continue;
      return this.launch(p);
    }
  }

  // Handles queued events until one has work to do (a job in service) or none is left;
  // events that cost nothing take effect at once, in their turn.
  private next(p: SimPeer, s: PeerCpu): void {
    while (s.head < s.queue.length) {
      if (p.gone) return this.clear(s);
      const ev = s.queue[s.head++] as PeerEvent;
      if (ev.type === 'tick') s.ticks--;
      if (s.head === s.queue.length) {
        s.queue.length = 0;
        s.head = 0;
      }
      if ((ev.type === 'message' || ev.type === 'served') && !p.ends.has(ev.conn)) {
        this.world.dropped(p, ev); // closed while the event waited: the process never reads it
        continue;
      }
      this.jobs++;
      const actions = this.world.handle(p, ev);
      let work = this.eventWork(ev) + this.actionsWork(actions);
      if (s.woken) {
        s.woken = false;
        this.wakes++;
        work += this.cpu.wakeMs ?? 0;
      }
      if (work <= 0) {
        this.world.carryOut(p, ev, actions);
        continue;
      }
      s.busy = true;
      s.ev = ev;
      s.actions = actions;
      return this.serve(p, work);
    }
    this.bookRead(p, s); // idle now
  }

  // The idle process wakes once `readBytes` more of the messages still arriving have come.
  private bookRead(p: SimPeer, s: PeerCpu): void {
    const bytes = this.cpu.readBytes ?? 0;
    s.readToken++;
    if (bytes <= 0 || s.inflow <= 0 || !this.cpu.wakeMs) return;
    this.agenda.push(this.agenda.now + bytes / s.inflow, { k: 'cpuRead', p, token: s.readToken });
  }

  private clear(s: PeerCpu): void {
    s.queue.length = 0;
    s.head = 0;
    s.ticks = 0;
    s.woken = false;
    s.busy = false;
    s.reading = false;
    s.readToken++;
    s.ev = null;
    s.actions = [];
  }

  private eventWork(ev: PeerEvent): number {
    switch (ev.type) {
      case 'tick':
        return this.cpu.eventMs;
      case 'message':
        return this.cpu.eventMs + (ev.msg.type === 'BLOCK' ? (ev.msg.data.length / MiB) * this.cpu.mibMs : 0);
      case 'sourceBlock':
        return (ev.data.length / MiB) * this.cpu.mibMs;
      default:
        return 0;
    }
  }

  private actionsWork(actions: readonly PeerAction[]): number {
    let work = 0;
    for (const a of actions) {
      if (a.type === 'send') work += this.cpu.eventMs;
      else if (a.type === 'serve') work += this.cpu.eventMs + (blockLength(this.c, a.index) / MiB) * this.cpu.mibMs;
    }
    return work;
  }

  // A job of `work` CPU-ms joins the processes sharing the cores.
  private serve(p: SimPeer, work: number): void {
    const s = this.perPeer[p.index] as PeerCpu;
    s.servedAt = this.agenda.now;
    s.work = work;
    this.advance();
    this.busyMs += work;
    this.running.push(this.v + work, p);
    this.runnable++;
    if (this.runnable > this.peakRunnable) this.peakRunnable = this.runnable;
    if (!this.stepping) this.reschedule();
  }

  private rate(): number {
    return this.runnable <= this.cpu.cores ? 1 : this.cpu.cores / this.runnable;
  }

  private advance(): void {
    const now = this.agenda.now;
    if (now > this.at && this.runnable > 0) this.v += (now - this.at) * this.rate();
    this.at = now;
  }

  // Books the earliest job end, unless a booking at or before it is in place: one that comes
  // early (more processes joined since, so every job runs slower) finds nothing done and books
  // again. So a message to an idle peer books nothing new while an earlier end is booked, and
  // stale bookings do not pile up in the agenda when hundreds of peers share two cores.
  private reschedule(): void {
    if (this.running.size === 0) return;
    const at = this.agenda.now + Math.max(0, this.running.peekTime() - this.v) / this.rate();
    if (at >= this.bookedAt) return;
    this.token++;
    this.bookedAt = at;
    this.agenda.push(at, { k: 'cpu', token: this.token });
  }
}

// What the live dashboard shows (issue #14): one snapshot of the largest swarms at a time,
// with rates, made at most once a second and only while someone looks.
//
// Each snapshot reads the registry's summary (Registry.snapshot: one walk over the live
// registrations, as a metrics scrape does) and adds, per swarm, the rates at which bytes
// came from the source and between peers. Peers report with their registrations, every
// ~30 s each (peer-node.ts), so a rate is the growth of the swarm's sums over the last
// RATE_WINDOW_MS: shorter would show bursts and gaps, not a rate. A sum drops when a peer
// leaves (its bytes leave with it); a rate never goes below zero. A swarm with no one left
// downloading moves nothing: its rates are zero at once, not when the window has passed.
//
// Bounded: at most `top` swarms (the largest by live peers), each with the samples of one
// window; the browser keeps its own chart history. Snapshots are made on a timer that runs
// only while an event stream is open (at most `maxListeners` of them), or on a GET of the
// JSON; two requests within a second share one snapshot.

import type { RegistrySnapshot, SwarmSummary } from './registry.ts';
import type { Awaitable } from './store.ts';

export const DASHBOARD_TOP = 50;
export const RATE_WINDOW_MS = 30_000;
export const TICK_MS = 1000;
const TIMER_SLACK_MS = 100;
export const MAX_LISTENERS = 64;

export interface DashboardSource {
  snapshot(top: number): Awaitable<RegistrySnapshot>;
}

/** One swarm as the page shows it. Every number is a plain count; `name` is untrusted text. */
export interface DashboardSwarm {
  id: string; // the first 16 hex characters of the swarm id (as in GET /metrics)
  name: string | null; // the file name peers sent, null if none did
  size: number | null; // the file size in bytes peers sent, null if none did
  peers: number;
  downloading: number;
  done: number;
  fromSource: number; // bytes, summed over the live peers' last reports
  fromPeers: number;
  uploaded: number;
  sourceRate: number; // bytes/s over the last RATE_WINDOW_MS
  peerRate: number;
  sourceServed: number | null; // fromSource / size: the one-copy promise is about 1
}

export interface DashboardSnapshot {
  at: number; // ms since the epoch
  swarms: number; // live swarms in all (only the largest `top` are listed)
  peers: { downloading: number; done: number; unknown: number };
  sourceRate: number; // over the listed swarms
  peerRate: number;
  list: DashboardSwarm[];
}

export interface DashboardOptions {
  top?: number;
  maxListeners?: number;
  /** Wall clock, ms (injectable for tests). */
  now?: () => number;
  /** Runs `tick` every TICK_MS until the returned function is called (injectable for tests). */
  timer?: (tick: () => void) => () => void;
}

interface Sample {
  at: number;
  fromSource: number;
  fromPeers: number;
}

export interface Listener {
  send(snapshot: DashboardSnapshot): void;
  end(): void;
}

export class Dashboard {
  readonly top: number;
  readonly maxListeners: number;
  private readonly now: () => number;
  private readonly timer: (tick: () => void) => () => void;
  private readonly history = new Map<string, Sample[]>(); // per listed swarm id, oldest first
  private readonly listeners = new Set<Listener>();
  private stopTimer: (() => void) | undefined;
  private last: { at: number; snapshot: Promise<DashboardSnapshot> } | undefined;

  constructor(private readonly source: DashboardSource, opts: DashboardOptions = {}) {
    this.top = opts.top ?? DASHBOARD_TOP;
    this.maxListeners = opts.maxListeners ?? MAX_LISTENERS;
    this.now = opts.now ?? Date.now;
    this.timer = opts.timer ?? everySecond;
  }

  /**
   * The current snapshot; one made less than a tick ago is reused. (Less a slack: an interval
   * timer may fire a little before a whole second has passed on the wall clock, and the tick
   * must then make a new snapshot, not send the last one again.)
   */
  snapshot(): Promise<DashboardSnapshot> {
    const at = this.now();
    if (this.last && at - this.last.at < TICK_MS - TIMER_SLACK_MS) return this.last.snapshot;
    const snapshot = Promise.resolve(this.source.snapshot(this.top)).then((s) => this.describe(s, at));
    this.last = { at, snapshot };
    snapshot.catch(() => (this.last = undefined)); // a failed read is retried next time
    return snapshot;
  }

  /** Sends a snapshot now and every second after, until `end`; false when there are too many listeners. */
  listen(listener: Listener): boolean {
    if (this.listeners.size >= this.maxListeners) return false;
    this.listeners.add(listener);
    void this.sendTo([listener]);
    this.stopTimer ??= this.timer(() => void this.sendTo([...this.listeners]));
    return true;
  }

  unlisten(listener: Listener): void {
    this.listeners.delete(listener);
    if (this.listeners.size === 0) {
      this.stopTimer?.();
      this.stopTimer = undefined;
    }
  }

  get listening(): number {
    return this.listeners.size;
  }

  /** Ends every stream and stops the timer (the server is closing). */
  close(): void {
    for (const listener of [...this.listeners]) {
      this.unlisten(listener);
      listener.end();
    }
  }

  private async sendTo(listeners: Listener[]): Promise<void> {
    let snapshot: DashboardSnapshot;
    try {
      snapshot = await this.snapshot();
    } catch {
      return; // the next tick tries again
    }
    for (const l of listeners) if (this.listeners.has(l)) l.send(snapshot);
  }

  private describe(s: RegistrySnapshot, at: number): DashboardSnapshot {
    const list = s.largest.map((swarm) => this.withRates(swarm, at));
    // Only the listed swarms keep samples: the history stays as bounded as the list.
    const listed = new Set(list.map((w) => w.id));
    for (const id of this.history.keys()) if (!listed.has(id)) this.history.delete(id);
    return {
      at,
      swarms: s.swarms,
      peers: { ...s.peers },
      sourceRate: list.reduce((sum, w) => sum + w.sourceRate, 0),
      peerRate: list.reduce((sum, w) => sum + w.peerRate, 0),
      list,
    };
  }

  private withRates(swarm: SwarmSummary, at: number): DashboardSwarm {
    const id = swarm.swarmId.slice(0, 16);
    const samples = this.history.get(id) ?? [];
    samples.push({ at, fromSource: swarm.fromSource, fromPeers: swarm.fromPeers });
    while (samples.length > 2 && (samples[0] as Sample).at < at - RATE_WINDOW_MS) samples.shift();
    this.history.set(id, samples);
    const first = samples[0] as Sample;
    const seconds = (at - first.at) / 1000;
    const moving = swarm.downloading > 0 && seconds > 0;
    const rate = (now: number, then: number): number => (moving ? Math.max(0, (now - then) / seconds) : 0);
    const size = swarm.file?.size ?? null;
    return {
      id,
      name: swarm.file?.name ?? null,
      size,
      peers: swarm.peers,
      downloading: swarm.downloading,
      done: swarm.done,
      fromSource: swarm.fromSource,
      fromPeers: swarm.fromPeers,
      uploaded: swarm.uploaded,
      sourceRate: rate(swarm.fromSource, first.fromSource),
      peerRate: rate(swarm.fromPeers, first.fromPeers),
      sourceServed: size ? swarm.fromSource / size : null,
    };
  }
}

function everySecond(tick: () => void): () => void {
  const timer = setInterval(tick, TICK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

// GET /metrics (issue #14): the topology server in the Prometheus text format.
//
// Each server has its own prom-client Registry, not the module's global one, so several
// servers in one process (tests, the simulator) never share or collide on series.
// Everything but the refused-request counter is read from the registry at scrape time, in
// collect(): one walk over the live registrations per scrape (Registry.snapshot), nothing
// added to the registration path. The collect()s of one scrape share a single snapshot.
//
// Cardinality is bounded: `state` and `status` take a handful of values, and the per-swarm
// series exist only for the `topSwarms` (100) largest swarms by live registrations, labelled
// with the first 16 hex characters of the swarm id (enough to tell swarms apart and to
// find one's own; the full id stays unlisted).

import { Counter, Gauge, Registry as PromRegistry } from 'prom-client';
import type { RegistrySnapshot } from './registry.ts';
import type { Awaitable } from './store.ts';

export const METRICS_TOP_SWARMS = 100;

export interface MetricsSource {
  snapshot(top: number): Awaitable<RegistrySnapshot>;
}

export class TopologyMetrics {
  readonly registry = new PromRegistry();
  private readonly refusedRequests: Counter<'status'>;

  constructor(source: MetricsSource, readonly topSwarms = METRICS_TOP_SWARMS) {
    if (!Number.isSafeInteger(topSwarms) || topSwarms < 0) throw new RangeError(`topSwarms must be a whole number, got ${topSwarms}`);
    let pending: Promise<RegistrySnapshot> | undefined;
    // prom-client calls every collect() in the same turn of a scrape: they share one snapshot.
    const snapshot = (): Promise<RegistrySnapshot> => {
      if (!pending) {
        pending = Promise.resolve().then(() => source.snapshot(topSwarms));
        setImmediate(() => (pending = undefined));
      }
      return pending;
    };
    const registers = [this.registry];
    const top = `only the ${topSwarms} largest swarms by live registrations; swarm: the first 16 hex characters of the swarm id`;

    new Gauge({
      name: 'slurpie_swarms', help: 'Swarms with at least one live registration.', registers,
      async collect() {
        this.set((await snapshot()).swarms);
      },
    });
    new Gauge({
      name: 'slurpie_peers',
      help: 'Live registrations by the state in their last progress report (unknown: registered without one, e.g. an older peer).',
      labelNames: ['state'] as const, registers,
      async collect() {
        const { peers } = await snapshot();
        for (const state of ['downloading', 'done', 'unknown'] as const) this.set({ state }, peers[state]);
      },
    });
    new Counter({
      name: 'slurpie_registrations_total', help: 'Registrations accepted since the server started, renewals included.', registers,
      async collect() {
        const { registrations } = await snapshot();
        this.reset(); // counted by the registry; a Counter can only be set by reset and inc
        this.inc(registrations);
      },
    });
    this.refusedRequests = new Counter({
      name: 'slurpie_refused_requests_total', help: 'Requests answered with a 4xx status, by status.', labelNames: ['status'] as const, registers,
    });
    const perSwarm = (name: string, help: string, value: (s: RegistrySnapshot['largest'][number]) => number): void => {
      new Gauge({
        name, help: `${help} (${top}).`, labelNames: ['swarm'] as const, registers,
        async collect() {
          const { largest } = await snapshot();
          this.reset(); // a swarm that left the largest (or expired) must not linger with its last value
          for (const s of largest) this.set({ swarm: s.swarmId.slice(0, 16) }, value(s));
        },
      });
    };
    perSwarm('slurpie_swarm_peers', 'Live registrations per swarm', (s) => s.peers);
    perSwarm('slurpie_swarm_source_bytes', "Bytes fetched from the source, the sum of the live peers' last reports, per swarm", (s) => s.fromSource);
    perSwarm('slurpie_swarm_peer_bytes', "Bytes received from other peers, the sum of the live peers' last reports, per swarm", (s) => s.fromPeers);
  }

  /** Counts a 4xx answer (the app's, or one for a request too broken for HTTP parsing). */
  refused(status: number): void {
    if (status >= 400 && status < 500) this.refusedRequests.inc({ status: String(status) });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

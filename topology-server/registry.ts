// The topology registry (PROTOCOL.md §3): soft state with a TTL, answering each
// registration with the last `beta` live registrants of the swarm — the paper's
// reasoning is that the most recent ones are the likeliest to still be there.
//
// Plain synchronous class; time comes from the injected `now` (ms, non-decreasing),
// so tests drive expiry without sleeping. Memory is bounded three ways: expired
// registrations are pruned on access and by `sweep()`, each swarm keeps at most
// `maxPerSwarm` (the newest), and at most `maxSwarms` swarms are held (a new swarm
// pushes out the least recently registered-to one).

import { MemoryStore } from './memory-store.ts';
import type { Registrant, SwarmStore, TopologyRegistry } from './store.ts';

export interface RegistryOptions {
  /** Most recent other registrants returned per registration (paper's β). */
  beta?: number;
  /** Seconds a registration lives unless renewed. */
  ttl?: number;
  maxPerSwarm?: number;
  maxSwarms?: number;
  /** Milliseconds; must not go backwards. */
  now?: () => number;
  store?: SwarmStore;
}

export const REGISTRY_DEFAULTS = {
  beta: 10,
  ttl: 60,
  maxPerSwarm: 1000,
  maxSwarms: 100_000,
} as const;

export class Registry implements TopologyRegistry {
  readonly beta: number;
  readonly ttl: number;
  readonly maxPerSwarm: number;
  readonly maxSwarms: number;
  private readonly now: () => number;
  private readonly store: SwarmStore;

  constructor(options: RegistryOptions = {}) {
    this.beta = positiveInteger('beta', options.beta ?? REGISTRY_DEFAULTS.beta);
    this.ttl = options.ttl ?? REGISTRY_DEFAULTS.ttl;
    if (!Number.isFinite(this.ttl) || this.ttl <= 0) throw new RangeError(`ttl must be a positive number of seconds, got ${this.ttl}`);
    this.maxPerSwarm = positiveInteger('maxPerSwarm', options.maxPerSwarm ?? REGISTRY_DEFAULTS.maxPerSwarm);
    this.maxSwarms = positiveInteger('maxSwarms', options.maxSwarms ?? REGISTRY_DEFAULTS.maxSwarms);
    this.now = options.now ?? (() => performance.now());
    this.store = options.store ?? new MemoryStore();
  }

  register(swarmId: string, peer: Registrant): Registrant[] {
    const now = this.now();
    const expiredUntil = now - this.ttl * 1000;
    this.store.dropUntil(swarmId, expiredUntil);
    const answer = this.store.newest(swarmId, this.beta, expiredUntil, peer.id);
    if (!this.store.has(swarmId) && this.store.swarmCount() >= this.maxSwarms) this.store.dropLeastActiveSwarm();
    this.store.put(swarmId, { id: peer.id, host: peer.host, port: peer.port }, now);
    this.store.trim(swarmId, this.maxPerSwarm);
    return answer;
  }

  deregister(swarmId: string, id: string): void {
    this.store.remove(swarmId, id);
  }

  count(swarmId: string): number {
    this.store.dropUntil(swarmId, this.now() - this.ttl * 1000);
    return this.store.size(swarmId);
  }

  /** Live registrants, newest first, without changing anything (for inspection and tests). */
  list(swarmId: string, limit = this.maxPerSwarm): Registrant[] {
    return this.store.newest(swarmId, limit, this.now() - this.ttl * 1000);
  }

  /** Drops every expired registration and every swarm left empty; the server calls this periodically. */
  sweep(): void {
    this.store.dropAllUntil(this.now() - this.ttl * 1000);
  }

  /** What is held in memory, expired-but-unswept included. */
  stats(): { swarms: number; registrations: number } {
    return { swarms: this.store.swarmCount(), registrations: this.store.registrationCount() };
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

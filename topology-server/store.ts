// The two seams of the topology server.
//
// `TopologyRegistry` is all the HTTP routes know: its results may be promises, so a
// registry kept in a shared store (Redis, for several stateless servers behind one
// load balancer) fits behind the same routes.
//
// `SwarmStore` is where a Registry keeps its state: per swarm, registrations ordered
// by last registration, each stamped with the time it was made. Every operation maps
// onto one sorted-set command (ZADD, ZREVRANGEBYSCORE … LIMIT, ZREM, ZCARD,
// ZREMRANGEBYSCORE, ZREMRANGEBYRANK), plus one sorted set of swarms by last activity.
// Each registration also records its owner (a hash per swarm: HSET/HGET) and each swarm
// how many live ids each quota group holds (HINCRBY), and its latest progress report (a
// few numbers, replaced on every registration: HSET). Each swarm may also hold what file it
// is (a name and a size, for the dashboard: one small hash per swarm, HSET/HGETALL), kept
// while the swarm is. Times are milliseconds from the Registry's clock; the store never
// reads a clock.

import type { SwarmFile } from './swarm-file.ts';

export type { SwarmFile } from './swarm-file.ts';

/** One peer as the topology server hands it out. */
export interface Registrant {
  id: string; // lowercase hex, 16–64 characters
  host: string;
  port: number;
}

export type Awaitable<T> = T | Promise<T>;

/**
 * What a peer says of its download with each registration (an addition to PROTOCOL.md §3;
 * docs/protocol-notes.md). Bytes and blocks are non-negative safe integers, blocksHave <= blocks.
 * The server only counts it (GET /metrics); nothing it answers depends on it.
 */
export interface Progress {
  fromSource: number; // bytes fetched from the source
  fromPeers: number; // bytes received from peers
  uploaded: number; // bytes served to peers
  blocksHave: number;
  blocks: number;
  done: boolean;
}

/** Who holds a registration: `address` binds its id, `group` is what quotas count by (address.ts). */
export interface Owner {
  address: string;
  group: string;
  limited?: boolean; // held to quotas and to the per-address cap on answers (absent: exempt)
}

/** Who sent a request, as the server judged it (app.ts); `limited: false` exempts it from quotas. */
export interface Caller extends Owner {
  limited: boolean;
}

/** A request the registry refuses; nothing was changed. The routes answer `status` with `message`. */
export class Refused extends Error {
  constructor(
    readonly status: 401 | 403 | 409 | 429,
    message: string,
    /** Seconds, for the Retry-After header of a 429. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export interface TopologyRegistry {
  /** Seconds a registration lives unless renewed. */
  readonly ttl: number;
  /**
   * Up to beta other live registrants (see Registry's `answer`); then registers or refreshes
   * `peer`, bound to `caller`. Throws Refused (changing nothing) when the id is bound to another
   * address or the caller is over a quota. Without a caller (in-process use) nothing is checked.
   * `progress`, when given, replaces the registrant's last report; without it the report is cleared.
   * `file`, when given, updates what the swarm is said to be (the name and size it has, for the dashboard).
   */
  register(swarmId: string, peer: Registrant, caller?: Caller, progress?: Progress, file?: SwarmFile): Awaitable<Registrant[]>;
  /** Throws Refused (changing nothing) when the id is live and bound to another address than the caller's. */
  deregister(swarmId: string, id: string, caller?: Caller): Awaitable<void>;
  /** Live registrations in the swarm (0 if unknown or expired). */
  count(swarmId: string): Awaitable<number>;
}

export interface SwarmStore {
  /** Inserts, or refreshes and moves to newest; marks the swarm as the most recently active. */
  put(swarmId: string, peer: Registrant, at: number, owner: Owner, progress?: Progress): void;
  /** The last progress report of a held registration, undefined if none (or no such registration). */
  progressOf(swarmId: string, id: string): Progress | undefined;
  /** The owner of a held registration (expired or not), undefined if none is held. */
  ownerOf(swarmId: string, id: string): Owner | undefined;
  /** How many registrations of the swarm `group` owns. */
  heldBy(swarmId: string, group: string): number;
  /** Up to `limit` entries stamped after `liveAfter`, newest first, skipping `excludeId`. */
  newest(swarmId: string, limit: number, liveAfter: number, excludeId?: string): Registrant[];
  /** Up to `limit` distinct entries stamped after `liveAfter` chosen uniformly at random, none in `exclude`. */
  sample(swarmId: string, limit: number, liveAfter: number, exclude: ReadonlySet<string>, random: () => number): Registrant[];
  /** Removes one registration; a swarm left empty is removed. */
  remove(swarmId: string, id: string): void;
  /** Registrations held for the swarm, expired or not. */
  size(swarmId: string): number;
  has(swarmId: string): boolean;
  /** Drops the swarm's registrations stamped at or before `at`; a swarm left empty is removed. */
  dropUntil(swarmId: string, at: number): void;
  /** Drops the oldest registrations until at most `max` remain. */
  trim(swarmId: string, max: number): void;
  /** Drops the whole swarm with the oldest last registration, if any. */
  dropLeastActiveSwarm(): void;
  /** dropUntil for every swarm (the periodic sweep). */
  dropAllUntil(at: number): void;
  swarmCount(): number;
  registrationCount(): number;
  /** Every swarm held (expired entries included), in no particular order. */
  swarmIds(): Iterable<string>;
  /** One item per registration stamped after `liveAfter`: its last progress report, or undefined. */
  reports(swarmId: string, liveAfter: number): Iterable<Progress | undefined>;
  /** Sets the fields given (name, size; others stay) of a held swarm; ignored for a swarm not held. Dropped with the swarm. */
  setFile(swarmId: string, file: SwarmFile): void;
  /** What the swarm was last said to be, undefined if nothing (or no such swarm). */
  fileOf(swarmId: string): SwarmFile | undefined;
}

// The topology registry (PROTOCOL.md §3): soft state with a TTL, answering each
// registration with `beta` live registrants of the swarm. The paper answers with the last
// beta (the likeliest to still be there): `answer: 'newest'`. In a flash crowd that links
// each newcomer to the few who registered just before it, a mesh with a long diameter
// through which floods and estimates crawl. `answer: 'mixed'` gives half the newest and half
// drawn uniformly from the live registrants, so the mesh starts random (docs/numbers.md, "Ablations at 1,000 peers").
//
// Plain synchronous class; time comes from the injected `now` (ms, non-decreasing),
// so tests drive expiry without sleeping. Memory is bounded three ways: expired
// registrations are pruned on access and by `sweep()`, each swarm keeps at most
// `maxPerSwarm` (the newest), and at most `maxSwarms` swarms are held (a new swarm
// pushes out the least recently registered-to one).
//
// Introductions you can trust (issue #15): a registration is bound to the address that
// made it (its owner, as the routes judged it) until it expires or that address deletes it;
// another address can neither move nor delete it. An address holds at most `quotaIds` live
// ids per swarm, so one machine cannot fill a swarm (and, through `maxPerSwarm`, push the
// honest registrants out) with made-up peers. Calls without a caller (the simulator, tests)
// are trusted: nothing is checked, their registrations are owned by IN_PROCESS.

import { MemoryStore } from './memory-store.ts';
import { Refused } from './store.ts';
import type { Caller, Owner, Progress, Registrant, SwarmFile, SwarmStore, TopologyRegistry } from './store.ts';

export interface RegistryOptions {
  /** Most recent other registrants returned per registration (paper's β). */
  beta?: number;
  /** Seconds a registration lives unless renewed. */
  ttl?: number;
  maxPerSwarm?: number;
  maxSwarms?: number;
  /** Milliseconds; must not go backwards. */
  now?: () => number;
  /** Live ids one quota group (address.ts) may hold per swarm; 0: no limit. */
  quotaIds?: number;
  /** 'newest' (the paper's last β, the default here) or 'mixed' (half newest, half random). */
  answer?: AnswerMode;
  /** Most entries from one quota-limited address group in one answer (0: no limit). */
  answerPerAddress?: number;
  /** Uniform in [0, 1), for 'mixed' (inject a seeded one for reproducible runs). */
  random?: () => number;
  store?: SwarmStore;
}

export type AnswerMode = 'newest' | 'mixed';

/** What GET /metrics shows (metrics.ts), read from live registrations at scrape time. */
export interface RegistrySnapshot {
  swarms: number; // with at least one live registration
  peers: { downloading: number; done: number; unknown: number }; // unknown: registered without a progress report
  registrations: number; // accepted since the registry was made, renewals included
  largest: SwarmSummary[]; // the largest swarms by live registrations, largest first, at most `top`
}

export interface SwarmSummary {
  swarmId: string;
  peers: number;
  downloading: number; // by the state in their last report, as `peers` in RegistrySnapshot
  done: number;
  fromSource: number; // sums over the live registrants' last reports
  fromPeers: number;
  uploaded: number;
  file?: SwarmFile; // what the swarm was last said to be (looked up for the largest only)
}

export const REGISTRY_DEFAULTS = {
  beta: 10,
  ttl: 60,
  maxPerSwarm: 1000,
  maxSwarms: 100_000,
  // A NAT'd office or campus shares one address; 32 of them in one swarm at once is plenty
  // and still leaves an attacker with one address 32 of the 1,000 slots of a swarm.
  quotaIds: 32,
  // Entries one (quota-limited) address may fill in one answer: a Sybil's 32 ids must not be
  // most of what a newcomer is told. Loopback and in-process registrants are exempt, as from quotas.
  answerPerAddress: 2,
} as const;

/** The owner of registrations made without a caller: no request address ever equals it. */
export const IN_PROCESS: Owner = Object.freeze({ address: '', group: '' });

export class Registry implements TopologyRegistry {
  readonly beta: number;
  readonly ttl: number;
  readonly maxPerSwarm: number;
  readonly maxSwarms: number;
  readonly quotaIds: number;
  readonly answer: AnswerMode;
  readonly answerPerAddress: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly store: SwarmStore;
  private registered = 0;

  constructor(options: RegistryOptions = {}) {
    this.beta = positiveInteger('beta', options.beta ?? REGISTRY_DEFAULTS.beta);
    this.ttl = options.ttl ?? REGISTRY_DEFAULTS.ttl;
    if (!Number.isFinite(this.ttl) || this.ttl <= 0) throw new RangeError(`ttl must be a positive number of seconds, got ${this.ttl}`);
    this.maxPerSwarm = positiveInteger('maxPerSwarm', options.maxPerSwarm ?? REGISTRY_DEFAULTS.maxPerSwarm);
    this.maxSwarms = positiveInteger('maxSwarms', options.maxSwarms ?? REGISTRY_DEFAULTS.maxSwarms);
    this.quotaIds = options.quotaIds ?? REGISTRY_DEFAULTS.quotaIds;
    if (!Number.isSafeInteger(this.quotaIds) || this.quotaIds < 0) throw new RangeError(`quotaIds must be a whole number (0: no limit), got ${this.quotaIds}`);
    this.now = options.now ?? (() => performance.now());
    this.answer = options.answer ?? 'newest';
    if (this.answer !== 'newest' && this.answer !== 'mixed') throw new RangeError(`answer must be newest or mixed, got ${String(this.answer)}`);
    this.random = options.random ?? Math.random;
    this.answerPerAddress = options.answerPerAddress ?? REGISTRY_DEFAULTS.answerPerAddress;
    if (!Number.isSafeInteger(this.answerPerAddress) || this.answerPerAddress < 0) {
      throw new RangeError(`answerPerAddress must be a whole number (0: no limit), got ${this.answerPerAddress}`);
    }
    this.store = options.store ?? new MemoryStore();
  }

  register(swarmId: string, peer: Registrant, caller?: Caller, progress?: Progress, file?: SwarmFile): Registrant[] {
    const now = this.now();
    const expiredUntil = now - this.ttl * 1000;
    this.store.dropUntil(swarmId, expiredUntil); // from here on, whatever is held is live
    if (caller) this.admit(swarmId, peer.id, caller);
    const answer = this.answerFor(swarmId, peer.id, expiredUntil);
    if (!this.store.has(swarmId) && this.store.swarmCount() >= this.maxSwarms) this.store.dropLeastActiveSwarm();
    // A copy of the known fields only: what is held per entry stays a fixed few numbers.
    const report = progress && { fromSource: progress.fromSource, fromPeers: progress.fromPeers, uploaded: progress.uploaded, blocksHave: progress.blocksHave, blocks: progress.blocks, done: progress.done };
    this.store.put(swarmId, { id: peer.id, host: peer.host, port: peer.port }, now, caller ?? IN_PROCESS, report);
    if (file) this.store.setFile(swarmId, { ...(file.name !== undefined && { name: file.name }), ...(file.size !== undefined && { size: file.size }) });
    this.store.trim(swarmId, this.maxPerSwarm);
    this.registered++;
    return answer;
  }

  /** Throws Refused if `caller` may not register `id` in the swarm (its live registrations already swept). */
  private admit(swarmId: string, id: string, caller: Caller): void {
    const owner = this.store.ownerOf(swarmId, id);
    if (owner !== undefined) {
      if (owner.address === caller.address) return; // a renewal: never over quota
      throw new Refused(409, `id ${id} is registered from another address; it stays bound to that address until it expires (ttl ${this.ttl} s) or is deleted from there`);
    }
    if (caller.limited && this.quotaIds > 0 && this.store.heldBy(swarmId, caller.group) >= this.quotaIds) {
      // An id frees up when one of the caller's expires: within ttl unless it keeps renewing them.
      throw new Refused(429, `your address already holds ${this.quotaIds} live ids in this swarm (the server's quota); retry when one expires or is deleted`, Math.ceil(this.ttl));
    }
  }

  // At most answerPerAddress entries from one quota-limited address group (capped()), so that
  // one address's ids cannot fill an answer while others are there to be named.
  private answerFor(swarmId: string, self: string, liveAfter: number): Registrant[] {
    const per = new Map<string, number>();
    const seen = new Set([self]);
    // The newest not yet seen: the k newest, less those already seen.
    const newest = (k: number): Registrant[] => this.store.newest(swarmId, seen.size - 1 + k, liveAfter, self).filter((r) => !seen.has(r.id));
    if (this.answer === 'newest') return this.capped(swarmId, newest, this.beta, seen, per);
    const first = this.capped(swarmId, newest, Math.ceil(this.beta / 2), seen, per);
    const rest = this.capped(swarmId, (k) => this.store.sample(swarmId, k, liveAfter, seen, this.random), this.beta - first.length, seen, per);
    return [...first, ...rest];
  }

  /**
   * `limit` candidates from `draw`, at most answerPerAddress from each quota-limited address
   * group. The first draw asks for exactly `limit`: with no one capped, answers (and the
   * random draws behind them) are what they were without the cap; later draws ask for more.
   */
  private capped(swarmId: string, draw: (k: number) => Registrant[], limit: number, seen: Set<string>, per: Map<string, number>): Registrant[] {
    const out: Registrant[] = [];
    for (let round = 0; round < 3 && out.length < limit; round++) {
      const want = round === 0 ? limit : 4 * (limit - out.length);
      const got = draw(want);
      for (const r of got) {
        seen.add(r.id);
        if (out.length >= limit) continue;
        const owner = this.store.ownerOf(swarmId, r.id);
        if (this.answerPerAddress > 0 && owner?.limited) {
          const n = per.get(owner.group) ?? 0;
          if (n >= this.answerPerAddress) continue;
          per.set(owner.group, n + 1);
        }
        out.push(r);
      }
      if (got.length < want) break; // no one else to draw
    }
    return out;
  }

  deregister(swarmId: string, id: string, caller?: Caller): void {
    if (caller) {
      this.store.dropUntil(swarmId, this.now() - this.ttl * 1000); // an expired id is no one's
      const owner = this.store.ownerOf(swarmId, id);
      if (owner !== undefined && owner.address !== caller.address) {
        throw new Refused(403, `id ${id} was registered from another address; only that address may delete it`);
      }
    }
    this.store.remove(swarmId, id);
  }

  count(swarmId: string): number {
    this.store.dropUntil(swarmId, this.now() - this.ttl * 1000);
    return this.store.size(swarmId);
  }

  /** The live registrant's last progress report (undefined if it sent none, or is not live). */
  progressOf(swarmId: string, id: string): Progress | undefined {
    this.store.dropUntil(swarmId, this.now() - this.ttl * 1000);
    return this.store.progressOf(swarmId, id);
  }

  /** Live registrants, newest first, without changing anything (for inspection and tests). */
  list(swarmId: string, limit = this.maxPerSwarm): Registrant[] {
    return this.store.newest(swarmId, limit, this.now() - this.ttl * 1000);
  }

  /** Drops every expired registration and every swarm left empty; the server calls this periodically. */
  sweep(): void {
    this.store.dropAllUntil(this.now() - this.ttl * 1000);
  }

  /**
   * Counts over the live registrations, for a metrics scrape: one walk over everything held
   * (O(registrations), then a sort of the swarms), so it is done per scrape, never per request.
   * Changes nothing (expired entries are skipped, left to the sweep).
   */
  snapshot(top: number): RegistrySnapshot {
    const liveAfter = this.now() - this.ttl * 1000;
    const peers = { downloading: 0, done: 0, unknown: 0 };
    const all: SwarmSummary[] = [];
    for (const swarmId of this.store.swarmIds()) {
      const s: SwarmSummary = { swarmId, peers: 0, downloading: 0, done: 0, fromSource: 0, fromPeers: 0, uploaded: 0 };
      for (const p of this.store.reports(swarmId, liveAfter)) {
        s.peers++;
        if (!p) {
          peers.unknown++;
          continue;
        }
        const state = p.done ? 'done' : 'downloading';
        peers[state]++;
        s[state]++;
        s.fromSource += p.fromSource;
        s.fromPeers += p.fromPeers;
        s.uploaded += p.uploaded;
      }
      if (s.peers > 0) all.push(s);
    }
    // Ties broken by id, so which swarms make the cut does not flicker between scrapes.
    all.sort((a, b) => b.peers - a.peers || (a.swarmId < b.swarmId ? -1 : 1));
    const largest = all.slice(0, Math.max(0, top));
    for (const s of largest) {
      const file = this.store.fileOf(s.swarmId);
      if (file) s.file = file;
    }
    return { swarms: all.length, peers, registrations: this.registered, largest };
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

// The in-memory SwarmStore, the embedded default.
//
// Each swarm is a doubly linked list in registration order (oldest at the head)
// indexed by id, so refresh, removal, dropping the oldest and reading the newest k
// are O(1) or O(k); an array of the same entries (swap-remove) makes a uniform random
// sample O(k) too. The swarms sit in a Map re-inserted on every registration, so its
// first key is always the least recently active swarm. Each swarm counts its entries per
// owner's quota group, so a quota check is one lookup.

import type { Owner, Progress, Registrant, SwarmFile, SwarmStore } from './store.ts';

interface Entry extends Registrant {
  at: number;
  owner: Owner;
  progress: Progress | undefined; // the last report only: a fixed few numbers per entry
  older: Entry | undefined;
  newer: Entry | undefined;
  slot: number; // index in Swarm.all
}

interface Swarm {
  byId: Map<string, Entry>;
  all: Entry[];
  perGroup: Map<string, number>;
  oldest: Entry | undefined;
  newest: Entry | undefined;
  file: SwarmFile | undefined; // a name of at most 200 code points and a number
}

export class MemoryStore implements SwarmStore {
  private readonly swarms = new Map<string, Swarm>();
  private registrations = 0;

  put(swarmId: string, peer: Registrant, at: number, owner: Owner, progress?: Progress): void {
    let swarm = this.swarms.get(swarmId);
    if (swarm) this.swarms.delete(swarmId); // re-inserted below: now the most recently active
    else swarm = { byId: new Map(), all: [], perGroup: new Map(), oldest: undefined, newest: undefined, file: undefined };
    this.swarms.set(swarmId, swarm);

    const old = swarm.byId.get(peer.id);
    if (old) this.unlink(swarm, old);
    const entry: Entry = { id: peer.id, host: peer.host, port: peer.port, at, owner, progress, older: swarm.newest, newer: undefined, slot: swarm.all.length };
    swarm.perGroup.set(owner.group, (swarm.perGroup.get(owner.group) ?? 0) + 1);
    swarm.all.push(entry);
    if (swarm.newest) swarm.newest.newer = entry;
    else swarm.oldest = entry;
    swarm.newest = entry;
    swarm.byId.set(peer.id, entry);
    this.registrations++;
  }

  progressOf(swarmId: string, id: string): Progress | undefined {
    return this.swarms.get(swarmId)?.byId.get(id)?.progress;
  }

  ownerOf(swarmId: string, id: string): Owner | undefined {
    return this.swarms.get(swarmId)?.byId.get(id)?.owner;
  }

  heldBy(swarmId: string, group: string): number {
    return this.swarms.get(swarmId)?.perGroup.get(group) ?? 0;
  }

  newest(swarmId: string, limit: number, liveAfter: number, excludeId?: string): Registrant[] {
    const out: Registrant[] = [];
    const swarm = this.swarms.get(swarmId);
    for (let e = swarm?.newest; e && out.length < limit && e.at > liveAfter; e = e.older) {
      if (e.id !== excludeId) out.push({ id: e.id, host: e.host, port: e.port });
    }
    return out;
  }

  sample(swarmId: string, limit: number, liveAfter: number, exclude: ReadonlySet<string>, random: () => number): Registrant[] {
    const all = this.swarms.get(swarmId)?.all ?? [];
    const out: Registrant[] = [];
    const picked = new Set<string>();
    // Rejection sampling: few draws while the swarm is much larger than the sample, and a
    // bounded number of them when it is not (then the sample is just smaller).
    for (let tries = 0; out.length < limit && tries < 4 * limit + 8 && all.length > 0; tries++) {
      const e = all[Math.floor(random() * all.length)] as Entry;
      if (e.at <= liveAfter || exclude.has(e.id) || picked.has(e.id)) continue;
      picked.add(e.id);
      out.push({ id: e.id, host: e.host, port: e.port });
    }
    return out;
  }

  remove(swarmId: string, id: string): void {
    const swarm = this.swarms.get(swarmId);
    const entry = swarm?.byId.get(id);
    if (!swarm || !entry) return;
    this.unlink(swarm, entry);
    if (swarm.byId.size === 0) this.swarms.delete(swarmId);
  }

  size(swarmId: string): number {
    return this.swarms.get(swarmId)?.byId.size ?? 0;
  }

  has(swarmId: string): boolean {
    return this.swarms.has(swarmId);
  }

  dropUntil(swarmId: string, at: number): void {
    const swarm = this.swarms.get(swarmId);
    if (!swarm) return;
    while (swarm.oldest && swarm.oldest.at <= at) this.unlink(swarm, swarm.oldest);
    if (swarm.byId.size === 0) this.swarms.delete(swarmId);
  }

  trim(swarmId: string, max: number): void {
    const swarm = this.swarms.get(swarmId);
    if (!swarm) return;
    while (swarm.byId.size > max && swarm.oldest) this.unlink(swarm, swarm.oldest);
    if (swarm.byId.size === 0) this.swarms.delete(swarmId);
  }

  dropLeastActiveSwarm(): void {
    const first = this.swarms.entries().next();
    if (first.done) return;
    const [swarmId, swarm] = first.value;
    this.registrations -= swarm.byId.size;
    this.swarms.delete(swarmId);
  }

  dropAllUntil(at: number): void {
    // Deleting the current key while iterating a Map is safe: iteration goes on.
    for (const swarmId of this.swarms.keys()) this.dropUntil(swarmId, at);
  }

  swarmCount(): number {
    return this.swarms.size;
  }

  registrationCount(): number {
    return this.registrations;
  }

  swarmIds(): Iterable<string> {
    return this.swarms.keys();
  }

  *reports(swarmId: string, liveAfter: number): Iterable<Progress | undefined> {
    // Newest first, so the walk stops at the first expired entry.
    for (let e = this.swarms.get(swarmId)?.newest; e && e.at > liveAfter; e = e.older) yield e.progress;
  }

  setFile(swarmId: string, file: SwarmFile): void {
    const swarm = this.swarms.get(swarmId);
    if (swarm) swarm.file = { ...swarm.file, ...file }; // fields given replace, others stay (as HSET)
  }

  fileOf(swarmId: string): SwarmFile | undefined {
    return this.swarms.get(swarmId)?.file;
  }

  private unlink(swarm: Swarm, entry: Entry): void {
    if (entry.older) entry.older.newer = entry.newer;
    else swarm.oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else swarm.newest = entry.older;
    entry.older = entry.newer = undefined;
    const last = swarm.all.pop() as Entry;
    if (last !== entry) {
      swarm.all[entry.slot] = last;
      last.slot = entry.slot;
    }
    swarm.byId.delete(entry.id);
    const held = (swarm.perGroup.get(entry.owner.group) ?? 1) - 1;
    if (held > 0) swarm.perGroup.set(entry.owner.group, held);
    else swarm.perGroup.delete(entry.owner.group);
    this.registrations--;
  }
}

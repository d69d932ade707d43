// The registry as a pure unit: an injected clock, no HTTP.
import test from 'ava';
import fc from 'fast-check';
import { Registry } from '../topology-server/registry.ts';
import type { RegistryOptions } from '../topology-server/registry.ts';
import { Refused } from '../topology-server/store.ts';
import type { Caller, Registrant } from '../topology-server/store.ts';
import { SeededRng, seedFrom } from '../estimation/random.ts';

const SWARM_A = 'a'.repeat(64);
const SWARM_B = 'b'.repeat(64);

function peer(n: number): Registrant {
  return { id: n.toString(16).padStart(16, '0'), host: `10.0.0.${n % 250}`, port: 1000 + n };
}

function setup(options: RegistryOptions = {}): { registry: Registry; clock: { t: number } } {
  const clock = { t: 1_000_000 };
  return { registry: new Registry({ now: () => clock.t, ...options }), clock };
}

const ids = (peers: Registrant[]): string[] => peers.map((p) => p.id);

test('the first registrant gets an empty list and the answer carries host and port', (t) => {
  const { registry } = setup();
  t.deepEqual(registry.register(SWARM_A, peer(1)), []);
  t.deepEqual(registry.register(SWARM_A, peer(2)), [peer(1)]);
});

test('answers hold at most beta others, newest first, never the caller', (t) => {
  const { registry, clock } = setup({ beta: 3 });
  for (let n = 1; n <= 6; n++) {
    const answer = registry.register(SWARM_A, peer(n));
    const expected = [];
    for (let m = n - 1; m >= 1 && expected.length < 3; m--) expected.push(peer(m));
    t.deepEqual(answer, expected, `registration ${n}`);
    clock.t += 10;
  }
  // A registrant already present is not in its own answer.
  t.deepEqual(ids(registry.register(SWARM_A, peer(5))), ids([peer(6), peer(4), peer(3)]));
});

test('re-registering refreshes the caller and moves it to newest', (t) => {
  const { registry, clock } = setup({ beta: 10 });
  for (let n = 1; n <= 4; n++) registry.register(SWARM_A, peer(n));
  clock.t += 1;
  const moved = { ...peer(2), host: '10.9.9.9', port: 4242 };
  registry.register(SWARM_A, moved);
  t.deepEqual(registry.register(SWARM_A, peer(9)), [moved, peer(4), peer(3), peer(1)]);
  t.is(registry.count(SWARM_A), 5);
});

test('registrations expire after ttl seconds unless renewed', (t) => {
  const { registry, clock } = setup({ ttl: 60 });
  registry.register(SWARM_A, peer(1));
  clock.t += 30_000;
  registry.register(SWARM_A, peer(2));
  clock.t += 29_999;
  t.is(registry.count(SWARM_A), 2);
  clock.t += 1; // peer 1 is now exactly 60 s old
  t.is(registry.count(SWARM_A), 1);
  t.deepEqual(registry.register(SWARM_A, peer(3)), [peer(2)]);
  // Renewing keeps a registration alive past its first ttl.
  clock.t += 20_000;
  registry.register(SWARM_A, peer(2));
  clock.t += 50_000;
  t.deepEqual(registry.list(SWARM_A), [peer(2)]);
  clock.t += 10_000;
  t.is(registry.count(SWARM_A), 0);
  t.deepEqual(registry.stats(), { swarms: 0, registrations: 0 }, 'an emptied swarm is dropped');
});

test('sweep drops expired registrations and empty swarms everywhere', (t) => {
  const { registry, clock } = setup({ ttl: 10 });
  for (let s = 0; s < 20; s++) registry.register(s.toString(16).padStart(64, '0'), peer(s));
  clock.t += 5_000;
  registry.register(SWARM_A, peer(100));
  t.deepEqual(registry.stats(), { swarms: 21, registrations: 21 });
  clock.t += 5_000;
  t.deepEqual(registry.stats(), { swarms: 21, registrations: 21 }, 'nothing is dropped before the sweep');
  registry.sweep();
  t.deepEqual(registry.stats(), { swarms: 1, registrations: 1 });
  t.deepEqual(registry.list(SWARM_A), [peer(100)]);
});

test('the per-swarm cap keeps the newest registrations', (t) => {
  const { registry } = setup({ beta: 100, maxPerSwarm: 5 });
  for (let n = 1; n <= 12; n++) registry.register(SWARM_A, peer(n));
  t.is(registry.count(SWARM_A), 5);
  t.deepEqual(ids(registry.list(SWARM_A)), ids([12, 11, 10, 9, 8].map(peer)));
  t.deepEqual(registry.stats(), { swarms: 1, registrations: 5 });
});

test('the swarm cap pushes out the least recently registered-to swarm', (t) => {
  const { registry } = setup({ maxSwarms: 3 });
  const swarm = (n: number): string => n.toString(16).padStart(64, '0');
  registry.register(swarm(1), peer(1));
  registry.register(swarm(2), peer(2));
  registry.register(swarm(3), peer(3));
  registry.register(swarm(1), peer(11)); // swarm 1 is now the most recently active
  registry.register(swarm(4), peer(4));
  t.is(registry.count(swarm(2)), 0, 'the oldest activity goes');
  t.is(registry.count(swarm(1)), 2);
  t.is(registry.count(swarm(3)), 1);
  t.is(registry.count(swarm(4)), 1);
  t.deepEqual(registry.stats(), { swarms: 3, registrations: 4 });
});

test('swarms are separate', (t) => {
  const { registry } = setup();
  registry.register(SWARM_A, peer(1));
  registry.register(SWARM_A, peer(2));
  t.deepEqual(registry.register(SWARM_B, peer(3)), []);
  t.deepEqual(registry.register(SWARM_B, peer(1)), [peer(3)]);
  t.is(registry.count(SWARM_A), 2);
  t.is(registry.count(SWARM_B), 2);
});

test('deregister removes one registrant; unknown ones are ignored', (t) => {
  const { registry } = setup();
  registry.register(SWARM_A, peer(1));
  registry.register(SWARM_A, peer(2));
  registry.deregister(SWARM_A, peer(2).id);
  registry.deregister(SWARM_A, peer(7).id);
  registry.deregister(SWARM_B, peer(1).id);
  t.deepEqual(registry.register(SWARM_A, peer(3)), [peer(1)]);
  registry.deregister(SWARM_A, peer(1).id);
  registry.deregister(SWARM_A, peer(3).id);
  t.is(registry.count(SWARM_A), 0);
  t.deepEqual(registry.stats(), { swarms: 0, registrations: 0 });
});

// --- binding and quotas (issue #15) ------------------------------------------------

const from = (address: string, limited = true): Caller => ({ address, group: address, limited });

test('an id is bound to the address that registered it until it expires or that address deletes it', (t) => {
  const { registry, clock } = setup({ ttl: 60 });
  const a = from('10.0.0.1');
  const b = from('10.0.0.2');
  registry.register(SWARM_A, peer(1), a);
  const before = JSON.stringify(registry.list(SWARM_A));
  const moved = t.throws(() => registry.register(SWARM_A, { ...peer(1), host: '10.0.0.2', port: 9 }, b), { instanceOf: Refused });
  t.is(moved?.status, 409);
  t.regex(moved?.message ?? '', /registered from another address/);
  const deleted = t.throws(() => registry.deregister(SWARM_A, peer(1).id, b), { instanceOf: Refused });
  t.is(deleted?.status, 403);
  t.is(JSON.stringify(registry.list(SWARM_A)), before, 'neither changed anything');
  t.is(registry.count(SWARM_A), 1);

  registry.register(SWARM_A, { ...peer(1), port: 4242 }, a); // its owner renews, and may move its port
  t.is(registry.list(SWARM_A)[0]?.port, 4242);
  registry.register(SWARM_A, peer(1), a);
  clock.t += 60_000; // expired: the id is no one's
  registry.register(SWARM_A, { ...peer(1), port: 7 }, b);
  t.is(registry.list(SWARM_A)[0]?.port, 7);
  t.throws(() => registry.deregister(SWARM_A, peer(1).id, a), { instanceOf: Refused }, 'now bound to b');
  registry.deregister(SWARM_A, peer(1).id, b);
  t.is(registry.count(SWARM_A), 0);
  t.notThrows(() => registry.deregister(SWARM_A, peer(1).id, a), 'an unknown id: nothing to refuse');
  // Binding is per swarm: the same id elsewhere is another registration.
  registry.register(SWARM_A, peer(2), a);
  t.notThrows(() => registry.register(SWARM_B, peer(2), b));
});

test('quota: an address holds at most quotaIds live ids per swarm; renewals and other swarms unaffected', (t) => {
  const { registry, clock } = setup({ ttl: 60, quotaIds: 3 });
  const a = from('10.0.0.1');
  for (let n = 1; n <= 3; n++) registry.register(SWARM_A, peer(n), a);
  const over = t.throws(() => registry.register(SWARM_A, peer(4), a), { instanceOf: Refused });
  t.is(over?.status, 429);
  t.is(over?.retryAfter, 60, 'Retry-After: by then every id held now has expired unless renewed');
  t.is(registry.count(SWARM_A), 3, 'nothing changed');
  t.notThrows(() => registry.register(SWARM_A, peer(2), a), 'a renewal is not a new id');
  t.notThrows(() => registry.register(SWARM_B, peer(4), a), 'the quota is per swarm');
  t.notThrows(() => registry.register(SWARM_A, peer(5), from('10.0.0.2')), 'and per address');
  t.notThrows(() => registry.register(SWARM_A, peer(6), from('127.0.0.1', false)), 'an exempt caller (loopback) is not held to it');
  registry.deregister(SWARM_A, peer(1).id, a);
  t.notThrows(() => registry.register(SWARM_A, peer(7), a), 'a deleted id frees a place');
  clock.t += 30_000;
  registry.register(SWARM_A, peer(2), a);
  clock.t += 30_000; // peers 3 and 7 expired, 2 renewed
  t.notThrows(() => registry.register(SWARM_A, peer(8), a));
  t.notThrows(() => registry.register(SWARM_A, peer(9), a));
  t.throws(() => registry.register(SWARM_A, peer(10), a), { instanceOf: Refused });
  // Registrations without a caller (the simulator's) are neither checked nor counted.
  for (let n = 100; n < 110; n++) registry.register(SWARM_A, peer(n));
  t.throws(() => registry.register(SWARM_A, peer(100), a), { instanceOf: Refused }, 'nor can a caller take them');
  t.throws(() => new Registry({ quotaIds: -1 }), { instanceOf: RangeError });
});

test('a Sybil flood from one address cannot push honest registrants out of a full swarm', (t) => {
  const { registry } = setup({ maxPerSwarm: 50, quotaIds: 32 });
  for (let n = 1; n <= 10; n++) registry.register(SWARM_A, peer(n), from(`10.0.1.${n}`));
  const sybil = from('10.6.6.6');
  let refused = 0;
  for (let n = 1000; n < 3000; n++) {
    try {
      registry.register(SWARM_A, peer(n), sybil);
    } catch (err) {
      if (err instanceof Refused && err.status === 429) refused++;
      else throw err;
    }
  }
  t.is(refused, 2000 - 32);
  t.is(registry.count(SWARM_A), 42);
  const held = new Set(ids(registry.list(SWARM_A)));
  for (let n = 1; n <= 10; n++) t.true(held.has(peer(n).id), `honest peer ${n} still held`);
});

test('one address fills at most answerPerAddress entries of an answer while others are there to be named', (t) => {
  for (const answer of ['newest', 'mixed'] as const) {
    const rng = new SeededRng(7);
    const { registry } = setup({ answer, beta: 10, quotaIds: 32, answerPerAddress: 2, random: () => rng.next() });
    for (let n = 1; n <= 6; n++) registry.register(SWARM_A, peer(n), from(`10.0.1.${n}`));
    const sybil = from('10.6.6.6');
    for (let n = 1000; n < 1032; n++) registry.register(SWARM_A, peer(n), sybil); // the newest 32
    const told = registry.register(SWARM_A, peer(99), from('10.0.2.1'));
    const sybils = told.filter((r) => Number.parseInt(r.id, 16) >= 1000).length;
    t.is(sybils, 2, `${answer}: ${sybils} of ${told.length} from the one address`);
    t.is(told.length, 8, `${answer}: the 6 honest peers and 2 of the address's`);
    // Exempt callers (loopback, in-process) are not capped: a local demo names its peers. Seeded:
    // 'mixed' samples by bounded rejection (memory-store.ts: "then the sample is just smaller"),
    // which in this swarm of 12 answers 9, not 10, once in about a hundred draws with Math.random
    // (199 of 20,000; it failed CI on 2026-12-01); the cap is what is tested here.
    const localRng = new SeededRng(8);
    const local = setup({ answer, beta: 10, answerPerAddress: 2, random: () => localRng.next() }).registry;
    for (let n = 1; n <= 12; n++) local.register(SWARM_A, peer(n), from('127.0.0.1', false));
    t.is(local.register(SWARM_A, peer(50), from('127.0.0.1', false)).length, 10, `${answer}: exempt`);
  }
  t.throws(() => new Registry({ answerPerAddress: -1 }), { instanceOf: RangeError });
});

test('options are checked', (t) => {
  t.throws(() => new Registry({ beta: 0 }), { instanceOf: RangeError });
  t.throws(() => new Registry({ ttl: 0 }), { instanceOf: RangeError });
  t.throws(() => new Registry({ maxPerSwarm: 1.5 }), { instanceOf: RangeError });
  t.throws(() => new Registry({ maxSwarms: Number.NaN }), { instanceOf: RangeError });
});

// --- property: the linked-list store against a naive list of records -------------

interface Held extends Registrant {
  swarm: string;
  at: number;
  seq: number;
  owner: string; // '' for registrations made without a caller
}

/** The registry's rules written as plainly as possible, with linear scans everywhere. */
class NaiveRegistry {
  held: Held[] = [];
  lastPut = new Map<string, number>();
  seq = 0;
  constructor(private readonly o: { beta: number; ttlMs: number; maxPerSwarm: number; maxSwarms: number; quotaIds: number }) {}

  private prune(swarm: string | undefined, now: number): void {
    this.held = this.held.filter((h) => (swarm !== undefined && h.swarm !== swarm) || h.at > now - this.o.ttlMs);
  }
  private present(): string[] {
    return [...new Set(this.held.map((h) => h.swarm))];
  }
  private liveNewestFirst(swarm: string, now: number): Held[] {
    return this.held.filter((h) => h.swarm === swarm && h.at > now - this.o.ttlMs).sort((x, y) => y.seq - x.seq);
  }

  /** The answer, or the status of a refusal (which changes nothing but the pruning). */
  register(swarm: string, p: Registrant, now: number, from?: string): Registrant[] | number {
    this.prune(swarm, now);
    if (from !== undefined) {
      const bound = this.held.find((h) => h.swarm === swarm && h.id === p.id);
      if (bound && bound.owner !== from) return 409;
      if (!bound && this.held.filter((h) => h.swarm === swarm && h.owner === from).length >= this.o.quotaIds) return 429;
    }
    const answer = this.liveNewestFirst(swarm, now).filter((h) => h.id !== p.id).slice(0, this.o.beta);
    const present = this.present();
    if (!present.includes(swarm) && present.length >= this.o.maxSwarms) {
      const victim = present.reduce((a, b) => ((this.lastPut.get(a) ?? 0) <= (this.lastPut.get(b) ?? 0) ? a : b));
      this.held = this.held.filter((h) => h.swarm !== victim);
    }
    this.held = this.held.filter((h) => !(h.swarm === swarm && h.id === p.id));
    this.held.push({ ...p, swarm, at: now, seq: ++this.seq, owner: from ?? '' });
    this.lastPut.set(swarm, this.seq);
    const mine = this.held.filter((h) => h.swarm === swarm).sort((x, y) => x.seq - y.seq);
    const drop = new Set(mine.slice(0, Math.max(0, mine.length - this.o.maxPerSwarm)));
    this.held = this.held.filter((h) => !drop.has(h));
    return answer.map(({ id, host, port }) => ({ id, host, port }));
  }
  deregister(swarm: string, id: string, now: number, from?: string): number {
    if (from !== undefined) {
      this.prune(swarm, now);
      if (this.held.some((h) => h.swarm === swarm && h.id === id && h.owner !== from)) return 403;
    }
    this.held = this.held.filter((h) => !(h.swarm === swarm && h.id === id));
    return 204;
  }
  count(swarm: string, now: number): number {
    this.prune(swarm, now);
    return this.held.filter((h) => h.swarm === swarm).length;
  }
  list(swarm: string, now: number): Registrant[] {
    return this.liveNewestFirst(swarm, now).map(({ id, host, port }) => ({ id, host, port }));
  }
  sweep(now: number): void {
    this.prune(undefined, now);
  }
}

type Op =
  | { op: 'register'; swarm: number; peer: number; port: number; from: number }
  | { op: 'deregister'; swarm: number; peer: number; from: number }
  | { op: 'count'; swarm: number }
  | { op: 'advance'; ms: number }
  | { op: 'sweep' };

const SWARMS = 4;
// from: 0 is no caller (in-process), 1 and 2 are two addresses; mostly 1, so that it
// often holds several ids of a swarm at once and reaches its quota.
const fromArb = fc.constantFrom(0, 1, 1, 1, 1, 2);
const callerOf = (n: number): Caller | undefined => (n === 0 ? undefined : from(`10.9.9.${n}`));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('register' as const), swarm: fc.nat(SWARMS - 1), peer: fc.nat(7), port: fc.integer({ min: 1, max: 3 }), from: fromArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('deregister' as const), swarm: fc.nat(SWARMS - 1), peer: fc.nat(7), from: fromArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('count' as const), swarm: fc.nat(SWARMS - 1) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1500 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('sweep' as const) }) },
);

/** What `f` returns, or the status of the Refused it throws. */
function refusedOr<T>(f: () => T): T | number {
  try {
    return f();
  } catch (err) {
    if (err instanceof Refused) return err.status;
    throw err;
  }
}

test('property: the registry answers (and refuses) exactly like a naive model', (t) => {
  const seed = seedFrom(process.env, 20040307);
  t.log(`seed ${seed} (replay with SLURPIE_SEED=${seed})`);
  const swarmId = (n: number): string => n.toString(16).padStart(64, 'c');
  fc.assert(
    fc.property(
      fc.record({
        beta: fc.integer({ min: 1, max: 4 }),
        ttl: fc.integer({ min: 1, max: 3 }),
        maxPerSwarm: fc.integer({ min: 1, max: 5 }),
        maxSwarms: fc.integer({ min: 1, max: SWARMS }),
        quotaIds: fc.integer({ min: 1, max: 3 }),
      }),
      fc.array(opArb, { maxLength: 120 }),
      (o, ops) => {
        let now = 5_000;
        // The per-address cap on answers has its own test; the model names candidates in order.
        const registry = new Registry({ ...o, answerPerAddress: 0, now: () => now });
        const model = new NaiveRegistry({ ...o, ttlMs: o.ttl * 1000 });
        for (const step of ops) {
          switch (step.op) {
            case 'register': {
              const p = { ...peer(step.peer), port: step.port };
              const caller = callerOf(step.from);
              const got = refusedOr(() => registry.register(swarmId(step.swarm), p, caller));
              const want = model.register(swarmId(step.swarm), p, now, caller?.address);
              if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`register answer ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
              break;
            }
            case 'deregister': {
              const caller = callerOf(step.from);
              const got = refusedOr(() => (registry.deregister(swarmId(step.swarm), peer(step.peer).id, caller), 204));
              const want = model.deregister(swarmId(step.swarm), peer(step.peer).id, now, caller?.address);
              if (got !== want) throw new Error(`deregister ${got} != ${want}`);
              break;
            }
            case 'count': {
              const got = registry.count(swarmId(step.swarm));
              const want = model.count(swarmId(step.swarm), now);
              if (got !== want) throw new Error(`count ${got} != ${want}`);
              break;
            }
            case 'advance':
              now += step.ms;
              break;
            case 'sweep':
              registry.sweep();
              model.sweep(now);
              break;
          }
          for (let s = 0; s < SWARMS; s++) {
            const got = JSON.stringify(registry.list(swarmId(s)));
            const want = JSON.stringify(model.list(swarmId(s), now));
            if (got !== want) throw new Error(`after ${step.op}: swarm ${s} holds ${got}, model ${want}`);
          }
          const stats = registry.stats();
          if (stats.registrations !== model.held.length) throw new Error(`${stats.registrations} registrations held, model ${model.held.length}`);
          if (stats.swarms !== new Set(model.held.map((h) => h.swarm)).size) throw new Error(`${stats.swarms} swarms held, model differs`);
        }
      },
    ),
    { seed, numRuns: 300 },
  );
  t.pass();
});

test("answer 'mixed': half the newest, half drawn uniformly from the other live registrants", (t) => {
  const seed = seedFrom(process.env, 5);
  t.log(`seed ${seed}`);
  const rng = new SeededRng(seed);
  const { registry, clock } = setup({ beta: 10, answer: 'mixed', random: () => rng.next() });
  for (let n = 1; n <= 200; n++) registry.register(SWARM_A, peer(n));
  const counts = new Map<string, number>();
  const draws = 400;
  for (let i = 0; i < draws; i++) {
    clock.t += 1;
    const answer = registry.register(SWARM_A, peer(1000 + i));
    t.is(answer.length, 10);
    t.is(new Set(ids(answer)).size, 10, 'no one twice');
    t.false(ids(answer).includes(peer(1000 + i).id), 'never the caller');
    t.deepEqual(ids(answer.slice(0, 5)), ids(registry.list(SWARM_A, 6).slice(1)), 'the first half: the newest others, newest first');
    for (const p of answer.slice(5)) counts.set(p.id, (counts.get(p.id) ?? 0) + 1);
  }
  // The random half reaches all over the swarm, the oldest registrants included.
  const old = [...counts.keys()].filter((id) => parseInt(id, 16) <= 200).length;
  t.true(old > 100, `${old} of the 200 first registrants were drawn`);
  t.throws(() => new Registry({ answer: 'random' as 'mixed' }), { instanceOf: RangeError });
});

import test from 'ava';
import fc from 'fast-check';
import {
  PeerCountSketch,
  clampToAnchor,
  decodeSketch,
  estimateFromRegisters,
  hashId,
  maxMessageBytes,
  maxRank,
  rankCap,
  registerAndRank,
} from '../estimation/peer-count-sketch.ts';
import type { SketchDecodeError } from '../estimation/peer-count-sketch.ts';
import { SeededRng, randomInt, seedFrom } from '../estimation/random.ts';

const SEED = seedFrom(process.env, 2004);
const W = 20_480; // window: 1023 units of 20.02 ms round up to 21 ms; keep times multiples of UNIT
const UNIT = 21;
const LOG2M = 7;
const sketch = (log2m = LOG2M): PeerCountSketch => new PeerCountSketch({ log2m, windowMs: W, ageUnitMs: UNIT });

/** An operation script: insert id #k at time t (times are multiples of UNIT, so the wire loses nothing). */
const opsArb = fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 3000 })), { maxLength: 120 });
type Ops = Array<[number, number]>;
const NOW = 3000 * UNIT;

function build(ops: Ops, log2m = LOG2M): PeerCountSketch {
  const s = sketch(log2m);
  for (const [k, t] of [...ops].sort((a, b) => a[1] - b[1])) s.insert(t * UNIT, `peer-${k}`);
  return s;
}

function viaWire(into: PeerCountSketch, from: PeerCountSketch, now: number): void {
  const d = decodeSketch(from.encodeFull(now), { log2m: into.log2m });
  if (!d.ok) throw new Error(d.reason);
  into.merge(now, d.msg);
}

// ---- hashing ----

test('the hash is fixed (peers must agree on it) and spreads sequential ids over registers and ranks', (t) => {
  t.deepEqual(hashId('peer-0'), hashId('peer-0'));
  t.notDeepEqual(hashId('peer-0'), hashId('peer-1'));
  // Golden values: changing the hash splits a swarm's peers into incompatible sketches.
  t.deepEqual(
    [hashId(''), hashId('peer-0'), hashId('0123456789abcdef'), hashId('é🙂')],
    [
      [0x4df59652, 0xfa931103],
      [0x871fa442, 0x7908638f],
      [0x38a40518, 0x82aa6dd3],
      [0x48e064e8, 0xcbf5024c],
    ],
  );
  const counts = new Array<number>(64).fill(0);
  const ranks = new Array<number>(60).fill(0);
  const N = 64 * 256;
  for (let i = 0; i < N; i++) {
    const { register, rank } = registerAndRank(hashId(`peer-${i}`), 6);
    counts[register]!++;
    ranks[rank]!++;
  }
  // 256 expected per register, sd 16: every register within 5 sd.
  for (const c of counts) t.true(Math.abs(c - 256) < 80, `register count ${c}`);
  // P(rank = k) = 2^-k: ranks 1..4 within 5 sd of N 2^-k.
  for (let k = 1; k <= 4; k++) {
    const p = 2 ** -k;
    t.true(Math.abs((ranks[k] as number) - N * p) < 5 * Math.sqrt(N * p * (1 - p)), `rank ${k}: ${ranks[k]}`);
  }
});

test('ranks stay within 1..64 − log2m, registers within 0..m − 1', (t) => {
  for (const log2m of [4, 6, 7, 8]) {
    t.deepEqual(registerAndRank([0, 0], log2m), { register: 0, rank: maxRank(log2m) });
    t.deepEqual(registerAndRank([0xffffffff, 0], log2m), { register: 2 ** log2m - 1, rank: 1 });
    t.is(registerAndRank([0, 1], log2m).rank, maxRank(log2m));
    t.is(registerAndRank([1, 0], log2m).rank, 32 - log2m);
  }
  fc.assert(
    fc.property(fc.integer({ min: 4, max: 8 }), fc.string(), (log2m, id) => {
      const { register, rank } = registerAndRank(hashId(id), log2m);
      return register >= 0 && register < 2 ** log2m && rank >= 1 && rank <= 64 - log2m;
    }),
    { seed: SEED },
  );
});

// ---- the merge is a join: commutative, associative, idempotent, and per-register max ----

test('merge is commutative, associative and idempotent (in memory and over the wire)', (t) => {
  fc.assert(
    fc.property(opsArb, opsArb, opsArb, fc.boolean(), (a, b, c, wire) => {
      const join = (x: PeerCountSketch, y: PeerCountSketch): PeerCountSketch => {
        if (wire) viaWire(x, y, NOW);
        else x.mergeSketch(NOW, y);
        return x;
      };
      const ab = join(build(a), build(b)).entries(NOW);
      const ba = join(build(b), build(a)).entries(NOW);
      const abc1 = join(join(build(a), build(b)), build(c)).entries(NOW);
      const abc2 = join(build(a), join(build(b), build(c))).entries(NOW);
      const aa = join(build(a), build(a)).entries(NOW);
      t.deepEqual(ab, ba);
      t.deepEqual(abc1, abc2);
      t.deepEqual(aa, build(a).entries(NOW));
    }),
    { seed: SEED, numRuns: 60 },
  );
});

test('after a merge each register is the max of the two, and fronts stay strict Pareto chains', (t) => {
  fc.assert(
    fc.property(opsArb, opsArb, fc.integer({ min: 0, max: 3000 }), (a, b, at) => {
      const now = Math.max(at, ...a.map((o) => o[1]), ...b.map((o) => o[1])) * UNIT;
      const x = build(a);
      const y = build(b);
      const want = x.registers(now).map((r, j) => Math.max(r, y.registers(now)[j] as number));
      x.mergeSketch(now, y);
      t.deepEqual(x.registers(now), want);
      const e = x.entries(now);
      for (let i = 1; i < e.length; i++) {
        const [j0, r0, a0] = e[i - 1]!;
        const [j1, r1, a1] = e[i]!;
        if (j0 === j1) t.true(r0 > r1 && a0 > a1, 'older entries strictly higher');
        else t.true(j0 < j1);
      }
      for (const [, , age] of e) t.true(age >= 0 && age <= W);
    }),
    { seed: SEED, numRuns: 60 },
  );
});

test('ids inserted at the same instant leave one entry per register: the highest', (t) => {
  const s = sketch();
  for (let i = 0; i < 3000; i++) s.insert(7 * UNIT, `same-${i}`);
  const e = s.entries(7 * UNIT);
  t.is(e.length, 128);
  t.deepEqual(e.map(([, r]) => r), [...s.registers(7 * UNIT)]);
});

test('unaligned clocks: ages round up on the wire (never younger), and what is sent always decodes', (t) => {
  fc.assert(
    // Insert times in ms (not multiples of the 21 ms unit), dense enough that fronts hold entries within one unit.
    fc.property(fc.array(fc.tuple(fc.nat(1000), fc.integer({ min: W, max: W + 1500 })), { maxLength: 400 }), fc.integer({ min: 0, max: 2000 }), (ops, extra) => {
      const s = sketch();
      for (const [k, x] of [...ops].sort((a, b) => a[1] - b[1])) s.insert(x + 0.25, `u-${k}`);
      const now = W + 1500 + extra;
      const d = decodeSketch(s.encodeFull(now), { log2m: LOG2M });
      t.true(d.ok);
      if (!d.ok) return;
      const r = sketch();
      r.merge(now, d.msg);
      const sent = new Map(s.entries(now).map(([j, rank, age]) => [`${j}:${rank}`, age]));
      for (const [j, rank, age] of r.entries(now)) {
        const orig = sent.get(`${j}:${rank}`);
        t.true(orig !== undefined && age >= orig - 1e-6 && age < orig + UNIT, `register ${j} rank ${rank}`);
      }
    }),
    { seed: SEED, numRuns: 60 },
  );
});

test('two front entries whose ages round to the same unit: only the higher is sent', (t) => {
  // Find two ids in one register, the first ranked higher.
  const byRegister = new Map<number, { id: string; rank: number }>();
  let pair: [string, string] | undefined;
  for (let i = 0; !pair; i++) {
    const id = `pair-${i}`;
    const { register, rank } = registerAndRank(hashId(id), LOG2M);
    const seen = byRegister.get(register);
    if (seen && seen.rank > rank) pair = [seen.id, id];
    else if (!seen) byRegister.set(register, { id, rank });
  }
  const s = sketch();
  s.insert(1000, pair[0]);
  s.insert(1005, pair[1]); // younger and lower: both on the front
  t.is(s.entryCount(), 2);
  const d = decodeSketch(s.encodeFull(1000 + 10 * UNIT + 10), { log2m: LOG2M });
  t.true(d.ok);
  if (d.ok) t.deepEqual([...d.msg.rank, ...d.msg.ageUnits], [registerAndRank(hashId(pair[0]), LOG2M).rank, 11]);
});

// ---- accuracy ----
// Relative standard error of HLL is 1.04/√m = 9.2% at m = 128. With SEED fixed the run is
// deterministic (cannot flake); for another SLURPIE_SEED, each single estimate is checked at
// 4.5 sd (two-sided miss 7e-6; 64 of them: 4e-4) and each mean of 16 at 4.5 sd / 4.

test('n distinct ids inserted: estimate within the HLL bound (m = 128)', (t) => {
  const rng = new SeededRng(SEED);
  const sd = 1.04 / Math.sqrt(128);
  for (const n of [100, 1000, 10_000, 30_000]) {
    const errs: number[] = [];
    for (let trial = 0; trial < 16; trial++) {
      const s = sketch();
      const prefix = `p${randomInt(rng, 2 ** 30)}-`;
      for (let i = 0; i < n; i++) s.insert(0, prefix + i);
      errs.push(s.estimate(0) / n - 1);
    }
    for (const e of errs) t.true(Math.abs(e) < 4.5 * sd, `n=${n}: error ${e.toFixed(3)}`);
    const mean = errs.reduce((x, y) => x + y, 0) / errs.length;
    t.true(Math.abs(mean) < (4.5 * sd) / 4, `n=${n}: mean error ${mean.toFixed(3)}`);
  }
});

test('1..10 peers: near exact (mean error under a peer, nearly all within one)', (t) => {
  const rng = new SeededRng(SEED + 1);
  for (let n = 1; n <= 10; n++) {
    let absSum = 0;
    let within1 = 0;
    const T = 200;
    for (let trial = 0; trial < T; trial++) {
      const s = sketch();
      const prefix = `q${randomInt(rng, 2 ** 30)}-`;
      for (let i = 0; i < n; i++) s.insert(0, prefix + i);
      const e = s.estimate(0);
      absSum += Math.abs(e - n);
      if (Math.abs(Math.round(e) - n) <= 1) within1++;
    }
    // A collision among n ids in 128 registers (probability ≈ n²/256) costs one peer.
    t.true(absSum / T < 0.75, `n=${n}: mean |error| ${(absSum / T).toFixed(2)}`);
    t.true(within1 / T >= 0.9, `n=${n}: within one peer ${within1}/${T}`);
  }
  t.is(sketch().estimate(0), 0);
  t.is(estimateFromRegisters(new Uint8Array(128), 7), 0);
});

// ---- the window ----

test('expiry: ids not re-inserted within the window are forgotten, re-inserted ones are kept', (t) => {
  const s = sketch();
  for (let i = 0; i < 500; i++) s.insert(0, `old-${i}`);
  for (let i = 0; i < 500; i++) s.insert(W / 2, `new-${i}`);
  t.true(Math.abs(s.estimate(W) / 1000 - 1) < 0.4);
  // One ms past the window the first 500 are gone; only the re-inserted half is counted.
  for (let i = 0; i < 250; i++) s.insert(W, `old-${i}`);
  const later = s.estimate(W + 1);
  t.true(Math.abs(later / 750 - 1) < 0.4, `estimate ${later}`);
  t.is(s.estimate(W / 2 + 2 * W + 1), 0);
  t.is(s.entryCount(), 0);
});

test('one id: counted for exactly windowMs after its last insertion', (t) => {
  const s = sketch();
  s.insert(1000, 'x');
  t.is(Math.round(s.estimate(1000 + W)), 1);
  t.is(s.estimate(1000 + W + 1), 0);
  s.insert(5000, 'x');
  s.insert(5000 + W, 'x');
  t.is(Math.round(s.estimate(5000 + 2 * W)), 1);
});

// ---- serialization ----

test('full form round-trips: decode(encodeFull) merged into an empty sketch gives the same entries and bytes', (t) => {
  fc.assert(
    fc.property(opsArb, fc.constantFrom(6, 7, 8), (ops, log2m) => {
      const s = build(ops, log2m);
      const bytes = s.encodeFull(NOW);
      t.true(bytes.length <= maxMessageBytes(log2m));
      const d = decodeSketch(bytes, { log2m });
      t.true(d.ok);
      if (!d.ok) return;
      t.is(d.msg.kind, 'full');
      const r = sketch(log2m);
      r.merge(NOW, d.msg);
      t.deepEqual(r.entries(NOW), s.entries(NOW));
      t.deepEqual(r.encodeFull(NOW), bytes);
    }),
    { seed: SEED, numRuns: 60 },
  );
});

test('delta + base = full; a delta since the current version is a bare header', (t) => {
  fc.assert(
    fc.property(opsArb, opsArb, opsArb, (first, later, other) => {
      const t0 = 1500 * UNIT;
      const a = build(first.map(([k, x]) => [k, x % 1501]));
      const b = sketch();
      viaWire(b, a, t0);
      const v0 = a.version;
      t.is(a.encodeDelta(t0, v0).length, 6);
      // A goes on: inserts of its own and a merge from a third sketch, all after t0.
      for (const [k, x] of later.map(([k, x]) => [k, 1501 + (x % 1500)]).sort((p, q) => p[1]! - q[1]!)) {
        a.insert(x! * UNIT, `late-${k}`);
      }
      a.mergeSketch(NOW, build(other));
      const delta = a.encodeDelta(NOW, v0);
      const d = decodeSketch(delta, { log2m: LOG2M });
      t.true(d.ok && d.msg.kind === 'delta');
      if (d.ok) b.merge(NOW, d.msg);
      const fresh = sketch();
      viaWire(fresh, a, NOW);
      t.deepEqual(b.entries(NOW), fresh.entries(NOW));
      t.true(delta.length <= a.encodeFull(NOW).length);
    }),
    { seed: SEED, numRuns: 60 },
  );
});

/** Header + groups: [register, [rank, ageUnits] oldest first ...] ... */
function craft(groups: Array<[number, Array<[number, number]>]>, header: Partial<{ magic: number; flags: number; unit: number; count: number }> = {}): Uint8Array {
  const bytes = [header.magic ?? 0x53, header.flags ?? LOG2M, 0, header.unit ?? UNIT, 0, header.count ?? groups.length];
  for (const [j, entries] of groups) {
    bytes.push(j, entries.length);
    for (const [r, a] of entries) bytes.push(((r << 10) | a) >>> 8, ((r << 10) | a) & 0xff);
  }
  return Uint8Array.from(bytes);
}

test('decode refuses malformed input with a code, never throws', (t) => {
  const ok = craft([[3, [[9, 500], [4, 20]]], [200 - 100, [[1, 0]]]]);
  const good = decodeSketch(ok, { log2m: LOG2M });
  t.true(good.ok);
  if (good.ok) t.deepEqual([...good.msg.register, ...good.msg.rank, ...good.msg.ageUnits], [3, 3, 100, 9, 4, 1, 500, 20, 0]);
  const cases: Array<[SketchDecodeError, Uint8Array, number?]> = [
    ['TRUNCATED', ok.subarray(0, 5)],
    ['TRUNCATED', ok.subarray(0, ok.length - 1)],
    ['TRUNCATED', craft([[3, [[9, 5]]]], { count: 2 })],
    ['BAD_MAGIC', craft([], { magic: 0x54 })],
    ['BAD_FLAGS', craft([], { flags: LOG2M | 0x20 })],
    ['LOG2M_MISMATCH', craft([], { flags: 6 })],
    ['BAD_AGE_UNIT', craft([], { unit: 0 })],
    ['TOO_MANY_GROUPS', craft([], { count: 129 })],
    ['REGISTER_RANGE', craft([[128, [[1, 0]]]])],
    ['REGISTER_ORDER', craft([[5, [[1, 0]]], [5, [[2, 0]]]])],
    ['REGISTER_ORDER', craft([[5, [[1, 0]]], [4, [[2, 0]]]])],
    ['BAD_COUNT', craft([[5, []]])],
    ['RANK_RANGE', craft([[5, [[0, 3]]]])],
    ['RANK_RANGE', craft([[5, [[58, 3]]]])],
    ['NOT_PARETO', craft([[5, [[4, 3], [5, 2]]]])],
    ['NOT_PARETO', craft([[5, [[5, 3], [4, 3]]]])],
    ['NOT_PARETO', craft([[5, [[5, 3], [5, 2]]]])],
    ['TRAILING_BYTES', Uint8Array.from([...ok, 0])],
    ['TOO_LARGE', ok, ok.length - 1],
    ['TOO_LARGE', new Uint8Array(maxMessageBytes(LOG2M) + 1)],
  ];
  for (const [code, bytes, maxBytes] of cases) {
    const d = decodeSketch(bytes, { log2m: LOG2M, ...(maxBytes === undefined ? {} : { maxBytes }) });
    t.false(d.ok, code);
    if (!d.ok) t.is(d.code, code, d.reason);
  }
  // Random bytes and mutated valid messages: a value every time; whatever decodes merges safely.
  const valid = build([[1, 0], [2, 5], [3, 9], [4, 12], [5, 400]]).encodeFull(NOW);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, v]) => {
          const copy = Uint8Array.from(valid);
          copy[i] = v;
          return copy;
        }),
      ),
      (bytes) => {
        const d = decodeSketch(bytes, { log2m: LOG2M });
        if (d.ok) {
          const s = sketch();
          s.merge(NOW, d.msg);
          t.true(decodeSketch(s.encodeFull(NOW), { log2m: LOG2M }).ok);
        }
      },
    ),
    { seed: SEED, numRuns: 500 },
  );
});

test('the largest legal message (every register, a front of every rank) is exactly the size bound', (t) => {
  for (const log2m of [6, 7, 8]) {
    const q = maxRank(log2m);
    const front: Array<[number, number]> = Array.from({ length: q }, (_, i) => [q - i, 1000 - i]);
    const groups: Array<[number, Array<[number, number]>]> = Array.from({ length: 2 ** log2m }, (_, j) => [j, front]);
    const bytes = craft(groups, { flags: log2m, count: 0 });
    bytes[4] = groups.length >>> 8;
    bytes[5] = groups.length & 0xff;
    t.is(bytes.length, maxMessageBytes(log2m));
    const d = decodeSketch(bytes, { log2m });
    t.true(d.ok);
    const s = new PeerCountSketch({ log2m, windowMs: 1023 * UNIT, ageUnitMs: UNIT });
    if (d.ok) s.merge(NOW, d.msg);
    t.is(s.entryCount(), q * 2 ** log2m); // memory is bounded by m (64 − log2m) entries
  }
});

// ---- merge options and the defences' helpers ----

test('merge options: maxRank lowers high entries, hopAllowance ages what arrives, another m merges nothing', (t) => {
  const msg = decodeSketch(craft([[1, [[30, 0]]], [2, [[3, 10]]]]), { log2m: LOG2M });
  if (!msg.ok) return t.fail();
  const s = sketch();
  t.deepEqual(s.merge(NOW, msg.msg, { maxRank: 10 }), { admitted: 2, clipped: 1 });
  t.deepEqual(s.entries(NOW), [[1, 10, 0], [2, 3, 10 * UNIT]]);
  const aged = sketch();
  aged.merge(NOW, msg.msg, { hopAllowanceMs: 5 });
  t.deepEqual(aged.entries(NOW), [[1, 30, 5], [2, 3, 10 * UNIT + 5]]);
  t.deepEqual(sketch(6).merge(NOW, msg.msg), { admitted: 0, clipped: 0 });
  // A hand-made message out of range, or a nonsense cap: skipped or bounded, fronts stay valid.
  const junk = { kind: 'full' as const, log2m: LOG2M, ageUnitMs: 1, register: Uint8Array.from([5, 6, 7, 200]), rank: Uint8Array.from([0, 99, 3, 4]), ageUnits: new Uint16Array(4) };
  for (const maxRank of [0, -3, Number.NaN, 1e9, undefined]) {
    const j = sketch();
    j.merge(NOW, junk, maxRank === undefined ? {} : { maxRank });
    for (const [reg, rank] of j.entries(NOW)) t.true(reg < 128 && rank >= 1 && rank <= 57);
    t.true(j.entryCount() <= 2);
  }
  t.throws(() => new PeerCountSketch({ log2m: 9, windowMs: 1000 }), { instanceOf: RangeError });
  t.throws(() => new PeerCountSketch({ log2m: 7, windowMs: 0 }), { instanceOf: RangeError });
  t.throws(() => new PeerCountSketch({ log2m: 7, windowMs: 100_000, ageUnitMs: 10 }), { instanceOf: RangeError });
});

test('one lying peer with every register at the top rank: astronomic estimate; rankCap limits one merge to about 2^(slack+1), clampToAnchor bounds it', (t) => {
  const honest = sketch();
  for (let i = 0; i < 1000; i++) honest.insert(NOW, `h-${i}`);
  const q = maxRank(LOG2M);
  const lie = decodeSketch(craft(Array.from({ length: 128 }, (_, j) => [j, [[q, 0]]])), { log2m: LOG2M });
  if (!lie.ok) return t.fail();
  const capped = sketch();
  capped.mergeSketch(NOW, honest);
  const cap = rankCap(capped.estimate(NOW), LOG2M, 4);
  t.true(cap >= 7 && cap <= 10, `cap ${cap}`);
  t.is(capped.merge(NOW, lie.msg, { maxRank: cap }).clipped, 128);
  const ratio = capped.estimate(NOW) / 1000;
  t.true(ratio > 2 ** 4 && ratio < 2 ** 7, `one capped merge: x${ratio.toFixed(1)}`);
  honest.merge(NOW, lie.msg);
  t.true(honest.estimate(NOW) > 1e17);
  t.is(clampToAnchor(honest.estimate(NOW), 1000, 2), 2000);
  t.is(clampToAnchor(3, 1000, 2), 500);
  t.is(clampToAnchor(700, 0, 2), 700); // no anchor: unchanged
});

// Peer-count sketch: a sliding-window HyperLogLog gossiped between mesh neighbours, a candidate
// group-size estimator for the source draw k/n (PROTOCOL.md §8, issue #10). Figures: from
// experiments/bench/sketch.ts (seed 2004, random 8-regular meshes, one message per neighbour per
// gossip round, insert period R = 4 rounds, window W = 20 rounds unless said).
//
// WHAT IT ESTIMATES. Each peer inserts its own id every insert period; neighbours merge by
// per-register max. So every peer estimates the distinct ids inserted in its connected mesh within
// the last windowMs: the live peers plus those gone for less than windowMs. Hash, register/rank
// and estimator (Ertl's, no bias tables; 1..10 peers within about one peer): hyperloglog.ts.
//
// ERROR. Relative standard error 1.04/√m (m = 64: 13%, 128: 9.2%, 256: 6.5%). p10..p90 of
// estimate / n over id sets, 10 to 10^5 peers, worst row: m = 64 0.85..1.22 (the edge of ±25%;
// one 10^5 swarm read 1.40), 128 0.89..1.18, 256 0.92..1.10. All peers converge to the same
// registers: a swarm shares one estimate, so the error is one draw per set of ids, not per peer.
//
// CONVERGENCE. Merge is a join (commutative, associative, idempotent: tested); a maximum spreads
// a hop per round, so all peers hold the union within diameter rounds (10..10^4 peers: 2, 4, 5, 6
// rounds; diameters 2, 4, 5, 7).
//
// MEMORY AND BYTES. Register j holds a Pareto front of (rank, stamp) entries (Chabchoub &
// Hébrail 2010, "Sliding HyperLogLog"): an entry stays unless another is at least as high and at
// least as young, so the oldest is the highest. Only each id's latest insertion counts, so a front
// holds a few entries (m = 128: 2.8 at 10^4 peers, 3.8 at 10^5): 360 entries, 6.2 KB used (9.5 KB
// allocated) per peer at 10^4. A full message is
// 6 + 2·registers + 2·entries bytes: 0.74 / 1.0 / 1.24 KB at 10^3 / 10^4 / 10^5. The delta (what
// was admitted since the last send) is still 2/3 of it, 0.67 KB per neighbour per round at 10^4
// (0.88 KB at 10^5): n/R fresh stamps arrive each round and renew the young, low end of every
// front. A longer insert period cuts it (10^3 peers, R = 2 / 4 / 8: 516 / 400 / 300 bytes).
// Merging costs ~35 ns per received entry (V8): ~0.1 ms per peer per round at 10^4.
//
// WINDOW AND CHURN. An entry's stamp is its insertion time (ages add up along the path), so a
// peer that leaves is forgotten everywhere windowMs after its last insertion. When half a swarm
// leaves at once, the median estimate is within 25% of the new n after ≈ windowMs (W = 8, 12, 20,
// 40 rounds: 9, 12, 21, 41 rounds; W = 12 at 10^4: 13) and overestimates until then. windowMs must
// exceed R plus the time news takes to cross the mesh (≈ D gossip periods plus latency), or far
// peers expire before their refresh arrives and the estimate is low (W = R = 4: 0.60 n).
// At 10^4 peers (D = 7) R = 2 s, W = 10 s track a halving in ~11 s for 0.75 KB per neighbour-round.
//
// NO SHARED CLOCK. The wire carries age = now − stamp in units of ageUnitMs (≈ windowMs/1023),
// rounded up; receivers stamp now − age − hopAllowanceMs: a hop ages an entry by < one unit.
//
// ROBUSTNESS (one liar among 10^3 honest peers, m = 128). The merge trusts ranks and ages.
// - Every register at the top rank (57), age 0: EVERY honest estimate goes to ~10^16·n within D
//   rounds (k/n never fires: the swarm starves) until windowMs after the liar stops. A liar cannot
//   lower registers. Replaying departed peers' maxima as fresh stops tracking a shrink (1.9·n
//   33 rounds after half the swarm left; honest: in band after 21).
// - (a) Witness ids (each entry carries its id; receivers rehash): the top-rank lie then costs
//   ~m·2^56·ln m ≈ 4.5·10^19 hashes, but inflating by f costs only ~(f − 1)·n fresh ids (f = 100
//   at 10^4 peers: 9·10^5 hashes, 0.05 s). Messages grow ~7x (16-byte ids); replays still work.
// - (b) Capping received ranks (maxRank = rankCap(own estimate, slack)): one merge rises at most
//   ~2^(slack+1), but the lie compounds each round (slack 2: 95x after 5 rounds, 10^15 x after
//   20). A cap from a fixed anchor, rankCap(2·anchor, 2), bounds it at 12x. Honest estimates do
//   not move; a joiner takes 2-3 rounds instead of 1 (1 if the cap starts from the anchor).
// - (c) Clamping to [A/c, A·c] around an independent count A (the topology server's live count)
//   bounds any lie to c (c = 2: 2.00·n); the only one that bounds it, as fresh and honest as A.
// Left with (a)+(c): holding the estimate at A·c, keeping departed peers alive, and sybils that
// register with the topology server to move A itself.
//
// WIRE FORMAT (integers big-endian; encodeFull / encodeDelta write it, decodeSketch checks it):
//   0  u8   magic 0x53 ('S')
//   1  u8   bits 0-3 log2m (4..8), bit 4: 1 = delta, 0 = full; bits 5-7 zero
//   2  u16  ageUnitMs (1..65535)
//   4  u16  G, registers present (≤ m)
//   6  G groups, register strictly increasing: u8 register (< m), u8 c = entries (1..64 − log2m),
//      c × u16 (rank << 10 | age in units, 0..1023), oldest first: rank and age strictly falling
//   At most 6 + m·(2 + 2·(64 − log2m)) bytes (m = 128: 14,854); decode refuses anything else with
//   a code. Memory is bounded the same way: m·(64 − log2m) entries.
// A delta sends no deletions: receivers expire by age and drop dominated entries themselves, so a
// merged base plus the delta since its version equals the full form (tested).
//
// CALLING CONTRACT. Each insert period insert(now, ownId). A new neighbour gets encodeFull(now);
// remember v = version, then each round send encodeDelta(now, v) and set v = version (ordered,
// reliable channel). On receipt decodeSketch, then merge. Read estimate(now) (clampToAnchor it).
import { estimateFromRegisters, hashId, maxRank, registerAndRank } from './hyperloglog.ts';

export { estimateFromRegisters, hashId, maxRank, rankCap, registerAndRank } from './hyperloglog.ts';

/** Registers are indexed by one byte on the wire, so m = 2^log2m is at most 256. */
export const MIN_LOG2M = 4;
export const MAX_LOG2M = 8;
/** An age is 10 bits on the wire, in units of the sender's ageUnitMs. */
export const MAX_AGE_UNITS = 1023;
export const MAX_AGE_UNIT_MS = 65_535;
const MAGIC = 0x53; // 'S'
const HEADER_BYTES = 6;
const DELTA_FLAG = 0x10;

export interface SketchParams {
  /** m = 2^log2m registers; standard error ≈ 1.04 / √m (64: 13%, 128: 9.2%, 256: 6.5%). */
  log2m: number;
  /** An entry older than this is forgotten. Must exceed the insert period plus the mesh diameter (in gossip rounds). */
  windowMs: number;
  /** Age resolution on the wire; default ceil(windowMs / 1023). Each hop may round an age up by less than one unit. */
  ageUnitMs?: number;
}

/** A decoded sketch message: parallel arrays, one element per entry, grouped by register. */
export interface SketchMessage {
  /** Informational: both forms merge the same way. */
  kind: 'full' | 'delta';
  log2m: number;
  ageUnitMs: number;
  register: Uint8Array;
  rank: Uint8Array;
  ageUnits: Uint16Array;
}

/** Why a message was refused (the peer broke the format; close or ignore, never crash). */
export type SketchDecodeError =
  | 'TRUNCATED' | 'TOO_LARGE' | 'BAD_MAGIC' | 'BAD_FLAGS' | 'LOG2M_MISMATCH' | 'BAD_AGE_UNIT' | 'TOO_MANY_GROUPS'
  | 'REGISTER_RANGE' | 'REGISTER_ORDER' | 'BAD_COUNT' | 'RANK_RANGE' | 'NOT_PARETO' | 'TRAILING_BYTES';

export type SketchDecodeResult = { ok: true; msg: SketchMessage } | { ok: false; code: SketchDecodeError; reason: string };

export interface MergeOptions {
  /**
   * Defence (b): ranks above this are lowered to it (see rankCap). Lowered, not refused: a refused
   * entry can leave a register empty, which costs far more than a register held at the cap.
   */
  maxRank?: number;
  /** Added to every received age: transit time the sender could not know. Default 0. */
  hopAllowanceMs?: number;
}

export interface MergeResult {
  /** Entries that changed this sketch's fronts. */
  admitted: number;
  /** Entries whose rank maxRank lowered. */
  clipped: number;
}

/** Defence (c): keep the estimate within [anchor / factor, anchor · factor] of an independent count. */
export function clampToAnchor(estimate: number, anchor: number, factor: number): number {
  if (!(anchor >= 1) || !(factor >= 1) || !Number.isFinite(anchor * factor)) return estimate;
  return Math.min(anchor * factor, Math.max(anchor / factor, estimate));
}

/** Longest well-formed message for m = 2^log2m: every register with a front of every rank. */
export function maxMessageBytes(log2m: number): number {
  return HEADER_BYTES + 2 ** log2m * (2 + 2 * maxRank(log2m));
}

// ---- the sketch ----

/** A sliding-window HyperLogLog (see above); every entry admitted gets the next version number. */
export class PeerCountSketch {
  readonly log2m: number;
  readonly m: number;
  readonly windowMs: number;
  readonly ageUnitMs: number;
  private readonly q: number;
  // All fronts in three flat arrays (a few KB, not m small arrays): register j's entries are
  // [start[j], start[j + 1]), oldest first; within a register ranks strictly fall, stamps strictly rise.
  private readonly start: Uint32Array;
  private rank = new Uint8Array(64);
  private stamp = new Float64Array(64);
  private vers = new Float64Array(64);
  private ver = 0;

  constructor(params: SketchParams) {
    const { log2m, windowMs } = params;
    if (!Number.isInteger(log2m) || log2m < MIN_LOG2M || log2m > MAX_LOG2M) throw new RangeError(`log2m must be ${MIN_LOG2M}..${MAX_LOG2M}`);
    if (!(windowMs > 0) || windowMs > MAX_AGE_UNITS * MAX_AGE_UNIT_MS) throw new RangeError(`windowMs out of range: ${windowMs}`);
    const unit = params.ageUnitMs ?? Math.ceil(windowMs / MAX_AGE_UNITS);
    if (!Number.isInteger(unit) || unit < 1 || unit > MAX_AGE_UNIT_MS || unit * MAX_AGE_UNITS < windowMs) {
      throw new RangeError(`ageUnitMs must be an integer in 1..${MAX_AGE_UNIT_MS} with 1023 units covering the window`);
    }
    this.log2m = log2m;
    this.m = 2 ** log2m;
    this.q = maxRank(log2m);
    this.windowMs = windowMs;
    this.ageUnitMs = unit;
    this.start = new Uint32Array(this.m + 1);
  }

  /** Grows by one for every entry admitted; pass the value seen at a send to encodeDelta next time. */
  get version(): number {
    return this.ver;
  }

  /** Record `id` (this peer's own, every insert period) as alive at `now`. True if a front changed. */
  insert(now: number, id: string): boolean {
    const { register, rank } = registerAndRank(hashId(id), this.log2m);
    this.expireRegister(register, now);
    return this.admit(register, rank, now);
  }

  /**
   * Merge a message received at `now` (per-register max over unexpired entries, by front). Meant for
   * decodeSketch's output; entries of a hand-made message outside the ranges are skipped.
   */
  merge(now: number, msg: SketchMessage, options: MergeOptions = {}): MergeResult {
    const result: MergeResult = { admitted: 0, clipped: 0 };
    if (msg.log2m !== this.log2m) return result;
    const cap = Number.isFinite(options.maxRank) ? Math.max(1, Math.min(this.q, Math.floor(options.maxRank as number))) : this.q;
    const allowance = Math.max(0, options.hopAllowanceMs ?? 0);
    let last = -1;
    for (let i = 0; i < msg.register.length; i++) {
      const j = msg.register[i] as number;
      if (j >= this.m || !((msg.rank[i] as number) >= 1)) continue;
      if (j !== last) this.expireRegister(j, now);
      last = j;
      const age = (msg.ageUnits[i] as number) * msg.ageUnitMs + allowance;
      if (age > this.windowMs) continue;
      let rank = msg.rank[i] as number;
      if (rank > cap) {
        rank = cap;
        result.clipped++;
      }
      if (this.admit(j, rank, now - age)) result.admitted++;
    }
    return result;
  }

  /** Merge another sketch held in memory (same clock): exact stamps, no wire rounding. */
  mergeSketch(now: number, other: PeerCountSketch): number {
    if (other.log2m !== this.log2m) return 0;
    let admitted = 0;
    for (let j = 0; j < this.m; j++) {
      this.expireRegister(j, now);
      for (let i = other.start[j] as number; i < (other.start[j + 1] as number); i++) {
        const stamp = other.stamp[i] as number;
        if (now - stamp <= this.windowMs && this.admit(j, other.rank[i] as number, stamp)) admitted++;
      }
    }
    return admitted;
  }

  /** Drop entries older than the window. Every other method does this for what it touches. */
  expire(now: number): void {
    for (let j = 0; j < this.m; j++) this.expireRegister(j, now);
  }

  /** Per register, the highest rank still inside the window (0: none). */
  registers(now: number): Uint8Array {
    this.expire(now);
    const out = new Uint8Array(this.m);
    for (let j = 0; j < this.m; j++) out[j] = this.start[j] === this.start[j + 1] ? 0 : (this.rank[this.start[j] as number] as number);
    return out;
  }

  /** Distinct ids inserted (here or anywhere upstream) within the window, estimated. */
  estimate(now: number): number {
    return estimateFromRegisters(this.registers(now), this.log2m);
  }

  /** Front entries held (memory: each is a rank, a stamp and a version). */
  entryCount(): number {
    return this.start[this.m] as number;
  }

  /** Bytes this sketch's storage takes (its typed arrays; the JS object adds under 1 KB). */
  byteSize(): number {
    return this.start.byteLength + this.rank.byteLength + this.stamp.byteLength + this.vers.byteLength;
  }

  /** Every live entry as [register, rank, age in ms], oldest first per register (for tests and tools). */
  entries(now: number): Array<[number, number, number]> {
    this.expire(now);
    const out: Array<[number, number, number]> = [];
    for (let j = 0; j < this.m; j++) {
      for (let i = this.start[j] as number; i < (this.start[j + 1] as number); i++) out.push([j, this.rank[i] as number, now - (this.stamp[i] as number)]);
    }
    return out;
  }

  /** Everything live, for a new neighbour. */
  encodeFull(now: number): Uint8Array {
    return this.encode(now, 0, false);
  }

  /** Only entries admitted after version `since` (what a neighbour that merged everything up to it lacks). */
  encodeDelta(now: number, since: number): Uint8Array {
    return this.encode(now, since, true);
  }

  private encode(now: number, since: number, delta: boolean): Uint8Array {
    this.expire(now);
    const unit = this.ageUnitMs;
    // Ages round up (never make an entry look younger than it is); a lower entry whose rounded
    // age equals the one above it is dominated after rounding and is left out.
    const groups: Array<{ j: number; words: number[] }> = [];
    let size = HEADER_BYTES;
    for (let j = 0; j < this.m; j++) {
      let words: number[] | null = null;
      let prevUnits = -1;
      for (let i = this.start[j] as number; i < (this.start[j + 1] as number); i++) {
        if ((this.vers[i] as number) <= since) continue;
        const units = Math.min(MAX_AGE_UNITS, Math.max(0, Math.ceil((now - (this.stamp[i] as number)) / unit - 1e-9)));
        if (units === prevUnits) continue;
        prevUnits = units;
        (words ??= []).push(((this.rank[i] as number) << 10) | units);
      }
      if (words) {
        groups.push({ j, words });
        size += 2 + 2 * words.length;
      }
    }
    const out = new Uint8Array(size);
    const g = groups.length;
    out.set([MAGIC, this.log2m | (delta ? DELTA_FLAG : 0), unit >>> 8, unit & 0xff, g >>> 8, g & 0xff]);
    let o = HEADER_BYTES;
    for (const { j, words } of groups) {
      out[o++] = j;
      out[o++] = words.length;
      for (const w of words) {
        out[o++] = w >>> 8;
        out[o++] = w & 0xff;
      }
    }
    return out;
  }

  private expireRegister(j: number, now: number): void {
    const a = this.start[j] as number;
    const end = this.start[j + 1] as number;
    const stamps = this.stamp;
    const oldest = now - this.windowMs;
    let b = a;
    while (b < end && (stamps[b] as number) < oldest) b++;
    if (b > a) this.replace(j, a, b, 0, 0);
  }

  /** Put (rank, stamp) on register j's front unless an entry at least as high and as young is there. */
  private admit(j: number, rank: number, stamp: number): boolean {
    const lo = this.start[j] as number;
    const hi = this.start[j + 1] as number;
    const stamps = this.stamp;
    const ranks = this.rank;
    let i = lo;
    while (i < hi && (stamps[i] as number) < stamp) i++;
    // Entries from i on are at least as young; the first of them is the highest.
    if (i < hi && (ranks[i] as number) >= rank) return false;
    let a = i;
    while (a > lo && (ranks[a - 1] as number) <= rank) a--; // older and not higher: dominated
    const b = i < hi && stamps[i] === stamp ? i + 1 : i; // same stamp, lower rank: dominated
    this.replace(j, a, b, rank, stamp);
    return true;
  }

  /** Replace entries [a, b) of register j by (rank, stamp) at the next version, or by nothing if rank is 0. */
  private replace(j: number, a: number, b: number, rank: number, stamp: number): void {
    const put = rank > 0 ? 1 : 0;
    const shift = put - (b - a);
    const total = this.start[this.m] as number;
    if (total + shift > this.rank.length) {
      const size = 2 * (total + shift);
      this.rank = grown(this.rank, new Uint8Array(size));
      this.stamp = grown(this.stamp, new Float64Array(size));
      this.vers = grown(this.vers, new Float64Array(size));
    }
    if (shift !== 0) {
      this.rank.copyWithin(b + shift, b, total);
      this.stamp.copyWithin(b + shift, b, total);
      this.vers.copyWithin(b + shift, b, total);
      for (let k = j + 1; k <= this.m; k++) this.start[k] = (this.start[k] as number) + shift;
    }
    if (put) {
      this.rank[a] = rank;
      this.stamp[a] = stamp;
      this.vers[a] = ++this.ver;
    }
  }
}

function grown<T extends Uint8Array | Float64Array>(old: T, bigger: T): T {
  bigger.set(old);
  return bigger;
}

// ---- decoding untrusted bytes: never throws, every failure is a code ----

export interface DecodeOptions {
  /** The receiver's log2m; a message for another m is refused. */
  log2m: number;
  /** Refuse longer messages; default (and ceiling) maxMessageBytes(log2m). */
  maxBytes?: number;
}

function fail(code: SketchDecodeError, reason: string): SketchDecodeResult {
  return { ok: false, code, reason };
}

export function decodeSketch(bytes: Uint8Array, options: DecodeOptions): SketchDecodeResult {
  const log2m = options.log2m;
  if (!Number.isInteger(log2m) || log2m < MIN_LOG2M || log2m > MAX_LOG2M) return fail('LOG2M_MISMATCH', `receiver log2m ${log2m} unsupported`);
  const limit = Math.min(options.maxBytes ?? Number.POSITIVE_INFINITY, maxMessageBytes(log2m));
  if (bytes.length > limit) return fail('TOO_LARGE', `${bytes.length} bytes > ${limit}`);
  if (bytes.length < HEADER_BYTES) return fail('TRUNCATED', 'shorter than the header');
  if (bytes[0] !== MAGIC) return fail('BAD_MAGIC', `magic ${bytes[0]}`);
  const flags = bytes[1] as number;
  if ((flags & 0xe0) !== 0) return fail('BAD_FLAGS', `flags ${flags}`);
  if ((flags & 0x0f) !== log2m) return fail('LOG2M_MISMATCH', `sender log2m ${flags & 0x0f}, ours ${log2m}`);
  const ageUnitMs = ((bytes[2] as number) << 8) | (bytes[3] as number);
  if (ageUnitMs === 0) return fail('BAD_AGE_UNIT', 'age unit 0');
  const m = 2 ** log2m;
  const q = maxRank(log2m);
  const groups = ((bytes[4] as number) << 8) | (bytes[5] as number);
  if (groups > m) return fail('TOO_MANY_GROUPS', `${groups} groups > ${m} registers`);
  const cap = (bytes.length - HEADER_BYTES) >>> 1;
  const register = new Uint8Array(cap);
  const rank = new Uint8Array(cap);
  const ageUnits = new Uint16Array(cap);
  let n = 0;
  let o = HEADER_BYTES;
  let prevRegister = -1;
  for (let g = 0; g < groups; g++) {
    if (o + 2 > bytes.length) return fail('TRUNCATED', `group ${g} header`);
    const j = bytes[o] as number;
    const count = bytes[o + 1] as number;
    o += 2;
    if (j >= m) return fail('REGISTER_RANGE', `register ${j} >= ${m}`);
    if (j <= prevRegister) return fail('REGISTER_ORDER', `register ${j} after ${prevRegister}`);
    prevRegister = j;
    if (count < 1 || count > q) return fail('BAD_COUNT', `register ${j}: ${count} entries`);
    if (o + 2 * count > bytes.length) return fail('TRUNCATED', `register ${j} entries`);
    let prevRank = q + 1;
    let prevAge = MAX_AGE_UNITS + 1;
    for (let e = 0; e < count; e++) {
      const w = ((bytes[o] as number) << 8) | (bytes[o + 1] as number);
      o += 2;
      const r = w >>> 10;
      const a = w & MAX_AGE_UNITS;
      if (r < 1 || r > q) return fail('RANK_RANGE', `register ${j}: rank ${r} outside 1..${q}`);
      if (r >= prevRank || a >= prevAge) return fail('NOT_PARETO', `register ${j}: entries not oldest-and-highest first`);
      prevRank = r;
      prevAge = a;
      register[n] = j;
      rank[n] = r;
      ageUnits[n] = a;
      n++;
    }
  }
  if (o !== bytes.length) return fail('TRAILING_BYTES', `${bytes.length - o} bytes after the last group`);
  const kind = flags & DELTA_FLAG ? 'delta' : 'full';
  return { ok: true, msg: { kind, log2m, ageUnitMs, register: register.subarray(0, n), rank: rank.subarray(0, n), ageUnits: ageUnits.subarray(0, n) } };
}

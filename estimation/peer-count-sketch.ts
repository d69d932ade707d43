// Peer-count sketch: a sliding-window HyperLogLog gossiped between mesh neighbours
// (PROTOCOL.md §8, issue #10), a candidate group-size estimator. Each peer inserts its own id
// every insert period; neighbours merge by per-register max; registers hold a Pareto front of
// (rank, stamp) entries (Chabchoub & Hébrail 2010, "Sliding HyperLogLog") so departed peers
// are forgotten windowMs after their last insertion. Ages, not stamps, cross the wire.

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
  kind: 'full' | 'delta';
  log2m: number;
  ageUnitMs: number;
  register: Uint8Array;
  rank: Uint8Array;
  ageUnits: Uint16Array;
}

export type SketchDecodeError =
  | 'TRUNCATED'
  | 'TOO_LARGE'
  | 'BAD_MAGIC'
  | 'BAD_FLAGS'
  | 'LOG2M_MISMATCH'
  | 'BAD_AGE_UNIT'
  | 'TOO_MANY_GROUPS'
  | 'REGISTER_RANGE'
  | 'REGISTER_ORDER'
  | 'BAD_COUNT'
  | 'RANK_RANGE'
  | 'NOT_PARETO'
  | 'TRAILING_BYTES';

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

// ---- hashing: a hand-written 2×32-bit murmur3-style hash of the id's UTF-16 code units ----

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** 64 well-mixed bits of `id` as [high word, low word]. */
export function hashId(id: string): [number, number] {
  let h1 = 0x9747b28c;
  let h2 = 0x5bd1e995 ^ id.length;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    let k1 = Math.imul(c, 0xcc9e2d51);
    k1 = Math.imul((k1 << 15) | (k1 >>> 17), 0x1b873593);
    h1 ^= k1;
    h1 = (Math.imul((h1 << 13) | (h1 >>> 19), 5) + 0xe6546b64) | 0;
    let k2 = Math.imul(c ^ (i << 16), 0x85ebca6b);
    k2 = Math.imul((k2 << 16) | (k2 >>> 16), 0xc2b2ae35);
    h2 ^= k2;
    h2 = (Math.imul((h2 << 17) | (h2 >>> 15), 5) + 0x561ccd1b) | 0;
  }
  h1 ^= id.length;
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  return [h1 >>> 0, h2 >>> 0];
}

/** Highest rank a register can hold: 64 − log2m (the all-zero tail, probability 2^−(64−log2m), is folded into it). */
export function maxRank(log2m: number): number {
  return 64 - log2m;
}

/** The register (top log2m bits) and rank (1 + leading zeros of the other 64 − log2m bits) of a hash. */
export function registerAndRank(hash: readonly [number, number], log2m: number): { register: number; rank: number } {
  const [hi, lo] = hash;
  const register = hi >>> (32 - log2m);
  const rest = (hi << log2m) >>> 0; // the high word's remaining 32 − log2m bits, left-aligned
  let rank: number;
  if (rest !== 0) rank = Math.clz32(rest) + 1;
  else rank = lo !== 0 ? 32 - log2m + Math.clz32(lo) + 1 : maxRank(log2m);
  return { register, rank: Math.min(rank, maxRank(log2m)) };
}

// ---- the estimator: Ertl's improved raw estimator (arXiv:1702.01284, Algorithm 6) ----
// Unbiased from n = 0 to the 64-bit range without linear-counting switch-over or bias tables;
// for n ≪ m it behaves like linear counting (m ln(m / empty registers)), so 1..10 peers come out near exact.

function sigma(x: number): number {
  if (x === 1) return Number.POSITIVE_INFINITY;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const prev = z;
    z += x * y;
    y += y;
    if (z === prev) return z;
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const prev = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
    if (z === prev) return z / 3;
  }
}

/** Cardinality estimate from register values (each 0..64 − log2m). 0 for an empty sketch. */
export function estimateFromRegisters(registers: Uint8Array, log2m: number): number {
  const m = registers.length;
  const q = maxRank(log2m);
  const hist = new Float64Array(q + 2);
  for (let j = 0; j < m; j++) hist[Math.min(registers[j] as number, q)]! += 1;
  let z = m * tau(1 - (hist[q + 1] as number) / m);
  for (let k = q; k >= 1; k--) z = 0.5 * (z + (hist[k] as number));
  z += m * sigma((hist[0] as number) / m);
  return z === Number.POSITIVE_INFINITY ? 0 : (m * m) / (2 * Math.LN2 * z);
}

// ---- robustness helpers (see the analysis in the header below) ----

/**
 * Defence (b): the highest rank worth accepting when the swarm is believed to hold about `estimate`
 * peers. A register's honest maximum exceeds log2(n/m) + 1 + slack with probability about 2^−slack.
 */
export function rankCap(estimate: number, log2m: number, slack: number): number {
  const perRegister = Math.max(1, estimate) / 2 ** log2m;
  return Math.min(maxRank(log2m), Math.max(1, Math.ceil(Math.log2(Math.max(1, perRegister))) + 1 + slack));
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

/**
 * A sliding-window HyperLogLog. Each register keeps a Pareto front of (rank, stamp) entries, oldest
 * (and therefore highest) first: an entry is dropped when another is at least as high and at least
 * as young. Stamps are this peer's clock; they cross the wire as ages. Every entry that changes a
 * front gets the next version number, so encodeDelta(now, v) holds everything new since version v.
 */
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

  /** Merge a decoded message received at `now` (per-register max over unexpired entries, by front). */
  merge(now: number, msg: SketchMessage, options: MergeOptions = {}): MergeResult {
    const result: MergeResult = { admitted: 0, clipped: 0 };
    if (msg.log2m !== this.log2m) return result;
    const cap = options.maxRank ?? this.q;
    const allowance = Math.max(0, options.hopAllowanceMs ?? 0);
    let last = -1;
    for (let i = 0; i < msg.register.length; i++) {
      const j = msg.register[i] as number;
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
    out[0] = MAGIC;
    out[1] = this.log2m | (delta ? DELTA_FLAG : 0);
    out[2] = unit >>> 8;
    out[3] = unit & 0xff;
    out[4] = groups.length >>> 8;
    out[5] = groups.length & 0xff;
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
    if (total + shift > this.rank.length) this.grow(2 * (total + shift));
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

  private grow(capacity: number): void {
    const rank = new Uint8Array(capacity);
    const stamp = new Float64Array(capacity);
    const vers = new Float64Array(capacity);
    rank.set(this.rank);
    stamp.set(this.stamp);
    vers.set(this.vers);
    this.rank = rank;
    this.stamp = stamp;
    this.vers = vers;
  }
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
  return {
    ok: true,
    msg: {
      kind: flags & DELTA_FLAG ? 'delta' : 'full',
      log2m,
      ageUnitMs,
      register: register.subarray(0, n),
      rank: rank.subarray(0, n),
      ageUnits: ageUnits.subarray(0, n),
    },
  };
}

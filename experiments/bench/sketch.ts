// The peer-count sketch (estimation/peer-count-sketch.ts) in synchronous gossip on random
// 8-regular meshes: accuracy, convergence vs diameter, bytes per neighbour per round (full vs
// delta), memory, tracking a swarm that loses half its peers, and what lying peers can do.
// Run: node --import tsx experiments/bench/sketch.ts [quick]   (SLURPIE_SEED=… to change the seed)
// About 4 minutes on one core; `quick` (no 10^4 / 10^5 rows) about one.
//
// One round = ROUND_MS of peer time. Each round every live node (1) inserts its own id at round 0
// and then every R rounds (random phase), (2) encodes what it admitted since its last send (the
// delta) and sends it to every neighbour, (3) merges what its neighbours sent. An insertion made
// at round τ is thus held at distance d at the end of round τ + d − 1. Ages are multiples of the
// age unit, so the wire loses nothing and gossip equals a closed form (each node holds every id's
// latest insertion that had time to arrive), checked against gossip at every gossip row and used
// where gossip is too slow for one process: n = 10^5, and m = 64 / 256 at 10^4.
import { PeerCountSketch, clampToAnchor, decodeSketch, estimateFromRegisters, hashId, maxRank, rankCap, registerAndRank } from '../../estimation/peer-count-sketch.ts';
import type { SketchMessage } from '../../estimation/peer-count-sketch.ts';
import { SeededRng, randomInt, seedFrom, shuffle } from '../../estimation/random.ts';
import { bfsDistances, randomRegularGraph } from '../sim/random-graph.ts';
import type { Graph } from '../sim/random-graph.ts';

const seed = seedFrom(process.env, 2004);
const rng = new SeededRng(seed);
const quick = process.argv.includes('quick');
const ROUND_MS = 1000;
const DEGREE = 8;

const q = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
type Trio = [number, number, number];
function pct(values: number[]): Trio {
  const s = [...values].sort((a, b) => a - b);
  return [q(s, 0.1), q(s, 0.5), q(s, 0.9)];
}
const f2 = (x: number): string => (x >= 1e4 ? x.toExponential(0) : x >= 100 ? x.toFixed(0) : x.toFixed(2));
const trio = (v: Trio): string => v.map(f2).join('/');
const pad = (x: unknown, w: number): string => String(x).padStart(w);

/** Smallest divisor of ROUND_MS that lets 1023 units cover the window (exact ages on the wire). */
function unitFor(windowRounds: number): number {
  const need = Math.ceil((windowRounds * ROUND_MS) / 1023);
  for (let u = need; u <= ROUND_MS; u++) if (ROUND_MS % u === 0) return u;
  return ROUND_MS;
}

function diameter(g: Graph, exact: boolean): number {
  let d = 0;
  const sources = exact ? Array.from({ length: g.n }, (_, i) => i) : Array.from({ length: 64 }, () => randomInt(rng, g.n));
  for (const s of sources) for (const x of bfsDistances(g, s)) d = Math.max(d, x);
  return d;
}

interface Lie {
  node: number;
  /** The message the liar sends at round t (instead of its own delta). */
  message: (t: number, self: PeerCountSketch) => SketchMessage;
}

interface Swarm {
  g: Graph; // replaced when the survivors re-mesh
  log2m: number;
  R: number;
  W: number;
  alive: Uint8Array;
  ids: string[];
  phase: Int32Array;
  sketches: PeerCountSketch[];
  sentVersion: Float64Array;
  liar?: Lie;
  /** Defence (b) at honest nodes: cap received ranks at rankCap(own estimate, slack). */
  capSlack?: number;
  /** If set, the cap comes from this count (e.g. the topology server's, times a band) instead of the own estimate. */
  capFrom?: number;
  /** Sum of message bytes sent per neighbour, and messages, since the last reset. */
  bytes: number;
  messages: number;
}

function makeSwarm(n: number, log2m: number, R: number, W: number, prefix: string): Swarm {
  const g = randomRegularGraph(rng, n, DEGREE);
  const sketches = Array.from({ length: n }, () => new PeerCountSketch({ log2m, windowMs: W * ROUND_MS, ageUnitMs: unitFor(W) }));
  const phase = new Int32Array(n).map(() => randomInt(rng, R));
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  return { g, log2m, R, W, sketches, phase, ids, alive: new Uint8Array(n).fill(1), sentVersion: new Float64Array(n), bytes: 0, messages: 0 };
}

function round(sw: Swarm, t: number): void {
  const now = t * ROUND_MS;
  const { g, sketches, alive } = sw;
  for (let i = 0; i < g.n; i++) {
    if (alive[i] && (t === 0 || (t - (sw.phase[i] as number)) % sw.R === 0)) sketches[i]!.insert(now, sw.ids[i]!);
  }
  const msgs: Array<SketchMessage | null> = new Array(g.n).fill(null);
  for (let i = 0; i < g.n; i++) {
    if (!alive[i]) continue;
    const s = sketches[i]!;
    if (sw.liar?.node === i) {
      msgs[i] = sw.liar.message(t, s);
      continue;
    }
    const bytes = s.encodeDelta(now, sw.sentVersion[i] as number);
    sw.sentVersion[i] = s.version;
    msgs[i] = decoded(bytes, sw.log2m);
    sw.bytes += bytes.length;
    sw.messages++;
  }
  const caps = sw.capSlack === undefined ? null : sketches.map((s) => rankCap(sw.capFrom ?? s.estimate(now), sw.log2m, sw.capSlack!));
  for (let i = 0; i < g.n; i++) {
    if (!alive[i]) continue;
    const opts = caps ? { maxRank: caps[i]! } : {};
    for (let e = g.offsets[i]!; e < g.offsets[i + 1]!; e++) {
      const msg = msgs[g.targets[e]!];
      if (msg) sketches[i]!.merge(now, msg, opts);
    }
  }
}

function decoded(bytes: Uint8Array, log2m: number): SketchMessage {
  const d = decodeSketch(bytes, { log2m });
  if (!d.ok) throw new Error(`own encoding refused: ${d.reason}`);
  return d.msg;
}

function ratios(sw: Swarm, t: number, n: number, skip = -1): number[] {
  const out: number[] = [];
  for (let i = 0; i < sw.g.n; i++) if (sw.alive[i] && i !== skip) out.push(sw.sketches[i]!.estimate(t * ROUND_MS) / n);
  return out;
}

/** The union of every live id's register: what full convergence means. */
function oracleRegisters(ids: string[], log2m: number): Uint8Array {
  const regs = new Uint8Array(2 ** log2m);
  for (const id of ids) {
    const { register, rank } = registerAndRank(hashId(id), log2m);
    if (rank > regs[register]!) regs[register] = rank;
  }
  return regs;
}

/**
 * Closed form of synchronous gossip at node u, end of round t (exact ages): v's latest insertion τ
 * with τ ≤ t − max(0, d(u,v) − 1) has arrived; it counts while t − τ ≤ W. `lag` = 1 gives the
 * state u encodes at round t (τ ≤ t − d), for counting what a delta holds.
 */
function closedForm(g: Graph, dist: Int32Array, _u: number, t: number, sw: { R: number; W: number; log2m: number; phase: Int32Array; ids: string[] }, lag: 0 | 1): PeerCountSketch {
  const s = new PeerCountSketch({ log2m: sw.log2m, windowMs: sw.W * ROUND_MS, ageUnitMs: unitFor(sw.W) });
  const events: Array<[number, number]> = [];
  for (let v = 0; v < g.n; v++) {
    const d = dist[v]!;
    const horizon = t - (lag ? d : Math.max(0, d - 1));
    if (d < 0 || horizon < 0) continue;
    const ph = sw.phase[v]!;
    const tau = horizon < ph ? 0 : horizon - ((horizon - ph) % sw.R);
    if (t - tau <= sw.W) events.push([tau, v]);
  }
  events.sort((a, b) => a[0] - b[0]);
  for (const [tau, v] of events) s.insert(tau * ROUND_MS, sw.ids[v]!);
  return s;
}

/** Bytes of a message carrying exactly the entries of `now` that `before` lacked. */
function deltaBytes(before: PeerCountSketch, after: PeerCountSketch, t: number): number {
  const old = new Set(before.entries((t - 1) * ROUND_MS).map(([j, r, age]) => `${j}:${r}:${(t - 1) * ROUND_MS - age}`));
  const groups = new Set<number>();
  let entries = 0;
  for (const [j, r, age] of after.entries(t * ROUND_MS)) {
    if (old.has(`${j}:${r}:${t * ROUND_MS - age}`)) continue;
    groups.add(j);
    entries++;
  }
  return 6 + 2 * groups.size + 2 * entries;
}

// ---- 1. accuracy, convergence, bytes, memory ----

/** nodes: est / n over a swarm's nodes; swarms: over independent id sets; bytes per message; memory per node. */
type Row = { n: number; m: number; how: string; diam: string; conv: string; nodes: Trio; swarms: Trio; full: number; delta: number; entries: number; bytes: number };

function swarmsSpread(n: number, log2m: number, trials: number): Trio {
  const r: number[] = [];
  for (let k = 0; k < trials; k++) {
    const prefix = `s${randomInt(rng, 2 ** 30)}`;
    r.push(estimateFromRegisters(oracleRegisters(Array.from({ length: n }, (_, i) => `${prefix}-${i}`), log2m), log2m) / n);
  }
  return pct(r);
}

function gossipRow(n: number, log2m: number, R: number, W: number): Row {
  const sw = makeSwarm(n, log2m, R, W, `g${randomInt(rng, 2 ** 30)}`);
  const want = oracleRegisters(sw.ids, log2m);
  let conv = -1;
  const steadyFrom = W + 2 * R;
  const fulls: number[] = [];
  for (let t = 0; t < steadyFrom + 2 * R; t++) {
    if (t === steadyFrom) sw.bytes = sw.messages = 0;
    round(sw, t);
    if (conv < 0 && sw.sketches.every((s) => s.registers(t * ROUND_MS).every((x, j) => x === want[j]))) conv = t + 1;
    if (t >= steadyFrom) for (let k = 0; k < 20; k++) fulls.push(sw.sketches[randomInt(rng, n)]!.encodeFull(t * ROUND_MS).length);
  }
  const end = steadyFrom + 2 * R - 1;
  // The closed form agrees with gossip (checked at a few nodes): it stands in at 10^5.
  for (let k = 0; k < 3; k++) {
    const u = randomInt(rng, n);
    const cf = closedForm(sw.g, bfsDistances(sw.g, u), u, end, sw, 0);
    if (cf.registers(end * ROUND_MS).join() !== sw.sketches[u]!.registers(end * ROUND_MS).join()) throw new Error('closed form disagrees with gossip');
  }
  const mean = (f: (s: PeerCountSketch) => number): number => sw.sketches.reduce((a, s) => a + f(s), 0) / n;
  return {
    n, m: 2 ** log2m, how: 'gossip', diam: String(diameter(sw.g, n <= 10_000)), conv: String(conv),
    nodes: pct(ratios(sw, end, n)), swarms: swarmsSpread(n, log2m, 200),
    full: fulls.reduce((a, b) => a + b, 0) / fulls.length, delta: sw.bytes / sw.messages,
    entries: mean((s) => s.entryCount()), bytes: mean((s) => s.byteSize()),
  };
}

function closedRow(n: number, log2m: number, R: number, W: number, samples: number): Row {
  const sw = makeSwarm(n, log2m, R, W, `c${randomInt(rng, 2 ** 30)}`);
  const t = W + 3 * R;
  const est: number[] = [];
  let [full, delta, entries, bytes, ecc] = [0, 0, 0, 0, 0];
  for (let k = 0; k < samples; k++) {
    const u = randomInt(rng, n);
    const dist = bfsDistances(sw.g, u);
    for (const d of dist) ecc = Math.max(ecc, d);
    const s = closedForm(sw.g, dist, u, t, sw, 0);
    est.push(s.estimate(t * ROUND_MS) / n);
    full += s.encodeFull(t * ROUND_MS).length;
    entries += s.entryCount();
    bytes += s.byteSize();
    delta += deltaBytes(closedForm(sw.g, dist, u, t - 1, sw, 1), closedForm(sw.g, dist, u, t, sw, 1), t);
  }
  return {
    n, m: 2 ** log2m, how: 'closed form', diam: `≥${ecc}`, conv: `≈${ecc}`, nodes: pct(est),
    swarms: swarmsSpread(n, log2m, n > 10_000 ? 60 : 200), full: full / samples, delta: delta / samples, entries: entries / samples, bytes: bytes / samples,
  };
}

function printRows(rows: Row[]): void {
  console.log(`${pad('n', 7)} ${pad('m', 4)} ${pad('how', 12)} ${pad('diam', 5)} ${pad('conv', 5)}  ${pad('est/n over nodes p10/p50/p90', 30)}  ${pad('over swarms', 16)} ${pad('full B', 7)} ${pad('delta B', 8)} ${pad('entries', 8)} ${pad('memory B', 9)}`);
  for (const r of rows) {
    console.log(`${pad(r.n, 7)} ${pad(r.m, 4)} ${pad(r.how, 12)} ${pad(r.diam, 5)} ${pad(r.conv, 5)}  ${pad(trio(r.nodes), 30)}  ${pad(trio(r.swarms), 16)} ${pad(r.full.toFixed(0), 7)} ${pad(r.delta.toFixed(0), 8)} ${pad(r.entries.toFixed(1), 8)} ${pad(r.bytes.toFixed(0), 9)}`);
  }
}

// ---- 2. churn: half the swarm leaves at once; the survivors re-mesh and exchange full sketches ----

function removeHalfAndRewire(sw: Swarm): number[] {
  const live = shuffle(rng, Array.from({ length: sw.g.n }, (_, i) => i).filter((i) => sw.alive[i]));
  for (const i of live.slice(0, Math.floor(live.length / 2))) sw.alive[i] = 0;
  const survivors = live.filter((i) => sw.alive[i]).sort((a, b) => a - b);
  const h = randomRegularGraph(rng, survivors.length, Math.min(DEGREE, survivors.length - 1));
  const offsets = new Int32Array(sw.g.n + 1);
  const targets: number[] = [];
  let k = 0;
  for (let i = 0; i < sw.g.n; i++) {
    if (survivors[k] === i) {
      for (let e = h.offsets[k]!; e < h.offsets[k + 1]!; e++) targets.push(survivors[h.targets[e]!]!);
      sw.sentVersion[i] = 0; // new neighbours get everything once
      k++;
    }
    offsets[i + 1] = targets.length;
  }
  sw.g = { n: sw.g.n, offsets, targets: Int32Array.from(targets) };
  return survivors;
}

/** steady: est / n over nodes and the last 2R rounds before the departure; inBand*: rounds after it (-1: never). */
type Tracking = { steady: Trio; deltaBytes: number; inBandP50: number; inBandAll: number; minP10: number; end: Trio };

/** Rounds after the departure until p50 (and p10..p90) of estimate / new n is within ±25%. */
function churn(n: number, log2m: number, R: number, W: number, replayLiar = false): Tracking {
  const sw = makeSwarm(n, log2m, R, W, `k${randomInt(rng, 2 ** 30)}`);
  const X = W + 3 * R;
  const steady: number[] = [];
  for (let t = 0; t < X; t++) {
    if (t === X - 2 * R) sw.bytes = sw.messages = 0;
    round(sw, t);
    if (t >= X - 2 * R) steady.push(...ratios(sw, t, n));
  }
  const deltaBytes = sw.bytes / sw.messages;
  const survivors = removeHalfAndRewire(sw);
  if (replayLiar) {
    // A survivor keeps re-advertising the register maxima it held before the departure, always fresh.
    const node = survivors[0]!;
    const regs = sw.sketches[node]!.registers((X - 1) * ROUND_MS);
    sw.liar = { node, message: () => messageOf(log2m, regs) };
  }
  const out: Tracking = { steady: pct(steady), deltaBytes, inBandP50: -1, inBandAll: -1, minP10: Infinity, end: [0, 0, 0] };
  for (let t = X; t <= X + W + 3 * R; t++) {
    round(sw, t);
    const r = pct(ratios(sw, t, survivors.length, sw.liar?.node));
    const inBand = (x: number): boolean => x >= 0.75 && x <= 1.25;
    if (out.inBandP50 < 0 && inBand(r[1])) out.inBandP50 = t - X + 1;
    if (out.inBandAll < 0 && inBand(r[0]) && inBand(r[2])) out.inBandAll = t - X + 1;
    out.minP10 = Math.min(out.minP10, r[0]);
    out.end = r;
  }
  return out;
}

// ---- 3. lying peers ----

/** A message claiming register j holds rank regs[j], inserted just now. */
function messageOf(log2m: number, regs: Uint8Array): SketchMessage {
  const js = [...regs.keys()].filter((j) => regs[j]! > 0);
  return { kind: 'full', log2m, ageUnitMs: 1, register: Uint8Array.from(js), rank: Uint8Array.from(js.map((j) => regs[j]!)), ageUnits: new Uint16Array(js.length) };
}

/** claim: the rank the liar puts in every register; honest nodes cap at rankCap(own estimate or n · capFromAnchor, capSlack), clamp to [n / anchorFactor, n · anchorFactor]. */
type LiarPlan = { label: string; claim: (ownEstimate: number) => number; capSlack?: number; capFromAnchor?: number; anchorFactor?: number };

function liarRun(n: number, plan: LiarPlan, R: number, W: number): string {
  const log2m = 7;
  const sw = makeSwarm(n, log2m, R, W, 'liar-run'); // the same ids for every plan: 'before' shows a defence's bias
  if (plan.capSlack !== undefined) sw.capSlack = plan.capSlack;
  if (plan.capFromAnchor !== undefined) sw.capFrom = n * plan.capFromAnchor;
  const X = W + 3 * R;
  const node = randomInt(rng, n);
  const view = (t: number): Trio => {
    const r = ratios(sw, t, n, node);
    return pct(plan.anchorFactor ? r.map((x) => clampToAnchor(x * n, n, plan.anchorFactor!) / n) : r);
  };
  for (let t = 0; t < X; t++) round(sw, t);
  const cells = [f2(view(X - 1)[1])];
  sw.liar = { node, message: (t, self) => messageOf(log2m, new Uint8Array(2 ** log2m).fill(plan.claim(self.estimate(t * ROUND_MS)))) };
  const LIE = 20;
  for (let t = X; t < X + LIE; t++) {
    round(sw, t);
    const k = t - X + 1;
    if ([3, 5, 10, 20].includes(k)) cells.push(trio(view(t)));
  }
  delete sw.liar;
  sw.alive[node] = 0;
  let back = '>' + String(W + 10);
  for (let t = X + LIE; t < X + LIE + W + 10; t++) {
    round(sw, t);
    const p = view(t);
    if (p[1] <= 1.25 && p[1] >= 0.75) {
      back = String(t - X - LIE + 1);
      break;
    }
  }
  return `${plan.label.padEnd(36)} ${cells.map((c, i) => c.padStart(i === 0 ? 6 : 24)).join('')} ${pad(back, 5)}`;
}

/** Defence (a), witness ids: random fake ids until the union's estimate reaches f · n. Returns hashes used. */
function grind(n: number, f: number, log2m: number): number {
  const regs = oracleRegisters(Array.from({ length: n }, (_, i) => `honest-${i}`), log2m);
  let h = 0;
  while (estimateFromRegisters(regs, log2m) < f * n) {
    for (let k = 0; k < 256; k++) {
      const { register, rank } = registerAndRank(hashId(`fake-${h++}`), log2m);
      if (rank > regs[register]!) regs[register] = rank;
    }
  }
  return h;
}

/** Defence (b)'s cost to honest joiners: rounds for a new peer, merging 8 converged neighbours under the cap. */
function joinRounds(n: number, slack: number | undefined, anchor = 0): number {
  const log2m = 7;
  // A converged neighbour in the steady state: every id re-inserted every R rounds for W rounds.
  const full = new PeerCountSketch({ log2m, windowMs: W * ROUND_MS, ageUnitMs: unitFor(W) });
  const phase = Array.from({ length: n }, () => randomInt(rng, R));
  for (let t = 0; t <= W; t++) for (let i = 0; i < n; i++) if ((t - phase[i]!) % R === 0) full.insert(t * ROUND_MS, `j-${i}`);
  const now = W * ROUND_MS;
  const msg = decoded(full.encodeFull(now), log2m);
  const joiner = new PeerCountSketch({ log2m, windowMs: W * ROUND_MS, ageUnitMs: unitFor(W) });
  joiner.insert(now, 'joiner');
  for (let k = 1; k <= 60; k++) {
    const cap = slack === undefined ? maxRank(log2m) : rankCap(Math.max(anchor, joiner.estimate(now)), log2m, slack);
    joiner.merge(now, msg, { maxRank: cap });
    if (Math.abs(joiner.estimate(now) / full.estimate(now) - 1) <= 0.25) return k;
  }
  return Infinity;
}

// ---- the run ----

const R = 4;
const W = 20;
const started = performance.now();
console.log(`seed ${seed}; random ${DEGREE}-regular meshes; insert period R=${R} rounds; window W=${W} rounds; one message per neighbour per round`);
console.log('\n1. Accuracy, convergence (rounds until every node holds the union\'s registers) vs diameter, bytes per message, front entries per node');
const rows: Row[] = [];
for (const log2m of [6, 7, 8]) {
  for (const n of [10, 100, 1000]) rows.push(gossipRow(n, log2m, R, W));
  if (!quick) rows.push(log2m === 7 ? gossipRow(10_000, log2m, R, W) : closedRow(10_000, log2m, R, W, 8));
  if (!quick) rows.push(closedRow(100_000, log2m, R, W, 5));
}
printRows(rows);

console.log(`\n2. Churn: at round W+3R half the peers leave; survivors re-mesh (new random ${DEGREE}-regular graph). Steady state over nodes x the last 2R rounds before; then rounds after the departure until est / new n is within ±25%`);
console.log(`${pad('n', 6)} ${pad('R', 2)} ${pad('W', 3)} ${pad('steady p10/p50/p90', 19)} ${pad('delta B', 8)} ${pad('p50 in band', 12)} ${pad('p10..p90 in band', 17)} ${pad('min p10', 8)} ${pad('end p10/p50/p90', 18)}`);
const churnCases: Array<[number, number, number]> = [[1000, 4, 4], [1000, 4, 8], [1000, 4, 12], [1000, 4, 20], [1000, 4, 40], [1000, 2, 8], [1000, 8, 16]];
if (!quick) churnCases.push([10_000, 4, 12], [10_000, 2, 10]);
for (const [n, r, w] of churnCases) {
  const c = churn(n, 7, r, w);
  console.log(`${pad(n, 6)} ${pad(r, 2)} ${pad(w, 3)} ${pad(trio(c.steady), 19)} ${pad(c.deltaBytes.toFixed(0), 8)} ${pad(c.inBandP50, 12)} ${pad(c.inBandAll, 17)} ${pad(f2(c.minP10), 8)} ${pad(trio(c.end), 18)}`);
}

const N_LIAR = 1000;
const q7 = maxRank(7);
console.log(`\n3. One lying peer among ${N_LIAR} (m=128, W=${W}) from round W+3R: honest est / n p10/p50/p90, rounds after the lie starts; then the liar leaves (back: rounds until p50 is within ±25% again)`);
console.log(`${'attack / defence'.padEnd(36)} ${pad('before', 6)}${[3, 5, 10, 20].map((k) => pad(`+${k} p10/p50/p90`, 24)).join('')} ${pad('back', 5)}`);
const plans: LiarPlan[] = [
  { label: 'rank 57 everywhere / none', claim: () => q7 },
  { label: 'rank 57 / (b) cap own est., slack 2', claim: () => q7, capSlack: 2 },
  { label: 'rank 57 / (b) cap own est., slack 4', claim: () => q7, capSlack: 4 },
  { label: 'rank 57 / (b) cap anchor x2, slack 2', claim: () => q7, capSlack: 2, capFromAnchor: 2 },
  { label: 'rank 57 / (c) clamp to anchor x2', claim: () => q7, anchorFactor: 2 },
  { label: 'rank 57 / (b) anchor x2 s2 + (c) x2', claim: () => q7, capSlack: 2, capFromAnchor: 2, anchorFactor: 2 },
];
for (const plan of plans) console.log(liarRun(N_LIAR, plan, R, W));
const replay = churn(N_LIAR, 7, R, W, true);
const inBand = (k: number): string => (k < 0 ? `never in ${W + 3 * R + 1} rounds` : `in band after ${k} rounds`);
console.log(`replay departed peers' maxima as fresh after 50% leave: est / new n ${trio(replay.end)}, ${inBand(replay.inBandP50)} (honest: ${inBand(churn(N_LIAR, 7, R, W).inBandP50)})`);

console.log('\n   (b) cost to an honest joiner: rounds to come within 25% merging converged neighbours, n=10^4:');
const joins = [2, 4, 6].map((s) => `slack ${s}: ${joinRounds(10_000, s)} (cap from max(own, anchor n/2): ${joinRounds(10_000, s, 5000)})`);
console.log(`   no cap: ${joinRounds(10_000, undefined)}; ${joins.join('; ')}`);

const h0 = performance.now();
for (let i = 0; i < 1_000_000; i++) hashId(`fake-${i}`);
const rate = 1e6 / ((performance.now() - h0) / 1000);
console.log(`\n   (a) witness ids: hashes a liar grinds to lift the estimate to f·n (our hash: ${(rate / 1e6).toFixed(1)}M hashes/s in one JS thread)`);
for (const n of [1000, 10_000]) {
  console.log(`   n=${n}: ${[2, 10, 100].map((f) => `f=${f}: ${grind(n, f, 7).toExponential(1)}`).join(', ')}`);
}
console.log(`   all 128 registers at rank 57 would take ≈ 128 · 2^56 · ln 128 ≈ ${(128 * 2 ** 56 * Math.log(128)).toExponential(1)} hashes`);
const row = rows.find((r) => r.m === 128 && r.n === (quick ? 1000 : 10_000))!;
console.log(`   wire cost at n=${row.n}: a full message of ${row.full.toFixed(0)} B grows to ≈ ${(row.full + row.entries * 17).toFixed(0)} B with a 16-byte id (+ length byte) per entry`);
console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s)`);

// Seeded random graphs for testing the group-size estimator and for the simulator:
// random r-regular graphs (the mesh the paper's reconnects approximate) and the
// irregular "each peer opens eta links" mesh a real swarm starts from.
import type { Rng } from '../../estimation/random.ts';
import { randomInt } from '../../estimation/random.ts';

/** An undirected simple graph in compressed form: node i's neighbours are targets[offsets[i] .. offsets[i + 1]). */
export interface Graph {
  readonly n: number;
  readonly offsets: Int32Array;
  readonly targets: Int32Array;
}

export function degree(g: Graph, node: number): number {
  return (g.offsets[node + 1] as number) - (g.offsets[node] as number);
}

/**
 * A uniform-ish random simple r-regular graph on n nodes: the pairing (configuration)
 * model, then degree-preserving edge switches that remove self-loops and double edges.
 * A fresh pairing is drawn if the repair gets stuck (only plausible for tiny, dense graphs).
 * O(n r) expected; 100,000 nodes take well under a second.
 */
export function randomRegularGraph(rng: Rng, n: number, r: number): Graph {
  if (!Number.isInteger(n) || !Number.isInteger(r) || n < 1 || r < 0 || r >= n || (n * r) % 2 !== 0) {
    throw new RangeError(`no simple ${r}-regular graph on ${n} nodes`);
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const g = tryRegular(rng, n, r);
    if (g) return g;
  }
  throw new Error(`could not generate a ${r}-regular graph on ${n} nodes`);
}

function tryRegular(rng: Rng, n: number, r: number): Graph | null {
  const m = (n * r) / 2;
  // Pair a shuffled list of stubs: edge e joins ends[2e] and ends[2e + 1].
  const ends = new Int32Array(2 * m);
  for (let i = 0; i < ends.length; i++) ends[i] = Math.floor(i / r);
  for (let i = ends.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    const t = ends[i] as number;
    ends[i] = ends[j] as number;
    ends[j] = t;
  }
  // Adjacency slots, r per node, kept in step with `ends` through the switches.
  const adj = new Int32Array(n * r);
  const fill = new Int32Array(n);
  const link = (u: number, v: number): void => {
    adj[u * r + (fill[u] as number)] = v;
    fill[u] = (fill[u] as number) + 1;
  };
  for (let e = 0; e < m; e++) {
    link(ends[2 * e] as number, ends[2 * e + 1] as number);
    link(ends[2 * e + 1] as number, ends[2 * e] as number);
  }
  const count = (u: number, v: number): number => {
    let c = 0;
    for (let s = u * r; s < u * r + r; s++) if (adj[s] === v) c++;
    return c;
  };
  const replace = (u: number, from: number, to: number): void => {
    for (let s = u * r; s < u * r + r; s++) {
      if (adj[s] === from) {
        adj[s] = to;
        return;
      }
    }
  };
  const isBad = (e: number): boolean => {
    const u = ends[2 * e] as number;
    const v = ends[2 * e + 1] as number;
    return u === v || count(u, v) > 1;
  };
  // Switch each bad edge (u,v) with a random edge (x,y) into (u,x),(v,y) when that adds no new defect.
  let budget = 1000 + 100 * m;
  for (let e = 0; e < m; e++) {
    while (isBad(e)) {
      if (--budget < 0) return null;
      const f = randomInt(rng, m);
      if (f === e) continue;
      const u = ends[2 * e] as number;
      const v = ends[2 * e + 1] as number;
      let x = ends[2 * f] as number;
      let y = ends[2 * f + 1] as number;
      if (rng.next() < 0.5) [x, y] = [y, x];
      if (u === x || v === y || (u === v && x === y) || count(u, x) > 0 || count(v, y) > 0) continue;
      replace(u, v, x);
      replace(v, u, y);
      replace(x, y, u);
      replace(y, x, v);
      ends[2 * e + 1] = x;
      ends[2 * f] = v;
      ends[2 * f + 1] = y;
      // The new edges are checked, so no edge turns bad: earlier edges stay good.
    }
  }
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) offsets[i] = i * r;
  return { n, offsets, targets: adj };
}

/**
 * The mesh a swarm starts from: every node opens `eta` links to distinct random others;
 * a link is one connection whichever side opened it, so degrees are irregular (mean about 2 eta).
 */
export function randomMeshGraph(rng: Rng, n: number, eta: number): Graph {
  if (!Number.isInteger(n) || !Number.isInteger(eta) || n < 1 || eta < 0) {
    throw new RangeError(`bad mesh parameters n=${n} eta=${eta}`);
  }
  const sets: Set<number>[] = Array.from({ length: n }, () => new Set<number>());
  const opens = Math.min(eta, n - 1);
  for (let u = 0; u < n; u++) {
    let opened = 0;
    const tried = new Set<number>();
    while (opened < opens && tried.size < n - 1) {
      const v = randomInt(rng, n);
      if (v === u || tried.has(v)) continue;
      tried.add(v);
      if ((sets[u] as Set<number>).has(v)) continue; // already linked by v's own open
      (sets[u] as Set<number>).add(v);
      (sets[v] as Set<number>).add(u);
      opened++;
    }
  }
  const offsets = new Int32Array(n + 1);
  for (let u = 0; u < n; u++) offsets[u + 1] = (offsets[u] as number) + (sets[u] as Set<number>).size;
  const targets = new Int32Array(offsets[n] as number);
  for (let u = 0; u < n; u++) targets.set([...(sets[u] as Set<number>)], offsets[u] as number);
  return { n, offsets, targets };
}

/** Hop distances from `source` (-1 where unreachable), as flooding with hop counts would report them. */
export function bfsDistances(g: Graph, source: number): Int32Array {
  const dist = new Int32Array(g.n).fill(-1);
  const queue = new Int32Array(g.n);
  let head = 0;
  let tail = 0;
  dist[source] = 0;
  queue[tail++] = source;
  while (head < tail) {
    const u = queue[head++] as number;
    const du = dist[u] as number;
    for (let s = g.offsets[u] as number; s < (g.offsets[u + 1] as number); s++) {
      const v = g.targets[s] as number;
      if (dist[v] === -1) {
        dist[v] = du + 1;
        queue[tail++] = v;
      }
    }
  }
  return dist;
}

export interface HeardEntry {
  origin: number;
  degree: number;
  hops: number;
}

/** What `node` hears when every origin's update floods the whole mesh: each other reachable node, its degree and distance. */
export function floodView(g: Graph, node: number): HeardEntry[] {
  const dist = bfsDistances(g, node);
  const heard: HeardEntry[] = [];
  for (let v = 0; v < g.n; v++) {
    const hops = dist[v] as number;
    if (hops > 0) heard.push({ origin: v, degree: degree(g, v), hops });
  }
  return heard;
}

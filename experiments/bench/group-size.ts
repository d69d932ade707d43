// Group-size estimator accuracy on seeded random graphs: for each size and degree, sample
// nodes, feed each the (origin, degree, hops) entries full flooding would bring it, and print
// the 10th/50th/90th percentiles of estimate / n for the paper's formula ((d̄ − 1)^max hops)
// and ours ((d̄ − 1)^mean hops), both without the floor (full flooding makes "origins seen + 1"
// exact, which would hide the formula), and of the estimator as shipped. Last, the bar: a 24-peer eta=4 mesh, share in [8, 72].
// Exits 1 if an r-regular size breaks the [n/4, 4n] bound the unit test checks at smaller sizes.
// Run: node --import tsx experiments/bench/group-size.ts   (SLURPIE_SEED=… to change the seed)
import { GroupSizeEstimator, estimateGroupSize } from '../../estimation/group-size.ts';
import { SeededRng, randomInt, seedFrom } from '../../estimation/random.ts';
import { degree, floodView, randomMeshGraph, randomRegularGraph } from '../sim/random-graph.ts';
import type { Graph } from '../sim/random-graph.ts';

const seed = seedFrom(process.env, 2004);
const rng = new SeededRng(seed);

/** The node's view fed through the real estimator; the raw formulas leave out the "origins seen + 1" floor. */
function estimatesAt(g: Graph, node: number): { paper: number; meanHops: number; estimator: number } {
  const est = new GroupSizeEstimator();
  est.setOwnDegree(degree(g, node));
  for (const e of floodView(g, node)) est.observe(0, String(e.origin), e.degree, e.hops);
  const s = est.snapshot(0);
  return {
    paper: estimateGroupSize({ meanDegree: s.meanDegree, diameter: s.diameter, originsSeen: 0 }),
    meanHops: estimateGroupSize({ meanDegree: s.meanDegree, diameter: s.diameter, meanHops: s.meanHops, originsSeen: 0 }),
    estimator: s.n,
  };
}

function quantile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

function spread(ratios: number[]): string {
  const s = [...ratios].sort((a, b) => a - b);
  return [0.1, 0.5, 0.9].map((p) => quantile(s, p).toFixed(2).padStart(6)).join(' ');
}

// The bound test/estimation-group-size.test.ts checks up to 10,000 nodes, checked here at
// every size: on r-regular graphs most sampled nodes estimate within [n/4, 4n] with
// (d̄ − 1)^mean hops, and every one does with the estimator as shipped.
const LOW = 1 / 4;
const HIGH = 4;
const outOfBound: string[] = [];

function row(label: string, graphs: () => Graph, graphCount: number, perGraph: number, checked = false): void {
  const paper: number[] = [];
  const ours: number[] = [];
  const full: number[] = [];
  for (let k = 0; k < graphCount; k++) {
    const g = graphs();
    for (let j = 0; j < perGraph; j++) {
      const e = estimatesAt(g, randomInt(rng, g.n));
      paper.push(e.paper / g.n);
      ours.push(e.meanHops / g.n);
      full.push(e.estimator / g.n);
    }
  }
  console.log(`${label.padEnd(20)} ${String(paper.length).padStart(7)}  ${spread(paper)}   ${spread(ours)}   ${spread(full)}`);
  if (!checked) return;
  const within = (x: number): boolean => x >= LOW && x <= HIGH;
  if (ours.filter(within).length <= ours.length / 2) outOfBound.push(`${label}: (d̄-1)^mean hops within [n/4, 4n] for only ${ours.filter(within).length}/${ours.length}`);
  if (!full.every(within)) outOfBound.push(`${label}: the estimator left [n/4, 4n] for ${full.filter((x) => !within(x)).length}/${full.length}`);
}

console.log(`seed ${seed}; estimate / n: p10 p50 p90 over sampled nodes`);
console.log(
  `${'graph'.padEnd(20)} ${'samples'.padStart(7)}  ${'paper (d̄-1)^max'.padEnd(20)}   ${'ours (d̄-1)^mean'.padEnd(20)}   estimator (with floor)`,
);
for (const n of [10, 100, 1000, 10_000, 100_000]) {
  for (const r of [4, 5, 6, 7, 8]) {
    if (r >= n || (n * r) % 2 !== 0) continue;
    const small = n <= 1000;
    row(`${r}-regular n=${n}`, () => randomRegularGraph(rng, n, r), small ? 10 : 2, small ? 10 : 5, true);
  }
  row(`mesh eta=4 n=${n}`, () => randomMeshGraph(rng, n, 4), n <= 1000 ? 10 : 2, n <= 1000 ? 10 : 5);
}

const trials = 50;
const hits = { paper: 0, meanHops: 0, estimator: 0 };
const inBar = (n: number): number => (n >= 8 && n <= 72 ? 1 : 0);
for (let t = 0; t < trials; t++) {
  const g = randomMeshGraph(rng, 24, 4);
  for (let node = 0; node < g.n; node++) {
    const e = estimatesAt(g, node);
    hits.paper += inBar(e.paper);
    hits.meanHops += inBar(e.meanHops);
    hits.estimator += inBar(e.estimator);
  }
}
const pct = (x: number): string => `${((100 * x) / (trials * 24)).toFixed(1)}%`;
console.log(
  `24 peers, eta=4 mesh, ${trials} meshes, share of peers with an estimate in [8, 72]: ` +
    `paper ${pct(hits.paper)}, ours ${pct(hits.meanHops)}, estimator ${pct(hits.estimator)}`,
);
if (outOfBound.length > 0) {
  console.log(`out of the [n/4, 4n] bound:\n  ${outOfBound.join('\n  ')}`);
  process.exitCode = 1;
} else {
  console.log('every r-regular size within the [n/4, 4n] bound');
}

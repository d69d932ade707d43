// The source decision (paper's random backoff, PROTOCOL.md §6): each round a peer with
// missing blocks goes to the source with probability min(1, k/n), so about k peers use the
// source at once whatever the swarm's size; it fetches first the blocks no one in its view
// has, which also solves the last-block problem.
import type { Rng } from './random.ts';
import { randomInt } from './random.ts';

/** min(1, k/n); any nonsense (n < 1, k <= 0, non-finite) gives 1, so a peer is never starved of the source. */
export function sourceProbability(k: number, n: number): number {
  if (!Number.isFinite(k) || !Number.isFinite(n) || n < 1 || k <= 0) return 1;
  return Math.min(1, k / n);
}

/** This round's draw; without backoff (the ablation) every round goes to the source. */
export function drawSourceRound(rng: Rng, k: number, n: number, backoff: boolean): boolean {
  if (!backoff) return true;
  const p = sourceProbability(k, n);
  return p >= 1 || rng.next() < p;
}

/**
 * k, scaled down when the GETs already running in the swarm exceed it: `running` is the
 * share of our view that flags a GET (averaged over rounds: one view is a small sample)
 * times n. Independent k/n draws give Poisson(k) starts a round, and GETs that last several
 * rounds pile up; a peer that sees the source busier than k draws proportionally less. The
 * source is never left idle by it (the result stays above 0). It matters where Poisson peaks
 * matter most and the view is a good sample: tens to a few hundred peers; beyond, it is k.
 */
export function sourceHeadroom(k: number, running: number, coverage: number): number {
  // A view of a small share of the swarm sees a GET or none: scaled up, one sighting reads as
  // tens of GETs. Only a view that covers a good share of the swarm is worth believing.
  if (coverage < MIN_COVERAGE) return k;
  return running > k ? (k * k) / running : k;
}

/** Below this share of the swarm in view, sourceHeadroom does not condition on it. */
export const MIN_COVERAGE = 0.25;

export interface SourceRun {
  first: number;
  count: number;
}

/**
 * The blocks to ask the source for: start at a uniformly random block that is wanted and
 * passes the first preference that any wanted block passes (the caller lists them best
 * first: no one in the swarm has it, then no one in my view has it), extend forward while
 * blocks stay so, up to maxRun. With no preferred block, the same over wanted blocks (unless
 * `strict`: then null); null when nothing is wanted. At most two passes over the blocks per preference, one random draw.
 * With `window` > 0 the start is drawn among the `window` lowest such blocks (streaming),
 * the lowest with probability 1/2, the next 1/4, and so on (lowFavoured).
 */
export function chooseSourceRun(
  rng: Rng,
  blocks: number,
  wanted: (i: number) => boolean,
  preferred: ((i: number) => boolean) | readonly ((i: number) => boolean)[],
  maxRun: number,
  strict = false,
  window = 0, // > 0: start among the `window` lowest eligible blocks (streaming), not anywhere
): SourceRun | null {
  if (!Number.isInteger(blocks) || blocks <= 0) return null;
  const limit = Number.isNaN(maxRun) || maxRun < 1 ? 1 : Math.floor(maxRun);
  const tiers = [...(typeof preferred === 'function' ? [preferred] : preferred), ...(strict ? [] : [() => true])];
  let eligible: (i: number) => boolean = wanted;
  let count = 0;
  for (const tier of tiers) {
    eligible = (i: number): boolean => wanted(i) && tier(i);
    count = countWhere(blocks, eligible);
    if (count > 0) break;
  }
  if (count === 0) return null;
  let skip = window > 0 ? lowFavoured(rng, Math.min(window, count)) : randomInt(rng, count);
  let first = -1;
  for (let i = 0; i < blocks && first < 0; i++) {
    if (!eligible(i)) continue;
    if (skip === 0) first = i;
    else skip--;
  }
  if (first < 0) return null; // the predicates changed between passes
  let run = 1;
  while (run < limit && first + run < blocks && eligible(first + run)) run++;
  return { first, count: run };
}

/**
 * 0 with probability 1/2, 1 with 1/4, ... up to `size` − 1 (which takes the rest). Streaming
 * waits for the lowest missing block: drawn uniformly among 8, block 0 was left for 20 runs
 * of one lease (4.3 s of an 8 s download before any client saw a byte); favouring the lowest
 * fills the prefix first, while two lease holders drawing at once still part ways half the time.
 */
function lowFavoured(rng: Rng, size: number): number {
  let j = 0;
  while (j < size - 1 && rng.next() < 0.5) j++;
  return j;
}

function countWhere(blocks: number, test: (i: number) => boolean): number {
  let count = 0;
  for (let i = 0; i < blocks; i++) if (test(i)) count++;
  return count;
}

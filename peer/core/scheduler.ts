// Block choice (PROTOCOL.md §6): among the blocks a peer has and we neither have nor
// have asked for, a uniformly random one (the paper's rule).
import { randomInt, type Rng } from '../../estimation/random.ts';
import { countAndNot, nthAndNot } from './bits.ts';

/** A random block set in `remote` and clear in `taken`, or -1 when there is none. */
export function pickBlock(rng: Rng, remote: ArrayLike<number>, taken: ArrayLike<number>): number {
  const candidates = countAndNot(remote, taken);
  if (candidates === 0) return -1;
  return nthAndNot(remote, taken, randomInt(rng, candidates));
}

// The simulator's stand-in for a block's digest. Simulated blocks carry no content (zeros of
// the right length), so hashing them would cost time and tell nothing: a block's digest here
// is its index, padded to the wire's 16 bytes. Every simulated peer is honest about its bytes.
import { DIGEST_LENGTH } from '../../peer/core/messages.ts';

const cache: Uint8Array[] = [];

export function simDigest(index: number): Uint8Array {
  let d = cache[index];
  if (!d) {
    d = new Uint8Array(DIGEST_LENGTH);
    new DataView(d.buffer).setUint32(0, index);
    cache[index] = d;
  }
  return d;
}

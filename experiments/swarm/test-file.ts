// Deterministic test content: the same seed gives the same bytes, so runs replay.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { SeededRng } from '../../estimation/random.ts';

/** Writes `size` seeded pseudo-random bytes to `path`; returns their sha256. */
export async function writeTestFile(path: string, size: number, seed: number): Promise<string> {
  const rng = new SeededRng(seed);
  const hash = createHash('sha256');
  const file = await open(path, 'w');
  try {
    const chunk = Buffer.alloc(1 << 20);
    for (let offset = 0; offset < size; offset += chunk.length) {
      const n = Math.min(chunk.length, size - offset);
      for (let i = 0; i + 4 <= n; i += 4) chunk.writeUInt32LE((rng.next() * 4294967296) >>> 0, i);
      for (let i = n - (n % 4); i < n; i++) chunk[i] = (rng.next() * 256) >>> 0;
      const view = chunk.subarray(0, n);
      hash.update(view);
      await file.write(view, 0, n, offset);
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

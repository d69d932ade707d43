// When the finished file fails its digest: fetch blocks that came from peers again from the
// source, compare, keep the source's bytes and name the peers that lied (PROTOCOL.md §9).
// First only the suspects: blocks no one vouched for besides their sender (peer/core/digests.ts);
// blocks another peer confirmed are left out (`trusted`). Only if the file still fails does
// the caller try again with every peer-supplied block.
import type { PartFile } from '../storage/part-file.ts';
import { fetchBlocks, type SourceInfo } from './source-client.ts';

const MAX_RUN = 64;

export async function repairFromSource(
  part: PartFile,
  source: SourceInfo,
  signal?: AbortSignal,
  trusted: ReadonlySet<number> = new Set(),
): Promise<{ checked: number; replaced: number; liars: Set<string>; seen: Set<number> }> {
  const suspects = new Map<number, string | null>();
  for (const [who, blocks] of part.suppliers()) {
    if (who === 'source') continue;
    for (const b of blocks) if (!trusted.has(b)) suspects.set(b, who);
  }
  const sorted = [...suspects.keys()].sort((a, b) => a - b);
  const liars = new Set<string>();
  let replaced = 0;
  for (let i = 0; i < sorted.length; ) {
    const first = sorted[i] as number;
    let count = 1;
    while (i + count < sorted.length && sorted[i + count] === first + count && count < MAX_RUN) count++;
    i += count;
    await fetchBlocks(source, first, count, part.blockSize, async (index, data) => {
      const mine = await part.readBlock(index);
      if (Buffer.compare(Buffer.from(mine.buffer, mine.byteOffset, mine.length), Buffer.from(data.buffer, data.byteOffset, data.length)) === 0) return;
      const who = suspects.get(index);
      if (who) liars.add(who);
      await part.writeBlock(index, data, 'source');
      replaced++;
    }, signal ? { signal } : {});
  }
  return { checked: sorted.length, replaced, liars, seen: new Set(sorted) };
}

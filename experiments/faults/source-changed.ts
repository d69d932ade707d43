// The source file replaced mid-download (new ETag): every peer exits 5 naming the change,
// no final file and no .part (nothing mixed is kept anywhere).
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { MiB, exists, exitOf, startScene, testData, waitFor } from './scene.ts';

export async function run(opts: FaultOptions): Promise<FaultRow> {
  const size = opts.short ? 4 * MiB : 32 * MiB;
  const rate = opts.short ? 1 * MiB : 4 * MiB;
  const scene = await startScene({ ...opts, size, rate });
  const row = { fault: 'source replaced mid-download', expected: 'every peer exits 5 naming the change, no file, no .part' };
  try {
    const peers = await Promise.all(Array.from({ length: opts.short ? 3 : 6 }, (_, i) => scene.peer(`peer-${i}`)));
    await waitFor(() => scene.source.stats().bytesSent >= size / 8, 60_000);
    const sentAtChange = scene.source.stats().bytesSent;
    await scene.source.replace(testData(size, opts.seed + 1));
    const outcomes = await Promise.all(peers.map(async (p) => {
      const code = await exitOf(p.child, 90_000);
      const named = /changed/i.test(p.child.stderr());
      const leftovers = (await exists(p.output)) || (await exists(`${p.output}.part`));
      return { code, named, leftovers };
    }));
    const pass = sentAtChange < size && outcomes.every((o) => o.code === 5 && o.named && !o.leftovers);
    return {
      ...row,
      observed: `replaced after ${(sentAtChange / MiB).toFixed(1)} MiB; exits ${outcomes.map((o) => o.code).join(',')}; ` +
        `named the change ${outcomes.filter((o) => o.named).length}/${outcomes.length}; leftovers ${outcomes.filter((o) => o.leftovers).length}`,
      bytesLost: 0, // nothing durable is meant to survive: the old version is gone
      pass,
    };
  } finally {
    await scene.close();
  }
}

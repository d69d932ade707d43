// The source file replaced mid-download (new ETag): every peer exits 5 naming the change,
// no final file and no .part (nothing mixed is kept anywhere).
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { readFile, stat } from 'node:fs/promises';
import { MiB, exists, exitOf, mustReach, startScene, testData } from './scene.ts';

export async function run(opts: FaultOptions): Promise<FaultRow> {
  const size = opts.short ? 4 * MiB : 32 * MiB;
  const rate = opts.short ? 1 * MiB : 4 * MiB;
  const scene = await startScene({ ...opts, size, rate });
  const row = { fault: 'source replaced mid-download', expected: 'every peer exits 5 naming the change, no file, no .part' };
  try {
    const peers = await Promise.all(Array.from({ length: opts.short ? 3 : 6 }, (_, i) => scene.peer(`peer-${i}`)));
    // Every peer must have probed the old version (it registers after its probe): a peer that
    // probed after the change would form a swarm of its own for the new file and fail its sha256.
    await mustReach(
      () => (scene.topology?.registry.list(scene.swarmId).length ?? 0) >= peers.length && scene.source.stats().bytesSent >= size / 8,
      60_000,
      'every peer registered and an eighth of the file sent by the source',
    );
    const sentAtChange = scene.source.stats().bytesSent;
    const replacement = testData(size, opts.seed + 1);
    await scene.source.replace(replacement);
    const outcomes = await Promise.all(peers.map(async (p) => {
      const code = await exitOf(p.child, 90_000);
      const named = /changed/i.test(p.child.stderr());
      const leftovers = (await exists(p.output)) || (await exists(`${p.output}.part`));
      // Nothing of the old version may stay where a user or a rerun could take it for the file:
      // an output that is not the new version is wrong in full, a .part is kept old bytes.
      const output = await readFile(p.output).catch(() => null);
      const wrongOutput = output === null || output.equals(replacement) ? 0 : output.length;
      const keptPart = await stat(`${p.output}.part`).then((s) => s.size, () => 0);
      return { code, named, leftovers, lost: wrongOutput + keptPart };
    }));
    const bytesLost = outcomes.reduce((n, o) => n + o.lost, 0);
    const pass = sentAtChange < size && outcomes.every((o) => o.code === 5 && o.named && !o.leftovers) && bytesLost === 0;
    return {
      ...row,
      observed: `replaced after ${(sentAtChange / MiB).toFixed(1)} MiB; exits ${outcomes.map((o) => o.code).join(',')}; ` +
        `named the change ${outcomes.filter((o) => o.named).length}/${outcomes.length}; leftovers ${outcomes.filter((o) => o.leftovers).length}`,
      bytesLost,
      sourceBytes: scene.source.stats().bytesSent,
      pass,
    };
  } finally {
    await scene.close();
  }
}

// kill -9 of a lone `slurpie get` at about 40% of the file, then the same command again
// (issue #11): the rerun keeps every block the first run had written (its sidecar and
// journal), the output verifies, and the source serves at most F + 2 MiB across both runs:
// only what was in flight at the kill (a part-received block, socket buffers) is sent
// twice. Alone, so every byte the source counts is this download's.
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { KiB, MiB, blockCountOf, exists, exitOf, keptButLost, keptCounts, lostByFinisher, mustReach, readStats, startScene, verified } from './scene.ts';

const KILL_AT = 0.4; // of the file, as counted at the source
const SLACK = 2 * MiB; // what the source may serve beyond the file, both runs together

export async function run(opts: FaultOptions): Promise<FaultRow> {
  const size = opts.short ? 8 * MiB : 32 * MiB;
  // The CLI's default block size: a block being received at the kill is lost whole.
  const blockSize = 256 * KiB;
  const scene = await startScene({ ...opts, size, rate: opts.short ? 2 * MiB : 4 * MiB, topology: false, blockSize });
  const row = { fault: 'kill -9 at ~40%, rerun', expected: 'resumes with every block written, verifies; the source serves ≤ F + 2 MiB in all' };
  const mib = (bytes: number): string => (bytes / MiB).toFixed(2);
  try {
    const victim = await scene.peer('victim');
    let gone = false;
    void victim.child.exited.then(() => (gone = true));
    // A point in the download, not a moment: however slow the start, the kill lands at ~40%.
    await mustReach(() => scene.source.stats().bytesSent >= KILL_AT * size, 60_000, `${KILL_AT * 100}% of the file sent (${victim.child.stderr()})`);
    // ...once some block is recorded only in the journal (the sidecar waits for the next
    // flush), so that the kill always tests the journal, not a lucky moment after a flush.
    const journalOnly = async (): Promise<number> => {
      const { kept, sidecar } = await keptCounts(scene, victim.output);
      return kept - sidecar;
    };
    await mustReach(async () => gone || (await journalOnly()) > 0, 30_000, 'a block recorded only in the journal');
    if (gone) {
      const ended = await victim.child.exited;
      return { ...row, observed: `the first run ended (exit ${ended.code}) before any block was recorded only in its journal`, bytesLost: null, pass: false };
    }
    process.kill(victim.child.pid, 'SIGKILL');
    await victim.child.exited;
    const servedAtKill = scene.source.stats().bytesSent;
    const { kept, sidecar } = await keptCounts(scene, victim.output);
    const damaged = await keptButLost(scene, victim.output);
    const partKept = await exists(`${victim.output}.part`);

    const again = scene.rerun(victim);
    const code = await exitOf(again.child, opts.short ? 60_000 : 120_000);
    const served = scene.source.stats().bytesSent;
    const stats = await readStats(again);
    const resumed = typeof stats?.resumedBlocks === 'number' ? stats.resumedBlocks : 0;
    const ok = await verified(scene, again);
    // Blocks recorded at the kill that the rerun did not keep, recorded blocks whose bytes were
    // wrong, and anything the rerun fetched beyond what it lacked (alone: nothing is allowed).
    const bytesLost = Math.max(0, kept - resumed) * blockSize + damaged + (await lostByFinisher(scene, again));
    const pass = code === 0 && ok && partKept && kept > 0 && bytesLost === 0 && served <= size + SLACK;
    return {
      ...row,
      observed: `killed at ${((servedAtKill / size) * 100).toFixed(0)}% (${mib(servedAtKill)} MiB served), ${kept}/${blockCountOf(scene)} blocks kept ` +
        `(${kept - sidecar} only in the journal), ${mib(Math.max(0, servedAtKill - kept * blockSize))} MiB in flight; ` +
        `rerun exit ${code}, resumed ${resumed}, verified ${ok}; source served ${mib(served)} MiB for ${mib(size)} MiB (+${mib(served - size)} MiB, limit +${mib(SLACK)})`,
      bytesLost,
      sourceBytes: served,
      pass,
    };
  } finally {
    await scene.close();
  }
}

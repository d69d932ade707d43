// 30% of the peers killed (SIGKILL) at seeded random points of the download: every remaining
// peer finishes, verified, and every killed peer's disk still holds what it claims (sidecar, journal).
import { SeededRng, shuffle } from '../../estimation/random.ts';
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { MiB, keptButLost, exitOf, lostByFinisher, mustReach, startScene, verified } from './scene.ts';

export async function run(opts: FaultOptions): Promise<FaultRow> {
  const n = opts.short ? 6 : 12;
  const size = opts.short ? 4 * MiB : 32 * MiB;
  const rate = opts.short ? 1 * MiB : 4 * MiB;
  const scene = await startScene({ ...opts, size, rate });
  const row = { fault: `churn: 30% of ${n} peers killed`, expected: 'every remaining peer finishes, verified; killed peers keep what they recorded' };
  try {
    const peers = await Promise.all(Array.from({ length: n }, (_, i) => scene.peer(`peer-${i}`)));
    const rng = new SeededRng(opts.seed);
    const doomed = shuffle(rng, [...peers.keys()]).slice(0, Math.ceil(0.3 * n));
    // Points in the download, not moments: each doomed peer dies once the source has sent a
    // seeded share (10%-70%) of the file. No peer can finish before the source has sent the
    // whole file once, so every kill lands mid-download however fast the machine is.
    const points = doomed.map((i) => ({ i, share: 0.1 + 0.6 * rng.next() })).sort((a, b) => a.share - b.share);
    for (const { i, share } of points) {
      await mustReach(() => scene.source.stats().bytesSent >= share * size, 120_000, `${(share * 100).toFixed(0)}% of the file sent by the source`);
      try {
        process.kill(peers[i]!.child.pid, 'SIGKILL');
      } catch {
        // gone already (it failed): counted below
      }
    }
    const survivors = peers.filter((_, i) => !doomed.includes(i));
    const codes = await Promise.all(survivors.map((p) => exitOf(p.child, 120_000)));
    const ok = await Promise.all(survivors.map((p) => verified(scene, p)));
    const ends = await Promise.all(doomed.map(async (i) => (await peers[i]!.child.exited).signal));
    const killedMidway = ends.filter((s) => s === 'SIGKILL').length;
    // Survivors: a missing or wrong output, or blocks stored twice. Killed peers: blocks their
    // sidecar or journal claims that their .part no longer holds.
    const lostSurvivors = (await Promise.all(survivors.map((p) => lostByFinisher(scene, p)))).reduce((a, b) => a + b, 0);
    const lostKilled = (await Promise.all(doomed.map((i) => keptButLost(scene, peers[i]!.output)))).reduce((a, b) => a + b, 0);
    const bytesLost = lostSurvivors + lostKilled;
    const pass = codes.every((c) => c === 0) && ok.every(Boolean) && killedMidway === doomed.length && bytesLost === 0;
    return {
      ...row,
      observed: `killed ${killedMidway}/${doomed.length} mid-download at ${points.map((p) => `${(p.share * 100).toFixed(0)}%`).join(', ')} of the file sent; ` +
        `survivors exit ${codes.join(',')}, verified ${ok.filter(Boolean).length}/${survivors.length}; killed peers lost ${lostKilled} B of what they recorded`,
      bytesLost,
      sourceBytes: scene.source.stats().bytesSent,
      pass,
    };
  } finally {
    await scene.close();
  }
}

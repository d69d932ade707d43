// 30% of the peers killed (SIGKILL) at seeded random moments: every remaining peer
// finishes, verified.
import { SeededRng, shuffle } from '../../estimation/random.ts';
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { MiB, exitOf, sleep, startScene, verified } from './scene.ts';

export async function run(opts: FaultOptions): Promise<FaultRow> {
  const n = opts.short ? 6 : 12;
  const size = opts.short ? 4 * MiB : 32 * MiB;
  const rate = opts.short ? 1 * MiB : 4 * MiB;
  const scene = await startScene({ ...opts, size, rate });
  const row = { fault: `churn: 30% of ${n} peers killed`, expected: 'every remaining peer finishes, verified' };
  try {
    const peers = await Promise.all(Array.from({ length: n }, (_, i) => scene.peer(`peer-${i}`)));
    const rng = new SeededRng(opts.seed);
    const doomed = shuffle(rng, [...peers.keys()]).slice(0, Math.ceil(0.3 * n));
    // Moments spread over the first 80% of the time the source alone would need.
    const horizon = (0.8 * size) / rate * 1000;
    const moments = doomed.map((i) => ({ i, at: 500 + rng.next() * horizon }));
    const started = performance.now();
    await Promise.all(moments.map(async ({ i, at }) => {
      await sleep(Math.max(0, at - (performance.now() - started)));
      try {
        process.kill(peers[i]!.child.pid, 'SIGKILL');
      } catch {
        // finished already
      }
    }));
    const survivors = peers.filter((_, i) => !doomed.includes(i));
    const codes = await Promise.all(survivors.map((p) => exitOf(p.child, 120_000)));
    const ok = await Promise.all(survivors.map((p) => verified(scene, p)));
    const killedMidway = (await Promise.all(doomed.map(async (i) => (await peers[i]!.child.exited).signal === 'SIGKILL'))).filter(Boolean).length;
    const pass = codes.every((c) => c === 0) && ok.every(Boolean) && killedMidway > 0;
    return {
      ...row,
      observed: `killed ${killedMidway}/${doomed.length} mid-download at ${moments.map((m) => (m.at / 1000).toFixed(1)).join(', ')} s; ` +
        `survivors exit ${codes.join(',')}, verified ${ok.filter(Boolean).length}/${survivors.length}`,
      bytesLost: 0,
      pass,
    };
  } finally {
    await scene.close();
  }
}

// kill -9 of a peer mid-download in a swarm, then the same command again: it resumes,
// keeps every block its sidecar recorded as durable, and the output verifies.
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { BLOCK_SIZE, MiB, durableBlocks, durableButLost, exists, exitOf, lostByFinisher, mustReach, readStats, startScene, verified } from './scene.ts';

export async function run(opts: FaultOptions): Promise<FaultRow> {
  const size = opts.short ? 3 * MiB : 24 * MiB;
  const scene = await startScene({ ...opts, size, rate: opts.short ? 1 * MiB : 4 * MiB });
  const row = { fault: 'kill -9 mid-download, rerun', expected: 'resumes, refetches only in-flight blocks, verifies' };
  try {
    const others = await Promise.all(Array.from({ length: opts.short ? 2 : 4 }, (_, i) => scene.peer(`peer-${i}`)));
    const victim = await scene.peer('victim');
    const blocks = Math.ceil(size / BLOCK_SIZE);
    // Kill once a good share is durable, well before the end.
    await mustReach(async () => (await durableBlocks(scene, victim.output)) >= blocks / 3, 60_000, `a third of the victim's blocks durable (${victim.child.stderr()})`);
    process.kill(victim.child.pid, 'SIGKILL');
    await victim.child.exited;
    const durable = await durableBlocks(scene, victim.output);
    const damaged = await durableButLost(scene, victim.output);
    const partKept = await exists(`${victim.output}.part`);
    const again = scene.rerun(victim);
    const code = await exitOf(again.child, 120_000);
    const stats = await readStats(again);
    const resumed = typeof stats?.resumedBlocks === 'number' ? stats.resumedBlocks : 0;
    const fetched = (stats?.fromSource ?? 0) + (stats?.fromPeers ?? 0);
    const missing = size - Math.min(size, resumed * BLOCK_SIZE);
    const ok = await verified(scene, again);
    const codes = await Promise.all(others.map((p) => exitOf(p.child, 120_000)));
    const othersOk = (await Promise.all(others.map((p) => verified(scene, p)))).every(Boolean) && codes.every((c) => c === 0);
    // Durable blocks the rerun did not keep, or whose bytes were wrong after the kill; what the
    // rerun fetched beyond what it lacked, past 4 blocks (a duplicate answer may arrive for an
    // in-flight request, never for a kept block); and every other peer's losses.
    const lostOthers = (await Promise.all(others.map((p) => lostByFinisher(scene, p)))).reduce((a, b) => a + b, 0);
    const bytesLost = Math.max(0, durable - resumed) * BLOCK_SIZE + damaged + (await lostByFinisher(scene, again, 4 * BLOCK_SIZE)) + lostOthers;
    const pass = code === 0 && ok && othersOk && partKept && durable > 0 && bytesLost === 0 && fetched >= missing;
    return {
      ...row,
      observed: `exit ${code}, durable at kill ${durable}/${blocks} blocks, resumed ${resumed}, rerun fetched ${fetched} B for ${missing} B missing, ` +
        `verified ${ok}, other peers ${othersOk ? 'verified' : 'FAILED ' + codes.join(',')}`,
      bytesLost,
      pass,
    };
  } finally {
    await scene.close();
  }
}

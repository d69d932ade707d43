// A lying peer (claims every block, serves wrong bytes for a third of them) among honest
// peers: the liar is banned, every honest output verifies.
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { startFakePeer } from './fake-peer.ts';
import { BLOCK_SIZE, MiB, exitOf, lostByFinisher, startScene, verified } from './scene.ts';

export async function run(opts: FaultOptions): Promise<FaultRow> {
  const size = opts.short ? 2 * MiB : 16 * MiB;
  const scene = await startScene({ ...opts, size, rate: opts.short ? 1 * MiB : 4 * MiB });
  const row = { fault: 'lying peer (wrong bytes)', expected: 'liar banned, honest outputs verify' };
  const corrupt = (i: number): boolean => i % 3 === 0;
  const liar = await startFakePeer({
    topology: scene.topology!.url, swarmId: scene.swarmId, data: scene.data, blockSize: BLOCK_SIZE,
    behavior: { kind: 'liar', corrupt },
  });
  try {
    const peers = await Promise.all(Array.from({ length: opts.short ? 2 : 4 }, (_, i) => scene.peer(`peer-${i}`)));
    const codes = await Promise.all(peers.map((p) => exitOf(p.child, 120_000)));
    const ok = await Promise.all(peers.map((p) => verified(scene, p)));
    const banned = peers.filter((p) => new RegExp(`banned peer ${liar.id.slice(0, 8)}`).test(p.child.stderr())).length;
    const asked = liar.requests();
    // Each honest peer may fetch the liar's corrupted blocks a second time (the repair), no more;
    // a missing or wrong output loses the whole file.
    const corrupted = Array.from({ length: Math.ceil(size / BLOCK_SIZE) }, (_, i) => i).filter(corrupt).length;
    const bytesLost = (await Promise.all(peers.map((p) => lostByFinisher(scene, p, corrupted * BLOCK_SIZE)))).reduce((a, b) => a + b, 0);
    // Only a peer that took blocks from the liar can have caught it.
    const pass = codes.every((c) => c === 0) && ok.every(Boolean) && asked > 0 && banned >= 1 && bytesLost === 0;
    return {
      ...row,
      observed: `exits ${codes.join(',')}, verified ${ok.filter(Boolean).length}/${peers.length}, liar asked ${asked} blocks, banned by ${banned} peer(s)`,
      bytesLost,
      pass,
    };
  } finally {
    await liar.close();
    await scene.close();
  }
}

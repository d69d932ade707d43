// A lying peer (claims every block, serves wrong bytes for a third of them) among honest
// peers: the liar is banned, every honest output verifies.
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { startFakePeer } from './fake-peer.ts';
import { BLOCK_SIZE, MiB, exitOf, startScene, verified } from './scene.ts';

export async function run(opts: FaultOptions): Promise<FaultRow> {
  const size = opts.short ? 2 * MiB : 16 * MiB;
  const scene = await startScene({ ...opts, size, rate: opts.short ? 1 * MiB : 4 * MiB });
  const row = { fault: 'lying peer (wrong bytes)', expected: 'liar banned, honest outputs verify' };
  const liar = await startFakePeer({
    topology: scene.topology!.url, swarmId: scene.swarmId, data: scene.data, blockSize: BLOCK_SIZE,
    behavior: { kind: 'liar', corrupt: (i) => i % 3 === 0 },
  });
  try {
    const peers = await Promise.all(Array.from({ length: opts.short ? 2 : 4 }, (_, i) => scene.peer(`peer-${i}`)));
    const codes = await Promise.all(peers.map((p) => exitOf(p.child, 120_000)));
    const ok = await Promise.all(peers.map((p) => verified(scene, p)));
    const banned = peers.filter((p) => new RegExp(`banned peer ${liar.id.slice(0, 8)}`).test(p.child.stderr())).length;
    const asked = liar.requests();
    // Only a peer that took blocks from the liar can have caught it.
    const pass = codes.every((c) => c === 0) && ok.every(Boolean) && asked > 0 && banned >= 1;
    return {
      ...row,
      observed: `exits ${codes.join(',')}, verified ${ok.filter(Boolean).length}/${peers.length}, liar asked ${asked} blocks, banned by ${banned} peer(s)`,
      bytesLost: 0,
      pass,
    };
  } finally {
    await liar.close();
    await scene.close();
  }
}

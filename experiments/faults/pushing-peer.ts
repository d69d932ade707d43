// A peer that pushes BLOCKs nobody asked for (issue #11): wrong bytes under their own
// digests, every block, as soon as a connection opens. It is banned at the first one, and
// nothing it pushed is kept: the outputs verify without a final-check repair.
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { startFakePeer } from './fake-peer.ts';
import { BLOCK_SIZE, MiB, exitOf, lostByFinisher, startScene, verified } from './scene.ts';

export async function run(opts: FaultOptions): Promise<FaultRow> {
  const size = opts.short ? 2 * MiB : 16 * MiB;
  const honest = opts.short ? 2 : 4;
  const scene = await startScene({ ...opts, size, rate: opts.short ? 1 * MiB : 4 * MiB });
  const row = { fault: 'peer pushing unrequested BLOCKs', expected: 'pusher banned, nothing it pushed kept, outputs verify' };
  const pusher = await startFakePeer({
    topology: scene.topology!.url, swarmId: scene.swarmId, data: scene.data, blockSize: BLOCK_SIZE, behavior: { kind: 'pusher' },
  });
  try {
    const peers = await Promise.all(Array.from({ length: honest }, (_, i) => scene.peer(`peer-${i}`)));
    const codes = await Promise.all(peers.map((p) => exitOf(p.child, 120_000)));
    const ok = await Promise.all(peers.map((p) => verified(scene, p)));
    const banned = peers.filter((p) => new RegExp(`banned peer ${pusher.id.slice(0, 8)}.*UNREQUESTED_BLOCK`).test(p.child.stderr())).length;
    const repaired = peers.filter((p) => /checking the blocks that came from peers/.test(p.child.stderr())).length;
    const sourceBytes = scene.source.stats().bytesSent;
    const bytesLost = (await Promise.all(peers.map((p) => lostByFinisher(scene, p)))).reduce((a, b) => a + b, 0);
    const met = pusher.connections();
    const pass = codes.every((c) => c === 0) && ok.every(Boolean) && met > 0 && banned >= 1 && repaired === 0 && bytesLost === 0;
    return {
      ...row,
      observed: `exits ${codes.join(',')}, verified ${ok.filter(Boolean).length}/${honest}, pusher met ${met} connection(s), banned by ${banned}, ` +
        `${repaired} final-check repair(s); source ${(sourceBytes / MiB).toFixed(1)} MiB = ${(sourceBytes / size).toFixed(2)} F`,
      bytesLost,
      sourceBytes,
      pass,
    };
  } finally {
    await pusher.close();
    await scene.close();
  }
}

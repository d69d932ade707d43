// Lying peers among honest ones (issue #11). The liar joins first and holds the whole file;
// then the honest peers come, all at once, and it serves wrong bytes for a third of the blocks.
// - run: the liar sends the right digest with wrong bytes (a faulty disk or sender). Every
//   honest peer sees the mismatch on the first bad block, bans it, and the source serves
//   about one copy, as without the liar.
// - runConsistent: the liar puts the digest of its wrong bytes on them and vouches for them
//   (DIGESTS). Honest peers settle disputes at the source, and a failed final check refetches
//   only the blocks no one else vouched for; every output still verifies.
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { startFakePeer } from './fake-peer.ts';
import { BLOCK_SIZE, MiB, exitOf, lostByFinisher, startScene, verified } from './scene.ts';

export function run(opts: FaultOptions): Promise<FaultRow> {
  return lyingPeer(opts, 'honest');
}

export function runConsistent(opts: FaultOptions): Promise<FaultRow> {
  return lyingPeer(opts, 'consistent');
}

async function lyingPeer(opts: FaultOptions, digests: 'honest' | 'consistent'): Promise<FaultRow> {
  const size = opts.short ? 2 * MiB : 16 * MiB;
  const honest = opts.short ? 3 : 8;
  const scene = await startScene({ ...opts, size, rate: opts.short ? 1 * MiB : 4 * MiB });
  const row = digests === 'honest'
    ? { fault: `lying peer: wrong bytes, right digests (${honest} honest peers)`, expected: 'liar banned at its first bad block, outputs verify, source ≤ 1.5 F' }
    : { fault: `lying peer: wrong bytes under their own digests (${honest} honest peers)`, expected: 'liar banned, outputs verify, only unvouched blocks refetched' };
  const corrupt = (i: number): boolean => i % 3 === 0;
  const liar = await startFakePeer({
    topology: scene.topology!.url, swarmId: scene.swarmId, data: scene.data, blockSize: BLOCK_SIZE,
    behavior: { kind: 'liar', corrupt, digests },
  });
  try {
    const peers = await Promise.all(Array.from({ length: honest }, (_, i) => scene.peer(`peer-${i}`)));
    const codes = await Promise.all(peers.map((p) => exitOf(p.child, 180_000)));
    const ok = await Promise.all(peers.map((p) => verified(scene, p)));
    const banned = peers.filter((p) => new RegExp(`banned peer ${liar.id.slice(0, 8)}`).test(p.child.stderr())).length;
    const repaired = peers.filter((p) => /checking the blocks that came from peers/.test(p.child.stderr())).length;
    const asked = liar.requests();
    const sourceBytes = scene.source.stats().bytesSent;
    const sourceRatio = sourceBytes / size;
    // Each honest peer may fetch the liar's corrupted blocks a second time (the repair), no more;
    // a missing or wrong output loses the whole file.
    const corrupted = Array.from({ length: Math.ceil(size / BLOCK_SIZE) }, (_, i) => i).filter(corrupt).length;
    const bytesLost = (await Promise.all(peers.map((p) => lostByFinisher(scene, p, corrupted * BLOCK_SIZE)))).reduce((a, b) => a + b, 0);
    const verifiedAll = codes.every((c) => c === 0) && ok.every(Boolean);
    const pass = digests === 'honest'
      ? verifiedAll && asked > 0 && banned >= 1 && repaired === 0 && sourceRatio <= 1.5 && bytesLost === 0
      : verifiedAll && asked > 0 && banned >= 1 && bytesLost === 0;
    return {
      ...row,
      observed: `exits ${codes.join(',')}, verified ${ok.filter(Boolean).length}/${honest}, liar asked ${asked} blocks, banned by ${banned}, ` +
        `${repaired} final-check repair(s); source ${(sourceBytes / MiB).toFixed(1)} MiB = ${sourceRatio.toFixed(2)} F`,
      bytesLost,
      sourceBytes,
      pass,
    };
  } finally {
    await liar.close();
    await scene.close();
  }
}

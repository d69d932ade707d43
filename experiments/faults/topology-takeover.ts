// Id takeover (issue #15): another machine (127.0.0.2) learns the swarm's ids the way anyone
// can, from the answer to its own registration, then tries, again and again while the peers
// download, to re-register each of them at its own address (a trap that counts who dials it)
// and to delete them. An id stays bound to the address that registered it: every attempt is
// refused, nothing moves, no peer is lost from the registry and no one dials the trap.
import type { Registrant } from '../../topology-server/store.ts';
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { attackerFrom, countingListener, idsFrom, showTally, tally } from './attacker.ts';
import { MiB, exitOf, lostByFinisher, mustReach, sleep, startScene, verified } from './scene.ts';

export async function run(opts: FaultOptions): Promise<FaultRow> {
  const n = opts.short ? 3 : 6;
  const size = opts.short ? 3 * MiB : 24 * MiB;
  const scene = await startScene({ ...opts, size, rate: opts.short ? 1 * MiB : 4 * MiB });
  const row = { fault: 'topology: id takeover and deletion from another address', expected: 'every attempt refused (409, 403), nothing moved or lost, the trap never dialled; peers finish verified' };
  const trap = await countingListener('127.0.0.2');
  const attacker = attackerFrom('127.0.0.2', scene.topology!.url);
  const path = `/v1/swarms/${scene.swarmId}/peers`;
  try {
    const peers = await Promise.all(Array.from({ length: n }, (_, i) => scene.peer(`peer-${i}`)));
    await mustReach(() => scene.topology!.registry.count(scene.swarmId) >= n, 60_000, `all ${n} peers registered`);
    const where = (r: Registrant): string => `${r.host}:${r.port}`;
    const before = new Map(scene.topology!.registry.list(scene.swarmId).map((r) => [r.id, where(r)]));

    const replies = new Map<string, number>();
    const probe = idsFrom(opts.seed * 7919 + 16)();
    let rounds = 0;
    let moved = 0;
    // While the source has sent less than 90% of the file no peer can have finished (each block
    // comes from the source once), so no peer has left and freed its id: every target is live.
    const live = (): boolean => scene.source.stats().bytesSent < 0.9 * size;
    while (live()) {
      // A probe registration on the discard port (nothing listens there) lists the others;
      // the attacker then deletes it, as it may: it is its own.
      const answer = await attacker.send('POST', path, { id: probe, port: 9 });
      await attacker.send('DELETE', `${path}/${probe}`);
      const targets = ((answer.json as { peers?: Registrant[] } | undefined)?.peers ?? []).map((p) => p.id);
      for (const id of targets) {
        if (!live()) break;
        tally(replies, await attacker.send('POST', path, { id, port: trap.port }));
        tally(replies, await attacker.send('POST', path, { id, host: '127.0.0.2', port: trap.port }));
        tally(replies, await attacker.send('DELETE', `${path}/${id}`));
      }
      for (const r of scene.topology!.registry.list(scene.swarmId)) if (before.has(r.id) && before.get(r.id) !== where(r)) moved++;
      rounds++;
      await sleep(200);
    }
    const codes = await Promise.all(peers.map((p) => exitOf(p.child, 120_000)));
    const ok = await Promise.all(peers.map((p) => verified(scene, p)));
    const bytesLost = (await Promise.all(peers.map((p) => lostByFinisher(scene, p)))).reduce((a, b) => a + b, 0);
    const attempts = [...replies.values()].reduce((a, b) => a + b, 0);
    const refused = (replies.get('409') ?? 0) + (replies.get('403') ?? 0);
    const pass = rounds > 0 && attempts > 0 && refused === attempts && moved === 0 && trap.dialled() === 0 && codes.every((c) => c === 0) && ok.every(Boolean) && bytesLost === 0;
    return {
      ...row,
      observed: `${rounds} rounds against ${before.size} ids: ${showTally(replies)}; the attacker obtained ${moved} moved ids and ${trap.dialled()} connections to its trap; ` +
        `peers exit ${codes.join(',')}, verified ${ok.filter(Boolean).length}/${n}`,
      bytesLost,
      sourceBytes: scene.source.stats().bytesSent,
      pass,
    };
  } finally {
    await attacker.close();
    await trap.close();
    await scene.close();
  }
}

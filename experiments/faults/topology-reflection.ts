// Reflection (issue #15): registrations whose host field names a victim's address (another
// machine: 127.0.0.2), so that the swarm would dial the victim. The server stores the address
// it sees (127.0.0.1, the attacker's own) instead. A listener at the victim's address counts
// what reaches it (it must be nothing); a decoy on the attacker's address and the same port
// counts what reached the address actually stored, so the row shows the peers did dial the
// lures, just not at the victim.
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { attackerFrom, countingListener, idsFrom, showTally, tally } from './attacker.ts';
import { MiB, exitOf, lostByFinisher, startScene, verified } from './scene.ts';

const VICTIM = '127.0.0.2';

export async function run(opts: FaultOptions): Promise<FaultRow> {
  const lures = opts.short ? 20 : 200;
  const n = opts.short ? 3 : 6;
  const size = opts.short ? 2 * MiB : 16 * MiB;
  const scene = await startScene({ ...opts, size, rate: opts.short ? 1 * MiB : 4 * MiB });
  const row = {
    fault: `topology reflection: ${lures} registrations naming a victim's address`,
    expected: 'stored at the address seen; no answer names the victim, no peer dials it; peers finish verified',
  };
  const decoy = await countingListener('127.0.0.1');
  const victim = await countingListener(VICTIM, decoy.port);
  const attacker = attackerFrom('127.0.0.1', scene.topology!.url);
  try {
    const nextId = idsFrom(opts.seed * 7919 + 15);
    const ids = Array.from({ length: lures }, nextId);
    const replies = new Map<string, number>();
    for (const id of ids) tally(replies, await attacker.send('POST', `/v1/swarms/${scene.swarmId}/peers`, { id, host: VICTIM, port: victim.port }));
    const held = scene.topology!.registry.list(scene.swarmId).filter((r) => ids.includes(r.id));
    const storedAt = new Set(held.map((r) => r.host));

    const peers = await Promise.all(Array.from({ length: n }, (_, i) => scene.peer(`peer-${i}`)));
    // What a newcomer is told while the peers download (the lures live for the whole row).
    const answer = await attacker.send('POST', `/v1/swarms/${scene.swarmId}/peers`, { id: nextId(), port: 9 });
    const naming = JSON.stringify(answer.json).split(`"${VICTIM}"`).length - 1;
    const codes = await Promise.all(peers.map((p) => exitOf(p.child, 120_000)));
    const ok = await Promise.all(peers.map((p) => verified(scene, p)));
    const bytesLost = (await Promise.all(peers.map((p) => lostByFinisher(scene, p)))).reduce((a, b) => a + b, 0);
    const inRegistry = scene.topology!.registry.list(scene.swarmId).filter((r) => r.host === VICTIM).length;
    const pass = replies.get('200') === lures && held.length === lures && storedAt.size === 1 && storedAt.has('127.0.0.1') &&
      naming === 0 && inRegistry === 0 && victim.dialled() === 0 && decoy.dialled() > 0 &&
      codes.every((c) => c === 0) && ok.every(Boolean) && bytesLost === 0;
    return {
      ...row,
      observed: `lures ${showTally(replies)}, stored at ${[...storedAt].join(', ')}; answers naming ${VICTIM}: ${naming}, registry entries: ${inRegistry}; ` +
        `the attacker obtained ${victim.dialled()} connections to the victim (the lures drew ${decoy.dialled()} to its own address); ` +
        `peers exit ${codes.join(',')}, verified ${ok.filter(Boolean).length}/${n}`,
      bytesLost,
      sourceBytes: scene.source.stats().bytesSent,
      pass,
    };
  } finally {
    await attacker.close();
    await Promise.all([victim.close(), decoy.close()]);
    await scene.close();
  }
}

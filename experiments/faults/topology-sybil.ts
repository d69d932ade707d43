// A Sybil flood (issue #15): one machine (127.0.0.2) registers made-up peers in the swarm as
// fast as it can, to fill the registry (pushing honest registrants out past the per-swarm
// cap) and the answers. The server runs with its default quotas, applied to loopback here
// (--quota-loopback): 10 registrations a second and 32 live ids per address per swarm. The
// attacker gets its 32 ids and nothing more; honest registrations (sentinels made before the
// flood, and peers that join during it) are all kept, and the peers finish verified.
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { attackerFrom, idsFrom, showTally, tally } from './attacker.ts';
import { MiB, exitOf, lostByFinisher, sleep, startScene, verified } from './scene.ts';
import { REGISTRY_DEFAULTS } from '../../topology-server/registry.ts';

const QUOTA = REGISTRY_DEFAULTS.quotaIds;

export async function run(opts: FaultOptions): Promise<FaultRow> {
  const n = opts.short ? 3 : 6;
  const sentinels = 5;
  const floodMs = opts.short ? 4_000 : 15_000;
  const size = opts.short ? 2 * MiB : 16 * MiB;
  // maxPerSwarm 200: without the quota the flood would fill the swarm in a fraction of a second.
  const scene = await startScene({ ...opts, size, rate: opts.short ? 1 * MiB : 4 * MiB, topologyOptions: { quotaLoopback: true, maxPerSwarm: 200 } });
  const row = {
    fault: `topology: Sybil flood from one address (${floodMs / 1000} s)`,
    expected: `the attacker holds at most ${QUOTA} ids (its quota) and fills at most ${REGISTRY_DEFAULTS.answerPerAddress} places of an answer, every honest registration is kept; peers finish verified`,
  };
  const honest = attackerFrom('127.0.0.1', scene.topology!.url, 1); // the row's own honest registrations
  const attacker = attackerFrom('127.0.0.2', scene.topology!.url, 16);
  const path = `/v1/swarms/${scene.swarmId}/peers`;
  try {
    const sentinelIds = Array.from({ length: sentinels }, idsFrom(opts.seed * 7919 + 17));
    for (const [i, id] of sentinelIds.entries()) await honest.send('POST', path, { id, port: 9 + i });

    const nextId = idsFrom(opts.seed * 7919 + 18);
    const sybils = new Set<string>();
    const replies = new Map<string, number>();
    const end = performance.now() + floodMs;
    const flood = Promise.all(Array.from({ length: 16 }, async () => {
      while (performance.now() < end) {
        const id = nextId();
        sybils.add(id);
        tally(replies, await attacker.send('POST', path, { id, port: 9 }));
      }
    }));
    await sleep(500);
    const peers = await Promise.all(Array.from({ length: n }, (_, i) => scene.peer(`peer-${i}`)));
    await flood;

    const live = scene.topology!.registry.list(scene.swarmId);
    const sybilsHeld = live.filter((r) => sybils.has(r.id));
    const held = sybilsHeld.length;
    // Stored at the address the server saw: proof the flood really came from another address.
    const fromElsewhere = sybilsHeld.every((r) => r.host === '127.0.0.2');
    const kept = sentinelIds.filter((id) => live.some((r) => r.id === id)).length;
    // What an honest newcomer is told now: the attacker's share of an answer.
    const answer = await honest.send('POST', path, { id: nextId(), port: 9 });
    const told = (answer.json as { peers?: { id: string }[] } | undefined)?.peers ?? [];
    const sybilsTold = told.filter((p) => sybils.has(p.id)).length;
    const codes = await Promise.all(peers.map((p) => exitOf(p.child, 120_000)));
    const ok = await Promise.all(peers.map((p) => verified(scene, p)));
    const bytesLost = (await Promise.all(peers.map((p) => lostByFinisher(scene, p)))).reduce((a, b) => a + b, 0);
    const pass = held > 0 && held <= QUOTA && sybilsTold <= REGISTRY_DEFAULTS.answerPerAddress && fromElsewhere && (replies.get('200') ?? 0) === held && kept === sentinels &&
      (replies.get('429 rate') ?? 0) > 0 && codes.every((c) => c === 0) && ok.every(Boolean) && bytesLost === 0;
    return {
      ...row,
      observed: `${sybils.size} registrations from 127.0.0.2: ${showTally(replies)}; the attacker obtained ${held} live ids (quota ${QUOTA}) of ${live.length}, ` +
        `${sybilsTold} of the ${told.length} peers in a newcomer's answer; sentinels kept ${kept}/${sentinels}; peers exit ${codes.join(',')}, verified ${ok.filter(Boolean).length}/${n}`,
      bytesLost,
      sourceBytes: scene.source.stats().bytesSent,
      pass,
    };
  } finally {
    await Promise.all([attacker.close(), honest.close()]);
    await scene.close();
  }
}

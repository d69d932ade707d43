// The topology server killed and restarted (same port) mid-swarm: every peer finishes,
// verified, and a peer that joins after the restart finds the others again.
import { startTopologyServer } from '../../topology-server/server.ts';
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { MiB, exitOf, lostByFinisher, mustReach, sleep, startScene, verified } from './scene.ts';

export async function run(opts: FaultOptions): Promise<FaultRow> {
  const size = opts.short ? 3 * MiB : 24 * MiB;
  const scene = await startScene({ ...opts, size, rate: opts.short ? 1 * MiB : 4 * MiB });
  const row = { fault: 'topology server restarted mid-swarm', expected: 'every peer finishes, verified' };
  try {
    const peers = await Promise.all(Array.from({ length: opts.short ? 3 : 6 }, (_, i) => scene.peer(`peer-${i}`)));
    await mustReach(() => scene.source.stats().bytesSent >= size / 4, 60_000, 'a quarter of the file sent by the source');
    const sentAtKill = scene.source.stats().bytesSent;
    await scene.topology?.close();
    scene.topology = null;
    await sleep(1500); // the outage itself: its length is the scenario, not a wait for something
    scene.topology = await startTopologyServer({ host: '127.0.0.1', port: scene.topologyPort });
    const late = await scene.peer('late');
    const all = [...peers, late];
    const codes = await Promise.all(all.map((p) => exitOf(p.child, 120_000)));
    const ok = await Promise.all(all.map((p) => verified(scene, p)));
    const bytesLost = (await Promise.all(all.map((p) => lostByFinisher(scene, p)))).reduce((a, b) => a + b, 0);
    const pass = sentAtKill < size && codes.every((c) => c === 0) && ok.every(Boolean) && bytesLost === 0;
    return {
      ...row,
      observed: `down for 1.5 s after ${(sentAtKill / MiB).toFixed(1)} MiB from the source; exits ${codes.join(',')} (last joined after the restart); verified ${ok.filter(Boolean).length}/${all.length}`,
      bytesLost,
      sourceBytes: scene.source.stats().bytesSent,
      pass,
    };
  } finally {
    await scene.close();
  }
}

// A peer that floods UPDATEs (as fast as its socket drains: its own entry with a new seq
// each time plus made-up origins): the victims' downloads complete, verified, with
// bounded memory.
import { peakRss } from '../swarm/processes.ts';
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { startFakePeer } from './fake-peer.ts';
import { BLOCK_SIZE, MiB, exitOf, lostByFinisher, startScene, verified, waitFor } from './scene.ts';

const RSS_BOUND = 256 * MiB;

export function run(opts: FaultOptions): Promise<FaultRow> {
  return flood(opts, true);
}

/** The flooder also holds every request it gets, like a slow-loris. */
export function runSilent(opts: FaultOptions): Promise<FaultRow> {
  return flood(opts, false);
}

async function flood(opts: FaultOptions, answer: boolean): Promise<FaultRow> {
  const size = opts.short ? 2 * MiB : 16 * MiB;
  const scene = await startScene({ ...opts, size, rate: opts.short ? 512 * 1024 : 2 * MiB });
  const row = { fault: answer ? 'UPDATE flood (serving flooder)' : 'UPDATE flood (flooder never serves)', expected: 'victims complete, verified, RSS bounded' };
  const flooder = await startFakePeer({ topology: scene.topology!.url, swarmId: scene.swarmId, data: scene.data, blockSize: BLOCK_SIZE, behavior: { kind: 'flood', seed: opts.seed, answer } });
  try {
    const victims = await Promise.all(Array.from({ length: opts.short ? 2 : 4 }, (_, i) => scene.peer(`victim-${i}`)));
    const rss = victims.map(() => 0);
    let running = true;
    const sampling = (async () => {
      while (running) {
        await Promise.all(victims.map(async (v, i) => (rss[i] = Math.max(rss[i]!, await peakRss(v.child.pid)))));
        await waitFor(() => !running, 250);
      }
    })();
    const codes = await Promise.all(victims.map((p) => exitOf(p.child, opts.short ? 60_000 : 150_000)));
    running = false;
    await sampling;
    const ok = await Promise.all(victims.map((p) => verified(scene, p)));
    const peak = Math.max(...rss);
    const bytesLost = (await Promise.all(victims.map((p) => lostByFinisher(scene, p)))).reduce((a, b) => a + b, 0);
    const pass = codes.every((c) => c === 0) && ok.every(Boolean) && flooder.updatesSent() > 100 && peak > 0 && peak < RSS_BOUND && bytesLost === 0;
    return {
      ...row,
      observed: `${flooder.updatesSent()} UPDATEs sent on ${flooder.connections()} connections; exits ${codes.join(',')}; ` +
        `verified ${ok.filter(Boolean).length}/${victims.length}; peak RSS ${(peak / MiB).toFixed(0)} MiB`,
      bytesLost,
      sourceBytes: scene.source.stats().bytesSent,
      pass,
    };
  } finally {
    await flooder.close();
    await scene.close();
  }
}

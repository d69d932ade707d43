// A slow-loris peer (accepts, answers HELLO, claims every block, never sends one) in the
// victim's view: request time-outs and strikes move the victim's requests elsewhere and
// its download completes, verified.
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { startFakePeer } from './fake-peer.ts';
import { BLOCK_SIZE, MiB, exitOf, lostByFinisher, startScene, verified } from './scene.ts';

export async function run(opts: FaultOptions): Promise<FaultRow> {
  const size = opts.short ? 2 * MiB : 16 * MiB;
  const scene = await startScene({ ...opts, size, rate: opts.short ? 1 * MiB : 4 * MiB });
  const row = { fault: 'slow-loris peer', expected: 'victim times requests out, completes, verified' };
  const loris = await startFakePeer({ topology: scene.topology!.url, swarmId: scene.swarmId, data: scene.data, blockSize: BLOCK_SIZE, behavior: { kind: 'loris' } });
  try {
    const started = performance.now();
    const victims = await Promise.all(Array.from({ length: opts.short ? 2 : 4 }, (_, i) => scene.peer(`victim-${i}`)));
    const codes = await Promise.all(victims.map((p) => exitOf(p.child, 150_000)));
    const seconds = (performance.now() - started) / 1000;
    const ok = await Promise.all(victims.map((p) => verified(scene, p)));
    const dropped = victims.filter((p) => /too slow|timed out|does not have/.test(p.child.stderr())).length;
    // A request the loris held and that timed out is asked elsewhere, never stored twice.
    const bytesLost = (await Promise.all(victims.map((p) => lostByFinisher(scene, p)))).reduce((a, b) => a + b, 0);
    const pass = codes.every((c) => c === 0) && ok.every(Boolean) && loris.requests() > 0 && bytesLost === 0;
    return {
      ...row,
      observed: `loris held ${loris.requests()} requests; exits ${codes.join(',')} after ${seconds.toFixed(0)} s (source alone: ${(size / (opts.short ? 1 : 4) / MiB).toFixed(0)} s); ` +
        `verified ${ok.filter(Boolean).length}/${victims.length}; ${dropped} logged dropping it`,
      bytesLost,
      sourceBytes: scene.source.stats().bytesSent,
      pass,
    };
  } finally {
    await loris.close();
    await scene.close();
  }
}

// Memory per simulated peer, for the goal of 10^5 peers in one process under 16 GiB.
// Runs a swarm until virtual second `at` (0: just after every peer arrived, idle cores;
// later: cores with connections, origin caches and requests in flight), stops the world
// there, collects garbage and divides what is live by the peer count. The baseline is one
// idle peer taken the same way, so the modules and the process itself cancel out.
//
// Run: node --expose-gc --import tsx experiments/sim/memory-per-peer.ts [peers=10000] [at=0]
// Prints heap (JS objects) and external (typed-array buffers: bitfields, block maps) per peer.
import { simulate, type SimScenario } from './simulate.ts';

const MiB = 1024 * 1024;

interface Live {
  heap: number;
  external: number;
}

function liveAt(peers: number, at: number): Live {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  // The LAN scenario of the reference runs (32 MiB, 128 blocks); one seed.
  const scenario: SimScenario = { peers, size: 32 * MiB, sourceRate: 1.25e6, peerUp: 12.5e6, peerDown: 12.5e6, latencyMs: 1, seed: 1 };
  let live: Live | null = null;
  simulate(at === 0 ? { ...scenario, maxSimSeconds: 0.0005 } : { ...scenario, maxSimSeconds: at }, {
    // A sample is taken with the whole world still reachable: measure there.
    onSample: (s) => {
      if (s.t !== at) return;
      gc();
      const m = process.memoryUsage();
      live = { heap: m.heapUsed, external: m.external }; // external includes the ArrayBuffers
    },
  });
  if (!live) throw new Error(`the run ended before t=${at} s`);
  return live;
}

const peers = Number(process.argv[2] ?? 10_000);
const at = Number(process.argv[3] ?? 0);
liveAt(1, 0); // warm up: load and compile everything once
const base = liveAt(1, 0);
const many = liveAt(peers, at);
const heap = (many.heap - base.heap) / (peers - 1);
const external = (many.external - base.external) / (peers - 1);
const kib = (x: number): string => `${(x / 1024).toFixed(1)} KiB`;
process.stdout.write(
  `${peers} peers at t=${at} s: heap ${kib(heap)} + buffers ${kib(external)} = ${kib(heap + external)} per peer; ` +
    `10^5 peers would hold ${((1e5 * (heap + external)) / 2 ** 30).toFixed(2)} GiB\n`,
);

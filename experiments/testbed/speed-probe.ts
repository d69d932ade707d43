// How fast the machine is right now: a fixed piece of work (hashing 4 MiB and a JS loop)
// timed in CPU. This VM's host lends it cores that run the same work up to half again slower
// from one minute to the next (docs/testbed.md, "The machine's speed"): two `lan-48` runs of
// one build minutes apart took 84 and 126 CPU-s. Probed before a run's launch, the work says
// how slow the host was then; probed through the run, how slow our own load (caches, memory)
// and the host made it.
import { createHash } from 'node:crypto';
import { cpuUsage } from 'node:process';

const BLOCK = Buffer.alloc(256 * 1024, 7);

/** The CPU-ms one fixed piece of work took this process: about 5 ms on a quiet machine. */
export function probeCpuMs(): number {
  const before = cpuUsage();
  const h = createHash('sha256');
  for (let i = 0; i < 16; i++) h.update(BLOCK);
  let x = 0;
  for (let i = 0; i < 2_000_000; i++) x = (x * 31 + i) | 0; // interpreted-to-optimized JS, as a peer's own code
  h.update(String(x));
  h.digest();
  const used = cpuUsage(before);
  return (used.user + used.system) / 1000;
}

/** The median of `runs` probes. */
export function probeMedianMs(runs = 5): number {
  const each = Array.from({ length: runs }, probeCpuMs).sort((a, b) => a - b);
  return each[runs >> 1] as number;
}

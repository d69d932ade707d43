// How fast the machine is right now: a fixed piece of work (SHA-256 of 16 MiB, in OpenSSL's
// native code, as a peer hashes its blocks) timed in CPU. This VM's host lends it cores that
// run the same work up to half again slower from one minute to the next (docs/testbed.md, "The
// machine's speed"): two `lan-48` runs of one build minutes apart took 84 and 126 CPU-s.
// Probed before a run's launch, the work says how slow the host was then; through the run,
// how slow our own load (caches, memory) and the host made it. Native code only: a JS loop
// here took 5 or 14 ms from one probe to the next as V8 did or did not optimize it in time.
import { createHash } from 'node:crypto';
import { cpuUsage } from 'node:process';

const BLOCK = Buffer.alloc(256 * 1024, 7);

/** The CPU-ms one fixed piece of work took this process: about 10 ms on a quiet machine. */
export function probeCpuMs(): number {
  const before = cpuUsage();
  const h = createHash('sha256');
  for (let i = 0; i < 64; i++) h.update(BLOCK);
  h.digest();
  const used = cpuUsage(before);
  return (used.user + used.system) / 1000;
}

/** The median of `runs` probes. */
export function probeMedianMs(runs = 5): number {
  const each = Array.from({ length: runs }, probeCpuMs).sort((a, b) => a - b);
  return each[runs >> 1] as number;
}

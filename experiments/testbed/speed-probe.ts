// This machine's speed of the day, in one number beside every experiment's results. Its speed
// varies by half from day to day (`sha256sum` of 256 MiB: 0.77 to 1.6 CPU-s), and `lan-48`'s
// time with it, since 48 peers on 2 cores are CPU-bound: runs of different days compare only
// with this beside them. SHA-256 in this Node (OpenSSL, with the CPU's SHA instructions where
// it has them, so faster than the `sha256sum` the README's notes quote): pure CPU, no disk.
import { createHash } from 'node:crypto';

export const PROBE_MIB = 64;

/**
 * CPU-ms this process takes to SHA-256 `mib` MiB (user + system): the least of three tries, as
 * the count is the whole process's and a thread of its own (a compile, the collector) may run
 * beside the first.
 */
export function sha256CpuMs(mib = PROBE_MIB): number {
  const chunk = Buffer.alloc(1024 * 1024, 0x5a);
  let least = Infinity;
  for (let tries = 0; tries < 3; tries++) {
    const before = process.cpuUsage();
    const hash = createHash('sha256');
    for (let i = 0; i < mib; i++) hash.update(chunk);
    hash.digest();
    const used = process.cpuUsage(before);
    least = Math.min(least, (used.user + used.system) / 1000);
  }
  return least;
}

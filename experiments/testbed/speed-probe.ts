// This machine's speed of the day, in one number beside every experiment's results. Its speed
// varies by half from day to day and within an hour (`sha256sum` of 256 MiB: 0.77 to 1.6
// CPU-s), and `lan-48`'s time with it, since 48 peers on 2 cores are CPU-bound: runs of
// different hours compare only with this beside them. A scalar integer loop (xorshift into
// FNV-1a), as plain as `sha256sum`'s C: on 2026-12-02 Node's own SHA-256 (OpenSSL, with the
// CPU's SHA instructions) took the same 44 CPU-ms for 64 MiB while `sha256sum` went from 1.2
// to 1.6 CPU-s and `lan-48` from 1.6 to 1.9 T_min, so it is no yardstick.

export const PROBE_ROUNDS = 50_000_000;

function mix(rounds: number): number {
  let h = 0x811c9dc5 | 0;
  let x = 123456789 | 0;
  for (let i = 0; i < rounds; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    h = Math.imul(h ^ (x & 0xff), 16777619);
  }
  return h;
}

/**
 * CPU-ms this process takes for `rounds` of the loop (user + system): the least of three
 * tries, after a short one that lets V8 compile it, as the count is the whole process's and a
 * thread of its own (a compile, the collector) may run beside a try.
 */
export function speedProbeCpuMs(rounds = PROBE_ROUNDS): number {
  let sink = mix(1_000_000);
  let least = Infinity;
  for (let tries = 0; tries < 3; tries++) {
    const before = process.cpuUsage();
    sink ^= mix(rounds);
    const used = process.cpuUsage(before);
    least = Math.min(least, (used.user + used.system) / 1000);
  }
  if (sink === 0.5) throw new Error('unreachable: keeps the loop from being optimized away');
  return least;
}

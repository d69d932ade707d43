// `npm run bench:source [-- MiB]`: the range server streaming a big file end to end over
// loopback (default 512 MiB, a sparse file: no disk space). Prints throughput and how much
// the process's RSS grew while it streamed; exits 1 if it grew by half the file or more
// (the file was read into memory). The unit of proof in the tests is smaller: a 5 GiB file
// served and its first 32 MiB streamed with a flat RSS (test/source-server.test.ts).
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSourceServer } from '../source/range-server.ts';

const MiB = 1024 * 1024;
const size = Number(process.argv[2] ?? 512) * MiB;
if (!Number.isSafeInteger(size) || size < 4) {
  process.stderr.write('usage: bench:source [MiB]\n');
  process.exit(2);
}

const dir = await mkdtemp(join(tmpdir(), 'slurpie-bench-source-'));
const path = join(dir, 'big.bin');
const server = await (async () => {
  const fh = await open(path, 'w');
  await fh.truncate(size); // sparse
  await fh.write(Buffer.from('tail'), 0, 4, size - 4);
  await fh.close();
  return startSourceServer({ file: path });
})();
try {
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  let received = 0;
  let tail = Buffer.alloc(0);
  const started = performance.now();
  const res = await fetch(server.url);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    received += r.value.length;
    tail = Buffer.from(r.value.subarray(-4));
    if ((received & 0xffffff) < r.value.length) peak = Math.max(peak, process.memoryUsage().rss);
  }
  const seconds = (performance.now() - started) / 1000;
  const grew = peak - before;
  console.log(`streamed ${(received / MiB).toFixed(0)} MiB in ${seconds.toFixed(2)} s (${(received / MiB / seconds).toFixed(0)} MiB/s); ` +
    `server bytesSent ${server.stats().bytesSent}; RSS growth ${(grew / MiB).toFixed(1)} MiB`);
  const ok = received === size && tail.toString() === 'tail' && grew < size / 2;
  if (!ok) console.log(`FAIL: received ${received} of ${size}, tail "${tail.toString()}", RSS growth ${grew} bytes (bound ${size / 2})`);
  process.exitCode = ok ? 0 : 1;
} finally {
  await server.close();
  await rm(dir, { recursive: true, force: true });
}

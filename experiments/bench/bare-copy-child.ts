// One bare HTTP-to-disk copy for bench:bare-copy (bare-copy.ts), in a process of its own:
//   node --import tsx bare-copy-child.ts VARIANT URL OUT
// VARIANT is CLIENT-WRITES: CLIENT `undici` (its request API, as the peer's source GETs) or
// `http` (node:http); WRITES `handle` (FileHandle.write, as the peer's .part file), `fd`
// (fs.write with a callback on the same descriptor) or `sync` (fs.writeSync, as curl writes:
// on the main thread, no hand-off to the thread pool). Every variant does what a peer alone
// must: cut the body into 256 KiB blocks, hash them in order (SHA-256) and write each at its
// offset, at most 4 writes in flight. Prints one JSON line: CPU-ms from the first byte asked
// for to the file closed (start-up excluded), bytes, sha256.
import { createHash } from 'node:crypto';
import { write, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { get } from 'node:http';
import { Agent, request } from 'undici';

const BLOCK = 256 * 1024;
const IN_FLIGHT = 4;
const [variant = '', url = '', out = ''] = process.argv.slice(2);
const [client, writes] = variant.split('-');
if (!['undici', 'http'].includes(client ?? '') || !['handle', 'fd', 'sync'].includes(writes ?? '') || !url || !out) {
  console.error('usage: bare-copy-child.ts undici|http-handle|fd|sync URL OUT');
  process.exit(2);
}

async function* body(): AsyncGenerator<Buffer> {
  if (client === 'undici') {
    const res = await request(url, { dispatcher: new Agent() });
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
    yield* res.body as AsyncIterable<Buffer>;
  } else {
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => get(url, resolve).on('error', reject));
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
    yield* res as AsyncIterable<Buffer>;
  }
}

const cpu0 = process.cpuUsage();
const fh = await open(out, 'w');
const writeAt = (data: Buffer, position: number): Promise<unknown> =>
  writes === 'handle'
    ? fh.write(data, 0, data.length, position)
    : writes === 'sync'
      ? Promise.resolve(writeSync(fh.fd, data, 0, data.length, position))
      : new Promise<void>((resolve, reject) => write(fh.fd, data, 0, data.length, position, (err) => (err ? reject(err) : resolve())));
const hash = createHash('sha256');
const pending: Promise<unknown>[] = [];
let position = 0;
const flush = async (block: Buffer): Promise<void> => {
  hash.update(block);
  pending.push(writeAt(block, position));
  position += block.length;
  if (pending.length >= IN_FLIGHT) await pending.shift();
};
let block = Buffer.allocUnsafe(BLOCK);
let fill = 0;
for await (const chunk of body()) {
  for (let off = 0; off < chunk.length; ) {
    const n = Math.min(chunk.length - off, BLOCK - fill);
    chunk.copy(block, fill, off, off + n);
    fill += n;
    off += n;
    if (fill === BLOCK) {
      await flush(block);
      block = Buffer.allocUnsafe(BLOCK); // the one written may still be in flight
      fill = 0;
    }
  }
}
if (fill > 0) await flush(block.subarray(0, fill));
await Promise.all(pending);
await fh.close();
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, bytes: position, sha256: hash.digest('hex') }));

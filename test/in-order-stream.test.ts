// The in-order stream of `get -o -` and the proxy (peer/node/in-order-stream.ts), over an
// in-memory block store: blocks arrive in any order, the output gets the file in order, once,
// paced by the output's backpressure; the last block waits for end(); failures are coded.
import test from 'ava';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { SeededRng, seedFrom } from '../estimation/random.ts';
import { InOrderStream, type BlockStore } from '../peer/node/in-order-stream.ts';
import { SlurpieError } from '../peer/errors.ts';

const SEED = seedFrom(process.env, 77);
const BLOCK = 1000;

function file(blocks: number): Buffer {
  const rng = new SeededRng(SEED);
  const buf = Buffer.alloc(blocks * BLOCK - 123); // a short last block
  for (let i = 0; i < buf.length; i++) buf[i] = Math.floor(rng.next() * 256);
  return buf;
}

/** A store that holds the blocks of `data` once stored; counts reads. */
function store(data: Buffer): BlockStore & { put(i: number): void; drop(i: number): void; reads: number } {
  const blocks = Math.ceil(data.length / BLOCK);
  const have = new Set<number>();
  return {
    blocks,
    reads: 0,
    has: (i) => have.has(i),
    async readBlock(i) {
      if (!have.has(i)) throw new RangeError(`block ${i} is not on disk`);
      this.reads++;
      await new Promise((r) => setImmediate(r));
      return data.subarray(i * BLOCK, Math.min(data.length, (i + 1) * BLOCK));
    },
    put: (i) => have.add(i),
    drop: (i) => have.delete(i),
  };
}

/** A slow consumer: takes one chunk at a time, each after a turn of the event loop. */
function sink(): Writable & { chunks: Buffer[]; ended: boolean } {
  const chunks: Buffer[] = [];
  const w = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _e, cb) {
      chunks.push(chunk);
      setImmediate(cb);
    },
    final(cb) {
      out.ended = true;
      cb();
    },
  });
  const out = Object.assign(w, { chunks, ended: false });
  return out;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

test('blocks stored in a random order reach the output in file order, each once; the last only at end()', async (t) => {
  t.log(`seed ${SEED}`);
  const data = file(40);
  const s = store(data);
  const out = sink();
  const stream = new InOrderStream(s, out);
  stream.start();
  const order = Array.from({ length: s.blocks }, (_, i) => i);
  const rng = new SeededRng(SEED);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  let maxAhead = 0;
  for (const i of order) {
    s.put(i);
    stream.stored(i);
    if (i % 7 === 0) stream.stored(0); // notifications may repeat: nothing is sent twice
    await settle();
    maxAhead = Math.max(maxAhead, s.reads - out.chunks.length);
  }
  t.is(await stream.digest(sha(data)), sha(data));
  t.false(out.ended, 'the last block waits for end()');
  t.deepEqual(Buffer.concat(out.chunks), data.subarray(0, (s.blocks - 1) * BLOCK));
  await stream.end();
  t.true(out.ended);
  t.deepEqual(Buffer.concat(out.chunks), data);
  t.is(s.reads, s.blocks, 'each block read once');
  t.true(maxAhead <= 2, `at most a block or two read ahead of the consumer, saw ${maxAhead}`);
  t.is(stream.streamedBytes, data.length);
});

test('a wrong expected digest: INTEGRITY_FAILED, and the output is never ended (a short body)', async (t) => {
  const data = file(5);
  const s = store(data);
  const out = sink();
  const stream = new InOrderStream(s, out);
  for (let i = 0; i < s.blocks; i++) s.put(i);
  stream.start();
  const err = await t.throwsAsync(stream.digest('0'.repeat(64)));
  t.true(err instanceof SlurpieError && err.code === 'INTEGRITY_FAILED', String(err));
  await t.throwsAsync(stream.end());
  t.false(out.ended);
  t.is(Buffer.concat(out.chunks).length, (s.blocks - 1) * BLOCK);
});

test('a block being stored again (gone for a moment) waits for its stored() call; the output failing is a DISK error', async (t) => {
  const data = file(6);
  const s = store(data);
  const out = sink();
  const stream = new InOrderStream(s, out);
  for (const i of [0, 1, 3]) s.put(i);
  stream.start();
  await settle();
  s.put(2);
  s.drop(2); // rewritten: not readable right now
  stream.stored(2);
  await settle();
  s.put(2);
  stream.stored(2);
  for (const i of [4, 5]) {
    s.put(i);
    stream.stored(i);
  }
  t.is(await stream.digest(sha(data)), sha(data));
  await stream.end();
  t.deepEqual(Buffer.concat(out.chunks), data);

  const s2 = store(data);
  const broken = sink();
  const failing = new InOrderStream(s2, broken);
  failing.start();
  broken.destroy(new Error('EPIPE'));
  const err = await t.throwsAsync(failing.whenStreamed());
  t.true(err instanceof SlurpieError && err.code === 'DISK', String(err));
});

// The running prefix digest equals a plain sha256 of the file, whatever the write order.
import test from 'ava';
import { createHash } from 'node:crypto';
import { SeededRng, seedFrom, shuffle } from '../estimation/random.ts';
import { PrefixHash } from '../peer/storage/prefix-hash.ts';

const seed = seedFrom(process.env, 17);

function blocksOf(count: number, rng: SeededRng): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => Uint8Array.from({ length: 100 + (i % 7) }, () => (rng.next() * 256) >>> 0));
}

test('in order, out of order, with rewrites and failing reads: the digest is the file\'s sha256', async (t) => {
  t.log(`seed ${seed}`);
  const rng = new SeededRng(seed);
  for (let round = 0; round < 50; round++) {
    const blocks = blocksOf(1 + Math.floor(rng.next() * 40), rng);
    const disk = new Map<number, Uint8Array>();
    let failNext = rng.next() < 0.2;
    const prefix = new PrefixHash(blocks.length, (i) => disk.has(i), async (i) => {
      if (failNext) {
        failNext = false;
        throw new Error('closed');
      }
      return disk.get(i) as Uint8Array;
    });
    const order = round % 3 === 0 ? blocks.map((_, i) => i) : shuffle(rng, blocks.map((_, i) => i));
    for (const i of order) {
      disk.set(i, blocks[i] as Uint8Array);
      prefix.written(i, blocks[i] as Uint8Array);
    }
    // A repair: rewrite one block with the same bytes via invalidate + written.
    const fix = Math.floor(rng.next() * blocks.length);
    prefix.invalidate(fix);
    prefix.written(fix, blocks[fix] as Uint8Array);
    const expected = createHash('sha256').update(Buffer.concat(blocks)).digest('hex');
    t.is(await prefix.digest(), expected, `round ${round}`);
  }
});

test('digest refuses while a block is missing', async (t) => {
  const prefix = new PrefixHash(2, (i) => i === 0, async () => new Uint8Array(1));
  await t.throwsAsync(prefix.digest(), { message: /block 1 is missing/ });
});

test('each block\'s buffer is given back exactly once, and what its owner does with it then changes nothing', async (t) => {
  t.log(`seed ${seed}`);
  const rng = new SeededRng(seed + 1);
  // 256 KiB blocks, so that some fall past the 4 MiB held window and are read back from "disk".
  const blocks = Array.from({ length: 24 }, () => Buffer.from(Uint8Array.from({ length: 256 * 1024 }, () => (rng.next() * 256) >>> 0)));
  const disk = new Map<number, Uint8Array>();
  const prefix = new PrefixHash(blocks.length, (i) => disk.has(i), async (i) => disk.get(i) as Uint8Array);
  const given = new Array<number>(blocks.length).fill(0);
  // The highest blocks first: the lowest arrive last, once the window is full.
  for (const i of [...blocks.keys()].reverse()) {
    const buffer = Buffer.from(blocks[i] as Buffer); // the caller's buffer, reused once given back
    prefix.written(i, buffer, () => {
      given[i]! += 1;
      buffer.fill(0xff);
    });
    disk.set(i, blocks[i] as Buffer); // the write finishes after the hash took the block
  }
  const expected = createHash('sha256').update(Buffer.concat(blocks)).digest('hex');
  t.is(await prefix.digest(), expected);
  t.deepEqual(given, new Array<number>(blocks.length).fill(1));
});

test('while the background work is behind, later blocks are given back at once and read back: memory stays bounded, the digest right', async (t) => {
  t.timeout(30_000);
  const rng = new SeededRng(seed + 2);
  const size = 256 * 1024;
  const blocks = Array.from({ length: 40 }, () => Buffer.from(Uint8Array.from({ length: size }, () => (rng.next() * 256) >>> 0)));
  const disk = new Map<number, Uint8Array>();
  // Reads back wait until `unblock`: the threadpool busy with a throttled writeback.
  let unblock!: () => void;
  const blocked = new Promise<void>((resolve) => (unblock = resolve));
  let reads = 0;
  const prefix = new PrefixHash(blocks.length, (i) => disk.has(i), async (i) => {
    reads++;
    await blocked;
    return disk.get(i) as Uint8Array;
  });
  const outstanding = new Set<number>();
  const write = (i: number): void => {
    disk.set(i, blocks[i]!);
    outstanding.add(i);
    prefix.written(i, Buffer.from(blocks[i]!), () => outstanding.delete(i));
  };
  // Block 1 on disk already (resumed): block 0 makes the prefix read it back, and the queue stalls.
  disk.set(1, blocks[1]!);
  write(0);
  await new Promise((resolve) => setTimeout(resolve, 10));
  t.true(reads >= 1, 'the prefix is waiting on a read');
  for (let i = 2; i < blocks.length; i++) write(i);
  // Queued with their bytes: at most 4 MiB (16 blocks); the rest were given back at once.
  t.true(outstanding.size <= 4 * 1024 * 1024 / size + 1, `${outstanding.size} blocks still referred to`);
  unblock();
  const expected = createHash('sha256').update(Buffer.concat(blocks)).digest('hex');
  t.is(await prefix.digest(), expected);
  t.is(outstanding.size, 0, 'every buffer given back');
});

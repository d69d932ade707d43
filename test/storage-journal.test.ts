// The journal of a .part file, on real files in a temp dir. A crash is a PartFile never
// closed (its bytes and records are in the page cache, as after a kill -9); a power failure
// is simulated by changing the .part's bytes behind the journal's back. (A real SIGKILL is
// in storage-crash.test.ts.)

import test from 'ava';
import type { ExecutionContext } from 'ava';
import { mkdir, mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRng, seedFrom, shuffle } from '../estimation/random.ts';
import { PartFile, keptBlocks, type PartFileOptions } from '../peer/storage/index.ts';
import { blockPattern } from './fixtures/storage-writer.ts';

const IDENTITY = { url: 'http://127.0.0.1:8080/big.iso', validator: '"etag-1"', swarmId: 'a'.repeat(64) };
const PEER = 'b'.repeat(32);
// Flushes only when a test asks: every block written is in the journal alone.
const NO_FLUSH = { flushIntervalMs: 60_000, flushBlocks: 1_000_000 };

async function setup(t: ExecutionContext, size: number, blockSize: number, extra: Partial<PartFileOptions> = {}): Promise<PartFileOptions> {
  const dir = await mkdtemp(join(tmpdir(), 'slurpie-journal-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return { path: join(dir, 'f.bin'), size, blockSize, identity: IDENTITY, ...NO_FLUSH, ...extra };
}

// Open, and close in teardown (after the checks: a "crashed" one must not flush meanwhile).
async function openPart(t: ExecutionContext, options: PartFileOptions): Promise<PartFile> {
  const part = await PartFile.open(options);
  t.teardown(() => part.close().catch(() => undefined));
  return part;
}

async function overwrite(path: string, position: number, bytes: Uint8Array): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, position);
  } finally {
    await fh.close();
  }
}

const sidecarIdentity = (o: PartFileOptions) => ({ ...IDENTITY, size: o.size, blockSize: o.blockSize });

test('a crash keeps every block whose write finished; one whose bytes are not on disk is fetched again', async (t) => {
  const seed = seedFrom(process.env, 901);
  t.log(`SLURPIE_SEED=${seed}`);
  const options = await setup(t, 32 * 512 - 100, 512);
  const crashed = await openPart(t, options);
  const order = shuffle(new SeededRng(seed), Array.from({ length: crashed.blocks }, (_, i) => i)).slice(0, 12);
  for (const i of order) await crashed.writeBlock(i, blockPattern(seed, i, crashed.blockLength(i)), i % 2 ? PEER : 'source');
  t.is(crashed.durableCount, 0);
  t.is(crashed.keptCount, 12);
  // A power failure that lost one block's bytes (the page never reached the disk).
  const lost = order[3] as number;
  await overwrite(crashed.partPath, lost * 512, new Uint8Array(crashed.blockLength(lost)));

  const kept = await keptBlocks(options.path, sidecarIdentity(options));
  t.is(kept?.sidecar.buffer.every((b) => b === 0), true, 'the sidecar claims nothing');
  const part = await openPart(t, options);
  t.is(part.haveCount, 11);
  for (let i = 0; i < part.blocks; i++) {
    const want = order.includes(i) && i !== lost;
    t.is(part.have.get(i), want, `block ${i}`);
    t.is(kept?.kept.get(i), want, `keptBlocks agrees on block ${i}`);
    if (!want) continue;
    t.deepEqual(Buffer.from(await part.readBlock(i)), Buffer.from(blockPattern(seed, i, part.blockLength(i))));
    t.is(part.supplierOf(i), i % 2 ? PEER : 'source');
  }
  t.is(part.durableCount, 0, 'kept, not yet durable');
  await part.flush();
  t.is(part.durableCount, 11, 'the first flush syncs them and records them in the sidecar');
});

test('a rewritten block: the new bytes are kept, and the old ones are never claimed back', async (t) => {
  // 'kept': a crash after the rewrite. 'bytes lost': a power failure lost the new bytes.
  // 'record lost': killed after the rewrite began but before its record was written.
  for (const what of ['kept', 'bytes lost', 'record lost'] as const) {
    const options = await setup(t, 4 * 256, 256);
    const crashed = await openPart(t, options);
    const old = new Uint8Array(256).fill(1);
    const fresh = new Uint8Array(256).fill(2);
    await crashed.writeBlock(0, old, PEER);
    await crashed.writeBlock(1, old, PEER);
    await crashed.flush();
    await crashed.writeBlock(1, fresh, 'source'); // a repair: not flushed
    t.is(crashed.durableCount, 1, 'block 1 left the sidecar before its bytes changed');
    t.is(crashed.keptCount, 2);
    if (what !== 'kept') await overwrite(crashed.partPath, 256, old);
    if (what === 'record lost') {
      const journal = await readFile(crashed.journalPath);
      await writeFile(crashed.journalPath, journal.subarray(0, journal.length - 21)); // a 'source' record: 21 bytes
    }
    const part = await openPart(t, options);
    t.true(part.have.get(0));
    t.is(part.have.get(1), what === 'kept', what);
    if (what === 'kept') {
      t.deepEqual(Buffer.from(await part.readBlock(1)), Buffer.from(fresh));
      t.is(part.supplierOf(1), 'source');
    }
  }
});

test('a torn or garbled journal counts up to its first bad record; one the sidecar does not name counts for nothing', async (t) => {
  const options = await setup(t, 10 * 100, 100);
  const crashed = await openPart(t, options);
  for (let i = 0; i < 10; i++) await crashed.writeBlock(i, new Uint8Array(100).fill(i + 1), 'source');
  const journal = await readFile(crashed.journalPath);
  const record = (journal.length - 21) / 10; // a 21-byte header, then ten records of one size
  t.true(Number.isInteger(record), `record size ${record}`);
  const keptWith = async (bytes: Buffer): Promise<number> => {
    await writeFile(crashed.journalPath, bytes);
    const kept = await keptBlocks(options.path, sidecarIdentity(options));
    let n = 0;
    for (let i = 0; i < 10; i++) if (kept?.kept.get(i)) n++;
    return n;
  };
  t.is(await keptWith(journal), 10);
  t.is(await keptWith(journal.subarray(0, journal.length - 3)), 9, 'the last record torn');
  const flipped = Buffer.from(journal);
  flipped.writeUInt8(flipped.readUInt8(21 + 4 * record + 6) ^ 0x40, 21 + 4 * record + 6); // a bit of the fifth record
  t.is(await keptWith(flipped), 4, 'a garbled record ends the journal');
  t.is(await keptWith(Buffer.concat([journal, Buffer.from('garbage after the end')])), 10);
  const foreign = Buffer.from(journal);
  foreign.writeUInt8(foreign.readUInt8(10) ^ 0xff, 10); // another id
  t.is(await keptWith(foreign), 0);

  await writeFile(crashed.journalPath, journal);
  const map = JSON.parse(await readFile(crashed.mapPath, 'utf8')) as Record<string, unknown>;
  await writeFile(crashed.mapPath, JSON.stringify({ ...map, journal: 'c'.repeat(32) }));
  t.is(await keptWith(journal), 0, 'the sidecar names another journal');
  await writeFile(crashed.mapPath, JSON.stringify({ ...map, journal: null }));
  t.is(await keptWith(journal), 0, 'the sidecar names none');
});

test('a sidecar from before the journal resumes, and the reopened file journals from then on', async (t) => {
  const options = await setup(t, 6 * 100, 100);
  const first = await PartFile.open(options);
  await first.writeBlock(2, new Uint8Array(100).fill(7), 'source');
  await first.close();
  const map = JSON.parse(await readFile(first.mapPath, 'utf8')) as Record<string, unknown>;
  delete map['journal'];
  await writeFile(first.mapPath, JSON.stringify(map));
  await rm(first.journalPath);

  const crashed = await openPart(t, options);
  t.true(crashed.resumed);
  t.is(crashed.haveCount, 1);
  await crashed.writeBlock(4, new Uint8Array(100).fill(9), PEER);
  const part = await openPart(t, options);
  t.deepEqual([part.have.get(2), part.have.get(4)], [true, true]);
  t.is(part.supplierOf(4), PEER);
});

test('starting over never reads the old journal, even where its checksums would match', async (t) => {
  const options = await setup(t, 8 * 100, 100);
  const old = await openPart(t, options);
  // Zeros: a starting-over .part is all zeros, so these records' checksums would match it.
  for (let i = 0; i < 8; i++) await old.writeBlock(i, new Uint8Array(100), 'source');
  await writeFile(old.mapPath, 'not a sidecar');
  const oldJournal = await readFile(old.journalPath);

  const fresh = await openPart(t, options);
  t.false(fresh.resumed);
  t.is(fresh.haveCount, 0);
  await writeFile(fresh.journalPath, oldJournal); // as if the old journal were still there
  const again = await openPart(t, options);
  t.true(again.resumed);
  t.is(again.haveCount, 0);
});

test('the journal stays small: rewritten once it outgrows what it must hold, losing nothing', async (t) => {
  const options = await setup(t, 5000 * 16, 16);
  const crashed = await openPart(t, options);
  let largest = 0;
  for (let i = 0; i < crashed.blocks; i++) {
    await crashed.writeBlock(i, new Uint8Array(16).fill(i & 0xff), i % 7 ? 'source' : PEER);
    // Flushes every 64 blocks, as by default, but awaited: how much the journal grows
    // during a flush depends on the disk, not on the journal.
    if (i % 64 === 63) await crashed.flush();
    largest = Math.max(largest, (await stat(crashed.journalPath)).size);
  }
  t.log(`5,000 records of ~25-50 bytes; the journal peaked at ${largest} bytes`);
  t.true(largest < 80 * 1024, `${largest} bytes`);
  const part = await openPart(t, options);
  t.is(part.haveCount, part.blocks);
  for (const i of [0, 7, 4999]) t.deepEqual(Buffer.from(await part.readBlock(i)), Buffer.from(new Uint8Array(16).fill(i & 0xff)));
  t.is(part.supplierOf(7), PEER);
});

test('finish and discard leave no journal behind', async (t) => {
  const options = await setup(t, 2 * 100, 100);
  const part = await PartFile.open(options);
  for (const i of [0, 1]) await part.writeBlock(i, new Uint8Array(100), 'source');
  await part.finish();
  await t.throwsAsync(() => stat(part.journalPath));
  const other = await PartFile.open(options);
  await other.writeBlock(0, new Uint8Array(100), 'source');
  await truncate(other.journalPath, 30); // whatever state it is in
  await other.discard();
  await t.throwsAsync(() => stat(other.journalPath));
});

test('no room for the journal on resume (a full disk): it resumes without one, keeping every block', async (t) => {
  const seed = seedFrom(process.env, 907);
  const options = await setup(t, 16 * 512, 512);
  const first = await openPart(t, options);
  for (let i = 0; i < 6; i++) await first.writeBlock(i, blockPattern(seed, i, 512), 'source');
  await first.flush();
  for (let i = 6; i < 9; i++) await first.writeBlock(i, blockPattern(seed, i, 512), 'source'); // journal only
  // The journal cannot be written afresh: its temporary name is taken by a directory (EISDIR,
  // as ENOSPC would: a DISK error).
  await mkdir(`${options.path}.part.journal.tmp`);
  const part = await openPart(t, options);
  t.is(part.haveCount, 9, 'the blocks of the sidecar and of the old journal');
  for (let i = 0; i < 9; i++) t.deepEqual(Buffer.from(await part.readBlock(i)), Buffer.from(blockPattern(seed, i, 512)));
  await part.writeBlock(9, blockPattern(seed, 9, 512), 'source'); // writes go on, unjournalled
  await part.flush();
  t.is(part.durableCount, 10);
});

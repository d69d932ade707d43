// PartFile on real files in a temp dir: writes at offsets, resume, starting over, the
// sidecar's validation, verification and the atomic rename, disk errors. (A full disk,
// which needs `mount`, is in storage-disk-full.test.ts.)

import test from 'ava';
import type { ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import FakeTimers from '@sinonjs/fake-timers';
import BitField from 'bitfield';
import { SeededRng, seedFrom, shuffle } from '../estimation/random.ts';
import { SlurpieError } from '../peer/errors.ts';
import type { PartFileOptions } from '../peer/storage/index.ts';
import { PartFile, SupplierTable, decodeBlockMap, encodeBlockMap, loadBlockMap, parseSha256 } from '../peer/storage/index.ts';
import { blockPattern } from './fixtures/storage-writer.ts';
import { until } from './fixtures/wait.ts';

const IDENTITY = { url: 'http://127.0.0.1:8080/big.iso', validator: '"etag-1"', swarmId: 'a'.repeat(64) };
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const PEER = 'b'.repeat(32);

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'slurpie-part-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function openPart(t: ExecutionContext, options: PartFileOptions): Promise<PartFile> {
  const part = await PartFile.open(options);
  t.teardown(() => part.close().catch(() => undefined));
  return part;
}

function sha256(...chunks: Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}

function wholeFile(seed: number, size: number, blockSize: number): Uint8Array[] {
  const blocks = Math.ceil(size / blockSize);
  return Array.from({ length: blocks }, (_, i) => blockPattern(seed, i, Math.min(blockSize, size - i * blockSize)));
}

function isDiskError(err: unknown): boolean {
  return err instanceof SlurpieError && err.code === 'DISK' && !err.message.includes('\n');
}

test('blocks written out of order read back, with a short last block', async (t) => {
  const seed = seedFrom(process.env, 101);
  t.log(`SLURPIE_SEED=${seed}`);
  const dir = await tempDir(t);
  const size = 10 * 1000 + 7;
  const part = await openPart(t, { path: join(dir, 'f.bin'), size, blockSize: 1000, identity: IDENTITY });
  t.is(part.blocks, 11);
  t.is(part.blockLength(0), 1000);
  t.is(part.blockLength(10), 7);
  t.false(part.resumed);
  t.is((await stat(part.partPath)).size, size, '.part has the final size from the start');

  const data = wholeFile(seed, size, 1000);
  const order = shuffle(new SeededRng(seed), [...data.keys()]).slice(0, 8);
  for (const i of order) await part.writeBlock(i, data[i] as Uint8Array, i % 2 === 0 ? 'source' : PEER);
  t.is(part.haveCount, 8);
  for (let i = 0; i < part.blocks; i++) {
    t.is(part.have.get(i), order.includes(i));
    if (order.includes(i)) t.deepEqual(Buffer.from(await part.readBlock(i)), Buffer.from(data[i] as Uint8Array));
    else await t.throwsAsync(() => part.readBlock(i), { instanceOf: RangeError });
  }
  t.is(part.supplierOf(order[0] as number), (order[0] as number) % 2 === 0 ? 'source' : PEER);
  const bySupplier = part.suppliers();
  t.deepEqual(
    [...(bySupplier.get('source') ?? []), ...(bySupplier.get(PEER) ?? [])].sort((a, b) => a - b),
    [...order].sort((a, b) => a - b),
  );
});

test('a wrong length, index or supplier is rejected and changes nothing', async (t) => {
  const dir = await tempDir(t);
  const part = await openPart(t, { path: join(dir, 'f.bin'), size: 2500, blockSize: 1000, identity: IDENTITY });
  const full = new Uint8Array(1000);
  await t.throwsAsync(() => part.writeBlock(0, new Uint8Array(999), 'source'), { instanceOf: RangeError });
  await t.throwsAsync(() => part.writeBlock(0, new Uint8Array(1001), 'source'), { instanceOf: RangeError });
  await t.throwsAsync(() => part.writeBlock(2, full, 'source'), { instanceOf: RangeError, message: /500 bytes/ });
  for (const index of [-1, 3, 1.5, Number.NaN]) {
    await t.throwsAsync(() => part.writeBlock(index, full, 'source'), { instanceOf: RangeError });
    t.throws(() => part.blockLength(index), { instanceOf: RangeError });
  }
  await t.throwsAsync(() => part.writeBlock(0, full, ''), { instanceOf: TypeError });
  t.is(part.haveCount, 0);
  t.true(part.have.buffer.every((byte) => byte === 0));
});

test('bad sizes are BAD_INPUT', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'f.bin');
  for (const [size, blockSize] of [[-1, 1000], [1.5, 1000], [1000, 0], [1000, 2 ** 31], [2 ** 40, 1]]) {
    const err = await t.throwsAsync(() => PartFile.open({ path, size: size as number, blockSize: blockSize as number, identity: IDENTITY }));
    t.is((err as SlurpieError).code, 'BAD_INPUT', `size ${size}, block size ${blockSize}`);
  }
});

test('concurrent writes of all blocks are all kept, and the same block twice keeps the last', async (t) => {
  const seed = seedFrom(process.env, 202);
  t.log(`SLURPIE_SEED=${seed}`);
  const dir = await tempDir(t);
  const path = join(dir, 'f.bin');
  const size = 300 * 512 - 100;
  const data = wholeFile(seed, size, 512);
  const part = await PartFile.open({ path, size, blockSize: 512, identity: IDENTITY, flushBlocks: 7 });
  const order = shuffle(new SeededRng(seed), [...data.keys()]);
  await Promise.all(order.map((i) => part.writeBlock(i, data[i] as Uint8Array, 'source')));
  t.is(part.haveCount, part.blocks);

  const other = blockPattern(seed + 1, 0, 512);
  await Promise.all([part.writeBlock(0, other, PEER), part.writeBlock(0, data[0] as Uint8Array, 'source')]);
  t.is(part.supplierOf(0), 'source');
  await part.close();

  const again = await openPart(t, { path, size, blockSize: 512, identity: IDENTITY });
  t.true(again.resumed);
  t.is(again.haveCount, again.blocks);
  for (const i of order) t.deepEqual(Buffer.from(await again.readBlock(i)), Buffer.from(data[i] as Uint8Array));
});

test('after a crash (no close) a reopen keeps the flushed blocks and the journaled ones, and claims none other', async (t) => {
  const seed = seedFrom(process.env, 303);
  t.log(`SLURPIE_SEED=${seed}`);
  const dir = await tempDir(t);
  const path = join(dir, 'f.bin');
  const size = 64 * 256;
  const data = wholeFile(seed, size, 256);
  const options = { path, size, blockSize: 256, identity: IDENTITY, flushIntervalMs: 60_000, flushBlocks: 1000 };
  const crashed = await PartFile.open(options);
  const order = shuffle(new SeededRng(seed), [...data.keys()]);
  const flushed = order.slice(0, 20);
  const unflushed = order.slice(20, 40);
  for (const i of flushed) await crashed.writeBlock(i, data[i] as Uint8Array, i % 3 === 0 ? PEER : 'source');
  await crashed.flush();
  t.is(crashed.durableCount, 20);
  for (const i of unflushed) await crashed.writeBlock(i, data[i] as Uint8Array, 'source');
  t.is(crashed.haveCount, 40);
  t.is(crashed.durableCount, 20, 'written blocks wait for the batch flush');
  t.is(crashed.keptCount, 40, 'but the journal has them');
  // Not closed: its timer would fire only after a minute; close it after the checks.

  const part = await openPart(t, options);
  t.teardown(() => crashed.close().catch(() => undefined));
  t.true(part.resumed);
  t.is(part.haveCount, 40);
  t.is(part.durableCount, 20, 'the journal\'s blocks are not durable until the next flush');
  for (let i = 0; i < part.blocks; i++) t.is(part.have.get(i), flushed.includes(i) || unflushed.includes(i), `block ${i}`);
  for (const i of [...flushed, ...unflushed]) {
    t.deepEqual(Buffer.from(await part.readBlock(i)), Buffer.from(data[i] as Uint8Array));
    t.is(part.supplierOf(i), flushed.includes(i) && i % 3 === 0 ? PEER : 'source');
  }
  await part.flush();
  t.is(part.durableCount, 40);
});

// Fake timers (setTimeout only, the one PartFile uses), so "after the interval" is the
// interval on a clock the test moves, not a real wait. Serial: nothing else runs meanwhile.
test.serial('flushes happen by themselves: after the interval, or after N blocks', async (t) => {
  const dir = await tempDir(t);
  const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
  t.teardown(() => clock.uninstall());
  const byTime = await openPart(t, { path: join(dir, 'a.bin'), size: 4096, blockSize: 1024, identity: IDENTITY, flushIntervalMs: 20 });
  await byTime.writeBlock(2, new Uint8Array(1024).fill(2), 'source');
  t.is(clock.countTimers(), 1, 'the write armed the flush timer');
  clock.tick(19);
  t.is(clock.countTimers(), 1, 'not due before the interval');
  t.is(byTime.durableCount, 0);
  clock.tick(1);
  t.is(clock.countTimers(), 0, 'due at the interval');
  await until(() => byTime.durableCount === 1, 'the timed flush');
  const onDisk = await loadBlockMap(byTime.mapPath, { ...IDENTITY, size: 4096, blockSize: 1024 });
  t.true(onDisk.ok && onDisk.have.get(2) && !onDisk.have.get(0));

  const byCount = await openPart(t, {
    path: join(dir, 'b.bin'),
    size: 8192,
    blockSize: 1024,
    identity: IDENTITY,
    flushIntervalMs: 60_000,
    flushBlocks: 3,
  });
  for (const i of [0, 1]) await byCount.writeBlock(i, new Uint8Array(1024), 'source');
  t.is(byCount.durableCount, 0);
  await byCount.writeBlock(5, new Uint8Array(1024), 'source');
  await until(() => byCount.durableCount === 3, 'the flush after 3 blocks');
  t.is(clock.now, 20, 'the clock never moved for it');
});

test('a changed identity starts over and never mixes versions', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'f.bin');
  const base = { path, size: 3000, blockSize: 1000, identity: IDENTITY };
  const changes: [string, PartFileOptions][] = [
    ['validator', { ...base, identity: { ...IDENTITY, validator: '"etag-2"' } }],
    ['validator', { ...base, identity: { ...IDENTITY, validator: null } }],
    ['url', { ...base, identity: { ...IDENTITY, url: 'http://127.0.0.1:8080/other.iso' } }],
    ['swarmId', { ...base, identity: { ...IDENTITY, swarmId: 'd'.repeat(64) } }],
    ['size', { ...base, size: 2999 }],
    ['blockSize', { ...base, blockSize: 500 }],
  ];
  for (const [field, changed] of changes) {
    const first = await PartFile.open(base);
    for (let i = 0; i < first.blocks; i++) await first.writeBlock(i, new Uint8Array(first.blockLength(i)).fill(0xee), 'source');
    await first.close();

    const fresh = await PartFile.open(changed);
    t.false(fresh.resumed, field);
    t.regex(fresh.freshReason ?? '', new RegExp(field));
    t.is(fresh.haveCount, 0);
    const bytes = await readFile(fresh.partPath);
    t.is(bytes.length, changed.size);
    t.true(bytes.every((b) => b === 0), `${field}: the old bytes are gone`);
    await fresh.discard();
  }
});

test('a corrupt, foreign or inconsistent sidecar is ignored and the download starts over', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'f.bin');
  const options = { path, size: 20 * 100 - 1, blockSize: 100, identity: IDENTITY };
  const expected = { ...IDENTITY, size: options.size, blockSize: 100 };
  const good = async (): Promise<Record<string, unknown>> => {
    const part = await PartFile.open(options);
    for (const i of [0, 3, 19]) await part.writeBlock(i, new Uint8Array(part.blockLength(i)).fill(i + 1), i === 3 ? PEER : 'source');
    await part.close();
    return JSON.parse(await readFile(part.mapPath, 'utf8')) as Record<string, unknown>;
  };
  const doc = await good();
  t.true(decodeBlockMap(JSON.stringify(doc), expected).ok, 'the untouched sidecar is accepted');

  const bits = (bytes: number[]): string => Buffer.from(bytes).toString('base64');
  const corruptions: [string, string | null][] = [
    ['garbage', 'not json at all'],
    ['truncated', JSON.stringify(doc).slice(0, 40)],
    ['an array', '[]'],
    ['unknown version', JSON.stringify({ ...doc, version: 2 })],
    ['size as a string', JSON.stringify({ ...doc, size: String(options.size) })],
    ['short bitfield', JSON.stringify({ ...doc, have: bits([0x90, 0x00]) })],
    ['bits past the end', JSON.stringify({ ...doc, have: bits([0x90, 0x00, 0x11]) })],
    ['non-canonical base64', JSON.stringify({ ...doc, have: `${String(doc['have'])}\n` })],
    ['supplier for a missing block', JSON.stringify({ ...doc, have: bits([0x80, 0x00, 0x10]) })],
    ['supplier list not strings', JSON.stringify({ ...doc, suppliers: [1] })],
    ['supplier runs short', JSON.stringify({ ...doc, from: bits([5, 0]) })],
    ['missing sidecar', null],
  ];
  for (const [what, text] of corruptions) {
    await good();
    if (text === null) await rm(`${path}.part.map`);
    else await writeFile(`${path}.part.map`, text);
    const part = await PartFile.open(options);
    t.false(part.resumed, what);
    t.is(part.haveCount, 0, what);
    t.true((await readFile(part.partPath)).every((b) => b === 0), `${what}: starts from an empty .part`);
    const onDisk = await loadBlockMap(part.mapPath, expected);
    t.true(onDisk.ok && onDisk.have.buffer.every((b) => b === 0), `${what}: the sidecar is replaced`);
    await part.discard();
  }

  await good();
  await writeFile(`${path}.part`, 'short');
  const wrongSize = await openPart(t, options);
  t.false(wrongSize.resumed);
  t.regex(wrongSize.freshReason ?? '', /size/);
});

test('the sidecar round-trips bits and suppliers, and stays small', (t) => {
  const seed = seedFrom(process.env, 404);
  t.log(`SLURPIE_SEED=${seed}`);
  const rng = new SeededRng(seed);
  const blocks = 40_000; // 10 GiB at 256 KiB
  const identity = { ...IDENTITY, size: blocks * 262_144, blockSize: 262_144 };
  const have = new BitField(blocks);
  const suppliers = new SupplierTable(blocks);
  const peers = Array.from({ length: 50 }, (_, i) => i.toString(16).padStart(32, '0'));
  for (let b = 0; b < blocks; b++) {
    if (rng.next() < 0.7) {
      have.set(b, true);
      // Runs from the source, single blocks from peers, like a real download.
      suppliers.set(b, rng.next() < 0.5 ? 'source' : (peers[Math.floor(rng.next() * peers.length)] as string));
    }
  }
  const text = encodeBlockMap(identity, { have, suppliers });
  t.log(`sidecar for ${blocks} blocks: ${text.length} bytes`);
  t.true(text.length < 16 * blocks, 'a few bytes per block');
  const decoded = decodeBlockMap(text, identity);
  if (!decoded.ok) return t.fail(decoded.reason);
  t.deepEqual(Buffer.from(decoded.have.buffer), Buffer.from(have.buffer));
  for (let b = 0; b < blocks; b++) {
    if (decoded.suppliers.get(b) !== suppliers.get(b)) return t.fail(`supplier of block ${b}`);
  }
  t.pass();
});

test('finish verifies, renames into place, and leaves no .part or sidecar', async (t) => {
  const seed = seedFrom(process.env, 505);
  t.log(`SLURPIE_SEED=${seed}`);
  const dir = await tempDir(t);
  const path = join(dir, 'f.bin');
  const size = 5 * 4096 + 1;
  const data = wholeFile(seed, size, 4096);
  const part = await openPart(t, { path, size, blockSize: 4096, identity: IDENTITY });
  for (const i of [3, 0, 5, 1]) await part.writeBlock(i, data[i] as Uint8Array, 'source');
  await t.throwsAsync(() => part.finish(), { message: /2 of 6 blocks missing/ });
  for (const i of [2, 4]) await part.writeBlock(i, data[i] as Uint8Array, 'source');
  const digest = sha256(...data);
  t.deepEqual(await part.finish(digest.toUpperCase()), { sha256: digest });
  t.deepEqual(Buffer.from(await readFile(path)), Buffer.concat(data));
  t.deepEqual(await readdir(dir), ['f.bin']);
  await t.throwsAsync(() => part.writeBlock(0, data[0] as Uint8Array, 'source'), { message: /closed/ });
});

test('a released buffer is reused at once (as the source pool does) and the file still verifies; a refused write releases too', async (t) => {
  const seed = seedFrom(process.env, 515);
  t.log(`SLURPIE_SEED=${seed}`);
  const dir = await tempDir(t);
  const path = join(dir, 'f.bin');
  const size = 40 * 4096 + 7;
  const data = wholeFile(seed, size, 4096);
  const part = await openPart(t, { path, size, blockSize: 4096, identity: IDENTITY });
  const released = new Array<number>(data.length).fill(0);
  // Writes overlap, as a source's do; each buffer is scribbled over the moment it is released.
  const buffers = data.map((block) => Buffer.from(block));
  await Promise.all(buffers.map((buffer, i) => part.writeBlock(i, buffer, 'source', () => { released[i]! += 1; buffer.fill(0xee); })));
  await until(() => released.every((n) => n === 1), 'every buffer released');
  t.deepEqual(released, new Array<number>(data.length).fill(1));
  const digest = sha256(...data);
  t.deepEqual(await part.finish(digest), { sha256: digest });
  let refused = 0;
  await t.throwsAsync(() => part.writeBlock(0, Buffer.from(data[0] as Uint8Array), 'source', () => refused++), { message: /closed/ });
  t.is(refused, 1);
});

test('a wrong digest throws INTEGRITY_FAILED, keeps everything, and a repaired file finishes', async (t) => {
  const seed = seedFrom(process.env, 606);
  t.log(`SLURPIE_SEED=${seed}`);
  const dir = await tempDir(t);
  const path = join(dir, 'f.bin');
  const size = 8 * 1024;
  const data = wholeFile(seed, size, 1024);
  const digest = sha256(...data);
  const part = await openPart(t, { path, size, blockSize: 1024, identity: IDENTITY });
  const liar = 'c'.repeat(32);
  for (let i = 0; i < part.blocks; i++) {
    const bytes = i === 6 ? blockPattern(seed + 99, i, 1024) : (data[i] as Uint8Array);
    await part.writeBlock(i, bytes, i === 6 ? liar : i % 2 === 0 ? 'source' : PEER);
  }
  const err = await t.throwsAsync(() => part.finish(digest));
  t.true(err instanceof SlurpieError && err.code === 'INTEGRITY_FAILED' && !err.message.includes('\n'), String(err));
  t.deepEqual((await readdir(dir)).sort(), ['f.bin.part', 'f.bin.part.journal', 'f.bin.part.map']);
  await t.throwsAsync(() => part.finish('zz'), { message: /64 hex/ });

  // The repair the node does: re-check peers' blocks against the source, rewrite the bad one.
  t.deepEqual(part.suppliers().get(liar), [6]);
  for (const [who, blocks] of part.suppliers()) {
    if (who === 'source') continue;
    for (const i of blocks) {
      if (!Buffer.from(await part.readBlock(i)).equals(data[i] as Uint8Array)) {
        await part.writeBlock(i, data[i] as Uint8Array, 'source');
      }
    }
  }
  t.is(part.supplierOf(6), 'source');
  t.deepEqual(await part.finish(digest), { sha256: digest });
  t.deepEqual(await readdir(dir), ['f.bin']);
});

test('rewriting a durable block takes it out of the sidecar before the bytes change', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'f.bin');
  const options = { path, size: 2048, blockSize: 1024, identity: IDENTITY, flushIntervalMs: 60_000, flushBlocks: 1000 };
  const crashed = await PartFile.open(options);
  t.teardown(() => crashed.close().catch(() => undefined));
  await crashed.writeBlock(0, new Uint8Array(1024).fill(1), PEER);
  await crashed.writeBlock(1, new Uint8Array(1024).fill(1), PEER);
  await crashed.flush();
  await crashed.writeBlock(1, new Uint8Array(1024).fill(2), 'source'); // the rewrite is not flushed
  const reopened = await loadBlockMap(crashed.mapPath, { ...IDENTITY, size: 2048, blockSize: 1024 });
  t.true(reopened.ok && reopened.have.get(0) && !reopened.have.get(1), 'block 1 is not claimed until its new bytes are durable');
});

test('a zero-byte file has no blocks and finishes to an empty file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'empty.bin');
  const part = await openPart(t, { path, size: 0, blockSize: 262_144, identity: IDENTITY });
  t.is(part.blocks, 0);
  t.is(part.haveCount, 0);
  t.true(part.complete);
  t.throws(() => part.blockLength(0), { instanceOf: RangeError });
  await t.throwsAsync(() => part.writeBlock(0, new Uint8Array(0), 'source'), { instanceOf: RangeError });
  t.deepEqual(await part.finish(EMPTY_SHA256), { sha256: EMPTY_SHA256 });
  t.is((await stat(path)).size, 0);
  t.deepEqual(await readdir(dir), ['empty.bin']);
});

test('disk errors are DISK with one line naming the path', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a-file'), 'x');
  const underFile = join(dir, 'a-file', 'out.bin');
  const err1 = await t.throwsAsync(() => PartFile.open({ path: underFile, size: 10, blockSize: 4, identity: IDENTITY }));
  t.true(isDiskError(err1), String(err1));
  t.regex(err1?.message ?? '', /a-file\/out\.bin/);
  t.regex(err1?.message ?? '', /ENOTDIR/);

  await mkdir(join(dir, 'out.bin'));
  const err2 = await t.throwsAsync(() => PartFile.open({ path: join(dir, 'out.bin'), size: 10, blockSize: 4, identity: IDENTITY }));
  t.true(isDiskError(err2), String(err2));
  t.regex(err2?.message ?? '', /out\.bin: it is a directory/);
  t.deepEqual((await readdir(dir)).sort(), ['a-file', 'out.bin'], 'nothing created');
});

// Root ignores file modes, so this one only runs as an ordinary user; the skip says so.
const asRoot = process.getuid?.() === 0;
(asRoot ? test.skip : test)(`a read-only output directory is a DISK error${asRoot ? ' (skipped: root ignores file modes)' : ''}`, async (t) => {
  const dir = await tempDir(t);
  const ro = join(dir, 'ro');
  await mkdir(ro);
  await chmod(ro, 0o555);
  t.teardown(() => chmod(ro, 0o755));
  const err = await t.throwsAsync(() => PartFile.open({ path: join(ro, 'out.bin'), size: 10, blockSize: 4, identity: IDENTITY }));
  t.true(isDiskError(err), String(err));
  t.regex(err?.message ?? '', /EACCES/);
});

test('parseSha256 reads a bare digest or a sha256sum line', (t) => {
  const hex = 'AbCdEf0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789';
  const lower = hex.toLowerCase();
  t.is(parseSha256(hex), lower);
  t.is(parseSha256(`  ${hex}\n`), lower);
  t.is(parseSha256(`${hex}  big.iso\n`), lower);
  t.is(parseSha256(`${hex} *big.iso`), lower);
  t.is(parseSha256(`\\${hex}  we\\nird`), lower);
  t.is(parseSha256(`SHA256 (big.iso) = ${hex}`), lower);
  const other = 'f'.repeat(64);
  const list = `${other}  small.iso\n${hex}  dir/big.iso\n`;
  t.is(parseSha256(list), null, 'several files and no name: ambiguous');
  t.is(parseSha256(list, 'big.iso'), lower);
  t.is(parseSha256(list, 'none.iso'), null);
  for (const bad of ['', 'abc', hex.slice(1), `${hex}0`, `${hex.slice(1)}g`, `sha256:${hex}`, `${hex}\ngarbage`, 'a'.repeat(70_000)]) {
    t.is(parseSha256(bad), null, JSON.stringify(bad.slice(0, 80)));
  }
});

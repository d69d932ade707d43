// PartFile on a disk that fills up for real: a 1 MiB tmpfs. Integration: it runs `mount`
// and `umount` (child processes), and only where mounting is permitted (root in a container).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { mkdtemp, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedFrom } from '../estimation/random.ts';
import { SlurpieError } from '../peer/errors.ts';
import { PartFile } from '../peer/storage/index.ts';
import { blockPattern } from './fixtures/storage-writer.ts';

const IDENTITY = { url: 'http://127.0.0.1:8080/big.iso', validator: '"etag-1"', swarmId: 'a'.repeat(64) };

function wholeFile(seed: number, size: number, blockSize: number): Uint8Array[] {
  const blocks = Math.ceil(size / blockSize);
  return Array.from({ length: blocks }, (_, i) => blockPattern(seed, i, Math.min(blockSize, size - i * blockSize)));
}

function isDiskError(err: unknown): boolean {
  return err instanceof SlurpieError && err.code === 'DISK' && !err.message.includes('\n');
}

// A full disk for real needs a small tmpfs, which needs mount rights (root in a container).
// (Probed synchronously: ava wants every test declared before the first await.)
const canMountTmpfs = ((): boolean => {
  const probe = mkdtempSync(join(tmpdir(), 'slurpie-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmdirSync(probe);
  }
})();

// A skip says why, so a run that could not check this does not read as a pass.
const title = 'a full disk is a DISK error and loses nothing already durable';
(canMountTmpfs ? test : test.skip)(canMountTmpfs ? title : `${title} (skipped: no right to mount a tmpfs here)`, async (t) => {
  t.timeout(30_000);
  const seed = seedFrom(process.env, 707);
  t.log(`SLURPIE_SEED=${seed}`);
  const dir = await mkdtemp(join(tmpdir(), 'slurpie-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
  t.teardown(async () => {
    execFileSync('umount', [dir]);
    await rmdir(dir);
  });
  const path = join(dir, 'f.bin');
  const size = 4 * 1024 * 1024; // four times the disk; sparse, so open succeeds
  const options = { path, size, blockSize: 64 * 1024, identity: IDENTITY, flushBlocks: 2 };
  const data = wholeFile(seed, size, 64 * 1024);
  const part = await PartFile.open(options);
  let failure: unknown = null;
  for (let i = 0; i < part.blocks && failure === null; i++) {
    await part.writeBlock(i, data[i] as Uint8Array, 'source').catch((err: unknown) => (failure = err));
  }
  t.true(isDiskError(failure), String(failure));
  t.log(String((failure as Error).message));
  t.regex(String((failure as Error).message), /no space left on device \(ENOSPC\)/);
  t.regex(String((failure as Error).message), new RegExp(dir));
  const recorded = part.durableCount;
  t.true(recorded > 0);
  await part.close().catch(() => undefined); // may fail again: the disk is still full

  const resumed = await PartFile.open(options);
  t.teardown(() => resumed.close().catch(() => undefined));
  t.true(resumed.resumed);
  t.true(resumed.haveCount >= recorded, `${resumed.haveCount} >= ${recorded}`);
  for (let i = 0; i < resumed.blocks; i++) {
    if (!resumed.have.get(i)) continue;
    if (!Buffer.from(await resumed.readBlock(i)).equals(data[i] as Uint8Array)) return t.fail(`block ${i} is wrong`);
  }
  t.log(`disk full after ${recorded} durable blocks of ${part.blocks}; all kept`);
});

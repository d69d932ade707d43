// A real crash: a child process writing blocks is SIGKILLed; the sidecar and journal it
// leaves behind must keep every block it had finished writing, claim only blocks whose
// bytes are on disk, and the download must resume to a verified file.

import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seedFrom } from '../estimation/random.ts';
import { PartFile, sha256File } from '../peer/storage/index.ts';
import { WRITER_IDENTITY, blockPattern } from './fixtures/storage-writer.ts';

const WRITER = fileURLToPath(new URL('./fixtures/storage-writer.ts', import.meta.url));

for (const [flush, title] of [
  ['20', 'flushes every 20 ms'],
  ['never', 'no flush at all: everything kept is the journal\'s'],
] as const) {
  test(`a SIGKILLed writer keeps every block it finished and claims none it did not, and resume finishes (${title})`, async (t) => crashAndResume(t, flush));
}

async function crashAndResume(t: ExecutionContext, flush: string): Promise<void> {
  t.timeout(60_000);
  const seed = seedFrom(process.env, 0x5eed_c0de);
  t.log(`SLURPIE_SEED=${seed}`);
  const dir = await mkdtemp(join(tmpdir(), 'slurpie-crash-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'crash.bin');
  const blockSize = 16 * 1024;
  const size = 4096 * blockSize - 1234; // short last block
  const blocks = Math.ceil(size / blockSize);

  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, out, String(size), String(blockSize), String(seed), flush], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<string | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));

  // Kill once a kill would keep a quarter of the blocks (mid-stream, usually).
  let reported = 0;
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const match = /^recorded (\d+)$/.exec(line);
        if (match) reported = Math.max(reported, Number(match[1]));
        if (reported >= blocks / 4 || line === 'written') {
          if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
          resolve();
        }
      }
    });
    void exited.then(() => reject(new Error(`writer exited early: ${stderr.trim()}`)));
  });
  t.is(await exited, 'SIGKILL');
  t.log(`killed after ${reported} of ${blocks} blocks were recorded`);

  const part = await PartFile.open({ path: out, size, blockSize, identity: WRITER_IDENTITY });
  t.teardown(() => part.close());
  t.true(part.resumed, part.freshReason ?? '');
  t.true(part.haveCount >= reported, `blocks lost: ${part.haveCount} < ${reported}`);
  t.log(`resumed with ${part.haveCount} blocks, ${part.durableCount} of them from the sidecar`);
  if (flush === 'never') t.is(part.durableCount, 0, 'nothing was flushed: all came from the journal');

  let wrong = 0;
  for (let i = 0; i < blocks; i++) {
    if (!part.have.get(i)) continue;
    const bytes = await part.readBlock(i);
    if (!Buffer.from(bytes).equals(blockPattern(seed, i, part.blockLength(i)))) wrong++;
  }
  t.is(wrong, 0, 'blocks claimed by the sidecar must hold exactly the bytes written');
  t.deepEqual([...part.suppliers().keys()], ['source']);

  const whole = createHash('sha256');
  for (let i = 0; i < blocks; i++) {
    const pattern = blockPattern(seed, i, part.blockLength(i));
    whole.update(pattern);
    if (!part.have.get(i)) await part.writeBlock(i, pattern, 'source');
  }
  const expected = whole.digest('hex');
  t.deepEqual(await part.finish(expected), { sha256: expected });
  t.is(await sha256File(out), expected);
  t.deepEqual(await readdir(dir), ['crash.bin']);
}

// The library as an embedding program meets it (issue #13): a last progress event at 100%
// before download() resolves, and one error type (SlurpieError with a code) for every
// rejection, aborts included. A real Range server on 127.0.0.1, real files.
import test from 'ava';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seedFrom } from '../estimation/random.ts';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { download, SlurpieError, type Progress } from '../index.ts';
import { closeSourceClients } from '../peer/node/source-client.ts';
import { scratch } from './fixtures/cli-run.ts';
import { within } from './fixtures/wait.ts';
import { seededBytes, sha256Hex } from './fixtures/test-bytes.ts';

const seed = seedFrom(process.env, 11);
test.after.always(() => closeSourceClients());

const content = (size: number): Buffer => seededBytes(size, seed);
const sha = sha256Hex;
const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

test.serial('the last progress event is at 100%, and it comes before download() resolves', async (t) => {
  t.timeout(60_000);
  const data = content(700_000);
  const source = await startSourceServer({ data, name: 'p.bin' });
  t.teardown(() => source.close());
  const out = join(await scratch(t), 'p.bin');
  const events: Progress[] = [];
  let resolved = false;
  const stats = await within(download(source.url, {
    output: out, sha256: sha(data), blockSize: 64 * 1024,
    onProgress: (p) => {
      t.false(resolved, 'no progress after the promise resolved');
      events.push(p);
    },
  }), 'the download');
  resolved = true;
  t.is(sha(await readFile(out)), sha(data));
  const last = events.at(-1);
  t.truthy(last, 'at least one progress event');
  t.is(last?.bytesHave, data.length);
  t.is(last?.size, data.length);
  t.is(last?.fromSource, stats.fromSource);
  // And a rerun on the complete file (nothing fetched) ends at 100% too.
  const again: Progress[] = [];
  const rerun = await download(source.url, { output: out, sha256: sha(data), onProgress: (p) => again.push(p) });
  t.is(rerun.mode, 'already-complete');
  t.is(again.at(-1)?.bytesHave, data.length);
});

test.serial('an already aborted signal rejects with SlurpieError INTERRUPTED, not the raw AbortError', async (t) => {
  t.timeout(60_000);
  const source = await startSourceServer({ data: content(100_000), name: 'a.bin' });
  t.teardown(() => source.close());
  const out = join(await scratch(t), 'a.bin');
  const err = await t.throwsAsync(download(source.url, { output: out, signal: AbortSignal.abort() }));
  t.true(err instanceof SlurpieError, `got ${err?.name}: ${err?.message}`);
  t.is((err as SlurpieError).code, 'INTERRUPTED');
  t.false(await exists(out));
});

test.serial('aborting mid-download rejects with INTERRUPTED and keeps the .part file for resume', async (t) => {
  t.timeout(60_000);
  const data = content(2 * 1024 * 1024);
  // Throttled so the abort lands mid-transfer however fast or loaded the machine is.
  const source = await startSourceServer({ data, name: 'm.bin', rate: 256 * 1024 });
  t.teardown(() => source.close());
  const out = join(await scratch(t), 'm.bin');
  const controller = new AbortController();
  const running = download(source.url, {
    output: out, blockSize: 64 * 1024, signal: controller.signal,
    onProgress: (p) => {
      if (p.bytesHave > 0) controller.abort();
    },
  });
  const err = await within(t.throwsAsync(running), 'the rejection');
  t.true(err instanceof SlurpieError, `got ${err?.name}: ${err?.message}`);
  t.is((err as SlurpieError).code, 'INTERRUPTED');
  t.true(await exists(`${out}.part`), 'the .part file is kept');
  t.false(await exists(out));
});

test.serial('a failure from below is a SlurpieError with a code and the original as cause', async (t) => {
  t.timeout(60_000);
  const source = await startSourceServer({ data: content(100_000), name: 'd.bin' });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  const blocker = join(dir, 'a-file');
  await writeFile(blocker, 'not a directory');
  const err = await t.throwsAsync(download(source.url, { output: join(blocker, 'd.bin') }));
  t.true(err instanceof SlurpieError, `got ${err?.name}: ${err?.message}`);
  t.is((err as SlurpieError).code, 'DISK');
  const missing = await t.throwsAsync(download(new URL('/nope.bin', source.url).toString(), { output: join(dir, 'n.bin') }));
  t.true(missing instanceof SlurpieError);
  t.is((missing as SlurpieError).code, 'SOURCE_HTTP');
});

test.serial('alone, each Range GET starts at the lowest missing block: the file comes in order, in few GETs', async (t) => {
  t.timeout(60_000);
  const blockSize = 16 * 1024;
  const data = content(256 * blockSize);
  const source = await startSourceServer({ data, name: 'o.bin' });
  t.teardown(() => source.close());
  const out = join(await scratch(t), 'o.bin');
  const stats = await within(download(source.url, { output: out, sha256: sha(data), blockSize }), 'the download');
  t.is(sha(await readFile(out)), sha(data));
  t.is(stats.mode, 'alone');
  // Block runs only, not the probe: its range may be a single byte.
  const runs = source.requestLog()
    .map((r) => /^bytes=(\d+)-(\d+)$/.exec(String(r.headers.range ?? '')))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [Number(m[1]), Number(m[2])] as const)
    .filter(([from, to]) => from % blockSize === 0 && (to + 1) % blockSize === 0);
  t.log(`${runs.length} runs: ${runs.map(([from, to]) => `${from / blockSize}+${(to + 1 - from) / blockSize}`).join(' ')}`);
  let next = 0;
  for (const [from, to] of runs) {
    t.is(from, next, 'each run starts where the last one ended');
    next = to + 1;
  }
  t.is(next, data.length, 'the runs cover the file');
  // Run lengths double from one block up to maxSourceRun (64): 1 + 2 + ... + 64 = 127, then 64 at a time
  // (10 GETs; room for a slow machine, where a run is cut to what the lease has time for).
  t.true(runs.length <= 24, `${runs.length} GETs for 256 blocks`);
});

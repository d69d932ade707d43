// `demo --dir D` empties D first, so it refuses a non-empty directory it did not make
// (issue #13), and still reruns on one it made. Real `slurpie demo` processes.
import test from 'ava';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runSlurpie, scratch } from './fixtures/cli-run.ts';

const small = ['--peers', '2', '--size', '1MiB', '--no-live', '--timeout', '120'];

test.serial('a non-empty directory demo did not make: exit 2, one line, left untouched', async (t) => {
  t.timeout(60_000);
  const dir = await scratch(t);
  const mine = join(dir, 'documents');
  await mkdir(mine);
  await writeFile(join(mine, 'thesis.txt'), 'precious');
  const r = await runSlurpie(t, ['demo', '--dir', mine, ...small]);
  t.is(r.code, 2, r.stderr);
  t.is(r.stderr, `slurpie demo: --dir must be new, empty or made by slurpie demo (it is emptied first), got ${JSON.stringify(mine)} (1 entry and no .slurpie-demo) (see slurpie demo --help)\n`);
  t.is(r.stdout, '', 'nothing started');
  t.deepEqual(await readdir(mine), ['thesis.txt']);
  t.is(await readFile(join(mine, 'thesis.txt'), 'utf8'), 'precious');
  const file = join(dir, 'a-file');
  await writeFile(file, 'x');
  const notDir = await runSlurpie(t, ['demo', '--dir', file, ...small]);
  t.is(notDir.code, 2);
  t.regex(notDir.stderr, /^slurpie demo: --dir must be a directory, got .*a-file/);
});

test.serial('a new directory is made and marked, and a rerun on it works', async (t) => {
  t.timeout(240_000);
  const dir = join(await scratch(t), 'demo');
  const first = await runSlurpie(t, ['demo', '--dir', dir, ...small]);
  t.is(first.code, 0, first.stderr);
  t.regex(first.stdout, /every output verified/);
  t.true((await readdir(dir)).includes('.slurpie-demo'));
  const again = await runSlurpie(t, ['demo', '--dir', dir, ...small]);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /every output verified/);
  t.true((await readdir(dir)).includes('.slurpie-demo'));
});

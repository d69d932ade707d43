// bin/code-cache.ts: a CommonJS file run with V8's code cache, made at a clean exit when the
// caller asks, read back by the next process, and never read for another build of the file.
// Each case runs real Node processes on a real file in a temp dir.
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, run as runCommand } from './fixtures/consumer-project.ts';

const LOADER = pathToFileURL(join(import.meta.dirname, '..', 'bin', 'code-cache.ts')).href;

// Loads `file`, prints what became of its cache and what the module computed, asks for a cache
// unless told not to, and exits with the code given.
const RUNNER = `
const { loadWithCodeCache } = await import(${JSON.stringify(LOADER)});
const [file, save, code] = process.argv.slice(1);
const loaded = loadWithCodeCache(file);
let line = '';
try { loaded.exports.fail(); } catch (err) { line = err.stack.split('\\n')[1].split(':').at(-2); }
console.log(JSON.stringify({ cache: loaded.cache, sum: loaded.exports.sum(2, 3), filename: loaded.exports.filename, line }));
if (save === 'save') loaded.saveOnCleanExit();
process.exitCode = Number(code);
`;

const MODULE = `'use strict';
exports.sum = (a, b) => a + b;
exports.filename = __filename;
exports.fail = () => { throw new Error('from line 4'); };
`;

async function run(t: ExecutionContext, file: string, save: 'save' | 'no', code = 0): Promise<{ cache: string; sum: number; filename: string; line: string }> {
  // From the checkout, where `--import tsx` resolves.
  const ran = await runCommand(t, process.execPath, ['--import', 'tsx', '--input-type=module', '-e', RUNNER, file, save, String(code)], ROOT);
  t.is(ran.code, code, ran.stderr);
  return JSON.parse(ran.stdout) as { cache: string; sum: number; filename: string; line: string };
}

async function caches(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.v8cache'));
}

async function moduleDir(t: ExecutionContext): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'slurpie-code-cache-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'mod.cjs');
  await writeFile(file, MODULE);
  return { dir, file };
}

test('no cache at first; one made at a clean exit is read back by the next process', async (t) => {
  t.timeout(60_000);
  const { dir, file } = await moduleDir(t);
  const first = await run(t, file, 'save');
  t.deepEqual(first, { cache: 'absent', sum: 5, filename: file, line: '4' });
  t.is((await caches(dir)).length, 1);
  const second = await run(t, file, 'save');
  t.deepEqual(second, { cache: 'accepted', sum: 5, filename: file, line: '4' }); // the same module, and its stack traces point at its own lines
  t.is((await caches(dir)).length, 1);
});

test('no cache without the caller asking, nor after a failed run', async (t) => {
  t.timeout(60_000);
  const { dir, file } = await moduleDir(t);
  t.is((await run(t, file, 'no')).cache, 'absent');
  t.is((await run(t, file, 'save', 3)).cache, 'absent');
  t.deepEqual(await caches(dir), []);
});

test('a cache V8 refuses is run without and replaced', async (t) => {
  t.timeout(60_000);
  const { dir, file } = await moduleDir(t);
  await run(t, file, 'save');
  const [name] = await caches(dir);
  await writeFile(join(dir, name as string), Buffer.alloc(4096, 7));
  t.is((await run(t, file, 'save')).cache, 'rejected');
  t.is((await run(t, file, 'save')).cache, 'accepted');
});

test('another build of the file never reads the cache of the last one', async (t) => {
  t.timeout(60_000);
  const { dir, file } = await moduleDir(t);
  await run(t, file, 'save');
  // The same length, other code: V8 itself checks only the length, so the name must differ.
  await writeFile(file, MODULE.replace('a + b', 'a * b'));
  await utimes(file, new Date(), new Date(Date.now() + 5000));
  const rebuilt = await run(t, file, 'save');
  t.is(rebuilt.cache, 'absent');
  t.is(rebuilt.sum, 6);
  t.is((await caches(dir)).length, 2);
});

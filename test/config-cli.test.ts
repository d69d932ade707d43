// Settings from outside the command line (issue #13): SLURPIE_* variables and a JSON config
// file, beneath the flags. Real `slurpie get` processes, a real Range server and topology server.
import test from 'ava';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { startTopologyServer } from '../topology-server/server.ts';
import { runSlurpie, scratch } from './fixtures/cli-run.ts';

const data = Buffer.alloc(300_000, 7);
const stats = async (file: string): Promise<{ mode: string; blockSize: number; ok: boolean }> => JSON.parse(await readFile(file, 'utf8'));

// None of the settings the tests set may leak in from the environment they run in.
const clean = { SLURPIE_TOPOLOGY: '', SLURPIE_BLOCK_SIZE: '', SLURPIE_PORT: '', SLURPIE_CONFIG: '' };

test.serial('SLURPIE_TOPOLOGY alone turns swarming on; a flag beats the environment', async (t) => {
  t.timeout(90_000);
  const source = await startSourceServer({ data, name: 'e.bin' });
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ port: 0 });
  t.teardown(() => topology.close());
  const dir = await scratch(t);
  const env = { ...clean, XDG_CONFIG_HOME: dir, SLURPIE_TOPOLOGY: topology.url, SLURPIE_BLOCK_SIZE: '128KiB' };
  const r = await runSlurpie(t, ['get', source.url, '-o', join(dir, 'e.bin'), '--stats-json', join(dir, 's.json'), '--no-progress', '--block-size', '64KiB'], env);
  t.is(r.code, 0, r.stderr);
  const s = await stats(join(dir, 's.json'));
  t.is(s.mode, 'swarm', 'SLURPIE_TOPOLOGY was taken');
  t.is(s.blockSize, 65536, '--block-size beats SLURPIE_BLOCK_SIZE');
});

test.serial('the default config file and --config are read; the environment beats the file', async (t) => {
  t.timeout(90_000);
  const source = await startSourceServer({ data, name: 'c.bin' });
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ port: 0 });
  t.teardown(() => topology.close());
  const dir = await scratch(t);
  await mkdir(join(dir, 'slurpie'));
  // $XDG_CONFIG_HOME/slurpie/config.json: a top-level setting and a "get" section.
  await writeFile(join(dir, 'slurpie', 'config.json'), JSON.stringify({ topology: topology.url, get: { 'block-size': '32KiB' } }));
  const first = await runSlurpie(t, ['get', source.url, '-o', join(dir, 'a.bin'), '--stats-json', join(dir, 'a.json'), '--no-progress'], { ...clean, XDG_CONFIG_HOME: dir });
  t.is(first.code, 0, first.stderr);
  t.like(await stats(join(dir, 'a.json')), { mode: 'swarm', blockSize: 32768 });
  // --config names another file, in place of the default one; SLURPIE_BLOCK_SIZE beats it.
  const other = join(dir, 'other.json');
  await writeFile(other, JSON.stringify({ blockSize: '16KiB' }));
  const second = await runSlurpie(t, ['get', source.url, '-o', join(dir, 'b.bin'), '--stats-json', join(dir, 'b.json'), '--no-progress', '--config', other], { ...clean, XDG_CONFIG_HOME: dir });
  t.is(second.code, 0, second.stderr);
  t.like(await stats(join(dir, 'b.json')), { mode: 'alone', blockSize: 16384 });
  const third = await runSlurpie(t, ['get', source.url, '-o', join(dir, 'c.bin'), '--stats-json', join(dir, 'c.json'), '--no-progress', '--config', other], {
    ...clean, XDG_CONFIG_HOME: dir, SLURPIE_BLOCK_SIZE: '128KiB',
  });
  t.is(third.code, 0, third.stderr);
  t.like(await stats(join(dir, 'c.json')), { blockSize: 131072 });
});

test.serial('a bad value from the environment or the file: exit 2, one line naming where it came from, nothing fetched or written', async (t) => {
  t.timeout(90_000);
  const source = await startSourceServer({ data, name: 'b.bin' });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  const work = join(dir, 'work');
  await mkdir(work);
  const env = await runSlurpie(t, ['get', source.url], { ...clean, XDG_CONFIG_HOME: dir, SLURPIE_PORT: 'eighty' }, work);
  t.is(env.code, 2, env.stderr);
  t.is(env.stderr, 'slurpie get: --port must be a whole number 0–65535, got "eighty" (from SLURPIE_PORT) (see slurpie get --help)\n');
  const bad = join(dir, 'bad.json');
  await writeFile(bad, JSON.stringify({ topology: 'notaurl' }));
  const file = await runSlurpie(t, ['get', source.url, '--config', bad], { ...clean, XDG_CONFIG_HOME: dir }, work);
  t.is(file.code, 2, file.stderr);
  t.regex(file.stderr, /^slurpie get: --topology must be the http\(s\) URL of a topology server, got "notaurl" \(from config file .*bad\.json\)/);
  t.is(file.stderr.trim().split('\n').length, 1);
  const typo = join(dir, 'typo.json');
  await writeFile(typo, JSON.stringify({ get: { topolgy: 'http://x' } }));
  const misspelt = await runSlurpie(t, ['get', source.url, '--config', typo], { ...clean, XDG_CONFIG_HOME: dir }, work);
  t.is(misspelt.code, 2, misspelt.stderr);
  t.regex(misspelt.stderr, /"get" has no setting "topolgy"/);
  t.is(source.stats().requests, 0, 'nothing was asked of the source');
  t.deepEqual(await readdir(work), [], 'nothing was written');
});

test.serial('--help tells of the environment variables and the config file', async (t) => {
  t.timeout(60_000);
  const r = await runSlurpie(t, ['get', '--help']);
  t.is(r.code, 0);
  t.regex(r.stdout, /SLURPIE_<FLAG>/);
  t.regex(r.stdout, /--config/);
  t.regex(r.stdout, /config\.json/);
});

// The fast path of `slurpie get` (bin/commands/get-fast.ts) against yargs: every command line it
// takes gives the handler what yargs gives it, and every one it cannot read exactly as yargs
// does is left to yargs (null). Pure: yargs parses in this process, files in a temp dir.
import test from 'ava';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { fastGetArgs } from '../bin/commands/get-fast.ts';
import { getBuilder } from '../bin/commands/get-args.ts';
import { envName } from '../bin/settings.ts';

// No settings from this machine reach either parser: no SLURPIE_<FLAG>, no config file.
const dir = mkdtempSync(join(tmpdir(), 'slurpie-get-fast-'));
for (const key of Object.keys(process.env)) if (key.startsWith('SLURPIE_') && key !== 'SLURPIE_SEED' && key !== 'SLURPIE_NO_BUILD') delete process.env[key];
process.env.XDG_CONFIG_HOME = join(dir, 'no-config');
const NONE = { XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME };
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const U = 'http://127.0.0.1:8080/file.bin';
const SHA = 'ab'.repeat(32);
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, 's3cret-token\n');

/** What yargs hands get's handler for `argv`, the flags by their camelCase names only. */
async function viaYargs(argv: string[]): Promise<Record<string, unknown>> {
  let got: Record<string, unknown> | undefined;
  await yargs(argv).command('get <url>', 'download', getBuilder, (a) => {
    got = a as unknown as Record<string, unknown>;
  }).strict().parseAsync();
  if (!got) throw new Error('yargs ran no handler');
  // yargs also sets each alias's own key (o, limitRate): the command reads the flag's.
  return Object.fromEntries(Object.entries(got).filter(([k, v]) => k.length > 1 && !k.includes('-') && k !== '$0' && k !== 'limitRate' && v !== undefined));
}

const accepted: string[][] = [
  ['get', U],
  ['get', U, '-o', 'out.bin', '-q', '--sha256', SHA, '--stats-json', 's.json', '--topology', 'http://127.0.0.1:7070'],
  ['get', '--port=8081', U, '--no-progress', '--block-size', '1MiB', '--linger', '2.5', '--source-k', '4', '--no-backoff', '--seed', '42',
    '-v', '--swarm-key', 'k', '-H', 'X-A: 1', '--header', 'X-B: 2', '--user-agent', 'ua/1', '--connect-timeout', '3', '--retry', '0',
    '--metrics-port', '0', '--metrics-host', '127.0.0.2', '--log-format', 'json', '-c', '--host', '127.0.0.1', '--swarm-secret', 'pw'],
  ['get', U, '-H', 'X-A: 1', '--output=o.bin', '--quiet', '--progress', '--backoff', '--verbose', '--continue'],
  ['get', U, '--topology-token-file', tokenFile, '--topology', 'http://127.0.0.1:7070', '--block-size=65536', '--log-format=plain'],
  ['get', U, '--param', 'updateIntervalMs=1000'],
  ['get', U, '--upload-limit', '2MB', '--linger', '5'],
  ['get', U, '--upload-limit=64KiB', '--block-size', '64KiB'],
  ['get', U, '--download-limit', '2MiB'], ['get', U, '--download-limit=600', '--upload-limit', '1MB'],
  ['get', U, '--param', 'eta=3', '--param=U=16', '--param', 'groupSize=paper'],
];

for (const argv of accepted) {
  test(`the same arguments as yargs: ${argv.slice(1).join(' ')}`, async (t) => {
    t.timeout(10_000);
    const fast = fastGetArgs(argv, NONE);
    t.not(fast, null);
    t.deepEqual({ ...fast }, await viaYargs(argv));
  });
}

const left: string[][] = [
  ['get'], ['seed', U], ['get', U, '--help'], ['get', U, '-h'], ['get', U, '--version'], ['get', U, 'http://127.0.0.1/other'],
  ['get', 'ftp://127.0.0.1/x'], ['get', U, '--port', 'abc'], ['get', U, '--sha256', 'abc'], ['get', U, '--log-format', 'xml'],
  ['get', U, '-qv'], ['get', U, '-o', '-'], ['get', U, '--', 'x'], ['get', U, '--quiet', 'false'], ['get', U, '--quiet=true'],
  ['get', U, '--output'], ['get', U, '--output', ''], ['get', U, '--bogus'], ['get', U, '--port', '1', '--port', '2'],
  ['get', U, '--no-progress', '--progress'], ['get', U, '--config', join(dir, 'c.json')], ['get', U, '--no-output', 'x'],
  ['get', U, '-H', 'no colon'], ['get', U, '--param', 'k=2'], ['get', U, '--param', 'eta'], ['get', U, '--param', 'eta=3', '--param', 'eta=4'], ['get', U, '--topology-token-file', join(dir, 'missing')], ['get', U, '--seed', '-5'],
  ['get', U, '--upload-limit', '100KiB'], ['get', U, '--upload-limit', 'fast'],
  ['get', U, '--limit-rate', '2MiB'], ['get', U, '--download-limit', '100'], ['get', U, '--download-limit', 'fast'],
];

for (const argv of left) {
  test(`left to yargs: ${JSON.stringify(argv.slice(1))}`, (t) => {
    t.is(fastGetArgs(argv, NONE), null);
  });
}

test('settings from outside the command line are left to yargs; SLURPIE_SEED is not one', (t) => {
  t.is(fastGetArgs(['get', U], { ...NONE, [envName('topology') as string]: 'http://127.0.0.1:7070' }), null);
  t.is(fastGetArgs(['get', U], { ...NONE, SLURPIE_BLOCK_SIZE: '1MiB' }), null);
  t.is(fastGetArgs(['get', U], { ...NONE, SLURPIE_LOG_FORMAT: 'json' }), null);
  t.is(fastGetArgs(['get', U], { ...NONE, SLURPIE_CONFIG: join(dir, 'c.json') }), null);
  t.not(fastGetArgs(['get', U], { ...NONE, SLURPIE_SEED: '5', SLURPIE_TOPOLOGY: '' }), null, 'an empty variable is unset');
  const home = join(dir, 'xdg');
  mkdirSync(join(home, 'slurpie'), { recursive: true });
  writeFileSync(join(home, 'slurpie', 'config.json'), '{}');
  t.is(fastGetArgs(['get', U], { ...NONE, XDG_CONFIG_HOME: home }), null, 'a config file is present');
});

// `slurpie experiment --peer-entry CLI.mjs`: slurpie's peers and topology server run another
// CLI build (say, an older commit's) in the same testbed, for before/after. Bad uses are one
// line and exit 2 (no root needed); the run itself needs the testbed (root, ip netns), a
// declared skip elsewhere.
import test from 'ava';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { testbedUnavailable } from '../experiments/testbed/netns.ts';
import { plainCli } from '../experiments/swarm/run-swarm.ts';
import { runSlurpie, scratch } from './fixtures/cli-run.ts';

const unavailable = await testbedUnavailable();
const rootTest = unavailable ? test.serial.skip : test.serial;
const why = unavailable ? ` (skipped: ${unavailable})` : '';

test('--peer-entry: a missing file, or with --hosts, is one line and exit 2', async (t) => {
  t.timeout(60_000);
  const dir = await scratch(t);
  const missing = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'slurpie', '--peer-entry', join(dir, 'no-such-cli.mjs')]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /^slurpie experiment: --peer-entry .*no-such-cli\.mjs: no such file \(see slurpie experiment --help\)\n$/);
  const hosts = join(dir, 'hosts');
  await writeFile(hosts, '127.0.0.1\n');
  const withHosts = await runSlurpie(t, ['experiment', 'tiny-4', '--hosts', hosts, '--bind', '127.0.0.1', '--peer-entry', hosts]);
  t.is(withHosts.code, 2);
  t.regex(withHosts.stderr, /^slurpie experiment: --peer-entry is for the testbed; .*\n$/);
});

rootTest(`--peer-entry: the topology server and every peer run that build, and the results say so${why}`, async (t) => {
  t.timeout(360_000);
  const out = await scratch(t);
  const { entry, dispose } = await plainCli();
  t.teardown(dispose);
  // A build that is this one, but leaves a line for each process it starts.
  const started = join(out, 'started.txt');
  const wrapper = join(out, 'other-build.mjs');
  await writeFile(wrapper, [
    "import { appendFileSync } from 'node:fs';",
    `appendFileSync(${JSON.stringify(started)}, process.argv[2] + '\\n');`,
    `await import(${JSON.stringify(pathToFileURL(entry).href)});`,
  ].join('\n'));
  const run = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'slurpie', '--peer-entry', wrapper, '--out', out, '--dir', join(out, 'scratch'), '--time-limit', '240']);
  t.is(run.code, 0, run.stderr);
  t.deepEqual((await readFile(started, 'utf8')).trim().split('\n').sort(), ['get', 'get', 'get', 'get', 'topology']);
  const stem = (await readdir(out)).find((f) => f.startsWith('tiny-4-') && f.endsWith('.json'))?.replace(/\.json$/, '') ?? '';
  const res = JSON.parse(await readFile(join(out, `${stem}.json`), 'utf8'));
  t.is(res.slurpieEntry, wrapper);
  t.is(res.systems[0].finished, 4);
  t.regex(await readFile(join(out, `${stem}.md`), 'utf8'), /slurpie's peers and topology server ran .*other-build\.mjs \(--peer-entry\), not this build\./);
});

// `slurpie experiment --peer-entry CLI.mjs`: slurpie's peers and topology server run another
// CLI build (say, an older commit's) in the same testbed, for before/after; `--peer-entry-b`
// runs every other peer from a second build, an A/B in one swarm; `--param-b` gives those peers
// protocol parameters of their own, an A/B of parameters. Bad uses are one line and
// exit 2 (no root needed); the run itself needs the testbed (root, ip netns), a declared skip
// elsewhere.
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

test('--peer-entry(-b): a missing file, or with --hosts, is one line and exit 2', async (t) => {
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
  const missingB = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'slurpie', '--peer-entry-b', join(dir, 'no-such-b.mjs')]);
  t.is(missingB.code, 2);
  t.regex(missingB.stderr, /^slurpie experiment: --peer-entry-b .*no-such-b\.mjs: no such file \(see slurpie experiment --help\)\n$/);
  const paramBHosts = await runSlurpie(t, ['experiment', 'tiny-4', '--hosts', hosts, '--bind', '127.0.0.1', '--param-b', 'eta=3']);
  t.is(paramBHosts.code, 2);
  t.regex(paramBHosts.stderr, /^slurpie experiment: --param-b is for the testbed; .*\n$/);
  const badB = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'slurpie', '--param-b', 'U=1']);
  t.is(badB.code, 2);
  t.regex(badB.stderr, /^slurpie experiment: --param-b: parameter U must be at least eta \(U > η in the paper\) \(see slurpie experiment --help\)\n$/);
  // Each set is checked alone and then with the other peers' (--param's): here only together is U < eta.
  const clash = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'slurpie', '--param', 'U=8', '--param-b', 'eta=9']);
  t.is(clash.code, 2);
  t.regex(clash.stderr, /^slurpie experiment: --param-b with the other peers' params: parameter U must be at least eta \(U > η in the paper\) \(see slurpie experiment --help\)\n$/);
});

rootTest(`--peer-entry, --peer-entry-b and --param-b: the topology server and every peer run the build and parameters they are given, and the results say which${why}`, async (t) => {
  t.timeout(360_000);
  const out = await scratch(t);
  const { entry, dispose } = await plainCli();
  t.teardown(dispose);
  // Two builds that are this one, but leave a line for each process they start.
  const started = join(out, 'started.txt');
  const build = async (name: string): Promise<string> => {
    const wrapper = join(out, `build-${name}.mjs`);
    await writeFile(wrapper, [
      "import { appendFileSync } from 'node:fs';",
      "const param = process.argv.indexOf('--param');",
      `appendFileSync(${JSON.stringify(started)}, [${JSON.stringify(name)}, process.argv[2], process.argv[param + 1]].slice(0, param < 0 ? 2 : 3).join(' ') + '\\n');`,
      `await import(${JSON.stringify(pathToFileURL(entry).href)});`,
    ].join('\n'));
    return wrapper;
  };
  const [a, b] = [await build('a'), await build('b')];
  const run = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'slurpie', '--peer-entry', a, '--peer-entry-b', b, '--param-b', 'digestEveryMs=1000000000', '--out', out, '--dir', join(out, 'scratch'), '--time-limit', '240']);
  t.is(run.code, 0, run.stderr);
  t.deepEqual((await readFile(started, 'utf8')).trim().split('\n').sort(), ['a get', 'a get', 'a topology', 'b get digestEveryMs=1000000000', 'b get digestEveryMs=1000000000']);
  const stem = (await readdir(out)).find((f) => f.startsWith('tiny-4-') && f.endsWith('.json'))?.replace(/\.json$/, '') ?? '';
  const res = JSON.parse(await readFile(join(out, `${stem}.json`), 'utf8'));
  t.is(res.slurpieEntry, a);
  t.is(res.slurpieEntryB, b);
  t.deepEqual(res.slurpieParamsB, { digestEveryMs: 1e9 });
  const [slurpieRun] = res.systems;
  t.is(slurpieRun.finished, 4);
  t.deepEqual(slurpieRun.perPeer.map((p: { build?: string }) => p.build), ['a', 'b', 'a', 'b'], 'every other peer, by index');
  // b's parameters took: its peers sent at most one DIGESTS per connection.
  for (const p of slurpieRun.perPeer.filter((peer: { build: string }) => peer.build === 'b')) {
    t.true(p.messages.sent.DIGESTS <= p.messages.sent.HELLO, `${p.id}: ${JSON.stringify(p.messages.sent)}`);
  }
  const md = await readFile(join(out, `${stem}.md`), 'utf8');
  t.regex(md, /slurpie's peers and topology server ran .*build-a\.mjs \(--peer-entry\), not this build\./);
  t.regex(md, /Every other slurpie peer \(build b\) ran .*build-b\.mjs \(--peer-entry-b\)\./);
  t.regex(md, /Every other slurpie peer \(build b\) ran with the protocol parameters digestEveryMs 1000000000 \(--param-b\)\./);
  t.regex(md, /; by build, in all: a [\d,]+, b [\d,]+\n/);
  t.regex(md, /By build, in the same swarm \(every other peer is b\): a [\d.]+ \(2 peers\), b [\d.]+ \(2 peers\) CPU-ms per MiB moved after start-up, b \/ a [\d.]+;/);
});

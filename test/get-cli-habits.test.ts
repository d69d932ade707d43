// `slurpie get` with the habits of curl, wget and aria2 (issue #13): usage errors, honest
// integrity wording, reruns that fetch nothing, plain progress off a terminal, -q, -c and -v.
// Serial: every test starts `slurpie` processes, and a burst of start-ups starves a small machine.
import test from 'ava';
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { startTopologyServer } from '../topology-server/server.ts';
import { runSlurpie, scratch } from './fixtures/cli-run.ts';
import { expectUsageErrors } from './fixtures/usage-errors.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const lastLine = (text: string): string => text.trimEnd().split('\n').pop() ?? '';

test.serial('every bad flag: exit 2, one line in one style, no file, no request to the source', async (t) => {
  t.timeout(120_000);
  const source = await startSourceServer({ data: Buffer.alloc(100_000, 7), name: 'u.bin' });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  const url = source.url;
  // [args after `get`, what the line must name]
  const cases: [string[], RegExp][] = [
    [[url, '--topology'], /--topology needs a value, got nothing/],
    [[url, '--topology', 'notaurl'], /--topology must be .*, got "notaurl"/],
    [[url, '--topology', 'ftp://127.0.0.1:7070'], /--topology .*, got "ftp:/],
    [['notaurl'], /URL to download .*, got "notaurl"/],
    [['ftp://127.0.0.1/x'], /URL to download .*, got "ftp:/],
    [[], /URL to download is needed, got nothing/],
    [[url, '-o'], /-o needs a value, got nothing/],
    [[url, '--sha256', 'xyz'], /--sha256 must be 64 hex digits, got "xyz"/],
    [[url, '--sha256'], /--sha256 needs a value/],
    [[url, '--port', '70000'], /--port .*, got "70000"/],
    [[url, '--port', 'x'], /--port .*, got "x"/],
    [[url, '--linger', '-1'], /--linger .*, got "-1"/],
    [[url, '--source-k', '0'], /--source-k .*, got "0"/],
    [[url, '--seed', '1.5'], /--seed .*, got "1.5"/],
    [[url, '--block-size', '12Q'], /--block-size .*, got "12Q"/],
    [[url, '--stats-json'], /--stats-json needs a value/],
    [[url, '--swarm-secret='], /--swarm-secret must not be empty/],
    [[url, '--topology-token-file', join(dir, 'missing')], /--topology-token-file .*ENOENT.*, got ".*missing"/],
    [[url, '--bogus'], /unknown flag .*, got bogus/],
  ];
  await expectUsageErrors(t, dir, cases);
  t.deepEqual(await readdir(dir), [], 'no file created (no .part, no sidecar, no stats)');
  t.is(source.stats().requests, 0, 'nothing reached the source');
});

test.serial('integrity is worded as it was: --sha256, a published URL.sha256, or not verified at all', async (t) => {
  t.timeout(90_000);
  const data = Buffer.alloc(200_000, 3);
  const bare = await startSourceServer({ data, name: 'bare.bin' });
  t.teardown(() => bare.close());
  const published = await startSourceServer({ data, name: 'pub.bin', sha256File: true });
  t.teardown(() => published.close());
  const dir = await scratch(t);
  const run = async (url: string, name: string, extra: string[] = []): Promise<{ line: string; integrity: string }> => {
    const r = await runSlurpie(t, ['get', url, '-o', join(dir, name), '--no-progress', '--stats-json', join(dir, `${name}.json`), ...extra]);
    t.is(r.code, 0, r.stderr);
    return { line: lastLine(r.stdout), integrity: JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')).integrity };
  };
  const none = await run(bare.url, 'a.bin');
  t.regex(none.line, /not verified \(no sha256 given or published\)$/);
  t.notRegex(none.line.replace('not verified', ''), /verified/, 'no "verified" without a digest');
  t.is(none.integrity, 'none');
  const flag = await run(bare.url, 'b.bin', ['--sha256', sha(data)]);
  t.regex(flag.line, /sha256 [0-9a-f]{16}… verified \(--sha256\)$/);
  t.is(flag.integrity, 'sha256');
  const sidecar = await run(published.url, 'c.bin');
  t.regex(sidecar.line, /verified \(published sha256\)$/);
  t.notRegex(sidecar.line, /not verified/);
  t.is(sidecar.integrity, 'published');
});

test.serial('a rerun on a complete file fetches nothing; a different file in the way is refused and left as it was', async (t) => {
  t.timeout(120_000);
  const data = Buffer.alloc(700_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 9)) & 0xff;
  const source = await startSourceServer({ data, name: 'done.bin' });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  const out = join(dir, 'done.bin');
  const get = (extra: string[]): ReturnType<typeof runSlurpie> =>
    runSlurpie(t, ['get', source.url, '-o', out, '--no-progress', '--block-size', '64KiB', '--stats-json', join(dir, 's.json'), ...extra]);
  const first = await get(['--sha256', sha(data)]);
  t.is(first.code, 0, first.stderr);
  t.is(source.stats().bytesSent, data.length);

  // Complete and verified: exit 0, reported as such, not a byte of the body sent again.
  for (const extra of [['--sha256', sha(data)], []]) {
    const again = await get(extra);
    t.is(again.code, 0, again.stderr);
    t.regex(lastLine(again.stdout), /already complete, .*nothing fetched/);
    t.regex(lastLine(again.stdout), extra.length > 0 ? / verified \(--sha256\)$/ : /not verified \(no sha256 given or published\)$/);
    const stats = JSON.parse(await readFile(join(dir, 's.json'), 'utf8'));
    t.is(stats.mode, 'already-complete');
    t.is(stats.fromSource, 0);
    t.is(source.stats().bytesSent, data.length, 'the rerun fetched no body bytes');
  }
  t.deepEqual((await readdir(dir)).sort(), ['done.bin', 's.json'], 'no .part made');

  // The right size but other bytes, with a digest to tell: refused (exit 2), never overwritten.
  const other = Buffer.from(data).fill(9, 0, 1000);
  await writeFile(out, other);
  const wrong = await get(['--sha256', sha(data)]);
  t.is(wrong.code, 2, wrong.stderr);
  t.regex(wrong.stderr, /^slurpie: .*done\.bin already exists and its sha256 is .* left as it is/m);
  t.is(sha(await readFile(out)), sha(other), 'the file in the way is untouched');
  // Another size: refused the same way, with or without a digest.
  await writeFile(out, 'a note the user keeps here\n');
  const small = await get([]);
  t.is(small.code, 2, small.stderr);
  t.regex(small.stderr, /already exists and is 27 bytes, the source's file 700000/);
  t.is(await readFile(out, 'utf8'), 'a note the user keeps here\n');
  t.false((await readdir(dir)).some((f) => f.includes('.part')), 'no .part made');
  t.is(source.stats().bytesSent, data.length, 'no body bytes for a refused rerun either');
});

test.serial('off a terminal: a plain progress line every 5 s on stderr, no escape codes', async (t) => {
  t.timeout(90_000);
  // 1.2 MiB at 150 KiB/s: about 8 s, so at least one 5-second line whatever the machine.
  const data = Buffer.alloc(1200 * 1024, 5);
  const source = await startSourceServer({ data, name: 'slow.bin', rate: 150 * 1024 });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  const r = await runSlurpie(t, ['get', source.url, '-o', join(dir, 'slow.bin'), '--sha256', sha(data)]);
  t.is(r.code, 0, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l.includes('% '));
  t.true(lines.length >= 1, r.stderr);
  for (const line of lines) {
    t.regex(line, /^slurpie: \d+% \d+\.\d\/1\.2 MiB, \d+\.\d MiB\/s, \d+ peers, \d+% from the source, ETA (\d+ s|\d+ min \d+ s|unknown)$/);
  }
  t.false(r.stderr.includes('\x1b'), 'no escape codes');
  t.log(lines.join('\n'));
});

test.serial('-q: nothing but errors (no notes, no progress, no final line); the error still shows', async (t) => {
  t.timeout(60_000);
  const data = Buffer.alloc(200_000, 8);
  const source = await startSourceServer({ data, name: 'q.bin' });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  // No digest anywhere: without -q that is a note on stderr.
  const quiet = await runSlurpie(t, ['get', source.url, '-o', join(dir, 'q.bin'), '-q', '--stats-json', join(dir, 's.json')]);
  t.is(quiet.code, 0, quiet.stderr);
  t.is(quiet.stdout, '');
  t.is(quiet.stderr, '');
  t.is(sha(await readFile(join(dir, 'q.bin'))), sha(data));
  t.is(JSON.parse(await readFile(join(dir, 's.json'), 'utf8')).integrity, 'none', 'stats still written');
  const missing = await runSlurpie(t, ['get', new URL('/nope.bin', source.url).toString(), '-o', join(dir, 'n.bin'), '--quiet']);
  t.is(missing.code, 3);
  t.is(missing.stdout, '');
  t.regex(missing.stderr, /^slurpie: .*404/);
});

test.serial('-c/--continue is accepted (resuming is the default) and documented in --help', async (t) => {
  t.timeout(60_000);
  const data = Buffer.alloc(150_000, 4);
  const source = await startSourceServer({ data, name: 'c.bin' });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  for (const flag of ['-c', '--continue']) {
    const r = await runSlurpie(t, ['get', source.url, flag, '-o', join(dir, `${flag}.bin`), '--no-progress', '--sha256', sha(data)]);
    t.is(r.code, 0, r.stderr);
    t.is(sha(await readFile(join(dir, `${flag}.bin`))), sha(data));
  }
  const help = await runSlurpie(t, ['get', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /-c, --continue/);
  t.regex(help.stdout, /-q, --quiet/);
});

test.serial('-v: the protocol\'s events on stderr (the topology\'s answer, the source\'s lease and GETs, the end); without it none', async (t) => {
  t.timeout(60_000);
  const data = Buffer.alloc(1_000_000, 6);
  const source = await startSourceServer({ data, name: 'v.bin' });
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ port: 0 });
  t.teardown(() => topology.close());
  const dir = await scratch(t);
  const env = { SLURPIE_CONFIG: '', XDG_CONFIG_HOME: '/nonexistent' };
  const verbose = await runSlurpie(t, ['get', source.url, '--topology', topology.url, '-o', join(dir, 'v.bin'), '-v', '--no-progress', '--log-format', 'plain'], env);
  t.is(verbose.code, 0, verbose.stderr);
  t.regex(verbose.stderr, /^slurpie: topology: no one else named, 1 in the swarm$/m);
  t.regex(verbose.stderr, /^slurpie: source: won a lease \(n ≈ 1\), GET (block \d+|blocks \d+-\d+)$/m);
  t.regex(verbose.stderr, /^slurpie: source: (block \d+|blocks \d+-\d+) in \d+\.\d\d s( \(\d+\.\d MiB\/s\))?$/m, 'how long a GET took');
  t.regex(verbose.stderr, /^slurpie: every block stored: 0% from peers, 100% from the source$/m);
  const plain = await runSlurpie(t, ['get', source.url, '--topology', topology.url, '-o', join(dir, 'p.bin'), '--no-progress', '--log-format', 'plain'], env);
  t.is(plain.code, 0, plain.stderr);
  t.notRegex(plain.stderr, /topology:|source:|every block stored/);
  t.is(sha(await readFile(join(dir, 'v.bin'))), sha(data));
});

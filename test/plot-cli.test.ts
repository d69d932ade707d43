// `slurpie plot` as a process: it lists the files it wrote, and refuses bad input with one line
// and exit 2 before writing anything.
import test from 'ava';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertUsageError, runSlurpie, scratch } from './fixtures/cli-run.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'results');
const USAGE_LINE = /^slurpie plot: .+ \(see slurpie plot --help\)$/;

test.serial('plots written into --out, listed on stdout one a line', async (t) => {
  t.timeout(120_000);
  const dir = await scratch(t);
  const out = join(dir, 'plots');
  const r = await runSlurpie(t, ['plot', join(FIXTURES, 'synthetic-48.json'), '--out', out]);
  t.is(r.code, 0, r.stderr);
  const listed = r.stdout.trimEnd().split('\n');
  t.deepEqual(listed, ['synthetic-48-cdf', 'backoff-ablation', 'sim-vs-testbed'].flatMap((n) => [join(out, `${n}.png`), join(out, `${n}.svg`)]));
  t.deepEqual((await readdir(out)).sort(), listed.map((p) => p.slice(out.length + 1)).sort());
});

test.serial('bad input: exit 2, one line, nothing written', async (t) => {
  t.timeout(120_000);
  const dir = await scratch(t);
  const out = join(dir, 'plots');
  const wrong = join(dir, 'wrong.json');
  await writeFile(wrong, '{"peers": 3}');
  const cases: [string[], RegExp][] = [
    [['plot', join(dir, 'missing.json'), '--out', out], /cannot read results file .*missing\.json: no such file/],
    [['plot', wrong, '--out', out], /wrong\.json: is neither an experiment result .*, got keys \["peers"\]/],
    [['plot', join(FIXTURES, 'synthetic-48.json'), wrong, '--out', out], /wrong\.json: is neither/],
    [['plot'], /a results JSON file is needed, got nothing/],
  ];
  for (const [args, what] of cases) {
    const r = await runSlurpie(t, args);
    assertUsageError(t, r, args.join(' '), USAGE_LINE, what);
  }
  t.deepEqual(await readdir(dir), ['wrong.json'], 'no --out directory created');
});

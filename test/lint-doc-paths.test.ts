// The README and the notebooks in docs/ name files of this repository (results, plots, sources,
// other notes) for the reader to open. Text moves between them and files get renamed: every
// such path must still exist. Paths outside the repository (`../shared/docs/…`) are not checked.
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOP = ['docs', 'experiments', 'peer', 'estimation', 'topology-server', 'bin', 'test'];
// A top-level folder, then a file with one of these extensions; not preceded by a path
// character, so `../shared/docs/PROTOCOL.md` is not read as `docs/PROTOCOL.md`.
const PATH = new RegExp(`(?<![\\w./-])(?:${TOP.join('|')})/[\\w./-]+\\.(?:md|png|svg|json|ts|mjs|js|patch|sh)\\b`, 'g');

/** The repository paths `text` names. */
function namedPaths(text: string): string[] {
  return [...new Set(text.match(PATH) ?? [])];
}

test('the path pattern: repository paths found, paths outside it and mid-word matches not', (t) => {
  t.deepEqual(namedPaths('see `docs/results/lan-48.json` and [notes](docs/peer-cost-notes.md).'), ['docs/results/lan-48.json', 'docs/peer-cost-notes.md']);
  t.deepEqual(namedPaths('`../shared/docs/PROTOCOL.md`, /tmp/peer/x.ts, foo-docs/a.md'), []);
  t.deepEqual(namedPaths('(`experiments/sim/cpu.ts`; `peer/core/params.ts`)'), ['experiments/sim/cpu.ts', 'peer/core/params.ts']);
});

test('every repository path the README and docs/*.md name exists', (t) => {
  const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const missing: string[] = [];
  let checked = 0;
  for (const doc of docs) {
    for (const path of namedPaths(readFileSync(join(ROOT, doc), 'utf8'))) {
      checked++;
      if (!existsSync(join(ROOT, path))) missing.push(`${doc}: ${path}`);
    }
  }
  t.true(checked > 50, `paths checked: ${checked}`);
  t.deepEqual(missing, []);
});

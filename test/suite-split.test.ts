// Every test file runs in exactly one suite (ava.config.js): a new file that is in neither
// would silently never run under `npm test`.
import test from 'ava';
import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Suite {
  prefixes: string[];
  files: string[];
}

interface SuiteModule {
  UNIT: Suite;
  INTEGRATION: Suite;
  inSuite: (suite: Suite, name: string) => boolean;
}

test('each test/*.test.ts is in exactly one of the unit and integration suites', async (t) => {
  const { UNIT, INTEGRATION, inSuite } = (await import(pathToFileURL(`${ROOT}ava.config.js`).href)) as SuiteModule;
  const names = (await readdir(`${ROOT}test`)).filter((f) => f.endsWith('.test.ts'));
  t.true(names.length > 10, `found ${names.length} test files`);
  for (const name of names) {
    const unit = inSuite(UNIT, name);
    const integration = inSuite(INTEGRATION, name);
    t.true(unit !== integration, `${name}: ${unit ? 'in both suites' : 'in neither suite'}; classify it in ava.config.js`);
  }
  // And every name listed there still exists (a renamed file would drop out unnoticed).
  for (const listed of [...UNIT.files, ...INTEGRATION.files]) {
    t.true(names.includes(`${listed}.test.ts`), `ava.config.js lists test/${listed}.test.ts, which does not exist`);
  }
});

test('the suite check itself can tell the suites apart', async (t) => {
  const { UNIT, INTEGRATION, inSuite } = (await import(pathToFileURL(`${ROOT}ava.config.js`).href)) as SuiteModule;
  t.true(inSuite(UNIT, 'core-anything-new.test.ts'));
  t.false(inSuite(INTEGRATION, 'core-anything-new.test.ts'));
  t.true(inSuite(INTEGRATION, 'swarm.test.ts'));
  t.false(inSuite(UNIT, 'swarm.test.ts'));
  t.false(inSuite(UNIT, 'swarm-extra.test.ts') || inSuite(INTEGRATION, 'swarm-extra.test.ts'));
});

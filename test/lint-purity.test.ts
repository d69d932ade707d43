// DESIGN.md: peer/core and estimation are sans-IO. eslint.config.js enforces it; these tests
// prove its rules fire there (and only there) for each kind of escape, with a reason.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const eslint = new ESLint({ cwd: ROOT });

const PURITY_RULES = new Set([
  '@typescript-eslint/no-restricted-imports',
  'no-restricted-globals',
  'no-restricted-properties',
  'no-restricted-syntax',
]);

/** Each escape, the rule that must catch it, and what its message must say. */
const ESCAPES: [string, string, string, RegExp][] = [
  ['a node: import', "import { readFile } from 'node:fs';\nexport const f = readFile;\n", '@typescript-eslint/no-restricted-imports', /node: modules/],
  ['a bare builtin', "import { createServer } from 'net';\nexport const f = createServer;\n", '@typescript-eslint/no-restricted-imports', /Node builtins/],
  ['a bare builtin subpath', "import { setTimeout as sleep } from 'timers/promises';\nexport const f = sleep;\n", '@typescript-eslint/no-restricted-imports', /Node builtins/],
  ['a type-only node: import', "import type { Socket } from 'node:net';\nexport type S = Socket;\n", '@typescript-eslint/no-restricted-imports', /node: modules/],
  ['ws', "import { WebSocket } from 'ws';\nexport const W = WebSocket;\n", '@typescript-eslint/no-restricted-imports', /sockets or HTTP/],
  ['undici', "import { Pool } from 'undici';\nexport const P = Pool;\n", '@typescript-eslint/no-restricted-imports', /sockets or HTTP/],
  ['Date.now()', 'export const now = Date.now();\n', 'no-restricted-globals', /wall clock/],
  ['new Date()', 'export const now = new Date();\n', 'no-restricted-globals', /wall clock/],
  ['performance.now()', 'export const now = performance.now();\n', 'no-restricted-globals', /no clock/],
  ['Math.random()', 'export const r = Math.random();\n', 'no-restricted-properties', /seeded Rng/],
  ['setTimeout(...)', 'setTimeout(() => {}, 10);\n', 'no-restricted-globals', /no timers/],
  ['setInterval(...)', 'export const h = setInterval(() => {}, 10);\n', 'no-restricted-globals', /no timers/],
  ['setImmediate(...)', 'setImmediate(() => {});\n', 'no-restricted-globals', /no timers/],
  ['queueMicrotask(...)', 'queueMicrotask(() => {});\n', 'no-restricted-globals', /no scheduling/],
  ['process.env', "export const v = process.env['X'];\n", 'no-restricted-globals', /no process state/],
  ['crypto.randomUUID()', 'export const id = crypto.randomUUID();\n', 'no-restricted-globals', /seeded RNG/],
  ['globalThis.setTimeout', 'export const f = globalThis.setTimeout;\n', 'no-restricted-properties', /no timers/],
  ['a dynamic import', "export const m = await import('node:fs');\n", 'no-restricted-syntax', /dynamic import/],
];

const PURE_FILES = ['peer/core/x.ts', 'estimation/x.ts', 'peer/core/deeper/y.ts'];

async function lint(code: string, filePath: string): Promise<{ ruleId: string | null; message: string }[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result?.messages.map((m) => ({ ruleId: m.ruleId, message: m.message })) ?? [];
}

for (const [what, code, rule, says] of ESCAPES) {
  test(`${what} is refused in peer/core and estimation, with the reason`, async (t) => {
    for (const filePath of PURE_FILES) {
      const messages = await lint(code, filePath);
      const hit = messages.find((m) => m.ruleId === rule);
      t.truthy(hit, `${filePath}: expected ${rule}, got ${JSON.stringify(messages)}`);
      t.regex(hit?.message ?? '', says, filePath);
      t.regex(hit?.message ?? '', /sans-IO/, `${filePath}: the message says why`);
    }
  });

  test(`${what} is allowed in peer/node`, async (t) => {
    const messages = await lint(code, 'peer/node/x.ts');
    t.deepEqual(messages.filter((m) => m.ruleId !== null && PURITY_RULES.has(m.ruleId)), [], JSON.stringify(messages));
    t.deepEqual(messages.filter((m) => m.ruleId === null), [], 'it parses');
  });
}

test('ordinary core code (time and randomness as parameters) passes', async (t) => {
  const code = [
    "import type { Rng } from '../../estimation/random.ts';",
    'export function due(now: number, deadline: number, rng: Rng): boolean {',
    '  const date = { now };',
    '  return date.now >= deadline && rng.next() < 0.5;',
    '}',
    '',
  ].join('\n');
  for (const filePath of PURE_FILES) t.deepEqual(await lint(code, filePath), [], filePath);
});

test('today\'s peer/core and estimation are pure', async (t) => {
  const results = await eslint.lintFiles(['peer/core', 'estimation']);
  t.true(results.length >= 10, `linted ${results.length} files`);
  const found = results.flatMap((r) =>
    r.messages.filter((m) => m.ruleId !== null && PURITY_RULES.has(m.ruleId)).map((m) => `${r.filePath}:${m.line}: ${m.message}`),
  );
  t.deepEqual(found, []);
});

// `npm run lint`: ESLint 9 flat config over the TypeScript tree.
//
// Two layers:
// 1. A general rule set for every .ts file: @eslint/js and typescript-eslint `recommended`
//    (syntax-only, not type-checked: a type-checked run would build the whole program
//    again on top of `tsc --noEmit`, too slow for a 2-core machine).
// 2. DESIGN.md's purity rule for peer/core and estimation: they are sans-IO. They import no
//    node: module (nor a bare builtin such as fs or net), no ws/express/undici, and never
//    read the clock, set a timer or draw from Math.random: time (`now`) and a seeded RNG
//    are parameters, so the real node, the simulator and the scripted tests drive the very
//    same code. test/lint-purity.test.ts proves these rules fire.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const PURE = ['peer/core/**/*.ts', 'estimation/**/*.ts'];

const WHY = 'peer/core and estimation are sans-IO (DESIGN.md): the node, the simulator and the tests all drive them';
const TIME = `${WHY}; time is the \`now\` parameter, timers are deadlines the driver keeps (nextDeadline)`;

const bareBuiltins = builtinModules.filter((m) => !m.startsWith('_'));
const forbiddenImports = [
  { group: ['node:*'], message: `no node: modules here: ${WHY}, and only peer/node touches the world.` },
  { group: bareBuiltins.flatMap((m) => [m, `${m}/*`]), message: `no Node builtins here: ${WHY}, and only peer/node touches the world.` },
  {
    group: ['ws', 'ws/*', 'express', 'express/*', 'undici', 'undici/*'],
    message: `no sockets or HTTP here: ${WHY}; peer/node owns ws, undici and the servers.`,
  },
];

const forbiddenGlobals = [
  ['Date', `no wall clock: ${TIME}.`],
  ['performance', `no clock: ${TIME}.`],
  ['setTimeout', `no timers: ${TIME}.`],
  ['setInterval', `no timers: ${TIME}.`],
  ['setImmediate', `no timers: ${TIME}.`],
  ['clearTimeout', `no timers: ${TIME}.`],
  ['clearInterval', `no timers: ${TIME}.`],
  ['clearImmediate', `no timers: ${TIME}.`],
  ['queueMicrotask', `no scheduling: ${WHY}; the core returns actions, the driver runs them.`],
  ['process', `no process state (env, argv, exit): ${WHY}; configuration comes in as parameters.`],
  ['crypto', `no global crypto (random ids, digests): ${WHY}; randomness is the seeded RNG parameter (estimation/random.ts).`],
  ['fetch', `no HTTP: ${WHY}; the source client lives in peer/node.`],
];

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', '**/*.js'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    rules: {
      // A leading underscore says "unused on purpose" (express's 4-argument error handler in
      // topology-server/app.ts, `_wall` in test/sim-swarm.test.ts).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Sanitizers strip control characters from peer- and server-supplied text on purpose.
      'no-control-regex': 'off',
    },
  },
  // One unused local (`to` in send()); the simulator is being split on another branch: fix it there, then drop this.
  {
    files: PURE,
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: forbiddenImports }],
      'no-restricted-globals': ['error', ...forbiddenGlobals.map(([name, message]) => ({ name, message }))],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: `no Math.random: ${WHY}; draw from the seeded Rng parameter (estimation/random.ts) so a seed replays a run.` },
        ...forbiddenGlobals.map(([property, message]) => ({ object: 'globalThis', property, message })),
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression', message: `no dynamic import: ${WHY}; what the core needs is imported statically from peer/core or estimation.` },
        { selector: "CallExpression[callee.name='require']", message: `no require: ${WHY}.` },
      ],
    },
  },
);

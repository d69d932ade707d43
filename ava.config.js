// The test suites (issue #9), in one place. Every test/*.test.ts belongs to exactly one;
// test/suite-split.test.ts fails when a file is in neither or both.
//
// unit         no processes, no sockets, no servers: pure modules, the scripted core, the
//              simulator, the codec, and files in a temp dir. `npm run test:unit`, < 60 s.
// integration  real processes and sockets on 127.0.0.1 (port 0). `npm run test:integration`.
//
// Naming a new test file: one of the unit prefixes below makes it unit with no edit here
// (those modules are pure, so their tests are too); anything else goes by name into UNIT
// or INTEGRATION. The rule: a file that spawns a process, opens a socket or starts a
// server (even an in-process HTTP server on port 0) is integration.
//
// `npx ava` with this file runs both suites; `ava --config ava.unit.config.js` or
// `ava.integration.config.js` one of them.

export const UNIT = {
  prefixes: ['core-', 'estimation-', 'wire-', 'sim-', 'lint-'],
  files: ['cli-plain-progress', 'get-fast', 'experiment-delay', 'topology-registry', 'topology-limits', 'storage-prefix-hash', 'storage-part-file', 'storage-journal', 'source-token-bucket', 'suite-split', 'http-options', 'errors-wrap', 'topology-dashboard-model', 'plot-render', 'scenario-file', 'in-order-stream', 'block-pool', 'serve-queue', 'gc-pacer', 'smaps-breakdown', 'usage-text', 'cli-units', 'results-lines', 'results-runs', 'results-source-link', 'child-env', 'launch-gate', 'message-counts'],
};

export const INTEGRATION = {
  prefixes: [],
  files: [
    'source-client', 'http-direct', 'source-server', 'topology-api', 'topology-client', 'topology-cli', 'topology-trust', 'topology-progress', 'topology-metrics', 'topology-redis', 'docker-topology', 'get-cli', 'get-cli-habits', 'get-source-overlap', 'swarm',
    'storage-crash', 'storage-disk-full', 'faults', 'private-swarm', 'package', 'signed-links', 'source-proxy', 'get-cli-http', 'proxy', 'get-stdout',
    'library-api', 'seed-cli', 'get-download-limit', 'baseline-download-limits', 'config-cli', 'demo-dir', 'log-format', 'launcher-ssh', 'topology-dashboard', 'topology-dashboard-api', 'peer-metrics', 'plot-cli', 'experiment-testbed', 'experiment-peer-entry', 'experiment-latency', 'cli-sim-rerun', 'cli-sim-flags', 'delivery', 'code-cache',
  ],
};

/** True if `name` (a file name such as "core-peer.test.ts") is in `suite`. */
export function inSuite(suite, name) {
  const stem = name.replace(/\.test\.ts$/, '');
  return suite.prefixes.some((p) => stem.startsWith(p)) || suite.files.includes(stem);
}

function globs(suite) {
  return [...suite.prefixes.map((p) => `test/${p}*.test.ts`), ...suite.files.map((f) => `test/${f}.test.ts`)];
}

/** The ava settings every suite shares: TypeScript through tsx, child processes (not worker threads), a default timeout. */
export function suiteConfig(suites, extra = {}) {
  return {
    files: suites.flatMap(globs),
    extensions: { ts: 'module' },
    nodeArguments: ['--import=tsx'],
    workerThreads: false,
    timeout: '60s',
    ...extra,
  };
}

export default suiteConfig([UNIT, INTEGRATION]);

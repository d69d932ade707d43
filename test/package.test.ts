// The npm package (issue #13): `npm pack`, the tarball installed into a fresh project with no
// access to this checkout, then used the three documented ways: the library from plain
// JavaScript, its types from a strict TypeScript project, and the `slurpie` command.
//
// No registry: the fresh project installs offline from npm's cache, with the dependency
// versions of this checkout's lockfile (fixtures/consumer-project.ts says why and how).
import test from 'ava';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installConsumer, pack, ROOT, run, writeConsumer } from './fixtures/consumer-project.ts';

// Plain JavaScript: every name the library documents, then a real download through them
// (a source and a topology server on port 0, one peer), as README "As a library" shows.
const JS_CHECK = `
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as slurpie from 'slurpie';

const data = new Uint8Array(700_000).map((_, i) => (i * 31 + (i >> 9)) & 255);
const source = await slurpie.startSourceServer({ data, name: 'file.bin', port: 0, rate: 1_000_000 }); // ~0.7 s: onProgress runs
const topology = await slurpie.startTopologyServer({ port: 0 });
try {
  let progressed = 0; // reported every 250 ms
  const stats = await slurpie.download(source.url, {
    output: 'out.bin',
    topology: topology.url,
    sha256: createHash('sha256').update(data).digest('hex'),
    onProgress: (p) => (progressed = p.bytesHave),
  });
  const same = Buffer.from(await readFile('out.bin')).equals(Buffer.from(data));
  // The dashboard's static files ship beside dist/ and are found from there.
  const page = await fetch(topology.url + '/');
  const dashboard = page.status === 200 && (await page.text()).includes('dashboard.js') && (await fetch(topology.url + '/dashboard.js')).status;
  const err = new slurpie.SlurpieError('BAD_INPUT', 'x');
  console.log(JSON.stringify({
    exports: Object.keys(slurpie).sort(),
    ok: stats.ok, same, size: stats.size, progressed, dashboard,
    errorCode: err instanceof Error && err.code, exitCode: slurpie.EXIT_CODES.BAD_INPUT,
    core: typeof slurpie.PeerCore, params: typeof slurpie.DEFAULT_PARAMS,
  }));
} finally {
  await Promise.all([source.close(), topology.close()]);
}
process.exit(0); // keep-alive sockets in undici's pool would hold the process a while
`;

// A strict TypeScript consumer (module nodenext): only the shipped .d.ts, type-checked too
// (skipLibCheck off), with the README's example and every exported type.
const TS_CHECK = `
import { download, seed, SlurpieError, EXIT_CODES, startTopologyServer, startSourceServer, PeerCore, DEFAULT_PARAMS } from 'slurpie';
import type { DownloadOptions, DownloadStats, Progress, ErrorCode, PeerConfig, PeerStats, PeerEvent, PeerAction, PeerParams, SeedOptions, SeedStats } from 'slurpie';

const stats: DownloadStats = await download('https://example.org/big.iso', {
  topology: 'http://127.0.0.1:7070',
  sha256: '…',
  onProgress: (p: Progress) => console.log(p.bytesHave, '/', p.size),
});
const options: DownloadOptions = { output: 'big.iso', params: { backoff: false } };
const code: ErrorCode = new SlurpieError('DISK', 'full').code;
const exit: number = EXIT_CODES[code];
const servers = [await startTopologyServer({ port: 0 }), await startSourceServer({ data: new Uint8Array(1), port: 0 })];
await Promise.all(servers.map((s) => s.close()));
const blockSize: PeerParams['blockSize'] = DEFAULT_PARAMS.blockSize;
// @ts-expect-error the shipped types are real: a string is not a DownloadOptions
await download('https://example.org/big.iso', 'not options');
export type Used = [PeerConfig, PeerStats, PeerEvent, PeerAction, typeof PeerCore];
const seedOptions: SeedOptions = { topology: 'http://127.0.0.1:7070', linger: 60 };
export const seedLater = (): Promise<SeedStats> => seed('big.iso', 'https://example.org/big.iso', seedOptions);
export { stats, options, exit, blockSize };
`;

const TSCONFIG = (typeRoots: string): object => ({
  compilerOptions: {
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    noEmit: true,
    // The consumer's own @types/node (any Node project has one); nothing else from this checkout.
    typeRoots: [typeRoots],
    types: ['node'],
  },
  files: ['main.ts'],
});

test('npm pack: the tarball installs into a fresh project; the library, its types and the CLI work from built JavaScript', async (t) => {
  t.timeout(300_000, 'pack (tsc), install, type-check, a demo swarm');
  const dir = await mkdtemp(join(tmpdir(), 'slurpie-package-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));

  // 1. What ships: the build, the entry point, the README, the dashboard's page, the scenario files; no sources, tests or experiments' code.
  const packed = await pack(t, dir);
  t.log(`tarball ${packed.size} bytes (${packed.unpackedSize} unpacked), ${packed.files.length} files`);
  const page = ['topology-server/dashboard/index.html', 'topology-server/dashboard/dashboard.js', 'topology-server/dashboard/dashboard.css'];
  const bundled = (f: string): boolean => /^dist\/cli\/[^/]+\.mjs$/.test(f) || f === 'dist/cli/get.cjs';
  const scenario = (f: string): boolean => /^experiments\/scenarios\/[a-z0-9-]+\.json$/.test(f);
  const unexpected = packed.files.filter((f) => !(['package.json', 'README.md', 'LICENSE', 'bin/slurpie.js', ...page].includes(f) || /^dist\/.+\.(js|d\.ts)$/.test(f) || bundled(f) || scenario(f)));
  t.deepEqual(unexpected, [], 'only dist/**/*.js, dist/**/*.d.ts, the CLI bundle, bin/slurpie.js, the dashboard page, the scenarios, package.json and README');
  for (const f of ['lan-48', 'planetlab-55', 'tiny-4']) t.true(packed.files.includes(`experiments/scenarios/${f}.json`), `the ${f} scenario ships (slurpie experiment ${f})`);
  for (const f of ['dist/cli/cli.mjs', 'dist/cli/get.cjs']) t.true(packed.files.includes(f), `${f} ships (the CLI as one bundle: it starts sooner)`);
  for (const f of page) t.true(packed.files.includes(f), `${f} ships`);
  t.deepEqual(packed.files.filter((f) => f.startsWith('test/')), [], 'no test/ files');
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/bin/cli.js', 'dist/experiments/swarm/run-swarm.js', 'dist/experiments/sim/simulate.js']) {
    t.true(packed.files.includes(f), `${f} ships (the library; the CLI, with what demo and sim load)`);
  }
  t.false(packed.files.some((f) => f.includes('bundle')), 'the esbuild dev bundle script stays out');

  // 2. A fresh project with the tarball and its declared dependencies only.
  const consumer = join(dir, 'consumer');
  await mkdir(consumer);
  await writeConsumer(consumer, packed.tarball);
  await installConsumer(t, consumer);
  const installed = await readdir(join(consumer, 'node_modules'));
  for (const dev of ['tsx', 'esbuild', 'typescript', 'ava']) t.false(installed.includes(dev), `${dev} is not installed with the package`);
  const manifest = JSON.parse(await readFile(join(consumer, 'node_modules', 'slurpie', 'package.json'), 'utf8'));
  t.deepEqual(manifest.exports, { '.': { types: './dist/index.d.ts', import: './dist/index.js' } });
  // npm 11 flags a dependency with any of these (prepare included) as running install scripts.
  t.deepEqual(['preinstall', 'install', 'postinstall', 'prepare'].filter((s) => manifest.scripts?.[s]), [], 'no install-time scripts');

  // 3. Plain JavaScript: import('slurpie') and a real download through the library.
  await writeFile(join(consumer, 'check.mjs'), JS_CHECK);
  const js = await run(t, process.execPath, ['check.mjs'], consumer);
  t.is(js.code, 0, js.stderr);
  const seen = JSON.parse(js.stdout.trim().split('\n').pop() ?? '{}');
  t.like(seen, { ok: true, same: true, size: 700_000, errorCode: 'BAD_INPUT', exitCode: 2, core: 'function', params: 'object', dashboard: 200 });
  t.true(seen.progressed > 0, 'onProgress was called');
  t.deepEqual(seen.exports, ['DEFAULT_PARAMS', 'EXIT_CODES', 'PeerCore', 'SharedLimits', 'SlurpieError', 'download', 'seed', 'startSourceServer', 'startTopologyServer']);

  // 4. TypeScript: tsc --noEmit over the shipped declarations, 0 errors.
  await writeFile(join(consumer, 'main.ts'), TS_CHECK);
  await writeFile(join(consumer, 'tsconfig.json'), JSON.stringify(TSCONFIG(join(ROOT, 'node_modules', '@types')), null, 2));
  const tsc = await run(t, process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], consumer);
  t.is(tsc.code, 0, `tsc --noEmit in the consumer:\n${tsc.stdout}${tsc.stderr}`);

  // 5. The command: `npx slurpie` from the installed package (built JS: tsx is not there),
  // including the commands that load experiments/ (sim, demo).
  const npx = (args: string[]) => run(t, 'npx', ['--no', '--offline', '--', 'slurpie', ...args], consumer);
  const help = await npx(['--help']);
  t.is(help.code, 0, help.stderr);
  for (const command of ['get', 'demo', 'sim', 'topology', 'serve']) t.regex(help.stdout, new RegExp(`slurpie ${command}`), `--help lists ${command}`);
  const sim = await npx(['sim', '--peers', '4', '--size', '2MiB', '--no-live']);
  t.is(sim.code, 0, sim.stderr);
  t.regex(sim.stdout, /completed 4\/4/);
  // experiment: the shipped scenarios by name, in the simulator (no root); results and plots written.
  // A BitTorrent baseline needs the repository's tools (devDependencies, experiments/testbed/peers): skipped, said why.
  const out = join(dir, 'experiment');
  const experiment = await npx(['experiment', 'tiny-4', '--systems', 'sim,webtorrent', '--out', out]);
  t.is(experiment.code, 0, experiment.stderr);
  t.regex(experiment.stdout, /webtorrent .*skipped: .*clone of the repository/);
  const written = await readdir(out);
  t.true(written.some((f) => /^tiny-4-.+Z\.json$/.test(f)) && written.some((f) => f.endsWith('-cdf.png')), written.join(' '));
  const demo = await npx(['demo', '--peers', '2', '--size', '1MiB', '--no-live', '--timeout', '60', '--dir', join(dir, 'demo')]);
  t.is(demo.code, 0, `${demo.stdout}\n${demo.stderr}`);
  t.regex(demo.stdout, /every output verified/);
  // The demo's peers ran the bundle's plain get, and the first to finish left V8's code cache beside it.
  const cli = await readdir(join(consumer, 'node_modules', 'slurpie', 'dist', 'cli'));
  t.true(cli.some((f) => f.startsWith('get.cjs.') && f.endsWith('.v8cache')), cli.join(' '));
});

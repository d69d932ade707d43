// A development build of the CLI (esbuild, one plain-JS bundle of the same sources), so that
// starting a peer in a checkout does not pay for tsx's loader: experiments and tests start
// dozens of processes on small machines (0.25 s instead of 1.3 s each).
//
// The dependencies a peer loads (yargs, ws, bitfield, cli-progress) are bundled in too: Node
// 20 resolves, reads and wraps each of their files on every start, which cost a peer
// more CPU than the code itself (issue #12: start-up of `slurpie get` 0.33 -> 0.19 CPU-s
// with undici, measured by npm run bench:peer-cost). Left out: BUNDLE_EXTERNAL.
//
// The published package ships the same bundle in dist/cli (prepack), beside tsc's build of
// the library and the CLI (tsconfig.build.json, dist/), which an installed bin/slurpie.js
// uses only if dist/cli is missing.
// `npm install` and `npm ci` in a checkout run this file to build DEV_BUNDLE_DIR, as the
// `postprepare` script: npm runs that for the project being installed only, while a
// `prepare` in the published package.json makes npm 11 warn, on every install of slurpie,
// of an unapproved install script. bin/slurpie.js uses the bundle while every source it was
// built from is unchanged, tsx otherwise. esbuild is a devDependency: nothing in dist/
// imports this file.
import { build, type Plugin } from 'esbuild';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from './project-root.ts';

const ROOT = PROJECT_ROOT;
// Under node_modules so the bundle's bare imports resolve; bin/slurpie.js knows this path.
const CACHE = join(ROOT, 'node_modules', '.cache', 'slurpie');
export const DEV_BUNDLE_DIR = join(CACHE, 'cli');

/** Packages not bundled: loaded by one command only, native, optional and absent, or (pino:
 * its transports start worker threads from files beside it) not safe to move. */
const BUNDLE_EXTERNAL = [
  'express', 'prom-client', '@redis/client', 'pino', 'thread-stream', 'vega', 'vega-lite', '@resvg/resvg-js',
  'bufferutil', 'utf-8-validate', 'esbuild', 'tsx',
];

/** A plugin that replaces, in the dependency files matching `file`, each text `from` by its
 * `to` (so that something is made or loaded on first use, not at start-up); a text not found
 * (another version of the package) is left as it is. */
function onFirstUse(name: string, file: RegExp, edits: [from: string, to: string][]): Plugin {
  return {
    name,
    setup(b) {
      b.onLoad({ filter: file }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        if (!edits.some(([from]) => text.includes(from))) return undefined;
        return { contents: edits.reduce((t, [from, to]) => t.replace(from, to), text), loader: 'js' };
      });
    },
  };
}

/** `const NAME = require(ID);` made to load ID when one of NAME's properties is first read. */
const lazyRequire = (name: string, id: string): [string, string] =>
  [`const ${name} = require('${id}');`, `let ${name}_; const ${name} = new Proxy({}, { get: (_, k) => (${name}_ ??= require('${id}'))[k] });`];

const LAZY = [
  // string-width (under yargs' help layout) makes an Intl.Segmenter when it loads, about 9 ms
  // of CPU each, three copies: made on first use, so a command that prints no help never pays.
  onFirstUse('lazy-segmenter', /[\\/]string-width[\\/]index\.js$/, [['const segmenter = new Intl.Segmenter();',
    'let made; const segmenter = { segment: (s) => (made ??= new Intl.Segmenter()).segment(s) };']]),
  // undici's HTTP/1.1 client loads its HTTP/2 half, and with it node:http2 and node:tls, as it
  // loads: about 22 ms of a peer's start-up CPU (issue #12). Slurpie never asks undici for
  // HTTP/2 (no allowH2).
  onFirstUse('lazy-http2', /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client\.js$/, [["const connectH2 = require('./client-h2.js')",
    "let h2; const connectH2 = (...args) => (h2 ??= require('./client-h2.js'))(...args)"]]),
  // ws's client loads node:https and node:tls for wss:// URLs, which peers never use (they
  // connect with ws://): ~3 ms of a peer's start-up CPU. ws reads https.request and
  // tls.connect only, when it connects.
  onFirstUse('lazy-ws-tls', /[\\/]ws[\\/]lib[\\/]websocket\.js$/, [lazyRequire('https', 'https'), lazyRequire('tls', 'tls')]),
];

/** Bundles the CLI into `outdir`: the entry `cli.mjs` (bin/bundle-main.ts) with one chunk per
 * lazily loaded command, and `get.cjs`, a plain get as one CommonJS file (bin/code-cache.ts). */
export async function bundleCli(outdir: string, published = false): Promise<string> {
  // The published package's bundle leaves out the devDependencies (the BitTorrent baselines'
  // clients): an installed package lacks them, as its tsc build does.
  const external = published ? [...BUNDLE_EXTERNAL, ...Object.keys(JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).devDependencies as object)] : BUNDLE_EXTERNAL;
  const common = { bundle: true, platform: 'node', target: 'node20', external, metafile: true, logLevel: 'error', plugins: LAZY } as const;
  const esm = await build({
    ...common,
    entryPoints: { cli: join(ROOT, 'bin', 'bundle-main.ts') },
    outdir,
    outExtension: { '.js': '.mjs' },
    splitting: true, // each command's modules (and their dependencies) load only when it runs
    format: 'esm',
    // Bundled CommonJS code calls require() for Node's built-in modules.
    banner: { js: "import { createRequire as __slurpieCreateRequire } from 'node:module'; const require = __slurpieCreateRequire(import.meta.url);" },
  });
  const cjs = await build({
    ...common,
    entryPoints: [join(ROOT, 'bin', 'plain-get.ts')],
    outfile: join(outdir, 'get.cjs'),
    format: 'cjs',
    // One file: a module reached by import() is required when first asked for (node:vm runs
    // get.cjs, which has no loader for import()); import.meta.url is the file's own URL.
    supported: { 'dynamic-import': false },
    // Without comments, so without the few non-ASCII characters left in them: Node reads an
    // ASCII file straight into a one-byte string (with comments: 1.08 MB, a two-byte string,
    // 4.8 CPU-ms a read; without: 0.75 MB, 3.6; issue #12). Functions keep their names in
    // stack traces, on one long line.
    minifyWhitespace: true,
    legalComments: 'none',
    define: { 'import.meta.url': '__slurpieImportMetaUrl' },
    banner: { js: "var __slurpieImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  // What the build came from, with modification times, so a stale build is never run. The
  // bundled packages are left out (bin/slurpie.js checks each file at every start): they
  // change through npm install, which rebuilds.
  const sources = new Set([...Object.keys(esm.metafile.inputs), ...Object.keys(cjs.metafile.inputs)].filter((p) => !p.includes('node_modules/')));
  const inputs = await Promise.all([...sources].map(async (p) => [relative(ROOT, join(process.cwd(), p)), (await stat(join(process.cwd(), p))).mtimeMs] as const));
  await writeFile(join(outdir, 'inputs.json'), JSON.stringify({ inputs }));
  return join(outdir, 'cli.mjs');
}

/** A private build for one run (removed by the caller), next to DEV_BUNDLE_DIR. */
export function runBundleDir(): string {
  return join(CACHE, `cli-${process.pid}-${Date.now()}`);
}

// `node --import tsx experiments/swarm/bundle.ts [DIR]`: (re)build DIR atomically, by default
// DEV_BUNDLE_DIR (npm's postprepare); prepack builds the published package's into dist/cli
// (any DIR but the default is built as the published one).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] === undefined ? DEV_BUNDLE_DIR : resolve(process.argv[2]);
  const tmp = `${dir}.tmp-${process.pid}`;
  await mkdir(dirname(dir), { recursive: true });
  await bundleCli(tmp, dir !== DEV_BUNDLE_DIR);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

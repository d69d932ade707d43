// A development build of the CLI (esbuild, one plain-JS bundle of the same sources), so that
// starting a peer in a checkout does not pay for tsx's loader: experiments and tests start
// dozens of processes on small machines (0.25 s instead of 1.3 s each).
//
// Not the published package: `npm pack` builds that with tsc (tsconfig.build.json, dist/).
// `npm install` and `npm ci` in a checkout run this file to build DEV_BUNDLE_DIR, as the
// `postprepare` script: npm runs that for the project being installed only, while a
// `prepare` in the published package.json makes npm 11 warn, on every install of slurpie,
// of an unapproved install script. bin/slurpie.js uses the bundle while every source it was
// built from is unchanged, tsx otherwise. esbuild is a devDependency: nothing in dist/
// imports this file.
import { build } from 'esbuild';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from './project-root.ts';

const ROOT = PROJECT_ROOT;
// Under node_modules so the bundle's bare imports resolve; bin/slurpie.js knows this path.
const CACHE = join(ROOT, 'node_modules', '.cache', 'slurpie');
export const DEV_BUNDLE_DIR = join(CACHE, 'cli');

/** Bundles bin/cli.ts into `outdir` (entry `cli.mjs`, one chunk per lazily loaded command). */
export async function bundleCli(outdir: string): Promise<string> {
  const result = await build({
    entryPoints: { cli: join(ROOT, 'bin', 'cli.ts') },
    outdir,
    outExtension: { '.js': '.mjs' },
    splitting: true, // each command's modules (and their dependencies) load only when it runs
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external', // dependencies load from node_modules as usual
    metafile: true,
    logLevel: 'error',
  });
  // What the build came from, with modification times, so a stale build is never run.
  const inputs = await Promise.all(
    Object.keys(result.metafile.inputs).map(async (p) => [relative(ROOT, join(process.cwd(), p)), (await stat(join(process.cwd(), p))).mtimeMs] as const),
  );
  await writeFile(join(outdir, 'inputs.json'), JSON.stringify({ inputs }));
  return join(outdir, 'cli.mjs');
}

/** A private build for one run (removed by the caller), next to DEV_BUNDLE_DIR. */
export function runBundleDir(): string {
  return join(CACHE, `cli-${process.pid}-${Date.now()}`);
}

// `node --import tsx experiments/swarm/bundle.ts` (npm's postprepare): (re)build DEV_BUNDLE_DIR atomically.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const tmp = join(CACHE, `cli.tmp-${process.pid}`);
  await mkdir(CACHE, { recursive: true });
  await bundleCli(tmp);
  await rm(DEV_BUNDLE_DIR, { recursive: true, force: true });
  await rename(tmp, DEV_BUNDLE_DIR);
}

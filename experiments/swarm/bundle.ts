// One plain-JS build of the CLI (esbuild, the same sources), so that starting a peer does
// not pay for tsx's loader: experiments start dozens of processes on small machines.
// `npm install` runs this file (the `prepare` script) to build dist/; bin/slurpie.js uses
// dist/ while every source it was built from is unchanged, and tsx otherwise.
import { build } from 'esbuild';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from './project-root.ts';

const ROOT = PROJECT_ROOT;

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

/** A private build for one run (removed by the caller): under node_modules so imports resolve. */
export function runBundleDir(): string {
  return join(ROOT, 'node_modules', '.cache', 'slurpie', `cli-${process.pid}-${Date.now()}`);
}

// `node --import tsx experiments/swarm/bundle.ts` (npm's prepare): (re)build dist/ atomically.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const tmp = join(ROOT, `dist.tmp-${process.pid}`);
  await bundleCli(tmp);
  await rm(join(ROOT, 'dist'), { recursive: true, force: true });
  await mkdir(ROOT, { recursive: true });
  await rename(tmp, join(ROOT, 'dist'));
}

// Experiments start dozens of peers at once; each going through tsx's loader costs a
// second or more of CPU on a small machine. So a run bundles the CLI once (esbuild, the
// same sources) and starts every process from that one plain-JS file.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Bundles bin/cli.ts and returns the entry file's path (remove its folder when done). It lives under the project's
 * node_modules/.cache so that the dependencies it imports resolve as usual.
 */
export async function bundleCli(): Promise<string> {
  const outdir = join(ROOT, 'node_modules', '.cache', 'slurpie', `cli-${process.pid}-${Date.now()}`);
  await build({
    entryPoints: { cli: join(ROOT, 'bin', 'cli.ts') },
    outdir,
    outExtension: { '.js': '.mjs' },
    splitting: true, // each command's modules (and their dependencies) load only when it runs
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external', // dependencies load from node_modules as usual
    logLevel: 'error',
  });
  return join(outdir, 'cli.mjs');
}

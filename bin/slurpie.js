#!/usr/bin/env node
// Entry point; which JavaScript it runs depends on where it is.
// - An installed package (no TypeScript sources beside this file): dist/cli, the same esbuild
//   bundle a checkout runs, which `npm pack` made (prepack); failing that, dist/bin, tsc's
//   build of the CLI (tsconfig.build.json). Neither tsx nor esbuild is installed there.
// - A checkout: always the current sources, with no build step. The esbuild bundle that
//   `npm install` made (experiments/swarm/bundle.ts) while every source it came from is
//   unchanged, since it starts 1 s sooner; otherwise the TypeScript through tsx (a
//   devDependency), so an edit is never shadowed. SLURPIE_NO_BUILD=1 forces tsx.
import { existsSync, readFileSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);

function freshDevBundle() {
  if (process.env.SLURPIE_NO_BUILD) return null;
  const dir = new URL('node_modules/.cache/slurpie/cli/', root);
  try {
    const { inputs } = JSON.parse(readFileSync(new URL('inputs.json', dir), 'utf8'));
    for (const [path, mtimeMs] of inputs) if (statSync(new URL(path, root)).mtimeMs > mtimeMs) return null;
    return new URL('cli.mjs', dir);
  } catch {
    return null;
  }
}

if (!existsSync(new URL('bin/cli.ts', root))) {
  const bundle = new URL('dist/cli/cli.mjs', root);
  await import(existsSync(bundle) ? bundle.href : '../dist/bin/cli.js');
} else {
  const bundle = freshDevBundle();
  if (bundle) {
    await import(bundle.href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await import('./cli.ts');
  }
}

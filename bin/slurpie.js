#!/usr/bin/env node
// Entry point. Runs the plain-JS build in dist/ (made by `npm install`, see
// experiments/swarm/bundle.ts) when every source it was built from is unchanged;
// otherwise the TypeScript sources through tsx's loader, so an edit is never shadowed.
import { readFileSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);

function freshBuild() {
  if (process.env.SLURPIE_NO_BUILD) return null;
  try {
    const { inputs } = JSON.parse(readFileSync(new URL('dist/inputs.json', root), 'utf8'));
    for (const [path, mtimeMs] of inputs) if (statSync(new URL(path, root)).mtimeMs > mtimeMs) return null;
    return new URL('dist/cli.mjs', root);
  } catch {
    return null;
  }
}

const built = freshBuild();
if (built) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./cli.ts');
}

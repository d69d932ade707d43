// The project's root folder (the one holding bin/slurpie.js), whether this code runs from its
// sources, from the dev bundle in node_modules/.cache, or from an installed package's dist/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bin', 'slurpie.js'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the slurpie project root (bin/slurpie.js)');
    dir = up;
  }
  return dir;
}

export const PROJECT_ROOT = findRoot();

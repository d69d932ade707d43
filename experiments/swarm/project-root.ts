// The project's root folder, whether this code runs from its sources or from the dist/
// bundle (where import.meta.url points into dist/).
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

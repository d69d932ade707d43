// The dev bundle's entry (experiments/swarm/bundle.ts builds it as cli.mjs). A plain `get`,
// what experiments and tests start by the dozen, runs from get.cjs, plain-get.ts bundled
// alone as one CommonJS file and loaded with V8's code cache (code-cache.ts); anything else,
// or a `get` that is not plain, goes to the command line as usual (cli.ts).
import './peer-process.ts'; // first: V8 checks a code cache against its flags, so a peer's are set before get.cjs loads
import { fileURLToPath } from 'node:url';
import { loadWithCodeCache } from './code-cache.ts';

const argv = process.argv.slice(2);
const loaded = argv[0] === 'get' ? loadWithCodeCache(fileURLToPath(new URL('./get.cjs', import.meta.url))) : null;
const plain = loaded?.exports as typeof import('./plain-get.ts') | undefined;
const get = plain?.fastGetArgs(argv) ?? null;
if (loaded && plain && get) {
  loaded.saveOnCleanExit(); // a cache made by a download, not by --help or a usage error
  await plain.runPlainGet(get);
} else {
  await import('./cli.ts');
}

// The `slurpie` command line. A plain `slurpie get URL [flags]` runs without yargs
// (plain-get.ts); every other command line, --help and every usage error go to the yargs
// commands (cli-yargs.ts).
import { fastGetArgs, runPlainGet } from './plain-get.ts'; // first: it loads peer-process.ts before anything else

const get = fastGetArgs(process.argv.slice(2));
if (get) await runPlainGet(get);
else await import('./cli-yargs.ts');

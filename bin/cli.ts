// The `slurpie` command line. A plain `slurpie get URL [flags]`, how experiments start their
// peers, is parsed without yargs (commands/get-fast.ts: ~25 ms less CPU per peer, issue #12);
// every other command line, --help and every usage error go to the yargs commands (cli-yargs.ts).
import './peer-process.ts'; // first: a peer's V8 flags and ws settings, before anything else loads
import { fastGetArgs } from './commands/get-fast.ts';

const get = fastGetArgs(process.argv.slice(2));
if (get) {
  const { runGet } = await import('./commands/get-run.ts');
  // As under yargs, which hands an error thrown by a command's handler to its fail(): one line.
  await runGet(get).catch(async (err: unknown) => (await import('./commands/get-args.ts')).failGet(null, err as Error));
} else {
  await import('./cli-yargs.ts');
}

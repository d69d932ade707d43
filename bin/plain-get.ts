// A plain `slurpie get URL [flags]`, how experiments start their peers: parsed without yargs
// (commands/get-fast.ts: ~25 ms less CPU per peer, issue #12) and run. The dev bundle also
// builds this module alone as one CommonJS file, loaded with V8's code cache (bundle-main.ts).
import './peer-process.ts'; // first: a peer's V8 flags and ws settings, before anything else loads
import type { GetArgs } from './commands/get-args.ts';

export { fastGetArgs } from './commands/get-fast.ts'; // null for anything but a plain get: that is yargs' (cli-yargs.ts)

/** Runs a plain get to its end. */
export async function runPlainGet(get: GetArgs): Promise<void> {
  const { runGet } = await import('./commands/get-run.ts');
  // As under yargs, which hands an error thrown by a command's handler to its fail(): one line.
  await runGet(get).catch(async (err: unknown) => (await import('./commands/get-args.ts')).failGet(null, err as Error));
}

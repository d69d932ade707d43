// The `slurpie` command line: a thin layer of yargs commands over the library.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { topologyCommand } from './commands/topology.ts';
import { serveCommand } from './commands/serve.ts';
import { getCommand } from './commands/get.ts';
import { demoCommand } from './commands/demo.ts';
import { simCommand } from './commands/sim.ts';
import { experimentCommand } from './commands/experiment.ts';

await yargs(hideBin(process.argv))
  .scriptName('slurpie')
  .usage('$0 <command> [options]\n\nCooperative downloads of large popular files from a plain HTTP server (Slurpie).')
  .command(getCommand)
  .command(demoCommand)
  .command(simCommand)
  .command(experimentCommand)
  .command(topologyCommand)
  .command(serveCommand)
  .demandCommand(1, 'Name a command (see the list above).')
  .strict()
  .recommendCommands()
  .help()
  .alias('h', 'help')
  .version()
  .wrap(process.stdout.isTTY ? Math.min(100, process.stdout.columns) : null)
  .fail((msg, err) => {
    // Usage errors (bad flags, failed checks and coercions) are one line and exit 2.
    process.stderr.write(`slurpie: ${msg || err?.message || 'bad usage'}\nRun "slurpie --help" for usage.\n`);
    process.exit(2);
  })
  .parseAsync();

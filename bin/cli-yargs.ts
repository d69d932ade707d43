// The `slurpie` command line: a thin layer of yargs commands over the library (loaded by
// cli.ts for every command line but a plain `get`).
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { topologyCommand } from './commands/topology.ts';
import { serveCommand } from './commands/serve.ts';
import { getCommand } from './commands/get.ts';
import { demoCommand } from './commands/demo.ts';
import { simCommand } from './commands/sim.ts';
import { seedCommand } from './commands/seed.ts';
import { plotCommand } from './commands/plot.ts';
import { experimentCommand } from './commands/experiment.ts';
import { proxyCommand } from './commands/proxy.ts';
import { usageText } from './usage-text.ts';

const cli = yargs(hideBin(process.argv));
// yargs lays out the whole help text before running any command, in case the command fails
// and help is to be shown: about 50 ms of CPU on every start (issue #12). Our commands'
// failures print one line without help, and --help lays it out itself, so nothing uses it.
// (yargs internals: if a later yargs lacks them, help is laid out as before.)
const usage = (cli as unknown as { getInternalMethods?(): { getUsageInstance?(): { cacheHelpMessage?(): void } } })
  .getInternalMethods?.().getUsageInstance?.();
if (usage?.cacheHelpMessage) usage.cacheHelpMessage = () => {};

await cli
  .scriptName('slurpie')
  .usage('$0 <command> [options]\n\nCooperative downloads of large popular files from a plain HTTP server (Slurpie).')
  .command(getCommand)
  .command(seedCommand)
  .command(demoCommand)
  .command(simCommand)
  .command(plotCommand)
  .command(experimentCommand)
  .command(topologyCommand)
  .command(serveCommand)
  .command(proxyCommand)
  .epilogue('get and seed also read SLURPIE_<FLAG> environment variables and a JSON config file (--config FILE, else ~/.config/slurpie/config.json): see slurpie get --help.')
  .demandCommand(1, 'Name a command (see the list above).')
  .strict()
  .recommendCommands()
  .help()
  .alias('h', 'help')
  .version()
  .wrap(process.stdout.isTTY ? Math.min(100, process.stdout.columns) : null)
  .fail((msg, err) => {
    // Usage errors (bad flags, failed checks and coercions) are one line and exit 2.
    process.stderr.write(`slurpie: ${usageText(msg, err, 'bad usage')}\nRun "slurpie --help" for usage.\n`);
    process.exit(2);
  })
  .parseAsync();

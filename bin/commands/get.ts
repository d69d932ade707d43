// `slurpie get URL`: download one file, with a swarm when --topology is given.
import type { CommandModule } from 'yargs';
import { getBuilder, type GetArgs } from './get-args.ts';
import { runGet } from './get-run.ts';

export const getCommand: CommandModule<object, GetArgs> = {
  command: 'get <url>',
  describe: 'download a file; with --topology, cooperatively with the other peers fetching it',
  builder: getBuilder,
  handler: runGet,
};

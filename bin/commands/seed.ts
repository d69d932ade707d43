// `slurpie seed FILE URL`: serve a copy someone already has to the peers downloading URL,
// until SIGINT/SIGTERM (or --linger seconds): then deregister and exit 0.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { EXIT_CODES, isSlurpieError } from '../../peer/errors.ts';
import { cliLogger, logFn, logFormatOption, type LogFormat } from '../log.ts';
import { originOf, SETTINGS_HELP, withSettings } from '../settings.ts';
import { blockSize, checkGetArgs, GET_FLAGS, number, usage, usageLine } from './get-args.ts';

interface SeedArgs {
  file: string;
  url: string;
  topology?: string;
  topologyTokenFile?: string;
  topologyToken?: string; // from the file, else SLURPIE_TOPOLOGY_TOKEN (set by the check)
  host?: string;
  port: number;
  sha256?: string;
  swarmSecret?: string;
  blockSize: number;
  linger?: number;
  uploadLimit?: number; // bytes a second
  logFormat?: LogFormat;
  verbose: boolean;
}

const valued = { requiresArg: true } as const;

export const seedCommand: CommandModule<object, SeedArgs> = {
  command: 'seed <file> <url>',
  describe: 'serve a copy of URL you already have to the peers downloading it (spares the source)',
  builder: (y: Argv) =>
    withSettings(logFormatOption(y
      .usage('$0 seed FILE URL --topology URL [options]\n\nServe FILE, a complete copy of URL, to the swarm that `slurpie get URL --topology ...` joins.\n' +
        'FILE must be the source\'s file: its size must match, and its sha256 the one given (--sha256)\n' +
        'or published (URL.sha256); with neither, three of its blocks are compared with the source\'s.\n' +
        'The first line on stdout says what is served. Runs until SIGINT/SIGTERM (or --linger seconds),\n' +
        'then deregisters and exits 0.')
      .epilogue(SETTINGS_HELP)
      .positional('file', { type: 'string', demandOption: true, describe: 'the complete copy to serve' })
      .positional('url', { type: 'string', demandOption: true, describe: 'the http(s) URL it is a copy of, as downloaders give it' })
      .option('topology', { type: 'string', ...valued, describe: 'topology server URL (required; also SLURPIE_TOPOLOGY)' })
      .option('topology-token-file', { type: 'string', ...valued, describe: 'file holding the topology server\'s token (default: $SLURPIE_TOPOLOGY_TOKEN)' })
      .option('host', { type: 'string', ...valued, describe: 'address to accept peers on and advertise (default: the one facing the topology server)' })
      .option('port', { type: 'string', default: '0', ...valued, coerce: number('--port must be a whole number 0–65535', (n) => Number.isInteger(n) && n >= 0 && n <= 65535), describe: 'port to accept peers on (0: any free port)' })
      .option('sha256', { type: 'string', ...valued, describe: 'expected SHA-256 of the file (default: URL.sha256 if the source has one)' })
      .option('swarm-secret', { type: 'string', ...valued, describe: 'the private swarm\'s secret, as its downloaders give it (also SLURPIE_SWARM_SECRET)' })
      .option('block-size', { type: 'string', default: '256KiB', ...valued, coerce: blockSize, describe: 'block size: the downloaders\' (get --block-size)' })
      .option('linger', { type: 'string', ...valued, coerce: number('--linger must be a number of seconds >= 0', (n) => n >= 0), describe: 'seconds to serve (default: until stopped)' })
      .option('upload-limit', { ...GET_FLAGS['upload-limit'], describe: 'most bytes a second to send the peers, all together, e.g. 1MiB (default: no limit; at least half a block a second)' })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'log protocol events to stderr' }), usage)
      .check((a) => {
        checkGetArgs(a as Parameters<typeof checkGetArgs>[0]);
        if (a.topology === undefined) throw usage('--topology is needed: a seeder no peer can find serves no one', undefined);
        if (a.file === '') throw usage('the FILE to seed is needed', '');
        return true;
      })
      .fail(failSeed), 'seed') as unknown as Argv<SeedArgs>,
  handler: async (args: ArgumentsCamelCase<SeedArgs>) => {
    const logger = cliLogger('seed', { format: args.logFormat, verbose: args.verbose }).child({ url: args.url, file: args.file });
    const controller = new AbortController();
    const stop = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, `${signal}: leaving the swarm`);
      controller.abort();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const { seed } = await import('../../peer/node/seed.ts');
    const { closeSourceClients } = await import('../../peer/node/source-client.ts');
    const secret = args.swarmSecret ?? (process.env.SLURPIE_SWARM_SECRET || undefined);
    try {
      const stats = await seed(args.file, args.url, {
        topology: args.topology as string,
        ...(args.topologyToken !== undefined && { topologyToken: args.topologyToken }),
        ...(args.host !== undefined && { host: args.host }),
        ...(args.sha256 !== undefined && { sha256: args.sha256 }),
        ...(secret !== undefined && { swarmSecret: secret }),
        ...(args.linger !== undefined && { linger: args.linger }),
        ...(args.uploadLimit !== undefined && { uploadLimit: args.uploadLimit }),
        protocolEvents: args.verbose,
        port: args.port,
        blockSize: args.blockSize,
        signal: controller.signal,
        log: logFn(logger),
        onReady: (r) => {
          const mib = (r.size / 1048576).toFixed(1);
          process.stdout.write(`seeding ${r.file} (${mib} MiB, ${r.integrity === 'sampled' ? 'size and 3 blocks match' : 'sha256 matches'}) for ${r.url} on ${r.host}:${r.port}, swarm ${r.swarmId.slice(0, 16)}…\n`);
          logger.info({ size: r.size, swarmId: r.swarmId, host: r.host, port: r.port, integrity: r.integrity }, 'seeding');
        },
      });
      process.stdout.write(`stopped after ${stats.seconds.toFixed(1)} s: ${(stats.uploaded / 1048576).toFixed(1)} MiB uploaded to ${stats.peersSeen} peers\n`);
      logger.info({ seconds: stats.seconds, uploaded: stats.uploaded, peersSeen: stats.peersSeen }, 'stopped');
    } catch (err) {
      const code = isSlurpieError(err) ? EXIT_CODES[err.code] : 1;
      logger.error({ code: isSlurpieError(err) ? err.code : undefined, exit: code }, (err as Error).message);
      process.exitCode = code;
    } finally {
      await closeSourceClients();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
};

function failSeed(msg: string | null | undefined, err: Error | undefined): never {
  const line = usageLine(msg, err).replace('the URL to download is needed', 'a FILE and the URL it is a copy of are needed');
  process.stderr.write(`slurpie seed: ${line}${originOf(line)} (see slurpie seed --help)\n`);
  process.exit(2);
}

// `slurpie get URL`: download one file, with a swarm when --topology is given.
import { writeFile } from 'node:fs/promises';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { DownloadStats } from '../../peer/node/download.ts';
import { EXIT_CODES, isSlurpieError } from '../../peer/errors.ts';
import { parseBytes } from '../units.ts';
import { checkToken, tokenFromFile } from '../token.ts';
import { ProgressView } from '../progress-view.ts';

interface GetArgs {
  url: string;
  output?: string;
  topology?: string;
  topologyTokenFile?: string;
  topologyToken?: string; // from the file, else SLURPIE_TOPOLOGY_TOKEN (set by check())
  host?: string;
  port: number;
  sha256?: string;
  swarmSecret?: string;
  blockSize: number;
  statsJson?: string;
  progress: boolean;
  linger: number;
  sourceK: number;
  backoff: boolean;
  seed?: number;
  verbose: boolean;
}

export const getCommand: CommandModule<object, GetArgs> = {
  command: 'get <url>',
  describe: 'download a file; with --topology, cooperatively with the other peers fetching it',
  builder: (y: Argv) =>
    y
      .positional('url', { type: 'string', demandOption: true, describe: 'http(s) URL of the file (the source; it needs no change)' })
      .option('output', { alias: 'o', type: 'string', describe: 'where to write the file (default: the URL\'s file name); FILE.part until verified' })
      .option('topology', { type: 'string', describe: 'topology server URL, e.g. http://127.0.0.1:7070 (without it: download alone)' })
      .option('topology-token-file', { type: 'string', describe: 'file holding the topology server\'s token, sent as "Authorization: Bearer <token>" (default: $SLURPIE_TOPOLOGY_TOKEN)' })
      .option('host', { type: 'string', describe: 'address to accept peers on and advertise (default: the one facing the topology server, which hands out the address it sees unless it runs with --trust-host-field)' })
      .option('port', { type: 'number', default: 0, describe: 'port to accept peers on (0: any free port)' })
      .option('sha256', { type: 'string', describe: 'expected SHA-256 of the file (default: URL.sha256 if the source has one)' })
      .option('swarm-secret', {
        type: 'string',
        describe: 'join a private swarm: only peers with the same secret find it and get blocks from it (also SLURPIE_SWARM_SECRET)',
      })
      .option('block-size', { type: 'string', default: '256KiB', coerce: (v: unknown) => parseBytes(v, 'block-size'), describe: 'block size' })
      .option('stats-json', { type: 'string', describe: 'write the download\'s stats (JSON) to this file' })
      .option('progress', { type: 'boolean', default: true, describe: 'show a progress bar on a terminal (--no-progress to hide)' })
      .option('linger', { type: 'number', default: 0, describe: 'seconds to keep serving other peers after finishing' })
      .option('source-k', { type: 'number', default: 3, describe: 'go to the source with probability k/n each round (n: group-size estimate)' })
      .option('backoff', { type: 'boolean', default: true, describe: 'random backoff at the source (--no-backoff: go every round, for ablation)' })
      .option('seed', { type: 'number', describe: 'seed for the peer\'s random choices (default: random)' })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'log protocol events to stderr' })
      .check((a) => {
        if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new Error(`--port must be 0–65535, got ${a.port}`);
        if (!(a.linger >= 0)) throw new Error(`--linger must be a number of seconds >= 0, got ${a.linger}`);
        if (!((a.sourceK as number) > 0)) throw new Error(`--source-k must be positive, got ${a.sourceK}`);
        if (a.swarmSecret === '') throw new Error('--swarm-secret must not be empty');
        const env = process.env.SLURPIE_TOPOLOGY_TOKEN;
        if (a.topologyTokenFile !== undefined) a.topologyToken = tokenFromFile(a.topologyTokenFile, '--topology-token-file');
        else if (env !== undefined && env.trim() !== '') a.topologyToken = checkToken(env, 'SLURPIE_TOPOLOGY_TOKEN');
        return true;
      }) as unknown as Argv<GetArgs>,
  handler: async (args: ArgumentsCamelCase<GetArgs>) => {
    const controller = new AbortController();
    const interrupt = (): void => controller.abort();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    // Loaded here, not at the top: every command's start-up stays light (experiments start dozens).
    const handlerSeconds = process.uptime();
    const { download } = await import('../../peer/node/download.ts');
    const { closeSourceClients } = await import('../../peer/node/source-client.ts');
    const view = args.progress && process.stderr.isTTY ? new ProgressView() : null;
    const startupSeconds = process.uptime(); // process start to here: what experiments pay per peer
    try {
      const stats = await download(args.url, {
        ...(args.output !== undefined && { output: args.output }),
        ...(args.topology !== undefined && { topology: args.topology }),
        ...(args.topologyToken !== undefined && { topologyToken: args.topologyToken }),
        ...(args.host !== undefined && { host: args.host }),
        ...(args.sha256 !== undefined && { sha256: args.sha256 }),
        ...(secretOf(args) !== undefined && { swarmSecret: secretOf(args) as string }),
        ...(args.seed !== undefined && { seed: args.seed }),
        port: args.port,
        blockSize: args.blockSize,
        linger: args.linger,
        params: { k: args.sourceK, backoff: args.backoff },
        signal: controller.signal,
        ...(view && { onProgress: (p) => view.update(p) }),
        log: (level, msg) => {
          if (level !== 'debug' || args.verbose) {
            view?.interrupt();
            process.stderr.write(`slurpie: ${msg}\n`);
          }
        },
      });
      view?.stop();
      const maxRssBytes = process.resourceUsage().maxRSS * 1024;
      const extra = { maxRssBytes, handlerSeconds, startupSeconds, totalSeconds: process.uptime() };
      if (args.statsJson) await writeFile(args.statsJson, JSON.stringify({ ...stats, ...extra }, null, 2) + '\n');
      process.stdout.write(summary(stats) + '\n');
    } catch (err) {
      view?.stop();
      const code = isSlurpieError(err) ? EXIT_CODES[err.code] : 1;
      process.stderr.write(`slurpie: ${(err as Error).message}\n`);
      if (args.statsJson) await writeFile(args.statsJson, JSON.stringify({ url: args.url, ok: false, error: (err as Error).message }) + '\n').catch(() => {});
      process.exitCode = code;
    } finally {
      await closeSourceClients();
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    }
  },
};

function summary(s: DownloadStats): string {
  const mib = (b: number): string => (b / 1048576).toFixed(1);
  const rate = s.seconds > 0 ? s.size / s.seconds / 1048576 : 0;
  const share = s.size > 0 ? ((100 * s.fromSource) / s.size).toFixed(0) : '0';
  return `${s.output}: ${mib(s.size)} MiB in ${s.seconds.toFixed(1)} s (${rate.toFixed(1)} MiB/s), ` +
    `${share}% from the source, ${mib(s.fromPeers)} MiB from ${s.peersSeen} peers, ${mib(s.uploaded)} MiB uploaded, sha256 ${s.sha256.slice(0, 16)}… verified`;
}

// The flag wins over the environment (an empty variable is unset; an empty flag is refused).
function secretOf(args: { swarmSecret?: string }): string | undefined {
  const secret = args.swarmSecret ?? process.env.SLURPIE_SWARM_SECRET;
  return secret === '' ? undefined : secret;
}

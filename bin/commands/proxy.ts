// `slurpie proxy`: an HTTP forward proxy that serves large GETs through a Slurpie swarm
// (peer/node/proxy/proxy-server.ts), so curl -x, apt, pip or docker use the swarm unchanged.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { GET_FLAGS, number, size, usage, usageLine } from './get-args.ts';
import { checkLimitFlags } from './get-checks.ts';

interface ProxyArgs {
  host: string;
  port: number;
  topology?: string;
  dir: string;
  minSize: number;
  uploadLimit?: number; // bytes a second, all downloads together
  downloadLimit?: number;
  linger: number; // seconds
  verbose: boolean;
}

const valued = { requiresArg: true } as const;

function defaultDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'slurpie', 'proxy');
}

export const proxyCommand: CommandModule<object, ProxyArgs> = {
  command: 'proxy',
  describe: 'an HTTP proxy that serves large GETs through a Slurpie swarm (curl -x, HTTP_PROXY)',
  builder: (y: Argv) =>
    y
      .usage(
        '$0 proxy [options]\n\n' +
          'An HTTP forward proxy. Point any client at it (curl -x http://HOST:PORT URL, or\n' +
          'HTTP_PROXY=http://HOST:PORT); for https origins ask for http://HOST:PORT/https://host/path\n' +
          '(CONNECT tunnels get 501). A GET of a file of at least --min-size from an origin with Range\n' +
          'support is downloaded with Slurpie (with --topology, cooperatively with every other peer\n' +
          'and proxy fetching it) and answered at once: 200 with Content-Length as soon as the origin\n' +
          'has been probed, then the file in order as it lands (the last block once the sha256, when\n' +
          'one is published, matches). Concurrent requests for one file share one download; finished\n' +
          'files are kept in --dir and served from there. Everything else (small files, other methods,\n' +
          'Range requests, origins without Range) passes through unchanged. The first line on stdout\n' +
          'is "listening on http://HOST:PORT".',
      )
      .option('host', { type: 'string', default: '127.0.0.1', ...valued, describe: 'address to listen on for clients (peers are met on the address facing the topology server)' })
      .option('port', { type: 'string', default: '8080', ...valued, coerce: port, describe: 'port to listen on (0: any free port, printed on the first line)' })
      .option('topology', { type: 'string', ...valued, describe: 'topology server URL, e.g. http://127.0.0.1:7070 (without it: each download alone)' })
      .option('dir', { type: 'string', default: defaultDir(), defaultDescription: '$XDG_CACHE_HOME/slurpie/proxy', ...valued, describe: 'cache directory: finished files, and .part files of downloads running or stopped' })
      .option('min-size', { type: 'string', default: '1MiB', ...valued, coerce: minSize, describe: 'smaller files pass through without a swarm' })
      .option('upload-limit', { ...GET_FLAGS['upload-limit'], describe: 'most bytes a second to send other peers, all downloads together, e.g. 1MiB (default: no limit; at least half a block a second)' })
      .option('download-limit', { ...GET_FLAGS['download-limit'], alias: 'limit-rate', describe: 'most bytes a second to take, from sources and peers, all downloads together and what passes through, on average, e.g. 2MiB (default: no limit)' })
      .option('linger', { ...GET_FLAGS['linger'], describe: 'seconds each finished file keeps being served to other peers, past the hand-over to those still downloading (needs --topology)' })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'also log protocol events' })
      .check((a) => {
        checkLimitFlags(a as { uploadLimit?: number; downloadLimit?: number });
        if (a.host.trim() === '') throw usage('--host must be an address, e.g. 127.0.0.1', a.host);
        if (a.dir.trim() === '') throw usage('--dir must be a directory', a.dir);
        if (a.topology !== undefined && !isHttpUrl(a.topology)) throw usage('--topology must be the http(s) URL of a topology server', a.topology);
        return true;
      })
      .fail((msg: string | undefined, err: Error | undefined) => {
        process.stderr.write(`slurpie proxy: ${usageLine(msg, err)} (see slurpie proxy --help)\n`);
        process.exit(2);
      }) as unknown as Argv<ProxyArgs>,
  handler: async (args: ArgumentsCamelCase<ProxyArgs>) => {
    const { startProxy } = await import('../../peer/node/proxy/proxy-server.ts');
    let proxy: Awaited<ReturnType<typeof startProxy>>;
    try {
      proxy = await startProxy({
        host: args.host, port: args.port, dir: args.dir, minSize: args.minSize,
        ...(args.topology !== undefined && { topology: args.topology }),
        ...(args.uploadLimit !== undefined && { uploadLimit: args.uploadLimit }),
        ...(args.downloadLimit !== undefined && { downloadLimit: args.downloadLimit }),
        linger: args.linger,
        protocolEvents: args.verbose,
        log: (level, msg) => {
          if (level !== 'debug' || args.verbose) process.stderr.write(`slurpie proxy: ${msg}\n`);
        },
      });
    } catch (err) {
      const reason = (err as { code?: string }).code ?? (err as Error).message;
      process.stderr.write(`slurpie proxy: cannot listen on ${args.host}:${args.port}: ${reason}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`listening on ${proxy.url}\n`);
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) process.exit(130); // a second signal: do not wait
      stopping = true;
      process.stderr.write(`slurpie proxy: ${signal}: stopping (the .part files of running downloads stay in ${args.dir}, to resume)\n`);
      proxy.close().then(() => process.exit(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  },
};

const port = number('--port must be a whole number 0–65535', (n) => Number.isInteger(n) && n >= 0 && n <= 65535);
const minSize = size('--min-size must be a positive size such as 1MiB');

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

// `slurpie serve FILE`: an ordinary HTTP/1.1 Range server with an optional egress limit,
// a stand-in for a slow origin when trying Slurpie out (experiments/source/range-server.ts).
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { SourceServer } from '../../experiments/source/range-server.ts';
import { formatBytes, parseBytes } from '../units.ts';
import { usageText } from '../usage-text.ts';

interface ServeArgs {
  file: string;
  rate: string | undefined;
  host: string;
  port: number;
  ranges: boolean;
  sha256File: boolean;
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve <file>',
  describe: 'serve FILE over HTTP with Range support and an optional egress rate limit (a stand-in for a slow origin)',
  builder: (y: Argv) =>
    y
      .usage(
        '$0 serve FILE [options]\n\nServe FILE over HTTP/1.1 (HEAD, GET, single byte ranges, ETag, If-Range), all\nconnections together limited to --rate. The first line on stdout is\n"serving http://HOST:PORT/NAME". GET /_stats answers the bytes sent so far as JSON.',
      )
      .positional('file', { type: 'string', describe: 'the file to serve', demandOption: true })
      .option('rate', { type: 'string', describe: 'egress limit over all connections, bytes/s (e.g. 4MiB); default unlimited' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on' })
      .option('port', { type: 'number', default: 8080, describe: 'port to listen on (0: any free port, printed on the first line)' })
      .option('ranges', { type: 'boolean', default: true, describe: 'honor Range requests (--no-ranges: always the full body, like a server without Range)' })
      .option('sha256-file', { type: 'boolean', default: false, describe: 'also serve NAME.sha256 (hashes the file at start)' })
      .check((a) => {
        if (a.rate !== undefined) parseBytes(a.rate, 'rate');
        if (typeof a.host !== 'string' || a.host.trim() === '') throw new Error('--host must be an address, e.g. 127.0.0.1');
        if (typeof a.port !== 'number' || !Number.isInteger(a.port) || a.port < 0 || a.port > 65535) {
          throw new Error(`--port must be an integer from 0 to 65535, got ${String(a.port)}`);
        }
        return true;
      })
      // One line and exit 2 for a bad flag, whatever the root's failure handler does.
      .fail((msg: string | undefined, err: Error | undefined) => {
        process.stderr.write(`slurpie serve: ${usageText(msg, err)} (see slurpie serve --help)\n`);
        process.exit(2);
      }) as unknown as Argv<ServeArgs>,
  handler: async (args: ArgumentsCamelCase<ServeArgs>) => {
    const rate = args.rate === undefined ? undefined : parseBytes(args.rate, 'rate');
    let server: SourceServer;
    try {
      const { startSourceServer } = await import('../../experiments/source/range-server.ts');
      const { sourceDelaysFromEnv } = await import('../../experiments/source/response-delay.ts');
      const responseDelayMs = sourceDelaysFromEnv(); // experiment-only: unset outside the testbed
      server = await startSourceServer({
        ...(responseDelayMs && { responseDelayMs }),
        file: args.file,
        host: args.host,
        port: args.port,
        ranges: args.ranges,
        sha256File: args.sha256File,
        ...(rate === undefined ? {} : { rate }),
      });
    } catch (err) {
      const e = err as { code?: string; message?: string };
      const reason = e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL' ? `cannot listen on ${args.host}:${args.port}: ${e.code}` : String(e.message);
      process.stderr.write(`slurpie: ${reason.replace(/\s+/g, ' ')}\n`);
      process.exitCode = 2;
      return;
    }
    process.stdout.write(`serving ${server.url}\n`);
    process.stderr.write(`slurpie: ${rate === undefined ? 'no rate limit' : `rate limit ${formatBytes(rate)}/s`}${args.ranges ? '' : ', Range ignored'}; Ctrl-C stops\n`);

    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) process.exit(130); // a second signal: do not wait for stragglers
      stopping = true;
      const { bytesSent, requests } = server.stats();
      process.stderr.write(`slurpie: ${signal}: stopping after ${requests} requests, ${formatBytes(bytesSent)} sent\n`);
      server.close().then(() => process.exit(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  },
};

// The flags of `slurpie get`, and their checks: every one is checked before any network or
// disk work, and every usage error is one line in one style, exit 2:
//   slurpie get: <what>, got <value> (see slurpie get --help)
import type { Argv } from 'yargs';
import type { PeerParams } from '../../peer/core/params.ts';
import { DEFAULT_USER_AGENT } from '../../peer/node/request-headers.ts';
import { checkGetArgs, GET_FLAGS, usage } from './get-checks.ts';
import { originOf, SETTINGS_HELP, withSettings } from '../settings.ts';
import { logFormatOption, type LogFormat } from '../log.ts';
import { usageText } from '../usage-text.ts';

export { blockSize, checkGetArgs, GET_FLAGS, httpUrl, number, size, usage } from './get-checks.ts';

export interface GetArgs {
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
  quiet: boolean;
  continue: boolean; // accepted, no effect: resuming is always on
  linger: number;
  uploadLimit?: number; // bytes a second
  downloadLimit?: number; // bytes a second
  sourceK: number;
  backoff: boolean;
  seed?: number;
  verbose: boolean;
  swarmKey?: string;
  header?: string | string[]; // repeated: an array
  headers?: Record<string, string>; // from --header (set by check())
  userAgent?: string;
  connectTimeout?: number;
  retry: number;
  logFormat?: LogFormat;
  metricsPort?: number;
  metricsHost: string;
  param?: string | string[]; // repeated: an array
  protocolParams?: Partial<PeerParams>; // from --param (set by check())
}

export function getBuilder(y: Argv): Argv<GetArgs> {
  return withSettings(logFormatOption(y
    .epilogue(SETTINGS_HELP)
    .positional('url', { type: 'string', demandOption: true, describe: 'http(s) URL of the file (the source; it needs no change)' })
    .option('output', { ...GET_FLAGS['output'], describe: 'where to write the file (default: the URL\'s file name); FILE.part until verified. "-": stdout, in order as it downloads (the sha256 is checked as it goes: exit 6 if wrong)' })
    .option('topology', { ...GET_FLAGS['topology'], describe: 'topology server URL, e.g. http://127.0.0.1:7070 (without it: download alone)' })
    .option('topology-token-file', { ...GET_FLAGS['topology-token-file'], describe: 'file holding the topology server\'s token, sent as "Authorization: Bearer <token>" (default: $SLURPIE_TOPOLOGY_TOKEN)' })
    .option('host', { ...GET_FLAGS['host'], describe: 'address to accept peers on and advertise (default: the one facing the topology server, which hands out the address it sees unless it runs with --trust-host-field)' })
    .option('port', { ...GET_FLAGS['port'], describe: 'port to accept peers on (0: any free port)' })
    .option('sha256', { ...GET_FLAGS['sha256'], describe: 'expected SHA-256 of the file (default: URL.sha256 if the source has one)' })
    .option('swarm-secret', { ...GET_FLAGS['swarm-secret'], describe: 'join a private swarm: only peers with the same secret find it and get blocks from it (also SLURPIE_SWARM_SECRET)' })
    .option('block-size', { ...GET_FLAGS['block-size'], describe: 'block size' })
    .option('stats-json', { ...GET_FLAGS['stats-json'], describe: 'write the download\'s stats (JSON) to this file' })
    .option('progress', { ...GET_FLAGS['progress'], describe: 'progress on stderr: a bar on a terminal, else a plain line every 5 s (--no-progress to hide)' })
    .option('quiet', { ...GET_FLAGS['quiet'], describe: 'print nothing but errors (like curl -sS): no progress, no notes, no final line' })
    .option('continue', { ...GET_FLAGS['continue'], describe: 'resume a partial download (accepted for curl -C / wget -c habits: get always resumes FILE.part)' })
    .option('linger', { ...GET_FLAGS['linger'], describe: 'seconds to keep serving other peers after finishing' })
    .option('upload-limit', { ...GET_FLAGS['upload-limit'], describe: 'most bytes a second to send other peers, all together, e.g. 1MiB (default: no limit; at least half a block a second)' })
    .option('download-limit', { ...GET_FLAGS['download-limit'], alias: 'limit-rate', describe: 'most bytes a second to take, from the source and peers together, on average, e.g. 2MiB (like curl --limit-rate; default: no limit)' })
    .option('source-k', { ...GET_FLAGS['source-k'], describe: 'go to the source with probability k/n each round (n: group-size estimate)' })
    .option('backoff', { ...GET_FLAGS['backoff'], describe: 'random backoff at the source (--no-backoff: go every round, for ablation)' })
    .option('seed', { ...GET_FLAGS['seed'], describe: 'seed for the peer\'s random choices (default: random)' })
    .option('verbose', { ...GET_FLAGS['verbose'], describe: 'log the protocol\'s events to stderr: the topology server\'s answer, links opened and closed, the source\'s leases and Range GETs, the bandwidth estimator\'s state and the group-size estimate' })
    .option('swarm-key', { ...GET_FLAGS['swarm-key'], describe: 'name the swarm by this instead of the URL: peers fetching the same bytes from mirrors or different links join one swarm' })
    .option('header', { ...GET_FLAGS['header'], describe: '"Name: value" sent to the source with every request (repeatable; never to peers or the topology server)' })
    .option('user-agent', { ...GET_FLAGS['user-agent'], describe: `User-Agent sent to the source (default ${DEFAULT_USER_AGENT})` })
    .option('connect-timeout', { ...GET_FLAGS['connect-timeout'], describe: 'seconds to wait for a connection to the source (default 10)' })
    .option('retry', { ...GET_FLAGS['retry'], describe: 'retries of a 5xx or network failure at the source, per request' })
    .option('metrics-port', { ...GET_FLAGS['metrics-port'], describe: 'serve Prometheus metrics at http://HOST:PORT/metrics while downloading and lingering (0: any free port; the URL is printed on stderr)' })
    .option('metrics-host', { ...GET_FLAGS['metrics-host'], describe: 'address for --metrics-port to listen on' })
    .option('param', { ...GET_FLAGS['param'], describe: 'NAME=VALUE: a protocol parameter of peer/core/params.ts for studies and ablations, e.g. updateIntervalMs=1000 (repeatable; the defaults are there, PROTOCOL.md §4\'s where it gives them)' }), usage)
    .check((a) => checkGetArgs(a as Partial<GetArgs> & Record<string, unknown>)) // the flags are typed by GetArgs, not GET_FLAGS
    .fail(failGet), 'get') as unknown as Argv<GetArgs>;
}

/** yargs' own messages (missing values, unknown flags) put into the same style as ours. */
export function usageLine(msg: string | null | undefined, err: Error | undefined): string {
  const text = msg || err?.message || 'bad usage';
  let m: RegExpExecArray | null;
  if (/^Not enough non-option arguments/.test(text)) return 'the URL to download is needed, got nothing';
  if ((m = /^Too many non-option arguments: got (\d+)/.exec(text))) return `one URL at a time, got ${Number(m[1]) - 1}`;
  return usageText(text, undefined, 'bad usage');
}

export function failGet(msg: string | null | undefined, err: Error | undefined): never {
  const line = usageLine(msg, err);
  process.stderr.write(`slurpie get: ${line}${originOf(line)} (see slurpie get --help)\n`);
  process.exit(2);
}

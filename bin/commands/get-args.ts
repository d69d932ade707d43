// The flags of `slurpie get`, and their checks: every one is checked before any network or
// disk work, and every usage error is one line in one style, exit 2:
//   slurpie get: <what>, got <value> (see slurpie get --help)
import type { Argv } from 'yargs';
import { readFileSync } from 'node:fs';
import { checkHeader, DEFAULT_USER_AGENT, parseHeaderLine } from '../../peer/node/request-headers.ts';
import { checkToken } from '../token.ts';
import { parseBytes } from '../units.ts';
import { originOf, SETTINGS_HELP, withSettings } from '../settings.ts';
import { logFormatOption, type LogFormat } from '../log.ts';

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
}

/** A usage error: `what` is the rule, `got` the value as typed (undefined: nothing was given). */
export function usage(what: string, got: unknown): Error {
  const shown = got === undefined || got === '' ? 'nothing' : typeof got === 'string' ? JSON.stringify(got) : String(got);
  return new Error(`${what}, got ${shown}`);
}

// requiresArg everywhere a value is expected: without it `get URL --topology` parses as an
// empty string (or a boolean) and the download starts alone without a word.
const valued = { requiresArg: true } as const;

export function getBuilder(y: Argv): Argv<GetArgs> {
  return withSettings(logFormatOption(y
    .epilogue(SETTINGS_HELP)
    .positional('url', { type: 'string', demandOption: true, describe: 'http(s) URL of the file (the source; it needs no change)' })
    .option('output', { alias: 'o', type: 'string', ...valued, describe: 'where to write the file (default: the URL\'s file name); FILE.part until verified. "-": stdout, in order as it downloads (the sha256 is checked as it goes: exit 6 if wrong)' })
    .option('topology', { type: 'string', ...valued, describe: 'topology server URL, e.g. http://127.0.0.1:7070 (without it: download alone)' })
    .option('topology-token-file', { type: 'string', ...valued, describe: 'file holding the topology server\'s token, sent as "Authorization: Bearer <token>" (default: $SLURPIE_TOPOLOGY_TOKEN)' })
    .option('host', { type: 'string', ...valued, describe: 'address to accept peers on and advertise (default: the one facing the topology server, which hands out the address it sees unless it runs with --trust-host-field)' })
    .option('port', { type: 'string', default: '0', ...valued, coerce: number('--port must be a whole number 0–65535', (n) => Number.isInteger(n) && n >= 0 && n <= 65535), describe: 'port to accept peers on (0: any free port)' })
    .option('sha256', { type: 'string', ...valued, describe: 'expected SHA-256 of the file (default: URL.sha256 if the source has one)' })
    .option('swarm-secret', {
      type: 'string', ...valued,
      describe: 'join a private swarm: only peers with the same secret find it and get blocks from it (also SLURPIE_SWARM_SECRET)',
    })
    .option('block-size', { type: 'string', default: '256KiB', ...valued, coerce: blockSize, describe: 'block size' })
    .option('stats-json', { type: 'string', ...valued, describe: 'write the download\'s stats (JSON) to this file' })
    .option('progress', { type: 'boolean', default: true, describe: 'progress on stderr: a bar on a terminal, else a plain line every 5 s (--no-progress to hide)' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print nothing but errors (like curl -sS): no progress, no notes, no final line' })
    .option('continue', { alias: 'c', type: 'boolean', default: false, describe: 'resume a partial download (accepted for curl -C / wget -c habits: get always resumes FILE.part)' })
    .option('linger', { type: 'string', default: '0', ...valued, coerce: number('--linger must be a number of seconds >= 0', (n) => n >= 0), describe: 'seconds to keep serving other peers after finishing' })
    .option('source-k', { type: 'string', default: '3', ...valued, coerce: number('--source-k must be a positive number', (n) => n > 0), describe: 'go to the source with probability k/n each round (n: group-size estimate)' })
    .option('backoff', { type: 'boolean', default: true, describe: 'random backoff at the source (--no-backoff: go every round, for ablation)' })
    .option('seed', { type: 'string', ...valued, coerce: number('--seed must be a whole number', (n) => Number.isSafeInteger(n)), describe: 'seed for the peer\'s random choices (default: random)' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'log protocol events to stderr' })
    .option('swarm-key', { type: 'string', ...valued, describe: 'name the swarm by this instead of the URL: peers fetching the same bytes from mirrors or different links join one swarm' })
    .option('header', { alias: 'H', type: 'string', ...valued, describe: '"Name: value" sent to the source with every request (repeatable; never to peers or the topology server)' })
    .option('user-agent', { type: 'string', ...valued, describe: `User-Agent sent to the source (default ${DEFAULT_USER_AGENT})` })
    .option('connect-timeout', { type: 'string', ...valued, coerce: number('--connect-timeout must be a positive number of seconds', (n) => n > 0 && n <= 3600), describe: 'seconds to wait for a connection to the source (default 10)' })
    .option('retry', { type: 'string', default: '2', ...valued, coerce: number('--retry must be a whole number 0–100', (n) => Number.isInteger(n) && n >= 0 && n <= 100), describe: 'retries of a 5xx or network failure at the source, per request' })
    .option('metrics-port', {
      type: 'string', ...valued, coerce: number('--metrics-port must be a whole number 0–65535', (n) => Number.isInteger(n) && n >= 0 && n <= 65535),
      describe: 'serve Prometheus metrics at http://HOST:PORT/metrics while downloading and lingering (0: any free port; the URL is printed on stderr)',
    })
    .option('metrics-host', { type: 'string', default: '127.0.0.1', ...valued, describe: 'address for --metrics-port to listen on' }), usage)
    .check(checkGetArgs)
    .fail(failGet), 'get') as unknown as Argv<GetArgs>;
}

// Numbers are read as strings and converted here, so an error shows what was typed, not NaN.
export function number(rule: string, ok: (n: number) => boolean): (v: unknown) => number {
  return (v) => {
    const n = typeof v === 'number' ? v : String(v).trim() === '' ? NaN : Number(v);
    if (!ok(n)) throw usage(rule, v);
    return n;
  };
}

export const blockSize = size('--block-size must be a positive size such as 65536, 256KiB or 1MiB');

/** A coercer for a size flag (65536, 256KiB, 1MiB) whose error is `rule`. */
export function size(rule: string): (v: unknown) => number {
  return (v) => {
    try {
      return parseBytes(v, 'size');
    } catch {
      throw usage(rule, v);
    }
  };
}

/** Throws a usage error for the first flag that cannot be used; fills in topologyToken. */
export function checkGetArgs(a: Partial<GetArgs> & Record<string, unknown>): true {
  httpUrl(a.url, 'the URL to download must be an http(s) URL');
  if (a.topology !== undefined) httpUrl(a.topology, '--topology must be the http(s) URL of a topology server');
  if (a.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(a.sha256.trim())) throw usage('--sha256 must be 64 hex digits', a.sha256);
  for (const [flag, value] of [['--output', a.output], ['--host', a.host], ['--stats-json', a.statsJson], ['--metrics-host', a.metricsHost]] as const) {
    if (value === '') throw usage(`${flag} needs a value`, value);
  }
  if (a.swarmKey !== undefined && a.swarmKey.trim() === '') throw usage('--swarm-key must not be empty', a.swarmKey);
  if (a.header !== undefined) a.headers = headersOf([a.header].flat()); // not array: true, which would swallow the URL after -H
  if (a.userAgent !== undefined) {
    const ua = checkHeader('user-agent', a.userAgent);
    if (a.userAgent.trim() === '' || 'error' in ua) throw usage('--user-agent must be non-empty text without control characters', a.userAgent);
  }
  // Secrets and tokens are never echoed back.
  if (a.swarmSecret === '') throw usage('--swarm-secret must not be empty', '');
  const env = process.env.SLURPIE_TOPOLOGY_TOKEN;
  const file = a.topologyTokenFile;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw usage(`--topology-token-file must be a readable file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`, file);
    }
    try {
      a.topologyToken = checkToken(text, '--topology-token-file');
    } catch {
      throw usage('--topology-token-file must hold one token of printable ASCII without spaces', file);
    }
  } else if (env !== undefined && env.trim() !== '') {
    try {
      a.topologyToken = checkToken(env, 'SLURPIE_TOPOLOGY_TOKEN');
    } catch {
      throw new Error('SLURPIE_TOPOLOGY_TOKEN must hold one token of printable ASCII without spaces, got something else');
    }
  }
  return true;
}

function headersOf(lines: unknown[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const parsed = parseHeaderLine(String(line));
    if ('error' in parsed) throw usage(`--header ${parsed.error}`, line);
    headers[parsed.name] = parsed.value;
  }
  return headers;
}

export function httpUrl(text: unknown, what: string): void {
  let parsed: URL | null = null;
  try {
    parsed = new URL(String(text));
  } catch {
    // not a URL at all
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || !parsed.hostname) throw usage(what, text);
}

/** yargs' own messages (missing values, unknown flags) put into the same style as ours. */
export function usageLine(msg: string | null | undefined, err: Error | undefined): string {
  const text = msg || err?.message || 'bad usage';
  let m: RegExpExecArray | null;
  if ((m = /^Not enough arguments following: (.+)$/.exec(text))) return `${dashed(m[1] as string)} needs a value, got nothing`;
  if ((m = /^Unknown arguments?: (.+)$/.exec(text))) return `unknown flag or extra argument, got ${m[1] as string}`;
  if (/^Not enough non-option arguments/.test(text)) return 'the URL to download is needed, got nothing';
  if ((m = /^Too many non-option arguments: got (\d+)/.exec(text))) return `one URL at a time, got ${Number(m[1]) - 1}`;
  return text;
}

function dashed(name: string): string {
  return name.startsWith('-') || /^[a-z]+:/.test(name) ? name : name.length === 1 ? `-${name}` : `--${name}`;
}

function failGet(msg: string | null | undefined, err: Error | undefined): never {
  const line = usageLine(msg, err);
  process.stderr.write(`slurpie get: ${line}${originOf(line)} (see slurpie get --help)\n`);
  process.exit(2);
}

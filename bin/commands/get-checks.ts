// The checks and coercions of `slurpie get`'s flags, without yargs: the yargs builder
// (get-args.ts) and the fast path that parses a plain `get` command line (get-fast.ts) share
// them, so both accept and convert exactly the same values.
import { readFileSync } from 'node:fs';
import { checkHeader, parseHeaderLine } from '../../peer/node/request-headers.ts';
import { parseParamFlags } from '../protocol-params.ts';
import { checkToken } from '../token.ts';
import { MIN_DOWNLOAD_RATE } from '../../peer/core/download-budget.ts';
import { uploadLimitFloor } from '../../peer/node/rate-limits.ts';
import { formatBytes, parseBytes } from '../units.ts';
import type { GetArgs } from './get-args.ts';

/** A usage error: `what` is the rule, `got` the value as typed (undefined: nothing was given). */
export function usage(what: string, got: unknown): Error {
  const shown = got === undefined || got === '' ? 'nothing' : typeof got === 'string' ? JSON.stringify(got) : String(got);
  return new Error(`${what}, got ${shown}`);
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

/** What yargs needs of one of get's flags (its help text is in get-args.ts), and the fast path too. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  alias?: string;
  default?: string | boolean;
  requiresArg?: true;
  coerce?: (v: unknown) => unknown;
}

// requiresArg everywhere a value is expected: without it `get URL --topology` parses as an
// empty string (or a boolean) and the download starts alone without a word.
const text = (more: Omit<FlagSpec, 'type' | 'requiresArg'> = {}): FlagSpec => ({ type: 'string', requiresArg: true, ...more });
const flag = (value: boolean, alias?: string): FlagSpec => ({ type: 'boolean', default: value, ...(alias !== undefined && { alias }) });

/** get's flags but --log-format and --config (log.ts, settings.ts): type, alias, default, coercion. */
export const GET_FLAGS: Readonly<Record<string, FlagSpec>> = {
  'output': text({ alias: 'o' }),
  'topology': text(),
  'topology-token-file': text(),
  'host': text(),
  'port': text({ default: '0', coerce: number('--port must be a whole number 0–65535', (n) => Number.isInteger(n) && n >= 0 && n <= 65535) }),
  'sha256': text(),
  'swarm-secret': text(),
  'block-size': text({ default: '256KiB', coerce: blockSize }),
  'stats-json': text(),
  'progress': flag(true),
  'quiet': flag(false, 'q'),
  'continue': flag(false, 'c'),
  'linger': text({ default: '0', coerce: number('--linger must be a number of seconds >= 0', (n) => n >= 0) }),
  'upload-limit': text({ coerce: size('--upload-limit must be a rate in bytes a second such as 512KiB or 2MB') }),
  'download-limit': text({ coerce: size('--download-limit must be a rate in bytes a second such as 512KiB or 2MB') }),
  'source-k': text({ default: '3', coerce: number('--source-k must be a positive number', (n) => n > 0) }),
  'backoff': flag(true),
  'seed': text({ coerce: number('--seed must be a whole number', (n) => Number.isSafeInteger(n)) }),
  'verbose': flag(false, 'v'),
  'swarm-key': text(),
  'header': text({ alias: 'H' }),
  'user-agent': text(),
  'connect-timeout': text({ coerce: number('--connect-timeout must be a positive number of seconds', (n) => n > 0 && n <= 3600) }),
  'retry': text({ default: '2', coerce: number('--retry must be a whole number 0–100', (n) => Number.isInteger(n) && n >= 0 && n <= 100) }),
  'metrics-port': text({ coerce: number('--metrics-port must be a whole number 0–65535', (n) => Number.isInteger(n) && n >= 0 && n <= 65535) }),
  'metrics-host': text({ default: '127.0.0.1' }),
  'param': text(),
};

/** Throws a usage error if --upload-limit or --download-limit is under its floor (`get`, `proxy`). */
export function checkLimitFlags(a: { uploadLimit?: number | undefined; downloadLimit?: number | undefined; blockSize?: number | undefined }): void {
  if (a.uploadLimit !== undefined) {
    const block = a.blockSize ?? 256 * 1024;
    const floor = uploadLimitFloor(block);
    if (a.uploadLimit < floor) throw usage(`--upload-limit must be at least half a block a second (${formatBytes(floor)}/s with ${formatBytes(block)} blocks: slower, the peers asking would time out)`, formatBytes(a.uploadLimit) + '/s');
  }
  if (a.downloadLimit !== undefined && a.downloadLimit < MIN_DOWNLOAD_RATE) {
    throw usage(`--download-limit must be at least ${MIN_DOWNLOAD_RATE} bytes a second`, formatBytes(a.downloadLimit) + '/s');
  }
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
  checkLimitFlags(a);
  if (a.header !== undefined) a.headers = headersOf([a.header].flat()); // not array: true, which would swallow the URL after -H
  if (a.param !== undefined) a.protocolParams = parseParamFlags([a.param].flat());
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

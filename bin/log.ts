// The command line's log (issue #14): one pino logger per command, on stderr, in one of three
// formats (--log-format):
//   json    one JSON object a line: level, time, msg, and fields (url, peer, bytes…), for machines
//   pretty  on a terminal: the time, the level in colour, the message, the fields dimmed
//   plain   off a terminal (the default there): "slurpie: message", the wording scripts know
// The library's `log(level, msg)` callback stays as it is; logFn() maps it onto this logger.
// pino is loaded only for json: plain and pretty lines are rendered here, and a peer's start-up
// is ~20 ms of CPU lighter without it (experiments start dozens of peers at once, issue #12).
import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import type { Progress } from '../peer/node/download.ts';
import type { LogFn } from '../peer/node/peer-node.ts';

export type LogFormat = 'json' | 'pretty' | 'plain';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty', 'plain'];

/** The --log-format option, for every command that logs. */
export function logFormatOption<T>(y: Argv<T>, usageError: (what: string, got: unknown) => Error): Argv<T & { logFormat?: LogFormat }> {
  return y.option('log-format', {
    type: 'string', requiresArg: true,
    describe: 'log lines on stderr: json (one object a line), pretty (terminal) or plain ("slurpie: …"); default pretty on a terminal, else plain',
    coerce: (v: unknown) => {
      if (!LOG_FORMATS.includes(v as LogFormat)) throw usageError('--log-format must be json, pretty or plain', v);
      return v as LogFormat;
    },
  }) as unknown as Argv<T & { logFormat?: LogFormat }>;
}

export interface CliLogOptions {
  format?: LogFormat | undefined;
  verbose?: boolean; // debug lines too
  quiet?: boolean; // errors only
  stream?: NodeJS.WritableStream & { isTTY?: boolean }; // default process.stderr
}

type Level = 'debug' | 'info' | 'warn' | 'error';
type Fields = Record<string, unknown>;
interface LogMethod {
  (msg: string): void;
  (fields: Fields, msg?: string): void;
}

/** What the commands use of a logger: pino's Logger is one (json), so is LineLogger (plain, pretty). */
export interface Logger {
  child(bindings: Fields): Logger;
  isLevelEnabled(level: string): boolean;
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

const RANK: Record<string, number> = { debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** A logger for `command` (its name goes into every JSON line). */
export function cliLogger(command: string, options: CliLogOptions = {}): Logger {
  const out = options.stream ?? process.stderr;
  const format = options.format ?? (out.isTTY ? 'pretty' : 'plain');
  const level: Level = options.quiet ? 'error' : options.verbose ? 'debug' : 'info';
  if (format === 'json') {
    const pino = createRequire(import.meta.url)('pino') as typeof import('pino');
    // Synchronous, so the last lines are out before process.exit().
    const dest = out === process.stderr ? pino.destination({ dest: 2, sync: true }) : out;
    return pino({ level, base: { cmd: command }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, dest);
  }
  return new LineLogger(format === 'pretty' ? prettyLine : plainLine, out, RANK[level] ?? 30, {});
}

class LineLogger implements Logger {
  constructor(
    private readonly render: (entry: Fields) => string,
    private readonly out: NodeJS.WritableStream,
    private readonly min: number,
    private readonly bindings: Fields,
  ) {}

  child(bindings: Fields): Logger {
    return new LineLogger(this.render, this.out, this.min, { ...this.bindings, ...bindings });
  }

  isLevelEnabled(level: string): boolean {
    return (RANK[level] ?? 0) >= this.min;
  }

  debug: LogMethod = (a: Fields | string, msg?: string) => this.write('debug', a, msg);
  info: LogMethod = (a: Fields | string, msg?: string) => this.write('info', a, msg);
  warn: LogMethod = (a: Fields | string, msg?: string) => this.write('warn', a, msg);
  error: LogMethod = (a: Fields | string, msg?: string) => this.write('error', a, msg);

  private write(level: Level, a: Fields | string, msg?: string): void {
    if (!this.isLevelEnabled(level)) return;
    const fields = typeof a === 'string' ? {} : a;
    const text = typeof a === 'string' ? a : msg;
    this.out.write(this.render({ level, time: Date.now(), ...this.bindings, ...fields, ...(text !== undefined && { msg: text }) }) + '\n');
  }
}

/** The library's log callback, on a logger; `beforeLine` runs first (e.g. to clear a progress bar). */
export function logFn(logger: Logger, beforeLine: () => void = () => {}): LogFn {
  return (level, msg) => {
    if (!logger.isLevelEnabled(level)) return;
    beforeLine();
    logger[level](msg);
  };
}

/** Progress for --log-format json: a "progress" line with the numbers every `everyMs`. */
export class JsonProgress {
  private last = performance.now();

  constructor(private readonly logger: Logger, private readonly everyMs = 5000) {}

  update(p: Progress): void {
    const now = performance.now();
    if (now - this.last < this.everyMs) return;
    this.last = now;
    this.logger.info({ ...p, seconds: Number(p.seconds.toFixed(2)) }, 'progress');
  }

  interrupt(): void {}

  stop(): void {}
}

const FIXED = new Set(['level', 'time', 'msg', 'cmd', 'pid', 'hostname']);

function fieldsOf(entry: Record<string, unknown>): string {
  return Object.entries(entry)
    .filter(([k, v]) => !FIXED.has(k) && v !== undefined) // as in JSON, where pino leaves them out
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

// Off a terminal: the message alone, as scripts and tests have always read it.
function plainLine(entry: Record<string, unknown>): string {
  return `slurpie: ${String(entry.msg ?? '')}`;
}

const COLOURS: Record<string, string> = { error: '31', fatal: '31', warn: '33', info: '36', debug: '90', trace: '90' };

function prettyLine(entry: Record<string, unknown>): string {
  const level = String(entry.level ?? 'info');
  const time = new Date(typeof entry.time === 'number' ? entry.time : Date.now()).toTimeString().slice(0, 8);
  const fields = fieldsOf(entry);
  return `\x1b[2m${time}\x1b[0m \x1b[${COLOURS[level] ?? '0'}m${level.toUpperCase().padEnd(5)}\x1b[0m ${String(entry.msg ?? '')}` +
    (fields ? ` \x1b[2m${fields}\x1b[0m` : '');
}

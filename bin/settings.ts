// Settings beneath the flags (issue #13): SLURPIE_* environment variables and a JSON config
// file, so that one SLURPIE_TOPOLOGY turns swarming on for a whole site. Precedence:
//   flag > SLURPIE_<FLAG> > config file > the flag's default.
// Both layers reach yargs as one config object, so the flags' own coercions and checks apply
// to them unchanged; a usage error about a value that came from here names where it came from.
// Not yargs' .env('SLURPIE'): under .strict() it refuses every unrelated SLURPIE_* variable
// (SLURPIE_NO_BUILD, SLURPIE_BIN…), and SLURPIE_SEED already means the test and replay seed.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Argv } from 'yargs';

// Flags with no SLURPIE_* variable: the config file's own flag, and --seed (SLURPIE_SEED is
// the seed of tests and experiments; every peer taking it would make them all choose alike).
const NO_ENV = new Set(['config', 'seed', 'help', 'version']);
const NOT_SETTINGS = new Set(['help', 'version', 'config', '$0', '_']);

/** Where the value of each flag set from outside the command line came from (for messages). */
const origins = new Map<string, string>();
const problems: string[] = [];

export const SETTINGS_HELP =
  'Every flag can also be set by an environment variable SLURPIE_<FLAG> (e.g. SLURPIE_TOPOLOGY=http://host:7070, ' +
  'SLURPIE_BLOCK_SIZE=1MiB; --seed excepted) or in a JSON config file (--config FILE, else $SLURPIE_CONFIG, else ' +
  '$XDG_CONFIG_HOME/slurpie/config.json or ~/.config/slurpie/config.json when present), e.g. {"topology": "http://host:7070"}; ' +
  'a "get" or "seed" section holds settings for that command only. A flag beats the environment, which beats the file.';

/** The default config file, if there is one. */
export function defaultConfigFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.trim() !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  const file = join(base, 'slurpie', 'config.json');
  return existsSync(file) ? file : undefined;
}

/**
 * Adds --config and the environment and config-file layers to a command's builder. Call it
 * last, once every option is declared: the flags it reads from outside are the ones declared.
 */
export function withSettings<T>(y: Argv<T>, command: string, args: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Argv<T> {
  const declared = y.option('config', {
    type: 'string', requiresArg: true,
    describe: 'JSON file of settings (default: $SLURPIE_CONFIG, else ~/.config/slurpie/config.json when present)',
  });
  const opts = (declared as unknown as { getOptions(): { key: Record<string, unknown>; boolean: string[]; alias: Record<string, string[]> } }).getOptions();
  const keys = Object.keys(opts.key).filter((k) => !NOT_SETTINGS.has(k) && !/[A-Z]/.test(k));
  const booleans = new Set(opts.boolean);
  const values: Record<string, unknown> = {};
  const file = configPath(args, env);
  if (file !== undefined) {
    for (const [key, value] of Object.entries(readConfigFile(file, command, new Set(keys)))) {
      set(key, value, `config file ${file}`);
    }
  }
  for (const key of keys) {
    const name = envName(key);
    if (name === undefined) continue;
    const raw = env[name];
    if (raw !== undefined && raw !== '') set(key, raw, name); // an empty variable is unset
  }
  function set(key: string, value: unknown, from: string): void {
    if (booleans.has(key)) {
      const b = toBoolean(value);
      if (b === null) {
        problems.push(`--${key} from ${from} must be true or false, got ${JSON.stringify(value)}`);
        return;
      }
      value = b;
    } else if (typeof value === 'number') {
      value = String(value); // the flags read numbers as strings, to echo what was typed
    }
    values[key] = value;
    if (!givenOnCommandLine(key, opts.alias[key] ?? [], args)) origins.set(key, from);
  }
  return declared.config(values).check(() => {
    if (problems.length > 0) throw new Error(problems[0]);
    return true;
  }) as unknown as Argv<T>;
}

/** The environment variable that sets flag `key` (SLURPIE_BLOCK_SIZE for block-size), if one does. */
export function envName(key: string): string | undefined {
  return NO_ENV.has(key) ? undefined : `SLURPIE_${key.replace(/-/g, '_').toUpperCase()}`;
}

/** " (from SLURPIE_PORT)" when `message` is about a flag whose value came from outside the command line. */
export function originOf(message: string): string {
  const m = /^(?:the )?--([a-z0-9-]+)/.exec(message);
  const from = m ? origins.get(m[1] as string) : undefined;
  return from === undefined || message.includes(from) ? '' : ` (from ${from})`;
}

function configPath(args: string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') break;
    if (arg === '--config') return args[i + 1];
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  if (env.SLURPIE_CONFIG !== undefined && env.SLURPIE_CONFIG !== '') return env.SLURPIE_CONFIG;
  return defaultConfigFile(env);
}

// Top-level keys apply to every command that has such a flag; a section named after the
// command ("get": {...}) applies to it alone, wins over the top level, and must name its flags.
function readConfigFile(file: string, command: string, keys: Set<string>): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? 'not valid JSON';
    problems.push(`--config must be a readable JSON file (${why}), got ${JSON.stringify(file)}`);
    return {};
  }
  if (!isObject(parsed)) {
    problems.push(`--config must hold a JSON object of settings, got ${JSON.stringify(file)}`);
    return {};
  }
  const out: Record<string, unknown> = {};
  const take = (obj: Record<string, unknown>, strict: boolean): void => {
    for (const [name, value] of Object.entries(obj)) {
      const key = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      if (keys.has(key) && !isObject(value)) out[key] = value;
      else if (strict) problems.push(`config file ${file}: "${command}" has no setting ${JSON.stringify(name)}`);
    }
  };
  take(parsed, false);
  const section = parsed[command];
  if (isObject(section)) take(section, true);
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toBoolean(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v;
  const s = String(v).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  return null;
}

function givenOnCommandLine(key: string, aliases: string[], args: string[]): boolean {
  const names = [key, ...aliases].map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
  return args.some((a) => names.some((n) => a === n || a.startsWith(`${n}=`) || a === `--no-${n.slice(2)}`));
}

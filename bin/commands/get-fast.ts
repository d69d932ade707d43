// The fast path of `slurpie get` (issue #12: a peer's start-up CPU). Building the yargs command
// tree and parsing with it cost a peer ~25 ms of CPU on every start, a sixth of its start-up,
// and experiments start dozens of peers at once. A plain command line, the one experiments and
// scripts use, is parsed here with the same flags, defaults, coercions and checks (GET_FLAGS,
// checkGetArgs); anything else returns null and yargs parses it as before: --help, --version,
// every usage error (so its message is yargs' and ours, unchanged), settings from SLURPIE_*
// variables or a config file, and every form of flag this does not read the way yargs-parser
// does (combined short flags, a value starting with "-", "--", a flag given twice…).
// test/get-fast.test.ts checks the result against yargs' for many command lines.
import { LOG_FORMATS, type LogFormat } from '../log.ts';
import { defaultConfigFile, envName } from '../settings.ts';
import type { GetArgs } from './get-args.ts';
import { checkGetArgs, GET_FLAGS, type FlagSpec } from './get-checks.ts';

const LOG_FORMAT: FlagSpec = { type: 'string', requiresArg: true };
const ALIASES = new Map(Object.entries(GET_FLAGS).flatMap(([name, spec]) => (spec.alias === undefined ? [] : [[spec.alias, name] as const])));

/** `argv` is the command line after `node slurpie.js` ("get", URL, flags…). */
export function fastGetArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): GetArgs | null {
  if (argv[0] !== 'get' || hasSettings(env)) return null;
  const given = new Map<string, string | boolean>();
  const repeated = new Map<string, string[]>([['header', []], ['param', []]]); // flags that may be given again
  let url: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] as string;
    let name: string | undefined;
    let value: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (eq >= 0) value = arg.slice(eq + 1);
      if (eq < 0 && name.startsWith('no-') && GET_FLAGS[name.slice(3)]?.type === 'boolean') {
        if (given.has(name.slice(3))) return null;
        given.set(name.slice(3), false);
        continue;
      }
    } else if (arg.startsWith('-')) {
      name = ALIASES.get(arg.slice(1)); // -o, -q, -c, -v, -H; not -h, nor -qv
      if (name === undefined) return null;
    } else {
      if (url !== undefined) return null;
      url = arg;
      continue;
    }
    const spec = name === 'log-format' ? LOG_FORMAT : GET_FLAGS[name];
    if (spec === undefined || (given.has(name) && !repeated.has(name))) return null;
    if (spec.type === 'boolean') {
      // yargs-parser takes a "true" or "false" after a boolean flag as its value
      if (value !== undefined || /^(true|false)$/.test(argv[i + 1] ?? '')) return null;
      given.set(name, true);
      continue;
    }
    if (value === undefined) value = argv[++i];
    if (value === undefined || value === '' || value.startsWith('-')) return null;
    repeated.get(name)?.push(value);
    given.set(name, value);
  }
  if (url === undefined) return null;
  try {
    const a: Record<string, unknown> = { url };
    for (const [name, spec] of Object.entries(GET_FLAGS)) {
      const all = repeated.get(name);
      const raw = all ? (all.length > 1 ? all : all[0]) : given.get(name) ?? spec.default;
      if (raw !== undefined) a[camel(name)] = spec.coerce ? spec.coerce(raw) : raw;
    }
    const logFormat = given.get('log-format');
    if (logFormat !== undefined) {
      if (!LOG_FORMATS.includes(logFormat as LogFormat)) return null;
      a.logFormat = logFormat;
    }
    checkGetArgs(a);
    return a as unknown as GetArgs;
  } catch {
    return null; // yargs says what is wrong
  }
}

/** Settings from outside the command line: SLURPIE_<FLAG>, SLURPIE_CONFIG, a config file. */
function hasSettings(env: NodeJS.ProcessEnv): boolean {
  const set = (name: string | undefined): boolean => name !== undefined && env[name] !== undefined && env[name] !== '';
  return set('SLURPIE_CONFIG') || [...Object.keys(GET_FLAGS), 'log-format'].some((key) => set(envName(key))) || defaultConfigFile(env) !== undefined;
}

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

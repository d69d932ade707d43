// `--param NAME=VALUE` (get, experiment, sim): any protocol parameter by its name in
// peer/core/params.ts, for studies and ablations (PROTOCOL.md §4 asks that its defaults be
// tuned by experiment). The peers of one swarm must agree on them only as far as the protocol
// needs (the block size, which has its own flag); the rest are each peer's own choices.
import { checkParamOverrides, DEFAULT_PARAMS, type PeerParams } from '../peer/core/params.ts';

/** "NAME=VALUE" texts (`flag` given once or repeated) as overrides; throws an Error of one line. */
export function parseParamFlags(values: readonly unknown[], flag = '--param'): Partial<PeerParams> {
  const overrides: Record<string, unknown> = {};
  for (const value of values) {
    const text = String(value);
    const eq = text.indexOf('=');
    if (eq <= 0) throw new Error(`${flag} must be NAME=VALUE (e.g. updateIntervalMs=1000), got ${JSON.stringify(text)}`);
    const name = text.slice(0, eq).trim();
    if (name in overrides) throw new Error(`${flag} ${name} is given twice`);
    overrides[name] = typedValue(name, text.slice(eq + 1).trim());
  }
  try {
    return checkParamOverrides(overrides);
  } catch (err) {
    throw new Error(`${flag}: ${(err as Error).message}`);
  }
}

/** The command-line form of overrides, for a `slurpie get` started by an experiment. */
export function paramFlags(params: Partial<PeerParams> | undefined): string[] {
  return Object.entries(params ?? {}).flatMap(([name, value]) => ['--param', `${name}=${String(value)}`]);
}

/** One line for the results: "updateIntervalMs 1000, eta 3", or null when there are none. */
export function describeParams(params: Partial<PeerParams> | undefined): string | null {
  const entries = Object.entries(params ?? {});
  return entries.length === 0 ? null : entries.map(([name, value]) => `${name} ${String(value)}`).join(', ');
}

// Numbers where the default is a number (checkParamOverrides then says what kind); words otherwise.
function typedValue(name: string, raw: string): unknown {
  const standard = (DEFAULT_PARAMS as unknown as Record<string, unknown>)[name];
  if (typeof standard !== 'number') return raw;
  const n = raw === '' ? NaN : Number(raw.replace(/_/g, ''));
  return Number.isFinite(n) ? n : raw;
}

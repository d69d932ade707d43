// Scenario files (experiments/scenarios/*.json): what one experiment runs, in one place, read
// by `slurpie experiment` (the namespace testbed) and mapped onto the simulator (plan.ts).
// Checked by hand, field by field: every mistake is one line naming the file and the field.
//
// The format (sizes and rates accept "32MiB", "1.25MB", 1048576; rates are bytes per second):
//   name, description, seed (integer), fileSize, blockSize? (default: the protocol's),
//   source: { up, down, latencyMs },
//   peers: { count, links: { up, down, latencyMs, downloadLimit? }       (every peer alike)
//                        | { classes: [{ name?, share, up, down, latencyMs, downloadLimit? }, ...] } }
//          classes: shares sum to 1; counts by largest remainder, the peers shuffled by the seed;
//          downloadLimit: a user's cap, not the link's: those peers run `get --download-limit`,
//          `curl --limit-rate` and the BitTorrent clients' own download limits,
//   arrivals: { kind: "flash" } | { kind: "uniform", overSeconds }   (uniform: drawn from the seed),
//   churn?: { fraction, withinSeconds }: that fraction of the peers (drawn from the seed) is
//           stopped at a time uniform in [arrival, arrival + withinSeconds] unless done by then,
//   timeLimitSeconds: a system still running then is stopped and reported as such,
//   baselineTimeLimitSeconds?: the same for plain HTTP and BitTorrent only (default: timeLimitSeconds):
//           plain HTTP takes N·F/u_s, far past slurpie's limit, so a scenario may cap them sooner,
//   params?: { NAME: value, ... }: protocol parameters of peer/core/params.ts for slurpie's peers
//           and the simulator's (a study or an ablation; `slurpie experiment --param` adds to them).
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseBytes } from '../../bin/units.ts';
import { MIN_DOWNLOAD_RATE } from '../../peer/core/download-budget.ts';
import { checkParamOverrides, type PeerParams } from '../../peer/core/params.ts';
import { PROJECT_ROOT } from '../swarm/project-root.ts';

export const SCENARIO_DIR = join(PROJECT_ROOT, 'experiments', 'scenarios');

export interface Link {
  up: number; // bytes/s
  down: number; // bytes/s
  latencyMs: number; // one way
  downloadLimit?: number; // bytes/s: a peer's `get --download-limit` (peers only)
}

export interface LinkClass extends Link {
  name: string;
  share: number; // of the peers, 0..1
}

export type PeerLinks = { kind: 'same'; link: Link } | { kind: 'classes'; classes: LinkClass[] };

export type Arrivals = { kind: 'flash' } | { kind: 'uniform'; overSeconds: number };

export interface Scenario {
  name: string;
  description: string;
  seed: number;
  fileBytes: number;
  blockBytes?: number;
  source: Link;
  peers: { count: number; links: PeerLinks };
  arrivals: Arrivals;
  churn?: { fraction: number; withinSeconds: number };
  timeLimitSeconds: number;
  baselineTimeLimitSeconds?: number; // for plain HTTP and BitTorrent only
  params?: Partial<PeerParams>; // slurpie's protocol parameters where they are not the defaults
}

/** A bad scenario: `message` is one line, "<file>: <field> <rule>, got <value>". */
export class ScenarioError extends Error {}

/** Reads a scenario by name (experiments/scenarios/NAME.json) or by path (anything with a / or ending .json). */
export async function loadScenario(nameOrPath: string): Promise<Scenario> {
  const byPath = nameOrPath.includes('/') || nameOrPath.endsWith('.json');
  if (!byPath && !/^[a-z0-9][a-z0-9-]*$/.test(nameOrPath)) throw new ScenarioError(`a scenario is a name such as lan-48 or a .json path, got ${JSON.stringify(nameOrPath)}`);
  const path = byPath ? nameOrPath : join(SCENARIO_DIR, `${nameOrPath}.json`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ScenarioError(code === 'ENOENT' && !byPath ? `no scenario named ${nameOrPath} in ${SCENARIO_DIR}` : `cannot read ${path} (${code ?? 'error'})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ScenarioError(`${basename(path)}: not JSON (${(err as Error).message.split('\n')[0]})`);
  }
  return parseScenario(json, basename(path));
}

/** Checks a parsed JSON value; throws ScenarioError (one line) at the first bad field. */
export function parseScenario(json: unknown, where: string): Scenario {
  const fail = (field: string, rule: string, got: unknown): never => {
    throw new ScenarioError(`${where}: ${field} ${rule}, got ${show(got)}`);
  };
  const root = object(json, 'the scenario', fail);
  known(root, ['name', 'description', 'seed', 'fileSize', 'blockSize', 'source', 'peers', 'arrivals', 'churn', 'timeLimitSeconds', 'baselineTimeLimitSeconds', 'params'], '', fail);
  const name = root.name;
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,40}$/.test(name)) fail('name', 'must be lower-case letters, digits and dashes', name);
  const description = root.description;
  if (typeof description !== 'string' || description.trim() === '') fail('description', 'must be a non-empty string', description);
  if (!Number.isSafeInteger(root.seed)) fail('seed', 'must be an integer', root.seed);
  const fileBytes = size(root.fileSize, 'fileSize', fail);
  const blockBytes = root.blockSize === undefined ? undefined : size(root.blockSize, 'blockSize', fail);
  const source = link(root.source, 'source', fail);

  const peers = object(root.peers, 'peers', fail);
  known(peers, ['count', 'links'], 'peers.', fail);
  const count = peers.count;
  if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > 250) fail('peers.count', 'must be a whole number from 1 to 250 (one /16 testbed)', count);
  const links = object(peers.links, 'peers.links', fail);
  let peerLinks: PeerLinks;
  if ('classes' in links) {
    known(links, ['classes'], 'peers.links.', fail);
    if (!Array.isArray(links.classes) || links.classes.length === 0) fail('peers.links.classes', 'must be a non-empty list', links.classes);
    const classes = (links.classes as unknown[]).map((c, i) => {
      const at = `peers.links.classes[${i}]`;
      const o = object(c, at, fail);
      known(o, ['name', 'share', 'up', 'down', 'latencyMs', 'downloadLimit'], `${at}.`, fail);
      if (!(typeof o.share === 'number' && o.share > 0 && o.share <= 1)) fail(`${at}.share`, 'must be a number in (0, 1]', o.share);
      if (o.name !== undefined && typeof o.name !== 'string') fail(`${at}.name`, 'must be a string', o.name);
      const { share: _share, name: _name, ...rest } = o;
      return { name: (o.name as string | undefined) ?? `class-${i}`, share: o.share as number, ...link(rest, at, fail, true) };
    });
    const total = classes.reduce((a, c) => a + c.share, 0);
    if (Math.abs(total - 1) > 1e-6) fail('peers.links.classes', 'shares must sum to 1', Number(total.toFixed(6)));
    peerLinks = { kind: 'classes', classes };
  } else {
    peerLinks = { kind: 'same', link: link(links, 'peers.links', fail, true) };
  }

  const arrivalsIn = object(root.arrivals, 'arrivals', fail);
  let arrivals: Arrivals;
  if (arrivalsIn.kind === 'flash') {
    known(arrivalsIn, ['kind'], 'arrivals.', fail);
    arrivals = { kind: 'flash' };
  } else if (arrivalsIn.kind === 'uniform') {
    known(arrivalsIn, ['kind', 'overSeconds'], 'arrivals.', fail);
    arrivals = { kind: 'uniform', overSeconds: positive(arrivalsIn.overSeconds, 'arrivals.overSeconds', fail) };
  } else {
    return fail('arrivals.kind', 'must be "flash" or "uniform"', arrivalsIn.kind);
  }

  let churn: Scenario['churn'];
  if (root.churn !== undefined) {
    const c = object(root.churn, 'churn', fail);
    known(c, ['fraction', 'withinSeconds'], 'churn.', fail);
    if (!(typeof c.fraction === 'number' && c.fraction >= 0 && c.fraction <= 1)) fail('churn.fraction', 'must be a number from 0 to 1', c.fraction);
    churn = { fraction: c.fraction as number, withinSeconds: positive(c.withinSeconds, 'churn.withinSeconds', fail) };
  }
  const timeLimitSeconds = positive(root.timeLimitSeconds, 'timeLimitSeconds', fail);
  const baselineTimeLimitSeconds = root.baselineTimeLimitSeconds === undefined ? undefined : positive(root.baselineTimeLimitSeconds, 'baselineTimeLimitSeconds', fail);
  let params: Partial<PeerParams> | undefined;
  if (root.params !== undefined) {
    try {
      params = checkParamOverrides(object(root.params, 'params', fail));
    } catch (err) {
      if (err instanceof ScenarioError) throw err;
      throw new ScenarioError(`${where}: params: ${(err as Error).message}`);
    }
  }

  return {
    name: name as string,
    description: description as string,
    seed: root.seed as number,
    fileBytes,
    ...(blockBytes !== undefined && { blockBytes }),
    source,
    peers: { count: count as number, links: peerLinks },
    arrivals,
    ...(churn !== undefined && { churn }),
    timeLimitSeconds,
    ...(baselineTimeLimitSeconds !== undefined && { baselineTimeLimitSeconds }),
    ...(params !== undefined && { params }),
  };
}

type Fail = (field: string, rule: string, got: unknown) => never;

function object(v: unknown, field: string, fail: Fail): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, 'must be an object', v);
  return v as Record<string, unknown>;
}

// A misspelt optional field would otherwise be ignored without a word.
function known(o: Record<string, unknown>, keys: string[], prefix: string, fail: Fail): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail(`${prefix}${k}`, `is not a field here (known: ${keys.join(', ')})`, o[k]);
}

/** A link; a peer's (`peer`) may also carry a download limit. */
function link(v: unknown, field: string, fail: Fail, peer = false): Link {
  const o = object(v, field, fail);
  known(o, ['up', 'down', 'latencyMs', ...(peer ? ['downloadLimit'] : [])], `${field}.`, fail);
  const latencyMs = o.latencyMs;
  if (!(typeof latencyMs === 'number' && Number.isFinite(latencyMs) && latencyMs >= 0 && latencyMs <= 10_000)) fail(`${field}.latencyMs`, 'must be a number of ms from 0 to 10000', latencyMs);
  const limit = o.downloadLimit === undefined ? undefined : size(o.downloadLimit, `${field}.downloadLimit`, fail);
  if (limit !== undefined && limit < MIN_DOWNLOAD_RATE) fail(`${field}.downloadLimit`, `must be at least ${MIN_DOWNLOAD_RATE} bytes a second`, o.downloadLimit);
  return { up: size(o.up, `${field}.up`, fail), down: size(o.down, `${field}.down`, fail), latencyMs: latencyMs as number, ...(limit !== undefined && { downloadLimit: limit }) };
}

function size(v: unknown, field: string, fail: Fail): number {
  if (typeof v !== 'string' && typeof v !== 'number') return fail(field, 'must be a size such as "32MiB", "1.25MB" or 1048576', v);
  try {
    return parseBytes(v, field);
  } catch {
    return fail(field, 'must be a positive size such as "32MiB", "1.25MB" or 1048576', v);
  }
}

function positive(v: unknown, field: string, fail: Fail): number {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) fail(field, 'must be a positive number', v);
  return v as number;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

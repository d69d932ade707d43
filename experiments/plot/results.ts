// What `slurpie plot` reads: experiment results files (/work/briefs/results-schema.md, version 1,
// written by `slurpie experiment`) and `slurpie sim --json` output, both turned into one shape,
// `Run`: a scenario (file size, N, T_min) and one `SystemRun` per system measured in it.
//
// Readers ignore unknown fields. A file that is not one of the two formats, or that lacks a
// field a plot needs, is refused with one line naming the file and the field (PlotInputError),
// so the command exits 2 before writing anything.
//
// A simulator result becomes a run with the one system `sim` (`sim-no-backoff` when it ran with
// --no-backoff). Its times are divided by its fluid bound max(F/u_s, F/d, N·F/(u_s + N·u)),
// the definition the results files use for T_min; the simulator's own `meanRatio` divides by
// F/u_s, which is the same number whenever the source is the bottleneck.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { isTenths } from '../testbed/progress.ts';
import type { SourceLink } from '../testbed/source-link.ts';

export interface PeerTime {
  seconds: number | null; // from the peer's own arrival; null: did not finish
  arrivalSeconds?: number; // from the launch (experiment results only)
  progressSeconds?: number[]; // from its arrival to holding each tenth of the file (experiment results since 2026-12-03)
}

export interface SystemRun {
  system: string;
  peers: number; // peers in this system's run (finished or not)
  finished: number;
  stopped: boolean; // the time limit stopped it
  timeLimitSeconds: number | null; // the limit it ran under, when known
  meanRatio: number | null; // mean time / T_min over finished peers
  sourceRatio: number; // bytes from the source / F
  peakSourceGets: number | null;
  perPeer: PeerTime[]; // empty when the input had no per-peer times
  sourceLink?: SourceLink; // the source link's bytes over the run (testbed results since 2026-12-03)
}

export interface Run {
  file: string; // the input path, for messages
  label: string; // the scenario name, for axes and legends
  kind: 'experiment' | 'sim';
  fileBytes: number;
  peers: number; // N
  tMinSeconds: number;
  systems: SystemRun[]; // skipped systems left out
}

/** A bad input file: the message is one line, without the command prefix. */
export class PlotInputError extends Error {}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** Field readers that throw PlotInputError naming the file and the field. */
class Fields {
  constructor(
    private readonly file: string,
    private readonly where: string,
  ) {}

  fail(field: string, want: string, got: unknown): never {
    throw new PlotInputError(`${this.file}: ${this.where}${field} must be ${want}, got ${show(got)}`);
  }

  positive(o: Obj, field: string): number {
    const v = o[field];
    return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : this.fail(field, 'a positive number', v);
  }

  count(o: Obj, field: string): number {
    const v = o[field];
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : this.fail(field, 'a count', v);
  }

  /** A non-negative number, or null (JSON has no NaN: the simulator's NaN arrives as null). */
  numberOrNull(o: Obj, field: string): number | null {
    const v = o[field];
    if (v === null || v === undefined) return null;
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : this.fail(field, 'a non-negative number or null', v);
  }

  text(o: Obj, field: string): string {
    const v = o[field];
    return typeof v === 'string' && v !== '' ? v : this.fail(field, 'a string', v);
  }

  array(o: Obj, field: string): unknown[] {
    const v = o[field];
    return Array.isArray(v) ? v : this.fail(field, 'an array', v);
  }

  object(o: Obj, field: string): Obj {
    const v = o[field];
    return isObj(v) ? v : this.fail(field, 'an object', v);
  }

  at(where: string): Fields {
    return new Fields(this.file, `${this.where}${where}.`);
  }
}

function peerTimes(file: string, f: Fields, list: unknown[], field: string): PeerTime[] {
  return list.map((p, i) => {
    if (!isObj(p)) throw new PlotInputError(`${file}: ${field}[${i}] must be an object, got ${show(p)}`);
    const g = f.at(`${field}[${i}]`);
    const arrival = g.numberOrNull(p, 'arrivalSeconds');
    const progress = p.progressSeconds === undefined || isTenths(p.progressSeconds) ? p.progressSeconds : g.fail('progressSeconds', 'at most 10 non-negative times, none earlier than the one before', p.progressSeconds);
    return { seconds: g.numberOrNull(p, 'seconds'), ...(arrival !== null && { arrivalSeconds: arrival }), ...(progress && { progressSeconds: progress }) };
  });
}

/** A system's `sourceLink`: its rate and [seconds, bytes] samples, both never decreasing. */
function sourceLinkOf(f: Fields, o: Obj): SourceLink {
  const g = f.at('sourceLink');
  const rate = g.positive(o, 'rate');
  const samples = g.array(o, 'samples').map((x, i): [number, number] => {
    const ok = Array.isArray(x) && x.length === 2 && x.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0);
    return ok ? [x[0] as number, x[1] as number] : g.fail(`samples[${i}]`, '[seconds, bytes], both non-negative numbers', x);
  });
  samples.forEach(([t, b], i) => {
    const prev = samples[i - 1];
    if (prev && (t < prev[0] || b < prev[1])) g.fail(`samples[${i}]`, 'no earlier and no smaller than the sample before it', [t, b]);
  });
  return { rate, samples };
}

function fromExperiment(file: string, doc: Obj): Run {
  const f = new Fields(file, '');
  const scenario = f.object(doc, 'scenario');
  const fileBytes = f.positive(doc, 'fileBytes');
  const peers = f.count(doc, 'peers');
  const tMinSeconds = f.positive(doc, 'tMinSeconds');
  const systems: SystemRun[] = [];
  f.array(doc, 'systems').forEach((s, i) => {
    const g = f.at(`systems[${i}]`);
    if (!isObj(s)) throw new PlotInputError(`${file}: systems[${i}] must be an object, got ${show(s)}`);
    const system = g.text(s, 'system');
    if (typeof s.skipped === 'string' && s.skipped !== '') return; // never ran here: nothing to draw
    const perPeer = s.perPeer === undefined ? [] : peerTimes(file, g, g.array(s, 'perPeer'), 'perPeer');
    const meanSeconds = g.numberOrNull(s, 'meanSeconds');
    const meanRatio = g.numberOrNull(s, 'meanRatio') ?? (meanSeconds === null ? null : meanSeconds / tMinSeconds);
    const sourceBytes = g.numberOrNull(s, 'sourceBytes');
    const sourceRatio = g.numberOrNull(s, 'sourceRatio') ?? (sourceBytes === null ? null : sourceBytes / fileBytes);
    if (sourceRatio === null) throw new PlotInputError(`${file}: systems[${i}] needs sourceRatio or sourceBytes, got neither`);
    systems.push({
      system,
      peers: perPeer.length || peers,
      finished: g.count(s, 'finished'),
      stopped: s.stopped === true,
      timeLimitSeconds: g.numberOrNull(s, 'timeLimitSeconds'),
      meanRatio,
      sourceRatio,
      peakSourceGets: g.numberOrNull(s, 'peakSourceGets'),
      perPeer,
      ...(s.sourceLink !== undefined && { sourceLink: sourceLinkOf(g, g.object(s, 'sourceLink')) }),
    });
  });
  const label = typeof scenario.name === 'string' && scenario.name !== '' ? scenario.name : basename(file, '.json');
  return { file, label, kind: 'experiment', fileBytes, peers, tMinSeconds, systems };
}

function fromSim(file: string, doc: Obj): Run {
  const f = new Fields(file, '');
  const scenario = f.object(doc, 'scenario');
  const sc = f.at('scenario');
  const peers = sc.count(scenario, 'peers');
  const fileBytes = sc.positive(scenario, 'size');
  const tMinSeconds = typeof doc.fluidBoundSeconds === 'number' && doc.fluidBoundSeconds > 0 ? doc.fluidBoundSeconds : f.positive(doc, 'tMinSeconds');
  const simTMin = f.positive(doc, 'tMinSeconds');
  const completed = f.count(doc, 'completed');
  const meanRatio = f.numberOrNull(doc, 'meanRatio');
  const perPeer = peerTimes(file, f, f.array(doc, 'peers'), 'peers');
  const params = isObj(scenario.params) ? scenario.params : {};
  const system = params.backoff === false ? 'sim-no-backoff' : 'sim';
  const run: SystemRun = {
    system,
    peers,
    finished: completed,
    stopped: doc.outcome !== 'complete',
    timeLimitSeconds: null,
    meanRatio: meanRatio === null ? null : (meanRatio * simTMin) / tMinSeconds,
    sourceRatio: f.positive(doc, 'sourceRatio'),
    peakSourceGets: f.numberOrNull(doc, 'peakSourceRuns'),
    perPeer,
  };
  const label = `sim N=${peers}`;
  return { file, label, kind: 'sim', fileBytes, peers, tMinSeconds, systems: [run] };
}

/** One input document, already parsed, as a Run; throws PlotInputError. */
export function toRun(file: string, doc: unknown): Run {
  if (!isObj(doc)) throw new PlotInputError(`${file}: must hold a JSON object, got ${show(doc)}`);
  if (doc.version !== undefined) {
    if (doc.version !== 1) throw new PlotInputError(`${file}: version must be 1, got ${show(doc.version)}`);
    return fromExperiment(file, doc);
  }
  if (Array.isArray(doc.systems)) return fromExperiment(file, doc);
  if (isObj(doc.scenario) && 'meanRatio' in doc && 'completed' in doc) return fromSim(file, doc);
  throw new PlotInputError(`${file}: is neither an experiment result (version, systems) nor \`slurpie sim --json\` output (meanRatio, completed), got keys ${show(Object.keys(doc).slice(0, 6))}`);
}

/** Reads and checks every file; throws PlotInputError on the first bad one. */
export async function loadRuns(files: readonly string[]): Promise<Run[]> {
  return Promise.all(
    files.map(async (file) => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'unreadable';
        throw new PlotInputError(`cannot read results file ${file}: ${code === 'ENOENT' ? 'no such file' : code}`);
      }
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (err) {
        throw new PlotInputError(`${file}: not JSON (${(err as Error).message.split('\n')[0]})`);
      }
      return toRun(file, doc);
    }),
  );
}

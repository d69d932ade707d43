// Regression check for the simulator: are two `slurpie sim --json` results the same run?
// One seed must replay a run exactly, so after a change that should not alter behaviour
// (a refactor, a faster event queue) every result must match byte for byte once the
// fields that measure the machine rather than the model are taken out: `wallMs` and
// `memory` (heap and RSS of the process that ran it).
//
// Run: node --import tsx experiments/sim/compare-results.ts A.json B.json
//      node --import tsx experiments/sim/compare-results.ts REF_DIR NEW_DIR   (every *.json of REF_DIR)
// Exit 0 when all match; 1 with the first differing paths otherwise; 2 on bad usage.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Top-level fields that depend on the machine, not on the scenario and seed. */
export const MACHINE_FIELDS = ['wallMs', 'memory'] as const;
const MAX_PATHS = 10;

/** A shallow copy without the machine fields. */
export function modelFields(result: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...result };
  for (const key of MACHINE_FIELDS) delete copy[key];
  return copy;
}

/** The JSON text of a result as the CLI writes it (2-space indent), minus the machine fields. */
export function canonical(result: Record<string, unknown>): string {
  return JSON.stringify(modelFields(result), null, 2);
}

/** Paths (a.b[3].c) where two JSON values differ, at most `limit` of them; key order counts. */
export function differences(a: unknown, b: unknown, limit = MAX_PATHS, path = '$', out: string[] = []): string[] {
  if (out.length >= limit) return out;
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null)) {
    out.push(`${path}: ${brief(a)} vs ${brief(b)}`);
  } else if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${path}: length ${a.length} vs ${b.length}`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) differences(a[i], b[i], limit, `${path}[${i}]`, out);
  } else if (a !== null && typeof a === 'object') {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    const ka = Object.keys(ra);
    const kb = Object.keys(rb);
    for (const k of ka) if (!(k in rb)) out.push(`${path}.${k}: only in the first`);
    for (const k of kb) if (!(k in ra)) out.push(`${path}.${k}: only in the second`);
    const common = ka.filter((k) => k in rb);
    if (common.join() !== kb.filter((k) => k in ra).join()) out.push(`${path}: keys in another order`);
    for (const k of common) differences(ra[k], rb[k], limit, `${path}.${k}`, out);
  } else if (a !== b) {
    out.push(`${path}: ${brief(a)} vs ${brief(b)}`);
  }
  return out.slice(0, limit);
}

function brief(x: unknown): string {
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Compares two result files; returns the problems found (empty: the same run). */
export function compareFiles(a: string, b: string): string[] {
  const ra = JSON.parse(readFileSync(a, 'utf8')) as Record<string, unknown>;
  const rb = JSON.parse(readFileSync(b, 'utf8')) as Record<string, unknown>;
  if (canonical(ra) === canonical(rb)) return [];
  const paths = differences(modelFields(ra), modelFields(rb));
  return paths.length > 0 ? paths : ['the texts differ (number formatting?) but no value does'];
}

function main(argv: string[]): number {
  const [a, b] = argv;
  if (argv.length !== 2 || a === undefined || b === undefined) {
    process.stderr.write('usage: compare-results.ts A.json B.json | REF_DIR NEW_DIR\n');
    return 2;
  }
  const pairs = statSync(a).isDirectory()
    ? readdirSync(a)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => [join(a, f), join(b, f)] as const)
    : [[a, b] as const];
  let failed = 0;
  for (const [x, y] of pairs) {
    let problems: string[];
    try {
      problems = compareFiles(x, y);
    } catch (err) {
      problems = [(err as Error).message];
    }
    if (problems.length === 0) {
      process.stdout.write(`same      ${x}  ${y}\n`);
    } else {
      failed++;
      process.stdout.write(`DIFFERENT ${x}  ${y}\n  ${problems.join('\n  ')}\n`);
    }
  }
  process.stdout.write(`${pairs.length - failed}/${pairs.length} identical (ignoring ${MACHINE_FIELDS.join(', ')})\n`);
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));

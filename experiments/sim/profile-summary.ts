// Where a simulator run spends its time: a V8 CPU profile (node --cpu-prof) summed by
// self time, split into the driver (experiments/sim), the core (peer/core), estimation/,
// the topology registry and the VM itself (garbage collector, natives), then the top
// functions. The point is to keep driver and core costs apart: the driver is ours to
// make cheaper, the core is the protocol.
//
// Profiles of TypeScript run through tsx put every function on line 1 (tsx hands V8
// whitespace-minified code), so a function is named by its column in that code; for
// anonymous ones, the code at that column is shown, from the same esbuild transform.
//
// Run: node --cpu-prof --cpu-prof-dir=/tmp/prof bin/slurpie.js sim --peers 1000 … --no-live
//      node --import tsx experiments/sim/profile-summary.ts /tmp/prof/CPU.….cpuprofile [top=15]
import { transformSync } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface Profile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

const AREAS: [string, string][] = [
  ['/experiments/sim/', 'driver'],
  ['/peer/core/', 'core'],
  ['/estimation/', 'estimation'],
  ['/topology-server/', 'topology'],
  ['/node_modules/', 'dependencies'],
];

function area(url: string): string {
  if (!url) return 'vm (gc, natives)';
  return AREAS.find(([part]) => url.includes(part))?.[1] ?? (url.startsWith('node:') ? 'node' : 'other');
}

const transformed = new Map<string, string>();

/** The code a tsx-run function starts with: tsx gives V8 esbuild's whitespace-minified output. */
function codeAt(url: string, column: number): string {
  const path = fileURLToPath(url);
  let code = transformed.get(path);
  if (code === undefined) {
    code = transformSync(readFileSync(path, 'utf8'), { loader: 'ts', format: 'esm', minifyWhitespace: true, keepNames: true, target: 'node20' }).code;
    transformed.set(path, code);
  }
  return code.slice(column, column + 60);
}

function summarize(profile: Profile, top: number): string[] {
  const self = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    self.set(id, (self.get(id) ?? 0) + dt);
  });
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, { us: number; frame: CallFrame }>();
  for (const { id, callFrame: f } of profile.nodes) {
    const us = self.get(id) ?? 0;
    byArea.set(area(f.url), (byArea.get(area(f.url)) ?? 0) + us);
    const key = `${f.url}:${f.lineNumber}:${f.columnNumber}:${f.functionName}`;
    const entry = byFunction.get(key) ?? { us: 0, frame: f };
    entry.us += us;
    byFunction.set(key, entry);
  }
  const s = (us: number): string => `${(us / 1e6).toFixed(1).padStart(6)} s ${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const lines = [`${(total / 1e6).toFixed(1)} s sampled, self time by part:`];
  for (const [name, us] of [...byArea].sort((a, b) => b[1] - a[1])) lines.push(`  ${s(us)}  ${name}`);
  lines.push(`top ${top} functions by self time:`);
  for (const { us, frame: f } of [...byFunction.values()].sort((a, b) => b.us - a.us).slice(0, top)) {
    const file = f.url.split('/').slice(-2).join('/');
    const tsxLineless = f.url.endsWith('.ts') && f.lineNumber === 0;
    const name = f.functionName || (tsxLineless && f.url.startsWith('file:') ? `(anonymous: ${codeAt(f.url, f.columnNumber)})` : '(anonymous)');
    lines.push(`  ${s(us)}  ${area(f.url).padEnd(10)} ${name}  ${file}${tsxLineless ? '' : `:${f.lineNumber + 1}`}`);
  }
  return lines;
}

const [file, top = '15'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary.ts FILE.cpuprofile [top]\n');
  process.exitCode = 2;
} else {
  process.stdout.write(`${summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(top)).join('\n')}\n`);
}

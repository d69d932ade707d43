// `npm run bench:alone -- [MiB] [--runs R] [--entry CLI.mjs]`: a peer alone against curl
// (issue #12: `slurpie get --sha256` of 256 MiB from an unthrottled local Range server in at
// most 1.2x the time of `curl -o` followed by `sha256sum`).
//
// Both fetch the same file from the same local range server (experiments/source) to the same
// directory, one after the other, alternating which goes first, R times (default 5); wall
// time from spawning to exit, so slurpie's start-up counts, as curl's does. The machine is
// shared: compare the medians of one sitting, not numbers across runs.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startSourceServer } from '../source/range-server.ts';
import { killChild, spawnCommand, spawnSlurpie, type Child } from '../swarm/processes.ts';
import { writeTestFile } from '../swarm/test-file.ts';

const MiB = 1024 * 1024;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '5' }, entry: { type: 'string' } },
});
const mib = Number(positionals[0] ?? 256);
const runs = Number(values.runs);
if (!(Number.isInteger(mib) && mib > 0 && Number.isInteger(runs) && runs > 0)) {
  console.error('usage: npm run bench:alone -- [MiB > 0] [--runs R] [--entry CLI.mjs]');
  process.exit(2);
}
for (const tool of ['curl', 'sha256sum']) {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
  } catch {
    console.error(`bench:alone needs ${tool} on the PATH`);
    process.exit(2);
  }
}
const entry = values.entry === undefined ? undefined : resolve(values.entry);

const children = new Set<Child>();
/** Runs a child to its end; its wall time in seconds (spawn to exit). */
async function timed(start: () => Child): Promise<number> {
  const t0 = performance.now();
  const child = start();
  children.add(child);
  const { code, at } = await child.exited;
  children.delete(child);
  if (code !== 0) throw new Error(`exited ${code}: ${child.stderr().trim()}`);
  return (at - t0) / 1000;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const dir = await mkdtemp(join(tmpdir(), 'slurpie-alone-'));
let server: { url: string; close: () => Promise<void> } | undefined;
try {
  const file = join(dir, 'file.bin');
  const sha = await writeTestFile(file, mib * MiB, 3);
  server = await startSourceServer({ file });
  const url = server.url;
  const out = join(dir, 'out.bin');
  console.log(`alone against curl: ${mib} MiB from an unthrottled local range server; ${entry ?? 'bin/slurpie.js'}; ${runs} runs`);
  const curlTimes: number[] = [];
  const getTimes: number[] = [];
  const curl = async (): Promise<void> => {
    // `curl … && sha256sum …`, as a person checks a download: one shell, timed whole.
    const script = `curl -sS -o '${out}' '${url}' && sha256sum '${out}' | grep -q '^${sha} '`;
    curlTimes.push(await timed(() => spawnCommand('sh', ['-c', script], {}, 'curl + sha256sum')));
    await rm(out, { force: true });
  };
  const get = async (): Promise<void> => {
    getTimes.push(await timed(() => spawnSlurpie(['get', url, '-q', '--sha256', sha, '-o', out], entry === undefined ? {} : { entry })));
    await rm(out, { force: true });
  };
  for (let run = 0; run < runs; run++) {
    if (run % 2 === 0) {
      await curl();
      await get();
    } else {
      await get();
      await curl();
    }
    console.log(`run ${run + 1}: curl + sha256sum ${curlTimes.at(-1)!.toFixed(2)} s, slurpie get --sha256 ${getTimes.at(-1)!.toFixed(2)} s`);
  }
  const c = median(curlTimes);
  const g = median(getTimes);
  console.log(`\nmedian of ${runs}: curl + sha256sum ${c.toFixed(2)} s, slurpie get --sha256 ${g.toFixed(2)} s: ${(g / c).toFixed(2)}x (issue #12: at most 1.2x)`);
} finally {
  for (const child of children) killChild(child, 'SIGKILL');
  await server?.close();
  await rm(dir, { recursive: true, force: true });
}

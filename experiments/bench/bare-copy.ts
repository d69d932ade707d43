// `npm run bench:bare-copy -- [MiB] [--runs R] [--entry CLI.mjs ...]`: how near a peer alone is to
// the cheapest copy Node can make. Issue #12 asks for half the CPU per MiB of the peer it
// started from; this measures, in one sitting against one unthrottled local range server,
// what a bare HTTP-to-disk copy costs in Node with no protocol at all (bare-copy-child.ts:
// 256 KiB blocks, SHA-256 in order, positioned writes, 4 in flight), for each HTTP client and
// write API, beside `slurpie get --sha256` alone (CPU at exit less start-up CPU, as
// bench:peer-cost). --entry, repeatable, adds other builds of the CLI, e.g. the original's,
// made as bench:peer-cost's header says. Each run goes through every variant in a rotated
// order; medians of --runs (default 3). The machine is shared: compare ratios of one sitting.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { startSourceServer } from '../source/range-server.ts';
import { spawnSlurpie } from '../swarm/processes.ts';
import { median } from '../testbed/median.ts';
import { writeTestFile } from '../swarm/test-file.ts';

const MiB = 1024 * 1024;
const CHILD = join(import.meta.dirname, 'bare-copy-child.ts');
const BARE = ['undici-handle', 'undici-fd', 'undici-sync', 'http-handle', 'http-fd', 'http-sync'];

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string', default: '3' }, entry: { type: 'string', multiple: true } } });
const mib = Number(positionals[0] ?? 256);
const runs = Number(values.runs);
if (!(Number.isInteger(mib) && mib > 0 && Number.isInteger(runs) && runs > 0)) {
  console.error('usage: npm run bench:bare-copy -- [MiB > 0] [--runs R] [--entry CLI.mjs ...]');
  process.exit(2);
}
// The peers: this checkout's, then each --entry (another build of the CLI, e.g. the original's).
const peers = new Map<string, string | undefined>([['slurpie get', undefined], ...(values.entry ?? []).map((e, i): [string, string] => [`slurpie get #${i + 1}`, resolve(e)])]);

async function bare(variant: string, url: string, out: string, sha256: string): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', CHILD, variant, url, out], { timeout: 120_000 });
  const r = JSON.parse(stdout) as { cpuMs: number; bytes: number; sha256: string };
  if (r.sha256 !== sha256 || r.bytes !== mib * MiB) throw new Error(`${variant}: copied ${r.bytes} bytes with sha256 ${r.sha256}`);
  return r.cpuMs / mib;
}

async function peer(entry: string | undefined, url: string, out: string, sha256: string, dir: string): Promise<number> {
  const statsPath = join(dir, 'stats.json');
  const child = spawnSlurpie(['get', url, '-q', '--sha256', sha256, '-o', out, '--stats-json', statsPath], entry === undefined ? {} : { entry });
  const { code } = await child.exited;
  const s = JSON.parse(await readFile(statsPath, 'utf8')) as { ok: boolean; cpuSeconds: number; startupCpuSeconds: number; error?: string };
  if (code !== 0 || !s.ok) throw new Error(`slurpie get exited ${code}: ${s.error ?? child.stderr().trim()}`);
  return ((s.cpuSeconds - s.startupCpuSeconds) * 1000) / mib;
}

const dir = await mkdtemp(join(tmpdir(), 'slurpie-bare-copy-'));
try {
  const file = join(dir, 'source.bin');
  const sha256 = await writeTestFile(file, mib * MiB, 3);
  const server = await startSourceServer({ file });
  try {
    const names = [...peers.keys(), ...BARE];
    const costs = new Map<string, number[]>(names.map((n) => [n, []]));
    for (const [name, entry] of peers) console.log(`${name}: ${entry ?? 'bin/slurpie.js'}`);
    console.log(`bare copies against the peers alone: ${mib} MiB from an unthrottled local server; ${runs} runs`);
    for (let run = 0; run < runs; run++) {
      const order = names.map((_, i) => names[(i + run) % names.length]!);
      const line: string[] = [];
      for (const name of order) {
        const out = join(dir, 'out.bin');
        const ms = peers.has(name) ? await peer(peers.get(name), server.url, out, sha256, dir) : await bare(name, server.url, out, sha256);
        await rm(out, { force: true });
        costs.get(name)!.push(ms);
        line.push(`${name} ${ms.toFixed(2)}`);
      }
      console.log(`run ${run + 1} (CPU-ms per MiB): ${line.join(', ')}`);
    }
    const peerMs = median(costs.get('slurpie get')!);
    console.log(`\nmedian of ${runs}, CPU-ms per MiB after start-up (and against slurpie get):`);
    for (const name of names) {
      const ms = median(costs.get(name)!);
      console.log(`  ${name.padEnd(14)} ${ms.toFixed(2).padStart(6)}  ${(ms / peerMs).toFixed(2)}`);
    }
  } finally {
    await server.close();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

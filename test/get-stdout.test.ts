// `slurpie get URL -o -` (issue #13): the file in order on stdout, everything else on stderr,
// the exit status telling whether the bytes verified; no .part file left behind either way.
// Serial: each test starts a `slurpie` process.
import test from 'ava';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import type { ExecutionContext } from 'ava';
import { SeededRng, seedFrom } from '../estimation/random.ts';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { killChild, spawnSlurpie } from '../experiments/swarm/processes.ts';
import { scratch } from './fixtures/cli-run.ts';

const seed = seedFrom(process.env, 13);
const MiB = 1024 * 1024;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function content(size: number): Buffer {
  const rng = new SeededRng(seed);
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) buf.writeUInt32LE((rng.next() * 2 ** 32) >>> 0, i);
  return buf;
}

/** Runs `slurpie ARGS` with its temporary files in `tmp`; stdout as bytes. */
async function run(t: ExecutionContext, args: string[], tmp: string): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const child = spawnSlurpie(args, { env: { TMPDIR: tmp } });
  t.teardown(() => killChild(child, 'SIGKILL'));
  const chunks: Buffer[] = [];
  child.proc.stdout?.on('data', (d: Buffer) => chunks.push(d));
  const { code } = await child.exited;
  return { code, stdout: Buffer.concat(chunks), stderr: child.stderr() };
}

test.serial('get -o -: the file on stdout, byte for byte; notes and the summary on stderr; no temporary file left', async (t) => {
  t.timeout(120_000);
  t.log(`seed ${seed}`);
  const data = content(6 * MiB + 12344);
  const source = await startSourceServer({ data, name: 'piped.bin', rate: 8 * MiB });
  t.teardown(() => source.close());
  const tmp = await scratch(t);
  const { code, stdout, stderr } = await run(t, ['get', source.url, '-o', '-', '--sha256', sha(data), '--block-size', '64KiB'], tmp);
  t.is(code, 0, stderr);
  t.is(stdout.length, data.length);
  t.true(stdout.equals(data), 'stdout is the source\'s bytes');
  t.regex(stderr, /^-: 6\.0 MiB in .* verified \(--sha256\)$/m);
  t.deepEqual((await readdir(tmp)).filter((f) => f.startsWith('slurpie')), [], 'the temporary .part directory is gone');
});

test.serial('get -o - with a wrong --sha256: exit 6, and stdout stops short of the last block', async (t) => {
  t.timeout(120_000);
  const data = content(2 * MiB);
  const source = await startSourceServer({ data, name: 'wrong.bin' });
  t.teardown(() => source.close());
  const tmp = await scratch(t);
  const wrong = sha(Buffer.from('something else'));
  const { code, stdout, stderr } = await run(t, ['get', source.url, '-o', '-', '--sha256', wrong, '--block-size', '64KiB'], tmp);
  t.is(code, 6, stderr);
  t.regex(stderr, /streamed bytes have sha256 .*expected/);
  t.is(stdout.length, data.length - 64 * 1024, 'everything but the last block');
  t.true(stdout.equals(data.subarray(0, stdout.length)));
  t.deepEqual((await readdir(tmp)).filter((f) => f.startsWith('slurpie')), [], 'the temporary .part directory is gone');
});

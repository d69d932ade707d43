// `slurpie topology` as a real process: first line, the API, --ttl, SIGTERM, bad flags.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { within } from './fixtures/wait.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SWARM = '7'.repeat(64);

interface Run {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function topology(t: ExecutionContext, args: string[]): Run {
  const proc = spawn(process.execPath, ['bin/slurpie.js', 'topology', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  // 'close', not 'exit': by then stdout and stderr are read to their end ('exit' can come first).
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('close', (code, signal) => resolve({ code, signal })));
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
  });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

/** The first stdout line, as soon as it is printed; fails if the process exits first or nothing comes within `ms`. */
function firstLine(run: Run, ms: number): Promise<string> {
  return within(
    new Promise<string>((resolve, reject) => {
      const check = (): void => {
        if (run.stdout().includes('\n')) resolve(run.stdout().split('\n')[0] ?? '');
      };
      run.proc.stdout?.on('data', check);
      check();
      void run.exited.then(({ code }) => reject(new Error(`exited (${code}) before its first line; stderr: ${run.stderr()}`)));
    }),
    `the first line of slurpie topology (stderr so far: ${run.stderr()})`,
    ms,
  );
}

async function post(url: string, id: string, port: number): Promise<{ status: number; body: { peers: unknown[]; ttl: number; count: number } }> {
  const res = await fetch(`${url}/v1/swarms/${SWARM}/peers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, port }) });
  return { status: res.status, body: (await res.json()) as { peers: unknown[]; ttl: number; count: number } };
}

async function count(url: string): Promise<number> {
  const res = await fetch(`${url}/v1/swarms/${SWARM}`);
  return ((await res.json()) as { peers: number }).peers;
}

// Expiry itself is tested on the registry with an injected clock (topology-registry.test.ts)
// and through the server's sweep (topology-api.test.ts); here it is enough that --ttl reaches
// the server, which every answer reports.
test('slurpie topology --port 0 --ttl 7: prints its URL, serves with that ttl, exits 0 on SIGTERM', async (t) => {
  t.timeout(90_000);
  const run = topology(t, ['--port', '0', '--ttl', '7']);
  const line = await firstLine(run, 60_000);
  const match = /^listening on (http:\/\/127\.0\.0\.1:(\d+))$/.exec(line);
  t.truthy(match, line);
  const url = match![1]!;
  t.not(Number(match![2]), 0, 'the real port, not 0');

  t.deepEqual((await fetch(`${url}/healthz`).then((r) => r.json())) as unknown, { ok: true });
  const a = '0'.repeat(15) + 'a';
  const b = '0'.repeat(15) + 'b';
  t.deepEqual(await post(url, a, 4001), { status: 200, body: { peers: [], ttl: 7, count: 1 } });
  t.deepEqual(await post(url, b, 4002), { status: 200, body: { peers: [{ id: a, host: '127.0.0.1', port: 4001 }], ttl: 7, count: 2 } });
  t.is(await count(url), 2);

  run.proc.kill('SIGTERM');
  const { code } = await run.exited;
  t.is(code, 0, run.stderr());
  t.is(run.stdout(), `${line}\n`, 'nothing else on stdout');
});

test('without --ttl the server says 60 s', async (t) => {
  t.timeout(90_000);
  const run = topology(t, ['--port', '0']);
  const url = /^listening on (\S+)$/.exec(await firstLine(run, 60_000))?.[1] ?? '';
  t.deepEqual(await post(url, '0'.repeat(15) + 'c', 4003), { status: 200, body: { peers: [], ttl: 60, count: 1 } });
});

test('SIGINT also stops it with exit 0', async (t) => {
  t.timeout(90_000);
  const run = topology(t, ['--port', '0']);
  const url = /^listening on (\S+)$/.exec(await firstLine(run, 60_000))?.[1] ?? '';
  // The CLI prints its first line just before it installs its signal handlers (same tick); once
  // it has answered a request they are in place. Signalling earlier would race that tick.
  t.deepEqual(await fetch(`${url}/healthz`).then((r) => r.json()), { ok: true });
  run.proc.kill('SIGINT');
  t.is((await run.exited).code, 0, run.stderr());
});

test('bad flags: a one-line error and a non-zero exit, nothing on stdout', async (t) => {
  t.timeout(120_000);
  const cases: [string[], RegExp][] = [
    [['--port', '70000'], /--port/],
    [['--port', 'abc'], /--port/],
    [['--beta', '2.5'], /--beta/],
    [['--ttl', '0'], /--ttl/],
    [['--host', ''], /--host/],
    [['--frobnicate'], /frobnicate/],
    [['--quota-ids', '-1'], /--quota-ids/],
    [['--quota-rate', 'abc'], /--quota-rate/],
    [['--token-file', '/nonexistent/slurpie-token'], /--token-file .*ENOENT/],
  ];
  // One after another: each start-up compiles the CLI, and a parallel burst starves the machine.
  for (const [args, mentions] of cases) {
    const run = topology(t, args);
    const { code } = await run.exited;
    const what = args.join(' ');
    t.true(code !== 0 && code !== null, `${what}: exit ${code}`);
    t.is(run.stdout(), '', `${what}: stdout`);
    const lines = run.stderr().trimEnd().split('\n');
    t.is(lines.length, 1, `${what}: one line, got ${JSON.stringify(run.stderr())}`);
    t.regex(lines[0] ?? '', mentions, what);
  }
});

test('a port already taken: a one-line error and a non-zero exit', async (t) => {
  t.timeout(90_000);
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const port = (blocker.address() as AddressInfo).port;
  const run = topology(t, ['--port', String(port)]);
  const { code } = await run.exited;
  t.true(code !== 0 && code !== null);
  t.regex(run.stderr(), new RegExp(`^slurpie: cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE\\n$`));
});

test('--help describes every flag', async (t) => {
  t.timeout(90_000);
  const run = topology(t, ['--help']);
  t.is((await run.exited).code, 0);
  for (const flag of ['--host', '--port', '--beta', '--ttl', '--trust-host-field', '--quota-ids', '--quota-rate', '--quota-loopback', '--token-file']) {
    t.true(run.stdout().includes(flag), flag);
  }
});

test('--token-file, --quota-ids and --quota-loopback reach the server', async (t) => {
  t.timeout(90_000);
  const dir = await mkdtemp(join(tmpdir(), 'slurpie-token-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'token'), 'pa55word\n'); // surrounding whitespace is not part of it
  const run = topology(t, ['--port', '0', '--token-file', join(dir, 'token'), '--quota-ids', '1', '--quota-loopback']);
  const url = /^listening on (\S+)$/.exec(await firstLine(run, 60_000))?.[1] ?? '';
  const register = (id: string, headers: Record<string, string>): Promise<Response> =>
    fetch(`${url}/v1/swarms/${SWARM}/peers`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ id, port: 4000 }) });
  t.is((await register('0'.repeat(15) + 'd', {})).status, 401);
  t.is((await register('0'.repeat(15) + 'd', { authorization: 'Bearer pa55word' })).status, 200);
  const over = await register('0'.repeat(15) + 'e', { authorization: 'Bearer pa55word' });
  t.is(over.status, 429, 'one id per address, loopback included');
  t.is(over.headers.get('retry-after'), '60');
});

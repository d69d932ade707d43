// `slurpie topology` as a real process: first line, the API, expiry, SIGTERM, bad flags.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

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
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
  });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

async function firstLine(run: Run, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!run.stdout().includes('\n')) {
    if (run.proc.exitCode !== null || Date.now() > deadline) throw new Error(`no first line; stderr: ${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return run.stdout().split('\n')[0] ?? '';
}

async function post(url: string, id: string, port: number): Promise<{ status: number; body: { peers: unknown[]; ttl: number } }> {
  const res = await fetch(`${url}/v1/swarms/${SWARM}/peers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, port }) });
  return { status: res.status, body: (await res.json()) as { peers: unknown[]; ttl: number } };
}

async function count(url: string): Promise<number> {
  const res = await fetch(`${url}/v1/swarms/${SWARM}`);
  return ((await res.json()) as { peers: number }).peers;
}

test('slurpie topology --port 0 --ttl 1: prints its URL, serves, expires, exits 0 on SIGTERM', async (t) => {
  t.timeout(90_000);
  const run = topology(t, ['--port', '0', '--ttl', '1']);
  const line = await firstLine(run, 60_000);
  const match = /^listening on (http:\/\/127\.0\.0\.1:(\d+))$/.exec(line);
  t.truthy(match, line);
  const url = match![1]!;
  t.not(Number(match![2]), 0, 'the real port, not 0');

  t.deepEqual((await fetch(`${url}/healthz`).then((r) => r.json())) as unknown, { ok: true });
  const a = '0'.repeat(15) + 'a';
  const b = '0'.repeat(15) + 'b';
  t.deepEqual(await post(url, a, 4001), { status: 200, body: { peers: [], ttl: 1 } });
  t.deepEqual(await post(url, b, 4002), { status: 200, body: { peers: [{ id: a, host: '127.0.0.1', port: 4001 }], ttl: 1 } });
  t.is(await count(url), 2);

  // Soft state: without renewal both are gone after --ttl (1 s); bounded wait.
  const deadline = Date.now() + 5_000;
  let live = await count(url);
  while (live > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    live = await count(url);
  }
  t.is(live, 0);
  t.deepEqual((await post(url, a, 4001)).body.peers, []);

  run.proc.kill('SIGTERM');
  const { code } = await run.exited;
  t.is(code, 0, run.stderr());
  t.is(run.stdout(), `${line}\n`, 'nothing else on stdout');
});

test('SIGINT also stops it with exit 0', async (t) => {
  t.timeout(90_000);
  const run = topology(t, ['--port', '0']);
  await firstLine(run, 60_000);
  run.proc.kill('SIGINT');
  t.is((await run.exited).code, 0);
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
  for (const flag of ['--host', '--port', '--beta', '--ttl']) t.true(run.stdout().includes(flag), flag);
});

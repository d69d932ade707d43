// Structured logs (issue #14): --log-format json gives one parseable JSON object a line on
// stderr (level, time, msg, fields) for get, seed and topology; plain lines stay as they were.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { startTopologyServer } from '../topology-server/server.ts';
import { cliLogger, logFn } from '../bin/log.ts';
import { runSlurpie, scratch, slurpie } from './fixtures/cli-run.ts';
import { until, within } from './fixtures/wait.ts';

const clean = { SLURPIE_TOPOLOGY: '', SLURPIE_CONFIG: '', SLURPIE_LOG_FORMAT: '', XDG_CONFIG_HOME: '/nonexistent' };
const data = Buffer.alloc(400_000, 3);

function jsonLines(stderr: string): Record<string, unknown>[] {
  return stderr.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

test.serial('get --log-format json: every stderr line is JSON with level, time, msg and fields', async (t) => {
  t.timeout(60_000);
  const source = await startSourceServer({ data, name: 'j.bin' });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  const r = await runSlurpie(t, ['get', source.url, '-o', join(dir, 'j.bin'), '--log-format', 'json'], clean);
  t.is(r.code, 0, r.stderr);
  const lines = jsonLines(r.stderr);
  t.true(lines.length >= 2, r.stderr);
  for (const line of lines) {
    t.is(typeof line.msg, 'string');
    t.is(typeof line.level, 'string');
    t.false(Number.isNaN(Date.parse(String(line.time))), `time ${String(line.time)}`);
    t.is(line.cmd, 'get');
    t.is(line.url, source.url);
  }
  t.true(lines.some((l) => /no sha256 given/.test(String(l.msg)) && l.level === 'info'));
  const done = lines.find((l) => l.msg === 'done');
  t.like(done, { size: data.length, fromSource: data.length, fromPeers: 0, integrity: 'none' });
  t.regex(r.stdout, /not verified/, 'the summary stays on stdout');
  // A failure: a JSON error line with its code and exit status.
  const missing = await runSlurpie(t, ['get', new URL('/nope.bin', source.url).toString(), '-o', join(dir, 'n.bin'), '--log-format', 'json'], clean);
  t.is(missing.code, 3);
  t.like(jsonLines(missing.stderr).at(-1), { level: 'error', code: 'SOURCE_HTTP', exit: 3 });
  // A bad value: the one-line usage error, exit 2; SLURPIE_LOG_FORMAT works like the flag.
  const bad = await runSlurpie(t, ['get', source.url, '--log-format', 'xml'], clean);
  t.is(bad.code, 2);
  t.is(bad.stderr, 'slurpie get: --log-format must be json, pretty or plain, got "xml" (see slurpie get --help)\n');
  const env = await runSlurpie(t, ['get', source.url, '-o', join(dir, 'e.bin')], { ...clean, SLURPIE_LOG_FORMAT: 'json' });
  t.is(env.code, 0, env.stderr);
  t.true(jsonLines(env.stderr).some((l) => l.msg === 'done'));
});

test.serial('topology and seed --log-format json: JSON lines with their fields', async (t) => {
  t.timeout(90_000);
  const topologyChild = slurpie(t, ['topology', '--port', '0', '--log-format', 'json'], clean);
  await until(() => topologyChild.stdout().includes('listening on'), 'the topology server', { ms: 60_000, everyMs: 50 });
  const source = await startSourceServer({ data, name: 's.bin', sha256File: true });
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ port: 0 });
  t.teardown(() => topology.close());
  const dir = await scratch(t);
  const copy = join(dir, 's.bin');
  await writeFile(copy, data);
  const seeder = await runSlurpie(t, ['seed', copy, source.url, '--topology', topology.url, '--linger', '0', '--log-format', 'json'], clean);
  t.is(seeder.code, 0, seeder.stderr);
  const seeding = jsonLines(seeder.stderr).find((l) => l.msg === 'seeding');
  t.like(seeding, { level: 'info', cmd: 'seed', url: source.url, file: copy, size: data.length, integrity: 'published' });
  t.regex(String(seeding?.swarmId), /^[0-9a-f]{64}$/);

  process.kill(topologyChild.pid, 'SIGTERM');
  await within(topologyChild.exited, 'the topology server to stop');
  const lines = jsonLines(topologyChild.stderr());
  t.like(lines.find((l) => l.msg === 'listening'), { level: 'info', cmd: 'topology' });
  t.like(lines.find((l) => l.signal === 'SIGTERM'), { level: 'info', msg: 'SIGTERM: closing the topology server' });
});

test('off a terminal the default is the plain "slurpie: message" line; on one, pretty lines with the level', (t) => {
  const capture = (isTTY: boolean): { stream: Writable & { isTTY: boolean }; text: () => string } => {
    let text = '';
    const stream = Object.assign(new Writable({ write(chunk: Buffer, _e, done) { text += chunk.toString(); done(); } }), { isTTY });
    return { stream, text: () => text };
  };
  const plain = capture(false);
  logFn(cliLogger('get', { stream: plain.stream }))('warn', 'the source is slow');
  logFn(cliLogger('get', { stream: plain.stream }))('debug', 'hidden without --verbose');
  t.is(plain.text(), 'slurpie: the source is slow\n');
  const pretty = capture(true);
  cliLogger('get', { stream: pretty.stream }).child({ url: 'http://x/y' }).warn('the source is slow');
  t.regex(pretty.text(), /^\x1b\[2m\d\d:\d\d:\d\d\x1b\[0m \x1b\[33mWARN \x1b\[0m the source is slow \x1b\[2murl=http:\/\/x\/y\x1b\[0m\n$/);
});

// `slurpie get` HTTP flags (issue #13) against the real range server, which logs what it is
// sent: -H and --user-agent on every request to the source, --retry, --swarm-key, and bad
// values refused before any work. Serial: every test starts `slurpie` processes.
import test from 'ava';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { DEFAULT_USER_AGENT } from '../peer/node/request-headers.ts';
import { closeSourceClients, probeSource } from '../peer/node/source-client.ts';
import { swarmIdFor } from '../peer/node/swarm-id.ts';
import { startTopologyServer } from '../topology-server/server.ts';
import { runSlurpie, scratch, slurpie } from './fixtures/cli-run.ts';
import { sha } from './fixtures/content.ts';
import { expectUsageErrors } from './fixtures/usage-errors.ts';
import { until } from './fixtures/wait.ts';


test.after.always(() => closeSourceClients());

test.serial('bad HTTP flags: exit 2, one line in one style, no file, no request to the source', async (t) => {
  t.timeout(90_000);
  const source = await startSourceServer({ data: Buffer.alloc(100_000, 7), name: 'u.bin' });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  const url = source.url;
  const cases: [string[], RegExp][] = [
    [[url, '-H', 'no colon'], /--header must look like "Name: value", got "no colon"/],
    [['-H', 'Bad Name: x', url], /--header needs a header name.*, got "Bad Name: x"/],
    [[url, '-H', 'X-Ok: 1', '--header', 'Range: bytes=0-1'], /--header cannot set Range.*, got "Range: bytes=0-1"/],
    [[url, '-H'], /-H needs a value, got nothing/],
    [[url, '--user-agent', ''], /--user-agent needs a value|--user-agent must be/],
    [[url, '--user-agent', 'a\u0001b'], /--user-agent must be non-empty text without control characters/],
    [[url, '--connect-timeout', '0'], /--connect-timeout must be a positive number of seconds, got "0"/],
    [[url, '--connect-timeout', 'soon'], /--connect-timeout .*, got "soon"/],
    [[url, '--retry', '-1'], /--retry must be a whole number 0–100, got "-1"/],
    [[url, '--retry', '1.5'], /--retry .*, got "1.5"/],
    [[url, '--swarm-key='], /--swarm-key must not be empty/],
    [[url, '--upload-limit', 'fast'], /--upload-limit must be a rate in bytes a second such as 512KiB or 2MB, got "fast"/],
    [[url, '--upload-limit', '100KiB'], /--upload-limit must be at least half a block a second \(128\.0 KiB\/s with 256\.0 KiB blocks: .*\), got "100\.0 KiB\/s"/],
    [[url, '--limit-rate', 'fast'], /--download-limit must be a rate in bytes a second such as 512KiB or 2MB, got "fast"/],
  ];
  await expectUsageErrors(t, dir, cases);
  t.deepEqual(await readdir(dir), [], 'no file created');
  t.is(source.stats().requests, 0, 'nothing reached the source');
});

test.serial('-H and --user-agent go with every request to the source; the default agent is slurpie/<version>', async (t) => {
  t.timeout(90_000);
  const data = Buffer.alloc(300_000, 5);
  const source = await startSourceServer({ data, name: 'h.bin', sha256File: true });
  t.teardown(() => source.close());
  const dir = await scratch(t);
  const plain = await runSlurpie(t, ['get', source.url, '-o', join(dir, 'plain.bin'), '--no-progress', '--block-size', '64KiB']);
  t.is(plain.code, 0, plain.stderr);
  const first = source.requestLog();
  t.true(first.length >= 3, `${first.length} requests`);
  t.deepEqual([...new Set(first.map((r) => r.headers['user-agent']))], [DEFAULT_USER_AGENT]);

  const r = await runSlurpie(t, ['get', source.url, '-o', join(dir, 'h.bin'), '--no-progress', '--block-size', '64KiB',
    '-H', 'X-Team: blue', '--header', 'Authorization: Bearer abc', '--user-agent', 'mirror-check/2']);
  t.is(r.code, 0, r.stderr);
  t.is(sha(await readFile(join(dir, 'h.bin'))), sha(data));
  const second = source.requestLog().slice(first.length);
  t.true(second.some((l) => l.path === '/h.bin.sha256') && second.filter((l) => l.path === '/h.bin').length >= 2, second.map((l) => `${l.method} ${l.path}`).join(', '));
  for (const l of second) {
    t.is(l.headers['x-team'], 'blue', `${l.method} ${l.path}`);
    t.is(l.headers['authorization'], 'Bearer abc', `${l.method} ${l.path}`);
    t.is(l.headers['user-agent'], 'mirror-check/2', `${l.method} ${l.path}`);
  }
});

// Retries are per request (curl's --retry); above them the peer gives up after 5 failed source
// fetches in a row (maxSourceFailures). So 5 failures in a row end a --retry 0 download, and
// are absorbed by the first fetch's own tries with --retry 5.
test.serial('--retry N: 5 failures in a row end the download with --retry 0 and are retried away with --retry 5', async (t) => {
  t.timeout(90_000);
  const data = Buffer.alloc(200_000, 9);
  const dir = await scratch(t);
  const give = async (retry: string): Promise<{ code: number | null; stderr: string; failures: number }> => {
    const source = await startSourceServer({ data, name: 'r.bin', failFirst: 5 });
    t.teardown(() => source.close());
    const r = await runSlurpie(t, ['get', source.url, '-o', join(dir, `r${retry}.bin`), '--no-progress', '--retry', retry, '--sha256', sha(data)]);
    return { ...r, failures: source.stats().byStatus['503'] ?? 0 };
  };
  const none = await give('0');
  t.not(none.code, 0, 'no retries: the peer gives up');
  t.regex(none.stderr, /503/);
  t.is(none.failures, 5);
  const five = await give('5');
  t.is(five.code, 0, five.stderr);
  t.is(five.failures, 5, 'five 503s, then the file');
  t.is(sha(await readFile(join(dir, 'r5.bin'))), sha(data));
});

test.serial('--swarm-key: two different URLs of the same bytes join one swarm', async (t) => {
  t.timeout(90_000);
  const data = Buffer.alloc(2 * 1024 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
  const source = await startSourceServer({ data, name: 'k.bin', rate: 1024 * 1024 });
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => topology.close());
  const dir = await scratch(t);
  const mirror = source.url.replace('/k.bin', '/redirect/k.bin'); // another link to the same bytes
  const peers = [source.url, mirror].map((url, i) =>
    slurpie(t, ['get', url, '-o', join(dir, `k${i}.bin`), '--topology', topology.url, '--swarm-key', 'release-1.0/k.bin',
      '--sha256', sha(data), '--no-progress', '--block-size', '64KiB', '--linger', '3']));
  const { validator } = await probeSource(source.url);
  const swarmId = swarmIdFor('release-1.0/k.bin', data.length, validator);
  await until(() => topology.registry.list(swarmId).length === 2 || peers.some((p) => p.proc.exitCode !== null), 'both peers in the keyed swarm', { ms: 60_000, everyMs: 20 });
  t.is(topology.registry.list(swarmId).length, 2, peers.map((p) => p.stderr()).join('\n'));
  const codes = await Promise.all(peers.map((p) => p.exited.then((e) => e.code)));
  t.deepEqual(codes, [0, 0], peers.map((p) => p.stderr()).join('\n'));
});

// `slurpie get --metrics-port` (issue #14): a real peer process serves its counters in the
// Prometheus text format while it lingers; bad flags are refused before any work.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { startTopologyServer } from '../topology-server/server.ts';
import { runSlurpie, scratch, slurpie } from './fixtures/cli-run.ts';
import { until } from './fixtures/wait.ts';

/** The value of one sample line `name{labels} value`, undefined if absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test.serial('a lingering peer serves slurpie_peer_* series with HELP and TYPE at the port it prints', async (t) => {
  t.timeout(120_000);
  const data = randomBytes(1_500_000);
  const source = await startSourceServer({ data, name: 'file.bin', port: 0 });
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => topology.close());
  const dir = await scratch(t);
  const peer = slurpie(t, ['get', source.url, '-o', join(dir, 'file.bin'), '--topology', topology.url, '--no-progress', '--block-size', '64KiB', '--linger', '120', '--metrics-port', '0']);

  let url = '';
  await until(() => {
    url = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(peer.stderr())?.[1] ?? '';
    return url !== '' || peer.proc.exitCode !== null;
  }, 'the metrics URL on stderr', { ms: 90_000, everyMs: 50 });
  t.not(url, '', peer.stderr());

  // Once done (it lingers), every block is held and every byte came from the source: it was alone.
  let text = '';
  await until(async () => {
    text = await (await fetch(url)).text();
    return sample(text, 'slurpie_peer_blocks_have') === 23;
  }, 'the peer to hold all 23 blocks', { ms: 90_000, everyMs: 200 });
  for (const name of ['slurpie_peer_bytes_total', 'slurpie_peer_blocks_have', 'slurpie_peer_blocks', 'slurpie_peer_connections', 'slurpie_peer_group_size_estimate', 'slurpie_peer_load_stretch']) {
    t.regex(text, new RegExp(`^# HELP ${name} \\S`, 'm'), name);
    t.regex(text, new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'), name);
  }
  t.regex(text, /^# TYPE slurpie_peer_bytes_total counter$/m);
  t.is(sample(text, 'slurpie_peer_blocks'), 23); // ceil(1,500,000 / 65,536)
  t.is(sample(text, 'slurpie_peer_bytes_total{direction="source"}'), data.length);
  t.is(sample(text, 'slurpie_peer_bytes_total{direction="peers"}'), 0);
  t.is(sample(text, 'slurpie_peer_bytes_total{direction="uploaded"}'), 0);
  t.is(sample(text, 'slurpie_peer_connections'), 0);
  t.true((sample(text, 'slurpie_peer_group_size_estimate') ?? 0) >= 1);
  const stretch = sample(text, 'slurpie_peer_load_stretch') ?? 0; // 1 unless the test machine keeps it waiting
  t.true(stretch >= 1 && stretch <= 4, `stretch ${stretch}`);

  const other = await fetch(url.replace(/\/metrics$/, '/other'));
  t.is(other.status, 404);
  t.is((await fetch(url, { method: 'POST' })).status, 405);

  // Ctrl-C while lingering only cuts the hand-over short: the file is done, so exit 0 and keep it.
  peer.proc.kill('SIGINT');
  const { code } = await peer.exited;
  t.is(code, 0, peer.stderr());
  t.deepEqual(await readFile(join(dir, 'file.bin')), data);
});

test.serial('bad --metrics-port and --metrics-host: one line, exit 2, before any network work', async (t) => {
  t.timeout(60_000);
  for (const [args, error] of [
    [['--metrics-port', '65536'], /^slurpie get: --metrics-port must be a whole number 0–65535, got "65536" \(see slurpie get --help\)$/],
    [['--metrics-port', 'x'], /^slurpie get: --metrics-port must be a whole number 0–65535, got "x"/],
    [['--metrics-port', '1', '--metrics-host', ''], /^slurpie get: --metrics-host needs a value/],
  ] as const) {
    // Nothing listens there: any network work would end in a different error.
    const r = await runSlurpie(t, ['get', 'http://127.0.0.1:9/file.bin', ...args]);
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr.trim(), error);
  }
});

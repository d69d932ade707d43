// `slurpie proxy` as a user meets it (issue #14): real proxy processes, a real topology
// server, a throttled Range source, and curl through the proxy (curl -x) as the client.
// Serial: each test is a set of processes; two at once on a small machine would measure the machine.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ExecutionContext } from 'ava';
import { SeededRng, seedFrom } from '../estimation/random.ts';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { announced } from '../experiments/swarm/processes.ts';
import { startTopologyServer } from '../topology-server/server.ts';
import { runSlurpie, scratch, slurpie } from './fixtures/cli-run.ts';
import { until } from './fixtures/wait.ts';

const seed = seedFrom(process.env, 14);
const MiB = 1024 * 1024;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const HAVE_CURL = spawnSync('curl', ['--version']).status === 0;
const withCurl = HAVE_CURL ? test.serial : test.skip;
if (!HAVE_CURL) console.warn('test/proxy.test.ts: curl is not installed (Debian package curl; .ci/run installs it): the proxy tests are skipped');

function content(size: number): Buffer {
  const rng = new SeededRng(seed);
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) buf.writeUInt32LE((rng.next() * 2 ** 32) >>> 0, i);
  return buf;
}

/** A `slurpie proxy` process; resolves with its URL from the first stdout line. */
async function startProxy(t: ExecutionContext, dir: string, extra: string[] = []): Promise<{ url: string; stderr: () => string }> {
  const child = slurpie(t, ['proxy', '--port', '0', '--dir', dir, ...extra]);
  const url = await announced(child, /^listening on (http:\/\/\S+)$/, 60_000);
  return { url, stderr: child.stderr };
}

interface CurlResult {
  code: number | null;
  status: number;
  startTransfer: number; // curl's time_starttransfer: the answer's first byte (its status line)
  firstBodyByte: number; // seconds from the start until `out` first held a byte (polled every 20 ms)
  total: number;
}

/** Runs curl with `args` (which write the body to `out`), killed by PID in teardown. */
function curl(t: ExecutionContext, args: string[], out: string): Promise<CurlResult> {
  const started = performance.now();
  const proc = spawn('curl', ['-sS', '-o', out, '-w', '%{http_code} %{time_starttransfer} %{time_total}', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let firstBodyByte = NaN;
  const poll = setInterval(() => {
    void stat(out).then((s) => {
      if (s.size > 0 && Number.isNaN(firstBodyByte)) firstBodyByte = (performance.now() - started) / 1000;
    }, () => {});
  }, 20);
  return new Promise((resolve) => {
    proc.once('exit', (code) => {
      clearInterval(poll);
      const [status, startTransfer, total] = stdout.trim().split(' ').map(Number);
      if (code !== 0) t.log(`curl ${args.join(' ')}: exit ${code}: ${stderr.trim()}`);
      resolve({ code, status: status ?? 0, startTransfer: startTransfer ?? NaN, firstBodyByte, total: total ?? NaN });
    });
  });
}

withCurl('6 proxies, one curl -x through each: 32 MiB from a 4 MiB/s source, all correct, answers start at once, about one copy from the source', async (t) => {
  t.timeout(240_000);
  t.log(`seed ${seed}`);
  const size = 32 * MiB;
  const data = content(size);
  const source = await startSourceServer({ data, name: 'file.bin', rate: 4 * MiB });
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => topology.close());
  const dir = await scratch(t);
  const proxies = await Promise.all(
    Array.from({ length: 6 }, (_, i) => startProxy(t, join(dir, `cache-${i}`), ['--topology', topology.url])),
  );
  const results = await Promise.all(
    proxies.map((p, i) => curl(t, ['-x', p.url, source.url], join(dir, `out-${i}.bin`))),
  );
  const want = sha(data);
  for (const [i, r] of results.entries()) {
    t.is(r.code, 0, `curl ${i}: ${proxies[i]?.stderr()}`);
    t.is(r.status, 200);
    t.is(sha(await readFile(join(dir, `out-${i}.bin`))), want, `out-${i}.bin is the source's bytes`);
  }
  const served = source.stats().bytesSent / size;
  const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(' ');
  t.log(`source served ${served.toFixed(2)}x the file`);
  t.log(`time_starttransfer (s): ${fmt(results.map((r) => r.startTransfer))}`);
  t.log(`first body byte (s):    ${fmt(results.map((r) => r.firstBodyByte))}`);
  t.log(`total (s):              ${fmt(results.map((r) => r.total))} (T_min = F/u_s = 8 s)`);
  // Protocol bounds, not speeds: 6 plain proxies would pull 6 copies; and the answer starts
  // when the probe is done, not when the download is.
  t.true(served <= 1.6, `the source served ${served.toFixed(2)}x the file`);
  for (const r of results) t.true(r.startTransfer < 5, `time_starttransfer ${r.startTransfer} s`);
  // Streaming: the file's start is sent while the rest is still coming (streaming blocks are
  // chosen from the start: PeerParams.inOrderWindow). A ratio, not a time: the machine is loaded.
  for (const r of results) t.true(r.firstBodyByte < 0.6 * r.total, `first body byte at ${r.firstBodyByte} s of ${r.total} s`);
});

withCurl('pass-through: a small file and a POST go through unchanged; an unreachable origin gets 502, CONNECT 501; a second GET comes from the cache', async (t) => {
  t.timeout(120_000);
  const dir = await scratch(t);
  const small = content(64 * 1024);
  const big = content(3 * MiB);
  const smallSource = await startSourceServer({ data: small, name: 'small.bin' });
  t.teardown(() => smallSource.close());
  const bigSource = await startSourceServer({ data: big, name: 'big.bin' });
  t.teardown(() => bigSource.close());
  const proxy = await startProxy(t, join(dir, 'cache'));

  // A small file: passed through, byte for byte, one GET at the source.
  const before = smallSource.stats();
  const got = await curl(t, ['-x', proxy.url, smallSource.url], join(dir, 'small.out'));
  t.is(got.status, 200);
  t.deepEqual(await readFile(join(dir, 'small.out')), small);
  t.is(smallSource.stats().bytesSent - before.bytesSent, small.length, 'one copy, in one plain GET');
  t.is(smallSource.stats().rangeRequests, 0, 'no Range GET: no download for a small file');
  t.regex(proxy.stderr(), /small\.bin/);

  // A POST: the origin's own answer (range-server refuses POST with 405) comes back unchanged.
  const post = await curl(t, ['-x', proxy.url, '-X', 'POST', '--data-binary', 'hello', smallSource.url], join(dir, 'post.out'));
  t.is(post.status, 405);
  t.is(await readFile(join(dir, 'post.out'), 'utf8'), 'only GET and HEAD\n');

  // An origin that cannot be reached: 502 with one line saying so.
  const gone = await startSourceServer({ data: small, name: 'gone.bin' });
  await gone.close();
  const unreachable = await curl(t, ['-x', proxy.url, gone.url], join(dir, 'gone.out'));
  t.is(unreachable.status, 502);
  t.regex(await readFile(join(dir, 'gone.out'), 'utf8'), /^slurpie proxy: cannot get http:\/\/127\.0\.0\.1:\d+\/gone\.bin from the origin: ECONNREFUSED\n$/);

  // CONNECT (an https URL through -x): 501 with a message naming the /<url> form.
  const tunnel = spawnSync('curl', ['-sS', '-x', proxy.url, 'https://127.0.0.1:9/x', '-o', '/dev/null', '-w', '%{http_connect}'], { encoding: 'utf8', timeout: 30_000 });
  t.is(tunnel.stdout.trim(), '501');

  // A big file: swarmed (alone here), then the second GET (path form) is served from the cache.
  const first = await curl(t, ['-x', proxy.url, bigSource.url], join(dir, 'big-1.out'));
  t.is(first.status, 200);
  t.deepEqual(await readFile(join(dir, 'big-1.out')), big);
  await until(() => /bytes in .* cached/.test(proxy.stderr()), 'the proxy to finish the download', { ms: 60_000, everyMs: 50 });
  const sent = bigSource.stats().bytesSent;
  t.true(sent >= big.length);
  const second = await curl(t, [`${proxy.url}/${bigSource.url}`], join(dir, 'big-2.out'));
  t.is(second.status, 200);
  t.deepEqual(await readFile(join(dir, 'big-2.out')), big);
  t.is(bigSource.stats().bytesSent, sent, 'the second GET fetched nothing from the source');
  t.regex(proxy.stderr(), /from the cache/);
});

test.serial('proxy: every bad flag exits 2 with one line in the usage style, before creating anything', async (t) => {
  t.timeout(120_000);
  const dir = await scratch(t);
  const cache = join(dir, 'never');
  const cases: [string[], RegExp][] = [
    [['--port', '70000'], /--port must be .*, got "70000"/],
    [['--topology'], /--topology needs a value, got nothing/],
    [['--topology', 'notaurl'], /--topology must be .*, got "notaurl"/],
    [['--min-size', '0'], /--min-size must be .*, got "0"/],
    [['--bogus'], /unknown flag or extra argument, got bogus/],
    [['--download-limit', '100'], /--download-limit must be at least 512 bytes a second, got "100 B\/s"/],
    [['--upload-limit', '1KiB'], /--upload-limit must be at least half a block a second .*, got "1\.0 KiB\/s"/],
    [['--linger', '-1'], /--linger must be a number of seconds >= 0, got "-1"/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await runSlurpie(t, ['proxy', '--dir', cache, ...args]);
    t.is(code, 2, args.join(' '));
    t.regex(stderr, /^slurpie proxy: .+, got .+ \(see slurpie proxy --help\)\n$/);
    t.regex(stderr, message);
  }
  await t.throwsAsync(stat(cache), undefined, 'no cache directory was created');
});

withCurl('two clients of one proxy asking for one file at once share one download', async (t) => {
  t.timeout(120_000);
  const dir = await scratch(t);
  const data = content(8 * MiB);
  const source = await startSourceServer({ data, name: 'shared.bin', rate: 4 * MiB });
  t.teardown(() => source.close());
  const proxy = await startProxy(t, join(dir, 'cache'));
  const first = curl(t, ['-x', proxy.url, source.url], join(dir, 'a.out'));
  // The second arrives once the first is being answered (the first bytes are out): it reads
  // those back from disk, then joins the live stream.
  await until(() => source.stats().bytesSent > 1 * MiB, 'the download to be under way', { ms: 60_000, everyMs: 20 });
  const second = curl(t, [`${proxy.url}/${source.url}`], join(dir, 'b.out'));
  const [a, b] = await Promise.all([first, second]);
  t.is(a.status, 200);
  t.is(b.status, 200);
  t.true((await readFile(join(dir, 'a.out'))).equals(data));
  t.true((await readFile(join(dir, 'b.out'))).equals(data));
  t.regex(proxy.stderr(), /joined the running download/);
  const served = source.stats().bytesSent / data.length;
  t.true(served >= 1 && served < 1.5, `one copy from the source for both, served ${served.toFixed(2)}x`);
});

withCurl('--download-limit caps the proxy\'s downloads together, not each: two files at once keep to one rate', async (t) => {
  // 1.5 MiB each at 1 MiB/s shared: a second's worth at once, then 1 MiB/s for the other 2 MiB,
  // so at least 2 s for both. Limited each on its own, both would be done in about 0.5 s.
  t.timeout(120_000);
  const dir = await scratch(t);
  const data = content(3 * MiB);
  const halves = [data.subarray(0, 1.5 * MiB), data.subarray(1.5 * MiB)];
  const sources = await Promise.all(halves.map((half, i) => startSourceServer({ data: half, name: `half-${i}.bin` })));
  t.teardown(() => Promise.all(sources.map((s) => s.close())));
  const proxy = await startProxy(t, join(dir, 'cache'), ['--min-size', '1MiB', '--limit-rate', '1MiB']);
  const started = performance.now();
  const runs = await Promise.all(sources.map((s, i) => curl(t, ['-x', proxy.url, s.url], join(dir, `half-${i}.out`))));
  const seconds = (performance.now() - started) / 1000;
  t.log(`both in ${seconds.toFixed(2)} s (${runs.map((r) => r.total.toFixed(2)).join(', ')} s each)`);
  for (const [i, r] of runs.entries()) {
    t.is(r.status, 200, proxy.stderr());
    t.is(sha(await readFile(join(dir, `half-${i}.out`))), sha(halves[i] ?? Buffer.alloc(0)));
  }
  t.true(seconds >= 2, `both files together at 1 MiB/s after the first second's worth: ${seconds} s`);
  t.true(sources.every((s) => s.stats().bytesSent >= 1.5 * MiB), 'each file swarmed, not passed through');
});

withCurl('--download-limit also paces what passes through: a file under --min-size comes at the limit', async (t) => {
  // 2 MiB at 512 KiB/s: a second's worth at once, then 3 s for the rest. Unpaced, loopback
  // hands it over in well under a second.
  t.timeout(120_000);
  const dir = await scratch(t);
  const data = content(2 * MiB);
  const source = await startSourceServer({ data, name: 'small.bin' });
  t.teardown(() => source.close());
  const proxy = await startProxy(t, join(dir, 'cache'), ['--min-size', '8MiB', '--download-limit', '512KiB']);
  const got = await curl(t, ['-x', proxy.url, source.url], join(dir, 'small.out'));
  t.log(`${got.total.toFixed(2)} s`);
  t.is(got.status, 200, proxy.stderr());
  t.is(sha(await readFile(join(dir, 'small.out'))), sha(data));
  t.regex(proxy.stderr(), /passed through \(smaller than 8388608 bytes\)/);
  t.true(got.total >= 3, `2 MiB at 512 KiB/s after the first 512 KiB: ${got.total} s`);
});

withCurl('--linger: a finished file keeps being served to the swarm, so a peer that comes later takes it from the proxy, not the source', async (t) => {
  // Without --linger the proxy leaves once no one asks (the hand-over): the peer, arriving
  // after that, would take every block from the source.
  t.timeout(120_000);
  const dir = await scratch(t);
  const data = content(2 * MiB);
  const source = await startSourceServer({ data, name: 'kept.bin', rate: MiB });
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => topology.close());
  const proxy = await startProxy(t, join(dir, 'cache'), ['--topology', topology.url, '--linger', '60']);
  const first = await curl(t, ['-x', proxy.url, source.url], join(dir, 'first.out'));
  t.is(first.status, 200, proxy.stderr());
  const before = source.stats().bytesSent;
  const statsFile = join(dir, 'peer.json');
  const peer = slurpie(t, ['get', source.url, '--topology', topology.url, '-o', join(dir, 'peer.out'), '--stats-json', statsFile, '--no-progress']);
  const { code } = await peer.exited;
  t.is(code, 0, peer.stderr());
  t.is(sha(await readFile(join(dir, 'peer.out'))), sha(data));
  const stats = JSON.parse(await readFile(statsFile, 'utf8')) as { fromPeers: number; fromSource: number };
  t.log(`the peer took ${(stats.fromPeers / 1024).toFixed(0)} KiB from the proxy, ${(stats.fromSource / 1024).toFixed(0)} KiB from the source`);
  t.true(stats.fromPeers >= MiB, 'more than half of it from the lingering proxy');
  t.true(source.stats().bytesSent - before < MiB, 'the source sent less than half a copy more');
});

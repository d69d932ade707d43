import test from 'ava';
import type { ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt, SeededRng, seedFrom } from '../estimation/random.ts';
import { startSourceServer } from '../experiments/source/range-server.ts';
import type { SourceServer, SourceServerOptions } from '../experiments/source/range-server.ts';
import { defaultBurst } from '../peer/node/token-bucket.ts';
import { until } from './fixtures/wait.ts';

const SEED = seedFrom(process.env, 20040307);

function randomBytes(rng: SeededRng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = randomInt(rng, 256);
  return out;
}

async function serve(t: ExecutionContext, opts: SourceServerOptions): Promise<SourceServer> {
  const server = await startSourceServer({ host: '127.0.0.1', port: 0, ...opts });
  t.teardown(() => server.close());
  return server;
}

interface Answer {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

async function ask(url: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const res = await fetch(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, redirect: 'manual' });
  return { status: res.status, headers: res.headers, body: new Uint8Array(await res.arrayBuffer()) };
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

// ---- HTTP behaviour ----

test('HEAD answers size, strong ETag, Last-Modified and Accept-Ranges without a body', async (t) => {
  const data = randomBytes(new SeededRng(SEED), 5000);
  const server = await serve(t, { data, name: 'thing.iso' });
  t.true(server.url.endsWith(`:${server.port}/thing.iso`));
  const head = await ask(server.url, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(head.headers.get('content-length'), '5000');
  t.is(head.headers.get('accept-ranges'), 'bytes');
  t.regex(head.headers.get('etag') ?? '', /^"[^"]+"$/);
  t.false(Number.isNaN(Date.parse(head.headers.get('last-modified') ?? '')));
  t.is(head.body.length, 0);
  const get = await ask(server.url);
  t.is(get.status, 200);
  t.true(same(get.body, data));
  t.is(get.headers.get('etag'), head.headers.get('etag'));
});

test('every form of single byte range gets exactly its bytes and a Content-Range', async (t) => {
  t.log(`seed ${SEED}`);
  const rng = new SeededRng(SEED);
  const size = 10_000 + randomInt(rng, 5000);
  const data = randomBytes(rng, size);
  const server = await serve(t, { data });
  const cases: { header: string; start: number; end: number }[] = [
    { header: 'bytes=0-0', start: 0, end: 1 },
    { header: `bytes=0-${size - 1}`, start: 0, end: size },
    { header: `bytes=${size - 1}-`, start: size - 1, end: size },
    { header: `bytes=100-${size + 5000}`, start: 100, end: size }, // clipped to the end
    { header: 'bytes=-1', start: size - 1, end: size },
    { header: `bytes=-${size + 10}`, start: 0, end: size }, // suffix longer than the file
  ];
  for (let i = 0; i < 20; i++) {
    const a = randomInt(rng, size);
    const b = a + randomInt(rng, size - a);
    cases.push({ header: `bytes=${a}-${b}`, start: a, end: b + 1 });
    cases.push({ header: `bytes=${a}-`, start: a, end: size });
    const n = 1 + randomInt(rng, size);
    cases.push({ header: `bytes=-${n}`, start: size - n, end: size });
  }
  for (const c of cases) {
    const res = await ask(server.url, { headers: { range: c.header } });
    t.is(res.status, 206, c.header);
    t.is(res.headers.get('content-range'), `bytes ${c.start}-${c.end - 1}/${size}`, c.header);
    t.is(res.headers.get('content-length'), String(c.end - c.start), c.header);
    t.true(same(res.body, data.subarray(c.start, c.end)), c.header);
  }
  t.is(server.stats().rangeRequests, cases.length);
});

test('an unsatisfiable range gets 416 with the size; malformed or multiple ranges get the full body', async (t) => {
  const data = randomBytes(new SeededRng(SEED + 1), 1000);
  const server = await serve(t, { data });
  for (const header of ['bytes=1000-', 'bytes=5000-6000', 'bytes=-0']) {
    const res = await ask(server.url, { headers: { range: header } });
    t.is(res.status, 416, header);
    t.is(res.headers.get('content-range'), 'bytes */1000', header);
  }
  for (const header of ['bytes=0-1,5-9', 'bytes=9-2', 'items=0-1', 'bytes=abc', 'bytes=-']) {
    const res = await ask(server.url, { headers: { range: header } });
    t.is(res.status, 200, header);
    t.true(same(res.body, data), header);
  }
  const empty = await serve(t, { data: new Uint8Array(0) });
  t.is((await ask(empty.url, { headers: { range: 'bytes=0-' } })).status, 416);
  const whole = await ask(empty.url);
  t.is(whole.status, 200);
  t.is(whole.headers.get('content-length'), '0');
});

test('If-Range: the current validator gets the range, anything else the full body', async (t) => {
  const data = randomBytes(new SeededRng(SEED + 2), 4000);
  const server = await serve(t, { data });
  const head = await ask(server.url, { method: 'HEAD' });
  const etag = head.headers.get('etag') as string;
  const range = { range: 'bytes=10-19' };
  const match = await ask(server.url, { headers: { ...range, 'if-range': etag } });
  t.is(match.status, 206);
  t.true(same(match.body, data.subarray(10, 20)));
  for (const other of ['"something-else"', `W/${etag}`, 'Tue, 01 Jan 2002 00:00:00 GMT']) {
    const res = await ask(server.url, { headers: { ...range, 'if-range': other } });
    t.is(res.status, 200, other);
    t.true(same(res.body, data), other);
  }

  // Without ETags the date is the validator.
  const dated = await serve(t, { data, etag: false });
  const datedHead = await ask(dated.url, { method: 'HEAD' });
  t.is(datedHead.headers.get('etag'), null);
  const lastModified = datedHead.headers.get('last-modified') as string;
  t.is((await ask(dated.url, { headers: { ...range, 'if-range': lastModified } })).status, 206);
  t.is((await ask(dated.url, { headers: { ...range, 'if-range': etag } })).status, 200);
});

test('replace() gives a new ETag and a later Last-Modified; old validators then get the new full body', async (t) => {
  const rng = new SeededRng(SEED + 3);
  const v1 = randomBytes(rng, 3000);
  const v2 = randomBytes(rng, 3000);
  const server = await serve(t, { data: v1 });
  const h1 = await ask(server.url, { method: 'HEAD' });
  await server.replace(v2);
  const h2 = await ask(server.url, { method: 'HEAD' });
  t.not(h2.headers.get('etag'), h1.headers.get('etag'));
  t.true(Date.parse(h2.headers.get('last-modified') ?? '') > Date.parse(h1.headers.get('last-modified') ?? ''));
  const stale = await ask(server.url, { headers: { range: 'bytes=0-9', 'if-range': h1.headers.get('etag') as string } });
  t.is(stale.status, 200);
  t.true(same(stale.body, v2));
  await server.replace('hello');
  t.is(Buffer.from((await ask(server.url)).body).toString(), 'hello');
});

test('a response in flight during replace() keeps sending the old version', async (t) => {
  t.timeout(20_000);
  const rng = new SeededRng(SEED + 4);
  const v1 = randomBytes(rng, 96 * 1024);
  const v2 = randomBytes(rng, 96 * 1024);
  const server = await serve(t, { data: v1, rate: 64 * 1024 }); // about 1.5 s for the body
  const res = await fetch(server.url);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const parts: Uint8Array[] = [];
  const first = await reader.read();
  if (first.value) parts.push(first.value);
  // The server runs in this process: its bucket cannot run ahead while this test waits, so the
  // body is surely still being sent here.
  t.is(server.stats().concurrent, 1, 'the response is in flight when the file is replaced');
  await server.replace(v2);
  for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
  t.true(same(Buffer.concat(parts), v1));
  t.true(same((await ask(server.url, { headers: { range: 'bytes=0-99' } })).body, v2.subarray(0, 100)));
});

test('a file is streamed from disk, and its ETag follows the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'slurpie-source-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'disk.bin');
  const v1 = randomBytes(new SeededRng(SEED + 5), 200_000);
  await writeFile(path, v1);
  const server = await serve(t, { file: path, sha256File: true });
  t.true(server.url.endsWith('/disk.bin'));
  t.true(same((await ask(server.url)).body, v1));
  t.true(same((await ask(server.url, { headers: { range: 'bytes=70000-139999' } })).body, v1.subarray(70_000, 140_000)));
  const sidecar = await ask(`${server.url}.sha256`);
  t.is(Buffer.from(sidecar.body).toString(), `${createHash('sha256').update(v1).digest('hex')}  disk.bin\n`);
  const before = (await ask(server.url, { method: 'HEAD' })).headers.get('etag');
  await writeFile(path, v1.subarray(0, 1000));
  const after = await ask(server.url, { method: 'HEAD' });
  t.is(after.headers.get('content-length'), '1000');
  t.not(after.headers.get('etag'), before);
});

// A file bigger than any one read can return (fs.readFile stops at 2 GiB, a Buffer at 4 GiB
// on Node 20), sparse so it costs no disk: served at all, its tail by Range, and its first
// 32 MiB streamed while the RSS stays flat, it cannot have been read into memory. Streaming
// 512 MiB end to end with RSS and throughput is `npm run bench:source`.
test('a 5 GiB file is served without being read into memory', async (t) => {
  t.timeout(60_000);
  const dir = await mkdtemp(join(tmpdir(), 'slurpie-source-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'big.bin');
  const size = 5 * 1024 ** 3;
  const fh = await open(path, 'w');
  await fh.truncate(size); // sparse: zeros, no disk space
  await fh.write(Buffer.from('tail'), 0, 4, size - 4);
  await fh.close();
  const server = await serve(t, { file: path });
  const head = await ask(server.url, { method: 'HEAD' });
  t.is(head.headers.get('content-length'), String(size));
  const tail = await ask(server.url, { headers: { range: 'bytes=-4' } });
  t.is(tail.headers.get('content-range'), `bytes ${size - 4}-${size - 1}/${size}`);
  t.is(Buffer.from(tail.body).toString(), 'tail');

  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  let received = 0;
  const wanted = 32 * 1024 * 1024;
  const res = await fetch(server.url);
  t.is(res.status, 200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  while (received < wanted) {
    const r = await reader.read();
    if (r.done) break;
    received += r.value.length;
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  await reader.cancel();
  t.true(received >= wanted, `${received} bytes streamed`);
  t.log(`RSS growth while streaming the first ${(received / 2 ** 20).toFixed(0)} MiB of 5 GiB: ${((peak - before) / 2 ** 20).toFixed(1)} MiB`);
  t.true(peak - before < 256 * 1024 * 1024, `RSS grew by ${peak - before} bytes`);
});

test('no-ranges mode ignores Range and If-Range and announces no Accept-Ranges', async (t) => {
  const data = randomBytes(new SeededRng(SEED + 6), 2000);
  const server = await serve(t, { data, ranges: false });
  const head = await ask(server.url, { method: 'HEAD' });
  t.is(head.headers.get('accept-ranges'), null);
  const res = await ask(server.url, { headers: { range: 'bytes=0-9', 'if-range': head.headers.get('etag') as string } });
  t.is(res.status, 200);
  t.true(same(res.body, data));
  t.is((await ask(server.url, { headers: { range: 'bytes=5000-' } })).status, 200);
});

test('redirects, sidecar, 404, 405 and failFirst', async (t) => {
  const data = randomBytes(new SeededRng(SEED + 7), 100);
  const server = await serve(t, { data, name: 'a b.bin', sha256File: true, failFirst: 2 });
  t.true(server.url.endsWith('/a%20b.bin'));
  const base = server.url.slice(0, server.url.lastIndexOf('/'));
  const redirect = await ask(`${base}/redirect/a%20b.bin`);
  t.is(redirect.status, 302);
  t.is(redirect.headers.get('location'), '/a%20b.bin');
  t.is((await ask(`${base}/redirect/redirect/a%20b.bin`)).headers.get('location'), '/redirect/a%20b.bin');
  t.is(Buffer.from((await ask(`${server.url}.sha256`)).body).toString(), `${createHash('sha256').update(data).digest('hex')}  a b.bin\n`);
  t.is((await ask(`${base}/other.bin`)).status, 404);
  const post = await ask(server.url, { method: 'POST' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET, HEAD');
  t.is((await ask(server.url, { method: 'HEAD' })).status, 200); // HEAD is not a GET: not failed
  t.is((await ask(server.url)).status, 503);
  t.is((await ask(server.url)).status, 503);
  t.true(same((await ask(server.url)).body, data));
  const stats = server.stats();
  t.deepEqual(stats.byStatus, { '200': 3, '302': 2, '404': 1, '405': 1, '503': 2 });
  t.is(stats.requests, 9);
});

test('/_stats counts body bytes, requests and range requests', async (t) => {
  t.timeout(30_000);
  const data = randomBytes(new SeededRng(SEED + 8), 32 * 1024);
  const server = await serve(t, { data });
  const statsUrl = new URL('/_stats', server.url).toString();
  const bodies = await Promise.all([ask(server.url), ask(server.url), ask(server.url, { headers: { range: 'bytes=0-9999' } })]);
  t.is(bodies.reduce((n, b) => n + b.body.length, 0), 2 * data.length + 10_000);
  await ask(server.url, { method: 'HEAD' });
  const stats = (await (await fetch(statsUrl)).json()) as ReturnType<SourceServer['stats']>;
  t.like(stats, {
    bytesSent: 2 * data.length + 10_000,
    requests: 4, // /_stats itself is not counted
    rangeRequests: 1,
    concurrent: 0,
    byStatus: { '200': 3, '206': 1 },
  });
});

test('/_stats counts responses in flight and their peak', async (t) => {
  t.timeout(30_000);
  // 1 KiB/s for 32 KiB bodies: none of the three can finish while the test looks.
  const server = await serve(t, { data: randomBytes(new SeededRng(SEED + 11), 32 * 1024), rate: 1024 });
  const statsUrl = new URL('/_stats', server.url).toString();
  const clients = [0, 1, 2].map(() => new AbortController());
  // The bodies stay unread until the end: cancelling one closes its connection early.
  const requests = clients.map((c, i) =>
    fetch(server.url, { signal: c.signal, headers: i === 2 ? { range: 'bytes=0-9999' } : {} }).catch(() => undefined),
  );
  await until(() => server.stats().concurrent === 3, 'three responses in flight', { everyMs: 10 });
  t.like((await (await fetch(statsUrl)).json()) as object, { concurrent: 3, peakConcurrent: 3 });
  for (const c of clients) c.abort();
  await Promise.all((await Promise.all(requests)).map((r) => r?.body?.cancel().catch(() => undefined)));
  await until(() => server.stats().concurrent === 0, 'the server to see the clients go', { everyMs: 10 });
  t.like(server.stats(), { concurrent: 0, peakConcurrent: 3 });
  t.true(server.stats().bytesSent < 3 * 10_000, 'none of them ran to the end');
});

test('the rate limit holds over all connections together', async (t) => {
  t.timeout(30_000);
  const rate = 200 * 1024;
  const data = randomBytes(new SeededRng(SEED + 9), 200 * 1024);
  const server = await serve(t, { data, rate });
  const started = performance.now();
  const bodies = await Promise.all([ask(server.url), ask(server.url)]);
  const elapsed = (performance.now() - started) / 1000;
  t.true(bodies.every((b) => same(b.body, data)));
  const sent = server.stats().bytesSent;
  t.is(sent, 2 * data.length);
  // Generous: the burst plus one chunk per connection, plus 20% for clock slop.
  const allowed = rate * elapsed * 1.2 + defaultBurst(rate) + 2 * 64 * 1024;
  t.log(`${sent} bytes in ${elapsed.toFixed(2)} s at a limit of ${rate} B/s (allowed ${Math.round(allowed)})`);
  t.true(sent <= allowed, `${sent} bytes in ${elapsed.toFixed(2)} s exceeds ${rate} B/s`);
});

test('closing the server cuts responses in flight', async (t) => {
  t.timeout(20_000);
  const data = randomBytes(new SeededRng(SEED + 10), 256 * 1024);
  const server = await startSourceServer({ data, rate: 1024 }); // minutes for the body: it is surely in flight
  const res = await fetch(server.url);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  await server.close();
  await t.throwsAsync(async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read());
  });
  t.true(server.stats().bytesSent < data.length);
});

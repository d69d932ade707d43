import test from 'ava';
import type { ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomInt, SeededRng, seedFrom } from '../estimation/random.ts';
import { startSourceServer } from '../experiments/source/range-server.ts';
import type { SourceServer, SourceServerOptions } from '../experiments/source/range-server.ts';
import { isSlurpieError } from '../peer/errors.ts';
import type { ErrorCode } from '../peer/errors.ts';
import { closeSourceClients, fetchBlocks, fetchWhole, parseSidecar, probeSource } from '../peer/node/source-client.ts';
import type { SourceInfo, WatchdogTimers } from '../peer/node/source-client.ts';
import { until } from './fixtures/wait.ts';

const SEED = seedFrom(process.env, 1356981);

test.after.always(() => closeSourceClients());

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

/** A hand-written origin for misbehaviour the range server does not offer. */
async function rawServer(t: ExecutionContext, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function expectCode(t: ExecutionContext, promise: Promise<unknown>, code: ErrorCode, mentions: string): Promise<string> {
  const err = await t.throwsAsync(promise);
  if (!isSlurpieError(err)) {
    t.fail(`expected a SlurpieError ${code}, got ${String(err)}`);
    return '';
  }
  t.is(err.code, code, err.message);
  t.true(err.message.includes(mentions), `"${err.message}" should name ${mentions}`);
  t.false(err.message.includes('\n'), 'one line');
  return err.message;
}

const noDelay = async (): Promise<void> => {};

/** The idle watchdog's clock, moved by the test: a source is "silent for 30 s" when the test says so. */
class ManualTimers implements WatchdogTimers {
  private next = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  now = 0;
  /** How many times a timer was set. */
  arms = 0;

  setTimeout(fn: () => void, ms: number): unknown {
    this.arms++;
    this.pending.set(this.next, { at: this.now + ms, fn });
    return this.next++;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  get armed(): number {
    return this.pending.size;
  }

  /** Moves the clock on by `ms`, firing what falls due. */
  advance(ms: number): void {
    this.now += ms;
    for (const [id, timer] of [...this.pending].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at > this.now || !this.pending.has(id)) continue;
      this.pending.delete(id);
      timer.fn();
    }
  }
}

/** Collects fetchBlocks output as index -> bytes. */
async function collect(info: SourceInfo, first: number, count: number, blockSize: number, opts = {}): Promise<Map<number, Uint8Array>> {
  const blocks = new Map<number, Uint8Array>();
  await fetchBlocks(info, first, count, blockSize, (i, data) => void blocks.set(i, data), opts);
  return blocks;
}

test('probe: size, strong ETag, Range support; Last-Modified without ETags; no Range when the server has none', async (t) => {
  const data = randomBytes(new SeededRng(SEED), 12_345);
  const server = await serve(t, { data });
  const etag = (await fetch(server.url, { method: 'HEAD' })).headers.get('etag');
  t.deepEqual(await probeSource(server.url), { url: server.url, size: 12_345, validator: etag, ranges: true });

  const dated = await serve(t, { data, etag: false });
  const lastModified = (await fetch(dated.url, { method: 'HEAD' })).headers.get('last-modified');
  t.is((await probeSource(dated.url)).validator, lastModified);

  const plain = await serve(t, { data, ranges: false });
  const info = await probeSource(plain.url);
  t.false(info.ranges);
  t.is(info.size, 12_345);
});

test('probe follows up to 5 redirects; the URL stays the one given, the final one is informative', async (t) => {
  const server = await serve(t, { data: new Uint8Array(10), name: 'f.bin' });
  const base = server.url.slice(0, server.url.lastIndexOf('/'));
  const given = `${base}${'/redirect'.repeat(5)}/f.bin`;
  const info = await probeSource(given);
  t.is(info.url, given);
  t.is(info.redirectedTo, server.url);
  t.is(info.size, 10);
  await expectCode(t, probeSource(`${base}${'/redirect'.repeat(6)}/f.bin`), 'SOURCE_HTTP', base);
});

test('probe reads a URL.sha256 sidecar; a missing or malformed one is simply absent', async (t) => {
  const data = randomBytes(new SeededRng(SEED + 1), 777);
  const digest = createHash('sha256').update(data).digest('hex');
  const withSidecar = await serve(t, { data, sha256File: true });
  t.is((await probeSource(withSidecar.url)).sha256, digest);
  const base = withSidecar.url.slice(0, withSidecar.url.lastIndexOf('/'));
  t.is((await probeSource(`${base}/redirect/file.bin`)).sha256, digest); // next to the final URL
  const without = await serve(t, { data });
  t.false('sha256' in (await probeSource(without.url)));

  const bogus = await rawServer(t, (req, res) => {
    if (req.url === '/x.sha256') res.end('not a digest\n');
    else res.writeHead(200, { 'Content-Length': 3, 'Accept-Ranges': 'bytes' }).end(req.method === 'HEAD' ? undefined : 'abc');
  });
  const info = await probeSource(`${bogus}/x`);
  t.is(info.size, 3);
  t.false('sha256' in info);

  t.is(parseSidecar(`${digest.toUpperCase()}\n`, 'x'), digest);
  t.is(parseSidecar(`${'a'.repeat(64)}  other.iso\n${digest} *file.bin\n`, 'file.bin'), digest);
  t.is(parseSidecar(`${'a'.repeat(64)}  other.iso\n${digest}  more.iso\n`, 'file.bin'), undefined);
  t.is(parseSidecar(`${digest.slice(1)}  file.bin\n`, 'file.bin'), undefined);
});

test('probe falls back to GET bytes=0-0 when HEAD is not allowed', async (t) => {
  const ranges: (string | undefined)[] = [];
  const url = await rawServer(t, (req, res) => {
    if (req.method === 'HEAD') return void res.writeHead(405, { Allow: 'GET' }).end();
    if (req.url !== '/f') return void res.writeHead(404).end();
    ranges.push(req.headers.range);
    res.writeHead(206, { 'Content-Range': 'bytes 0-0/5000', 'Content-Length': 1, ETag: '"v1"' }).end('x');
  });
  t.deepEqual(await probeSource(`${url}/f`), { url: `${url}/f`, size: 5000, validator: '"v1"', ranges: true });
  t.deepEqual(ranges, ['bytes=0-0']);
});

test('probe: bad URLs, HTTP errors and unreachable sources each get their code', async (t) => {
  t.timeout(20_000);
  await expectCode(t, probeSource('not a url'), 'BAD_INPUT', 'not a url');
  await expectCode(t, probeSource('ftp://127.0.0.1/x'), 'BAD_INPUT', 'ftp://127.0.0.1/x');
  const server = await serve(t, { data: new Uint8Array(1) });
  const missing = server.url.replace('file.bin', 'missing.bin');
  const message = await expectCode(t, probeSource(missing), 'SOURCE_HTTP', missing);
  t.true(message.includes('404 Not Found'));

  // A port that was free a moment ago: refused at once, retried, then given up.
  const gone = createServer();
  await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
  const goneUrl = `http://127.0.0.1:${(gone.address() as AddressInfo).port}/f`;
  await new Promise<void>((resolve) => gone.close(() => resolve()));
  const delays: number[] = [];
  await expectCode(t, probeSource(goneUrl, { delay: async (ms) => void delays.push(ms) }), 'SOURCE_UNREACHABLE', goneUrl);
  t.is(delays.length, 2, 'three tries, two backoffs');
  // 200 ms base, doubling, jittered down to half: [100, 200] then [200, 400].
  const [d0 = 0, d1 = 0] = delays;
  t.true(d0 >= 100 && d0 <= 200 && d1 >= 200 && d1 <= 400, `backoff ${delays.join(', ')}`);
  // And with the real backoff it still gives up quickly.
  await expectCode(t, probeSource(goneUrl), 'SOURCE_UNREACHABLE', goneUrl);
});

test('a source that accepts but never answers: SOURCE_UNREACHABLE, "no answer within", after the retries', async (t) => {
  t.timeout(20_000);
  const url = `${await rawServer(t, () => {})}/silent`; // never answers
  const delays: number[] = [];
  const message = await expectCode(t, probeSource(url, { timeoutMs: 300, delay: async (ms) => void delays.push(ms) }), 'SOURCE_UNREACHABLE', url);
  t.true(message.includes('no answer within 0.3 s'), message);
  t.is(delays.length, 2, 'a timeout is retried like a refusal');
  // A Range GET has only the headers timeout (its idle watchdog starts with the answer).
  const source = await serve(t, { data: new Uint8Array(1000) });
  const info = { ...(await probeSource(source.url)), url };
  const got = await expectCode(t, fetchBlocks(info, 0, 1, 1000, () => {}, { idleTimeoutMs: 300, delay: async () => {} }), 'SOURCE_UNREACHABLE', url);
  t.regex(got, /within 0\.3 s/);
});

test('fetchBlocks assembles exact blocks, including a short last block', async (t) => {
  t.log(`seed ${SEED}`);
  const rng = new SeededRng(SEED + 2);
  const blockSize = 4096 + randomInt(rng, 4096);
  const blockCount = 10 + randomInt(rng, 10);
  const size = (blockCount - 1) * blockSize + 1 + randomInt(rng, blockSize - 1);
  const data = randomBytes(rng, size);
  const server = await serve(t, { data });
  const info = await probeSource(server.url);
  const plans: [number, number][] = [[0, blockCount], [blockCount - 1, 1], [blockCount - 3, 5], [0, 1]];
  for (let i = 0; i < 10; i++) {
    const first = randomInt(rng, blockCount);
    plans.push([first, 1 + randomInt(rng, blockCount - first + 2)]);
  }
  for (const [first, count] of plans) {
    const order: number[] = [];
    const blocks = new Map<number, Uint8Array>();
    const { bytes } = await fetchBlocks(info, first, count, blockSize, (i, d) => {
      order.push(i);
      blocks.set(i, d);
    });
    const last = Math.min(first + count, blockCount);
    t.deepEqual(order, Array.from({ length: last - first }, (_, k) => first + k), `${first}+${count}`);
    t.is(bytes, Math.min(last * blockSize, size) - first * blockSize);
    for (const [i, d] of blocks) {
      t.true(Buffer.from(d).equals(Buffer.from(data.subarray(i * blockSize, Math.min((i + 1) * blockSize, size)))), `block ${i}`);
    }
  }
  await t.throwsAsync(fetchBlocks(info, blockCount, 1, blockSize, () => {}), { message: /no such blocks/ });
});

test('fetchBlocks waits for a slow consumer without calling it idle', async (t) => {
  t.timeout(20_000);
  const data = randomBytes(new SeededRng(SEED + 3), 40_000);
  const server = await serve(t, { data });
  const info = await probeSource(server.url);
  const idleMs = 30_000;
  const timers = new ManualTimers();
  let busy = 0;
  const blocks: Uint8Array[] = [];
  await fetchBlocks(
    info,
    0,
    4,
    10_000,
    async (i, d) => {
      t.is(busy++, 0, 'onBlock is awaited, never called twice at once');
      t.is(timers.armed, 0, 'no idle timer runs while the consumer works');
      timers.advance(10 * idleMs); // the consumer takes ten idle periods over each block
      await new Promise((resolve) => setImmediate(resolve)); // and the source's bytes keep coming meanwhile
      blocks[i] = d;
      busy--;
    },
    { idleTimeoutMs: idleMs, timers },
  );
  t.true(Buffer.concat(blocks).equals(Buffer.from(data)));
  t.true(timers.arms >= 4, `the watchdog watched the source between blocks (${timers.arms} arms)`);
});

test('a file changed at the source aborts with SOURCE_CHANGED (ETag and Last-Modified)', async (t) => {
  const rng = new SeededRng(SEED + 4);
  for (const etag of [true, false]) {
    const server = await serve(t, { data: randomBytes(rng, 50_000), etag });
    const info = await probeSource(server.url);
    await server.replace(randomBytes(rng, 50_000));
    const message = await expectCode(t, collect(info, 1, 2, 8192), 'SOURCE_CHANGED', server.url);
    t.true(message.includes(etag ? 'ETag' : 'Last-Modified'), message);
    await expectCode(t, fetchWhole(info, () => {}), 'SOURCE_CHANGED', server.url);
  }
  // A shorter file is caught too, whatever the validator says.
  const server = await serve(t, { data: randomBytes(rng, 50_000) });
  const info = await probeSource(server.url);
  await server.replace(randomBytes(rng, 1000));
  await expectCode(t, collect({ ...info, validator: null }, 2, 1, 8192), 'SOURCE_CHANGED', server.url);
});

test('a server that stops honoring Range, or answers the wrong range, is a SOURCE_HTTP error', async (t) => {
  const data = randomBytes(new SeededRng(SEED + 5), 5000);
  const plain = await serve(t, { data, ranges: false });
  const probed = await probeSource(plain.url);
  await expectCode(t, collect({ ...probed, ranges: true }, 0, 1, 1000), 'SOURCE_HTTP', plain.url);

  const liar = await rawServer(t, (_req, res) => {
    res.writeHead(206, { 'Content-Range': 'bytes 0-9/5000', 'Content-Length': 10, ETag: '"v"' }).end('0123456789');
  });
  const info: SourceInfo = { url: `${liar}/f`, size: 5000, validator: '"v"', ranges: true };
  await expectCode(t, collect(info, 1, 1, 1000), 'SOURCE_HTTP', `${liar}/f`);
  await expectCode(t, collect({ ...info, size: 6000 }, 1, 1, 1000), 'SOURCE_CHANGED', `${liar}/f`);
});

test('503s are retried with backoff and then succeed; too many give SOURCE_HTTP', async (t) => {
  const data = randomBytes(new SeededRng(SEED + 6), 3000);
  const server = await serve(t, { data, failFirst: 2 });
  const info = await probeSource(server.url);
  const delays: number[] = [];
  const blocks = await collect(info, 0, 3, 1000, { delay: async (ms: number) => void delays.push(ms) });
  t.true(Buffer.concat([...blocks.values()]).equals(Buffer.from(data)));
  t.is(delays.length, 2);
  t.is(server.stats().byStatus['503'], 2);

  const worse = await serve(t, { data, failFirst: 10 });
  const message = await expectCode(t, collect(await probeSource(worse.url), 0, 1, 1000, { delay: noDelay, retries: 3 }), 'SOURCE_HTTP', worse.url);
  t.true(message.includes('503'));
  t.is(worse.stats().byStatus['503'], 4);
});

test('a body that stops keeps the blocks delivered and fails with SOURCE_UNREACHABLE', async (t) => {
  t.timeout(20_000);
  // Exactly one block, then silence: once block 0 is delivered the source has nothing more to say.
  const url = await rawServer(t, (_req, res) => {
    res.writeHead(206, { 'Content-Range': 'bytes 0-2999/3000', 'Content-Length': 3000 });
    res.write(Buffer.alloc(1000, 7));
  });
  const info: SourceInfo = { url: `${url}/f`, size: 3000, validator: null, ranges: true };
  const timers = new ManualTimers();
  const delivered: number[] = [];
  let armsAtBlock0 = Number.POSITIVE_INFINITY;
  const fetching = fetchBlocks(info, 0, 3, 1000, (i) => {
    delivered.push(i);
    armsAtBlock0 = timers.arms;
  }, { idleTimeoutMs: 30_000, delay: noDelay, timers });
  await until(() => delivered.length === 1 && timers.arms > armsAtBlock0, 'block 0, then the watchdog waiting on the source');
  t.is(timers.armed, 1);
  timers.advance(30_000); // the source stays silent for the whole idle timeout
  const message = await expectCode(t, fetching, 'SOURCE_UNREACHABLE', `${url}/f`);
  t.true(message.includes('silent for 30 s'), message);
  t.deepEqual(delivered, [0]);
});

test('an abort stops a probe, a block fetch and a whole fetch with the abort reason', async (t) => {
  t.timeout(20_000);
  const data = randomBytes(new SeededRng(SEED + 7), 200_000);
  const server = await serve(t, { data, rate: 40_000 }); // 5 s for the whole body
  const before = new AbortController();
  before.abort(new Error('stop now'));
  await t.throwsAsync(probeSource(server.url, { signal: before.signal }), { message: 'stop now' });

  const info = await probeSource(server.url);
  const ac = new AbortController();
  const seen: number[] = [];
  const run = fetchBlocks(info, 0, 20, 10_000, (i) => {
    seen.push(i);
    if (i === 0) ac.abort(new Error('user pressed Ctrl-C'));
  }, { signal: ac.signal });
  await t.throwsAsync(run, { message: 'user pressed Ctrl-C' });
  t.deepEqual(seen, [0]);

  // Mid-stream: aborted on its first bytes, with most of the body still to come.
  const whole = new AbortController();
  let received = 0;
  const streaming = fetchWhole(info, (_offset, chunk) => {
    received += chunk.length;
    whole.abort(new Error('enough'));
  }, { signal: whole.signal });
  await t.throwsAsync(streaming, { message: 'enough' });
  t.true(received > 0 && received < data.length, `aborted after ${received} of ${data.length} bytes`);
});

test('fetchWhole streams a source without Range, or without a Content-Length, in order', async (t) => {
  const rng = new SeededRng(SEED + 8);
  const data = randomBytes(rng, 300_000);
  const server = await serve(t, { data, ranges: false });
  const info = await probeSource(server.url);
  const parts: Buffer[] = [];
  let expected = 0;
  const { bytes } = await fetchWhole(info, (offset, chunk) => {
    t.is(offset, expected);
    expected += chunk.length;
    parts.push(Buffer.from(chunk));
  });
  t.is(bytes, data.length);
  t.true(Buffer.concat(parts).equals(Buffer.from(data)));

  const chunked = await rawServer(t, (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' }); // chunked: no length
    if (req.method === 'HEAD') return void res.end();
    res.write(data.subarray(0, 1000));
    res.end(data.subarray(1000, 5000));
  });
  const unsized = await probeSource(`${chunked}/f`);
  t.like(unsized, { size: null, ranges: false, validator: null });
  const got: Buffer[] = [];
  t.is((await fetchWhole(unsized, (_o, c) => void got.push(Buffer.from(c)))).bytes, 5000);
  t.true(Buffer.concat(got).equals(Buffer.from(data.subarray(0, 5000))));
  await t.throwsAsync(fetchBlocks(unsized, 0, 1, 1000, () => {}), { message: /fetchWhole/ });
});

test('a server that honors Range without announcing Accept-Ranges is still used with ranges', async (t) => {
  t.timeout(20_000);
  const body = Buffer.alloc(100_000, 7);
  const server = createServer((req, res) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (req.method === 'GET' && m) {
      const [a, b] = [Number(m[1]), Math.min(Number(m[2]), body.length - 1)];
      res.writeHead(206, { 'content-length': b - a + 1, 'content-range': `bytes ${a}-${b}/${body.length}`, etag: '"v1"' });
      res.end(body.subarray(a, b + 1));
      return;
    }
    res.writeHead(200, { 'content-length': body.length, etag: '"v1"' }); // no Accept-Ranges
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const info = await probeSource(`http://127.0.0.1:${port}/f.bin`);
  t.true(info.ranges);
  t.is(info.size, body.length);
  t.is(info.validator, '"v1"');
});

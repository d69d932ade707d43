// The topology server's HTTP API (PROTOCOL.md §3) over a real socket (the peers' client:
// topology-client.test.ts).
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { startTopologyServer } from '../topology-server/server.ts';
import type { TopologyServer, TopologyServerOptions } from '../topology-server/server.ts';
import { SeededRng, seedFrom, shuffle } from '../estimation/random.ts';
import { within } from './fixtures/wait.ts';
import type { Answer } from './fixtures/http-answer.ts';

// Probed before any test is declared (ava wants them all declared synchronously after it).
const dualStack = await new Promise<boolean>((resolve) => {
  const probe = createServer();
  probe.once('error', () => resolve(false));
  probe.listen(0, '::ffff:127.0.0.1', () => probe.close(() => resolve(true)));
});

const SWARM = '5'.repeat(64);
const OTHER = 'e'.repeat(64);


interface Sent {
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Send the body with Transfer-Encoding: chunked, in pieces. */
  chunked?: boolean;
}

/** One request on a fresh connection, with full control over the bytes sent. */
function send(base: string, method: string, path: string, sent: Sent = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...sent.headers };
    const body = sent.body === undefined ? undefined : Buffer.from(sent.body);
    if (body && !sent.chunked) headers['content-length'] = String(body.length);
    if (body && sent.chunked) headers['transfer-encoding'] = 'chunked';
    const req = request(`${base}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body && sent.chunked) {
      for (let i = 0; i < body.length; i += 1000) req.write(body.subarray(i, i + 1000));
    } else if (body) {
      req.write(body);
    }
    req.end();
  });
}

async function start(t: ExecutionContext, options: TopologyServerOptions = {}): Promise<TopologyServer & { send: (m: string, p: string, s?: Sent) => Promise<Answer> }> {
  const server = await startTopologyServer({ host: '127.0.0.1', port: 0, ...options });
  t.teardown(() => server.close());
  return { ...server, send: (m, p, s) => send(server.url, m, p, s) };
}

const hexId = (n: number, length = 32): string => n.toString(16).padStart(length, '0');
const register = (id: string, port: number, extra: Record<string, unknown> = {}): Sent => ({
  body: JSON.stringify({ id, port, ...extra }),
  headers: { 'content-type': 'application/json' },
});

function assertError(t: ExecutionContext, answer: Answer, status: number, what: string): void {
  t.is(answer.status, status, `${what}: status (body ${answer.text.slice(0, 200)})`);
  t.regex(String(answer.headers['content-type']), /^application\/json/, `${what}: JSON content type`);
  const error = (answer.json as { error?: unknown } | undefined)?.error;
  t.is(typeof error, 'string', `${what}: {"error": string}`);
  t.false(String(error).includes('\n'), `${what}: one line`);
  t.false(/at .*\(.*:\d+:\d+\)/.test(answer.text), `${what}: no stack trace`);
}

test('register answers the last beta others newest first, refreshes, deregisters, counts', async (t) => {
  t.timeout(30_000);
  // Host fields believed (as behind a proxy that sets them), so answers show whose is whose;
  // the default, which stores the address it sees, is in topology-trust.test.ts.
  const s = await start(t, { beta: 3, ttl: 45, trustHostField: true });
  const ids = [1, 2, 3, 4, 5].map((n) => hexId(n));
  const first = await s.send('POST', `/v1/swarms/${SWARM}/peers`, register(ids[0]!, 4001));
  t.is(first.status, 200);
  t.deepEqual(first.json, { peers: [], ttl: 45, count: 1 }, 'count: registered now, the caller included');
  for (let i = 1; i < 5; i++) await s.send('POST', `/v1/swarms/${SWARM}/peers`, register(ids[i]!, 4001 + i, { host: `peer${i}.example` }));

  // A newcomer gets the last 3, newest first; the default host is the caller's address.
  const six = await s.send('POST', `/v1/swarms/${SWARM}/peers`, register(hexId(6), 4006));
  t.deepEqual(six.json, {
    peers: [
      { id: ids[4], host: 'peer4.example', port: 4005 },
      { id: ids[3], host: 'peer3.example', port: 4004 },
      { id: ids[2], host: 'peer2.example', port: 4003 },
    ],
    ttl: 45,
    count: 6,
  });
  t.deepEqual(s.registry.list(SWARM)[0], { id: hexId(6), host: '127.0.0.1', port: 4006 });

  // Re-registering the first one (upper-case id, new port) moves it to newest, not duplicated.
  const again = await s.send('POST', `/v1/swarms/${SWARM}/peers`, register(ids[0]!.toUpperCase(), 4100));
  t.deepEqual((again.json as { peers: { id: string }[] }).peers.map((p) => p.id), [hexId(6), ids[4], ids[3]]);
  const seven = await s.send('POST', `/v1/swarms/${SWARM}/peers`, register(hexId(7), 4007));
  t.deepEqual((seven.json as { peers: unknown[] }).peers[0], { id: ids[0], host: '127.0.0.1', port: 4100 });
  t.deepEqual((await s.send('GET', `/v1/swarms/${SWARM}`)).json, { peers: 7 });

  // DELETE: 204, also for an unknown id or swarm; a different swarm is untouched. (ids[1] is
  // bound to the host it named, trusted here: the DELETE names it too.)
  await s.send('POST', `/v1/swarms/${OTHER}/peers`, register(ids[1]!, 5000));
  const del = await s.send('DELETE', `/v1/swarms/${SWARM}/peers/${ids[1]!.toUpperCase()}?host=peer1.example`);
  t.is(del.status, 204);
  t.is(del.text, '');
  t.is((await s.send('DELETE', `/v1/swarms/${SWARM}/peers/${hexId(99)}`)).status, 204);
  t.is((await s.send('DELETE', `/v1/swarms/${'0'.repeat(64)}/peers/${hexId(99)}`)).status, 204);
  t.deepEqual((await s.send('GET', `/v1/swarms/${SWARM}`)).json, { peers: 6 });
  t.deepEqual((await s.send('GET', `/v1/swarms/${OTHER}`)).json, { peers: 1 });
  t.deepEqual((await s.send('GET', `/v1/swarms/${'0'.repeat(64)}`)).json, { peers: 0 });
  const eight = await s.send('POST', `/v1/swarms/${SWARM}/peers`, register(hexId(8), 4008));
  t.false((eight.json as { peers: { id: string }[] }).peers.some((p) => p.id === ids[1]), 'a deregistered peer is not handed out');

  // Unknown fields are ignored, not stored or echoed.
  await s.send('POST', `/v1/swarms/${OTHER}/peers`, register(hexId(9), 5001, { extra: { nested: true } }));
  t.deepEqual(s.registry.list(OTHER)[0], { id: hexId(9), host: '127.0.0.1', port: 5001 });

  const health = await s.send('GET', '/healthz');
  t.is(health.status, 200);
  t.deepEqual(health.json, { ok: true });
});

test('every bad input gets 400 (413 for size) with a one-line JSON error and changes nothing', async (t) => {
  t.timeout(90_000);
  const s = await start(t);
  await s.send('POST', `/v1/swarms/${SWARM}/peers`, register(hexId(1), 4001));
  await s.send('POST', `/v1/swarms/${SWARM}/peers`, register(hexId(2), 4002));
  const snapshot = (): string => JSON.stringify({ stats: s.registry.stats(), list: s.registry.list(SWARM), other: s.registry.list(OTHER) });
  const before = snapshot();
  const post = `/v1/swarms/${SWARM}/peers`;
  const json = { 'content-type': 'application/json' };
  const id = hexId(3);

  const cases: [string, string, string, Sent, number][] = [
    // malformed JSON and non-object bodies
    ['truncated JSON', 'POST', post, { body: '{"id": "0123456789abcdef", "port":', headers: json }, 400],
    ['unquoted keys', 'POST', post, { body: `{id: "${id}", port: 1}`, headers: json }, 400],
    ['not JSON at all', 'POST', post, { body: 'hello', headers: json }, 400],
    ['empty body', 'POST', post, { body: '', headers: json }, 400],
    ['no body', 'POST', post, {}, 400],
    ['array body', 'POST', post, { body: `[{"id":"${id}","port":1}]`, headers: json }, 400],
    ['string body', 'POST', post, { body: '"x"', headers: json }, 400],
    ['number body', 'POST', post, { body: '42', headers: json }, 400],
    ['null body', 'POST', post, { body: 'null', headers: json }, 400],
    ['true body', 'POST', post, { body: 'true', headers: json }, 400],
    ['invalid UTF-8', 'POST', post, { body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), headers: json }, 400],
    // bad ids
    ['missing id', 'POST', post, { body: '{"port": 1}', headers: json }, 400],
    ['id too short (15)', 'POST', post, register('0'.repeat(15), 1), 400],
    ['id too long (65)', 'POST', post, register('0'.repeat(65), 1), 400],
    ['id not hex', 'POST', post, register('g'.repeat(16), 1), 400],
    ['id with a space', 'POST', post, register(`${'0'.repeat(8)} ${'0'.repeat(8)}`, 1), 400],
    ['id a number', 'POST', post, { body: '{"id": 1234567890123456, "port": 1}', headers: json }, 400],
    ['id null', 'POST', post, { body: '{"id": null, "port": 1}', headers: json }, 400],
    ['id an array', 'POST', post, { body: `{"id": ["${id}"], "port": 1}`, headers: json }, 400],
    // bad ports
    ['missing port', 'POST', post, { body: `{"id": "${id}"}`, headers: json }, 400],
    ['port 0', 'POST', post, register(id, 0), 400],
    ['port 65536', 'POST', post, register(id, 65536), 400],
    ['port -1', 'POST', post, register(id, -1), 400],
    ['port 1.5', 'POST', post, register(id, 1.5), 400],
    ['port a string', 'POST', post, { body: `{"id": "${id}", "port": "8080"}`, headers: json }, 400],
    ['port true', 'POST', post, { body: `{"id": "${id}", "port": true}`, headers: json }, 400],
    ['port null', 'POST', post, { body: `{"id": "${id}", "port": null}`, headers: json }, 400],
    ['port an array', 'POST', post, { body: `{"id": "${id}", "port": [80]}`, headers: json }, 400],
    ['port an object', 'POST', post, { body: `{"id": "${id}", "port": {}}`, headers: json }, 400],
    ['port huge', 'POST', post, { body: `{"id": "${id}", "port": 1e400}`, headers: json }, 400],
    // bad hosts
    ['host empty', 'POST', post, register(id, 1, { host: '' }), 400],
    ['host too long', 'POST', post, register(id, 1, { host: `${'a'.repeat(63)}.`.repeat(4) + 'abcd' }), 400],
    ['host a number', 'POST', post, register(id, 1, { host: 127001 }), 400],
    ['host null', 'POST', post, register(id, 1, { host: null }), 400],
    ['host with a space', 'POST', post, register(id, 1, { host: 'a b' }), 400],
    ['host a URL', 'POST', post, register(id, 1, { host: 'http://x.example' }), 400],
    ['host with a port', 'POST', post, register(id, 1, { host: 'x.example:80' }), 400],
    ['host bad IPv4', 'POST', post, register(id, 1, { host: '999.1.1.1' }), 400],
    // bad swarm ids, on every route
    ['swarmId 63 chars', 'POST', `/v1/swarms/${'a'.repeat(63)}/peers`, register(id, 1), 400],
    ['swarmId 65 chars', 'POST', `/v1/swarms/${'a'.repeat(65)}/peers`, register(id, 1), 400],
    ['swarmId upper case', 'POST', `/v1/swarms/${'A'.repeat(64)}/peers`, register(id, 1), 400],
    ['swarmId not hex', 'POST', `/v1/swarms/${'z'.repeat(64)}/peers`, register(id, 1), 400],
    ['swarmId bad percent-encoding', 'POST', '/v1/swarms/%E0%A4%A/peers', register(id, 1), 400],
    ['GET bad swarmId', 'GET', `/v1/swarms/${'a'.repeat(63)}`, {}, 400],
    ['DELETE bad swarmId', 'DELETE', `/v1/swarms/xyz/peers/${hexId(1)}`, {}, 400],
    ['DELETE bad id', 'DELETE', `/v1/swarms/${SWARM}/peers/${'0'.repeat(15)}`, {}, 400],
    ['DELETE non-hex id', 'DELETE', `/v1/swarms/${SWARM}/peers/${'q'.repeat(16)}`, {}, 400],
    // size
    ['body over 4 KiB', 'POST', post, register(id, 1, { pad: 'x'.repeat(5000) }), 413],
    ['body over 4 KiB, chunked', 'POST', post, { ...register(id, 1, { pad: 'x'.repeat(5000) }), chunked: true }, 413],
    ['body of 1 MiB, chunked', 'POST', post, { body: ' '.repeat(1 << 20), headers: json, chunked: true }, 413],
  ];
  for (const [what, method, path, sent, status] of cases) {
    const answer = await s.send(method, path, sent);
    assertError(t, answer, status, what);
    t.is(snapshot(), before, `${what}: the registry did not change`);
  }

  // Just inside the limits: a 4096-byte body, a 255-character host, ids of 16 and 64.
  const pad = (n: number): string => JSON.stringify({ id, port: 1, pad: 'x'.repeat(n) });
  const exact = pad(4096 - pad(0).length);
  t.is(Buffer.byteLength(exact), 4096);
  t.is((await s.send('POST', post, { body: exact, headers: json })).status, 200);
  const host255 = `${'a'.repeat(63)}.`.repeat(3) + 'a'.repeat(63);
  t.is(host255.length, 255);
  t.is((await s.send('POST', post, register(hexId(4), 65535, { host: host255 }))).status, 200);
  t.is((await s.send('POST', post, register('f'.repeat(16), 1, { host: '::1' }))).status, 200);
  t.is((await s.send('POST', post, register('f'.repeat(64), 1))).status, 200);
  t.is(s.registry.count(SWARM), 6);
});

test('unknown routes get 404 and wrong methods 405, both as JSON', async (t) => {
  t.timeout(30_000);
  const s = await start(t);
  for (const [method, path] of [
    ['GET', '/nope'], // GET / is the dashboard (test/topology-dashboard-api.test.ts)
    ['GET', '/v2/swarms'],
    ['POST', '/v1/swarms'],
    ['GET', `/v1/swarms/${SWARM}/peers/${hexId(1)}/x`],
  ] as const) {
    assertError(t, await s.send(method, path), 404, `${method} ${path}`);
  }
  for (const [method, path] of [
    ['GET', `/v1/swarms/${SWARM}/peers`],
    ['PUT', `/v1/swarms/${SWARM}/peers`],
    ['POST', `/v1/swarms/${SWARM}`],
    ['GET', `/v1/swarms/${SWARM}/peers/${hexId(1)}`],
    ['DELETE', '/healthz'],
    ['POST', '/'],
  ] as const) {
    const answer = await s.send(method, path);
    assertError(t, answer, 405, `${method} ${path}`);
    t.truthy(answer.headers.allow);
  }
  t.deepEqual(s.registry.stats(), { swarms: 0, registrations: 0 });
});

test('requests too broken for HTTP parsing still get a JSON error', async (t) => {
  t.timeout(30_000);
  const s = await start(t);
  const raw = (bytes: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = connect(s.port, '127.0.0.1', () => socket.write(bytes));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
  const garbage = await raw('HELLO THERE\r\n\r\n');
  t.regex(garbage, /^HTTP\/1\.1 400 /);
  t.deepEqual(JSON.parse(garbage.split('\r\n\r\n')[1]!), { error: 'malformed HTTP request' });
  const huge = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`);
  t.regex(huge, /^HTTP\/1\.1 431 /);
  t.deepEqual(JSON.parse(huge.split('\r\n\r\n')[1]!), { error: 'request headers too large' });
  t.deepEqual(s.registry.stats(), { swarms: 0, registrations: 0 });
});

// Correctness under interleaving, at a size that proves it; the server's throughput at
// 100,000 registrations is `npm run bench:topology`.
test('300 registrations across 10 concurrent swarms are all answered correctly', async (t) => {
  t.timeout(60_000);
  const seed = seedFrom(process.env, 5000);
  t.log(`seed ${seed} (replay with SLURPIE_SEED=${seed})`);
  const rng = new SeededRng(seed);
  const s = await start(t, { beta: 10 });
  const swarms = Array.from({ length: 10 }, (_, i) => hexId(i, 64));
  const perSwarm = 30;
  // Each swarm's peers register one after another (so the expected answer is known);
  // the swarms run concurrently, their requests interleaved in a random order.
  const plans = swarms.map((swarm, i) => ({ swarm, ids: shuffle(rng, Array.from({ length: perSwarm }, (_, k) => hexId(i * 1000 + k))) }));
  let wrong = 0;
  await Promise.all(
    plans.map(async ({ swarm, ids }) => {
      for (let k = 0; k < ids.length; k++) {
        const res = await fetch(`${s.url}/v1/swarms/${swarm}/peers`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: ids[k], port: 1 + k }),
        });
        const body = (await res.json()) as { peers: { id: string; host: string; port: number }[]; ttl: number };
        const expected = ids
          .slice(Math.max(0, k - 10), k)
          .reverse()
          .map((id) => ({ id, host: '127.0.0.1', port: 1 + ids.indexOf(id) }));
        if (res.status !== 200 || JSON.stringify(body) !== JSON.stringify({ peers: expected, ttl: 60, count: k + 1 })) wrong++;
      }
    }),
  );
  t.is(wrong, 0);
  for (const swarm of swarms) t.deepEqual((await s.send('GET', `/v1/swarms/${swarm}`)).json, { peers: perSwarm });
  t.deepEqual(s.registry.stats(), { swarms: swarms.length, registrations: swarms.length * perSwarm });
});

test('registrations expire after ttl (injected clock) and the sweep frees them', async (t) => {
  t.timeout(30_000);
  const clock = { t: 0 };
  const sweeps: { sweep: () => void; everyMs: number; stopped: boolean }[] = [];
  const sweepTimer = (sweep: () => void, everyMs: number): (() => void) => {
    const entry = { sweep, everyMs, stopped: false };
    sweeps.push(entry);
    return () => void (entry.stopped = true);
  };
  const s = await start(t, { ttl: 30, now: () => clock.t, sweepTimer });
  t.is(sweeps.length, 1);
  t.is(sweeps[0]?.everyMs, 15_000, 'by default the sweep runs every ttl / 2');
  await s.send('POST', `/v1/swarms/${SWARM}/peers`, register(hexId(1), 4001));
  clock.t += 20_000;
  await s.send('POST', `/v1/swarms/${SWARM}/peers`, register(hexId(2), 4002));
  await s.send('POST', `/v1/swarms/${OTHER}/peers`, register(hexId(3), 4003));
  clock.t += 10_000; // peer 1 is 30 s old: gone
  t.deepEqual((await s.send('GET', `/v1/swarms/${SWARM}`)).json, { peers: 1 });
  const answer = await s.send('POST', `/v1/swarms/${SWARM}/peers`, register(hexId(4), 4004));
  t.deepEqual(answer.json, { peers: [{ id: hexId(2), host: '127.0.0.1', port: 4002 }], ttl: 30, count: 2 });
  clock.t += 30_000;
  t.deepEqual((await s.send('GET', `/v1/swarms/${SWARM}`)).json, { peers: 0 });
  // The other swarm was never touched again; it is still held until the periodic sweep.
  t.is(s.registry.stats().swarms, 1);
  sweeps[0]?.sweep();
  t.deepEqual(s.registry.stats(), { swarms: 0, registrations: 0 });
  await s.close();
  t.true(sweeps[0]?.stopped, 'close() stops the sweep');
});

// Needs an IPv6 (dual-stack) loopback (probed at the top: ava wants tests declared before any await).
const mappedTitle = 'the default host of a peer on an IPv4-mapped socket is the plain IPv4 address';
(dualStack ? test : test.skip)(dualStack ? mappedTitle : `${mappedTitle} (skipped: no IPv6 loopback here)`, async (t) => {
  t.timeout(30_000);
  const s = await start(t, { host: '::ffff:127.0.0.1' });
  const res = await send(`http://127.0.0.1:${s.port}`, 'POST', `/v1/swarms/${SWARM}/peers`, register(hexId(1), 4001));
  t.is(res.status, 200);
  t.deepEqual(s.registry.list(SWARM), [{ id: hexId(1), host: '127.0.0.1', port: 4001 }]);
});

test('close() lets an in-flight request finish and ends keep-alive sockets', async (t) => {
  t.timeout(30_000);
  // A grace period far past the test's timeout: close() resolving at all proves it did not wait for it.
  const s = await startTopologyServer({ port: 0, closeGraceMs: 3_600_000 });
  const { Agent } = await import('node:http');
  const agent = new Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  const idle = await fetch(`${s.url}/healthz`); // leaves an idle keep-alive socket open
  await idle.arrayBuffer();
  // "Expect: 100-continue": the server answers 100 once it has parsed the request line and
  // headers, i.e. once the request is really under way on its side; the body comes later.
  let underWay: () => void = () => {};
  const started = new Promise<void>((resolve) => (underWay = resolve));
  const req = request(`${s.url}/v1/swarms/${SWARM}/peers`, {
    method: 'POST',
    agent,
    headers: { 'transfer-encoding': 'chunked', expect: '100-continue', 'content-type': 'application/json' },
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: JSON.parse(text) }));
    });
    req.on('error', reject);
  });
  req.on('continue', () => underWay());
  req.flushHeaders();
  await within(started, 'the server to take up the request (100 Continue)');
  const closing = s.close();
  req.end(`{"id":"${hexId(1)}","port":9}`); // the body only arrives after close() began
  const res = await answer;
  t.is(res.status, 200);
  t.deepEqual(res.json, { peers: [], ttl: 60, count: 1 });
  t.is(res.headers.connection, 'close', 'the answer ends its keep-alive socket');
  await closing; // both sockets are gone without the grace period (else the test times out)
  await t.throwsAsync(fetch(`${s.url}/healthz`), undefined, 'no longer accepting');
});

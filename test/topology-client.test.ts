// The peers' client for the topology server (peer/node/topology-client.ts) against the
// real server and against a misbehaving one.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTopologyServer } from '../topology-server/server.ts';
import type { TopologyServer, TopologyServerOptions } from '../topology-server/server.ts';
import { TopologyClient } from '../peer/node/topology-client.ts';
import { SlurpieError } from '../peer/errors.ts';

const SWARM = '5'.repeat(64);
const OTHER = 'e'.repeat(64);
const hexId = (n: number, length = 32): string => n.toString(16).padStart(length, '0');

async function start(t: ExecutionContext, options: TopologyServerOptions = {}): Promise<TopologyServer> {
  const server = await startTopologyServer({ host: '127.0.0.1', port: 0, ...options });
  t.teardown(() => server.close());
  return server;
}

test('TopologyClient registers, counts and deregisters against the real server', async (t) => {
  t.timeout(30_000);
  const s = await start(t, { beta: 2, ttl: 40, trustHostField: true }); // so peer2's host field shows in answers
  const client = new TopologyClient(`${s.url}/`);
  t.deepEqual(await client.register(SWARM, { id: hexId(1), port: 7001 }), { peers: [], ttl: 40, count: 1 });
  await client.register(SWARM, { id: hexId(2), host: 'peer2.example', port: 7002 });
  t.deepEqual(await client.register(SWARM, { id: hexId(3), port: 7003 }), {
    peers: [
      { id: hexId(2), host: 'peer2.example', port: 7002 },
      { id: hexId(1), host: '127.0.0.1', port: 7001 },
    ],
    ttl: 40,
    count: 3,
  });
  t.is(await client.count(SWARM), 3);
  await client.deregister(SWARM, hexId(2)); // names peer2.example in ?host=: a trusting server binds the id to it
  t.is(await client.count(SWARM), 2);
  t.is(await client.count(OTHER), 0);
  // The server's 400 comes back as a one-line TOPOLOGY_UNREACHABLE naming the server.
  const err = await t.throwsAsync(client.register(SWARM, { id: 'nothex', port: 1 }), { instanceOf: SlurpieError });
  t.is(err?.code, 'TOPOLOGY_UNREACHABLE');
  t.true(err?.message.includes(s.url) && err.message.includes('400') && err.message.includes('id must be'), err?.message);
});

test('TopologyClient treats the answer as untrusted: bad peers dropped, list capped', async (t) => {
  t.timeout(30_000);
  let answer = '';
  let status = 200;
  const { url: fake } = await listen(t, (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(answer);
  });
  const client = new TopologyClient(fake, { maxPeers: 5 });
  const good = (n: number): unknown => ({ id: hexId(n), host: `h${n}.example`, port: 1000 + n });
  answer = JSON.stringify({
    ttl: 60,
    peers: [
      good(1),
      { id: 'xyz', host: 'a', port: 1 },
      { id: hexId(2), host: '', port: 1 },
      { id: hexId(3), host: 'a b', port: 1 },
      { id: hexId(4), host: 'ok.example', port: 0 },
      { id: hexId(5), host: 'ok.example', port: '80' },
      null,
      7,
      good(1), // duplicate
      { ...(good(9) as object), id: hexId(42) }, // the caller itself
      good(6),
      good(7),
      good(8),
      good(9),
      good(10),
    ],
  });
  const got = await client.register(SWARM, { id: hexId(42), port: 1 });
  t.deepEqual(got, { ttl: 60, peers: [good(1), good(6), good(7), good(8), good(9)] });

  for (const [what, body] of [
    ['not JSON', '<html>oops</html>'],
    ['no peers list', '{"ttl": 60}'],
    ['bad ttl', '{"peers": [], "ttl": "60"}'],
    ['an array', '[]'],
  ]) {
    answer = body!;
    const err = await t.throwsAsync(client.register(SWARM, { id: hexId(42), port: 1 }), { instanceOf: SlurpieError }, what);
    t.is(err?.code, 'TOPOLOGY_UNREACHABLE', what);
  }
  answer = '{"peers": -1}';
  t.is((await t.throwsAsync(client.count(SWARM), { instanceOf: SlurpieError }))?.code, 'TOPOLOGY_UNREACHABLE');
  answer = JSON.stringify({ ttl: 60, peers: Array.from({ length: 20_000 }, (_, n) => good(n)) });
  const big = await t.throwsAsync(client.register(SWARM, { id: hexId(42), port: 1 }), { instanceOf: SlurpieError });
  t.regex(big?.message ?? '', /larger than/);
  status = 503;
  answer = '{"error": "busy\\nright now"}';
  const busy = await t.throwsAsync(client.count(SWARM), { instanceOf: SlurpieError });
  t.regex(busy?.message ?? '', /answered 503: busy right now$/);
});

test('TopologyClient: refused connections and timeouts are TOPOLOGY_UNREACHABLE', async (t) => {
  t.timeout(30_000);
  // A port that was just free: nothing listens there.
  const closed = await listen(t, () => {});
  const port = new URL(closed.url).port;
  await new Promise<void>((resolve) => closed.server.close(() => resolve()));
  const refused = new TopologyClient(`http://127.0.0.1:${port}`);
  const err = await t.throwsAsync(refused.count(SWARM), { instanceOf: SlurpieError });
  t.is(err?.code, 'TOPOLOGY_UNREACHABLE');
  t.true(err!.message.includes(`127.0.0.1:${port}`) && !err!.message.includes('\n'), err?.message);

  const silent = await listen(t, () => {}); // accepts, never answers
  const slow = new TopologyClient(silent.url, { timeoutMs: 200 });
  const timeout = await t.throwsAsync(slow.register(SWARM, { id: hexId(1), port: 1 }), { instanceOf: SlurpieError });
  t.is(timeout?.code, 'TOPOLOGY_UNREACHABLE');
  t.regex(timeout?.message ?? '', /no answer within 200 ms/);

  t.throws(() => new TopologyClient('not a url'), { instanceOf: SlurpieError });
  t.throws(() => new TopologyClient('ftp://127.0.0.1/'), { instanceOf: SlurpieError });
});

test('TopologyClient sends its token, names its host on DELETE, and retries a 429 only after a short Retry-After', async (t) => {
  t.timeout(30_000);
  const seen: { method: string; url: string; auth: string | undefined; at: number }[] = [];
  let answers: [number, Record<string, string>, string][] = [];
  const { url: fake } = await listen(t, (req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, at: performance.now() });
    const [status, headers, body] = answers.shift() ?? [204, {}, ''];
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  });
  const client = new TopologyClient(fake, { token: 's3cret' });
  const busy: [number, Record<string, string>, string] = [429, { 'retry-after': '1' }, '{"error": "too many registrations from your address"}'];
  answers = [busy, [200, {}, '{"peers": [], "ttl": 60, "count": 1}']];
  t.deepEqual(await client.register(SWARM, { id: hexId(1), host: '127.0.0.1', port: 7001 }), { peers: [], ttl: 60, count: 1 });
  t.is(seen.length, 2, 'asked again');
  t.true(seen[1]!.at - seen[0]!.at >= 900, `after the Retry-After (${(seen[1]!.at - seen[0]!.at).toFixed(0)} ms)`);
  t.true(seen.every((r) => r.auth === 'Bearer s3cret'), 'the token with every request');
  await client.deregister(SWARM, hexId(1));
  t.is(seen[2]?.url, `/v1/swarms/${SWARM}/peers/${hexId(1)}?host=127.0.0.1`);

  // A long Retry-After (the id quota's: the ttl) is not waited for; nor is a third 429.
  seen.length = 0;
  answers = [[429, { 'retry-after': '60' }, '{"error": "your address already holds 32 live ids in this swarm"}']];
  const started = performance.now();
  const long = await t.throwsAsync(client.register(SWARM, { id: hexId(2), port: 7002 }), { instanceOf: SlurpieError });
  t.true(performance.now() - started < 5000);
  t.regex(long?.message ?? '', /answered 429: your address already holds 32 live ids/);
  t.is(seen.length, 1);
  seen.length = 0;
  answers = [busy, busy, busy];
  const again = await t.throwsAsync(new TopologyClient(fake, { maxRetryWaitMs: 1000 }).register(SWARM, { id: hexId(3), port: 7003 }), { instanceOf: SlurpieError });
  t.regex(again?.message ?? '', /answered 429/);
  t.is(seen.length, 3, 'two retries at most');
  t.is(seen[0]!.auth, undefined, 'no token, no header');
});

/** A plain HTTP server standing in for a misbehaving topology server. */
async function listen(t: ExecutionContext, handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

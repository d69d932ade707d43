// The topology registry in Redis (--store redis://…), over real sockets: a real redis-server
// (test/fixtures/redis-server.ts) and two real topology servers on it, which must answer as
// one. Requests "from another machine" leave from another loopback address (127.0.0.2).
// Without redis-server every test here is a declared skip.
import test from 'ava';
import type { ExecutionContext, Implementation } from 'ava';
import { request } from 'node:http';
import { createClient } from '@redis/client';
import { RedisRegistry } from '../topology-server/redis-registry.ts';
import type { RedisRegistryOptions } from '../topology-server/redis-registry.ts';
import { Registry } from '../topology-server/registry.ts';
import { startTopologyServer } from '../topology-server/server.ts';
import type { TopologyServer, TopologyServerOptions } from '../topology-server/server.ts';
import type { Caller } from '../topology-server/store.ts';
import { NO_REDIS, REDIS_SERVER, startRedis } from './fixtures/redis-server.ts';
import { slurpie, runSlurpie } from './fixtures/cli-run.ts';
import { announced } from '../experiments/swarm/processes.ts';
import { until } from './fixtures/wait.ts';
import type { Answer } from './fixtures/http-answer.ts';

const SWARM = '7'.repeat(64);
const hexId = (n: number): string => n.toString(16).padStart(32, '0');
const PEERS = `/v1/swarms/${SWARM}/peers`;

/** A test that needs redis-server: declared a skip, saying why, when it is missing. */
function redisTest(title: string, body: Implementation<[]>): void {
  if (REDIS_SERVER) test(title, body);
  else test.skip(`${title} (skipped: ${NO_REDIS})`, () => {});
}

async function registry(t: ExecutionContext, url: string, options: RedisRegistryOptions = {}): Promise<RedisRegistry> {
  const r = await RedisRegistry.connect(url, options);
  t.teardown(() => r.close());
  return r;
}

type Server = TopologyServer<RedisRegistry>;

async function serve(t: ExecutionContext, url: string, options: RedisRegistryOptions & TopologyServerOptions = {}): Promise<Server> {
  const server = await startTopologyServer({ host: '127.0.0.1', port: 0, ...options, registry: await registry(t, url, options) });
  t.teardown(() => server.close());
  return server;
}

/** One request on a fresh connection from `from` (default 127.0.0.1). */
function send(base: string, method: string, path: string, body?: unknown, from = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = data ? { 'content-type': 'application/json', 'content-length': String(data.length) } : {};
    const req = request(`${base}${path}`, { method, headers, agent: false, localAddress: from }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        const json = /^application\/json/.test(String(res.headers['content-type'])) ? JSON.parse(text) : undefined;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

const register = (s: Server, n: number, from?: string, extra: Record<string, unknown> = {}): Promise<Answer> => send(s.url, 'POST', PEERS, { id: hexId(n), port: 4000 + n, ...extra }, from);
const peersOf = (a: Answer): unknown => (a.json as { peers?: unknown }).peers;

redisTest('two topology servers on one Redis answer as one: a peer registered at one is returned by the other', async (t) => {
  t.timeout(60_000);
  const { url } = await startRedis(t);
  const [a, b] = [await serve(t, url), await serve(t, url)];
  const first = await register(a, 1);
  t.is(first.status, 200, first.text);
  t.deepEqual(first.json, { peers: [], ttl: 60, count: 1 });
  const second = await register(b, 2);
  t.deepEqual(second.json, { peers: [{ id: hexId(1), host: '127.0.0.1', port: 4001 }], ttl: 60, count: 2 }, 'B answers with the peer registered at A');
  t.deepEqual((await send(a.url, 'GET', `/v1/swarms/${SWARM}`)).json, { peers: 2 }, 'A counts the peer registered at B');
  t.deepEqual(await a.registry.list(SWARM), [{ id: hexId(2), host: '127.0.0.1', port: 4002 }, { id: hexId(1), host: '127.0.0.1', port: 4001 }]);
});

redisTest('an id is bound to its address across servers: 409 on a takeover, 403 on a foreign delete, the owner deletes at either', async (t) => {
  t.timeout(60_000);
  const { url } = await startRedis(t);
  const [a, b] = [await serve(t, url), await serve(t, url)];
  t.is((await register(a, 1)).status, 200);
  const takeover = await register(b, 1, '127.0.0.2');
  t.is(takeover.status, 409, takeover.text);
  t.regex(String((takeover.json as { error: string }).error), /registered from another address/);
  t.deepEqual(await b.registry.list(SWARM), [{ id: hexId(1), host: '127.0.0.1', port: 4001 }], 'the binding and the address stand');
  const foreign = await send(b.url, 'DELETE', `${PEERS}/${hexId(1)}`, undefined, '127.0.0.2');
  t.is(foreign.status, 403, foreign.text);
  t.is(await a.registry.count(SWARM), 1);
  t.is((await send(b.url, 'DELETE', `${PEERS}/${hexId(1)}`)).status, 204, 'the owner deletes through the other server');
  t.deepEqual((await send(a.url, 'GET', `/v1/swarms/${SWARM}`)).json, { peers: 0 });
  t.is((await register(b, 1, '127.0.0.2')).status, 200, 'a deleted id is free for anyone');
});

redisTest('registrations expire after the ttl in Redis: the count drops to 0 at the other server and the keys carry an expiry', async (t) => {
  t.timeout(60_000);
  const { url } = await startRedis(t);
  const [a, b] = [await serve(t, url, { ttl: 1 }), await serve(t, url, { ttl: 1 })];
  t.is((await register(a, 1)).status, 200);
  const raw = createClient({ url });
  await raw.connect();
  t.teardown(() => raw.close());
  const expiry = await raw.sendCommand<number>(['PTTL', `slurpie:topology:s:${SWARM}:z`]);
  t.true(expiry > 0 && expiry <= 2_000, `the swarm's keys expire in Redis by themselves (PTTL ${expiry} ms)`);
  await until(async () => (await b.registry.count(SWARM)) === 0, 'the registration to expire', { ms: 30_000, everyMs: 100 });
  t.deepEqual((await send(b.url, 'GET', `/v1/swarms/${SWARM}`)).json, { peers: 0 });
  t.deepEqual(peersOf(await register(b, 2)), [], 'an expired peer is no longer handed out');
  await until(async () => (await raw.sendCommand<number>(['EXISTS', `slurpie:topology:s:${SWARM}:z`])) === 0, 'Redis to drop the keys', { ms: 30_000, everyMs: 100 });
});

redisTest('the expiry follows the ttl exactly (a shared clock): live until ttl, gone after, and an expired id is no one\'s', async (t) => {
  t.timeout(30_000);
  const { url } = await startRedis(t);
  let now = 1_000_000;
  const clock = { now: () => now, ttl: 10 };
  const [a, b] = [await registry(t, url, clock), await registry(t, url, clock)];
  const mine: Caller = { address: '10.0.0.1', group: '10.0.0.1', limited: true };
  const theirs: Caller = { address: '10.0.0.2', group: '10.0.0.2', limited: true };
  await a.register(SWARM, { id: hexId(1), host: '10.0.0.1', port: 1 }, mine);
  now += 9_999;
  t.is(await b.count(SWARM), 1, 'live just before the ttl');
  await t.throwsAsync(b.register(SWARM, { id: hexId(1), host: '10.0.0.2', port: 2 }, theirs), { message: /another address/ });
  now += 1;
  t.is(await b.count(SWARM), 0, 'gone at the ttl');
  t.deepEqual(await b.register(SWARM, { id: hexId(1), host: '10.0.0.2', port: 2 }, theirs), [], 'an expired id is free');
  t.deepEqual(await a.list(SWARM), [{ id: hexId(1), host: '10.0.0.2', port: 2 }]);
});

redisTest('the per-address id quota holds across servers (429), and so does the cap per address in an answer', async (t) => {
  t.timeout(60_000);
  const { url } = await startRedis(t);
  const options = { quotaIds: 2, quotaLoopback: true, quotaRate: 0, answerPerAddress: 1, answer: 'newest' as const };
  const [a, b] = [await serve(t, url, options), await serve(t, url, options)];
  t.is((await register(a, 1, '127.0.0.2')).status, 200);
  t.is((await register(b, 2, '127.0.0.2')).status, 200);
  const third = await register(a, 3, '127.0.0.2');
  t.is(third.status, 429, third.text);
  t.is(third.headers['retry-after'], '60');
  t.is((await register(b, 1, '127.0.0.2')).status, 200, 'a renewal is never over quota');
  const answer = await register(b, 4, '127.0.0.3');
  t.deepEqual(peersOf(answer), [{ id: hexId(1), host: '127.0.0.2', port: 4001 }], 'one place for 127.0.0.2 in the answer, its newest');
});

redisTest('progress reports reach /metrics at the other server; registrations are counted per server', async (t) => {
  t.timeout(60_000);
  const { url } = await startRedis(t);
  const [a, b] = [await serve(t, url), await serve(t, url)];
  const progress = { fromSource: 1000, fromPeers: 3000, uploaded: 5, blocksHave: 4, blocks: 4, done: true };
  t.is((await register(a, 1, undefined, { progress })).status, 200);
  t.is((await register(a, 2)).status, 200);
  t.deepEqual(await b.registry.progressOf(SWARM, hexId(1)), progress);
  const text = (await send(b.url, 'GET', '/metrics')).text;
  t.regex(text, /^slurpie_swarms 1$/m);
  t.regex(text, /^slurpie_peers\{state="done"\} 1$/m);
  t.regex(text, /^slurpie_peers\{state="unknown"\} 1$/m);
  t.regex(text, new RegExp(`^slurpie_swarm_peer_bytes\\{swarm="${SWARM.slice(0, 16)}"\\} 3000$`, 'm'));
  t.regex(text, /^slurpie_registrations_total 0$/m, 'B accepted none itself');
});

redisTest("the dashboard at one server names the swarm a peer registered at the other, with its counts", async (t) => {
  t.timeout(60_000);
  const { url } = await startRedis(t);
  const [a, b] = [await serve(t, url), await serve(t, url)];
  const progress = { fromSource: 1000, fromPeers: 3000, uploaded: 700, blocksHave: 2, blocks: 4, done: false };
  t.is((await register(a, 1, undefined, { progress, name: 'file.bin', size: 4096 })).status, 200);
  t.is((await register(a, 2, undefined, { progress: { ...progress, blocksHave: 4, done: true } })).status, 200);
  const api = await send(b.url, 'GET', '/api/swarms');
  t.is(api.status, 200, api.text);
  t.regex(api.text, /"file\.bin"/);
  const snapshot = await b.registry.snapshot(10);
  t.like(snapshot.largest[0], { swarmId: SWARM, peers: 2, downloading: 1, done: 1, fromSource: 2000, uploaded: 1400, file: { name: 'file.bin', size: 4096 } });
});

redisTest('the same answers as the in-memory registry, step by step (newest, caps per address, trim, renewals, deletes)', async (t) => {
  t.timeout(60_000);
  const { url } = await startRedis(t);
  let now = 5_000_000;
  const options = { now: () => now, ttl: 30, beta: 4, maxPerSwarm: 6, answerPerAddress: 2, quotaIds: 3, answer: 'newest' as const };
  const memory = new Registry(options);
  const redis = await registry(t, url, options);
  const caller = (n: number): Caller => ({ address: `10.0.0.${n}`, group: `10.0.0.${n}`, limited: n !== 9 });
  for (let step = 0; step < 60; step++) {
    now += 1 + ((step * 7) % 5) * 1_000; // some steps past the ttl of the oldest
    const n = (step * 13) % 11;
    const who = caller(step % 4 === 3 ? 9 : (step * 5) % 3);
    const peer = { id: hexId(n), host: who.address, port: 1000 + step };
    const expect = step % 10 === 9 ? 'deregister' : 'register';
    const run = async (r: Registry | RedisRegistry): Promise<unknown> => {
      try {
        return expect === 'register' ? await r.register(SWARM, peer, who) : await r.deregister(SWARM, peer.id, who);
      } catch (err) {
        return `refused ${(err as { status?: number }).status}`;
      }
    };
    const [inMemory, inRedis] = [await run(memory), await run(redis)];
    t.deepEqual(inRedis, inMemory, `step ${step}: ${expect} ${peer.id} from ${who.address}`);
    t.deepEqual(await redis.list(SWARM), memory.list(SWARM), `step ${step}: the registrants held`);
  }
});

redisTest('a mixed answer: half the newest, the rest distinct live registrants drawn at random', async (t) => {
  t.timeout(60_000);
  const { url } = await startRedis(t);
  const r = await registry(t, url, { answer: 'mixed', beta: 6, answerPerAddress: 0 });
  for (let n = 1; n <= 40; n++) await r.register(SWARM, { id: hexId(n), host: '127.0.0.1', port: n });
  const drawn = new Set<string>();
  for (let round = 0; round < 20; round++) {
    const answer = await r.register(SWARM, { id: hexId(100), host: '127.0.0.1', port: 100 });
    t.is(answer.length, 6);
    t.deepEqual(answer.slice(0, 3).map((p) => p.id), [hexId(40), hexId(39), hexId(38)], 'the newest half first');
    const ids = answer.map((p) => p.id);
    t.is(new Set(ids).size, 6, 'distinct');
    t.false(ids.includes(hexId(100)), 'never the registrant itself');
    for (const id of ids.slice(3)) drawn.add(id);
  }
  t.true(drawn.size > 10, `the random half varies (${drawn.size} distinct ids drawn)`);
});

redisTest('beyond maxSwarms a new swarm pushes out the least recently registered-to one', async (t) => {
  t.timeout(30_000);
  const { url } = await startRedis(t);
  const r = await registry(t, url, { maxSwarms: 2 });
  const swarm = (c: string): string => c.repeat(64);
  await r.register(swarm('1'), { id: hexId(1), host: 'h', port: 1 });
  await r.register(swarm('2'), { id: hexId(2), host: 'h', port: 2 });
  await r.register(swarm('1'), { id: hexId(3), host: 'h', port: 3 });
  await r.register(swarm('3'), { id: hexId(4), host: 'h', port: 4 });
  t.deepEqual([await r.count(swarm('1')), await r.count(swarm('2')), await r.count(swarm('3'))], [2, 0, 1]);
});

redisTest('slurpie topology --store redis://…: a process and an in-process server answer as one; an unreachable Redis is one line and exit 1', async (t) => {
  t.timeout(90_000);
  const { url } = await startRedis(t);
  const child = slurpie(t, ['topology', '--port', '0', '--store', `${url}/3`]);
  const cliUrl = (await announced(child, /^listening on (http:\/\/\S+)$/, 60_000)).replace(/^listening on /, '');
  const b = await serve(t, `${url}/3`);
  t.is((await send(cliUrl, 'POST', PEERS, { id: hexId(1), port: 4001 })).status, 200);
  t.deepEqual(peersOf(await register(b, 2)), [{ id: hexId(1), host: '127.0.0.1', port: 4001 }]);
  const other = await serve(t, url); // database 0: another registry altogether
  t.deepEqual(peersOf(await register(other, 3)), []);

  const refused = await runSlurpie(t, ['topology', '--port', '0', '--store', 'redis://127.0.0.1:1']);
  t.is(refused.code, 1, refused.stderr);
  t.is(refused.stderr, 'slurpie topology: cannot reach redis://127.0.0.1:1: ECONNREFUSED\n');
  const bad = await runSlurpie(t, ['topology', '--port', '0', '--store', 'mysql://x']);
  t.is(bad.code, 2, bad.stderr);
  t.regex(bad.stderr, /^slurpie topology: --store must be memory or redis:\/\/HOST:PORT\[\/DB\], got mysql:\/\/x \(see slurpie topology --help\)\n$/);
});

// Introductions you can trust (issue #15), over real sockets: the registrant's address is
// the one the server sees, an id stays bound to it, quotas per address, a bearer token.
// Requests "from another machine" leave from another loopback address (127.0.0.2, .3).
// 198.51.100.7 (TEST-NET-2) only ever appears as a string in a registration body.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { request } from 'node:http';
import { startTopologyServer } from '../topology-server/server.ts';
import type { TopologyServer, TopologyServerOptions } from '../topology-server/server.ts';
import { TopologyClient } from '../peer/node/topology-client.ts';
import { SlurpieError } from '../peer/errors.ts';
import type { Answer } from './fixtures/http-answer.ts';

const SWARM = '6'.repeat(64);
const OTHER = 'd'.repeat(64);
const ELSEWHERE = '198.51.100.7';


interface Sent {
  from?: string; // the client socket's local address; default 127.0.0.1
  body?: unknown; // sent as JSON
  headers?: Record<string, string>;
}

type Server = TopologyServer & { send: (method: string, path: string, sent?: Sent) => Promise<Answer> };

async function start(t: ExecutionContext, options: TopologyServerOptions = {}): Promise<Server> {
  const server = await startTopologyServer({ host: '127.0.0.1', port: 0, ...options });
  t.teardown(() => server.close());
  const send = (method: string, path: string, sent: Sent = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const body = sent.body === undefined ? undefined : Buffer.from(JSON.stringify(sent.body));
      const headers: Record<string, string> = { ...sent.headers, ...(body && { 'content-type': 'application/json', 'content-length': String(body.length) }) };
      const req = request(`${server.url}${path}`, { method, headers, agent: false, localAddress: sent.from ?? '127.0.0.1' }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: text === '' ? undefined : JSON.parse(text) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  return { ...server, send };
}

const hexId = (n: number): string => n.toString(16).padStart(32, '0');
const peers = `/v1/swarms/${SWARM}/peers`;
const reg = (id: string, port: number, extra: Record<string, unknown> = {}, from?: string): Sent => ({ body: { id, port, ...extra }, ...(from && { from }) });

function assertRefused(t: ExecutionContext, answer: Answer, status: number, pattern: RegExp, what: string): void {
  t.is(answer.status, status, `${what}: status (body ${answer.text.slice(0, 300)})`);
  t.regex(String(answer.headers['content-type']), /^application\/json/, `${what}: JSON`);
  const error = String((answer.json as { error?: unknown } | undefined)?.error);
  t.false(error.includes('\n'), `${what}: one line`);
  t.regex(error, pattern, what);
}

test('a host field naming another address is not believed: the address the server sees is stored and handed out', async (t) => {
  t.timeout(30_000);
  const s = await start(t);
  t.is((await s.send('POST', peers, reg(hexId(1), 4001, { host: ELSEWHERE }))).status, 200, 'accepted, the field ignored');
  t.is((await s.send('POST', peers, reg(hexId(2), 4002, { host: 'victim.example' }))).status, 200, 'a hostname too');
  t.is((await s.send('POST', peers, reg(hexId(3), 4003, { host: '::ffff:127.0.0.1' }))).status, 200, 'its own address, spelled otherwise');
  t.is((await s.send('POST', peers, reg(hexId(4), 4004, { host: '127.0.0.2' }, '127.0.0.2'))).status, 200, 'its own address from elsewhere');
  const answer = await s.send('POST', peers, reg(hexId(5), 4005));
  t.is(answer.status, 200);
  t.false(answer.text.includes(ELSEWHERE) || answer.text.includes('victim.example'), answer.text);
  t.deepEqual((answer.json as { peers: unknown[] }).peers, [
    { id: hexId(4), host: '127.0.0.2', port: 4004 },
    { id: hexId(3), host: '127.0.0.1', port: 4003 },
    { id: hexId(2), host: '127.0.0.1', port: 4002 },
    { id: hexId(1), host: '127.0.0.1', port: 4001 },
  ]);
  t.false(JSON.stringify(s.registry.list(SWARM)).includes(ELSEWHERE), 'not stored either');
  // A malformed host is still bad input, trusted or not.
  assertRefused(t, await s.send('POST', peers, reg(hexId(6), 4006, { host: 'x.example:80' })), 400, /host must be/, 'malformed host');
});

test('with trustHostField the host field is stored, binds the id and counts for quotas; DELETE names it in ?host=', async (t) => {
  t.timeout(30_000);
  const s = await start(t, { trustHostField: true, quotaIds: 2 });
  t.is((await s.send('POST', peers, reg(hexId(1), 4001, { host: ELSEWHERE }))).status, 200);
  t.deepEqual(s.registry.list(SWARM), [{ id: hexId(1), host: ELSEWHERE, port: 4001 }]);
  // Bound to the host it named, not to the proxy's (here: loopback) address.
  assertRefused(t, await s.send('POST', peers, reg(hexId(1), 4001, { host: '198.51.100.8' })), 409, /registered from another address/, 'moved to another host');
  assertRefused(t, await s.send('DELETE', `${peers}/${hexId(1)}`), 403, /only that address may delete it/, 'DELETE without ?host');
  assertRefused(t, await s.send('DELETE', `${peers}/${hexId(1)}?host=198.51.100.8`), 403, /another address/, 'DELETE naming another host');
  // The named host is not loopback, so the quota counts it although the socket is loopback.
  t.is((await s.send('POST', peers, reg(hexId(2), 4002, { host: ELSEWHERE }))).status, 200);
  assertRefused(t, await s.send('POST', peers, reg(hexId(3), 4003, { host: ELSEWHERE })), 429, /quota/, 'third id of one host');
  t.is((await s.send('DELETE', `${peers}/${hexId(1)}?host=${ELSEWHERE}`)).status, 204);
  t.is(s.registry.count(SWARM), 1);
});

test('an id registered from 127.0.0.1 is neither moved nor deleted by requests from 127.0.0.2', async (t) => {
  t.timeout(30_000);
  const clock = { t: 0 };
  const s = await start(t, { ttl: 60, now: () => clock.t });
  const id = hexId(1);
  t.is((await s.send('POST', peers, reg(id, 4001))).status, 200);
  const held = JSON.stringify(s.registry.list(SWARM));

  assertRefused(t, await s.send('POST', peers, reg(id, 6666, {}, '127.0.0.2')), 409, /is registered from another address/, 'takeover');
  assertRefused(t, await s.send('POST', peers, reg(id.toUpperCase(), 6666, { host: '127.0.0.2' }, '127.0.0.2')), 409, /another address/, 'takeover, id in upper case');
  assertRefused(t, await s.send('DELETE', `${peers}/${id}`, { from: '127.0.0.2' }), 403, /only that address may delete it/, 'delete');
  t.is(JSON.stringify(s.registry.list(SWARM)), held, 'nothing changed');
  const answer = await s.send('POST', peers, reg(hexId(2), 4002, {}, '127.0.0.3'));
  t.deepEqual((answer.json as { peers: unknown[] }).peers, [{ id, host: '127.0.0.1', port: 4001 }], 'others still get the first registrant');

  // Another swarm is another binding.
  t.is((await s.send('POST', `/v1/swarms/${OTHER}/peers`, reg(id, 6666, {}, '127.0.0.2'))).status, 200);
  // Its owner may renew (a new port), and delete; then the id is free.
  t.is((await s.send('POST', peers, reg(id, 4100))).status, 200);
  t.is((await s.send('DELETE', `${peers}/${id}`)).status, 204);
  t.is((await s.send('POST', peers, reg(id, 6666, {}, '127.0.0.2'))).status, 200, 'free after its owner deleted it');
  // And once expired, it is free too.
  clock.t += 60_000;
  t.is((await s.send('POST', peers, reg(id, 4001))).status, 200, 'free after it expired');
  t.deepEqual(s.registry.list(SWARM), [{ id, host: '127.0.0.1', port: 4001 }]);
});

test('quota of live ids per address per swarm: 429 with Retry-After; renewals, other addresses and swarms unaffected', async (t) => {
  t.timeout(30_000);
  const s = await start(t, { quotaIds: 3, quotaRate: 0, quotaLoopback: true, ttl: 45 });
  for (let n = 1; n <= 3; n++) t.is((await s.send('POST', peers, reg(hexId(n), 4000 + n, {}, '127.0.0.2'))).status, 200);
  const over = await s.send('POST', peers, reg(hexId(4), 4004, {}, '127.0.0.2'));
  assertRefused(t, over, 429, /already holds 3 live ids in this swarm/, 'fourth id');
  t.is(over.headers['retry-after'], '45', 'Retry-After: the ttl, by when the ids held now have expired unless renewed');
  t.is(s.registry.count(SWARM), 3, 'the refused one is not registered');
  t.is((await s.send('POST', peers, reg(hexId(2), 4002, {}, '127.0.0.2'))).status, 200, 'a renewal');
  t.is((await s.send('POST', peers, reg(hexId(4), 4004, {}, '127.0.0.3'))).status, 200, 'another address');
  t.is((await s.send('POST', `/v1/swarms/${OTHER}/peers`, reg(hexId(4), 4004, {}, '127.0.0.2'))).status, 200, 'another swarm');
  t.is((await s.send('DELETE', `${peers}/${hexId(1)}`, { from: '127.0.0.2' })).status, 204);
  t.is((await s.send('POST', peers, reg(hexId(5), 4005, {}, '127.0.0.2'))).status, 200, 'a deleted id frees a place');
});

test('loopback callers are exempt from the quotas by default (a local demo runs every peer from 127.0.0.1)', async (t) => {
  t.timeout(30_000);
  const s = await start(t, { quotaIds: 3, quotaRate: 2 });
  for (let n = 1; n <= 48; n++) t.is((await s.send('POST', peers, reg(hexId(n), 4000 + n))).status, 200, `peer ${n}`);
  t.is(s.registry.count(SWARM), 48);
});

test('quota of registrations per second per address: 429 with Retry-After, each address apart, refilled with time', async (t) => {
  t.timeout(30_000);
  const clock = { t: 0 };
  const s = await start(t, { quotaRate: 2, quotaLoopback: true, now: () => clock.t });
  t.is((await s.send('POST', peers, reg(hexId(1), 4001, {}, '127.0.0.2'))).status, 200);
  t.is((await s.send('POST', peers, reg(hexId(2), 4002, {}, '127.0.0.2'))).status, 200);
  const fast = await s.send('POST', peers, reg(hexId(3), 4003, {}, '127.0.0.2'));
  assertRefused(t, fast, 429, /too many registrations from your address \(the server allows 2 a second\)/, 'third at once');
  t.is(fast.headers['retry-after'], '1');
  t.is(s.registry.count(SWARM), 2, 'not registered');
  t.is((await s.send('POST', peers, reg(hexId(3), 4003, {}, '127.0.0.3'))).status, 200, 'another address has its own budget');
  clock.t += 500;
  t.is((await s.send('POST', peers, reg(hexId(4), 4004, {}, '127.0.0.2'))).status, 200, 'one more after half a second');
  t.is((await s.send('POST', peers, reg(hexId(5), 4005, {}, '127.0.0.2'))).status, 429);
});

test('--token-file: registering and deleting need the bearer token (401 otherwise); counting stays open', async (t) => {
  t.timeout(30_000);
  const s = await start(t, { token: 'c0rrect-h0rse' });
  const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
  const none = await s.send('POST', peers, reg(hexId(1), 4001));
  assertRefused(t, none, 401, /needs "Authorization: Bearer <token>"/, 'no token');
  t.regex(String(none.headers['www-authenticate']), /^Bearer /);
  assertRefused(t, await s.send('POST', peers, { ...reg(hexId(1), 4001), headers: auth('wrong') }), 401, /wrong bearer token/, 'wrong token');
  assertRefused(t, await s.send('POST', peers, { ...reg(hexId(1), 4001), headers: { authorization: 'Basic YTpi' } }), 401, /Bearer/, 'another scheme');
  t.is(s.registry.count(SWARM), 0);
  t.is((await s.send('POST', peers, { ...reg(hexId(1), 4001), headers: auth('c0rrect-h0rse') })).status, 200);
  assertRefused(t, await s.send('DELETE', `${peers}/${hexId(1)}`), 401, /Bearer/, 'DELETE without a token');
  t.deepEqual((await s.send('GET', `/v1/swarms/${SWARM}`)).json, { peers: 1 }, 'counting needs no token');
  t.is((await s.send('DELETE', `${peers}/${hexId(1)}`, { headers: auth('c0rrect-h0rse') })).status, 204);

  // The peers' client sends it; without it, a one-line TOPOLOGY_UNREACHABLE naming the 401.
  const client = new TopologyClient(s.url, { token: 'c0rrect-h0rse' });
  t.is((await client.register(SWARM, { id: hexId(2), port: 4002 })).count, 1);
  await client.deregister(SWARM, hexId(2));
  t.is(await client.count(SWARM), 0);
  const err = await t.throwsAsync(new TopologyClient(s.url).register(SWARM, { id: hexId(3), port: 4003 }), { instanceOf: SlurpieError });
  t.is(err?.code, 'TOPOLOGY_UNREACHABLE');
  t.regex(err?.message ?? '', /answered 401: this server needs "Authorization: Bearer <token>"/);
});

// Peers' progress reports with their registrations (issue #14), over real sockets: the
// server keeps the latest per registrant, refuses a malformed one, and a peer sends its own.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { join } from 'node:path';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { download } from '../peer/node/download.ts';
import { closeSourceClients, probeSource } from '../peer/node/source-client.ts';
import { swarmIdFor } from '../peer/node/swarm-id.ts';
import { TopologyClient } from '../peer/node/topology-client.ts';
import { startTopologyServer } from '../topology-server/server.ts';
import type { TopologyServer } from '../topology-server/server.ts';
import { scratch } from './fixtures/cli-run.ts';
import { until, within } from './fixtures/wait.ts';

test.after.always(() => closeSourceClients());

const SWARM = '7'.repeat(64);
const PEERS = `/v1/swarms/${SWARM}/peers`;
const hexId = (n: number): string => n.toString(16).padStart(32, '0');
const progress = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  fromSource: 1000, fromPeers: 3000, uploaded: 500, blocksHave: 4, blocks: 10, done: false, ...over,
});

async function start(t: ExecutionContext): Promise<TopologyServer & { post: (body: unknown) => Promise<{ status: number; json: unknown }> }> {
  const server = await startTopologyServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  const post = async (body: unknown): Promise<{ status: number; json: unknown }> => {
    const res = await fetch(`${server.url}${PEERS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: await res.json() };
  };
  return { ...server, post };
}

test('the latest progress is kept per registrant, cleared by a registration without one, never handed out', async (t) => {
  const server = await start(t);
  t.is((await server.post({ id: hexId(1), port: 7001, progress: progress() })).status, 200);
  t.deepEqual(server.registry.progressOf(SWARM, hexId(1)), progress());

  // Unknown fields inside progress are dropped, as in the body: what is held stays bounded.
  const later = progress({ fromSource: 2000, blocksHave: 10, done: true });
  t.is((await server.post({ id: hexId(1), port: 7001, progress: { ...later, note: 'x'.repeat(2000) } })).status, 200);
  t.deepEqual(server.registry.progressOf(SWARM, hexId(1)), later);

  // Another registrant's answer names the first with id, host and port only.
  const answer = await server.post({ id: hexId(2), port: 7002, progress: progress() });
  t.deepEqual((answer.json as { peers: unknown[] }).peers, [{ id: hexId(1), host: '127.0.0.1', port: 7001 }]);

  // An older peer (no progress): registering is fine and its last report is no longer current.
  t.is((await server.post({ id: hexId(1), port: 7001 })).status, 200);
  t.is(server.registry.progressOf(SWARM, hexId(1)), undefined);
  t.deepEqual(server.registry.progressOf(SWARM, hexId(2)), progress());
});

test('a malformed progress is a 400 naming the field, and changes nothing', async (t) => {
  const server = await start(t);
  await server.post({ id: hexId(1), port: 7001, progress: progress() });
  const cases: [string, unknown, RegExp][] = [
    ['a number', 5, /progress must be an object/],
    ['null', null, /progress must be an object/],
    ['an array', [1, 2], /progress must be an object/],
    ['a missing field', { ...progress(), uploaded: undefined }, /progress\.uploaded must be a whole number/],
    ['a negative count', progress({ fromSource: -1 }), /progress\.fromSource must be a whole number/],
    ['a fraction', progress({ fromPeers: 1.5 }), /progress\.fromPeers must be a whole number/],
    ['a string', progress({ blocks: '10' }), /progress\.blocks must be a whole number/],
    ['beyond 2^53', progress({ uploaded: 2 ** 53 }), /progress\.uploaded must be a whole number/],
    ['more blocks held than exist', progress({ blocksHave: 11 }), /progress\.blocksHave \(11\) must not exceed progress\.blocks \(10\)/],
    ['done not a boolean', progress({ done: 'yes' }), /progress\.done must be true or false/],
  ];
  for (const [what, value, error] of cases) {
    const answer = await server.post({ id: hexId(1), port: 7001, progress: value });
    t.is(answer.status, 400, what);
    t.regex(String((answer.json as { error?: unknown }).error), error, what);
  }
  const other = await server.post({ id: hexId(2), port: 7002, progress: progress({ done: 1 }) });
  t.is(other.status, 400, 'a new registrant with a bad report is not registered either');
  t.is(server.registry.count(SWARM), 1);
  t.deepEqual(server.registry.progressOf(SWARM, hexId(1)), progress(), 'the last good report stands');
});

test('TopologyClient sends progress with a registration, and omits it when not given', async (t) => {
  const server = await start(t);
  const client = new TopologyClient(server.url);
  const sent = { fromSource: 1, fromPeers: 2, uploaded: 3, blocksHave: 4, blocks: 5, done: false };
  await client.register(SWARM, { id: hexId(1), port: 7001 }, sent);
  t.deepEqual(server.registry.progressOf(SWARM, hexId(1)), sent);
  await client.register(SWARM, { id: hexId(1), port: 7001 });
  t.is(server.registry.progressOf(SWARM, hexId(1)), undefined);
});

test("a downloading peer registers with its own progress (from the core's stats)", async (t) => {
  const size = 1024 * 1024;
  const blockSize = 64 * 1024;
  // Slow enough (about 4 s) that the peer is still registered when the test looks.
  const source = await startSourceServer({ data: Buffer.alloc(size, 7), name: 'p.bin', rate: 256 * 1024 });
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => topology.close());
  const url = source.url;
  const { validator } = await probeSource(url);
  const swarmId = swarmIdFor(url, size, validator);
  const dir = await scratch(t);
  const done = download(url, { output: join(dir, 'p.bin'), topology: topology.url, blockSize, log: () => {} });
  await until(() => topology.registry.list(swarmId).length === 1, 'the peer to register', { ms: 20_000, everyMs: 10 });
  const id = topology.registry.list(swarmId)[0]!.id;
  const report = topology.registry.progressOf(swarmId, id);
  t.like(report, { blocks: size / blockSize, done: false }, JSON.stringify(report));
  t.true(report !== undefined && report.blocksHave < report.blocks && Number.isSafeInteger(report.fromSource) && report.uploaded === 0);
  await within(done, 'the download', 30_000);
});

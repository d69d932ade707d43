// GET /metrics on the topology server (issue #14), scraped over a real socket and parsed
// as Prometheus text: every series documented (HELP, TYPE), values read from the registry
// at scrape time, bounded cardinality, one metrics registry per server.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { startTopologyServer } from '../topology-server/server.ts';
import type { TopologyServer, TopologyServerOptions } from '../topology-server/server.ts';

const hexId = (n: number): string => n.toString(16).padStart(32, '0');
const swarmId = (n: number): string => n.toString(16).padStart(4, '0').repeat(16);
const progress = (fromSource: number, fromPeers: number, done = false): Record<string, unknown> => ({
  fromSource, fromPeers, uploaded: 0, blocksHave: done ? 8 : 2, blocks: 8, done,
});

interface Scrape {
  help: Map<string, string>;
  type: Map<string, string>;
  /** `name{a="x",b="y"}` (labels as sent) or `name` -> value */
  samples: Map<string, number>;
  contentType: string;
}

/** The Prometheus text format (0.0.4), as much of it as prom-client writes. */
function parse(text: string, contentType: string): Scrape {
  const scrape: Scrape = { help: new Map(), type: new Map(), samples: new Map(), contentType };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'HELP' ? scrape.help : scrape.type).set(meta[2]!, meta[3]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a Prometheus text line: ${line}`);
    scrape.samples.set(sample[1]!, Number(sample[2]));
  }
  return scrape;
}

type Server = TopologyServer & {
  post: (swarm: string, body: unknown) => Promise<number>;
  scrape: () => Promise<Scrape>;
};

async function start(t: ExecutionContext, options: TopologyServerOptions = {}): Promise<Server> {
  const server = await startTopologyServer({ host: '127.0.0.1', port: 0, ...options });
  t.teardown(() => server.close());
  const post = async (swarm: string, body: unknown): Promise<number> => {
    const res = await fetch(`${server.url}/v1/swarms/${swarm}/peers`, { method: 'POST', body: JSON.stringify(body) });
    await res.arrayBuffer();
    return res.status;
  };
  const scrape = async (): Promise<Scrape> => {
    const res = await fetch(`${server.url}/metrics`);
    t.is(res.status, 200);
    return parse(await res.text(), res.headers.get('content-type') ?? '');
  };
  return { ...server, post, scrape };
}

const SERIES = {
  slurpie_swarms: 'gauge',
  slurpie_peers: 'gauge',
  slurpie_registrations_total: 'counter',
  slurpie_refused_requests_total: 'counter',
  slurpie_swarm_peers: 'gauge',
  slurpie_swarm_source_bytes: 'gauge',
  slurpie_swarm_peer_bytes: 'gauge',
};

/** The samples of one metric: label set (as sent) -> value. */
function series(scrape: Scrape, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, value] of scrape.samples) {
    if (key === name) out.set('', value);
    else if (key.startsWith(`${name}{`)) out.set(key.slice(name.length), value);
  }
  return out;
}

test('a scrape after registrations with progress: every slurpie_ series has HELP and TYPE, and the values are right', async (t) => {
  const server = await start(t);
  const [a, b] = [swarmId(0xa), swarmId(0xb)];
  t.is(await server.post(a, { id: hexId(1), port: 7001, progress: progress(100, 1000) }), 200);
  t.is(await server.post(a, { id: hexId(2), port: 7002, progress: progress(200, 2000) }), 200);
  t.is(await server.post(a, { id: hexId(3), port: 7003, progress: progress(300, 3000, true) }), 200);
  t.is(await server.post(a, { id: hexId(1), port: 7001, progress: progress(150, 1500) }), 200, 'a renewal replaces the report');
  t.is(await server.post(b, { id: hexId(4), port: 7004 }), 200, 'an older peer, without progress');
  t.is(await server.post(b, { id: hexId(5), port: 7005, progress: 'lots' }), 400);
  t.is(await server.post(b, { id: hexId(5), port: 7005, progress: { ...progress(1, 2), blocksHave: 9 } }), 400);
  t.is((await fetch(`${server.url}/nowhere`)).status, 404);
  t.is((await fetch(`${server.url}/metrics`, { method: 'POST' })).status, 405);

  const scrape = await server.scrape();
  t.regex(scrape.contentType, /^text\/plain; version=0\.0\.4/);
  for (const [name, type] of Object.entries(SERIES)) {
    t.true((scrape.help.get(name) ?? '').length > 10, `HELP for ${name}`);
    t.is(scrape.type.get(name), type, `TYPE of ${name}`);
  }
  for (const key of scrape.samples.keys()) {
    const name = key.replace(/\{.*$/, '');
    if (name.startsWith('slurpie_')) t.true(name in SERIES, `${name} is one of the documented series`);
  }
  t.regex(scrape.help.get('slurpie_swarm_source_bytes') ?? '', /only the 100 largest swarms/);

  const value = (name: string, labels = ''): number | undefined => series(scrape, name).get(labels);
  t.is(value('slurpie_swarms'), 2);
  t.is(value('slurpie_peers', '{state="downloading"}'), 2);
  t.is(value('slurpie_peers', '{state="done"}'), 1);
  t.is(value('slurpie_peers', '{state="unknown"}'), 1);
  t.is(value('slurpie_registrations_total'), 5);
  t.deepEqual([...series(scrape, 'slurpie_refused_requests_total')].sort(), [['{status="400"}', 2], ['{status="404"}', 1], ['{status="405"}', 1]]);
  const [la, lb] = [`{swarm="${a.slice(0, 16)}"}`, `{swarm="${b.slice(0, 16)}"}`];
  t.deepEqual(series(scrape, 'slurpie_swarm_peers'), new Map([[la, 3], [lb, 1]]));
  t.deepEqual(series(scrape, 'slurpie_swarm_source_bytes'), new Map([[la, 150 + 200 + 300], [lb, 0]]));
  t.deepEqual(series(scrape, 'slurpie_swarm_peer_bytes'), new Map([[la, 1500 + 2000 + 3000], [lb, 0]]));
});

test('per-swarm series cover at most the 100 largest swarms', async (t) => {
  const server = await start(t);
  // 110 swarms of one registrant, 5 of them with a second: those 5 must make the cut.
  for (let i = 0; i < 110; i++) t.is(await server.post(swarmId(i), { id: hexId(i), port: 7000, progress: progress(i, 0) }), 200);
  const big = [3, 27, 55, 81, 109];
  for (const i of big) t.is(await server.post(swarmId(i), { id: hexId(1000 + i), port: 7001, progress: progress(1, 0) }), 200);

  const scrape = await server.scrape();
  t.is(series(scrape, 'slurpie_swarms').get(''), 110, 'every swarm is counted');
  for (const name of ['slurpie_swarm_peers', 'slurpie_swarm_source_bytes', 'slurpie_swarm_peer_bytes']) {
    t.is(series(scrape, name).size, 100, `${name}: 100 series`);
  }
  const peers = series(scrape, 'slurpie_swarm_peers');
  for (const i of big) t.is(peers.get(`{swarm="${swarmId(i).slice(0, 16)}"}`), 2, `swarm ${i} is among the largest`);
  t.is(series(scrape, 'slurpie_swarm_source_bytes').get(`{swarm="${swarmId(27).slice(0, 16)}"}`), 28);
});

test('values are read at scrape time: expired registrations and swarms drop out of the next scrape', async (t) => {
  let now = 0;
  const server = await start(t, { now: () => now, ttl: 10 });
  for (let i = 0; i < 3; i++) t.is(await server.post(swarmId(i), { id: hexId(i), port: 7000, progress: progress(10, 20) }), 200);
  now = 5_000;
  t.is(await server.post(swarmId(0), { id: hexId(0), port: 7000, progress: progress(11, 21, true) }), 200);
  let scrape = await server.scrape();
  t.is(series(scrape, 'slurpie_swarm_peers').size, 3);

  now = 12_000; // swarms 1 and 2 expired; swarm 0 was renewed at 5 s. No sweep has run.
  scrape = await server.scrape();
  t.is(series(scrape, 'slurpie_swarms').get(''), 1);
  t.is(series(scrape, 'slurpie_peers').get('{state="done"}'), 1);
  t.is(series(scrape, 'slurpie_peers').get('{state="downloading"}'), 0);
  t.deepEqual(series(scrape, 'slurpie_swarm_source_bytes'), new Map([[`{swarm="${swarmId(0).slice(0, 16)}"}`, 11]]));
  t.is(series(scrape, 'slurpie_registrations_total').get(''), 4, 'the counter does not go down');
});

test('two servers in one process keep their own metrics', async (t) => {
  const [one, two] = [await start(t), await start(t)];
  t.is(await one.post(swarmId(1), { id: hexId(1), port: 7001 }), 200);
  t.is(series(await one.scrape(), 'slurpie_registrations_total').get(''), 1);
  t.is(series(await two.scrape(), 'slurpie_registrations_total').get(''), 0);
  t.is(series(await two.scrape(), 'slurpie_swarms').get(''), 0);
});

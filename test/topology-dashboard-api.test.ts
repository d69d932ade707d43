// The dashboard's HTTP side over real sockets (issue #14): a registration's optional `name`
// and `size` (checked like every field), GET /api/swarms, the Server-Sent Events stream of
// GET /events (one snapshot a second, only while open), and the page's own headers.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { startTopologyServer } from '../topology-server/server.ts';
import type { TopologyServer } from '../topology-server/server.ts';
import type { DashboardSnapshot } from '../topology-server/dashboard.ts';
import { TopologyClient } from '../peer/node/topology-client.ts';
import { until, within } from './fixtures/wait.ts';

const SWARM = '5'.repeat(64);
const PEERS = `/v1/swarms/${SWARM}/peers`;
const hexId = (n: number): string => n.toString(16).padStart(32, '0');
const progress = { fromSource: 10, fromPeers: 20, uploaded: 5, blocksHave: 1, blocks: 2, done: false };

async function start(t: ExecutionContext): Promise<TopologyServer & { post: (body: unknown) => Promise<{ status: number; error?: string }>; swarms: () => Promise<DashboardSnapshot> }> {
  const server = await startTopologyServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  const post = async (body: unknown): Promise<{ status: number; error?: string }> => {
    const res = await fetch(`${server.url}${PEERS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, error: ((await res.json()) as { error?: string }).error };
  };
  const swarms = async (): Promise<DashboardSnapshot> => (await (await fetch(`${server.url}/api/swarms`)).json()) as DashboardSnapshot;
  return { ...server, post, swarms };
}

test('a registration may name the file; the name and size are checked and shown, the latest kept', async (t) => {
  const server = await start(t);
  t.is((await server.post({ id: hexId(1), port: 7001, progress, name: 'file.bin', size: 4096 })).status, 200);
  let listed = (await server.swarms()).list;
  t.like(listed[0], { id: SWARM.slice(0, 16), name: 'file.bin', size: 4096, peers: 1, downloading: 1, done: 0, fromSource: 10, fromPeers: 20, uploaded: 5 });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a number for a name', { name: 5 }, /name must be 1 to 200 characters of printable text/],
    ['an empty name', { name: '' }, /name must be/],
    ['a newline', { name: 'a\nb' }, /name must be/],
    ['a bidi override', { name: 'gpj.\u202Eexe' }, /name must be/],
    ['201 characters', { name: 'x'.repeat(201) }, /name must be/],
    ['a negative size', { size: -1 }, /size must be a whole number of bytes/],
    ['a fractional size', { size: 1.5 }, /size must be a whole number of bytes/],
    ['a string size', { size: '10' }, /size must be a whole number of bytes/],
  ];
  for (const [what, extra, error] of cases) {
    const answer = await server.post({ id: hexId(2), port: 7002, ...extra });
    t.is(answer.status, 400, what);
    t.regex(answer.error ?? '', error, what);
  }
  t.is(server.registry.count(SWARM), 1, 'no bad registration got in');

  // Registering without a name keeps the one given; a new one replaces it.
  t.is((await server.post({ id: hexId(2), port: 7002 })).status, 200);
  t.is((await server.post({ id: hexId(3), port: 7003, name: 'x'.repeat(200) })).status, 200);
  await new Promise((resolve) => setTimeout(resolve, 1000)); // snapshots are reused for a second
  listed = (await server.swarms()).list;
  t.like(listed[0], { name: 'x'.repeat(200), size: 4096, peers: 3 });
});

test('a peer names its swarm with its URL\'s file name (TopologyClient)', async (t) => {
  const server = await start(t);
  const client = new TopologyClient(server.url);
  await client.register(SWARM, { id: hexId(7), port: 7007 }, progress, { name: 'debian.iso', size: 123 });
  t.like((await server.swarms()).list[0], { name: 'debian.iso', size: 123, peers: 1 });
});

test('GET /events streams one snapshot a second while open, and stops with the client', async (t) => {
  const server = await start(t);
  await server.post({ id: hexId(1), port: 7001, progress, name: 'file.bin', size: 100 });
  const abort = new AbortController();
  t.teardown(() => abort.abort());
  const res = await fetch(`${server.url}/events`, { signal: abort.signal });
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  t.is(server.dashboard.listening, 1);

  const snapshots: DashboardSnapshot[] = [];
  const reader = res.body!.getReader();
  let text = '';
  await within((async () => {
    while (snapshots.length < 3) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended');
      text += Buffer.from(value).toString('utf8');
      let end;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const event = text.slice(0, end);
        text = text.slice(end + 2);
        const data = /^data: (.*)$/m.exec(event);
        if (data) snapshots.push(JSON.parse(data[1] as string) as DashboardSnapshot);
      }
    }
  })(), 'three snapshots on the stream', 60_000);
  t.like(snapshots[0]?.list[0], { name: 'file.bin', peers: 1 });
  // One a second, not faster (the server makes at most one snapshot a second).
  t.true((snapshots[2]?.at ?? 0) - (snapshots[0]?.at ?? 0) >= 1900, `${snapshots.map((s) => s.at).join(', ')}`);

  abort.abort();
  await until(() => server.dashboard.listening === 0, 'the server to notice the closed stream', { ms: 30_000, everyMs: 20 });
});

test('the page, its script and style, with a strict Content-Security-Policy; other methods 405', async (t) => {
  const server = await start(t);
  for (const [path, type] of [['/', /^text\/html/], ['/dashboard.js', /^text\/javascript/], ['/dashboard.css', /^text\/css/]] as const) {
    const res = await fetch(`${server.url}${path}`);
    t.is(res.status, 200, path);
    t.regex(res.headers.get('content-type') ?? '', type, path);
    t.regex(res.headers.get('content-security-policy') ?? '', /script-src 'self'/, path);
    t.true((await res.text()).length > 100, path);
  }
  t.regex(await (await fetch(`${server.url}/`)).text(), /<script src="dashboard.js" defer><\/script>/);
  const post = await fetch(`${server.url}/`, { method: 'POST' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET, HEAD');
  t.is((await fetch(`${server.url}/events`, { method: 'DELETE' })).status, 405);
});

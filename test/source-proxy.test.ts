// HTTP_PROXY and NO_PROXY (issue #13), with real `slurpie get` processes, the real range
// and topology servers and a real forward proxy on 127.0.0.1: the proxy carries the
// source's requests (with the user's -H headers) and the topology server's (without them),
// and NO_PROXY=127.0.0.1 sends everything around it.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seedFrom } from '../estimation/random.ts';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { startTopologyServer } from '../topology-server/server.ts';
import { runSlurpie, scratch } from './fixtures/cli-run.ts';
import { seededBytes, sha } from './fixtures/content.ts';
import { startForwardProxy } from './fixtures/forward-proxy.ts';

const seed = seedFrom(process.env, 1313);
// The test's own environment may carry a proxy; the children get exactly these (undefined: unset;
// an empty lowercase one would win over its uppercase twin, as in curl).
const NO_PROXY_ENV = { HTTP_PROXY: undefined, http_proxy: undefined, HTTPS_PROXY: undefined, https_proxy: undefined, NO_PROXY: undefined, no_proxy: undefined };

async function setUp(t: ExecutionContext) {
  const data = seededBytes(512 * 1024, seed);
  const source = await startSourceServer({ data, name: 'p.bin', host: '127.0.0.1', port: 0 });
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => topology.close());
  const proxy = await startForwardProxy(t);
  const dir = await scratch(t);
  const get = (name: string, env: NodeJS.ProcessEnv) =>
    runSlurpie(t, ['get', source.url, '-o', join(dir, name), '--topology', topology.url, '--sha256', sha(data), '--no-progress',
      '--block-size', '64KiB', '-H', 'X-Slurpie-Test: through'], { ...NO_PROXY_ENV, ...env });
  return { data, source, proxy, dir, get };
}

test('HTTP_PROXY carries the source\'s and the topology server\'s requests; -H goes to the source only', async (t) => {
  t.timeout(60_000);
  const { data, source, proxy, dir, get } = await setUp(t);
  const r = await get('via.bin', { HTTP_PROXY: proxy.url });
  t.is(r.code, 0, r.stderr);
  t.is(sha(await readFile(join(dir, 'via.bin'))), sha(data));
  const toSource = proxy.seen.filter((s) => s.target === source.url);
  const toTopology = proxy.seen.filter((s) => s.target.includes('/v1/swarms/'));
  t.true(toSource.length >= 2, `the proxy saw ${toSource.length} requests for the file`);
  t.true(toTopology.length >= 1, `the proxy saw ${toTopology.length} topology requests`);
  t.true(toSource.every((s) => s.headers['x-slurpie-test'] === 'through'), 'the -H header on every source request');
  t.true(toTopology.every((s) => s.headers['x-slurpie-test'] === undefined), 'never on a topology request');
  t.is(source.requestLog().filter((l) => l.path === '/p.bin').length, toSource.length, 'every file request went through the proxy');
});

test('NO_PROXY=127.0.0.1 bypasses the proxy for the source and the topology server', async (t) => {
  t.timeout(60_000);
  const { data, source, proxy, dir, get } = await setUp(t);
  const r = await get('direct.bin', { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
  t.is(r.code, 0, r.stderr);
  t.is(sha(await readFile(join(dir, 'direct.bin'))), sha(data));
  t.deepEqual(proxy.seen, [], 'nothing went through the proxy');
  t.true(source.requestLog().some((l) => l.headers['x-slurpie-test'] === 'through'), 'the source was asked directly, with the -H header');
});

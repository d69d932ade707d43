// Links that redirect to a fresh signed URL on every request (issue #13), served by the real
// range server behind experiments/source/signed-links.ts: peers form one swarm (the swarm id
// is the URL as given), an expired signature is resolved again from that URL, and a .part
// file resumes although the redirect target changed between runs.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { seedFrom } from '../estimation/random.ts';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { startSignedLinks } from '../experiments/source/signed-links.ts';
import { isSlurpieError } from '../peer/errors.ts';
import { download } from '../peer/node/download.ts';
import { closeSourceClients, probeSource } from '../peer/node/source-client.ts';
import { swarmIdFor } from '../peer/node/swarm-id.ts';
import { startTopologyServer } from '../topology-server/server.ts';
import { scratch, slurpie } from './fixtures/cli-run.ts';
import { seededBytes, sha } from './fixtures/content.ts';
import { until } from './fixtures/wait.ts';

const seed = seedFrom(process.env, 13);
const MiB = 1024 * 1024;

test.after.always(() => closeSourceClients());

const content = (size: number): Buffer => seededBytes(size, seed);

test.serial('signatures good for one request expire mid-download: each is resolved again, the file verifies, a resume keeps its blocks', async (t) => {
  t.timeout(90_000);
  const data = content(2 * MiB);
  const source = await startSourceServer({ data, name: 'asset.bin', host: '127.0.0.1', port: 0, rate: MiB });
  t.teardown(() => source.close());
  const signed = await startSignedLinks({ origin: source.url, maxUses: 1 });
  t.teardown(() => signed.close());
  const link = `${signed.base}/asset.bin`;
  const dir = await scratch(t);
  const output = join(dir, 'asset.bin');

  // First run: stopped a quarter of the way in; its .part stays.
  const stop = new AbortController();
  const first = download(link, {
    output, sha256: sha(data), blockSize: 64 * 1024, signal: stop.signal,
    onProgress: (p) => p.bytesHave >= data.length / 4 && stop.abort(),
  });
  const err = await t.throwsAsync(first);
  t.true(isSlurpieError(err) && err.code === 'INTERRUPTED', String(err));
  t.true(signed.stats().forbidden >= 1, 'a remembered signed URL expired and was refused');

  // Second run: new signatures everywhere, same identity (the URL as given): it resumes.
  const before = signed.stats();
  const stats = await download(link, { output, sha256: sha(data), blockSize: 64 * 1024 });
  t.is(sha(await readFile(output)), sha(data));
  t.is(stats.url, link, 'stats name the URL as given');
  t.true(stats.resumedBlocks >= 8, `resumed ${stats.resumedBlocks} blocks`);
  t.true(stats.fromSource <= data.length - stats.resumedBlocks * 64 * 1024, `fetched ${stats.fromSource} bytes after resuming`);
  const after = signed.stats();
  t.true(after.redirects - before.redirects >= 2 && after.forbidden > before.forbidden, `redirects ${after.redirects - before.redirects}, refused ${after.forbidden - before.forbidden}: block fetches went through fresh signatures`);
});

test.serial('4 peers on a link that redirects to a fresh signed URL each time share one swarm: the source serves at most 1.6x the file', async (t) => {
  t.timeout(150_000);
  const data = content(4 * MiB);
  const source = await startSourceServer({ data, name: 'release.bin', host: '127.0.0.1', port: 0, rate: MiB });
  t.teardown(() => source.close());
  const signed = await startSignedLinks({ origin: source.url, maxUses: 4, ttlMs: 5000 });
  t.teardown(() => signed.close());
  const link = `${signed.base}/release.bin`;
  const topology = await startTopologyServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => topology.close());
  const dir = await scratch(t);
  const names = ['a', 'b', 'c', 'd'];
  const peers = names.map((n) =>
    slurpie(t, ['get', link, '-o', join(dir, `${n}.bin`), '--topology', topology.url, '--sha256', sha(data), '--block-size', '64KiB',
      '--no-progress', '--linger', '3', '--stats-json', join(dir, `${n}.json`), '--seed', String(seed)]));
  const { validator } = await probeSource(source.url);
  const swarmId = swarmIdFor(link, data.length, validator);
  await until(() => topology.registry.list(swarmId).length >= 2 || peers.some((p) => p.proc.exitCode !== null), 'two peers in the swarm of the link as given', { ms: 90_000, everyMs: 20 });
  const codes = await Promise.all(peers.map((p) => p.exited.then((e) => e.code)));
  t.deepEqual(codes, [0, 0, 0, 0], peers.map((p) => p.stderr()).join('\n'));
  const stats = await Promise.all(names.map(async (n) => JSON.parse(await readFile(join(dir, `${n}.json`), 'utf8'))));
  for (const n of names) t.is(sha(await readFile(join(dir, `${n}.bin`))), sha(data));
  const ratio = source.stats().bytesSent / data.length;
  t.log(`source served ${ratio.toFixed(2)}x the file; from peers ${stats.map((s) => (s.fromPeers / MiB).toFixed(1)).join(' ')} MiB; signed links: ${JSON.stringify(signed.stats())}`);
  t.true(stats.reduce((n, s) => n + s.fromPeers, 0) > 0, 'peers traded blocks');
  t.true(ratio <= 1.6, `the source served ${ratio.toFixed(2)}x the file`);
});

test('credentials added as headers go only to the origin given, as in curl; other headers follow redirects', async (t) => {
  t.timeout(30_000);
  const source = await startSourceServer({ data: Buffer.alloc(1000, 1), name: 'c.bin', host: '127.0.0.1', port: 0 });
  t.teardown(() => source.close());
  const seen: IncomingHttpHeaders[] = [];
  const redirector = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(302, { Location: source.url, 'Content-Length': 0 }).end();
  });
  await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    redirector.close(() => resolve());
    redirector.closeAllConnections();
  }));
  const given = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/c.bin`;
  const info = await probeSource(given, { http: { headers: { authorization: 'Bearer secret', cookie: 'a=b', 'x-team': 'blue' } } });
  t.is(info.url, given);
  t.is(info.redirectedTo, source.url);
  t.true(seen.length >= 1 && seen.every((h) => h.authorization === 'Bearer secret' && h.cookie === 'a=b'), 'the origin given gets them');
  const log = source.requestLog();
  t.true(log.length >= 1);
  for (const l of log) {
    t.is(l.headers['x-team'], 'blue', l.path);
    t.is(l.headers['authorization'], undefined, l.path);
    t.is(l.headers['cookie'], undefined, l.path);
  }
});

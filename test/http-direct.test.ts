// The peer's HTTP client without a proxy (peer/node/http-direct.ts), against real servers
// on 127.0.0.1: connections pooled and reused, the headers timeout, an abort before and
// after the answer failing with the signal's reason, a request body, https:// with the
// certificate checked; and when a proxy variable hands requests to undici instead
// (http-client.ts).
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createServer as createSecureServer } from 'node:https';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeHttpClients, httpRequest, proxyNamed } from '../peer/node/http-client.ts';
import { directRequest } from '../peer/node/http-direct.ts';
import { scratch } from './fixtures/cli-run.ts';

test.after.always(() => closeHttpClients());

async function server(t: ExecutionContext, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ origin: string; connections: () => number }> {
  let connections = 0;
  const s = createServer(handler);
  s.on('connection', () => connections++);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    s.closeAllConnections();
    return new Promise<void>((resolve) => s.close(() => resolve()));
  });
  return { origin: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, connections: () => connections };
}

async function text(body: AsyncIterable<unknown>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

test('answers read to the end leave their connection for the next request', async (t) => {
  t.timeout(10_000);
  const s = await server(t, (req, res) => res.end(`${req.method} ${req.url} ${req.headers['x-test']}`));
  for (const path of ['/a', '/b?c=d', '/e']) {
    const res = await directRequest({ origin: s.origin, path, method: 'GET', headers: { 'x-test': 'yes' } });
    t.is(res.statusCode, 200);
    t.is(await text(res.body), `GET ${path} yes`);
  }
  t.is(s.connections(), 1, 'one pooled connection for three requests');
});

test('a request body arrives whole, with its length', async (t) => {
  t.timeout(10_000);
  const s = await server(t, (req, res) => {
    void text(req).then((body) => res.end(`${req.headers['content-length']}:${body}`));
  });
  const body = JSON.stringify({ hello: 'wörld' });
  const res = await directRequest({ origin: s.origin, path: '/', method: 'POST', headers: { 'content-type': 'application/json' }, body });
  t.is(await text(res.body), `${Buffer.byteLength(body)}:${body}`);
});

test('no headers within headersTimeout: the request fails with HEADERS_TIMEOUT', async (t) => {
  t.timeout(10_000);
  const s = await server(t, () => {}); // never answers
  const err = await t.throwsAsync(directRequest({ origin: s.origin, path: '/', method: 'GET', headers: {}, headersTimeout: 200 }));
  t.is((err as { code?: string }).code, 'HEADERS_TIMEOUT');
});

test('an abort fails the request, or once answered its body, with the signal\'s reason', async (t) => {
  t.timeout(10_000);
  const s = await server(t, (req, res) => {
    if (req.url === '/stall') return; // never answers
    res.writeHead(200, { 'content-length': '1000' });
    res.write('x'.repeat(10)); // then nothing more
  });
  const before = new AbortController();
  const pending = directRequest({ origin: s.origin, path: '/stall', method: 'GET', headers: {}, signal: before.signal });
  const reason1 = new Error('stopped before the answer');
  setTimeout(() => before.abort(reason1), 100);
  t.is(await t.throwsAsync(pending), reason1);

  const during = new AbortController();
  const res = await directRequest({ origin: s.origin, path: '/half', method: 'GET', headers: {}, signal: during.signal });
  t.is(res.statusCode, 200);
  const reason2 = new Error('stopped in the body');
  const reading = text(res.body);
  setTimeout(() => during.abort(reason2), 100);
  t.is(await t.throwsAsync(reading), reason2);

  const already = new AbortController();
  const reason3 = new Error('stopped already');
  already.abort(reason3);
  t.is(await t.throwsAsync(directRequest({ origin: s.origin, path: '/', method: 'GET', headers: {}, signal: already.signal })), reason3);
});

test('a proxy variable, and only one that names a proxy, hands requests to undici', async (t) => {
  t.timeout(10_000);
  t.false(proxyNamed({}));
  t.false(proxyNamed({ NO_PROXY: '*', HTTP_PROXY: '', https_proxy: ' ' }));
  t.true(proxyNamed({ HTTP_PROXY: 'http://127.0.0.1:3128' }));
  t.true(proxyNamed({ https_proxy: 'http://127.0.0.1:3128' }));
  // Through undici's agent with a proxy named but bypassed by NO_PROXY: the same answer's shape.
  const s = await server(t, (_req, res) => res.end('direct'));
  const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };
  process.env.HTTP_PROXY = 'http://127.0.0.1:9'; // never dialled: NO_PROXY covers the origin
  process.env.NO_PROXY = '127.0.0.1';
  t.teardown(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  const res = await httpRequest({ origin: s.origin, path: '/', method: 'GET', headers: {} });
  t.is(res.statusCode, 200);
  t.is(await text(res.body), 'direct');
});

/** Why no certificate can be made here (openssl, Debian's openssl package), or null. */
function opensslMissing(): string | null {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'openssl is not installed (Debian package openssl)';
  }
}

const noOpenssl = opensslMissing();
(noOpenssl === null ? test : test.skip)(`https:// goes through TLS with the certificate checked: refused self-signed, accepted when trusted${noOpenssl === null ? '' : ` (skipped: ${noOpenssl})`}`, async (t) => {
  t.timeout(30_000);
  const dir = await scratch(t);
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const s = createSecureServer({ key: await readFile(key), cert: await readFile(cert) }, (_req, res) => res.end('secure'));
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    s.closeAllConnections();
    return new Promise<void>((resolve) => s.close(() => resolve()));
  });
  const origin = `https://127.0.0.1:${(s.address() as { port: number }).port}`;
  const refused = await t.throwsAsync(directRequest({ origin, path: '/', method: 'GET', headers: {} }));
  t.is((refused as { code?: string }).code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  // Trusted as a user would trust a private CA: NODE_EXTRA_CA_CERTS, read when a process starts.
  const client = pathToFileURL(join(import.meta.dirname, '../peer/node/http-direct.ts')).href;
  const code = `const { directRequest } = await import(${JSON.stringify(client)});
const res = await directRequest({ origin: ${JSON.stringify(origin)}, path: '/', method: 'GET', headers: {} });
let body = ''; for await (const c of res.body) body += c;
console.log(res.statusCode, body); process.exit(0);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env: { ...process.env, NODE_EXTRA_CA_CERTS: cert }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const exit = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.is(exit, 0, err);
  t.is(out.trim(), '200 secure');
});

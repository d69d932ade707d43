// A front for the range server that behaves like release assets and presigned object-store
// links (issue #13): GET or HEAD /<path> answers 302 to /signed/<fresh random token>/<path>;
// a token is good for `ttlMs` or `maxUses` requests, whichever ends first, then 403 (as S3
// and GitHub answer an expired signature). Good requests are passed to the origin as they
// came (Range, If-Range and all), so the range server still counts what the source sends.
import { randomBytes } from 'node:crypto';
import { Agent, createServer, request } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SignedLinksOptions {
  /** Base URL of the origin, e.g. http://127.0.0.1:8080 */
  origin: string;
  /** How long a token is good for; default 60 s. */
  ttlMs?: number;
  /** How many requests a token is good for; default unlimited. */
  maxUses?: number;
  host?: string;
  port?: number;
}

export interface SignedLinksStats {
  redirects: number;
  forbidden: number;
  signedRequests: number;
}

export interface SignedLinks {
  /** Base URL of the front (no trailing slash): `${base}/file.bin` is the link to hand out. */
  base: string;
  stats(): SignedLinksStats;
  close(): Promise<void>;
}

interface Token {
  issued: number;
  uses: number;
}

export async function startSignedLinks(opts: SignedLinksOptions): Promise<SignedLinks> {
  const origin = new URL(opts.origin);
  const ttlMs = opts.ttlMs ?? 60_000;
  const maxUses = opts.maxUses ?? Infinity;
  const tokens = new Map<string, Token>();
  const counters: SignedLinksStats = { redirects: 0, forbidden: 0, signedRequests: 0 };
  const agent = new Agent({ keepAlive: true });

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '/';
    const m = /^\/signed\/([0-9a-f]{32})(\/.*)$/.exec(path);
    if (m === null) {
      const token = randomBytes(16).toString('hex');
      tokens.set(token, { issued: performance.now(), uses: 0 });
      counters.redirects++;
      res.writeHead(302, { Location: `/signed/${token}${path}`, 'Content-Length': 0 });
      res.end();
      return;
    }
    const token = tokens.get(m[1] as string);
    if (token === undefined || token.uses >= maxUses || performance.now() - token.issued > ttlMs) {
      counters.forbidden++;
      res.writeHead(403, { 'Content-Type': 'text/plain', 'Content-Length': 18 });
      res.end('signature expired\n');
      return;
    }
    token.uses++;
    counters.signedRequests++;
    const { host: _host, connection: _connection, ...headers } = req.headers;
    const upstream = request({ agent, host: origin.hostname, port: origin.port, method: req.method, path: m[2], headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    base: `http://${address.address}:${address.port}`,
    stats: () => ({ ...counters }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

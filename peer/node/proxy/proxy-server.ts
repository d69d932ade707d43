// `slurpie proxy`: an HTTP forward proxy that serves large GETs through a Slurpie swarm, so
// any client (curl -x, apt, pip, docker with HTTP_PROXY) benefits without knowing Slurpie;
// the shape of Dragonfly's dfdaemon and Kraken's agent.
//
// Requests it takes:
// - absolute-form targets, as any client sends to a proxy: `GET http://host/path HTTP/1.1`;
// - the path form `GET /https://host/path` (or /http://…), for https origins: a client
//   speaking to the proxy in plain HTTP, since a CONNECT tunnel would hide the request;
// - CONNECT gets 501 with a message naming the path form.
//
// A GET without a Range header is probed (HEAD; the URL.sha256 beside it): Range support and
// a size >= minSize make it swarmable, and it is answered by swarm-cache.ts (the cache, the
// running download, or a new one streaming in order). Anything else goes through unchanged
// (pass-through.ts). A probe that fails goes through too, so the client sees the origin's own
// answer (its 404, say) or a 502 saying why the origin could not be reached.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DownloadStats } from '../download.ts';
import type { LogFn } from '../peer-node.ts';
import { closeSourceClients, probeSource } from '../source-client.ts';
import { passThrough } from './pass-through.ts';
import { connectRefusal, failRequest } from './proxy-errors.ts';
import { SharedLimits } from '../rate-limits.ts';
import { SwarmCache } from './swarm-cache.ts';

export interface ProxyOptions {
  host: string;
  port: number;
  dir: string; // the cache of finished files (and .part files of running downloads)
  minSize: number; // smaller files are passed through
  topology?: string;
  log: LogFn;
  protocolEvents?: boolean; // each download's protocol events as debug lines (-v)
  uploadLimit?: number; // bytes a second served to peers at most, by all the proxy's downloads together
  downloadLimit?: number; // bytes a second taken at most, from sources and peers, by all of them together and what passes through
  linger?: number; // seconds each finished file keeps being served to peers after the hand-over (default 0)
  onDone?: (stats: DownloadStats) => void;
}

export interface ProxyServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startProxy(opts: ProxyOptions): Promise<ProxyServer> {
  const limits = new SharedLimits(opts); // throws BAD_INPUT before anything listens
  const cache = new SwarmCache({
    dir: opts.dir, log: opts.log, protocolEvents: opts.protocolEvents === true, limits,
    ...(opts.linger !== undefined && { linger: opts.linger }),
    ...(opts.topology !== undefined && { topology: opts.topology }),
    ...(opts.onDone && { onDone: opts.onDone }),
  });
  let self = '';
  const server = createServer((req, res) => {
    handle(req, res, self, cache, limits, opts).catch((err: Error) => {
      opts.log('warn', `${req.method} ${req.url}: ${err.message}`);
      failRequest(res, err.message);
    });
  });
  server.on('connect', (req: IncomingMessage, socket) => {
    opts.log('info', `CONNECT ${req.url}: refused (use the /<url> form)`);
    socket.on('error', () => {});
    socket.end(connectRefusal(req.url ?? ''));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  self = `${shownHost}:${port}`;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close: async () => {
      await cache.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeSourceClients();
    },
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, self: string, cache: SwarmCache, limits: SharedLimits, opts: ProxyOptions): Promise<void> {
  const target = targetOf(req.url ?? '');
  if (!target) {
    failRequest(res, `not a proxy request: ask for an absolute URL (curl -x http://${self} URL) or http://${self}/https://host/path, got ${JSON.stringify((req.url ?? '').slice(0, 200))}`, 400);
    return;
  }
  if (target.host === self) {
    failRequest(res, `${target.href} is this proxy itself: refusing to loop`, 508);
    return;
  }
  if (req.method === 'GET' && req.headers.range === undefined) {
    const info = await probeSource(target.href, { retries: 0 }).catch(() => null);
    if (info && info.ranges && info.size !== null && info.size >= opts.minSize) {
      const how = await cache.serve(target.href, { ...info, size: info.size }, res);
      opts.log('info', `GET ${target.href}: ${info.size} bytes, ${how === 'cache' ? 'from the cache' : how === 'joined' ? 'joined the running download' : 'swarming'}`);
      return;
    }
    const why = !info ? 'the probe failed' : !info.ranges || info.size === null ? 'no Range support' : `smaller than ${opts.minSize} bytes`;
    opts.log('info', `GET ${target.href}: passed through (${why})`);
  } else {
    opts.log('info', `${req.method} ${target.href}: passed through`);
  }
  await passThrough(req, res, target, limits.downloads);
}

/** The origin URL a request names: absolute form, or the /<url> path form; null if neither. */
export function targetOf(requestTarget: string): URL | null {
  const text = requestTarget.startsWith('/') ? requestTarget.slice(1) : requestTarget;
  if (!/^https?:\/\//i.test(text)) return null;
  try {
    const url = new URL(text);
    return url.hostname ? url : null;
  } catch {
    return null;
  }
}

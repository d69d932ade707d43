// The topology server's HTTP API (PROTOCOL.md §3) as an express app.
//
// Routes validate every field at the edge and hand plain values to the registry;
// every failure is a JSON `{"error": "<one line>"}` — never HTML, never a stack.
// Choices the protocol leaves open:
// - the body is parsed as JSON whatever its Content-Type (curl -d sends a form type);
// - unknown fields in the registration body are ignored (room for later versions);
// - an explicit `host` must be a hostname or a bare IP literal (no brackets, no port);
// - a malformed swarmId or id is refused on every route, DELETE included.
//
// Whom to believe (issue #15). The registrant's address is the one the server sees on the
// socket. A `host` field naming anything else (another IP, any hostname) is ignored and
// the seen address stored: a peer cannot make the swarm dial a third party (reflection),
// while a peer behind NAT, whose own idea of its address is private, still joins (others
// reach it only if its port is forwarded, but it dials out to them). A 400 instead would
// leave such peers downloading alone.
// `trustHostField` (behind a proxy that sets `host`, or on a LAN one trusts) believes the
// field: it is then the caller's address for binding and quotas, and DELETE may name it in
// `?host=` (a proxy's own address would otherwise own every id). The caller's address binds
// the ids it registers and is what quotas count (registry.ts, rate-limit.ts); loopback
// callers skip the quotas unless `quotaLoopback` (local demos run every peer from one address).
// With `token`, POST and DELETE need `Authorization: Bearer <token>` (401 otherwise).
//
// A registration may carry `progress` (issue #14; docs/protocol-notes.md): the peer's byte and
// block counts, for GET /metrics. It is optional (older peers send none) but, when present,
// checked like every other field: a malformed one is a 400, not silently dropped, so a
// broken client shows up at once rather than as wrong numbers on a dashboard.
// It may also name the file (`name`, `size`; swarm-file.ts): what the dashboard shows for an
// opaque swarm id, checked the same way.
// With `dashboard`, GET / is the live dashboard (dashboard-routes.ts).
// With `metrics`, GET /metrics answers in the Prometheus text format (metrics.ts) and every
// 4xx answer is counted; like counting, it needs no token.

import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { canonicalIp, isLoopback, quotaGroup } from './address.ts';
import type { Dashboard } from './dashboard.ts';
import { dashboardRoutes, DASHBOARD_PATHS } from './dashboard-routes.ts';
import type { TopologyMetrics } from './metrics.ts';
import type { RateLimiter } from './rate-limit.ts';
import { Refused } from './store.ts';
import type { Caller, Progress, Registrant, SwarmFile, TopologyRegistry } from './store.ts';
import { isSwarmName, NAME_MAX } from './swarm-file.ts';

export interface TopologyAppOptions {
  /** Largest accepted request body; larger ones get 413. */
  maxBodyBytes?: number;
  /** One line per unexpected (500) error. */
  log?: (line: string) => void;
  /** Believe a registration's `host` field (and DELETE's `?host=`); default: the socket's address. */
  trustHostField?: boolean;
  /** When set, POST and DELETE need `Authorization: Bearer <token>`. */
  token?: string;
  /** Registrations per second per address; without it, no limit. */
  rateLimit?: RateLimiter;
  /** Quotas also for loopback callers (exempt by default). */
  quotaLoopback?: boolean;
  /** Serves GET /metrics and counts refused requests. */
  metrics?: TopologyMetrics;
  /** Serves the live dashboard at GET / (and its page, events and JSON). */
  dashboard?: Dashboard;
}

interface Judged {
  trust: boolean;
  quotaLoopback: boolean;
}

const SWARM_ID = /^[0-9a-f]{64}$/;
const PEER_ID = /^[0-9a-fA-F]{16,64}$/;
const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
const PEERS_PATH = '/v1/swarms/:swarmId/peers';
const PEER_PATH = '/v1/swarms/:swarmId/peers/:id';
const SWARM_PATH = '/v1/swarms/:swarmId';

class BadInput extends Error {
  readonly status = 400;
  readonly expose = true;
}

export function createTopologyApp(registry: TopologyRegistry, opts: TopologyAppOptions = {}): express.Express {
  const maxBodyBytes = opts.maxBodyBytes ?? 4096;
  const log = opts.log ?? (() => {});
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // counts change; a 304 would only confuse clients

  const json = express.json({ limit: maxBodyBytes, strict: true, type: () => true });
  const judged = judgedBy(opts);
  const auth: RequestHandler[] = opts.token === undefined ? [] : [bearer(opts.token)];
  const metrics = opts.metrics;

  if (metrics) {
    // On 'finish', so every 4xx is counted whichever handler answered it (404, 405, errors).
    app.use((_req: Request, res: Response, next: NextFunction) => {
      res.once('finish', () => metrics.refused(res.statusCode));
      next();
    });
    app.get('/metrics', async (_req: Request, res: Response) => {
      const text = await metrics.text();
      res.status(200).set('Content-Type', metrics.contentType).send(text);
    });
  }

  if (opts.dashboard) app.use(dashboardRoutes(opts.dashboard));

  app.post(PEERS_PATH, ...auth, json, async (req: Request, res: Response) => {
    res.status(200).json(await registrationAnswer(registry, opts, req.params.swarmId, req.body, req.socket.remoteAddress));
  });

  app.delete(PEER_PATH, ...auth, async (req: Request, res: Response) => {
    const swarmId = swarmIdOf(req.params.swarmId);
    const id = peerIdOf(req.params.id);
    const claimed = judged.trust && typeof req.query.host === 'string' ? req.query.host : undefined;
    await registry.deregister(swarmId, id, callerOf(req.socket.remoteAddress, claimed, judged).caller);
    res.status(204).end();
  });

  app.get(SWARM_PATH, async (req: Request, res: Response) => {
    const swarmId = swarmIdOf(req.params.swarmId);
    res.status(200).json({ peers: await registry.count(swarmId) });
  });

  app.get('/healthz', (_req: Request, res: Response) => {
    res.status(200).json({ ok: true });
  });

  const allowed: [string, string][] = [
    [PEERS_PATH, 'POST'],
    [PEER_PATH, 'DELETE'],
    [SWARM_PATH, 'GET, HEAD'],
    ['/healthz', 'GET, HEAD'],
    ...(metrics ? [['/metrics', 'GET, HEAD'] as [string, string]] : []),
    ...(opts.dashboard ? DASHBOARD_PATHS.map((path): [string, string] => [path, 'GET, HEAD']) : []),
  ];
  for (const [path, allow] of allowed) {
    app.all(path, (req: Request, res: Response) => {
      res.status(405).set('Allow', allow).json({ error: `method ${req.method} not allowed here (allowed: ${allow})` });
    });
  }

  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: `no such route: ${req.method} ${oneLine(req.path, 120)}` });
  });

  // Body-parser, URL-decoding and validation errors all arrive here.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const answer = errorAnswer(err, maxBodyBytes, log);
    res.status(answer.status).set(answer.headers).json(answer.body);
  });

  return app;
}

function judgedBy(opts: TopologyAppOptions): Judged {
  return { trust: opts.trustHostField ?? false, quotaLoopback: opts.quotaLoopback ?? false };
}

/**
 * The answer to a registration, `body` already parsed (the POST route, and fast-register.ts
 * which serves the same route without express). Throws BadInput or Refused.
 */
export async function registrationAnswer(
  registry: TopologyRegistry,
  opts: TopologyAppOptions,
  swarmIdParam: unknown,
  body: unknown,
  remoteAddress: string | undefined,
): Promise<{ peers: Registrant[]; ttl: number; count: number }> {
  const swarmId = swarmIdOf(swarmIdParam);
  const { peer, caller, progress, file } = registrationOf(body, remoteAddress, judgedBy(opts));
  const wait = caller.limited ? (opts.rateLimit?.take(caller.group) ?? 0) : 0;
  if (wait > 0) {
    throw new Refused(429, `too many registrations from your address (the server allows ${opts.rateLimit?.perSecond} a second); retry in ${wait} s`, wait);
  }
  const peers = await registry.register(swarmId, peer, caller, progress, file);
  // count: how many are registered now, the caller included (the peers' swarm-size anchor).
  return { peers, ttl: registry.ttl, count: await registry.count(swarmId) };
}

/** The JSON answer to a failed request: Refused, body-parser's errors, BadInput, else a logged 500. */
export function errorAnswer(err: unknown, maxBodyBytes: number, log: (line: string) => void): { status: number; headers: Record<string, string>; body: { error: string } } {
  const headers: Record<string, string> = {};
  if (err instanceof Refused) {
    if (err.retryAfter !== undefined) headers['Retry-After'] = String(err.retryAfter);
    if (err.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="slurpie topology"';
    return { status: err.status, headers, body: { error: oneLine(err.message, 300) } };
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as { status?: unknown; type?: unknown; expose?: unknown; message?: unknown };
  const status = typeof e.status === 'number' ? e.status : 500;
  if (status === 413) return { status: 413, headers, body: { error: `request body larger than ${maxBodyBytes} bytes` } };
  if (status >= 400 && status < 500) {
    const message =
      e.type === 'entity.parse.failed'
        ? 'body is not valid JSON (it must be a JSON object)'
        : typeof e.message === 'string' && e.message.startsWith('Failed to decode param')
          ? 'the path is not valid percent-encoding'
          : e.expose === true && typeof e.message === 'string'
            ? e.message
            : 'bad request';
    return { status: 400, headers, body: { error: oneLine(message, 200) } };
  }
  log(`topology server: unexpected error: ${oneLine(String(e.message ?? err), 300)}`);
  return { status: 500, headers, body: { error: 'internal error' } };
}

function swarmIdOf(value: unknown): string {
  if (typeof value !== 'string' || !SWARM_ID.test(value)) throw new BadInput('swarmId must be 64 lowercase hex characters');
  return value;
}

function peerIdOf(value: unknown): string {
  if (typeof value !== 'string' || !PEER_ID.test(value)) throw new BadInput('id must be a string of 16 to 64 hex characters');
  return value.toLowerCase();
}

function registrationOf(body: unknown, remoteAddress: string | undefined, judged: Judged): { peer: Registrant; caller: Caller; progress?: Progress; file?: SwarmFile } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadInput('body must be a JSON object');
  const fields = body as Record<string, unknown>;
  const id = peerIdOf(fields.id);
  const port = fields.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new BadInput('port must be an integer from 1 to 65535');
  }
  if (fields.host !== undefined && typeof fields.host !== 'string') throw new BadInput(BAD_HOST);
  const progress = fields.progress === undefined ? undefined : progressOf(fields.progress);
  const file = fileOf(fields.name, fields.size);
  const { host, caller } = callerOf(remoteAddress, fields.host, judged);
  return { peer: { id, host, port }, caller, ...(progress && { progress }), ...(file && { file }) };
}

/** A registration's optional `name` and `size` (swarm-file.ts); undefined when it has neither. */
function fileOf(name: unknown, size: unknown): SwarmFile | undefined {
  if (name !== undefined && !isSwarmName(name)) throw new BadInput(`name must be 1 to ${NAME_MAX} characters of printable text (the file name)`);
  if (size !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)) throw new BadInput('size must be a whole number of bytes from 0 to 2^53 - 1');
  if (name === undefined && size === undefined) return undefined;
  return { ...(name !== undefined && { name }), ...(size !== undefined && { size }) };
}

/** A registration's `progress`; only the known fields are kept (unknown ones ignored, as in the body). */
function progressOf(value: unknown): Progress {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadInput('progress must be an object {fromSource, fromPeers, uploaded, blocksHave, blocks, done}');
  }
  const p = value as Record<string, unknown>;
  for (const name of ['fromSource', 'fromPeers', 'uploaded', 'blocksHave', 'blocks']) {
    const n = p[name];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new BadInput(`progress.${name} must be a whole number from 0 to 2^53 - 1`);
  }
  const num = (name: string): number => p[name] as number;
  if (num('blocksHave') > num('blocks')) throw new BadInput(`progress.blocksHave (${num('blocksHave')}) must not exceed progress.blocks (${num('blocks')})`);
  if (typeof p.done !== 'boolean') throw new BadInput('progress.done must be true or false');
  return { fromSource: num('fromSource'), fromPeers: num('fromPeers'), uploaded: num('uploaded'), blocksHave: num('blocksHave'), blocks: num('blocks'), done: p.done };
}

const BAD_HOST = 'host must be a hostname or an IP address of at most 255 characters';

/** Who is asking, and the host to store for it: the seen address unless a claimed one is trusted. */
function callerOf(remoteAddress: string | undefined, claimed: string | undefined, judged: Judged): { host: string; caller: Caller } {
  if (claimed !== undefined && !isHost(claimed)) throw new BadInput(BAD_HOST);
  let host: string;
  let address: string;
  if (claimed !== undefined && judged.trust) {
    const ip = canonicalIp(claimed);
    host = ip ?? claimed;
    address = ip ?? claimed.toLowerCase();
  } else {
    if (remoteAddress === undefined) throw new BadInput('cannot tell your address (the connection is gone)');
    host = address = canonicalIp(remoteAddress) ?? remoteAddress.toLowerCase();
  }
  const limited = judged.quotaLoopback || !isLoopback(address);
  return { host, caller: { address, group: quotaGroup(address), limited } };
}

/** Requires `Authorization: Bearer <token>`; compared in constant time (digests of equal length). */
function bearer(token: string): RequestHandler {
  const want = createHash('sha256').update(token).digest();
  return (req: Request, _res: Response, next: NextFunction) => {
    const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
    if (!m) throw new Refused(401, 'this server needs "Authorization: Bearer <token>" to register or delete (it runs with --token-file)');
    if (!timingSafeEqual(createHash('sha256').update(m[1]!).digest(), want)) throw new Refused(401, 'wrong bearer token');
    next();
  };
}

function isHost(value: string): boolean {
  if (value.length === 0 || value.length > 255) return false;
  if (isIP(value) !== 0) return true;
  const labels = value.split('.');
  // An all-digit last label would make "999.1.1.1" a hostname; no real TLD is numeric.
  return labels.every((label) => HOST_LABEL.test(label)) && !/^\d+$/.test(labels[labels.length - 1] ?? '');
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

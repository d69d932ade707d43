// The topology server's HTTP API (PROTOCOL.md §3) as an express app.
//
// Routes validate every field at the edge and hand plain values to the registry;
// every failure is a JSON `{"error": "<one line>"}` — never HTML, never a stack.
// Choices the protocol leaves open:
// - the body is parsed as JSON whatever its Content-Type (curl -d sends a form type);
// - unknown fields in the registration body are ignored (room for later versions);
// - an explicit `host` must be a hostname or a bare IP literal (no brackets, no port);
// - a malformed swarmId or id is refused on every route, DELETE included.

import { isIP } from 'node:net';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Registrant, TopologyRegistry } from './store.ts';

export interface TopologyAppOptions {
  /** Largest accepted request body; larger ones get 413. */
  maxBodyBytes?: number;
  /** One line per unexpected (500) error. */
  log?: (line: string) => void;
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

  app.post(PEERS_PATH, json, async (req: Request, res: Response) => {
    const swarmId = swarmIdOf(req.params.swarmId);
    const peer = registrationOf(req.body, req.socket.remoteAddress);
    const peers = await registry.register(swarmId, peer);
    // count: how many are registered now, the caller included (the peers' swarm-size anchor).
    res.status(200).json({ peers, ttl: registry.ttl, count: await registry.count(swarmId) });
  });

  app.delete(PEER_PATH, async (req: Request, res: Response) => {
    const swarmId = swarmIdOf(req.params.swarmId);
    const id = peerIdOf(req.params.id);
    await registry.deregister(swarmId, id);
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
    const e = (typeof err === 'object' && err !== null ? err : {}) as { status?: unknown; type?: unknown; expose?: unknown; message?: unknown };
    const status = typeof e.status === 'number' ? e.status : 500;
    if (status === 413) {
      res.status(413).json({ error: `request body larger than ${maxBodyBytes} bytes` });
    } else if (status >= 400 && status < 500) {
      const message =
        e.type === 'entity.parse.failed'
          ? 'body is not valid JSON (it must be a JSON object)'
          : typeof e.message === 'string' && e.message.startsWith('Failed to decode param')
            ? 'the path is not valid percent-encoding'
            : e.expose === true && typeof e.message === 'string'
              ? e.message
              : 'bad request';
      res.status(400).json({ error: oneLine(message, 200) });
    } else {
      log(`topology server: unexpected error: ${oneLine(String(e.message ?? err), 300)}`);
      res.status(500).json({ error: 'internal error' });
    }
  });

  return app;
}

function swarmIdOf(value: unknown): string {
  if (typeof value !== 'string' || !SWARM_ID.test(value)) throw new BadInput('swarmId must be 64 lowercase hex characters');
  return value;
}

function peerIdOf(value: unknown): string {
  if (typeof value !== 'string' || !PEER_ID.test(value)) throw new BadInput('id must be a string of 16 to 64 hex characters');
  return value.toLowerCase();
}

function registrationOf(body: unknown, remoteAddress: string | undefined): Registrant {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadInput('body must be a JSON object');
  const fields = body as Record<string, unknown>;
  const id = peerIdOf(fields.id);
  const port = fields.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new BadInput('port must be an integer from 1 to 65535');
  }
  let host: string;
  if (fields.host === undefined) {
    if (remoteAddress === undefined) throw new BadInput('cannot tell your address; send "host"');
    host = unmapIPv4(remoteAddress);
  } else {
    if (typeof fields.host !== 'string' || !isHost(fields.host)) {
      throw new BadInput('host must be a hostname or an IP address of at most 255 characters');
    }
    host = fields.host;
  }
  return { id, host, port };
}

function isHost(value: string): boolean {
  if (value.length === 0 || value.length > 255) return false;
  if (isIP(value) !== 0) return true;
  const labels = value.split('.');
  // An all-digit last label would make "999.1.1.1" a hostname; no real TLD is numeric.
  return labels.every((label) => HOST_LABEL.test(label)) && !/^\d+$/.test(labels[labels.length - 1] ?? '');
}

/** "::ffff:10.0.0.1" (an IPv4 client on a dual-stack socket) -> "10.0.0.1". */
function unmapIPv4(address: string): string {
  const rest = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : '';
  return isIP(rest) === 4 ? rest : address;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

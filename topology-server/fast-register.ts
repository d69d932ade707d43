// POST /v1/swarms/:swarmId/peers without express: the one route every peer calls every
// ttl/2, and so the whole load of a busy topology server (issue #14: 10,000 registrations/s
// with 50 keep-alive clients on the 2-core test machine).
//
// Profiled (node --cpu-prof, experiments/bench/topology.ts, ~2,300/s before): the express
// router and body-parser took ~35% of the server's CPU, response writing (res.json's extra
// header work, a Buffer body written apart from the headers) much of the rest, the
// registry itself ~8%. Here the request is matched on its URL, the body read into one
// buffer and parsed with JSON.parse, and the answer written with its headers in one
// res.end. Everything else is app.ts's: the same validation (registrationAnswer), the same
// errors and refusals (errorAnswer), the same bytes on the wire.
//
// Only the plain case is served here; express keeps anything unusual, so its behaviour
// stays the one reference: a bearer token configured, a query string, a body without a
// Content-Length, larger than the limit, or with a Content-Encoding or a charset.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorAnswer, registrationAnswer } from './app.ts';
import type { TopologyAppOptions } from './app.ts';
import type { TopologyRegistry } from './store.ts';

const PEERS_URL = /^\/v1\/swarms\/([0-9a-f]{64})\/peers$/;
const JSON_TYPE = 'application/json; charset=utf-8';

/** Returns a request handler that answers the plain registrations and returns false for everything else. */
export function fastRegistrations(registry: TopologyRegistry, opts: TopologyAppOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const maxBodyBytes = opts.maxBodyBytes ?? 4096;
  const log = opts.log ?? (() => {});
  if (opts.token !== undefined) return () => false;

  const answer = (res: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...headers, 'Content-Type': JSON_TYPE, 'Content-Length': String(Buffer.byteLength(text)) });
    res.end(text);
    if (status >= 400 && status < 500) opts.metrics?.refused(status);
  };

  return (req, res) => {
    if (req.method !== 'POST') return false;
    const match = PEERS_URL.exec(req.url ?? '');
    const length = Number(req.headers['content-length']);
    if (!match || !(length > 0 && length <= maxBodyBytes) || req.headers['content-encoding'] !== undefined) return false;
    if (req.headers['content-type']?.includes('charset') === true && !/charset=("?)utf-8\1\s*(;|$)/i.test(req.headers['content-type'])) return false;

    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received <= maxBodyBytes) chunks.push(chunk);
    });
    req.on('end', () => {
      let body: unknown;
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      try {
        // body-parser's strict mode: an object or an array, nothing else.
        if (!/^[\s]*[{[]/.test(text)) throw new Error('not an object');
        body = JSON.parse(text);
      } catch {
        const e = errorAnswer({ status: 400, type: 'entity.parse.failed' }, maxBodyBytes, log);
        answer(res, e.status, e.headers, e.body);
        return;
      }
      registrationAnswer(registry, opts, match[1], body, req.socket.remoteAddress).then(
        (ok) => answer(res, 200, {}, ok),
        (err: unknown) => {
          const e = errorAnswer(err, maxBodyBytes, log);
          answer(res, e.status, e.headers, e.body);
        },
      );
    });
    return true;
  };
}

// What the proxy cannot swarm (small files, methods other than GET, origins without Range,
// GETs with their own Range) goes to the origin unchanged through undici: method, headers
// and body as the client sent them, the origin's status, headers and body as it answered,
// redirects included (the client follows them, as through any proxy). Only the hop-by-hop
// headers of RFC 9110 §7.6.1 stay on their side of the proxy. It goes through undici's agent
// (http-dispatcher.ts: HTTP_PROXY and NO_PROXY apply upstream as for downloads). With a
// download limit, the answer's body is read at the limit, shared with the swarmed downloads.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { DownloadBudget, type DownloadPool } from '../../core/download-budget.ts';
import { httpDispatcher } from '../http-dispatcher.ts';
import { failRequest } from './proxy-errors.ts';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'host',
  'expect', // Node's server has already answered 100-continue; undici sends no Expect
]);

/** Forwards `req` to `target` and the answer back to `res`, its body no faster than `limit` allows. */
export async function passThrough(req: IncomingMessage, res: ServerResponse, target: URL, limit: DownloadPool | null = null): Promise<void> {
  const method = req.method ?? 'GET';
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  let answer: Awaited<ReturnType<typeof request>>;
  try {
    answer = await request(target, {
      method: method as 'GET',
      headers: endToEnd(req.headers),
      ...(hasBody && method !== 'GET' && method !== 'HEAD' && { body: req }),
      dispatcher: httpDispatcher(),
      headersTimeout: 60_000,
      bodyTimeout: 0, // a slow origin may pause; the client decides how long to wait
    });
  } catch (err) {
    failRequest(res, `cannot get ${target.href} from the origin: ${reason(err)}`);
    return;
  }
  res.writeHead(answer.statusCode, endToEnd(answer.headers));
  try {
    await (limit ? pipeline(answer.body, paced(limit), res) : pipeline(answer.body, res));
  } catch {
    res.destroy(); // the origin or the client went away mid-body: cut, never a clean short end
  }
}

/**
 * Passes each chunk on once the pool allows it, as a swarmed download's request would be
 * (behind the Range GET runs waiting for the pool, so a long pass-through does not starve
 * them); the origin is read at the limit through TCP's own flow control.
 */
function paced(pool: DownloadPool): Transform {
  const budget = new DownloadBudget(pool, 1, performance.now());
  const pass = async (bytes: number): Promise<void> => {
    const ask = Math.min(bytes, pool.burst); // a chunk past the burst is let through into debt
    for (;;) {
      const now = performance.now();
      if (budget.allows(now, ask)) return budget.take(now, bytes);
      await sleep(Math.max(1, budget.wakeAt() - now));
      budget.woke();
    }
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      pass(chunk.length).then(() => done(null, chunk), done);
    },
  });
}

function endToEnd(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    out[lower] = value;
  }
  return out;
}

function reason(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  return e.cause?.code ?? e.code ?? e.message ?? String(err);
}

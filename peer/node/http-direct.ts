// Requests without a proxy, on Node's own HTTP client (http-client.ts says why not undici):
// one keep-alive agent per protocol, which pools connections per host and port, closes an
// idle one after 10 s or a second before the server's Keep-Alive timeout, and unrefs idle
// ones so they never keep the process alive. What undici gave the callers and Node's client
// does not, added here: a timeout for the connection and one for the response's headers,
// and an abort signal that fails the request, or once answered its body, with the signal's
// own reason (the source's watchdog and the callers' timeouts tell theirs apart by it).
import { Agent, request, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpRequest, HttpResponse } from './http-client.ts';

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000; // undici's agent (behind a proxy) gets the same
const IDLE_CONNECTION_MS = 10_000;

type Requester = (options: RequestOptions) => ClientRequest;

let plain: { agent: Agent; request: Requester } | undefined;
let secure: Promise<{ agent: Agent; request: Requester }> | undefined;

// node:https (and TLS with it) loads with the first https:// request only: peers of a local swarm never make one.
async function clientFor(protocol: string): Promise<{ agent: Agent; request: Requester }> {
  if (protocol === 'http:') return (plain ??= { agent: new Agent({ keepAlive: true, timeout: IDLE_CONNECTION_MS }), request });
  if (protocol !== 'https:') throw new Error(`unsupported protocol ${protocol}`);
  secure ??= import('node:https').then((https) => ({ agent: new https.Agent({ keepAlive: true, timeout: IDLE_CONNECTION_MS }), request: https.request }));
  return secure;
}

/** An error whose `code` says which of our timeouts fired (source-retry.ts reads it). */
export class HttpTimeoutError extends Error {
  constructor(
    readonly code: 'CONNECT_TIMEOUT' | 'HEADERS_TIMEOUT',
    message: string,
  ) {
    super(message);
    this.name = 'HttpTimeoutError';
  }
}

export async function directRequest(o: HttpRequest): Promise<HttpResponse> {
  const url = new URL(o.origin);
  const client = await clientFor(url.protocol);
  const { signal } = o;
  if (signal?.aborted) throw signal.reason;
  const headers: Record<string, string> = { ...o.headers };
  if (o.body !== undefined) headers['content-length'] = String(Buffer.byteLength(o.body));
  return new Promise<HttpResponse>((resolve, reject) => {
    let res: IncomingMessage | undefined;
    let failure: unknown; // ours, when we end the request: Node may report it as "socket hang up"
    let headersTimer: NodeJS.Timeout | undefined;
    let connectTimer: NodeJS.Timeout | undefined;
    const req = client.request({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), // an IPv6 literal without its brackets
      port: url.port,
      path: o.path,
      method: o.method,
      headers,
      agent: client.agent,
    });
    const fail = (err: unknown): void => {
      failure ??= err;
      req.destroy(err as Error);
    };
    const onAbort = (): void => {
      if (res) res.destroy(signal?.reason);
      else fail(signal?.reason);
    };
    const stopTimers = (): void => {
      clearTimeout(headersTimer);
      clearTimeout(connectTimer);
    };
    const finish = (): void => {
      stopTimers();
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (o.headersTimeout !== undefined && o.headersTimeout > 0) {
      const ms = o.headersTimeout;
      headersTimer = setTimeout(() => fail(new HttpTimeoutError('HEADERS_TIMEOUT', `no response headers within ${ms} ms`)), ms);
    }
    req.on('socket', (socket: Socket) => {
      if (!socket.connecting) return; // a pooled connection
      const ms = o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
      connectTimer = setTimeout(() => fail(new HttpTimeoutError('CONNECT_TIMEOUT', `connect timed out after ${ms} ms`)), ms);
      socket.once('connect', () => clearTimeout(connectTimer));
    });
    req.on('response', (answer: IncomingMessage) => {
      res = answer;
      stopTimers();
      answer.once('close', finish); // the abort listener stays while the body is read
      resolve({ statusCode: answer.statusCode ?? 0, headers: answer.headers, body: answer });
    });
    req.on('error', (err) => {
      if (res) return; // once answered, a failure shows on the body
      finish();
      reject(failure ?? err);
    });
    req.end(o.body);
  });
}

/** Closes every pooled connection; requests still running fail. */
export function closeDirectAgents(): void {
  plain?.agent.destroy();
  plain = undefined;
  const closing = secure;
  secure = undefined;
  void closing?.then((c) => c.agent.destroy());
}

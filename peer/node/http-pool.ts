// A keep-alive HTTP/1.1 client for one origin on node:http, with the small part of undici's
// Pool API the source client uses (request → statusCode, headers, body; destroy).
//
// Why not undici: a peer already loads node:http for its WebSocket server and clients (ws),
// and undici, a second HTTP stack, cost every `slurpie get` about 75 ms of CPU and 15 MiB of
// resident memory just to load (measured on Node 20, issue #12). node:http is in Node's
// start-up snapshot.
//
// Errors keep the shapes the source client already understands: a timeout is an Error named
// TimeoutError; an abort rejects with the signal's reason; socket errors pass through with
// their codes (ECONNREFUSED, ECONNRESET...).
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface PoolOptions {
  keepAliveTimeout: number; // ms an idle connection is kept
  connectTimeout: number; // ms to connect
}

export interface RequestOptions {
  path: string;
  method: 'HEAD' | 'GET';
  headers: Record<string, string>;
  signal?: AbortSignal | undefined;
  headersTimeout: number; // ms from sending the request to the response's headers
}

/** The body: a readable stream of Buffers, plus undici's dump() (drain so the connection is reused). */
export type ResponseBody = IncomingMessage & { dump(): Promise<void> };

export interface ResponseData {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: ResponseBody;
}

function timeoutError(message: string): Error {
  const err = new Error(message);
  err.name = 'TimeoutError';
  return err;
}

export class HttpPool {
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly connectTimeout: number;

  constructor(origin: string, options: PoolOptions) {
    this.url = new URL(origin);
    const Agent = this.url.protocol === 'https:' ? HttpsAgent : HttpAgent;
    // `timeout` closes a connection idle this long (in the pool or waiting for bytes; the
    // caller's watchdog is the body's real limit, so the pool's must not be shorter).
    this.agent = new Agent({ keepAlive: true, timeout: options.keepAliveTimeout, scheduling: 'lifo' });
    this.connectTimeout = options.connectTimeout;
  }

  request(options: RequestOptions): Promise<ResponseData> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<ResponseData>((resolve, reject) => {
      const send = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send({
        protocol: this.url.protocol,
        hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
        port: this.url.port || undefined,
        path: options.path,
        method: options.method,
        headers: options.headers,
        agent: this.agent,
      });
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        cleanup();
        req.destroy();
        reject(err);
      };
      const onAbort = (): void => fail(signal?.reason as Error);
      const headersTimer = setTimeout(() => fail(timeoutError(`no response headers within ${options.headersTimeout} ms`)), options.headersTimeout);
      let connectTimer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        clearTimeout(headersTimer);
        clearTimeout(connectTimer);
        signal?.removeEventListener('abort', onAbort);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('socket', (socket) => {
        if (!socket.connecting) return; // a reused keep-alive connection
        connectTimer = setTimeout(() => fail(timeoutError(`could not connect within ${this.connectTimeout} ms`)), this.connectTimeout);
        socket.once('connect', () => clearTimeout(connectTimer));
      });
      req.on('error', fail);
      req.on('response', (res: IncomingMessage) => {
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        cleanup();
        // An abort after the headers ends the body (with the reason) and the connection.
        if (signal) {
          const abortBody = (): void => {
            res.destroy(signal.reason as Error);
          };
          signal.addEventListener('abort', abortBody, { once: true });
          res.once('close', () => signal.removeEventListener('abort', abortBody));
        }
        // A body not read to its end leaves the connection unusable: close it.
        res.once('close', () => {
          if (!res.complete) req.destroy();
        });
        const body = Object.assign(res, {
          dump: (): Promise<void> =>
            new Promise<void>((done) => {
              if (res.complete || res.destroyed) return done();
              res.once('close', () => done());
              res.resume();
            }),
        });
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body });
      });
      req.end();
    });
  }

  /** Closes every connection; requests still running fail. */
  async destroy(): Promise<void> {
    this.agent.destroy();
  }
}

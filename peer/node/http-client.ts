// A peer's HTTP requests (the source's and the topology server's): Node's own client, with
// a keep-alive pool per protocol (http-direct.ts), unless the environment names a proxy; then
// undici's EnvHttpProxyAgent (http-dispatcher.ts), which honours HTTP_PROXY, HTTPS_PROXY
// and NO_PROXY as curl does. undici is loaded only then: it cost a peer's start-up about 40
// ms of CPU (its modules and the wasm HTTP parser), a quarter of it, where node:http is
// already in Node (issue #12). Both answer in the one shape below, so callers cannot tell.
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { closeDirectAgents, directRequest } from './http-direct.ts';

export interface HttpRequest {
  origin: string; // scheme://host[:port]
  path: string; // path and query
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal; // an abort rejects with, or fails the body with, the signal's reason
  headersTimeout?: number; // ms until the response's headers (default: none of ours)
  connectTimeoutMs?: number; // ms to open a connection (default 10 s)
}

export interface HttpResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/** The variables that name a proxy (NO_PROXY only narrows one): curl's, either case. */
export const PROXY_NAMING = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY'] as const;

/** Whether requests may go through a proxy: undici's agent then decides, per URL, with NO_PROXY. */
export function proxyNamed(env: NodeJS.ProcessEnv = process.env): boolean {
  return PROXY_NAMING.some((name) => (env[name] ?? '').trim() !== '');
}

let proxied: typeof import('./http-dispatcher.ts') | undefined;

export async function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  if (proxyNamed()) {
    proxied ??= await import('./http-dispatcher.ts');
    const { connectTimeoutMs, method, ...rest } = req;
    const res = await proxied.httpDispatcher(connectTimeoutMs).request({ ...rest, method: method as 'GET' });
    return res as unknown as HttpResponse;
  }
  return directRequest(req);
}

/** Reads a small answer to its end, so its connection goes back to the pool. */
export function drain(body: Readable): void {
  body.on('error', () => {});
  body.resume();
}

/** Closes every pooled connection of both clients; requests still running fail. */
export async function closeHttpClients(): Promise<void> {
  closeDirectAgents();
  await proxied?.closeHttpDispatchers();
}

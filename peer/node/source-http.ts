// One exchange with the HTTP source: a request through the peer's HTTP client
// (http-client.ts: keep-alive pools per origin, the environment's proxy) that follows
// redirects and carries the user's headers, and the small readers of an answer (headers,
// Content-Range, validators; a body drained or cut). The probe, the block fetch and change
// detection all go through here; what to do with a status is theirs.

import { STATUS_CODES } from 'node:http';
import { SlurpieError } from '../errors.ts';
import { drain, httpRequest, type HttpResponse } from './http-client.ts';
import { DEFAULT_USER_AGENT } from './request-headers.ts';
import type { SourceHttp } from './source-client.ts';

const MAX_REDIRECTS = 5;


export type Response = HttpResponse;

export async function requestFollowing(
  start: URL,
  method: 'HEAD' | 'GET',
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
  headersTimeout: number,
  http: SourceHttp = {},
  givenOrigin = start.origin,
): Promise<{ url: URL; res: Response }> {
  // Ours (Range, If-Range) win over the user's, which win over the default User-Agent.
  const all: Record<string, string> = { 'user-agent': DEFAULT_USER_AGENT, ...http.headers, ...headers };
  // As curl: credentials the user added go only to the origin of the URL they gave.
  const { authorization: _a, cookie: _c, ...elsewhere } = all;
  let url = start;
  for (let hops = 0; ; hops++) {
    const sent = url.origin === givenOrigin ? all : elsewhere;
    const res = await httpRequest({ origin: url.origin, path: url.pathname + url.search, method, headers: sent, signal, headersTimeout, ...(http.connectTimeoutMs !== undefined && { connectTimeoutMs: http.connectTimeoutMs }) });
    if (![301, 302, 303, 307, 308].includes(res.statusCode)) return { url, res };
    discard(res);
    const location = header(res, 'location');
    if (location === undefined) throw new SlurpieError('SOURCE_HTTP', `source answered ${statusLine(res.statusCode)} without a Location for ${url}`);
    if (hops >= MAX_REDIRECTS) throw new SlurpieError('SOURCE_HTTP', `more than ${MAX_REDIRECTS} redirects starting at ${start}`);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new SlurpieError('SOURCE_HTTP', `source redirected to an invalid URL "${clean(location)}" from ${url}`);
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new SlurpieError('SOURCE_HTTP', `source redirected to a non-HTTP URL ${next.protocol}… from ${url}`);
    }
    url = next;
  }
}

// ---- reading an answer ----

export function header(res: Response, name: string): string | undefined {
  const value = res.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first.trim() === '' ? undefined : first.trim();
}

export function validatorOf(res: Response): string | null {
  const etag = header(res, 'etag');
  if (etag !== undefined && !/^W\//i.test(etag)) return etag;
  return header(res, 'last-modified') ?? null;
}

export function parseLength(value: string | undefined): number | null {
  if (value === undefined || !/^\d{1,16}$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

export function parseContentRange(value: string | undefined): { first: number; last: number; total: number | null } | null {
  const m = value === undefined ? null : /^bytes\s+(\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)$/i.exec(value);
  if (!m) return null;
  const first = Number(m[1]);
  const last = Number(m[2]);
  const total = m[3] === '*' ? null : Number(m[3]);
  if (last < first || (total !== null && last >= total)) return null;
  return { first, last, total };
}

export function discard(res: Response, empty = false): void {
  // Small bodies are drained so the connection stays reusable; big ones are cut.
  const length = parseLength(header(res, 'content-length'));
  if (empty || (length !== null && length <= 64 * 1024)) drain(res.body);
  else cut(res);
}

export function cut(res: Response): void {
  res.body.on('error', () => {}); // a destroy may report itself as an error
  res.body.destroy();
}

export function statusLine(code: number): string {
  const text = STATUS_CODES[code];
  return text === undefined ? String(code) : `${code} ${text}`;
}

/** Server-supplied text in a one-line message: no control characters, bounded length. */
export function clean(text: string): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return flat.length > 120 ? `${flat.slice(0, 117)}…` : flat;
}

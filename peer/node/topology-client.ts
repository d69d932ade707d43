// The peers' client for the topology server (PROTOCOL.md §3). The server's answers
// are untrusted input: malformed peers are dropped, the list is capped, the body size
// is bounded. Every failure to get a usable answer is TOPOLOGY_UNREACHABLE, one line.
//
// A server may require a bearer token (`token`, sent with every request), answer 429 when
// an address registers too fast (retried here after its Retry-After, when that is short),
// and bind an id to the address that registered it: a DELETE names the host the id was
// registered with (`?host=`), which a server that believes host fields needs to tell whose
// it is (behind a proxy every request comes from the proxy); others ignore it.
// A registration may carry the peer's progress and the file's name and size (README protocol
// notes); servers that predate them ignore the fields.
//
//
// Requests go through the same HTTP client as the source's (http-client.ts): the same
// pools, and the environment's proxy applies here too unless NO_PROXY names the server
// (curl applies a proxy to every URL it fetches). The user's source headers do not.

import { SlurpieError } from '../errors.ts';
import { httpRequest, type HttpResponse } from './http-client.ts';
import type { SwarmFile } from '../../topology-server/swarm-file.ts';

export interface TopologyPeer {
  id: string;
  host: string;
  port: number;
}

/** Sent with a registration: what the topology server's GET /metrics sums per swarm. */
export interface TopologyProgress {
  fromSource: number;
  fromPeers: number;
  uploaded: number;
  blocksHave: number;
  blocks: number;
  done: boolean;
}

export interface TopologyClientOptions {
  /** Per request; default 5000 ms. */
  timeoutMs?: number;
  /** Most peers kept from one answer; default 100. */
  maxPeers?: number;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** A 429 whose Retry-After is at most this is retried (twice at most); default 5000 ms. */
  maxRetryWaitMs?: number;
}

const PEER_ID = /^[0-9a-f]{16,64}$/;
const MAX_ANSWER_BYTES = 256 * 1024;

export class TopologyClient {
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly maxPeers: number;
  private readonly token: string | undefined;
  private readonly maxRetryWaitMs: number;
  private readonly hosts = new Map<string, string>(); // "swarm/id" -> the host it was registered with

  constructor(baseUrl: string, opts: TopologyClientOptions = {}) {
    let base: URL;
    try {
      base = new URL(baseUrl);
    } catch {
      throw new SlurpieError('BAD_INPUT', `topology server URL is not a URL: ${baseUrl}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new SlurpieError('BAD_INPUT', `topology server URL must be http(s): ${baseUrl}`);
    }
    if (!base.pathname.endsWith('/')) base.pathname += '/'; // so v1/… resolves below any path prefix
    base.search = '';
    base.hash = '';
    this.base = base;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.maxPeers = opts.maxPeers ?? 100;
    this.token = opts.token;
    this.maxRetryWaitMs = opts.maxRetryWaitMs ?? 5000;
  }

  /** Registers; the answer's peers, ttl, and (from servers that send it) how many are registered. */
  async register(
    swarmId: string, peer: { id: string; host?: string; port: number }, progress?: TopologyProgress, file?: SwarmFile,
  ): Promise<{ peers: TopologyPeer[]; ttl: number; count?: number }> {
    const body = JSON.stringify({ id: peer.id, ...(peer.host !== undefined && { host: peer.host }), port: peer.port, ...(progress && { progress }), ...file });
    const answer = await this.request('POST', `v1/swarms/${encodeURIComponent(swarmId)}/peers`, body);
    if (peer.host !== undefined) this.hosts.set(`${swarmId}/${peer.id}`, peer.host);
    const obj = asObject(answer);
    const ttl = obj?.ttl;
    if (!obj || !Array.isArray(obj.peers) || typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
      throw this.malformed('a registration answer without a peers list and a positive ttl');
    }
    const self = peer.id.toLowerCase();
    const seen = new Set<string>();
    const peers: TopologyPeer[] = [];
    for (const item of obj.peers) {
      if (peers.length >= this.maxPeers) break;
      const p = peerOf(item);
      if (p && p.id !== self && !seen.has(p.id)) {
        seen.add(p.id);
        peers.push(p);
      }
    }
    // An optional field (PROTOCOL.md §3 adds nothing; README protocol notes): ignored unless a sane count.
    const count = obj.count;
    const valid = typeof count === 'number' && Number.isSafeInteger(count) && count >= 1 && count < 2 ** 32;
    return valid ? { peers, ttl, count } : { peers, ttl };
  }

  async deregister(swarmId: string, id: string): Promise<void> {
    const key = `${swarmId}/${id}`;
    const host = this.hosts.get(key);
    const query = host === undefined ? '' : `?host=${encodeURIComponent(host)}`;
    await this.request('DELETE', `v1/swarms/${encodeURIComponent(swarmId)}/peers/${encodeURIComponent(id)}${query}`);
    this.hosts.delete(key);
  }

  async count(swarmId: string): Promise<number> {
    const answer = asObject(await this.request('GET', `v1/swarms/${encodeURIComponent(swarmId)}`));
    const n = answer?.peers;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw this.malformed('a count that is not a whole number');
    return n;
  }

  /** The parsed JSON answer (undefined for an empty one); throws on any failure. */
  private async request(method: string, path: string, body?: string): Promise<unknown> {
    const url = new URL(path, this.base);
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let res: HttpResponse;
    let text: string;
    for (let attempt = 0; ; attempt++) {
      try {
        res = await httpRequest({
          origin: url.origin, path: url.pathname + url.search, method, headers,
          signal: AbortSignal.timeout(this.timeoutMs), ...(body !== undefined && { body }),
        });
        text = await readLimited(res, MAX_ANSWER_BYTES);
      } catch (err) {
        throw new SlurpieError('TOPOLOGY_UNREACHABLE', `topology server ${this.base.origin}: ${method} ${url.pathname} failed: ${causeOf(err, this.timeoutMs)}`, { cause: err });
      }
      // Too fast for the server (a crowd behind one NAT starting together): wait as told, if briefly.
      const wait = res.statusCode === 429 ? retryAfterMs(firstHeader(res, 'retry-after')) : undefined;
      if (wait === undefined || wait > this.maxRetryWaitMs || attempt >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    if (res.statusCode < 200 || res.statusCode > 299) {
      const said = asObject(tryParse(text))?.error;
      const detail = typeof said === 'string' ? `: ${oneLine(said)}` : '';
      throw new SlurpieError('TOPOLOGY_UNREACHABLE', `topology server ${this.base.origin}: ${method} ${url.pathname} answered ${res.statusCode}${detail}`);
    }
    if (text === '') return undefined;
    const parsed = tryParse(text);
    if (parsed === undefined) throw this.malformed('an answer that is not JSON');
    return parsed;
  }

  private malformed(what: string): SlurpieError {
    return new SlurpieError('TOPOLOGY_UNREACHABLE', `topology server ${this.base.origin} sent ${what}`);
  }
}

/** Retry-After in delay-seconds (the only form the topology server sends), as ms. */
function retryAfterMs(value: string | undefined): number | undefined {
  return value !== undefined && /^\d{1,6}$/.test(value.trim()) ? Number(value.trim()) * 1000 : undefined;
}

function peerOf(item: unknown): TopologyPeer | undefined {
  const o = asObject(item);
  if (!o) return undefined;
  const { id, host, port } = o;
  if (typeof id !== 'string' || !PEER_ID.test(id)) return undefined;
  if (typeof host !== 'string' || host.length === 0 || host.length > 255 || /[\s/@?#]/.test(host)) return undefined;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { id, host, port };
}

function firstHeader(res: HttpResponse, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readLimited(res: HttpResponse, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += (chunk as Buffer).byteLength;
    if (total > limit) {
      res.body.on('error', () => {}); // a destroy may report itself as an error
      res.body.destroy();
      throw new Error(`answer larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function causeOf(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  // Some errors wrap the socket error, with the useful part in .cause.
  const inner = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = (inner as { code?: unknown } | undefined)?.code;
  const message = inner instanceof Error ? inner.message : String(inner);
  return oneLine(typeof code === 'string' && !message.includes(code) ? `${code} ${message}` : message);
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
}

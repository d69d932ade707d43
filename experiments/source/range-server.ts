// A plain HTTP/1.1 origin for tests, the demo and experiments: one file, HEAD and GET,
// single byte ranges, strong validators, If-Range, and one shared egress rate limit that
// stands in for a slow uplink. It counts what it sends so experiments can report the
// load on the source.
//
// Choices where HTTP leaves room:
// - A multi-range request (`bytes=0-1,5-9`) or a malformed Range is ignored: 200, full body.
// - If-Range takes a strong ETag (exact match) or an HTTP date equal to Last-Modified to the
//   second; anything else (weak ETag, other date) means "changed" and gets 200, full body.
// - A served file is opened once per request and re-stat'ed, so its ETag follows the file
//   on disk; each response reads only from its own handle (a file that shrinks under it is
//   cut off, never padded). replace() swaps in bytes held in memory; responses already
//   running keep sending the old version.
// - stats().requests counts every request except /_stats; bytesSent counts body bytes of the
//   file only (not the .sha256 sidecar); rangeRequests counts GETs answered 206.
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { TokenBucket } from '../../peer/node/token-bucket.ts';

export interface SourceServerOptions {
  file?: string;
  /** Served from memory; the server keeps this reference, so do not mutate it (use replace()). */
  data?: Uint8Array;
  /** URL path of the file; default the file's basename, or "file.bin" for data. */
  name?: string;
  /** Egress limit in bytes/s over all connections; undefined = unlimited. */
  rate?: number;
  host?: string;
  port?: number;
  /** Default true; false ignores Range/If-Range, answers 200 full body, no Accept-Ranges. */
  ranges?: boolean;
  /** Default true; false sends no ETag (clients fall back to Last-Modified). */
  etag?: boolean;
  /** Serve /<name>.sha256 containing "<hex>  <name>\n". */
  sha256File?: boolean;
  /** Answer 503 to the first N GETs of the file, for retry tests. */
  failFirst?: number;
  /** Experiment-only emulated latency: ms to wait before answering a client (response-delay.ts). */
  responseDelayMs?: (remoteAddress: string | undefined) => number;
}

export interface SourceStats {
  bytesSent: number;
  requests: number;
  rangeRequests: number;
  concurrent: number;
  peakConcurrent: number;
  byStatus: Record<string, number>;
}

export interface LoggedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

export interface SourceServer {
  /** Full URL of the file. */
  url: string;
  port: number;
  stats(): SourceStats;
  /** The last 1000 requests counted in stats().requests, oldest first: what clients send. */
  requestLog(): LoggedRequest[];
  /** New content (a string is taken as UTF-8 text): new strong ETag and Last-Modified. */
  replace(data: Uint8Array | string): Promise<void>;
  close(): Promise<void>;
}

type Content =
  | { kind: 'file'; path: string }
  | { kind: 'data'; bytes: Uint8Array; etag: string; lastModified: Date; sha256: string };

/** One version of the content, fixed for the life of one response. */
interface Snapshot {
  size: number;
  etag: string;
  lastModified: Date;
  read(offset: number, length: number): Promise<Uint8Array>;
  sha256(): Promise<string>;
  close(): Promise<void>;
}

const MAX_CHUNK = 64 * 1024;
const MIN_CHUNK = 1024;

export async function startSourceServer(opts: SourceServerOptions): Promise<SourceServer> {
  if ((opts.file === undefined) === (opts.data === undefined)) throw new Error('startSourceServer: give exactly one of file or data');
  if (opts.rate !== undefined && !(Number.isFinite(opts.rate) && opts.rate > 0)) {
    throw new Error(`startSourceServer: rate must be a positive number of bytes per second, got ${opts.rate}`);
  }
  const failFirst = opts.failFirst ?? 0;
  if (!(Number.isInteger(failFirst) && failFirst >= 0)) throw new Error(`startSourceServer: failFirst must be a whole number, got ${failFirst}`);
  const name = opts.name ?? (opts.file !== undefined ? basename(opts.file) : 'file.bin');
  if (name === '' || name.includes('/')) throw new Error(`startSourceServer: name must be one non-empty path segment, got "${name}"`);
  const ranges = opts.ranges ?? true;
  const sendEtag = opts.etag ?? true;
  const sha256File = opts.sha256File ?? false;

  let generation = 0;
  let content: Content;
  if (opts.file !== undefined) {
    const st = await stat(opts.file).catch((err: unknown) => {
      throw new Error(`cannot read ${opts.file}: ${(err as Error).message}`);
    });
    if (!st.isFile()) throw new Error(`cannot serve ${opts.file}: not a regular file`);
    content = { kind: 'file', path: opts.file };
  } else {
    content = dataContent(opts.data as Uint8Array, 0, lastModifiedAfter(undefined));
  }

  // Whole-file digests of served files, by ETag (hashing 512 MiB takes a second or two).
  const fileDigests = new Map<string, Promise<string>>();

  async function snapshot(): Promise<Snapshot> {
    const c = content;
    if (c.kind === 'data') {
      return {
        size: c.bytes.length,
        etag: c.etag,
        lastModified: c.lastModified,
        read: async (offset, length) => c.bytes.subarray(offset, offset + length),
        sha256: async () => c.sha256,
        close: async () => {},
      };
    }
    const fh = await open(c.path, 'r');
    try {
      const st = await fh.stat({ bigint: true });
      const size = Number(st.size);
      const etag = `"f${st.size.toString(16)}-${st.mtimeNs.toString(16)}"`;
      return {
        size,
        etag,
        lastModified: new Date(Number(st.mtimeMs)),
        read: (offset, length) => readExactly(fh, offset, length),
        sha256: () => {
          let digest = fileDigests.get(etag);
          if (digest === undefined) {
            digest = hashFile(fh, size);
            fileDigests.set(etag, digest);
            digest.catch(() => fileDigests.delete(etag));
          }
          return digest;
        },
        close: () => fh.close(),
      };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  if (sha256File) {
    const snap = await snapshot();
    try {
      await snap.sha256();
    } finally {
      await snap.close();
    }
  }

  const bucket = opts.rate !== undefined ? new TokenBucket({ rate: opts.rate }) : null;
  // Chunks well under the burst: tokens keep accruing while a late timer wakes us, instead of
  // overflowing a full bucket (chunk = burst lost ~20% of the rate to timer lateness).
  const chunkSize = bucket ? Math.max(MIN_CHUNK, Math.min(MAX_CHUNK, Math.floor(bucket.burst / 4))) : MAX_CHUNK;

  const counters = { bytesSent: 0, requests: 0, rangeRequests: 0, concurrent: 0, peakConcurrent: 0 };
  const byStatus: Record<string, number> = {};
  let getsSeen = 0;
  const requestLog: LoggedRequest[] = [];

  const stats = (): SourceStats => ({ ...counters, byStatus: { ...byStatus } });

  function writeHead(res: ServerResponse, status: number, headers: OutgoingHttpHeaders): void {
    byStatus[String(status)] = (byStatus[String(status)] ?? 0) + 1;
    res.writeHead(status, headers);
  }

  function sendText(res: ServerResponse, status: number, text: string, extra: OutgoingHttpHeaders = {}): void {
    const body = Buffer.from(text);
    writeHead(res, status, { ...extra, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let path: string;
    let rawPath: string;
    try {
      rawPath = new URL(req.url ?? '/', 'http://source.invalid').pathname;
      path = decodeURIComponent(rawPath);
    } catch {
      counters.requests++;
      sendText(res, 400, 'bad request path\n');
      return;
    }
    if (path === '/_stats') {
      const body = Buffer.from(JSON.stringify(stats()));
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    counters.requests++;
    requestLog.push({ method: req.method ?? '', path: rawPath, headers: { ...req.headers } });
    if (requestLog.length > 1000) requestLog.shift();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'only GET and HEAD\n', { Allow: 'GET, HEAD' });
      return;
    }
    if (rawPath.startsWith('/redirect/')) {
      writeHead(res, 302, { Location: rawPath.slice('/redirect'.length), 'Content-Length': 0 });
      res.end();
      return;
    }
    if (path === `/${name}`) {
      await serveFile(req, res);
      return;
    }
    if (sha256File && path === `/${name}.sha256`) {
      const snap = await snapshot();
      try {
        sendText(res, 200, `${await snap.sha256()}  ${name}\n`);
      } finally {
        await snap.close();
      }
      return;
    }
    sendText(res, 404, 'not found\n');
  }

  async function serveFile(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET' && getsSeen++ < failFirst) {
      sendText(res, 503, 'try again\n');
      return;
    }
    const snap = await snapshot();
    try {
      const headers: OutgoingHttpHeaders = {
        'Content-Type': 'application/octet-stream',
        'Last-Modified': snap.lastModified.toUTCString(),
      };
      if (sendEtag) headers['ETag'] = snap.etag;
      if (ranges) headers['Accept-Ranges'] = 'bytes';
      let start = 0;
      let end = snap.size; // exclusive
      let status = 200;
      const rangeHeader = req.headers.range;
      if (ranges && rangeHeader !== undefined && ifRangeMatches(firstValue(req.headers['if-range']), snap, sendEtag)) {
        const range = parseRange(rangeHeader, snap.size);
        if (range === 'unsatisfiable') {
          sendText(res, 416, 'range not satisfiable\n', { ...headers, 'Content-Range': `bytes */${snap.size}` });
          return;
        }
        if (range !== null) {
          [start, end] = range;
          status = 206;
          headers['Content-Range'] = `bytes ${start}-${end - 1}/${snap.size}`;
        }
      }
      headers['Content-Length'] = end - start;
      writeHead(res, status, headers);
      if (req.method === 'HEAD' || end === start) {
        res.end();
        return;
      }
      if (status === 206) counters.rangeRequests++;
      await streamBody(res, snap, start, end);
    } finally {
      await snap.close();
    }
  }

  async function streamBody(res: ServerResponse, snap: Snapshot, start: number, end: number): Promise<void> {
    counters.concurrent++;
    counters.peakConcurrent = Math.max(counters.peakConcurrent, counters.concurrent);
    const gone = new AbortController();
    const onClose = (): void => gone.abort();
    res.on('close', onClose);
    try {
      for (let pos = start; pos < end && !gone.signal.aborted; ) {
        const n = Math.min(chunkSize, end - pos);
        if (bucket) await bucket.take(n, gone.signal);
        const chunk = await snap.read(pos, n);
        if (gone.signal.aborted) break;
        if (chunk.length !== n) {
          res.destroy(); // the file shrank under us: cut rather than send a mixed body
          return;
        }
        counters.bytesSent += n;
        pos += n;
        if (!res.write(chunk)) await drained(res, gone.signal);
      }
      if (!gone.signal.aborted) res.end();
    } catch (err) {
      if (!gone.signal.aborted) res.destroy(err as Error);
    } finally {
      res.off('close', onClose);
      counters.concurrent--;
    }
  }

  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendText(res, 500, `${(err as Error).message.replace(/\s+/g, ' ')}\n`);
      else res.destroy();
    });
  };
  const server = createServer((req, res) => {
    const wait = opts.responseDelayMs?.(req.socket.remoteAddress) ?? 0;
    if (wait > 0) setTimeout(() => void (req.socket.destroyed || answer(req, res)), wait); // a client gone meanwhile gets nothing
    else answer(req, res);
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}/${encodeURIComponent(name)}`,
    port,
    stats,
    requestLog: () => [...requestLog],
    replace: async (data) => {
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      const previous = content.kind === 'data' ? content.lastModified : undefined;
      generation++;
      content = dataContent(bytes, generation, lastModifiedAfter(previous));
    },
    close: () =>
      new Promise<void>((resolve) => {
        bucket?.cancelAll(new Error('server closing'));
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function dataContent(bytes: Uint8Array, generation: number, lastModified: Date): Content {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  // Content hash for stability across restarts; generation so every replace() is a new version.
  return { kind: 'data', bytes, sha256, lastModified, etag: `"d${sha256.slice(0, 20)}-${generation}"` };
}

/** Whole seconds (HTTP dates have no more), strictly after the previous version's. */
function lastModifiedAfter(previous: Date | undefined): Date {
  const now = Math.floor(Date.now() / 1000) * 1000;
  return new Date(previous === undefined ? now : Math.max(now, previous.getTime() + 1000));
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function ifRangeMatches(value: string | undefined, snap: Snapshot, sendEtag: boolean): boolean {
  if (value === undefined) return true;
  const v = value.trim();
  if (v.startsWith('W/')) return false;
  if (v.startsWith('"')) return sendEtag && v === snap.etag;
  const date = Date.parse(v);
  return Number.isFinite(date) && Math.floor(date / 1000) === Math.floor(snap.lastModified.getTime() / 1000);
}

/**
 * One byte range as [start, end) clipped to the size; null when the header is to be
 * ignored (malformed, or several ranges); 'unsatisfiable' for 416.
 */
export function parseRange(header: string, size: number): [number, number] | 'unsatisfiable' | null {
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return null;
  const specs = (m[1] ?? '').split(',').filter((s) => s.trim() !== '');
  if (specs.length !== 1) return null;
  const r = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(specs[0] ?? '');
  if (!r) return null;
  const [, first = '', last = ''] = r;
  if (first === '' && last === '') return null;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size];
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return [start, last === '' ? size : Math.min(Number(last) + 1, size)];
}

async function readExactly(fh: FileHandle, offset: number, length: number): Promise<Uint8Array> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

async function hashFile(fh: FileHandle, size: number): Promise<string> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  for (let pos = 0; pos < size; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
    if (bytesRead === 0) throw new Error('the file shrank while being hashed');
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return hash.digest('hex');
}

/** Resolves on 'drain', or when the response closes / the signal aborts. */
function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    if (signal.aborted) return resolve();
    res.on('drain', done);
    signal.addEventListener('abort', done);
  });
}

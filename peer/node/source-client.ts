// The peer's side of the HTTP source (PROTOCOL.md §2, §6): a HEAD that fixes the swarm's
// identity, Range GETs pinned to that version with If-Range, and a plain GET for sources
// that cannot do ranges. One keep-alive pool per origin, reused by every request.
//
// Retries: a 5xx or a network failure is retried with exponential backoff and jitter, but
// only while nothing has been handed to the caller; after that the caller re-plans (blocks
// already delivered stay delivered). An aborted signal rejects with the signal's reason.
import { STATUS_CODES } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { SlurpieError } from '../errors.ts';

export interface SourceInfo {
  /** Final URL after following redirects (at most 5). */
  url: string;
  size: number | null;
  /** Strong ETag (never W/), else Last-Modified, else null. */
  validator: string | null;
  /** Accept-Ranges: bytes (or a 206 seen) and a known size. */
  ranges: boolean;
  /** From URL.sha256 when the source serves one: 64 lowercase hex. */
  sha256?: string;
}

/** Waits `ms`; rejects if the signal aborts. Injectable so tests need not sleep. */
export type Delay = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface RetryOptions {
  signal?: AbortSignal;
  /** Retries after the first try (default 2: three tries in all). */
  retries?: number;
  /** First backoff; doubles each retry, with jitter (default 200 ms). */
  retryBaseMs?: number;
  delay?: Delay;
}

export interface ProbeOptions extends RetryOptions {
  /** Per try: connect, redirects and headers (default 15 s). */
  timeoutMs?: number;
}

export interface FetchOptions extends RetryOptions {
  /** Longest wait for headers or for the next body bytes (default 30 s). */
  idleTimeoutMs?: number;
  /** The idle watchdog's timer (default the real one); injectable so tests need not wait. */
  timers?: WatchdogTimers;
}

export interface WatchdogTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: WatchdogTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

const MAX_REDIRECTS = 5;
const SIDECAR_MAX_BYTES = 4096;
const DEFAULT_PROBE_TIMEOUT_MS = 15_000;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

const pools = new Map<string, Pool>();

function poolFor(url: URL): Pool {
  let pool = pools.get(url.origin);
  if (pool === undefined) {
    // Body timeouts are ours (an idle watchdog that pauses while the caller is busy).
    pool = new Pool(url.origin, { keepAliveTimeout: 10_000, connectTimeout: 10_000, bodyTimeout: 0 });
    pools.set(url.origin, pool);
  }
  return pool;
}

/** Closes every keep-alive pool; requests still running fail. */
export async function closeSourceClients(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((pool) => pool.destroy().catch(() => {})));
}

export async function probeSource(url: string, opts: ProbeOptions = {}): Promise<SourceInfo> {
  const start = parseSourceUrl(url);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const found = await withRetries(opts, async () => {
    const signal = withTimeout(opts.signal, timeoutMs);
    try {
      let { url: final, res } = await requestFollowing(start, 'HEAD', {}, signal, timeoutMs);
      let headAnswered = true;
      if (res.statusCode === 405 || res.statusCode === 501) {
        discard(res, true);
        ({ url: final, res } = await requestFollowing(final, 'GET', { range: 'bytes=0-0' }, signal, timeoutMs));
        headAnswered = false;
      }
      discard(res, headAnswered);
      failOnStatus(res, final);
      if (res.statusCode !== 200 && res.statusCode !== 206) {
        throw new SlurpieError('SOURCE_HTTP', `source answered ${statusLine(res.statusCode)} to a probe of ${final}`);
      }
      const described = describe(final, res);
      // Many servers honor Range without saying so on HEAD: ask for one byte to find out,
      // rather than falling back to whole-file downloads for the whole crowd.
      const refused = (header(res, 'accept-ranges') ?? '').toLowerCase().includes('none');
      if (headAnswered && !described.ranges && described.size !== null && !refused) {
        const probe = await requestFollowing(final, 'GET', { range: 'bytes=0-0' }, signal, timeoutMs);
        discard(probe.res, false);
        if (probe.res.statusCode === 206) {
          const viaGet = describe(probe.url, probe.res);
          if (viaGet.size === described.size) return { ...described, ranges: true, validator: described.validator ?? viaGet.validator };
        }
      }
      return described;
    } catch (err) {
      throw asAttemptError(err, opts.signal, start, timeoutMs, 'no answer');
    }
  });
  const sha256 = await fetchSidecar(new URL(found.url), opts.signal, Math.min(timeoutMs, 5000));
  return sha256 === undefined ? found : { ...found, sha256 };
}

export async function fetchBlocks(
  info: SourceInfo,
  first: number,
  count: number,
  blockSize: number,
  onBlock: (index: number, data: Uint8Array) => void | Promise<void>,
  opts: FetchOptions = {},
): Promise<{ bytes: number }> {
  const url = new URL(info.url);
  if (!info.ranges || info.size === null) {
    throw new SlurpieError('BAD_INPUT', `fetchBlocks needs a source with Range support and a known size (${url}); use fetchWhole`);
  }
  const size = info.size;
  if (![first, count, blockSize].every(Number.isSafeInteger) || first < 0 || count < 1 || blockSize < 1 || first * blockSize >= size) {
    throw new SlurpieError('BAD_INPUT', `fetchBlocks: no such blocks: first ${first}, count ${count}, block size ${blockSize}, file ${size} bytes (${url})`);
  }
  const start = first * blockSize;
  const end = Math.min((first + count) * blockSize, size); // exclusive
  const headers: Record<string, string> = { range: `bytes=${start}-${end - 1}` };
  if (info.validator !== null) headers['if-range'] = info.validator;
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  let delivered = 0;

  await withRetries(opts, async () => {
    const watchdog = new Watchdog(idleMs, opts.timers);
    const signal = anySignal(opts.signal, watchdog.signal);
    const caller: { failed: boolean; err?: unknown } = { failed: false };
    let received = 0;
    try {
      const { url: at, res } = await requestFollowing(url, 'GET', headers, signal, idleMs);
      if (res.statusCode !== 206) discard(res);
      checkRangeAnswer(res, at, info, start, end);
      watchdog.arm();
      let index = first;
      let block = Buffer.allocUnsafe(Math.min(blockSize, end - start));
      let filled = 0;
      for await (const raw of res.body) {
        watchdog.arm();
        const chunk = raw as Buffer;
        if (received + chunk.length > end - start) {
          throw new SlurpieError('SOURCE_HTTP', `source sent more than the ${end - start} bytes asked for (${at})`);
        }
        received += chunk.length;
        for (let off = 0; off < chunk.length; ) {
          const n = Math.min(block.length - filled, chunk.length - off);
          chunk.copy(block, filled, off, off + n);
          filled += n;
          off += n;
          if (filled < block.length) continue;
          watchdog.disarm(); // the caller's time is not the source's silence
          try {
            await onBlock(index, block);
          } catch (err) {
            caller.failed = true;
            caller.err = err;
            throw err;
          }
          delivered += block.length;
          watchdog.arm();
          index++;
          const next = start + (index - first) * blockSize;
          if (next < end) block = Buffer.allocUnsafe(Math.min(blockSize, end - next));
          filled = 0;
        }
      }
      watchdog.disarm();
      if (received < end - start) throw new ShortBody();
    } catch (err) {
      watchdog.disarm();
      if (caller.failed) throw caller.err;
      throw asBodyError(err, opts.signal, watchdog, url, received, end - start, delivered === 0);
    }
  });
  return { bytes: end - start };
}

export async function fetchWhole(
  info: SourceInfo,
  onData: (offset: number, chunk: Uint8Array) => void | Promise<void>,
  opts: FetchOptions = {},
): Promise<{ bytes: number }> {
  const url = new URL(info.url);
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  let offset = 0;
  await withRetries(opts, async () => {
    const watchdog = new Watchdog(idleMs, opts.timers);
    const signal = anySignal(opts.signal, watchdog.signal);
    const caller: { failed: boolean; err?: unknown } = { failed: false };
    try {
      const { url: at, res } = await requestFollowing(url, 'GET', {}, signal, idleMs);
      if (res.statusCode !== 200) discard(res);
      failOnStatus(res, at);
      if (res.statusCode !== 200) throw new SlurpieError('SOURCE_HTTP', `source answered ${statusLine(res.statusCode)} to a plain GET of ${at}`);
      const changed = changedValidator(res, info);
      if (changed !== null) {
        cut(res);
        throw changedError(info, changed, at);
      }
      watchdog.arm();
      for await (const raw of res.body) {
        watchdog.disarm();
        const chunk = raw as Buffer;
        if (info.size !== null && offset + chunk.length > info.size) {
          throw new SlurpieError('SOURCE_HTTP', `source sent more than the ${info.size} bytes it announced (${at})`);
        }
        try {
          await onData(offset, chunk);
        } catch (err) {
          caller.failed = true;
          caller.err = err;
          throw err;
        }
        offset += chunk.length;
        watchdog.arm();
      }
      watchdog.disarm();
      if (info.size !== null && offset < info.size) throw new ShortBody();
    } catch (err) {
      watchdog.disarm();
      if (caller.failed) throw caller.err;
      throw asBodyError(err, opts.signal, watchdog, url, offset, info.size, offset === 0);
    }
  });
  return { bytes: offset };
}

// ---- one request, redirects, statuses ----

type Response = Dispatcher.ResponseData;

async function requestFollowing(
  start: URL,
  method: 'HEAD' | 'GET',
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
  headersTimeout: number,
): Promise<{ url: URL; res: Response }> {
  let url = start;
  for (let hops = 0; ; hops++) {
    const res = await poolFor(url).request({ path: url.pathname + url.search, method, headers, signal, headersTimeout });
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

/** 5xx: worth another try; other 4xx/5xx: final. */
function failOnStatus(res: Response, url: URL): void {
  if (res.statusCode < 400) return;
  const err = new SlurpieError('SOURCE_HTTP', `source answered ${statusLine(res.statusCode)} for ${url}`);
  throw res.statusCode >= 500 ? new Retryable(err) : err;
}

function describe(url: URL, res: Response): SourceInfo {
  let size: number | null;
  let ranges: boolean;
  if (res.statusCode === 206) {
    const cr = parseContentRange(header(res, 'content-range'));
    size = cr?.total ?? null;
    ranges = size !== null;
  } else {
    size = parseLength(header(res, 'content-length'));
    const accept = (header(res, 'accept-ranges') ?? '').toLowerCase().split(',').map((s) => s.trim());
    ranges = accept.includes('bytes') && size !== null;
  }
  return { url: url.href, size, validator: validatorOf(res), ranges };
}

function checkRangeAnswer(res: Response, url: URL, info: SourceInfo, start: number, end: number): void {
  if (res.statusCode === 206) {
    const cr = parseContentRange(header(res, 'content-range'));
    if (cr === null) throw new SlurpieError('SOURCE_HTTP', `source answered 206 without a usable Content-Range for ${url}`);
    if (cr.total !== null && cr.total !== info.size) {
      throw new SlurpieError('SOURCE_CHANGED', `the file changed at the source (size ${info.size} -> ${cr.total}) — aborting so versions are not mixed (${url})`);
    }
    const changed = changedValidator(res, info);
    if (changed !== null) throw changedError(info, changed, url);
    if (cr.first !== start || cr.last !== end - 1) {
      throw new SlurpieError('SOURCE_HTTP', `source answered bytes ${cr.first}-${cr.last} when asked for ${start}-${end - 1} (${url})`);
    }
    return;
  }
  if (res.statusCode === 200) {
    const now = validatorOf(res);
    if (now !== null && now === info.validator) {
      throw new SlurpieError('SOURCE_HTTP', `source answered 200 to a Range request for an unchanged file — it no longer honors Range (${url})`);
    }
    throw changedError(info, now ?? 'none', url);
  }
  if (res.statusCode === 416) {
    const m = /^bytes\s+\*\/(\d{1,16})$/i.exec(header(res, 'content-range') ?? '');
    if (m && Number(m[1]) !== info.size) {
      throw new SlurpieError('SOURCE_CHANGED', `the file changed at the source (size ${info.size} -> ${m[1]}) — aborting so versions are not mixed (${url})`);
    }
  }
  failOnStatus(res, url);
  throw new SlurpieError('SOURCE_HTTP', `source answered ${statusLine(res.statusCode)} to a Range request for ${url}`);
}

/** The response's validator when it contradicts the one the swarm is pinned to, else null. */
function changedValidator(res: Response, info: SourceInfo): string | null {
  if (info.validator === null) return null;
  const pinnedIsEtag = info.validator.startsWith('"');
  const now = pinnedIsEtag ? header(res, 'etag') : header(res, 'last-modified');
  if (now === undefined || now === info.validator) return null;
  return now;
}

function changedError(info: SourceInfo, now: string, url: URL): SlurpieError {
  const kind = info.validator?.startsWith('"') ? 'ETag' : 'Last-Modified';
  return new SlurpieError(
    'SOURCE_CHANGED',
    `the file changed at the source (${kind} ${clean(info.validator ?? 'none')} -> ${clean(now)}) — aborting so versions are not mixed (${url})`,
  );
}

// ---- the URL.sha256 sidecar: a hint, never a reason to fail ----

async function fetchSidecar(fileUrl: URL, userSignal: AbortSignal | undefined, timeoutMs: number): Promise<string | undefined> {
  const url = new URL(fileUrl);
  url.pathname += '.sha256';
  url.search = '';
  url.hash = '';
  try {
    const { res } = await requestFollowing(url, 'GET', {}, withTimeout(userSignal, timeoutMs), timeoutMs);
    if (res.statusCode !== 200) {
      discard(res);
      return undefined;
    }
    let text = '';
    for await (const chunk of res.body) {
      text += (chunk as Buffer).toString('latin1');
      if (text.length > SIDECAR_MAX_BYTES) {
        cut(res);
        return undefined;
      }
    }
    return parseSidecar(text, decodeURIComponent(fileUrl.pathname.split('/').pop() ?? ''));
  } catch {
    if (userSignal?.aborted) throw userSignal.reason;
    return undefined;
  }
}

/** "<hex>  <name>" lines (sha256sum format) or a bare hex digest. */
export function parseSidecar(text: string, name: string): string | undefined {
  const entries: { hex: string; name: string | undefined }[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const m = /^\s*([0-9a-fA-F]{64})(?:\s+\*?(.+?))?\s*$/.exec(line);
    if (!m) return undefined;
    entries.push({ hex: (m[1] as string).toLowerCase(), name: m[2] });
  }
  if (entries.length === 1) return entries[0]?.hex;
  return entries.find((e) => e.name === name)?.hex;
}

// ---- retries, timeouts, errors ----

/** A failure that another try may fix. */
class Retryable extends Error {
  constructor(readonly error: SlurpieError) {
    super(error.message);
  }
}

class ShortBody extends Error {}

async function withRetries<T>(opts: RetryOptions, attempt: () => Promise<T>): Promise<T> {
  const retries = opts.retries ?? 2;
  const base = opts.retryBaseMs ?? 200;
  const delay = opts.delay ?? defaultDelay;
  for (let tried = 0; ; tried++) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof Retryable)) throw err;
      if (tried >= retries) throw err.error;
      const ms = base * 2 ** tried * (0.5 + Math.random() / 2);
      try {
        await delay(ms, opts.signal);
      } catch (delayErr) {
        throw opts.signal?.aborted ? opts.signal.reason : delayErr;
      }
    }
  }
}

const defaultDelay: Delay = (ms, signal) => sleep(ms, undefined, signal ? { signal } : {});

/** Errors before the body: the caller's abort stays an abort; the rest is "unreachable". */
function asAttemptError(err: unknown, userSignal: AbortSignal | undefined, url: URL, timeoutMs: number, what: string): unknown {
  if (userSignal?.aborted) return userSignal.reason;
  if (err instanceof SlurpieError || err instanceof Retryable) return err;
  const reason = isTimeout(err) ? `${what} within ${seconds(timeoutMs)}` : describeNetworkError(err);
  return new Retryable(new SlurpieError('SOURCE_UNREACHABLE', `cannot reach the source at ${url}: ${reason}`, { cause: err }));
}

function asBodyError(
  err: unknown,
  userSignal: AbortSignal | undefined,
  watchdog: Watchdog,
  url: URL,
  received: number,
  expected: number | null,
  retryable: boolean,
): unknown {
  if (userSignal?.aborted) return userSignal.reason;
  if (err instanceof SlurpieError || err instanceof Retryable) return err;
  const of = expected === null ? '' : ` of ${expected}`;
  let message: string;
  if (watchdog.fired) message = `the source went silent for ${seconds(watchdog.ms)} after ${received}${of} bytes (${url})`;
  else if (err instanceof ShortBody) message = `the source closed the connection after ${received}${of} bytes (${url})`;
  else if (isTimeout(err)) message = `no answer from the source within ${seconds(watchdog.ms)} (${url})`;
  else message = `cannot reach the source at ${url}: ${describeNetworkError(err)}${received > 0 ? ` (after ${received}${of} bytes)` : ''}`;
  const error = new SlurpieError('SOURCE_UNREACHABLE', message, { cause: err });
  return retryable ? new Retryable(error) : error;
}

function isTimeout(err: unknown): boolean {
  const e = err as { name?: string; code?: string } | null;
  return e?.name === 'TimeoutError' || e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_CONNECT_TIMEOUT';
}

function describeNetworkError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown[] } | null;
  const inner = Array.isArray(e?.errors) ? (e.errors[0] as { code?: unknown } | undefined) : undefined;
  const code = typeof e?.code === 'string' ? e.code : typeof inner?.code === 'string' ? inner.code : undefined;
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  return clean(code !== undefined && !message.includes(code) ? `${code} ${message}` : message);
}

/** Aborts when nothing arrives for `ms`; paused while the caller works on a block. */
class Watchdog {
  private readonly controller = new AbortController();
  private timer: unknown = null;
  fired = false;

  constructor(
    readonly ms: number,
    private readonly timers: WatchdogTimers = realTimers,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  arm(): void {
    this.disarm();
    this.timer = this.timers.setTimeout(() => {
      this.fired = true;
      this.controller.abort(new Error('idle'));
    }, this.ms);
  }

  disarm(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}

function withTimeout(signal: AbortSignal | undefined, ms: number): AbortSignal {
  return anySignal(signal, AbortSignal.timeout(ms));
}

function anySignal(a: AbortSignal | undefined, b: AbortSignal): AbortSignal {
  return a === undefined ? b : AbortSignal.any([a, b]);
}

// ---- small parsers ----

function parseSourceUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SlurpieError('BAD_INPUT', `not a valid URL: "${clean(text)}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SlurpieError('BAD_INPUT', `only http:// and https:// sources are supported, got ${clean(url.protocol)} in ${url}`);
  }
  return url;
}

function header(res: Response, name: string): string | undefined {
  const value = res.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first.trim() === '' ? undefined : first.trim();
}

function validatorOf(res: Response): string | null {
  const etag = header(res, 'etag');
  if (etag !== undefined && !/^W\//i.test(etag)) return etag;
  return header(res, 'last-modified') ?? null;
}

function parseLength(value: string | undefined): number | null {
  if (value === undefined || !/^\d{1,16}$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

function parseContentRange(value: string | undefined): { first: number; last: number; total: number | null } | null {
  const m = value === undefined ? null : /^bytes\s+(\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)$/i.exec(value);
  if (!m) return null;
  const first = Number(m[1]);
  const last = Number(m[2]);
  const total = m[3] === '*' ? null : Number(m[3]);
  if (last < first || (total !== null && last >= total)) return null;
  return { first, last, total };
}

function discard(res: Response, empty = false): void {
  // Small bodies are drained so the connection stays reusable; big ones are cut.
  const length = parseLength(header(res, 'content-length'));
  if (empty || (length !== null && length <= 64 * 1024)) res.body.dump().catch(() => {});
  else cut(res);
}

function cut(res: Response): void {
  res.body.on('error', () => {}); // undici reports its own destroy as an AbortError
  res.body.destroy();
}

function statusLine(code: number): string {
  const text = STATUS_CODES[code];
  return text === undefined ? String(code) : `${code} ${text}`;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** Server-supplied text in a one-line message: no control characters, bounded length. */
function clean(text: string): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return flat.length > 120 ? `${flat.slice(0, 117)}…` : flat;
}

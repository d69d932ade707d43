// Retries against the HTTP source, and which failures deserve one: a 5xx or a network
// failure is Retryable (another try may fix it), anything else is final. withRetries backs
// off exponentially with jitter. The as*Error functions turn what undici throws into the
// SlurpieError a person reads (SOURCE_UNREACHABLE, with the cause), keeping the caller's
// abort an abort. Also the signals that bound one try.

import { setTimeout as sleep } from 'node:timers/promises';
import { SlurpieError } from '../errors.ts';
import type { Delay, RetryOptions, SourceHttp } from './source-client.ts';
import { clean, statusLine, type Response } from './source-http.ts';
import type { Watchdog } from './watchdog.ts';

/** A failure that another try may fix. */
export class Retryable extends Error {
  constructor(readonly error: SlurpieError) {
    super(error.message);
  }
}

/** The body ended before all the bytes it should hold. */
export class ShortBody extends Error {}

export async function withRetries<T>(opts: RetryOptions, attempt: () => Promise<T>): Promise<T> {
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

/** The call's own retry count, else the one the user set for this source. */
export function retryOptions(opts: RetryOptions, http: SourceHttp | undefined): RetryOptions {
  return opts.retries === undefined && http?.retries !== undefined ? { ...opts, retries: http.retries } : opts;
}

const defaultDelay: Delay = (ms, signal) => sleep(ms, undefined, signal ? { signal } : {});

/** 5xx: worth another try; other 4xx/5xx: final. */
export function failOnStatus(res: Response, url: URL): void {
  if (res.statusCode < 400) return;
  const err = new SlurpieError('SOURCE_HTTP', `source answered ${statusLine(res.statusCode)} for ${url}`);
  throw res.statusCode >= 500 ? new Retryable(err) : err;
}

/** Errors before the body: the caller's abort stays an abort; the rest is "unreachable". */
export function asAttemptError(err: unknown, userSignal: AbortSignal | undefined, url: URL, timeoutMs: number, what: string): unknown {
  if (userSignal?.aborted) return userSignal.reason;
  if (err instanceof SlurpieError || err instanceof Retryable) return err;
  const reason = isTimeout(err) ? `${what} within ${seconds(timeoutMs)}` : describeNetworkError(err);
  return new Retryable(new SlurpieError('SOURCE_UNREACHABLE', `cannot reach the source at ${url}: ${reason}`, { cause: err }));
}

export function asBodyError(
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
  // The callers' signals (TimeoutError), then Node's client's timeouts (http-direct.ts) and undici's (behind a proxy).
  return e?.name === 'TimeoutError' || ['HEADERS_TIMEOUT', 'CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'].includes(e?.code ?? '');
}

function describeNetworkError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown[] } | null;
  const inner = Array.isArray(e?.errors) ? (e.errors[0] as { code?: unknown } | undefined) : undefined;
  const code = typeof e?.code === 'string' ? e.code : typeof inner?.code === 'string' ? inner.code : undefined;
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  return clean(code !== undefined && !message.includes(code) ? `${code} ${message}` : message);
}

export function withTimeout(signal: AbortSignal | undefined, ms: number): AbortSignal {
  return anySignal(signal, AbortSignal.timeout(ms));
}

export function anySignal(a: AbortSignal | undefined, b: AbortSignal): AbortSignal {
  return a === undefined ? b : AbortSignal.any([a, b]);
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

// The peer's side of the HTTP source (PROTOCOL.md §2, §6): a HEAD that fixes the swarm's
// identity, Range GETs pinned to that version with If-Range, and a plain GET for sources
// that cannot do ranges. One keep-alive pool per origin, reused by every request. Every
// request starts from the URL as given and follows redirects anew (source-redirects.ts).
//
// Retries: a 5xx or a network failure is retried with exponential backoff and jitter, but
// only while nothing has been handed to the caller; after that the caller re-plans (blocks
// already delivered stay delivered). An aborted signal rejects with the signal's reason.
//
// This file is the client's face: its types and entry points. The work is in source-probe.ts
// (the HEAD), source-get.ts (Range and plain GETs), source-change.ts (is it still the
// pinned version?), source-retry.ts (retries and errors), watchdog.ts (the idle timer),
// source-redirects.ts (where a request goes) and source-http.ts (redirects, reading an answer).

import { closeHttpClients } from './http-client.ts';
import { forgetRedirectTargets } from './source-redirects.ts';
import type { WatchdogTimers } from './watchdog.ts';

/** Closes every keep-alive connection (source and topology server) and forgets redirect targets; requests still running fail. */
export async function closeSourceClients(): Promise<void> {
  forgetRedirectTargets();
  await closeHttpClients();
}

export { fetchBlocks, fetchWhole } from './source-get.ts';
export { parseSidecar, probeSource } from './source-probe.ts';
export type { WatchdogTimers } from './watchdog.ts';

export interface SourceInfo {
  /** The URL as given: every request starts here and follows redirects (at most 5) anew. */
  url: string;
  /** Where the probe's redirects ended, when they went somewhere else (informative only). */
  redirectedTo?: string;
  /** How to talk to this source (headers, timeouts, retries), when not the defaults. */
  http?: SourceHttp;
  size: number | null;
  /** Strong ETag (never W/), else Last-Modified, else null. */
  validator: string | null;
  /** Accept-Ranges: bytes (or a 206 seen) and a known size. */
  ranges: boolean;
  /** From URL.sha256 when the source serves one: 64 lowercase hex. */
  sha256?: string;
}

/** What the user asked of every request to the source (curl's -H, -A, --connect-timeout, --retry). */
export interface SourceHttp {
  /** Lowercase names (request-headers.ts sourceHeaders()); a user-agent here replaces slurpie's. */
  headers?: Record<string, string>;
  connectTimeoutMs?: number;
  /** Retries of a 5xx or network failure, for every request (an explicit RetryOptions.retries wins). */
  retries?: number;
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
  /** Kept in the SourceInfo, so every later request to the source uses it too. */
  http?: SourceHttp;
  /** Per try: connect, redirects and headers (default 15 s). */
  timeoutMs?: number;
}

export interface FetchOptions extends RetryOptions {
  /** Longest wait for headers or for the next body bytes (default 30 s). */
  idleTimeoutMs?: number;
  /** The idle watchdog's timer (default the real one); injectable so tests need not wait. */
  timers?: WatchdogTimers;
  /** fetchBlocks: the buffer each block is read into (default a new one), e.g. a BlockPool's. */
  allocate?: (length: number) => Buffer;
}

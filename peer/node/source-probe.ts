// The probe that fixes a swarm's identity (PROTOCOL.md §2): a HEAD (or a one-byte GET where
// HEAD is refused) for the size, the validator and whether Range works, with the URL as
// given (not where its redirects led: a signed URL differs for every peer); then the optional URL.sha256 sidecar, a digest hint that is never a reason
// to fail.

import { SlurpieError } from '../errors.ts';
import type { ProbeOptions, SourceHttp, SourceInfo } from './source-client.ts';
import { clean, cut, discard, header, parseContentRange, parseLength, requestFollowing, statusLine, validatorOf, type Response } from './source-http.ts';
import { requestSource } from './source-redirects.ts';
import { asAttemptError, failOnStatus, retryOptions, withRetries, withTimeout } from './source-retry.ts';

const SIDECAR_MAX_BYTES = 4096;
const DEFAULT_PROBE_TIMEOUT_MS = 15_000;

export async function probeSource(url: string, opts: ProbeOptions = {}): Promise<SourceInfo> {
  const start = parseSourceUrl(url);
  const given = start.href;
  const http = opts.http ?? {};
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const ask = (method: 'HEAD' | 'GET', headers: Record<string, string>, signal: AbortSignal): ReturnType<typeof requestSource> =>
    requestSource(given, method, headers, signal, timeoutMs, http);
  const found = await withRetries(retryOptions(opts, http), async () => {
    const signal = withTimeout(opts.signal, timeoutMs);
    try {
      let { url: final, res } = await ask('HEAD', {}, signal);
      let headAnswered = true;
      if (res.statusCode === 405 || res.statusCode === 501) {
        discard(res, true);
        ({ url: final, res } = await ask('GET', { range: 'bytes=0-0' }, signal));
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
        const probe = await ask('GET', { range: 'bytes=0-0' }, signal);
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
  // The identity is the URL as given (PROTOCOL.md §2 as amended in the README's protocol notes).
  const info: SourceInfo = { ...found, url: given };
  if (found.url !== given) info.redirectedTo = found.url;
  if (opts.http !== undefined) info.http = opts.http;
  // Next to the URL as given first (a release's .sha256 asset), else next to where it led.
  const sidecarTimeout = Math.min(timeoutMs, 5000);
  const sha256 =
    (await fetchSidecar(start, opts.signal, sidecarTimeout, http, start.origin)) ??
    (found.url !== given ? await fetchSidecar(new URL(found.url), opts.signal, sidecarTimeout, http, start.origin) : undefined);
  return sha256 === undefined ? info : { ...info, sha256 };
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

// ---- the URL.sha256 sidecar: a hint, never a reason to fail ----

async function fetchSidecar(fileUrl: URL, userSignal: AbortSignal | undefined, timeoutMs: number, http: SourceHttp, givenOrigin: string): Promise<string | undefined> {
  const url = new URL(fileUrl);
  url.pathname += '.sha256';
  url.search = '';
  url.hash = '';
  try {
    const { res } = await requestFollowing(url, 'GET', {}, withTimeout(userSignal, timeoutMs), timeoutMs, http, givenOrigin);
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

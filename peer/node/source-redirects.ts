// Where a request for the source goes (issue #13). Redirects are followed per request, not
// pinned to where the probe ended: a release asset or a presigned object-store link
// redirects to a signed URL that expires. The last redirect target is remembered so that
// block fetches skip the hop; when a remembered target answers 403, 404 or 410 (an expired
// or revoked signature), the URL as given is resolved again and the request retried once.
import type { SourceHttp } from './source-client.ts';
import { discard, requestFollowing, type Response } from './source-http.ts';

const EXPIRED = new Set([403, 404, 410]);

/** The URL as given -> the target its last successful resolution ended at. */
const targets = new Map<string, URL>();

export function forgetRedirectTargets(): void {
  targets.clear();
}

export async function requestSource(
  given: string,
  method: 'HEAD' | 'GET',
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
  headersTimeout: number,
  http: SourceHttp = {},
): Promise<{ url: URL; res: Response }> {
  const start = new URL(given);
  const remembered = targets.get(start.href);
  if (remembered !== undefined) {
    const answer = await requestFollowing(remembered, method, headers, signal, headersTimeout, http, start.origin);
    if (!EXPIRED.has(answer.res.statusCode)) return answer;
    discard(answer.res);
    if (targets.get(start.href) === remembered) targets.delete(start.href);
  }
  const answer = await requestFollowing(start, method, headers, signal, headersTimeout, http);
  if (answer.url.href !== start.href && answer.res.statusCode < 400) targets.set(start.href, answer.url);
  return answer;
}

// Change detection: whether an answer from the source is still the version the swarm is
// pinned to (its size and its validator, from the probe). A Range GET carries If-Range, so
// a changed file comes back as a 200 with the whole new file; any sign of change is
// SOURCE_CHANGED, so blocks of two versions are never mixed in one download.

import { SlurpieError } from '../errors.ts';
import type { SourceInfo } from './source-client.ts';
import { clean, header, parseContentRange, statusLine, validatorOf, type Response } from './source-http.ts';
import { failOnStatus } from './source-retry.ts';

export function checkRangeAnswer(res: Response, url: URL, info: SourceInfo, start: number, end: number): void {
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
export function changedValidator(res: Response, info: SourceInfo): string | null {
  if (info.validator === null) return null;
  const pinnedIsEtag = info.validator.startsWith('"');
  const now = pinnedIsEtag ? header(res, 'etag') : header(res, 'last-modified');
  if (now === undefined || now === info.validator) return null;
  return now;
}

export function changedError(info: SourceInfo, now: string, url: URL): SlurpieError {
  const kind = info.validator?.startsWith('"') ? 'ETag' : 'Last-Modified';
  return new SlurpieError(
    'SOURCE_CHANGED',
    `the file changed at the source (${kind} ${clean(info.validator ?? 'none')} -> ${clean(now)}) — aborting so versions are not mixed (${url})`,
  );
}

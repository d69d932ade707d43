// What a swarm is a download of, for people (the dashboard): the file's name and size.
//
// Swarm ids are opaque (an HMAC of URL, size and validator: swarm-id.ts), so a registration
// may name the file (issue #14; docs/protocol-notes.md). The name is the last path segment of
// the URL, peer-provided and untrusted: the server accepts at most NAME_MAX code points of
// printable text (no control, format or surrogate code points: nothing that can rewrite a
// terminal line or flip text direction) and the dashboard shows it as text, never as markup.
// A peer cleans its name with nameFromUrl() before sending, so a URL with odd characters
// costs only the label, never the registration (a server answers a bad name with 400).

/** Longest name, in code points. */
export const NAME_MAX = 200;

/** Control, format (bidi overrides, zero-width), lone surrogates, private use, unassigned. */
const NOT_PRINTABLE = /\p{C}/u;
const NOT_PRINTABLE_ALL = /\p{C}/gu;

export interface SwarmFile {
  name?: string;
  size?: number; // bytes
}

/** True for a name the server keeps: 1 to NAME_MAX code points of printable text. */
export function isSwarmName(value: unknown): value is string {
  if (typeof value !== 'string' || value.trim() === '' || NOT_PRINTABLE.test(value)) return false;
  return [...value].length <= NAME_MAX;
}

/** The name a peer sends for `url`: its last path segment, decoded and cleaned; undefined if none is left. */
export function nameFromUrl(url: string): string | undefined {
  let segment: string;
  try {
    segment = new URL(url).pathname.split('/').pop() ?? '';
  } catch {
    return undefined;
  }
  try {
    segment = decodeURIComponent(segment);
  } catch {
    // Broken percent-encoding: the raw segment is still a fine label.
  }
  const cleaned = [...segment.replace(NOT_PRINTABLE_ALL, '').trim()].slice(0, NAME_MAX).join('');
  return isSwarmName(cleaned) ? cleaned : undefined;
}

// What a peer sends to the HTTP source besides its own Range and If-Range (issue #13):
// headers the user adds (curl's -H "Name: value") and the User-Agent. Checked before any
// work, so a malformed one is a usage error, not a failed request halfway through.
// Pure: the CLI checks its flags with it before loading anything else.

/** Keep in step with package.json (test/http-options.test.ts checks). */
export const SLURPIE_VERSION = '0.1.0';
export const DEFAULT_USER_AGENT = `slurpie/${SLURPIE_VERSION}`;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Set per request by the client itself, or refused by the HTTP stack (hop-by-hop).
const RESERVED = new Set(['range', 'if-range', 'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'expect', 'te', 'trailer']);

/** "Name: value" as [lowercase name, value], or the reason it cannot be sent. */
export function parseHeaderLine(line: string): { name: string; value: string } | { error: string } {
  const colon = line.indexOf(':');
  if (colon <= 0) return { error: 'must look like "Name: value"' };
  const name = line.slice(0, colon).trim();
  const value = line.slice(colon + 1).trim();
  return checkHeader(name, value);
}

export function checkHeader(name: string, value: string): { name: string; value: string } | { error: string } {
  if (!TOKEN.test(name)) return { error: 'needs a header name of letters, digits and -' };
  if (RESERVED.has(name.toLowerCase())) return { error: `cannot set ${name}: slurpie sets it itself` };
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) return { error: 'must not hold control characters or line breaks' };
  return { name: name.toLowerCase(), value: value.trim() };
}

/**
 * The headers for every request to the source: the user's, then the User-Agent (the user's
 * own User-Agent header wins over `userAgent`, as in curl). Throws the first bad one.
 */
export function sourceHeaders(extra: Record<string, string> | undefined, userAgent: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(extra ?? {})) {
    const checked = checkHeader(name, value);
    if ('error' in checked) throw new Error(`header ${JSON.stringify(name)} ${checked.error}`);
    out[checked.name] = checked.value;
  }
  const agent = userAgent ?? DEFAULT_USER_AGENT;
  const bad = checkHeader('user-agent', agent);
  if ('error' in bad) throw new Error(`user agent ${bad.error}`);
  out['user-agent'] ??= agent;
  return out;
}

// End-to-end integrity: the sha256 of a whole file, and reading the digest a person or a
// `URL.sha256` file gives us.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** A block's digest on the wire (PROTOCOL v3): the first 16 bytes of its SHA-256. */
export function blockDigest(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest().subarray(0, 16));
}

/** Lowercase hex sha256 of a file, streamed (memory does not grow with the file). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

// A `.sha256` file is small; anything bigger is not one.
const MAX_DIGEST_TEXT = 64 * 1024;

// "<hex>", "<hex>  name", "<hex> *name" (binary mode), "\<hex>  name" (escaped name),
// and the BSD form "SHA256 (name) = <hex>".
const GNU_LINE = /^\\?([0-9a-fA-F]{64})(?:[ \t]+\*?(.*))?$/;
const BSD_LINE = /^SHA256 ?\((.*)\) ?= ?([0-9a-fA-F]{64})$/;

/**
 * The lowercase hex digest in `text`: a bare digest or a sha256sum line. When the text
 * lists several files, `fileName` picks the line (by base name); without it the text must
 * hold exactly one digest. Anything else gives null.
 */
export function parseSha256(text: string, fileName?: string): string | null {
  if (text.length > MAX_DIGEST_TEXT) return null;
  const entries: { hex: string; name: string | null }[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const gnu = GNU_LINE.exec(line);
    const bsd = gnu ? null : BSD_LINE.exec(line);
    if (gnu) entries.push({ hex: gnu[1] as string, name: gnu[2]?.trim() || null });
    else if (bsd) entries.push({ hex: bsd[2] as string, name: bsd[1] ?? null });
    else return null;
  }
  if (entries.length === 1) return (entries[0] as { hex: string }).hex.toLowerCase();
  if (entries.length === 0 || fileName === undefined) return null;
  const wanted = baseName(fileName);
  const matches = entries.filter((e) => e.name !== null && baseName(e.name) === wanted);
  return matches.length === 1 ? (matches[0] as { hex: string }).hex.toLowerCase() : null;
}

function baseName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

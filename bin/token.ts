// Bearer tokens on the command line (slurpie topology --token-file, slurpie get
// --topology-token-file or SLURPIE_TOPOLOGY_TOKEN): read, trimmed and checked the same way
// on both ends, so a token one side accepts is one the other sends unchanged.
import { readFileSync } from 'node:fs';

/** The token in `file`; throws a one-line Error naming `flag` if it cannot be read or is not a token. */
export function tokenFromFile(file: unknown, flag: string): string {
  if (typeof file !== 'string' || file === '') throw new Error(`${flag} needs a file name`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return checkToken(text, `${flag} ${file}`);
}

/** `text` without surrounding whitespace, if that is one word of printable ASCII (as a Bearer token must be). */
export function checkToken(text: string, from: string): string {
  const token = text.trim();
  if (!/^[\x21-\x7e]{1,4096}$/.test(token)) throw new Error(`${from} must hold one token of printable ASCII without spaces`);
  return token;
}

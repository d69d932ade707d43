// PROTOCOL.md §2: peers with the same swarm id fetch byte-identical content.
import { createHash } from 'node:crypto';

export function swarmIdFor(url: string, size: number, validator: string | null): string {
  return createHash('sha256').update(`slurpie/1\n${url}\n${size}\n${validator ?? ''}`).digest('hex');
}

// PROTOCOL.md §2: peers with the same swarm id fetch byte-identical content.
// A private swarm (issue #15) mixes its secret in: outsiders cannot compute, find or join
// the id, and the same secret gives the key its peers prove they hold (peer/core/swarm-auth.ts).
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { SwarmAuth } from '../core/swarm-auth.ts';

export function swarmIdFor(url: string, size: number, validator: string | null, secret?: string): string {
  const what = `slurpie/1\n${url}\n${size}\n${validator ?? ''}`;
  if (secret === undefined) return createHash('sha256').update(what).digest('hex');
  return createHmac('sha256', swarmKey(secret)).update(`private\n${what}`).digest('hex');
}

/** The key a private swarm's peers prove they hold: derived from the secret, never sent. */
function swarmKey(secret: string): Buffer {
  return createHash('sha256').update(`slurpie/swarm-key\n${secret}`).digest();
}

/** Nonces and MACs for a private swarm's handshake (the core asks; it never hashes). */
export function swarmAuthFor(secret: string): SwarmAuth {
  const key = swarmKey(secret);
  return {
    nonce: () => new Uint8Array(randomBytes(16)),
    mac: (data) => new Uint8Array(createHmac('sha256', key).update(data).digest()),
  };
}

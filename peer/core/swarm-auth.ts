// Private swarms (issue #15): a peer proves it knows the swarm's secret before it gets a
// single update or block. The swarm id is derived with the secret (peer/node/swarm-id.ts), so
// outsiders cannot find the swarm; this handshake stops one that learns an address and the id.
//
// After its HELLO each side sends CHALLENGE (a fresh 16-byte nonce). On the other's
// CHALLENGE it answers PROOF: HMAC-SHA256 under the swarm key of
//   "slurpie-proof/1" | role (1 dialler, 2 acceptor) | swarm id | their nonce | our nonce.
// The role keeps a proof from being reflected back; the nonces keep it from being replayed.
// The connection opens (connection.ts: proving -> open | neighbor) once we have sent our
// proof and checked theirs. Anything else while proving is a violation (UNAUTHENTICATED), a
// wrong proof is BAD_PROOF. The driver supplies the nonces and the MAC (the core never hashes).
import { digestsEqual } from './digests.ts';

/** What the driver gives a core that belongs to a private swarm. */
export interface SwarmAuth {
  /** 16 random bytes (a nonce). */
  nonce(): Uint8Array;
  /** HMAC-SHA256 of `data` under the swarm's key (32 bytes). */
  mac(data: Uint8Array): Uint8Array;
}

/** One connection's side of the handshake. */
export interface Proving {
  mine: Uint8Array; // the nonce we sent
  theirs: Uint8Array | null; // theirs, once their CHALLENGE came
  sent: boolean; // our PROOF went out
  pending: 'open' | 'neighbor'; // the state the connection takes once both proofs are in
}

export const NONCE_LENGTH = 16;
export const PROOF_LENGTH = 32;
const LABEL = new TextEncoder().encode('slurpie-proof/1');

/** The bytes a side with `role` MACs to prove itself to the side whose nonce is `challenge`. */
export function proofInput(dialler: boolean, swarmId: string, challenge: Uint8Array, own: Uint8Array): Uint8Array {
  const id = new TextEncoder().encode(swarmId);
  const out = new Uint8Array(LABEL.length + 1 + id.length + challenge.length + own.length);
  let at = 0;
  for (const part of [LABEL, Uint8Array.of(dialler ? 1 : 2), id, challenge, own]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Our PROOF for a connection whose CHALLENGE just came. */
export function ourProof(auth: SwarmAuth, swarmId: string, outbound: boolean, p: Proving): Uint8Array {
  return auth.mac(proofInput(outbound, swarmId, p.theirs as Uint8Array, p.mine));
}

/** Whether their PROOF is the one only a holder of the key could make. */
export function proofHolds(auth: SwarmAuth, swarmId: string, outbound: boolean, p: Proving, mac: Uint8Array): boolean {
  if (!p.theirs || mac.length !== PROOF_LENGTH) return false;
  return digestsEqual(auth.mac(proofInput(!outbound, swarmId, p.mine, p.theirs)), mac);
}

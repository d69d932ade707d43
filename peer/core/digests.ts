// Per-block integrity without a metadata file (issue #11). The origin is a bare URL, so no
// one publishes block digests; peers vouch for them instead, and the source settles disputes.
//
// - Every BLOCK carries its sender's digest of the block (the first 16 bytes of SHA-256,
//   computed by the driver; the core never hashes). A BLOCK whose bytes do not match the
//   digest its own sender put on it is BAD_DIGEST: the sender is banned, the bytes dropped.
// - A peer vouches for a block it fetched from the source, or whose digest another peer
//   confirmed: it tells each direct connection (DIGESTS, at most once per `digestEveryMs`)
//   the digests of such blocks it has not told it yet. Those are claims, kept per connection.
// - A block from a peer is checked against the claims of our other direct connections:
//   all that speak agree, it is accepted as witnessed; none speaks, it is accepted on its
//   sender's word (unwitnessed); one disagrees, it is disputed: the bytes are dropped and that
//   one block is fetched from the source (outside the k/n lottery). The source's digest
//   settles it: every claimant that said otherwise is a proven liar, banned, and its other
//   claims are ignored from then on.
// - The final whole-file check (when a sha256 is known) then suspects only unwitnessed blocks
//   and those from banned peers (peer/node/repair.ts).
//
// What an attacker can make the source serve us, in blocks (B bytes each):
// - one liar (wrong bytes, or wrong digests, or both) directly connected to us: at most one
//   dispute, one block, before we ban it; a liar's bytes with a wrong digest on them cost
//   nothing (BAD_DIGEST). Its false claims about blocks we have not fetched cost nothing
//   until someone delivers the block; then one block, and it is banned.
// - c colluding liars connected to us: at most c blocks (each lie that reaches the source
//   bans every liar that told it; test/core-digests.test.ts). But a lie about a block only
//   liars hold, told consistently (bytes, digest, DIGESTS), meets no honest word: it is
//   accepted unwitnessed. Worse, once an honest peer relays such a block, the liar's own
//   DIGESTS witness it for the next one, which then vouches for it too. The whole-file check
//   (when a sha256 is known) catches it, and the repair refetches the blocks no one vouched
//   for, then the other peer-supplied ones: at most one copy per victim. Measured with a liar
//   that holds the whole file before anyone else: 3 honest peers, 3.5 F in all (short row); 8,
//   8.0 F, as bad as plain HTTP (11.0 F before the repair stopped fetching a block twice;
//   `npm run faults -- --only lying-peer-consistent`). Not yet done: dropping a proven liar's blocks (and its witness
//   for others) to fetch them again from honest peers, which would bound this by the blocks
//   it lied about.
// - a Sybil with many ids: only direct connections' claims count, so ids it cannot connect
//   with cost nothing; each connection it holds costs at most one block, as above. It cannot
//   make the settling fetch repeat: one dispute per block is open at a time.
import { clearBit, hasBit, setBit } from './bits.ts';
import type { Conn } from './connection.ts';
import { DIGEST_LENGTH, type BlockDigest, type PeerId } from './messages.ts';
import type { Outbox } from './outbox.ts';
import type { Violation } from './violations.ts';

/** Most digests one DIGESTS message carries (the wire's MAX_DIGESTS_PER_MESSAGE). */
export const MAX_DIGESTS_PER_MESSAGE = 1024;

/** What our other connections say about a block that arrived. */
export type Witness = { verdict: 'witnessed' | 'unwitnessed' } | { verdict: 'disputed'; against: Claim[] };

/** Who said what a block's digest is. */
export interface Claim {
  peerId: PeerId;
  digest: Uint8Array;
}

/**
 * A connection's claims and what we have vouched for to it; made on first use. Honest
 * claims for a block are all the same digest, so a connection keeps only a bit when its
 * claim is the first one we heard for that block (BlockDigests.firstClaim) and a copy only
 * when it differs: a full table per connection was 2 KiB each at 128 blocks, ~20 KiB a peer.
 */
export interface ConnDigests {
  claimed: Uint8Array; // bitfield: a claim is set
  asFirst: Uint8Array; // bitfield: the claim is the block's first claim (firstClaim)
  other: Map<number, Uint8Array> | null; // claims that differ from the first claim
  told: Uint8Array; // bitfield: it has had this block's digest from us, or told us its own
  cursor: number; // our vouched blocks before this place in `ours` have been considered for it
  toldAt: number;
}

export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether the DIGEST_LENGTH bytes of `buf` from `at` are `digest`. */
function digestAt(buf: Uint8Array, at: number, digest: Uint8Array): boolean {
  if (digest.length !== DIGEST_LENGTH) return false;
  for (let i = 0; i < DIGEST_LENGTH; i++) if (buf[at + i] !== digest[i]) return false;
  return true;
}

const EMPTY = new Uint8Array(0);

export function digestHex(d: Uint8Array): string {
  let s = '';
  for (const b of d) s += b.toString(16).padStart(2, '0');
  return s;
}

export class BlockDigests {
  private readonly mine: Uint8Array; // count * DIGEST_LENGTH: digests of blocks we accepted
  private readonly known: Uint8Array; // bitfield: `mine` is set
  private readonly vouch: Uint8Array; // bitfield: we vouch for it (source, or witnessed)
  private readonly firstClaim: Uint8Array; // count * DIGEST_LENGTH: the first claim heard for each block, from anyone
  private readonly firstClaimed: Uint8Array; // bitfield: `firstClaim` is set
  private readonly ours: number[] = []; // vouched blocks in the order we got them (announce scans it)
  private readonly conns = new WeakMap<Conn, ConnDigests>();
  /** Blocks being settled at the source: index -> each digest claimed and who claimed it. */
  private readonly disputes = new Map<number, Map<string, PeerId[]>>();
  /** Proven by the source to have lied about a block (to us). */
  readonly liars = new Set<PeerId>();
  disputesOpened = 0; // stats: blocks fetched from the source to settle one
  badDigests = 0; // stats: BLOCKs whose bytes did not match their own digest
  conflicts = 0; // stats: claims that contradict a block we already hold (the final check decides)

  constructor(readonly count: number) {
    const bytes = Math.ceil(count / 8);
    this.mine = new Uint8Array(count * DIGEST_LENGTH);
    this.known = new Uint8Array(bytes);
    this.vouch = new Uint8Array(bytes);
    this.firstClaim = new Uint8Array(count * DIGEST_LENGTH);
    this.firstClaimed = new Uint8Array(bytes);
  }

  /** The digest we accepted for a block, if any (a resumed block has none: the driver hashes it). */
  of(index: number): Uint8Array | undefined {
    if (!hasBit(this.known, index)) return undefined;
    return this.mine.subarray(index * DIGEST_LENGTH, (index + 1) * DIGEST_LENGTH);
  }

  /** A block was accepted with this digest; `vouched` when it came from the source or was witnessed. */
  record(index: number, digest: Uint8Array, vouched: boolean): void {
    this.mine.set(digest, index * DIGEST_LENGTH);
    setBit(this.known, index);
    if (vouched && !hasBit(this.vouch, index)) {
      setBit(this.vouch, index);
      this.ours.push(index);
    }
  }

  /** DIGESTS from a direct connection: its claims. Only length and range are its fault. */
  onClaims(conn: Conn, blocks: readonly BlockDigest[]): Violation | null {
    if (conn.peerId && this.liars.has(conn.peerId)) return null;
    const c = this.forConn(conn);
    for (const { index, digest } of blocks) {
      if (!Number.isInteger(index) || index < 0 || index >= this.count) return { code: 'INDEX_RANGE', detail: `DIGESTS names block ${index}` };
      if (digest.length !== DIGEST_LENGTH) return { code: 'BAD_DATA', detail: `a ${digest.length}-byte digest` };
      this.keepClaim(c, index, digest);
      setBit(c.told, index); // it has the block: no need to vouch for it to it
      // A block we took on its sender's word, now confirmed by someone else: we vouch for it too.
      if (!hasBit(this.known, index)) continue;
      if (!digestAt(this.mine, index * DIGEST_LENGTH, digest)) this.conflicts++;
      else if (!hasBit(this.vouch, index)) this.record(index, digest, true); // (the same bytes as ours)
    }
    return null;
  }

  /** What connections other than `from` say about block `index` whose bytes hash to `actual`. */
  witness(index: number, actual: Uint8Array, from: Conn, others: readonly Conn[]): Witness {
    let agree = 0;
    const against: Claim[] = [];
    for (const conn of others) {
      if (conn === from || !conn.peerId || this.liars.has(conn.peerId)) continue;
      const c = this.conns.get(conn);
      if (!c || !hasBit(c.claimed, index)) continue;
      // Compared in place: this runs for every connection on every block that arrives.
      const same = hasBit(c.asFirst, index) ? digestAt(this.firstClaim, index * DIGEST_LENGTH, actual) : digestsEqual(c.other?.get(index) ?? EMPTY, actual);
      if (same) agree++;
      else against.push({ peerId: conn.peerId, digest: (this.claimOf(c, index) as Uint8Array).slice() });
    }
    if (against.length > 0) return { verdict: 'disputed', against };
    return { verdict: agree > 0 ? 'witnessed' : 'unwitnessed' };
  }

  /** Whether a dispute over this block is being settled (its source fetch is under way). */
  disputed(index: number): boolean {
    return this.disputes.has(index);
  }

  /** Open a dispute: these peers claimed these digests. The caller fetches the block from the source. */
  open(index: number, claims: readonly Claim[]): void {
    const byDigest = this.disputes.get(index) ?? new Map<string, PeerId[]>();
    if (!this.disputes.has(index)) this.disputesOpened++;
    for (const { peerId, digest } of claims) {
      const key = digestHex(digest);
      byDigest.set(key, [...(byDigest.get(key) ?? []), peerId]);
    }
    this.disputes.set(index, byDigest);
  }

  /** The source's bytes settle a dispute: returns the peers that claimed anything else. */
  settle(index: number, truth: Uint8Array): PeerId[] {
    const byDigest = this.disputes.get(index);
    if (!byDigest) return [];
    this.disputes.delete(index);
    const key = digestHex(truth);
    const liars: PeerId[] = [];
    for (const [digest, peers] of byDigest) {
      if (digest === key) continue;
      for (const p of peers) {
        if (!this.liars.has(p)) liars.push(p);
        this.liars.add(p);
      }
    }
    return liars;
  }

  /** A dispute's source fetch did not come: forget it (the block is missing again). */
  drop(index: number): void {
    this.disputes.delete(index);
  }

  /**
   * Sends the DIGESTS due now: to each connection not told for `everyMs`, the blocks we vouch
   * for that it has not had from us (nor told us of), oldest first, up to the message limit.
   */
  announce(now: number, conns: readonly Conn[], everyMs: number, out: Outbox): void {
    if (this.ours.length === 0) return;
    for (const conn of conns) {
      const c = this.forConn(conn);
      if (now - c.toldAt < everyMs) continue;
      const blocks: BlockDigest[] = [];
      for (; c.cursor < this.ours.length && blocks.length < MAX_DIGESTS_PER_MESSAGE; c.cursor++) {
        const index = this.ours[c.cursor] as number;
        if (hasBit(c.told, index)) continue;
        setBit(c.told, index);
        blocks.push({ index, digest: this.mine.slice(index * DIGEST_LENGTH, (index + 1) * DIGEST_LENGTH) });
      }
      if (blocks.length === 0) continue;
      c.toldAt = now;
      blocks.sort((a, b) => a.index - b.index);
      out.send(conn.id, { type: 'DIGESTS', blocks });
    }
  }

  // A connection's claim for a block replaces its earlier one.
  private keepClaim(c: ConnDigests, index: number, digest: Uint8Array): void {
    setBit(c.claimed, index);
    const at = index * DIGEST_LENGTH;
    if (!hasBit(this.firstClaimed, index)) {
      this.firstClaim.set(digest, at);
      setBit(this.firstClaimed, index);
    }
    if (digestAt(this.firstClaim, at, digest)) {
      setBit(c.asFirst, index);
      c.other?.delete(index);
    } else {
      clearBit(c.asFirst, index);
      (c.other ??= new Map()).set(index, digest.slice());
    }
  }

  // A connection's claim for a block (a live view: copy it to keep it), if it made one.
  private claimOf(c: ConnDigests, index: number): Uint8Array | undefined {
    if (!hasBit(c.claimed, index)) return undefined;
    if (!hasBit(c.asFirst, index)) return c.other?.get(index);
    return this.firstClaim.subarray(index * DIGEST_LENGTH, (index + 1) * DIGEST_LENGTH);
  }

  private forConn(conn: Conn): ConnDigests {
    let c = this.conns.get(conn);
    if (!c) {
      const bytes = Math.ceil(this.count / 8);
      c = { claimed: new Uint8Array(bytes), asFirst: new Uint8Array(bytes), other: null, told: new Uint8Array(bytes), cursor: 0, toldAt: -Infinity };
      this.conns.set(conn, c);
    }
    return c;
  }
}

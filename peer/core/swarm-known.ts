// Blocks known to exist somewhere in the swarm: someone has them, or is fetching them from
// the source. Each peer ORs in what it sees (its own advertised bits, its view's update
// tree, what its neighbors tell it) and passes on to each neighbor the indexes that neighbor
// has not had from it (UPDATE `known`, FORMAT.md): each index crosses each mesh link once, a
// few bytes per block per link for the whole download. News of a block starting from the
// source is passed on at once, not at the next flood, so it crosses the mesh in a few link
// latencies. A peer going to the source then picks blocks no one in the swarm has yet, not
// merely blocks no one in its view has, so the source is not asked twice for a block that
// exists far away (source-fetch.ts).
//
// It only grows, and a liar can claim every block: then nothing looks new anywhere and the
// choice falls back to "no one in my view has it", the paper's rule. No worse than without.
import { hasBit, setBit } from './bits.ts';
import type { Conn } from './connection.ts';

/** Indexes per UPDATE (FORMAT.md: MAX_KNOWN_PER_UPDATE); more go in the next flood. */
const MAX_PER_UPDATE = 1024;

/** news() when there is none: one frozen empty list for all (a push into it throws). */
const NO_NEWS = Object.freeze([]) as unknown as number[];

export class SwarmKnown {
  readonly bits: Uint8Array;
  /** When the set last grew: in the main phase, every source run announces its blocks here. */
  grewAt = -Infinity;

  constructor(private readonly blocks: number) {
    this.bits = new Uint8Array(Math.ceil(blocks / 8));
  }

  has(index: number): boolean {
    return hasBit(this.bits, index);
  }

  /** One block is known to exist (we are fetching it from the source). */
  add(now: number, index: number): void {
    if (!hasBit(this.bits, index)) this.grewAt = now;
    setBit(this.bits, index);
  }

  /** ORs in a bitfield of the same length (ours, or our view's union). */
  addAll(now: number, other: ArrayLike<number>): void {
    for (let b = 0; b < this.bits.length; b++) {
      const next = (this.bits[b] ?? 0) | (other[b] ?? 0);
      if (next !== this.bits[b]) this.grewAt = now;
      this.bits[b] = next;
    }
  }

  /** Whether some block is not known to exist anywhere. */
  incomplete(): boolean {
    const full = this.blocks % 8 === 0 ? 0xff : (0xff << (8 - (this.blocks % 8))) & 0xff;
    for (let b = 0; b < this.bits.length; b++) if ((this.bits[b] ?? 0) !== (b === this.bits.length - 1 ? full : 0xff)) return true;
    return false;
  }

  /**
   * Indexes `conn` told us: 'new' if any was new to us (worth passing on at once), 'none', or
   * 'bad' if one is out of range (a violation).
   */
  heard(now: number, conn: Conn, indexes: readonly number[]): 'new' | 'none' | 'bad' {
    const told = (conn.knownTold ??= new Uint8Array(this.bits.length));
    let fresh = false;
    for (const i of indexes) {
      if (!Number.isInteger(i) || i < 0 || i >= this.blocks) return 'bad';
      fresh ||= !hasBit(this.bits, i);
      setBit(this.bits, i);
      setBit(told, i); // it knows: no need to tell it back
    }
    if (fresh) this.grewAt = now;
    return fresh ? 'new' : 'none';
  }

  /** The indexes `conn` has not had from us (at most one UPDATE's worth), now counted as told. */
  news(conn: Conn): number[] {
    const told = (conn.knownTold ??= new Uint8Array(this.bits.length));
    if (!this.anyNews(told)) return NO_NEWS; // the usual answer: no array made for it
    const out: number[] = [];
    for (let b = 0; b < this.bits.length && out.length < MAX_PER_UPDATE; b++) {
      let fresh = (this.bits[b] ?? 0) & ~(told[b] ?? 0) & 0xff;
      while (fresh !== 0 && out.length < MAX_PER_UPDATE) {
        const lead = Math.clz32(fresh) - 24;
        const i = b * 8 + lead;
        out.push(i);
        told[b] = (told[b] ?? 0) | (0x80 >> lead);
        fresh &= ~(0x80 >> lead);
      }
    }
    return out;
  }

  private anyNews(told: Uint8Array): boolean {
    for (let b = 0; b < this.bits.length; b++) if (((this.bits[b] ?? 0) & ~(told[b] ?? 0) & 0xff) !== 0) return true;
    return false;
  }
}

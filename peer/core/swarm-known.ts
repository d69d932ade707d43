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
// It only grows (but for our own GET that failed: that block we know is not coming), and a
// liar can claim every block: then nothing looks new anywhere, and a starving peer waits for
// such blocks to reach its view for a while before it fetches them (source-policy.ts); that
// delay is a liar's whole gain. Each block keeps the time we first heard of it, for that wait.
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
  private readonly since: Float64Array; // per block: when we first heard of it (Infinity: not yet)

  constructor(private readonly blocks: number) {
    this.bits = new Uint8Array(Math.ceil(blocks / 8));
    this.since = new Float64Array(blocks).fill(Infinity);
  }

  has(index: number): boolean {
    return hasBit(this.bits, index);
  }

  /** How long we have known that someone has or is fetching this block (-Infinity: we do not). */
  heardFor(now: number, index: number): number {
    return now - (this.since[index] ?? Infinity);
  }

  /** One block is known to exist (we are fetching it from the source). */
  add(now: number, index: number): void {
    if (!hasBit(this.bits, index)) this.learned(now, index);
    setBit(this.bits, index);
  }

  /** Our own GET of this block failed: as far as we know it is nowhere (others wait for it a while). */
  lost(index: number): void {
    this.bits[index >> 3] = (this.bits[index >> 3] ?? 0) & ~(0x80 >> (index & 7));
    this.since[index] = Infinity;
  }

  private learned(now: number, index: number): void {
    this.grewAt = now;
    this.since[index] = now;
  }

  /** ORs in a bitfield of the same length (ours, or our view's union). */
  addAll(now: number, other: ArrayLike<number>): void {
    for (let b = 0; b < this.bits.length; b++) {
      const before = this.bits[b] ?? 0;
      const next = before | (other[b] ?? 0);
      if (next === before) continue;
      for (let bit = 0; bit < 8; bit++) if ((next & ~before & (0x80 >> bit)) !== 0) this.learned(now, b * 8 + bit);
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
      if (!hasBit(this.bits, i)) {
        fresh = true;
        this.learned(now, i);
      }
      setBit(this.bits, i);
      setBit(told, i); // it knows: no need to tell it back
    }
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

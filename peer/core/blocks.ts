// The block lifecycle: one state per block, one owner per block in flight, and one
// transition function that checks the old state. Everything else in the core asks this
// table; nothing keeps its own copy of "have" or "asked for".
//
//            request(conn)             storing(conn)
//   missing ───────────────► requested ─────────────┐
//     ▲ │ ▲     release(conn)    │                   ▼           stored()
//     │ │ └──────────────────────┘                storing ─────────────────► have
//     │ │      fromSource()                         ▲
//     │ └──────────────────────► fromSource ────────┘ storing('source')
//     │          release('source')   │
//     └──────────────────────────────┘
//   missing ──storing(conn)──► storing: a late BLOCK for a request that already timed out
//
// Owner: the connection a `requested` block was asked of, `'source'` for a block in a Range
// GET, and for `storing` whoever delivered it. In the endgame a `requested` block may also be
// asked of one more connection (`askedTwice`); the first copy to arrive wins.
//
// Derived bitfields (BitTorrent bit order), kept in step by the transitions:
//   have       - stored on disk;
//   taken      - not missing: nobody else should be asked for it;
//   advertised - what we tell others we hold: have, plus blocks streaming from the source
//                (fromSource, and storing after coming from the source), so requests for
//                them queue with us instead of going to the source again.
import { clearBit, hasBit, setBit } from './bits.ts';
import type { ConnId } from './events.ts';

export type BlockState = 'missing' | 'requested' | 'fromSource' | 'storing' | 'have';
export type Owner = ConnId | 'source';

const STATES: readonly BlockState[] = ['missing', 'requested', 'fromSource', 'storing', 'have'];
const CODE: Record<BlockState, number> = { missing: 0, requested: 1, fromSource: 2, storing: 3, have: 4 };

/** The only transitions there are; anything else is a bug in the core. */
export const BLOCK_TRANSITIONS: Readonly<Record<BlockState, readonly BlockState[]>> = {
  missing: ['requested', 'fromSource', 'storing'],
  requested: ['missing', 'storing'],
  fromSource: ['missing', 'storing'],
  storing: ['have'],
  have: [],
};

/** A transition the table does not allow: the core broke its own invariant. */
export class BlockStateError extends Error {
  constructor(index: number, from: BlockState, to: BlockState) {
    super(`block ${index}: no transition from ${from} to ${to}`);
    this.name = 'BlockStateError';
  }
}

export class BlockTable {
  readonly count: number;
  readonly have: Uint8Array;
  readonly taken: Uint8Array;
  /** Rises whenever `taken` may have changed: a result computed from it holds while it is unchanged. */
  takenVersion = 0;
  readonly advertised: Uint8Array;
  private readonly states: Uint8Array;
  // Blocks in flight and who brings them, in the order they were taken (the endgame scans it).
  private readonly owners = new Map<number, Owner>();
  private readonly twice = new Set<number>();
  private haves = 0;
  private storings = 0;

  constructor(count: number, have?: Uint8Array) {
    this.count = count;
    const bytes = Math.ceil(count / 8);
    this.states = new Uint8Array(count);
    this.have = new Uint8Array(bytes);
    this.taken = new Uint8Array(bytes);
    this.advertised = new Uint8Array(bytes);
    for (let i = 0; i < count; i++) {
      if (!have || !hasBit(have, i)) continue;
      this.states[i] = CODE.have;
      this.haves++;
      setBit(this.have, i);
      setBit(this.taken, i);
      setBit(this.advertised, i);
    }
  }

  get haveCount(): number {
    return this.haves;
  }

  /** Blocks requested, coming from the source or being stored. */
  get inFlightCount(): number {
    return this.owners.size;
  }

  get storingCount(): number {
    return this.storings;
  }

  get complete(): boolean {
    return this.haves === this.count;
  }

  state(index: number): BlockState {
    return STATES[this.states[index] ?? 0] as BlockState;
  }

  owner(index: number): Owner | undefined {
    return this.owners.get(index);
  }

  has(index: number): boolean {
    return this.states[index] === CODE.have;
  }

  isTaken(index: number): boolean {
    return this.states[index] !== CODE.missing;
  }

  isAdvertised(index: number): boolean {
    return hasBit(this.advertised, index);
  }

  /** Blocks in flight with their owner, oldest first. */
  inFlight(): IterableIterator<[number, Owner]> {
    return this.owners.entries();
  }

  askedTwice(index: number): boolean {
    return this.twice.has(index);
  }

  /** Endgame: the block is also asked of a second connection (never a third). */
  markAskedTwice(index: number): void {
    this.expect(index, 'requested', 'requested');
    this.twice.add(index);
  }

  /** missing -> requested: asked of `conn`. */
  request(index: number, conn: ConnId): void {
    this.move(index, 'missing', 'requested');
    this.owners.set(index, conn);
  }

  /** missing -> fromSource: part of a Range GET; advertised from now on. */
  fromSource(index: number): void {
    this.move(index, 'missing', 'fromSource');
    this.owners.set(index, 'source');
    setBit(this.advertised, index);
  }

  /**
   * requested/fromSource -> missing, if `owner` still holds it (a timeout, a REJECT, a closed
   * connection, a GET that ended short). Returns whether it did.
   */
  release(index: number, owner: Owner): boolean {
    if (this.owners.get(index) !== owner) return false;
    const from = owner === 'source' ? 'fromSource' : 'requested';
    this.move(index, from, 'missing');
    this.owners.delete(index);
    this.twice.delete(index);
    if (owner === 'source') clearBit(this.advertised, index);
    return true;
  }

  /** requested/fromSource/missing -> storing: the bytes arrived from `from` and go to disk. */
  storing(index: number, from: Owner): void {
    const state = this.state(index);
    this.move(index, state, 'storing');
    if (from !== 'source') this.owners.delete(index); // a peer's copy: re-inserted last
    this.owners.set(index, from);
    this.twice.delete(index);
    this.storings++;
  }

  /** storing -> have. */
  stored(index: number): void {
    this.move(index, 'storing', 'have');
    this.owners.delete(index);
    this.storings--;
    this.haves++;
    setBit(this.have, index);
    setBit(this.advertised, index);
  }

  private expect(index: number, state: BlockState, to: BlockState): void {
    if (this.state(index) !== state) throw new BlockStateError(index, this.state(index), to);
  }

  // The one place a state changes.
  private move(index: number, from: BlockState, to: BlockState): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) throw new RangeError(`block ${index} out of range`);
    this.expect(index, from, to);
    if (!BLOCK_TRANSITIONS[from].includes(to)) throw new BlockStateError(index, from, to);
    this.states[index] = CODE[to];
    this.takenVersion++;
    if (to === 'missing') clearBit(this.taken, index);
    else setBit(this.taken, index);
  }
}

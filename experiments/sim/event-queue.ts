// The simulator's agenda: a min-heap of timed items. Equal times come out in the order they
// went in (a sequence number breaks ties), so a seed replays a run exactly: (time, seq) is a
// total order, and any correct heap pops the same sequence.
//
// Built for millions of pushes and pops per run: times and sequence numbers sit in a typed
// array beside the items (no wrapper object per entry, nothing allocated per pop), and
// sifting moves a hole instead of swapping, one write per level.
//
// Four children per node, not two: at 10^4 peers the heap holds about a million entries, far
// beyond the caches, so a pop costs about one cache miss per level. An entry's (time, seq)
// is 16 bytes, so four siblings are 64 bytes, one cache line: half the levels for the same
// misses. Entry i sits at slot i + PAD so that every group of siblings starts on a multiple
// of 64 bytes of the array (siblings 4i+1..4i+4 at slots 4(i+1)..4(i+1)+3).

const INITIAL_CAPACITY = 1024;
const PAD = 3;

export class EventQueue<T> {
  // Entry i's time at keys[2(i + PAD)] and sequence number at keys[2(i + PAD) + 1] (doubles:
  // exact up to 2^53 pushes), side by side so that a sift reads one cache line per family.
  private keys = new Float64Array(2 * (INITIAL_CAPACITY + PAD));
  private items: (T | undefined)[] = [];
  private n = 0;
  private nextSeq = 0;

  get size(): number {
    return this.n;
  }

  /** The earliest time queued, or Infinity when empty. */
  peekTime(): number {
    return this.n > 0 ? (this.keys[2 * PAD] as number) : Infinity;
  }

  push(time: number, item: T): void {
    if (Number.isNaN(time)) throw new RangeError('event time is NaN');
    if (2 * (this.n + PAD) === this.keys.length) this.grow();
    const seq = this.nextSeq++;
    const keys = this.keys;
    const items = this.items;
    let i = this.n++;
    while (i > 0) {
      const parent = (i - 1) >> 2;
      const k = 2 * (parent + PAD);
      const pt = keys[k] as number;
      if (pt < time || (pt === time && (keys[k + 1] as number) < seq)) break;
      const at = 2 * (i + PAD);
      keys[at] = pt;
      keys[at + 1] = keys[k + 1] as number;
      items[i] = items[parent];
      i = parent;
    }
    const at = 2 * (i + PAD);
    keys[at] = time;
    keys[at + 1] = seq;
    items[i] = item;
  }

  /** Removes and returns the earliest item (first queued among equal times), or undefined; peekTime() before says when. */
  pop(): T | undefined {
    if (this.n === 0) return undefined;
    const items = this.items;
    const top = items[0];
    const n = --this.n;
    const last = 2 * (n + PAD);
    if (n > 0) this.siftDown(this.keys[last] as number, this.keys[last + 1] as number, items[n] as T, n);
    items[n] = undefined; // let the item go
    return top;
  }

  // Places (time, seq, item) from the root down into a heap of n entries.
  private siftDown(time: number, seq: number, item: T, n: number): void {
    const keys = this.keys;
    const items = this.items;
    let i = 0;
    for (;;) {
      const first = 4 * i + 1;
      if (first >= n) break;
      // The least of up to four children.
      let child = first;
      let k = 2 * (first + PAD);
      let ct = keys[k] as number;
      let cs = keys[k + 1] as number;
      const end = Math.min(first + 4, n);
      for (let c = first + 1; c < end; c++) {
        k += 2;
        const t = keys[k] as number;
        if (t < ct || (t === ct && (keys[k + 1] as number) < cs)) {
          child = c;
          ct = t;
          cs = keys[k + 1] as number;
        }
      }
      if (time < ct || (time === ct && seq < cs)) break;
      const at = 2 * (i + PAD);
      keys[at] = ct;
      keys[at + 1] = cs;
      items[i] = items[child];
      i = child;
    }
    const at = 2 * (i + PAD);
    keys[at] = time;
    keys[at + 1] = seq;
    items[i] = item;
  }

  private grow(): void {
    const keys = new Float64Array(2 * (2 * (this.keys.length / 2 - PAD) + PAD));
    keys.set(this.keys);
    this.keys = keys;
  }
}

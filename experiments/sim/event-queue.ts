// The simulator's agenda: a binary min-heap of timed items. Equal times come out in the
// order they went in (a sequence number breaks ties), so a seed replays a run exactly:
// (time, seq) is a total order, and any correct heap pops the same sequence.
//
// Built for millions of pushes and pops per run: times and sequence numbers sit in
// a typed array beside the items (no wrapper object per entry, nothing allocated per pop),
// and sifting moves a hole instead of swapping, one write per level.

const INITIAL_CAPACITY = 1024;

export class EventQueue<T> {
  // Entry i's time at keys[2i] and sequence number at keys[2i + 1] (doubles: exact up to
  // 2^53 pushes): side by side, a sift reads one cache line per child, not two (at 10^4
  // peers the heap holds about a million entries, far beyond the caches).
  private keys = new Float64Array(2 * INITIAL_CAPACITY);
  private items: (T | undefined)[] = [];
  private n = 0;
  private nextSeq = 0;

  get size(): number {
    return this.n;
  }

  /** The earliest time queued, or Infinity when empty. */
  peekTime(): number {
    return this.n > 0 ? (this.keys[0] as number) : Infinity;
  }

  push(time: number, item: T): void {
    if (Number.isNaN(time)) throw new RangeError('event time is NaN');
    if (2 * this.n === this.keys.length) this.grow();
    const seq = this.nextSeq++;
    const keys = this.keys;
    const items = this.items;
    let i = this.n++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = keys[2 * parent] as number;
      if (pt < time || (pt === time && (keys[2 * parent + 1] as number) < seq)) break;
      keys[2 * i] = pt;
      keys[2 * i + 1] = keys[2 * parent + 1] as number;
      items[i] = items[parent];
      i = parent;
    }
    keys[2 * i] = time;
    keys[2 * i + 1] = seq;
    items[i] = item;
  }

  /** Removes and returns the earliest item (first queued among equal times), or undefined; peekTime() before says when. */
  pop(): T | undefined {
    if (this.n === 0) return undefined;
    const items = this.items;
    const top = items[0];
    const n = --this.n;
    if (n > 0) this.siftDown(this.keys[2 * n] as number, this.keys[2 * n + 1] as number, items[n] as T, n);
    items[n] = undefined; // let the item go
    return top;
  }

  // Places (time, seq, item) from the root down into a heap of n entries.
  private siftDown(time: number, seq: number, item: T, n: number): void {
    const keys = this.keys;
    const items = this.items;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      let ct = keys[2 * child] as number;
      let cs = keys[2 * child + 1] as number;
      const r = child + 1;
      if (r < n) {
        const rt = keys[2 * r] as number;
        const rs = keys[2 * r + 1] as number;
        if (rt < ct || (rt === ct && rs < cs)) {
          child = r;
          ct = rt;
          cs = rs;
        }
      }
      if (time < ct || (time === ct && seq < cs)) break;
      keys[2 * i] = ct;
      keys[2 * i + 1] = cs;
      items[i] = items[child];
      i = child;
    }
    keys[2 * i] = time;
    keys[2 * i + 1] = seq;
    items[i] = item;
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2);
    keys.set(this.keys);
    this.keys = keys;
  }
}

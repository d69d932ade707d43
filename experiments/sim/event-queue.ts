// The simulator's agenda: a binary min-heap of timed items. Equal times come out in the
// order they went in (a sequence number breaks ties), so a seed replays a run exactly:
// (time, seq) is a total order, and any correct heap pops the same sequence.
//
// Built for millions of pushes and pops per run: times and sequence numbers sit in
// typed arrays beside the items (no wrapper object per entry, nothing allocated per pop),
// and sifting moves a hole instead of swapping, one write per level.

const INITIAL_CAPACITY = 1024;

export class EventQueue<T> {
  private times = new Float64Array(INITIAL_CAPACITY);
  private seqs = new Float64Array(INITIAL_CAPACITY); // doubles: exact up to 2^53 pushes
  private items: (T | undefined)[] = [];
  private n = 0;
  private nextSeq = 0;

  get size(): number {
    return this.n;
  }

  /** The earliest time queued, or Infinity when empty. */
  peekTime(): number {
    return this.n > 0 ? (this.times[0] as number) : Infinity;
  }

  push(time: number, item: T): void {
    if (Number.isNaN(time)) throw new RangeError('event time is NaN');
    if (this.n === this.times.length) this.grow();
    const seq = this.nextSeq++;
    const times = this.times;
    const seqs = this.seqs;
    const items = this.items;
    let i = this.n++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent] as number;
      if (pt < time || (pt === time && (seqs[parent] as number) < seq)) break;
      times[i] = pt;
      seqs[i] = seqs[parent] as number;
      items[i] = items[parent];
      i = parent;
    }
    times[i] = time;
    seqs[i] = seq;
    items[i] = item;
  }

  /** Removes and returns the earliest item (first queued among equal times), or undefined; peekTime() before says when. */
  pop(): T | undefined {
    if (this.n === 0) return undefined;
    const items = this.items;
    const top = items[0];
    const n = --this.n;
    if (n > 0) this.siftDown(this.times[n] as number, this.seqs[n] as number, items[n] as T, n);
    items[n] = undefined; // let the item go
    return top;
  }

  // Places (time, seq, item) from the root down into a heap of n entries.
  private siftDown(time: number, seq: number, item: T, n: number): void {
    const times = this.times;
    const seqs = this.seqs;
    const items = this.items;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      let ct = times[child] as number;
      let cs = seqs[child] as number;
      const r = child + 1;
      if (r < n) {
        const rt = times[r] as number;
        const rs = seqs[r] as number;
        if (rt < ct || (rt === ct && rs < cs)) {
          child = r;
          ct = rt;
          cs = rs;
        }
      }
      if (time < ct || (time === ct && seq < cs)) break;
      times[i] = ct;
      seqs[i] = cs;
      items[i] = items[child];
      i = child;
    }
    times[i] = time;
    seqs[i] = seq;
    items[i] = item;
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2);
    const seqs = new Float64Array(this.seqs.length * 2);
    times.set(this.times);
    seqs.set(this.seqs);
    this.times = times;
    this.seqs = seqs;
  }
}

// The simulator's agenda: a binary min-heap of timed items. Equal times come out in the
// order they went in (a sequence number breaks ties), so a seed replays a run exactly.
// Times, sequence numbers and items sit in parallel arrays: no wrapper object per entry.

export class EventQueue<T> {
  private readonly times: number[] = [];
  private readonly seqs: number[] = [];
  private readonly items: T[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.items.length;
  }

  /** The earliest time queued, or Infinity when empty. */
  peekTime(): number {
    return this.times[0] ?? Infinity;
  }

  push(time: number, item: T): void {
    if (Number.isNaN(time)) throw new RangeError('event time is NaN');
    this.times.push(time);
    this.seqs.push(this.nextSeq++);
    this.items.push(item);
    this.up(this.items.length - 1);
  }

  /** Removes and returns the earliest item (first queued among equal times), or undefined. */
  pop(): { time: number; item: T } | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const time = this.times[0] as number;
    const item = this.items[0] as T;
    const lastTime = this.times.pop() as number;
    const lastSeq = this.seqs.pop() as number;
    const lastItem = this.items.pop() as T;
    if (n > 1) {
      this.times[0] = lastTime;
      this.seqs[0] = lastSeq;
      this.items[0] = lastItem;
      this.down(0);
    }
    return { time, item };
  }

  private before(i: number, j: number): boolean {
    const ti = this.times[i] as number;
    const tj = this.times[j] as number;
    return ti < tj || (ti === tj && (this.seqs[i] as number) < (this.seqs[j] as number));
  }

  private swap(i: number, j: number): void {
    const t = this.times[i] as number;
    this.times[i] = this.times[j] as number;
    this.times[j] = t;
    const s = this.seqs[i] as number;
    this.seqs[i] = this.seqs[j] as number;
    this.seqs[j] = s;
    const x = this.items[i] as T;
    this.items[i] = this.items[j] as T;
    this.items[j] = x;
  }

  private up(start: number): void {
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(start: number): void {
    const n = this.items.length;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && this.before(r, l) ? r : l;
      if (!this.before(child, i)) break;
      this.swap(i, child);
      i = child;
    }
  }
}

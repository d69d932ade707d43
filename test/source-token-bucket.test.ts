// The shared rate limit (peer/node/token-bucket.ts: the throttled source, a peer's
// --upload-limit) on a fake clock: no sockets, no waiting. The HTTP server that uses it is
// tested in source-server.test.ts.
import test from 'ava';
import { defaultBurst, TokenBucket } from '../peer/node/token-bucket.ts';
import type { Timers } from '../peer/node/token-bucket.ts';

class FakeTimers implements Timers {
  private t = 0;
  private nextId = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { at: this.t + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Runs every timer due up to `target`, letting promise callbacks settle in between. */
  async advanceTo(target: number): Promise<void> {
    await settle();
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.pending) if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.pending.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      await settle();
    }
    this.t = target;
    await settle();
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('bucket: the burst passes at once, then bytes wait for their tokens', async (t) => {
  const timers = new FakeTimers();
  const bucket = new TokenBucket({ rate: 1000, burst: 100, timers });
  await bucket.take(100);
  let granted = false;
  void bucket.take(50).then(() => (granted = true));
  await timers.advanceTo(49);
  t.false(granted);
  await timers.advanceTo(50);
  t.true(granted);
});

test('bucket: concurrent takers share the rate evenly and the total never beats it', async (t) => {
  const timers = new FakeTimers();
  const rate = 10_000;
  const burst = 2000;
  const chunk = 700;
  const bucket = new TokenBucket({ rate, burst, timers });
  const got = [0, 0, 0];
  let stop = false;
  const loops = got.map(async (_, i) => {
    while (!stop) {
      await bucket.take(chunk);
      got[i] = (got[i] ?? 0) + chunk;
    }
  });
  for (let ms = 0; ms <= 10_000; ms += 250) {
    await timers.advanceTo(ms);
    const total = got.reduce((a, b) => a + b, 0);
    t.true(total <= burst + (rate * ms) / 1000 + chunk, `${total} bytes by ${ms} ms`);
  }
  const total = got.reduce((a, b) => a + b, 0);
  t.true(total >= rate * 10 - 3 * chunk, `only ${total} bytes in 10 s`);
  t.true(Math.max(...got) - Math.min(...got) <= chunk, `uneven shares ${got.join(' ')}`);
  stop = true;
  bucket.cancelAll(new Error('done'));
  await Promise.allSettled(loops);
});

test('bucket: a take larger than the burst goes through when full and leaves a debt', async (t) => {
  const timers = new FakeTimers();
  const bucket = new TokenBucket({ rate: 1000, burst: 100, timers });
  await bucket.take(500); // full bucket: granted, 400 bytes of debt
  let granted = false;
  void bucket.take(100).then(() => (granted = true));
  await timers.advanceTo(499);
  t.false(granted);
  await timers.advanceTo(500);
  t.true(granted);
});

test('bucket: an aborted taker leaves the queue and the next one moves up', async (t) => {
  const timers = new FakeTimers();
  const bucket = new TokenBucket({ rate: 1000, burst: 100, timers });
  await bucket.take(100);
  const ac = new AbortController();
  const aborted = bucket.take(100, ac.signal);
  let second = false;
  void bucket.take(50).then(() => (second = true));
  t.is(bucket.waiting, 2);
  ac.abort(new Error('client went away'));
  await t.throwsAsync(aborted, { message: 'client went away' });
  t.is(bucket.waiting, 1);
  await timers.advanceTo(50);
  t.true(second);
  await t.throwsAsync(bucket.take(1, ac.signal), { message: 'client went away' });
  const stuck = bucket.take(1000);
  bucket.cancelAll(new Error('closing'));
  await t.throwsAsync(stuck, { message: 'closing' });
});

test('bucket: default bursts are small but cover timer granularity; bad rates are refused', (t) => {
  t.is(defaultBurst(4 * 1024 * 1024), 64 * 1024);
  t.is(defaultBurst(100 * 1024), 5 * 1024);
  t.is(defaultBurst(1024 ** 3), Math.floor(1024 ** 3 / 200));
  for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) t.throws(() => new TokenBucket({ rate }));
});

// GcPacer: one collection per `everyBytes` received, none without a collector.
import test from 'ava';
import { GcPacer, setCollector } from '../peer/node/gc-pacer.ts';

test('collects once per everyBytes received, whatever the sizes of the pieces', (t) => {
  let collections = 0;
  const pacer = new GcPacer(1000, () => () => collections++);
  const results = [300, 300, 300, 100, 999, 1, 5000].map((n) => pacer.received(n));
  t.deepEqual(results, [false, false, false, true, false, true, true]);
  t.is(collections, 3);
});

test('without a collector nothing is collected, and counting starts once one is set', (t) => {
  let collections = 0;
  const pacer = new GcPacer(100); // the process-wide collector
  setCollector(null);
  t.false(pacer.received(500));
  setCollector(() => collections++);
  try {
    t.false(pacer.received(99)); // bytes before the collector was set do not count
    t.true(pacer.received(1));
    t.is(collections, 1);
  } finally {
    setCollector(null);
  }
});

test('a pace of zero or less is refused', (t) => {
  t.throws(() => new GcPacer(0), { instanceOf: RangeError });
  t.throws(() => new GcPacer(Number.NaN), { instanceOf: RangeError });
});

// When a peer came to hold each tenth of its blocks (PeerStats.tenthsAtMs): what the testbed's
// and the simulator's results compare to see where a download slowed (experiments/testbed/progress.ts).
import test from 'ava';
import fc from 'fast-check';
import { TenthMarks } from '../peer/core/stats.ts';
import { ofType, Script } from './fixtures/scripted-core.ts';

test('each tenth is marked at the first count that reaches it, never twice, ten at most', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 300 }), fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 60 }), (blocks, steps) => {
      const marks = new TenthMarks(blocks);
      const seen: { at: number; have: number }[] = [];
      let have = 0;
      steps.forEach((step, at) => {
        have = Math.min(blocks, have + step);
        marks.note(at, have);
        seen.push({ at, have });
      });
      if (marks.atMs.length > 10) return false;
      // Mark i is the first time the count reached (i + 1) tenths; no mark for a tenth never reached.
      for (let i = 0; i < 10; i++) {
        const first = seen.find((s) => s.have * 10 >= (i + 1) * blocks);
        if (first?.at !== marks.atMs[i]) return false;
      }
      return true;
    }),
    { seed: 12 },
  );
  t.pass();
});

test('the core marks blocks as they are stored, on its clock; a resumed download counts what it had at once', (t) => {
  const size = 10 * 1024; // ten blocks of 1 KiB: a tenth each
  const s = new Script(size);
  const run = ofType(s.feed({ type: 'peers', peers: [] }, 0), 'fetchSource')[0]!;
  t.deepEqual(s.core.stats(0).tenthsAtMs, []);
  s.feed({ type: 'sourceBlock', index: run.first, data: new Uint8Array(1024) }, 40);
  t.deepEqual(s.core.stats(40).tenthsAtMs, [], 'not until it is stored');
  s.feed({ type: 'stored', index: run.first }, 55);
  t.deepEqual(s.core.stats(60).tenthsAtMs, [55]);

  const have = new Uint8Array(2);
  have[0] = 0b1111_1000; // blocks 0-4 on disk already (bit 0 is the high bit)
  const resumed = new Script(size, {}, 1, have);
  t.deepEqual(resumed.core.stats(0).tenthsAtMs, [0, 0, 0, 0, 0]);
});

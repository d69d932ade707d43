// The core's state tables on their own: the block lifecycle, the connection lifecycle and
// the timer table. Illegal moves throw; a random walk of legal moves keeps every derived
// bitfield equal to what a plain model says.
import test from 'ava';
import fc from 'fast-check';
import { hasBit } from '../peer/core/bits.ts';
import { BlockStateError, BlockTable, type BlockState } from '../peer/core/blocks.ts';
import { ConnStateError, moveConn, newConn } from '../peer/core/connection.ts';
import { TimerTable } from '../peer/core/timers.ts';
import { SEED } from './fixtures/scripted-core.ts';

test('blocks: the legal path for a peer block and for a source block', (t) => {
  const b = new BlockTable(10);
  b.request(3, 7);
  t.is(b.state(3), 'requested');
  t.is(b.owner(3), 7);
  t.true(b.isTaken(3));
  t.false(b.isAdvertised(3), 'a requested block is not advertised');
  b.storing(3, 7);
  b.stored(3);
  t.true(b.has(3));
  t.is(b.haveCount, 1);
  b.fromSource(4);
  t.true(b.isAdvertised(4), 'a block streaming from the source is advertised at once');
  b.storing(4, 'source');
  t.true(b.isAdvertised(4), 'and while it is being stored');
  t.is(b.storingCount, 1);
  b.stored(4);
  t.is(b.storingCount, 0);
});

test('blocks: illegal transitions throw, a release by another owner changes nothing', (t) => {
  const b = new BlockTable(4);
  t.throws(() => b.stored(0), { instanceOf: BlockStateError });
  b.request(0, 1);
  t.throws(() => b.request(0, 2), { instanceOf: BlockStateError });
  t.throws(() => b.fromSource(0), { instanceOf: BlockStateError });
  t.false(b.release(0, 2), 'only the owner gives it back');
  t.is(b.state(0), 'requested');
  t.true(b.release(0, 1));
  t.is(b.state(0), 'missing');
  const have = new BlockTable(4, new Uint8Array([0x80]));
  t.true(have.has(0));
  t.throws(() => have.request(0, 1), { instanceOf: BlockStateError });
  t.throws(() => have.markAskedTwice(0), { instanceOf: BlockStateError });
  t.throws(() => b.request(4, 1), { instanceOf: RangeError });
});

test('blocks: a random walk of legal moves keeps taken, have and advertised equal to a model', (t) => {
  const N = 20;
  const op = fc.record({ kind: fc.integer({ min: 0, max: 5 }), index: fc.integer({ min: 0, max: N - 1 }), conn: fc.integer({ min: 1, max: 3 }) });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const b = new BlockTable(N);
      const model: { state: BlockState; owner: number | 'source' | null; viaSource: boolean }[] = Array.from({ length: N }, () => ({ state: 'missing', owner: null, viaSource: false }));
      for (const { kind, index, conn } of ops) {
        const m = model[index]!;
        if (kind === 0 && m.state === 'missing') {
          b.request(index, conn);
          Object.assign(m, { state: 'requested', owner: conn });
        } else if (kind === 1 && m.state === 'missing') {
          b.fromSource(index);
          Object.assign(m, { state: 'fromSource', owner: 'source' });
        } else if (kind === 2 && (m.state === 'requested' || m.state === 'fromSource')) {
          const ok = b.release(index, conn);
          const mine = m.owner === conn;
          if (mine) Object.assign(m, { state: 'missing', owner: null });
          if (ok !== mine) return false;
        } else if (kind === 3 && (m.state === 'missing' || m.state === 'requested' || m.state === 'fromSource')) {
          const from = m.state === 'fromSource' ? 'source' : conn;
          b.storing(index, from);
          Object.assign(m, { state: 'storing', owner: from, viaSource: from === 'source' });
        } else if (kind === 4 && m.state === 'storing') {
          b.stored(index);
          Object.assign(m, { state: 'have', owner: null });
        } else if (kind === 5 && m.state === 'fromSource') {
          b.release(index, 'source');
          Object.assign(m, { state: 'missing', owner: null });
        }
      }
      return model.every((m, i) => {
        const advertised = m.state === 'have' || m.state === 'fromSource' || (m.state === 'storing' && m.viaSource);
        return b.state(i) === m.state && hasBit(b.taken, i) === (m.state !== 'missing') && hasBit(b.have, i) === (m.state === 'have') && hasBit(b.advertised, i) === advertised;
      }) && b.haveCount === model.filter((m) => m.state === 'have').length;
    }),
    { seed: SEED },
  );
  t.pass();
});

test('connections: the lifecycle table refuses what it does not list', (t) => {
  const out = newConn(1, true, 'aa'.repeat(16), true, 0, { blocks: 10, entryTokens: 10 });
  t.is(out.state, 'helloSent');
  moveConn(out, 'neighbor');
  t.throws(() => moveConn(out, 'open'), { instanceOf: ConnStateError });
  moveConn(out, 'closed');
  t.throws(() => moveConn(out, 'closed'), { instanceOf: ConnStateError });
  const inbound = newConn(2, false, null, false, 0, { blocks: 10, entryTokens: 10 });
  t.is(inbound.state, 'awaitingHello');
  moveConn(inbound, 'open');
  t.is(inbound.state, 'open');
});

test('timers: next() is the earliest waking deadline; due() compares with now', (t) => {
  const timers = new TimerTable();
  t.is(timers.next(), Infinity);
  timers.set('round', 1000);
  timers.set('flood', 250);
  timers.set('rewire', 10); // acted on at a round: never wakes the peer by itself
  t.is(timers.next(), 250);
  t.true(timers.due('rewire', 10));
  t.false(timers.due('round', 999));
  t.true(timers.due('round', 1000));
  timers.set('flood', Infinity);
  t.is(timers.next(), 1000);
});

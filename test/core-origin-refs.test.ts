// Per-connection origin refs (peer/core/origin-refs.ts): what a sender tells under each ref,
// the receiver rebuilds exactly, whatever the refs and the order they come in. The tables
// grow by a few refs at a time (refsRoom), so growth must keep every ref told before.
import test from 'ava';
import { InboundRefs, refsRoom, ToldRefs, type Tellable, type ToldOrigin } from '../peer/core/origin-refs.ts';
import { MAX_REFS } from '../peer/core/messages.ts';
import { SeededRng } from '../estimation/random.ts';

const BLOCKS = 100; // 13 bytes, 4 spare bits
const BYTES = Math.ceil(BLOCKS / 8);

function bitsOf(told: ToldOrigin): number[] {
  return Array.from(told.arena.subarray(told.offset, told.offset + BYTES));
}

test('refsRoom: the next multiple of 4 past the ref, never past MAX_REFS', (t) => {
  t.deepEqual([0, 3, 4, 32, 35, 36, 250, 255].map(refsRoom), [4, 4, 8, 36, 36, 40, 252, MAX_REFS]);
  for (let ref = 0; ref < MAX_REFS; ref++) t.true(refsRoom(ref) > ref);
});

test('every ref told, in a random order and growing, arrives as the sender holds it', (t) => {
  const rng = new SeededRng(7);
  const sender = new ToldRefs(BYTES);
  const receiver = new InboundRefs(BLOCKS, BYTES);
  const origins = new Map<number, Tellable>();
  for (let round = 0; round < 2000; round++) {
    // Mostly low refs (as an honest U-cache), sometimes far ones.
    const ref = rng.next() < 0.9 ? Math.floor(rng.next() * 40) : Math.floor(rng.next() * MAX_REFS);
    let o = origins.get(ref);
    if (!o || rng.next() < 0.05) {
      o = { id: `origin-${round}`, host: `10.0.0.${ref}`, port: 7000 + ref, seq: 0, degree: 3, sourceBusy: false, bits: new Uint8Array(BYTES) };
      origins.set(ref, o);
    }
    const block = Math.floor(rng.next() * BLOCKS);
    o.bits[block >> 3] = (o.bits[block >> 3] ?? 0) | (0x80 >> (block & 7)); // blocks are only added
    o.seq++;
    const told = receiver.apply(sender.entry(ref, o, 1));
    if ('code' in told) return t.fail(`${told.code}: ${told.detail}`);
    t.is(told.id, o.id);
    t.is(told.port, o.port);
    t.is(told.seq, o.seq);
    t.deepEqual(bitsOf(told), Array.from(o.bits));
  }
  // Every ref still holds what was last told (growth kept them): a heartbeat of each shows it.
  for (const [ref, o] of origins) {
    o.seq++;
    const told = receiver.apply(sender.entry(ref, o, 1));
    if ('code' in told) return t.fail(told.code);
    t.is(told.id, o.id);
    t.deepEqual(bitsOf(told), Array.from(o.bits));
  }
});

test('a ref never introduced is refused, below and past the room made so far', (t) => {
  const receiver = new InboundRefs(BLOCKS, BYTES);
  const sender = new ToldRefs(BYTES);
  const o: Tellable = { id: 'a', host: '10.0.0.1', port: 7000, seq: 1, degree: 1, sourceBusy: false, bits: new Uint8Array(BYTES) };
  t.false('code' in receiver.apply(sender.entry(5, o, 0)));
  for (const ref of [4, 6, 200]) {
    const told = receiver.apply({ ref, seq: 2, hops: 0, degree: 1, sourceBusy: false, body: { kind: 'same' } });
    t.is('code' in told ? told.code : 'accepted', 'UNKNOWN_REF');
  }
});

import test from 'ava';
import { isFull } from '../peer/core/bits.ts';
import { Handover } from '../peer/core/handover.ts';

const params = { handoverMs: 2000, maxHandoverMs: 10_000 };
const full = Uint8Array.of(0xff, 0xf0); // 12 blocks
const partial = Uint8Array.of(0xff, 0xe0);
const mayAsk = (holdings: (Uint8Array | undefined)[]): boolean => holdings.some((bits) => !isFull(bits, 12)); // as PeerCore wires it

test('stays handoverMs after the last ask while a connected peer lacks blocks', (t) => {
  const h = new Handover(params, () => mayAsk([full, partial]));
  t.is(h.deadline(), Infinity, 'not finished: no deadline');
  h.completed(1000);
  t.is(h.deadline(), 3000);
  h.asked(2500);
  t.is(h.deadline(), 4500);
  t.false(h.due(4499));
  t.true(h.due(4500));
  t.false(h.due(5000), 'due once');
});

test('never longer than maxHandoverMs after finishing', (t) => {
  const h = new Handover(params, () => mayAsk([partial]));
  h.completed(0);
  h.asked(9500);
  t.is(h.deadline(), 10_000);
});

test('leaves at once with no connection, or when every connected peer holds the whole file', (t) => {
  let holdings: (Uint8Array | undefined)[] = [];
  const h = new Handover(params, () => mayAsk(holdings));
  h.completed(700);
  t.is(h.deadline(), 700, 'no connection');
  holdings = [full, undefined];
  t.is(h.deadline(), 2700, 'a peer whose holdings are unknown may still ask');
  holdings = [full, partial];
  t.is(h.deadline(), 2700);
  holdings = [full, full];
  t.is(h.deadline(), 700, 'everyone connected is complete');
  t.true(h.due(700));
});

test('a block from the source that we never sent anyone keeps us the whole maxHandoverMs while someone may ask', (t) => {
  let holdings: (Uint8Array | undefined)[] = [partial];
  const h = new Handover(params, () => mayAsk(holdings));
  h.fromSource(7);
  h.fromSource(9);
  h.served(9);
  h.completed(1000);
  t.is(h.deadline(), 11_000, 'block 7 may be the only copy: stay');
  h.served(7);
  t.is(h.deadline(), 3000, 'sent on: the usual hand-over');
  h.fromSource(8);
  holdings = [full];
  t.is(h.deadline(), 1000, 'no one connected lacks anything: leave at once');
});

// What a peer counts of the messages it sends and receives (peer/node/message-counts.ts): by
// type, with the two variants that say something different apart.
import test from 'ava';
import { countedType, MessageCounter } from '../peer/node/message-counts.ts';

test('an UPDATE with no entries is UPDATE-news, a REJECT of a missing block REJECT-missing; the rest go by type', (t) => {
  t.is(countedType({ type: 'REJECT', index: 3, reason: 'busy' }), 'REJECT');
  t.is(countedType({ type: 'REJECT', index: 3, reason: 'missing' }), 'REJECT-missing');
  t.is(countedType({ type: 'REQUEST', index: 3 }), 'REQUEST');
  t.is(countedType({ type: 'BYE', reason: 'done' }), 'BYE');
  const counter = new MessageCounter();
  counter.sent({ type: 'REJECT', index: 1, reason: 'busy' });
  counter.sent({ type: 'REJECT', index: 2, reason: 'missing' });
  counter.sent({ type: 'REJECT', index: 4, reason: 'busy' });
  counter.received({ type: 'REQUEST', index: 1 });
  const snap = counter.snapshot();
  t.deepEqual(snap, { sent: { REJECT: 2, 'REJECT-missing': 1 }, received: { REQUEST: 1 } });
  counter.received({ type: 'REQUEST', index: 2 });
  t.is(snap.received.REQUEST, 1, 'a snapshot does not change after it is taken');
});

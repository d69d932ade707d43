// The source's block buffers: lent, given back once, used again; other sizes never pooled.
import test from 'ava';
import { BlockPool } from '../peer/node/block-pool.ts';

test('a block-sized buffer given back is lent again; a shorter one and a stranger are not pooled', (t) => {
  const pool = new BlockPool(1024);
  const a = pool.take(1024);
  t.is(a.length, 1024);
  t.true(pool.owns(a));
  pool.give(a);
  t.false(pool.owns(a));
  pool.give(a); // twice: ignored, so it cannot be lent to two takers at once
  const b = pool.take(1024);
  const c = pool.take(1024);
  t.is(b, a);
  t.not(c, a);
  const last = pool.take(100); // the file's last block
  t.is(last.length, 100);
  t.false(pool.owns(last));
  pool.give(last);
  const stranger = Buffer.alloc(1024);
  pool.give(stranger); // not one of ours: never lent out
  t.not(pool.take(1024), stranger);
});

// Serving a few blocks at a time: at most 6 in all and 2 per connection, in request order
// among connections with a free slot; serves for a closed connection are dropped unrun.
import test from 'ava';
import { ServeQueue } from '../peer/node/serve-queue.ts';

function job(started: string[], name: string, finish: Map<string, () => void>): () => Promise<void> {
  return () => {
    started.push(name);
    return new Promise<void>((resolve) => finish.set(name, resolve));
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('caps in flight per connection and in all; a slow connection does not hold up the others; forget drops', async (t) => {
  const queue = new ServeQueue();
  const started: string[] = [];
  const finish = new Map<string, () => void>();
  for (let i = 0; i < 4; i++) queue.push(1, job(started, `a${i}`, finish)); // connection 1 asks 4
  queue.push(2, job(started, 'b0', finish));
  t.deepEqual(started, ['a0', 'a1', 'b0'], 'two of connection 1, then connection 2 at once');
  for (let c = 3; c <= 6; c++) queue.push(c, job(started, `c${c}`, finish));
  t.deepEqual(started, ['a0', 'a1', 'b0', 'c3', 'c4', 'c5'], 'six in all');
  queue.forget(6); // closed before its turn
  finish.get('a0')!();
  await tick();
  t.deepEqual(started.slice(6), ['a2'], 'a freed slot goes to the oldest request that may run');
  finish.get('c3')!();
  await tick();
  t.deepEqual(started.slice(7), [], 'connection 1 is at its cap, connection 6 is gone: nothing else to run');
  finish.get('a1')!();
  await tick();
  t.deepEqual(started.slice(7), ['a3']);
});

// The testbed launcher's gate (experiments/testbed/launch-gate.ts): at most `slots` start-ups
// at once; a slot frees when its process connects, exits or has started for too long. The
// connection check is injected here; test/experiment-testbed.test.ts reads a real namespace.
import test from 'ava';
import { LaunchGate, type Starting } from '../experiments/testbed/launch-gate.ts';

function starting(pid: number, since = 0): Starting & { gone: boolean; released: number } {
  const s = { pid, since, gone: false, released: 0, exited: () => s.gone, started: () => s.released++ };
  return s;
}

test('no limit with 0 slots: everyone may start, and nothing is tracked', async (t) => {
  const gate = new LaunchGate(0, 5000, async () => false);
  t.is(gate.free(), Infinity);
  gate.add(starting(1));
  t.false(gate.busy);
});

test('2 slots: a third waits until a start-up has connected, exited or run out of time', async (t) => {
  const connected = new Set<number>();
  const gate = new LaunchGate(2, 5000, async (pid) => connected.has(pid));
  const a = starting(1, 0);
  const b = starting(2, 100);
  gate.add(a);
  t.is(gate.free(), 1);
  gate.add(b);
  t.is(gate.free(), 0);
  await gate.poll(1000);
  t.is(gate.free(), 0, 'nothing happened: both still starting');
  connected.add(1);
  await gate.poll(1100);
  t.is(gate.free(), 1, 'the first connected');
  t.deepEqual([a.released, b.released], [1, 0], 'told it runs as the others now, once');
  const c = starting(3, 1100);
  gate.add(c);
  b.gone = true;
  await gate.poll(1200);
  t.is(gate.free(), 1, 'the second exited');
  await gate.poll(1100 + 4999);
  t.is(gate.free(), 1, 'the third has not run out of time yet');
  await gate.poll(1100 + 5000);
  t.is(gate.free(), 2, 'after maxStartupMs it no longer holds a slot');
  t.deepEqual([a.released, b.released, c.released], [1, 1, 1]);
  t.false(gate.busy);
});

test('a bad slot count is a one-line RangeError', (t) => {
  t.throws(() => new LaunchGate(-1), { instanceOf: RangeError, message: 'launch slots must be a non-negative integer, got -1' });
  t.throws(() => new LaunchGate(1.5), { instanceOf: RangeError });
});

// A busy host (the scripted driver delivers every tick late, as a process waiting for a core
// does) stretches the core's control traffic; on time, or with busyLagMs 0, nothing changes.
import test from 'ava';
import { Listener, peerId, Script } from './fixtures/scripted-core.ts';

const SIZE = 10 * 1024;

/**
 * 30 s of a peer with two neighbors; neighbor 1 tells us of origin 7, newer every time, and
 * every tick comes `lateMs` after the deadline. Counts origin 7's entries forwarded to
 * neighbor 2 (at most every forwardEveryMs, 2 s, stretched while busy).
 */
function run(busyLagMs: number, lateMs: number): { forwarded: number; stretch: number; lag: number; stretchedSeconds: number } {
  const s = new Script(SIZE, { busyLagMs, forwardEveryMs: 2000 });
  const other = new Listener(s);
  s.link(1, 1, []);
  s.link(2, 2, []);
  other.take(2);
  let at = 0;
  let seq = 1;
  let forwarded = 0;
  while (at < 30_000) {
    at = Math.max(at + 1, s.core.nextDeadline() + lateMs);
    s.now = at;
    s.msg(1, { type: 'UPDATE', entries: [s.entry(7, [seq % 10], { hops: 1, seq: seq++ })] });
    s.tick(at);
    forwarded += other.take(2).filter((e) => e.id === peerId(7)).length;
  }
  const stats = s.core.stats(at);
  return { forwarded, stretch: stats.loadStretch, lag: stats.hostLagMs, stretchedSeconds: stats.stretchedSeconds };
}

test('ticks on time: forwarded every forwardEveryMs, no stretch', (t) => {
  const r = run(20, 0);
  t.is(r.stretch, 1);
  t.is(r.stretchedSeconds, 0);
  t.true(r.lag < 1, `lag ${r.lag}`);
  t.true(r.forwarded >= 13 && r.forwarded <= 16, `${r.forwarded} forwards in 30 s`);
});

test('ticks 100 ms late: the host is busy, forwarding slows to half of staleMs', (t) => {
  const busy = run(20, 100);
  t.is(busy.stretch, 4);
  t.true(busy.stretchedSeconds >= 20 && busy.stretchedSeconds <= 30, `stretched ${busy.stretchedSeconds} s of 30`);
  t.true(busy.lag >= 20, `lag ${busy.lag}`); // some ticks come for other deadlines, less late
  // 2 s stretched 4 times, capped at staleMs / 2 = 5 s: about 6 in 30 s (the first two
  // rounds at 2 s, before the lag was confirmed).
  t.true(busy.forwarded >= 5 && busy.forwarded <= 8, `${busy.forwarded} forwards in 30 s`);
  // The same late ticks with the estimator off (the paper's form): as on time.
  const off = run(0, 100);
  t.is(off.stretch, 1);
  t.true(off.forwarded >= 12, `${off.forwarded} forwards in 30 s`);
});

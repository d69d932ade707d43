// The plain progress line of `slurpie get` off a terminal (bin/plain-progress.ts): its wording
// and its pace, without processes.
import test from 'ava';
import { PlainProgress, plainLine } from '../bin/plain-progress.ts';

const MiB = 1048576;

test('the line: percent, MiB, rate of this run, peers, source share, ETA', (t) => {
  const p = { size: 32 * MiB, bytesHave: 13.1 * MiB, fromSource: 2 * MiB, fromPeers: 7.1 * MiB, uploaded: 0, connections: 3, seconds: 2.2 };
  // 9.1 MiB moved in 2.2 s (the other 4 MiB were resumed from disk): 4.1 MiB/s, 18.9 MiB left.
  t.is(plainLine(p), 'slurpie: 40% 13.1/32.0 MiB, 4.1 MiB/s, 3 peers, 22% from the source, ETA 5 s');
  t.is(plainLine({ ...p, fromSource: 0, fromPeers: 0 }), 'slurpie: 40% 13.1/32.0 MiB, 0.0 MiB/s, 3 peers, 0% from the source, ETA unknown');
  t.regex(plainLine({ ...p, seconds: 60 }), /ETA 2 min 5 s$/);
  t.false(plainLine(p).includes('\x1b'));
});

test('one line per interval, however often it is updated', (t) => {
  const lines: string[] = [];
  const view = new PlainProgress((l) => lines.push(l), 0);
  const p = { size: MiB, bytesHave: MiB / 2, fromSource: MiB / 2, fromPeers: 0, uploaded: 0, connections: 0, seconds: 1 };
  view.update(p);
  t.is(lines.length, 1);
  const slow = new PlainProgress((l) => lines.push(l), 60_000);
  for (let i = 0; i < 100; i++) slow.update(p);
  t.is(lines.length, 1, 'nothing before the first interval has passed');
});

// The protocol's events in words (peer/core/event-log.ts, `get -v`): asked for, the core logs
// the topology server's answer, links, the source's leases and runs, the estimator's state and
// n at debug level; not asked for, it logs none of them (the swarm's peers do not pay for it).
import test from 'ava';
import type { PeerAction } from '../peer/core/events.ts';
import { ofType, SEED, SELF, Script } from './fixtures/scripted-core.ts';

const BLOCK = 1024;
const SIZE = 64 * BLOCK;

/**
 * Peer 1 links to us with half the file, the topology server names one other, and every
 * request and Range GET is answered a step (250 ms) later, so rounds pass meanwhile.
 */
function run(events: boolean): string[] {
  const s = new Script(SIZE, { roundMs: 1000 }, SEED, undefined, SELF, undefined, { events });
  let actions: PeerAction[] = [...s.link(1, 1, [0, 1, 2, 3, 4, 5, 6, 7]), ...s.feed({ type: 'peers', peers: [], count: 2 }, 0)];
  let done = false;
  for (let at = 250; at <= 30_000 && !done; at += 250) {
    const now = [...actions, ...s.tick(at)];
    actions = [];
    for (const a of now) {
      if (a.type === 'complete') done = true;
      else if (a.type === 'store') actions.push(...s.feed({ type: 'stored', index: a.index }));
      else if (a.type === 'send' && a.msg.type === 'REQUEST') actions.push(...s.msg(1, { type: 'BLOCK', index: a.msg.index, data: new Uint8Array(BLOCK) }));
      else if (a.type === 'fetchSource') {
        for (let i = a.first; i < a.first + a.count; i++) actions.push(...s.feed({ type: 'sourceBlock', index: i, data: new Uint8Array(BLOCK) }));
        actions.push(...s.feed({ type: 'sourceEnd', ok: true, first: a.first }));
      }
    }
  }
  s.feed({ type: 'closed', conn: 1, reason: 'it left' });
  return ofType(s.log, 'log').filter((l) => l.level === 'debug').map((l) => l.msg);
}

test('asked for: the topology answer, the link, leases and runs, the estimator, n, the end, a close', (t) => {
  const lines = run(true);
  t.log(lines.join('\n'));
  t.true(lines.includes('topology: no one else named, 2 in the swarm'));
  t.true(lines.some((l) => /^peer 0{8}: mesh neighbor \(it dialled\)$/.test(l)), 'the link');
  t.true(lines.some((l) => /^source: won a lease \(n ≈ \d+\), GET (block \d+|blocks \d+-\d+)$/.test(l)), 'a lease');
  t.true(lines.some((l) => /^bandwidth: (under-utilized|throttle-back|at-capacity): \d+ data connections, updates every \d+ ms, \d+ neighbors/.test(l)), 'the estimator');
  t.true(lines.some((l) => /^group size: n ≈ \d+$/.test(l)), 'n');
  t.true(lines.some((l) => /^every block stored: \d+% from peers, \d+% from the source$/.test(l)), 'the end');
  t.true(lines.includes('peer 00000000: closed (it left)'), 'the close');
  const bandwidth = lines.filter((l) => l.startsWith('bandwidth:'));
  t.is(new Set(bandwidth).size, bandwidth.length, 'a state is logged again only when it changed');
});

test('not asked for: no event lines at all', (t) => {
  t.deepEqual(run(false), []);
});

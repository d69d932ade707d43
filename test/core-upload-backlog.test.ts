// Slow holders (upload-backlog.ts, serving.ts): a peer refuses `busy` what its uplink cannot
// send within BACKLOG_MS, and past half of that keeps it for first copies of blocks only it has.
import test from 'ava';
import { BACKLOG_MS, UploadBacklog } from '../peer/core/upload-backlog.ts';
import { ofType, Script, sent } from './fixtures/scripted-core.ts';

const KiB = 1024;

test('backlog: unmeasured, four serves queue and no more; then the rate seen decides', (t) => {
  let serves = 0;
  const b = new UploadBacklog(256 * KiB, () => serves);
  for (let i = 0; i < 4; i++) {
    t.false(b.full(), `serve ${i}`);
    b.adding(0);
    serves++;
  }
  t.true(b.full(), 'no rate yet: a fifth waits');
  // One block of 256 KiB took a second: 256 KiB/s, so BACKLOG_MS (2 s) holds 2 blocks.
  serves--;
  b.sent(1000, 256 * KiB);
  t.is(Math.round(b.backlogMs()), 3000);
  t.false(b.full(), 'below the floor of four serves, whatever the rate');
  serves = 4;
  t.true(b.full(), 'four queued: a fifth would end 5 s from now');
});

test('backlog: a fast uplink takes many serves; its bound is BACKLOG_MS of what it sends', (t) => {
  let serves = 0;
  const b = new UploadBacklog(256 * KiB, () => serves);
  let now = 0;
  b.adding(now);
  serves = 1;
  for (let i = 0; i < 10; i++) { // 256 KiB every 10 ms: 25 MiB/s
    now += 10;
    b.sent(now, 256 * KiB);
  }
  serves = Math.floor(BACKLOG_MS / 10) - 2;
  t.false(b.full(), `${serves} serves take ${b.backlogMs()} ms`);
  serves = Math.floor(BACKLOG_MS / 10) + 2;
  t.true(b.full(), `${serves} serves take ${b.backlogMs()} ms`);
});

test('backlog: the bound is a parameter (uploadBacklogMs): twice the bound, twice the serves before busy', (t) => {
  for (const bound of [BACKLOG_MS, 2 * BACKLOG_MS]) {
    let serves = 0;
    const b = new UploadBacklog(256 * KiB, () => serves, bound);
    let now = 0;
    b.adding(now);
    serves = 1;
    for (let i = 0; i < 10; i++) { // 256 KiB every 10 ms
      now += 10;
      b.sent(now, 256 * KiB);
    }
    serves = Math.floor(bound / 10) - 2;
    t.false(b.full(), `bound ${bound}: ${serves} serves take ${b.backlogMs()} ms`);
    t.false(b.busy() && b.backlogMs() <= bound / 2, 'busy only past half the bound');
    serves = Math.floor(bound / 10) + 2;
    t.true(b.full(), `bound ${bound}: ${serves} serves take ${b.backlogMs()} ms`);
  }
});

test('backlog: deliveries that come in a burst do not make a slow link look fast', (t) => {
  let serves = 0;
  const b = new UploadBacklog(256 * KiB, () => serves);
  b.adding(0);
  serves = 6;
  // Six blocks shared a 256 KiB/s link and were all acknowledged at once after 6 s.
  for (let i = 0; i < 6; i++) {
    serves--;
    b.sent(6000, 256 * KiB);
  }
  serves = 3;
  t.true(Math.abs(b.backlogMs() - 3000) < 1, `3 blocks at 256 KiB/s: ${b.backlogMs()} ms`);
});

test('through the core: a holder whose uplink drains slowly refuses busy beyond its backlog', (t) => {
  const have = new Uint8Array(2).fill(0xff); // all 10 blocks of 1 KiB
  const s = new Script(10 * KiB - 100, {}, 1, have);
  for (let c = 1; c <= 3; c++) s.link(c, c, []);
  let now = 0;
  const ask = (conn: number, index: number): string => {
    const out = s.feed({ type: 'message', conn, msg: { type: 'REQUEST', index } }, now);
    if (ofType(out, 'serve').length > 0) return 'serve';
    return (sent(out, 'REJECT')[0] as { reason?: string } | undefined)?.reason ?? 'nothing';
  };
  t.deepEqual([ask(1, 0), ask(2, 1), ask(3, 2), ask(1, 3)], ['serve', 'serve', 'serve', 'serve']);
  t.is(ask(2, 4), 'busy', 'no rate known yet: four at once');
  // One block went out after 900 ms: about 1.1 KiB/s. Below the floor of four one more is taken,
  // and then a fifth would end 4.5 s from now: past BACKLOG_MS.
  now = 900;
  s.feed({ type: 'served', conn: 1, index: 0, bytes: 1024 }, now);
  t.is(ask(2, 4), 'serve');
  t.is(ask(3, 5), 'busy');
  // The uplink speeds up (10 ms a block): the same holder takes many again.
  for (const [conn, index] of [[2, 1], [3, 2], [1, 3], [2, 4]] as const) {
    now += 10;
    s.feed({ type: 'served', conn, index, bytes: 1024 }, now);
  }
  const answers = [6, 7, 8, 9, 0, 1, 2, 3].map((i) => ask(1, i));
  t.deepEqual(answers, Array(8).fill('serve'));
});

test('through the core: a busy holder keeps its uplink for first copies of blocks only it has', (t) => {
  const have = new Uint8Array(2).fill(0xff);
  const s = new Script(10 * KiB - 100, {}, 1, have);
  s.link(1, 1, []);
  s.link(2, 2, []);
  s.link(3, 3, [5]); // peer 3 has block 5
  let now = 0;
  const ask = (conn: number, index: number): string => {
    const out = s.feed({ type: 'message', conn, msg: { type: 'REQUEST', index } }, now);
    if (ofType(out, 'serve').length > 0) return 'serve';
    return (sent(out, 'REJECT')[0] as { reason?: string } | undefined)?.reason ?? 'nothing';
  };
  t.is(ask(1, 0), 'serve');
  now = 900; // a block per 900 ms
  s.feed({ type: 'served', conn: 1, index: 0, bytes: 1024 }, now);
  t.is(ask(1, 1), 'serve');
  t.is(ask(2, 2), 'serve', 'two promised: 1.8 s, past half of BACKLOG_MS (1 s)');
  t.is(ask(3, 1), 'busy', 'a second copy of block 1 waits: its first is on the way');
  t.is(ask(2, 5), 'busy', 'block 5: someone else has it');
  t.is(ask(3, 6), 'serve', 'block 6: only we have it and none is on the way');
});

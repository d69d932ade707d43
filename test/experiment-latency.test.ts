// Experiment-only latency on real sockets (127.0.0.1, port 0): two peers' transports with
// SLURPIE_EXPERIMENT_DELAY_MS set (each holds what it receives for both hosts' halves) see every
// request/answer take at least the configured round trip, messages in order, a BYE before the close; `slurpie serve` with
// SLURPIE_EXPERIMENT_SOURCE_DELAYS sends a Range response's first byte no sooner than its delay.
// Lower bounds only: a loaded machine may be slower; a queue whose timers fired late shortens
// its next holds by that lateness, but never below half (experiment-delay.ts).
import test from 'ava';
import { request } from 'node:http';
import type { ConnId } from '../peer/core/events.ts';
import type { Message } from '../peer/core/messages.ts';
import { Transport, type TransportHandlers } from '../peer/node/transport.ts';
import { runSlurpie, scratch, slurpie } from './fixtures/cli-run.ts';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const FILE = { size: 1 << 20, blockSize: 1 << 16 };

interface Side {
  transport: Transport;
  opened: Promise<ConnId>;
  messages: Message[];
  closed: Promise<string>;
  onMessage?: (conn: ConnId, msg: Message) => void;
}

function side(transport: Transport): Side {
  let open!: (c: ConnId) => void;
  let close!: (r: string) => void;
  const s: Side = { transport, opened: new Promise((r) => (open = r)), messages: [], closed: new Promise((r) => (close = r)) };
  const handlers: TransportHandlers = {
    opened: (conn) => open(conn),
    connectFailed: (_peer, reason) => close(`connect failed: ${reason}`),
    message: (conn, msg) => {
      s.messages.push(msg);
      s.onMessage?.(conn, msg);
    },
    malformed: (_conn, code) => close(`malformed: ${code}`),
    closed: (_conn, reason) => close(reason),
  };
  transport.bind(handlers);
  return s;
}

test('two peers with SLURPIE_EXPERIMENT_DELAY_MS: each round trip takes at least 2 x (20 + 40) ms, in order, BYE before the close', async (t) => {
  t.timeout(60_000);
  const saved = process.env.SLURPIE_EXPERIMENT_DELAY_MS;
  process.env.SLURPIE_EXPERIMENT_DELAY_MS = '20'; // a: read from the environment, as `slurpie get` does
  const a = side(new Transport(FILE));
  if (saved === undefined) delete process.env.SLURPIE_EXPERIMENT_DELAY_MS;
  else process.env.SLURPIE_EXPERIMENT_DELAY_MS = saved;
  const b = side(new Transport(FILE, 40));
  t.teardown(async () => {
    await a.transport.stop();
    await b.transport.stop();
  });
  // b answers every REQUEST with a REJECT at once: the round trip is all transport.
  b.onMessage = (conn, msg) => {
    if (msg.type === 'REQUEST') b.transport.send(conn, { type: 'REJECT', index: msg.index, reason: 'busy' });
  };
  const port = await b.transport.listen('127.0.0.1', 0);
  a.transport.connect('b'.repeat(32), '127.0.0.1', port);
  const conn = await a.opened;
  const bConn = await b.opened;

  const rtts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const answered = new Promise<void>((resolve) => (a.onMessage = (_c, m) => m.type === 'REJECT' && m.index === i && resolve()));
    const sent = performance.now();
    a.transport.send(conn, { type: 'REQUEST', index: i });
    await answered;
    rtts.push(performance.now() - sent);
  }
  t.log(`round trips, ms: ${rtts.map((r) => r.toFixed(1)).join(', ')} (configured: 120)`);
  // The first: no lateness known yet, the whole hold. Later ones may be shortened by how late
  // the queues' timers fired so far, but never below half.
  t.true((rtts[0] as number) >= 120, `the first round trip, ${rtts[0]?.toFixed(1)} ms, is shorter than the configured 120 ms`);
  for (const rtt of rtts) t.true(rtt >= 60, `a round trip of ${rtt.toFixed(1)} ms is shorter than half the configured 120 ms`);

  // Many at once: held, not reordered; then a BYE and a close, which must not overtake it.
  const burst = Array.from({ length: 200 }, (_, i) => i);
  for (const index of burst) a.transport.send(conn, { type: 'REQUEST', index: 1000 + index });
  a.transport.send(conn, { type: 'BYE', reason: 'done' });
  a.transport.close(conn, 'done');
  t.regex(await b.closed, /done/);
  const tail = b.messages.slice(5);
  t.deepEqual(tail.map((m) => (m.type === 'REQUEST' ? m.index : m.type)), [...burst.map((i) => 1000 + i), 'BYE']);
  t.true(bConn > 0);
});

test('stop() right after a BYE and a close: the other side gets the BYE, after its hold, then the close', async (t) => {
  t.timeout(60_000);
  const a = side(new Transport(FILE, 50));
  const b = side(new Transport(FILE, 50));
  t.teardown(async () => {
    await a.transport.stop();
    await b.transport.stop();
  });
  // b is the listening side: its stop() closes the server, which waits for every accepted
  // connection to be closed, so a close dropped from the queue would hang it.
  const port = await b.transport.listen('127.0.0.1', 0);
  a.transport.connect('b'.repeat(32), '127.0.0.1', port);
  await a.opened;
  const bConn = await b.opened;
  b.transport.send(bConn, { type: 'BYE', reason: 'leaving' });
  b.transport.close(bConn, 'leaving');
  await b.transport.stop();
  t.regex(await a.closed, /leaving/);
  t.deepEqual(a.messages, [{ type: 'BYE', reason: 'leaving' }]);
});

test('slurpie serve with SLURPIE_EXPERIMENT_SOURCE_DELAYS: the first byte of a Range response waits the listed delay', async (t) => {
  t.timeout(60_000);
  const dir = await scratch(t);
  const file = join(dir, 'file.bin');
  await writeFile(file, Buffer.alloc(64 * 1024, 7));
  const env = { SLURPIE_EXPERIMENT_SOURCE_DELAYS: '127.0.0.1=150' };
  const server = slurpie(t, ['serve', file, '--port', '0'], env);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "serving" line: ${server.stderr()}`)), 30_000);
    const poll = setInterval(() => {
      const m = /^serving (\S+)/m.exec(server.stdout());
      if (m) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    }, 50);
  });
  for (let i = 0; i < 3; i++) {
    const sent = performance.now();
    const { status, firstByte, body } = await new Promise<{ status: number; firstByte: number; body: number }>((resolve, reject) => {
      const req = request(url, { headers: { Range: 'bytes=1024-2047' } }, (res) => {
        let first = 0;
        let n = 0;
        res.on('data', (d: Buffer) => {
          if (n === 0) first = performance.now();
          n += d.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, firstByte: first, body: n }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    t.is(status, 206);
    t.is(body, 1024);
    t.true(firstByte - sent >= 150, `first byte after ${(firstByte - sent).toFixed(1)} ms, before the listed 150 ms`);
  }
});

test('slurpie serve refuses a malformed SLURPIE_EXPERIMENT_SOURCE_DELAYS in one line, exit 2', async (t) => {
  t.timeout(60_000);
  const dir = await scratch(t);
  const file = join(dir, 'file.bin');
  await writeFile(file, 'x');
  const r = await runSlurpie(t, ['serve', file, '--port', '0'], { SLURPIE_EXPERIMENT_SOURCE_DELAYS: '127.0.0.1=soon' });
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /^slurpie: SLURPIE_EXPERIMENT_SOURCE_DELAYS takes "ip=ms,\.\.\." .* got "127\.0\.0\.1=soon"\n$/);
  t.is(r.stdout, '');
});

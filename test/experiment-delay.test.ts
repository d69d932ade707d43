// The experiment-only latency pieces on an injected clock, no sockets: the delay queue a peer's
// transport holds messages in (peer/node/experiment-delay.ts), the source's per-client delays
// (experiments/source/response-delay.ts) and what the testbed gives each host (latency.ts).
// The real sockets are in experiment-latency.test.ts.
import test from 'ava';
import fc from 'fast-check';
import { DelayQueue, experimentDelayMs, experimentDelays, holdMs, type DelayClock } from '../peer/node/experiment-delay.ts';
import { formatSourceDelays, parseSourceDelays, sourceDelaysFromEnv } from '../experiments/source/response-delay.ts';
import { latencyNotes, peerLatencyEnv, sourceLatencyEnv } from '../experiments/testbed/latency.ts';
import { planPeers } from '../experiments/scenarios/plan.ts';
import { loadScenario } from '../experiments/scenarios/scenario-file.ts';
import type { Host, Testbed } from '../experiments/testbed/netns.ts';

/** A clock that moves only when told; timers fire in due order (then set order), possibly late. */
class ManualClock implements DelayClock {
  t = 0;
  lag = 0; // every timer fires this much after its time (a busy machine)
  private seq = 0;
  private readonly timers = new Map<number, { at: number; seq: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): { cancel(): void } {
    const id = this.seq++;
    this.timers.set(id, { at: this.t + ms + this.lag, seq: id, fn });
    return { cancel: () => this.timers.delete(id) };
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Moves to `target`, firing each timer due on the way at its own time (or at `target` with `late`). */
  advanceTo(target: number, late = false): void {
    for (;;) {
      const due = [...this.timers.entries()].filter(([, x]) => x.at <= target).sort((a, b) => a[1].at - b[1].at || a[1].seq - b[1].seq)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = late ? target : Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = target;
  }
}

test('each action runs exactly delayMs after its push, none earlier, in push order', (t) => {
  const clock = new ManualClock();
  const q = new DelayQueue(25, clock);
  const ran: [string, number][] = [];
  q.push(() => ran.push(['a', clock.now()]));
  clock.advanceTo(10);
  q.push(() => ran.push(['b', clock.now()]));
  q.push(() => ran.push(['c', clock.now()]));
  clock.advanceTo(24.9);
  t.deepEqual(ran, []);
  clock.advanceTo(30);
  t.deepEqual(ran, [['a', 25]]);
  clock.advanceTo(100);
  t.deepEqual(ran, [['a', 25], ['b', 35], ['c', 35]]);
  t.is(q.size, 0);
  t.is(clock.pending, 0, 'no timer left armed once empty');
});

test('a late timer releases everything due at once, still in order; an action pushed meanwhile waits its own delay', (t) => {
  const clock = new ManualClock();
  const q = new DelayQueue(10, clock);
  const ran: string[] = [];
  q.push(() => {
    ran.push('a');
    q.push(() => ran.push('d')); // pushed at release time: due 10 ms later
  });
  clock.advanceTo(5);
  q.push(() => ran.push('b'));
  clock.advanceTo(6);
  q.push(() => ran.push('c'));
  clock.advanceTo(50, true); // the event loop was busy: the first timer fires at 50
  t.deepEqual(ran, ['a', 'b', 'c']);
  clock.advanceTo(59.9);
  t.deepEqual(ran, ['a', 'b', 'c']);
  clock.advanceTo(60);
  t.deepEqual(ran, ['a', 'b', 'c', 'd']);
});

test('clear drops what waits and disarms the timer', (t) => {
  const clock = new ManualClock();
  const q = new DelayQueue(10, clock);
  let ran = 0;
  q.push(() => ran++);
  q.push(() => ran++);
  q.clear();
  t.is(clock.pending, 0);
  clock.advanceTo(100);
  t.is(ran, 0);
  q.push(() => ran++);
  clock.advanceTo(110);
  t.is(ran, 1, 'usable again after clear');
});

test('property: with timers on time, any pushes at any times run in push order, none before its due time', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 200 }), fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 60 }), (delay, gaps) => {
      const clock = new ManualClock();
      const q = new DelayQueue(delay, clock);
      const ran: { i: number; pushedAt: number; at: number }[] = [];
      gaps.forEach((gap, i) => {
        clock.advanceTo(clock.t + gap);
        const pushedAt = clock.now();
        q.push(() => ran.push({ i, pushedAt, at: clock.now() }));
      });
      clock.advanceTo(clock.t + delay + 1);
      return ran.length === gaps.length && ran.every((r, k) => r.i === k && r.at >= r.pushedAt + delay) && q.lateness === 0;
    }),
  );
  t.pass();
});

test('property: with late timers, in push order, never before the push, early by at most the lateness average (at most half the delay)', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 200 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean(), fc.integer({ min: 0, max: 30 })), { minLength: 1, maxLength: 60 }), (delay, steps) => {
      const clock = new ManualClock();
      const q = new DelayQueue(delay, clock);
      const ran: { i: number; pushedAt: number; at: number; lateness: number }[] = [];
      steps.forEach(([gap, late, lag], i) => {
        clock.lag = lag;
        clock.advanceTo(clock.t + gap, late);
        const pushedAt = clock.now();
        q.push(() => ran.push({ i, pushedAt, at: clock.now(), lateness: q.lateness }));
      });
      clock.advanceTo(clock.t + delay + 100);
      return ran.length === steps.length && ran.every((r, k) => r.i === k && r.at >= r.pushedAt && r.at >= r.pushedAt + delay - r.lateness - 1e-9 && r.lateness <= delay / 2);
    }),
  );
  t.pass();
});

test('timers that fire 6 ms late: the 20 ms holds, lateness included, come down to about 20 ms', (t) => {
  const clock = new ManualClock();
  clock.lag = 6;
  const q = new DelayQueue(20, clock);
  const holds: number[] = [];
  for (let i = 0; i < 40; i++) {
    const pushedAt = clock.now();
    q.push(() => holds.push(clock.now() - pushedAt));
    clock.advanceTo(clock.t + 30);
  }
  t.is(holds.length, 40);
  t.is(holds[0], 26, 'the first hold pays the whole lateness');
  for (const h of holds.slice(-10)) t.true(h >= 19.5 && h <= 20.5, `hold ${h} ms, not about 20`);
  t.true(Math.abs(q.lateness - 6) < 0.5, `lateness average ${q.lateness}`);
});

test('SLURPIE_EXPERIMENT_DELAY_MS: unset is 0, a number of ms is taken, anything else refused in one line', (t) => {
  t.is(experimentDelayMs({}), 0);
  t.is(experimentDelayMs({ SLURPIE_EXPERIMENT_DELAY_MS: '' }), 0);
  t.is(experimentDelayMs({ SLURPIE_EXPERIMENT_DELAY_MS: '12.5' }), 12.5);
  for (const bad of ['-1', 'ten', '10001', 'Infinity']) {
    t.throws(() => experimentDelayMs({ SLURPIE_EXPERIMENT_DELAY_MS: bad }), { message: new RegExp(`^SLURPIE_EXPERIMENT_DELAY_MS must be .*got "${bad}"$`) });
  }
});

test('source delays: by client address (IPv4-mapped too), 0 for anyone unlisted, malformed lists refused', (t) => {
  const delay = parseSourceDelays('10.77.0.4=70, 10.77.0.5=120.5');
  t.is(delay('10.77.0.4'), 70);
  t.is(delay('::ffff:10.77.0.5'), 120.5);
  t.is(delay('10.77.0.1'), 0);
  t.is(delay(undefined), 0);
  t.is(sourceDelaysFromEnv({}), undefined);
  t.is(sourceDelaysFromEnv({ SLURPIE_EXPERIMENT_SOURCE_DELAYS: '10.0.0.9=3' })?.('10.0.0.9'), 3);
  for (const bad of ['10.0.0.1', '10.0.0.1=-3', 'host=5', '10.0.0.1=99999']) t.throws(() => parseSourceDelays(bad), { message: /SLURPIE_EXPERIMENT_SOURCE_DELAYS takes/ });
  t.is(formatSourceDelays(new Map([['10.0.0.2', 40], ['10.0.0.3', 0]])), '10.0.0.2=40');
});

test('an action pushed while earlier ones are due runs them first, without waiting for the (late) timer', (t) => {
  const clock = new ManualClock();
  const q = new DelayQueue(10, clock);
  const ran: [string, number][] = [];
  q.push(() => ran.push(['a', clock.now()]));
  clock.t = 30; // the timer due at 10 has not fired yet (a busy loop); a message arrives
  q.push(() => ran.push(['b', clock.now()]));
  t.deepEqual(ran, [['a', 30]], 'a ran on the arrival, before b was queued');
  clock.advanceTo(39.9);
  t.deepEqual(ran, [['a', 30]]);
  clock.advanceTo(40);
  t.deepEqual(ran, [['a', 30], ['b', 40]]);
  t.is(clock.pending, 0);
});

test("SLURPIE_EXPERIMENT_PEER_DELAYS: the hold is own half + the sending host's half (own again when unlisted)", (t) => {
  t.is(experimentDelays({}), null);
  t.is(experimentDelays({ SLURPIE_EXPERIMENT_DELAY_MS: '0' }), null);
  const d = experimentDelays({ SLURPIE_EXPERIMENT_DELAY_MS: '10', SLURPIE_EXPERIMENT_PEER_DELAYS: '10.77.0.5=25, 10.77.0.6=0' });
  if (!d) return t.fail('no delays');
  t.is(holdMs(d, '10.77.0.5'), 35);
  t.is(holdMs(d, '::ffff:10.77.0.5'), 35);
  t.is(holdMs(d, '10.77.0.6'), 10);
  t.is(holdMs(d, '10.77.0.9'), 20);
  t.is(holdMs(d, undefined), 20);
  const onlyOthers = experimentDelays({ SLURPIE_EXPERIMENT_PEER_DELAYS: '10.77.0.5=25' });
  t.is(onlyOthers && holdMs(onlyOthers, '10.77.0.5'), 25, 'a host without latency still holds what comes from a distant one');
  t.throws(() => experimentDelays({ SLURPIE_EXPERIMENT_PEER_DELAYS: '10.77.0.5=soon' }), { message: /^SLURPIE_EXPERIMENT_PEER_DELAYS takes "ip=ms,\.\.\." .*got "10\.77\.0\.5=soon"$/ });
});

test('planetlab-55 in the testbed: a message waits (a + b) / 2 from host a to host b, the source waits source + peer latency', async (t) => {
  const s = await loadScenario('planetlab-55');
  const peers = planPeers(s);
  const hosts = new Map<string, Host>(peers.map((p, i) => [p.id, { name: p.id, ns: `slp-x-${p.id}`, ip: `10.77.0.${i + 4}`, outer: `slpx-${i}` }]));
  const testbed: Testbed = { runId: 'x', bridge: 'slp-x', bridgeIp: '10.77.0.1', hosts };
  const source = parseSourceDelays(sourceLatencyEnv(testbed, s, peers).SLURPIE_EXPERIMENT_SOURCE_DELAYS ?? '');
  const latencies = new Set<number>();
  for (const p of peers) {
    latencies.add(p.link.latencyMs);
    t.is(source(hosts.get(p.id)?.ip), s.source.latencyMs + p.link.latencyMs);
    const env = peerLatencyEnv(p, testbed, peers);
    t.is(env.SLURPIE_EXPERIMENT_DELAY_MS, String(p.link.latencyMs / 2));
    const delays = experimentDelays(env);
    if (!delays) return t.fail(`${p.id}: no delays`);
    for (const q of peers) t.is(holdMs(delays, hosts.get(q.id)?.ip), (p.link.latencyMs + q.link.latencyMs) / 2, `${q.id} -> ${p.id}`);
  }
  t.deepEqual([...latencies].sort((a, b) => a - b), [20, 50, 100], 'all three link classes drawn');
  t.regex(latencyNotes(s, peers, true).join(' '), /emulated per message.*not emulated: TCP/);
  t.regex(latencyNotes(s, peers, false).join(' '), /not emulated \(--no-latency\)/);
});

// The simulator's optional CPU model (experiments/sim/cpu.ts): peers' processes queue for a few
// cores, each peer's work serial and in order, and what a peer does waits for its CPU work.
import test from 'ava';
import fc from 'fast-check';
import { seedFrom } from '../estimation/random.ts';
import type { PeerAction, PeerEvent } from '../peer/core/events.ts';
import { canonical } from '../experiments/sim/compare-results.ts';
import { CpuModel, type CpuWorld } from '../experiments/sim/cpu.ts';
import { measuredCpu } from '../experiments/sim/cpu-model.ts';
import { resolveScenario, type SimCpu } from '../experiments/sim/scenario.ts';
import { newSimPeer } from '../experiments/sim/sim-peer.ts';
import { simulate, type SimResult, type SimScenario } from '../experiments/sim/simulate.ts';
import { Agenda, type SimPeer } from '../experiments/sim/world.ts';

const seed = seedFrom(process.env, 11);
const MiB = 1024 * 1024;
const FREE: SimCpu = { cores: 1, startupMs: 0, eventMs: 0, mibMs: 0 };

const swarm: SimScenario = { peers: 8, size: 4 * MiB, sourceRate: 2 * MiB, peerUp: 8 * MiB, peerDown: 8 * MiB, latencyMs: 5, seed };

/** The result without the CPU model's own summary, as the CLI would write it. */
function withoutCpu(r: SimResult): string {
  const { cpu: _cpu, ...rest } = r;
  return canonical(rest as unknown as Record<string, unknown>);
}

/** When each traced peer's core first handled an event (its topology answer, after registering). */
function firstHandled(s: SimScenario): { result: SimResult; first: Map<number, number> } {
  const first = new Map<number, number>();
  const all = Array.from({ length: s.peers }, (_, i) => i);
  const result = simulate(s, {
    trace: {
      peers: all,
      log: (line) => {
        const m = /^t=([\d.]+) peer (\d+) <- /.exec(line);
        if (m && !first.has(Number(m[2]))) first.set(Number(m[2]), Number(m[1]));
      },
    },
  });
  return { result, first };
}

test('a CPU model that costs nothing changes nothing: the same run as without it, event for event', (t) => {
  for (const s of [swarm, { ...swarm, peers: 12, arrivalSpreadMs: 2000, seed: seed + 1 }]) {
    const off = simulate(s);
    const free = simulate({ ...s, cpu: FREE });
    t.is(off.outcome, 'complete', off.problem ?? '');
    t.is(off.cpu, undefined, 'no cpu summary when the model is off');
    t.is(free.cpu?.busySeconds, 0);
    t.true((free.cpu?.jobs ?? 0) > 0, 'every event went through the model');
    t.is(withoutCpu(free), withoutCpu(off));
  }
});

test('start-up queues for the cores: 8 peers, 1 s each, share 1 core and all register after 8 s (2 cores: 4 s)', (t) => {
  const free = firstHandled(swarm);
  const L = swarm.latencyMs; // one hop; registering and its answer take two
  for (let i = 0; i < swarm.peers; i++) t.is(free.first.get(i), 2 * L, `peer ${i} without a CPU model`);
  for (const cores of [1, 2]) {
    const cpu = { cores, startupMs: 1000, eventMs: 0, mibMs: 0 };
    const { result, first } = firstHandled({ ...swarm, cpu });
    const upAt = (swarm.peers * 1000) / cores; // processor sharing: all finish together
    t.is(result.outcome, 'complete', result.problem ?? '');
    t.deepEqual(result.cpu?.startupDelay, { p50: upAt / 1000, max: upAt / 1000 });
    for (let i = 0; i < swarm.peers; i++) t.true(Math.abs((first.get(i) as number) - (upAt + 2 * L)) < 1e-6, `peer ${i} first handled at ${first.get(i)}`);
    t.true(result.meanSeconds > free.result.meanSeconds + upAt / 1000 - 0.01, `mean ${result.meanSeconds} s vs ${free.result.meanSeconds} s without`);
    t.deepEqual(result.anomalies, []);
  }
});

test('launchSlots: start-ups in turn, each at a core\'s speed; the wait counts, and the first peers start sooner', (t) => {
  const shared = { cores: 2, startupMs: 1000, eventMs: 0, mibMs: 0 };
  const together = simulate({ ...swarm, cpu: shared });
  for (const [slots, ends] of [[1, [1, 2, 3, 4, 5, 6, 7, 8]], [2, [1, 1, 2, 2, 3, 3, 4, 4]]] as const) {
    const { result, first } = firstHandled({ ...swarm, cpu: { ...shared, launchSlots: slots } });
    t.is(result.outcome, 'complete', result.problem ?? '');
    const L = swarm.latencyMs;
    const handled = [...first.values()].map((ms) => Math.round(ms - 2 * L)).sort((a, b) => a - b);
    t.deepEqual(handled, ends.map((s) => s * 1000), `${slots} slot(s): peers registered at ${handled}`);
    t.is(result.cpu?.startupDelay.max, ends[7]);
    t.is(result.cpu?.startupDelay.p50, ends[4]);
    t.true(result.meanSeconds < (together.meanSeconds as number), `${slots} slot(s): mean ${result.meanSeconds} s against ${together.meanSeconds} s all at once`);
  }
});

test('a crowd still starting up is not a stall: 8 s of start-up with stallMs 5 s completes', (t) => {
  const r = simulate({ ...swarm, stallMs: 5000, cpu: { cores: 1, startupMs: 1000, eventMs: 0, mibMs: 0 } });
  t.is(r.outcome, 'complete', r.problem ?? '');
  t.is(r.cpu?.startupDelay.max, 8);
});

test('message handling waits for the CPU: every REQUEST is answered after its server handled it and sent the BLOCK', (t) => {
  const off = simulate(swarm);
  const eventMs = 20;
  const on = simulate({ ...swarm, cpu: { cores: 1, startupMs: 0, eventMs, mibMs: 0 } });
  t.is(on.outcome, 'complete', on.problem ?? '');
  t.deepEqual(on.anomalies, []);
  // The server's process handles the REQUEST (20 ms) and sends the BLOCK (20 ms) before it leaves.
  t.true(on.requestLatencyMs.p50 >= off.requestLatencyMs.p50 + 2 * eventMs, `p50 ${on.requestLatencyMs.p50} ms vs ${off.requestLatencyMs.p50} ms`);
  t.true(on.meanSeconds > off.meanSeconds, `${on.meanSeconds} s vs ${off.meanSeconds} s`);
  // The CPU it charged: every message counted once sent and once received, every tick.
  const messages = Object.values(on.messages).reduce((n, m) => n + m.count, 0);
  t.true((on.cpu?.busySeconds ?? 0) >= (2 * messages * eventMs) / 1000 - (on.droppedMessages * eventMs) / 1000, `${on.cpu?.busySeconds} CPU-s for ${messages} messages`);
});

test('the measured costs at lan-48 scale: the run completes with its CPU and start-up delays in range', (t) => {
  const lan: SimScenario = { peers: 48, size: 32 * MiB, sourceRate: 1_250_000, peerUp: 12_500_000, peerDown: 12_500_000, latencyMs: 1, seed: 48, cpu: measuredCpu(2) };
  const r = simulate(lan);
  t.is(r.outcome, 'complete', r.problem ?? '');
  t.deepEqual(r.anomalies, []);
  t.true(Math.abs((r.cpu?.startupDelay.p50 ?? 0) - (48 * 0.13) / 2) < 0.01, `start-up delay ${r.cpu?.startupDelay.p50} s`);
  // The CPU it charged cannot exceed 2 cores for the whole run, and is at least start-up plus the bytes.
  const busy = r.cpu?.busySeconds ?? 0;
  t.true(busy <= 2 * r.simSeconds, `${busy} CPU-s in ${r.simSeconds} s`);
  t.true(busy >= 48 * 0.13 + (2 * 48 * 32 * 6.17) / 1000 - 1, `${busy} CPU-s`);
});

// The model alone, against a world that records what it is asked to do.
interface Job { peer: number; id: number; work: number; submittedAt: number }
interface Done { peer: number; id: number; handledAt: number; doneAt: number; work: number }

/** A message starts (bytesPerMs > 0) or stops (< 0) trickling into a peer at `at`. */
interface Inflow { peer: number; at: number; bytesPerMs: number }

function runModel(cores: number, peers: number, jobs: Job[], startupMs: number, wakeMs = 0, reads: { readBytes: number; inflows: Inflow[] } | null = null): { done: Done[]; started: Map<number, number>; wakes: number; reads: number; waitSeconds: number } {
  const c = resolveScenario({ ...swarm, peers });
  const agenda = new Agenda();
  const sims = Array.from({ length: peers }, (_, i) => newSimPeer(i, `id${i}`, 0, c.links[i] as SimPeer['link'], c.blocks));
  const handled = new Map<PeerEvent, number>();
  const done: Done[] = [];
  const started = new Map<number, number>();
  const world: CpuWorld = {
    handle: (_p: SimPeer, ev: PeerEvent): readonly PeerAction[] => {
      handled.set(ev, agenda.now);
      return [];
    },
    carryOut: (p: SimPeer, ev: PeerEvent) => {
      const job = ev.type === 'sourceBlock' ? ev.index : -1;
      done.push({ peer: p.index, id: job, handledAt: handled.get(ev) as number, doneAt: agenda.now, work: ev.type === 'sourceBlock' ? ev.data.length : 0 });
    },
    started: (p: SimPeer) => void started.set(p.index, agenda.now),
    dropped: () => {
      throw new Error('nothing here can be dropped');
    },
  };
  // mibMs = 1 MiB: a sourceBlock of n bytes is n ms of work.
  const model = new CpuModel(c, { cores, startupMs, eventMs: 0, mibMs: MiB, wakeMs, ...(reads && { readBytes: reads.readBytes }) }, agenda, world, peers);
  for (const p of sims) model.launch(p);
  for (const j of jobs) agenda.push(j.submittedAt, { k: 'deliver', p: sims[j.peer] as SimPeer, ev: { type: 'sourceBlock', index: j.id, data: new Uint8Array(j.work), digest: new Uint8Array(32) } });
  const inflows = [...(reads?.inflows ?? [])].sort((a, b) => a.at - b.at);
  while (agenda.size > 0 || inflows.length > 0) {
    // A change of inflow due before the next event happens first (ties: the change first).
    if (inflows.length > 0 && (agenda.size === 0 || (inflows[0] as Inflow).at <= agenda.peekTime())) {
      const f = inflows.shift() as Inflow;
      agenda.now = f.at;
      model.inflow(sims[f.peer] as SimPeer, f.bytesPerMs);
      continue;
    }
    const at = agenda.peekTime();
    const e = agenda.pop();
    agenda.now = at;
    if (e?.k === 'cpu') model.step(e.token);
    else if (e?.k === 'deliver') model.submit(e.p, e.ev);
    else if (e?.k === 'cpuRead') model.read(e.p, e.token);
  }
  const summary = model.summary();
  return { done, started, wakes: summary.wakes, reads: summary.reads, waitSeconds: summary.waitSeconds };
}

test('a wake-up costs only an idle process: a job arriving while its peer is busy pays none, one after a pause pays wakeMs', (t) => {
  // One peer, 10 ms jobs at 0 and 5 (the second queues behind the first), then at 100 (idle again).
  const jobs = [0, 5, 100].map((submittedAt, id) => ({ peer: 0, id, work: 10, submittedAt }));
  const free = runModel(1, 1, jobs, 0);
  t.deepEqual(free.done.map((d) => d.doneAt), [10, 20, 110]);
  const woken = runModel(1, 1, jobs, 0, 3);
  t.deepEqual(woken.done.map((d) => d.doneAt), [13, 23, 113]);
  t.is(woken.wakes, 2);
  // Two peers on one core: each is woken once, and shares the core while both run.
  const two = runModel(1, 2, [0, 1].map((peer) => ({ peer, id: peer, work: 10, submittedAt: 0 })), 0, 2);
  t.deepEqual(two.done.map((d) => d.doneAt), [24, 24]);
  t.is(two.wakes, 2);
});

test('reads off a trickle: an idle process wakes every readBytes, a busy one reads what came in its turn, none once it has all come', (t) => {
  // 10 bytes/ms from 0 to 1000 ms, a wake every 1000 bytes, each 1 ms of CPU: reads at 100,
  // 201, 302, ... 908 (the next, due at 1009, is called off at 1000: nothing more is coming).
  const idle = runModel(1, 1, [], 0, 1, { readBytes: 1000, inflows: [{ peer: 0, at: 0, bytesPerMs: 10 }, { peer: 0, at: 1000, bytesPerMs: -10 }] });
  t.is(idle.reads, 9);
  t.is(idle.wakes, 9);
  // A 500 ms job from 0: what comes meanwhile is read in its turn; then reads at 601, 702, 803, 904.
  const busy = runModel(1, 1, [{ peer: 0, id: 0, work: 500, submittedAt: 0 }], 0, 1, { readBytes: 1000, inflows: [{ peer: 0, at: 0, bytesPerMs: 10 }, { peer: 0, at: 1000, bytesPerMs: -10 }] });
  t.is(busy.reads, 4);
  t.is(busy.wakes, 5); // the job's own wake-up, then the four reads
  t.deepEqual(busy.done.map((d) => d.doneAt), [501]);
  // Twice the rate: twice as many reads; two messages at once add their rates.
  const two = runModel(1, 1, [], 0, 1, { readBytes: 1000, inflows: [{ peer: 0, at: 0, bytesPerMs: 10 }, { peer: 0, at: 0, bytesPerMs: 10 }, { peer: 0, at: 1000, bytesPerMs: -20 }] });
  t.is(two.reads, 19); // at 50, 101, 152, ... 968
  // Without readBytes, or without a wake-up cost, a trickle wakes no one.
  t.is(runModel(1, 1, [], 0, 1, { readBytes: 0, inflows: [{ peer: 0, at: 0, bytesPerMs: 10 }] }).reads, 0);
  t.is(runModel(1, 1, [], 0, 0, { readBytes: 1000, inflows: [{ peer: 0, at: 0, bytesPerMs: 10 }, { peer: 0, at: 1000, bytesPerMs: -10 }] }).reads, 0);
});

test('reads in the whole simulator: blocks and source responses read in pieces cost wake-ups and CPU, and a run replays exactly', (t) => {
  const cpu: SimCpu = { cores: 2, startupMs: 10, eventMs: 0.2, mibMs: 6, wakeMs: 0.5 };
  const whole = simulate({ ...swarm, cpu });
  const pieces = simulate({ ...swarm, cpu: { ...cpu, readBytes: 1448 } });
  t.is(pieces.outcome, 'complete', pieces.problem ?? '');
  t.deepEqual(pieces.anomalies, []);
  t.is(whole.cpu?.reads, 0);
  // 8 peers x 4 MiB arrive in pieces: at most one read per 1448 bytes, and many more than one per block.
  const reads = pieces.cpu?.reads ?? 0;
  t.true(reads > 8 * 16 && reads <= (8 * 4 * MiB) / 1448 + 8 * 16, `${reads} reads`);
  t.true((pieces.cpu?.busySeconds ?? 0) > (whole.cpu?.busySeconds ?? 0) + (reads * 0.5) / 1000 / 2, `${pieces.cpu?.busySeconds} against ${whole.cpu?.busySeconds} CPU-s`);
  t.is(canonical(simulate({ ...swarm, cpu: { ...cpu, readBytes: 1448 } }) as unknown as Record<string, unknown>), canonical(pieces as unknown as Record<string, unknown>));
});

test('processor sharing: 3 jobs of 30 ms on 2 cores end together at 45 ms, each 15 ms waiting for a core; 2 of them at 30 ms, none', (t) => {
  const three = runModel(2, 3, [0, 1, 2].map((peer) => ({ peer, id: peer, work: 30, submittedAt: 0 })), 0);
  t.deepEqual(three.done.map((d) => d.doneAt), [45, 45, 45]);
  t.is(three.waitSeconds, 0.045);
  const two = runModel(2, 2, [0, 1].map((peer) => ({ peer, id: peer, work: 30, submittedAt: 0 })), 0);
  t.deepEqual(two.done.map((d) => d.doneAt), [30, 30]);
  t.is(two.waitSeconds, 0);
});

test('property: each peer handles its events in the order they came, one at a time, never faster than a core, within the cores', (t) => {
  const job = (peers: number) => fc.record({ peer: fc.nat(peers - 1), work: fc.integer({ min: 0, max: 40 }), submittedAt: fc.integer({ min: 0, max: 200 }) });
  const scenario = fc.integer({ min: 1, max: 6 }).chain((peers) => fc.record({ peers: fc.constant(peers), cores: fc.integer({ min: 1, max: 3 }), startupMs: fc.integer({ min: 0, max: 50 }), jobs: fc.array(job(peers), { maxLength: 60 }) }));
  fc.assert(
    fc.property(scenario, ({ peers, cores, startupMs, jobs }) => {
      const numbered: Job[] = jobs.map((j, id) => ({ ...j, id }));
      const { done, started } = runModel(cores, peers, numbered, startupMs);
      if (done.length !== numbered.length) return false;
      for (let p = 0; p < peers; p++) {
        // Submission order: by time, then by push order (the agenda's tie rule).
        const mine = numbered.filter((j) => j.peer === p).sort((a, b) => a.submittedAt - b.submittedAt || a.id - b.id);
        const seen = done.filter((d) => d.peer === p);
        if (seen.map((d) => d.id).join() !== mine.map((j) => j.id).join()) return false; // in order
        let free = started.get(p) ?? Infinity; // nothing before its start-up is done
        for (const [i, d] of seen.entries()) {
          const submitted = (mine[i] as Job).submittedAt;
          if (d.handledAt < Math.max(free, submitted) - 1e-9) return false; // serial, and not before it came
          if (d.doneAt < d.handledAt + d.work - 1e-6) return false; // at most one core's speed
          free = d.doneAt;
        }
      }
      // Within the cores: work done by any job's end is at most cores x that time.
      for (const d of done) {
        const by = done.filter((e) => e.doneAt <= d.doneAt).reduce((n, e) => n + e.work, 0) + (startupMs > 0 ? startupMs * [...started.values()].filter((s) => s <= d.doneAt).length : 0);
        if (by > cores * d.doneAt + 1e-6) return false;
      }
      return true;
    }),
    { seed, numRuns: 200 },
  );
  t.pass();
});

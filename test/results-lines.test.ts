// The lines under an experiment's table: what the testbed's peer processes spent in CPU (beside
// the simulator's CPU model), the simulator against the testbed when a run has both, and the
// messages a peer sent.
import test from 'ava';
import { busyLine } from '../experiments/testbed/refusals.ts';
import { coreWaits, cpuUsed, hostLoad, machineCpuLine, markdownTable, messagesSent, simAgainstTestbed, summarize, type PeerResult, type SystemResult } from '../experiments/testbed/results.ts';
import type { Scenario } from '../experiments/scenarios/scenario-file.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeMachine, machineCpuBetween, machineInfo, readCpuTimes } from '../experiments/testbed/machine.ts';
import { medianProgress, progressLine } from '../experiments/testbed/progress.ts';
import { probeCpuMs, probeMedianMs } from '../experiments/testbed/speed-probe.ts';
import { isThreadSwitches, mainThreadSwitches, parseThreadSwitches } from '../bin/thread-switches.ts';

const MiB = 1048576;

function peer(id: string, extra: Partial<PeerResult>): PeerResult {
  return { id, linkClass: null, arrivalSeconds: 0, seconds: 10, ownSeconds: 9, fromSource: 2 * MiB, fromPeers: 30 * MiB, uploaded: 32 * MiB, maxRssBytes: null, ok: true, left: false, ...extra };
}

function system(name: string, perPeer: PeerResult[]) {
  return summarize({ system: name, stopped: false, timeLimitSeconds: 60, wallSeconds: 12, sourceBytes: 32 * MiB, peakSourceGets: 3, fileBytes: 32 * MiB, tMinSeconds: 8, perPeer });
}

test('sums the CPU of the peers that report it, start-up apart, per MiB moved after start-up', (t) => {
  const line = cpuUsed(system('slurpie', [
    peer('p1', { cpuSeconds: 1.1, startupCpuSeconds: 0.1 }),
    peer('p2', { cpuSeconds: 0.9, startupCpuSeconds: 0.1 }),
    peer('p3', { cpuSeconds: 5 }), // no start-up figure: left out, not guessed
  ]));
  // (2.0 - 0.2) CPU-s over 2 x 64 MiB moved
  t.is(line, "CPU used by slurpie's 2 peer processes: 2.0 CPU-s in all, 0.100 CPU-s each to start, 14.1 CPU-ms per MiB moved after start-up.");
});

test('CPU a second in the swarm: after start-up, from the download\'s start to the exit, over the peers that report both', (t) => {
  const line = cpuUsed(system('slurpie', [
    // launched 1 s after arriving, 0.5 s to start, out at 21 s: 19.5 s in the swarm
    peer('p1', { cpuSeconds: 1.1, startupCpuSeconds: 0.1, exitSeconds: 21, launchDelaySeconds: 1, startupSeconds: 0.5 }),
    peer('p2', { cpuSeconds: 0.9, startupCpuSeconds: 0.1, exitSeconds: 10.5, startupSeconds: 0.5 }), // 10 s
    peer('p3', { cpuSeconds: 0.6, startupCpuSeconds: 0.1 }), // no exit time: in the sums above, not in this one
  ]));
  // (1.0 + 0.8) CPU-s over 29.5 s = 61.0 CPU-ms a second
  t.regex(line ?? '', /, 61\.0 CPU-ms a second from start-up to exit\.$/);
  t.false(cpuUsed(system('slurpie', [peer('p1', { cpuSeconds: 1.1, startupCpuSeconds: 0.1 })]))?.includes('a second'), 'no exit times: no figure');
});

test('says nothing for a system whose peers report no CPU (curl, BitTorrent)', (t) => {
  t.is(cpuUsed(system('http', [peer('p1', {}), peer('p2', { cpuSeconds: 1 })])), null);
});

test('a peer that moved nothing gives no per-MiB figure', (t) => {
  const line = cpuUsed(system('slurpie', [peer('p1', { cpuSeconds: 0.3, startupCpuSeconds: 0.1, fromSource: null, fromPeers: null, uploaded: null })]));
  t.is(line, "CPU used by slurpie's 1 peer processes: 0.3 CPU-s in all, 0.100 CPU-s each to start.");
});

test('with --peer-entry-b, each build\'s CPU per MiB beside the whole, and b / a', (t) => {
  const line = cpuUsed(system('slurpie', [
    peer('p1', { cpuSeconds: 1.1, startupCpuSeconds: 0.1, build: 'a' }),
    peer('p2', { cpuSeconds: 0.6, startupCpuSeconds: 0.1, build: 'b' }),
    peer('p3', { cpuSeconds: 1.3, startupCpuSeconds: 0.1, build: 'a' }),
    peer('p4', { cpuSeconds: 0.8, startupCpuSeconds: 0.2, build: 'b' }),
  ]));
  // a: (2.4 - 0.2) CPU-s over 128 MiB = 17.2; b: (1.4 - 0.3) over 128 MiB = 8.6
  t.is(line, "CPU used by slurpie's 4 peer processes: 3.8 CPU-s in all, 0.125 CPU-s each to start, 12.9 CPU-ms per MiB moved after start-up. " +
    'By build, in the same swarm (every other peer is b): a 17.2 (2 peers), b 8.6 (2 peers) CPU-ms per MiB moved after start-up, b / a 0.500; ' +
    'CPU-s a peer after start-up a 1.100, b 0.550, b / a 0.500; start-up a 0.100, b 0.150 CPU-s each.');
  // A build whose peers upload twice as much looks twice as light per MiB, not per peer.
  const uploader = cpuUsed(system('slurpie', [
    peer('p1', { cpuSeconds: 1.1, startupCpuSeconds: 0.1, build: 'a', uploaded: 32 * MiB }),
    peer('p2', { cpuSeconds: 1.1, startupCpuSeconds: 0.1, build: 'b', uploaded: 96 * MiB }),
  ]));
  t.regex(uploader ?? '', /b \/ a 0\.500; CPU-s a peer after start-up a 1\.000, b 1\.000, b \/ a 1\.000;/);
  const oneSided = cpuUsed(system('slurpie', [peer('p1', { cpuSeconds: 1.1, startupCpuSeconds: 0.1, build: 'a' }), peer('p2', { cpuSeconds: 5, build: 'b' })]));
  t.false(oneSided?.includes('By build'), 'no b peer reported its CPU: no comparison');
});

/** A system whose peers all took `seconds`, with `sourceMiB` from the source (F = 32 MiB). */
function timed(name: string, seconds: number, sourceMiB: number, skipped?: string) {
  const r = summarize({ system: name, stopped: false, timeLimitSeconds: 60, wallSeconds: seconds, sourceBytes: sourceMiB * MiB, peakSourceGets: 3, fileBytes: 32 * MiB, tMinSeconds: 8, perPeer: [peer('p1', { seconds }), peer('p2', { seconds })], ...(skipped !== undefined && { skipped }) });
  return r;
}

test('the simulator against the testbed: sim / slurpie on mean time and source bytes, each judged within 20% as shown', (t) => {
  t.is(simAgainstTestbed([timed('slurpie', 10, 32), timed('http', 40, 64), timed('sim', 9, 32)]),
    'Simulator against testbed (sim / slurpie): mean time 0.90, source bytes 1.00: both within 20%.');
  t.is(simAgainstTestbed([timed('slurpie', 10, 32), timed('sim', 7.9, 32)]),
    'Simulator against testbed (sim / slurpie): mean time 0.79, source bytes 1.00: source bytes within 20%, time not.');
  // 0.7996 reads 0.80: it agrees as the table shows it.
  t.regex(simAgainstTestbed([timed('slurpie', 10, 32), timed('sim', 7.996, 32)]) ?? '', /mean time 0\.80, .*: both within 20%\.$/);
  t.regex(simAgainstTestbed([timed('slurpie', 10, 32), timed('sim', 10, 52)]) ?? '', /source bytes 1\.63: time within 20%, source bytes not\.$/);
  t.regex(simAgainstTestbed([timed('slurpie', 10, 32), timed('sim', 13, 52)]) ?? '', /: neither within 20%\.$/);
});

test('no simulator line without both: slurpie skipped, or no sim in the run', (t) => {
  t.is(simAgainstTestbed([timed('slurpie', 10, 32), timed('http', 40, 64)]), null);
  t.is(simAgainstTestbed([timed('slurpie', 10, 32, 'not installed'), timed('sim', 9, 32)]), null);
});

/** A peer's counts as its stats.json has them (received is not part of the line). */
const counted = (sent: Record<string, number>): Partial<PeerResult> => ({ messages: { sent, received: { HELLO: 1 } } });

test('messages a peer sent: the mean by type over the peers that report counts, most first, and in all', (t) => {
  const line = messagesSent(system('slurpie', [
    peer('p1', counted({ HELLO: 40, BYE: 12, UPDATE: 900, 'UPDATE-news': 500, DIGESTS: 600, REQUEST: 200, BLOCK: 120, REJECT: 100 })),
    peer('p2', counted({ UPDATE: 846, DIGESTS: 620, 'UPDATE-news': 472, REQUEST: 248, BLOCK: 132, REJECT: 96, HELLO: 36, BYE: 12 })),
    peer('p3', { ok: false, error: 'exit 1' }), // failed: wrote no counts, left out rather than counted as zeros
  ]));
  t.is(line, 'Messages a slurpie peer sent (mean over 2 peers): UPDATE 873, DIGESTS 610, UPDATE-news 486, REQUEST 224, BLOCK 126, REJECT 98, HELLO 38, BYE 12; 2,467 in all');
});

test('messages: each mean rounded, ties by name, a type only some peers sent averaged over all that report', (t) => {
  const line = messagesSent(system('slurpie', [peer('p1', counted({ HELLO: 2, BYE: 1, REQUEST: 3000 })), peer('p2', counted({ HELLO: 1, BYE: 2, CHALLENGE: 1 }))]));
  // HELLO and BYE 1.5 each (2, by name); CHALLENGE 0.5 (rounds to 1); (3003 + 4) / 2 = 1503.5 in all
  t.is(line, 'Messages a slurpie peer sent (mean over 2 peers): REQUEST 1,500, BYE 2, HELLO 2, CHALLENGE 1; 1,504 in all');
  t.is(messagesSent(system('slurpie', [peer('p1', counted({}))])), 'Messages a slurpie peer sent (mean over 1 peers): 0 in all');
});

test('no messages line when no peer reports counts (curl, BitTorrent, a skipped system)', (t) => {
  t.is(messagesSent(system('http', [peer('p1', {}), peer('p2', {})])), null);
  t.is(messagesSent(system('webtorrent', [])), null);
  t.is(messagesSent({ ...system('sim', []), simMessages: { peers: 0, sent: {} } }), null);
});

test('the simulator\'s messages in older results: its totals over the peers that arrived, UPDATE named for what it holds', (t) => {
  const sim: SystemResult = { ...system('sim', [peer('p1', {})]), simMessages: { peers: 4, sent: { HELLO: 30, UPDATE: 4000, BLOCK: 500 } } };
  t.is(messagesSent(sim), 'Messages a sim peer sent (mean over 4 peers): UPDATE 1,000, BLOCK 125, HELLO 8; 1,133 in all (UPDATE includes UPDATE-news, REJECT includes REJECT-missing: the simulator does not tell them apart)');
});

test('the markdown has one messages line per system with counts, after the CPU line', (t) => {
  const slurpie = system('slurpie', [peer('p1', { cpuSeconds: 1.1, startupCpuSeconds: 0.1, ...counted({ HELLO: 3, BLOCK: 10 }) })]);
  const sim: SystemResult = { ...system('sim', []), simMessages: { peers: 2, sent: { HELLO: 4 } } };
  const scenario = { name: 'lan-2', description: 'two peers', source: { up: 1_250_000 } } as Scenario;
  const markdown = markdownTable({ version: 1, scenario, startedAt: 't', machine: { cpus: 2, node: 'v20' }, fileBytes: 32 * MiB, peers: 2, tMinSeconds: 8, approximations: [], systems: [slurpie, system('http', [peer('p1', {})]), sim] });
  const lines = markdown.split('\n');
  const cpu = lines.findIndex((l) => l.startsWith('CPU used by slurpie'));
  const messages = lines.filter((l) => l.startsWith('Messages a '));
  t.deepEqual(messages, [
    'Messages a slurpie peer sent (mean over 1 peers): BLOCK 10, HELLO 3; 13 in all',
    'Messages a sim peer sent (mean over 2 peers): HELLO 2; 2 in all (UPDATE includes UPDATE-news, REJECT includes REJECT-missing: the simulator does not tell them apart)',
  ]);
  t.true(cpu >= 0 && lines.indexOf(messages[0] as string) > cpu);
  t.false(markdownTable({ version: 1, scenario, startedAt: 't', machine: { cpus: 2, node: 'v20' }, fileBytes: 32 * MiB, peers: 2, tMinSeconds: 8, approximations: [], systems: [system('http', [peer('p1', {})])] }).includes('Messages a '));
});

test('two builds in one swarm: what a peer of each sent in all, after the means', (t) => {
  const line = messagesSent(system('slurpie', [
    peer('p1', { build: 'a', ...counted({ HELLO: 4, DIGESTS: 10 }) }),
    peer('p2', { build: 'b', ...counted({ HELLO: 4, DIGESTS: 2 }) }),
    peer('p3', { build: 'a', ...counted({ HELLO: 4, DIGESTS: 12 }) }),
  ]));
  t.is(line, 'Messages a slurpie peer sent (mean over 3 peers): DIGESTS 8, HELLO 4; 12 in all; by build, in all: a 15, b 6');
});

test('protocol parameters not at their defaults are named under the header; --param-b\'s under the table', (t) => {
  const scenario = { name: 'lan-2', description: 'two peers', source: { up: 1_250_000 }, params: { updateIntervalMs: 1000, eta: 3 } } as Scenario;
  const base = { version: 1 as const, scenario, startedAt: 't', machine: { cpus: 2, node: 'v20' }, fileBytes: 32 * MiB, peers: 2, tMinSeconds: 8, approximations: [], systems: [system('slurpie', [peer('p1', {})])] };
  const lines = markdownTable({ ...base, slurpieParamsB: { updateIntervalMs: 1000, eta: 3, digestEveryMs: 2000 } }).split('\n');
  t.true(lines.includes('Protocol parameters not at their defaults (peer/core/params.ts), for slurpie and sim: updateIntervalMs 1000, eta 3.'));
  t.true(lines.includes('Every other slurpie peer (build b) ran with the protocol parameters updateIntervalMs 1000, eta 3, digestEveryMs 2000 (--param-b).'));
  t.true(lines.indexOf('| system | finished | mean / T_min | max / T_min | mean s | source / F | peak source GETs | wall s | note |') > lines.findIndex((l) => l.startsWith('Protocol parameters')));
  const plain = markdownTable({ ...base, scenario: { ...scenario, params: undefined } as unknown as Scenario });
  t.false(plain.includes('Protocol parameters') || plain.includes('--param-b'));
});

test('host load: the mean time a peer stretched its updates, over the peers that report it', (t) => {
  const line = hostLoad(system('slurpie', [peer('p1', { secondsStretched: 30 }), peer('p2', { secondsStretched: 0 }), peer('p3', { secondsStretched: 12 }), peer('p4', { ok: false, error: 'exit 1' })]));
  t.is(line, 'Host load: a slurpie peer sent its periodic updates less often for 14.0 s on average (its timers late: busyLagMs); 2 of 3 peers did at some point');
  t.is(hostLoad(system('http', [peer('p1', {}), peer('p2', {})])), null, 'curl and BitTorrent report none');
});

test('busy: what a peer refused busy, by rule, and how many of its own requests were refused, over the peers that report both', (t) => {
  const messages = (requests: number, refused: number) => ({ sent: { REQUEST: requests }, received: { REJECT: refused, 'REJECT-missing': 5 } });
  const line = busyLine('slurpie', [
    peer('p1', { refusedBusy: { perConnection: 0, backlog: 4, shared: 100 }, messages: messages(300, 150) }),
    peer('p2', { refusedBusy: { perConnection: 1, backlog: 0, shared: 50 }, messages: messages(200, 51) }),
    peer('p3', { messages: messages(1000, 1000) }), // an older peer: no refusals reported, not counted
  ]);
  t.is(line, 'Busy: a slurpie peer refused 78 requests (shared 75, backlog 2, per connection 1) and was refused 101 of the 250 it sent (means over 2 peers)');
  t.is(busyLine('http', [peer('p1', {})]), null, 'curl and BitTorrent report none');
});

test('cores: waits for work against preemptions, over the peers that report them, and which came more often', (t) => {
  const bound = coreWaits(system('slurpie', [peer('p1', { mainThreadSwitches: { voluntary: 500, involuntary: 900 } }), peer('p2', { mainThreadSwitches: { voluntary: 700, involuntary: 1000 } }), peer('p3', {})]));
  t.is(bound, "Cores: a slurpie peer's main thread waited for work 600 times and was preempted 950 times (means over 2 peers), preempted more often than waiting: bound by CPU");
  const idle = coreWaits(system('slurpie', [peer('p1', { mainThreadSwitches: { voluntary: 4000, involuntary: 30 } })]));
  t.true(idle?.endsWith('waiting more often than preempted: not bound by CPU'), idle ?? 'null');
  t.is(coreWaits(system('http', [peer('p1', {})])), null, 'curl and BitTorrent report none');
});

test('thread switches: read from a /proc status text, null when a count is missing or /proc is not there', (t) => {
  const status = 'Name:\tnode\nThreads:\t11\nvoluntary_ctxt_switches:\t589\nnonvoluntary_ctxt_switches:\t928\n';
  t.deepEqual(parseThreadSwitches(status), { voluntary: 589, involuntary: 928 });
  t.is(parseThreadSwitches('voluntary_ctxt_switches:\t589\n'), null);
  t.is(parseThreadSwitches('voluntary_ctxt_switches:\t5x9\nnonvoluntary_ctxt_switches:\t1\n'), null);
  t.is(mainThreadSwitches(() => { throw new Error('ENOENT'); }), null);
  t.deepEqual(mainThreadSwitches(() => status), { voluntary: 589, involuntary: 928 });
  t.true(isThreadSwitches({ voluntary: 0, involuntary: 3 }));
  for (const bad of [null, 5, { voluntary: -1, involuntary: 0 }, { voluntary: 1.5, involuntary: 0 }, { voluntary: '1', involuntary: 0 }, { voluntary: 1 }]) t.false(isThreadSwitches(bad), JSON.stringify(bad));
});

test('the machine line: kernel, CPU model and load when the results have them, the old form when not', (t) => {
  t.is(describeMachine({ cpus: 2, node: 'v20.1.0', kernel: '6.1.0', cpuModel: 'Xeon', loadAtStart: 0.5 }), '2 CPUs (Xeon), kernel 6.1.0, load 0.50 at the start, Node v20.1.0');
  t.is(describeMachine({ cpus: 2, node: 'v20' }), '2 CPUs, Node v20', 'a results file from before these fields');
  const here = machineInfo();
  t.true(here.cpus >= 1 && here.node === process.version && typeof here.kernel === 'string' && (here.loadAtStart ?? -1) >= 0, JSON.stringify(here));
  const scenario = { name: 'lan-2', description: 'two peers', source: { up: 1_250_000 } } as Scenario;
  t.true(markdownTable({ version: 1, scenario, startedAt: 't', machine: { cpus: 2, node: 'v20', kernel: '6.1.0', loadAtStart: 3 }, fileBytes: 32 * MiB, peers: 2, tMinSeconds: 8, approximations: [], systems: [system('http', [peer('p1', {})])] }).includes('on 2 CPUs, kernel 6.1.0, load 3.00 at the start, Node v20.'));
});

test('progress: the median over peers at each tenth, from arrival; peers without all ten marks left out', (t) => {
  const marks = (first: number): number[] => Array.from({ length: 10 }, (_, i) => first + i);
  const scenario = { name: 'lan-5', description: 'five peers', source: { up: 1_250_000 } } as Scenario;
  const perPeer = [
    peer('p1', { progressSeconds: marks(1) }),
    peer('p2', { progressSeconds: marks(3) }),
    peer('p3', { progressSeconds: marks(10) }),
    peer('p4', { progressSeconds: [0.5, 0.6] }), // left early: two tenths only
    peer('p5', {}), // curl: none
  ];
  t.deepEqual(medianProgress(perPeer), { peers: 3, seconds: marks(3) });
  t.is(progressLine('slurpie', perPeer), 'Progress (slurpie, median over 3 peers, seconds from arrival to holding a share of the file): 10% 3.0, 50% 7.0, 90% 11.0, all 12.0');
  // An even count takes the mean of the middle two.
  t.deepEqual(medianProgress(perPeer.slice(0, 2))?.seconds, marks(2));
  t.is(progressLine('http', [peer('p1', {})]), null);
  t.regex(markdownTable({ version: 1, scenario, startedAt: 't', machine: { cpus: 2, node: 'v20' }, fileBytes: 32 * MiB, peers: 5, tMinSeconds: 8, approximations: [], systems: [system('slurpie', perPeer)] }), /\nProgress \(slurpie, median over 3 peers/);
});

test('the machine line: the cores over the run from /proc/stat, the peers\' CPU apart, the rest per MiB received', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'slurpie-stat-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const stat = (user: number, system: number, idle: number): string =>
    `cpu  ${user} 0 ${system} ${idle} 10 0 ${5} 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1\n`;
  await writeFile(join(dir, 'a'), stat(1000, 500, 9000));
  await writeFile(join(dir, 'b'), stat(13000, 4500, 10000));
  const a = await readCpuTimes(join(dir, 'a'));
  t.deepEqual(a, { busy: 15.05, all: 105.15 });
  // (12,000 + 4,000 busy, 1,000 idle) ticks of 10 ms between the two.
  t.deepEqual(machineCpuBetween(a, await readCpuTimes(join(dir, 'b'))), { busySeconds: 160, capacitySeconds: 170 });
  t.is(await readCpuTimes(join(dir, 'missing')), null);
  await writeFile(join(dir, 'c'), 'cpu  1 2 x\n');
  t.is(await readCpuTimes(join(dir, 'c')), null);
  t.is(machineCpuBetween(a, a), null, 'no time between them');

  const r = system('slurpie', [peer('p1', { cpuSeconds: 60, startupCpuSeconds: 0.2 }), peer('p2', { cpuSeconds: 60, startupCpuSeconds: 0.2 })]);
  t.is(machineCpuLine(r), null, 'no reading, no line');
  // The rest: 160 - 120 CPU-s over 2 x 32 MiB received.
  t.is(machineCpuLine({ ...r, machineCpu: { busySeconds: 160, capacitySeconds: 170 } }),
    "Machine (slurpie): the machine's cores busy 94% of the run (160.0 of 170.0 CPU-s); 120.0 of it the peers' processes, the rest 40.0 (the kernel's forwarding, the source, the topology server, the driver, 625.0 CPU-ms per MiB the peers received).");
  t.is(machineCpuLine({ ...system('http', [peer('p1', {})]), machineCpu: { busySeconds: 10, capacitySeconds: 20 } }), "Machine (http): the machine's cores busy 50% of the run (10.0 of 20.0 CPU-s).");
  // The speed probe, before the launch and through the run.
  t.is(machineCpuLine({ ...system('http', [peer('p1', {})]), machineCpu: { busySeconds: 10, capacitySeconds: 20, probeBeforeMs: 13.5, probeDuringMs: 20.25 } }),
    "Machine (http): the machine's cores busy 50% of the run (10.0 of 20.0 CPU-s). A fixed piece of work took 13.5 CPU-ms before the launch and 20.3 through the run (1.50x: the host's speed and our own load, speed-probe.ts).");
});

test('the speed probe: a fixed piece of work, timed in this process\'s CPU; the median of several', (t) => {
  const one = probeCpuMs();
  t.true(one > 0 && one < 10_000, String(one));
  const med = probeMedianMs(3);
  t.true(med > 0 && med < 10_000, String(med));
});

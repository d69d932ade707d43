// `slurpie experiment` end to end in the network-namespace testbed (root, ip netns, tc): the
// tiny-4 scenario for slurpie and plain HTTP, every peer's copy verified, the results JSON in
// the shared format, nothing left behind (after a normal end, after SIGINT, and --cleanup after
// a crash). Declared skips where the testbed cannot run (not root, no ip netns).
import test from 'ava';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestbed, listLinks, listNamespaces, removeRun, TCP_RMEM, testbedUnavailable } from '../experiments/testbed/netns.ts';
import { claimRun, releaseRun } from '../experiments/testbed/runs.ts';
import { asService, SERVICE_NICE } from '../experiments/testbed/service-priority.ts';
import { killChild, spawnCommand, type Child } from '../experiments/swarm/processes.ts';
import { hasConnection, LaunchGate, reniceAll, STARTUP_NICE } from '../experiments/testbed/launch-gate.ts';
import { runSlurpie, scratch, slurpie } from './fixtures/cli-run.ts';

const sh = promisify(execFile);
const unavailable = await testbedUnavailable();
const rootTest = unavailable ? test.serial.skip : test.serial;
const why = unavailable ? ` (skipped: ${unavailable})` : '';

/** The namespaces and links of one run id that still exist. */
async function leftovers(runId: string | undefined): Promise<string[]> {
  const all = [...(await listNamespaces()), ...(await listLinks())];
  return all.filter((n) => n.startsWith(`slp-${runId}`) || n.startsWith(`slp${runId}-`));
}

test('a bad scenario is one line and exit 2, before any testbed work', async (t) => {
  t.timeout(60_000);
  const missing = await runSlurpie(t, ['experiment', 'no-such-scenario', '--systems', 'http']);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /^slurpie experiment: no scenario named no-such-scenario in .* \(see slurpie experiment --help\)\n$/);
  const systems = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'slurpie,ftp']);
  t.is(systems.code, 2);
  t.regex(systems.stderr, /^slurpie experiment: --systems takes .*, got "ftp" \(see slurpie experiment --help\)\n$/);
  const slots = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'http', '--launch-slots', '-1']);
  t.is(slots.code, 2);
  t.regex(slots.stderr, /^slurpie experiment: --launch-slots must be an integer from 0 to 4096, got -1 \(see slurpie experiment --help\)\n$/);
  // --sim-cpu-of-run sets the simulator beside slurpie's testbed run, at its CPU: it needs both, and the CPU model.
  const alone = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'sim', '--sim-cpu-of-run']);
  t.is(alone.code, 2);
  t.regex(alone.stderr, /^slurpie experiment: --sim-cpu-of-run needs --systems with both slurpie and sim, in the testbed \(see slurpie experiment --help\)\n$/);
  const noModel = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'slurpie,sim', '--sim-cpu-of-run', '--sim-cpu-cores', '0']);
  t.is(noModel.code, 2);
  t.regex(noModel.stderr, /^slurpie experiment: --sim-cpu-of-run needs the CPU model \(--sim-cpu-cores above 0\) \(see slurpie experiment --help\)\n$/);
});

test('--systems sim needs no testbed, and shares each uplink fairly unless told --sim-uplink fifo', async (t) => {
  t.timeout(120_000);
  const approximations = async (extra: string[]): Promise<string[]> => {
    const out = await scratch(t);
    const run = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'sim', '--out', out, ...extra]);
    t.is(run.code, 0, run.stderr);
    t.notRegex(run.stderr, /testbed \w+:/, 'no namespaces for the simulator alone');
    const json = (await readdir(out)).find((f) => f.startsWith('tiny-4-') && f.endsWith('.json'));
    const res = JSON.parse(await readFile(join(out, json ?? 'missing.json'), 'utf8'));
    t.like(res.systems[0], { system: 'sim', finished: 4 });
    // Each simulated peer's tenths, from its arrival, as the testbed's peers report them.
    for (const p of res.systems[0].perPeer as { id: string; seconds: number; progressSeconds: number[] }[]) {
      const m = p.progressSeconds;
      t.true(m.length === 10 && m.every((x, i) => x > 0 && (i === 0 || x >= (m[i - 1] as number))) && (m[9] as number) <= p.seconds, `${p.id} progressSeconds ${m} of ${p.seconds}`);
    }
    return res.systems[0].approximations;
  };
  const fair = /uplink is shared fairly by its connections \(--sim-uplink fair\)/;
  t.true((await approximations([])).some((a) => fair.test(a)), 'the default is the fair uplink: TCP connections share the testbed\'s shaped links');
  t.false((await approximations(['--sim-uplink', 'fifo'])).some((a) => fair.test(a)));
});

test('--sim-cpu-*: costs measured on the day replace the defaults, are named as given, and slow the simulated peers', async (t) => {
  t.timeout(120_000);
  const simulated = async (extra: string[]): Promise<{ meanSeconds: number; approximations: string[] }> => {
    const out = await scratch(t);
    const run = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'sim', '--out', out, ...extra]);
    t.is(run.code, 0, run.stderr);
    const json = (await readdir(out)).find((f) => f.startsWith('tiny-4-') && f.endsWith('.json'));
    return JSON.parse(await readFile(join(out, json ?? 'missing.json'), 'utf8')).systems[0];
  };
  const measured = await simulated([]);
  t.true(measured.approximations.some((a) => /130 ms to start, 0\.216 ms per message .* 6\.17 ms per MiB .*\(measured on the testbed machine/.test(a)));
  const slow = await simulated(['--sim-cpu-startup-ms', '400', '--sim-cpu-event-ms', '0.5', '--sim-cpu-mib-ms', '60']);
  t.true(slow.approximations.some((a) => /400 ms to start, 0\.5 ms per message .* 60 ms per MiB .*\(given for this run/.test(a)), slow.approximations.join('\n'));
  t.true(slow.meanSeconds > measured.meanSeconds, `${slow.meanSeconds} > ${measured.meanSeconds}`);

  const bad = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'sim', '--sim-cpu-event-ms', '-1']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^slurpie experiment: --sim-cpu-event-ms must be a number of CPU-ms from 0 to 60000, got -1 \(see slurpie experiment --help\)\n$/);
});

test('--runs 2: a results file per run, then the table over them and the plots of the median run; a bad count is one line', async (t) => {
  t.timeout(120_000);
  const out = await scratch(t);
  const run = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'sim', '--runs', '2', '--out', out]);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stderr, /run 1 of 2[\s\S]*run 2 of 2/);
  const files = (await readdir(out)).sort();
  const results = files.filter((f) => /^tiny-4-[\dTZ-]+\.json$/.test(f));
  t.is(results.length, 2, files.join(' '));
  const summary = files.filter((f) => f.endsWith('-runs.md'));
  t.is(summary.length, 1, files.join(' '));
  const table = await readFile(join(out, summary[0] ?? 'missing'), 'utf8');
  t.regex(table, /^# tiny-4: 2 runs\n/);
  // Run i simulates with the scenario's seed + i - 1 (the same crowd): the row is a median, maybe with a range.
  t.regex(table, /\n\| sim \| 2 of 2 \| 4\/4 \| \d\.\d\d( \(\d\.\d\d–\d\.\d\d\))? \| \d\.\d\d( \(\d\.\d\d–\d\.\d\d\))? \| {2}\|\n/);
  const seeds = await Promise.all(results.map(async (f) => JSON.parse(await readFile(join(out, f), 'utf8')) as { scenario: { seed: number }; systems: { simSeed: number }[] }));
  t.deepEqual(seeds.map((r) => r.systems[0]?.simSeed), [seeds[0]?.scenario.seed, (seeds[0]?.scenario.seed ?? 0) + 1]);
  const marked = [...table.matchAll(/- run \d: .*\/(tiny-4-[^/]*\.json) \(the median run\)/g)].map((m) => m[1]);
  t.is(marked.length, 1, table);
  // Plots once, for the median run: not one set per run.
  t.deepEqual(files.filter((f) => f.endsWith('-cdf.png')), [marked[0]?.replace(/\.json$/, '-cdf.png')]);
  t.true(run.stdout.includes(table), 'the table is printed too');

  for (const bad of ['0', '1.5', 'many']) {
    const r = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'sim', '--runs', bad, '--out', out]);
    t.is(r.code, 2);
    t.regex(r.stderr, /^slurpie experiment: --runs must be an integer from 1 to 100, got \S+ \(see slurpie experiment --help\)\n$/);
  }
});

test('--param: protocol parameters for slurpie and the sim, kept in the results and named in the table; bad ones are one line', async (t) => {
  t.timeout(120_000);
  const out = await scratch(t);
  const sent = async (extra: string[]): Promise<{ params: unknown; table: string; updates: number }> => {
    const dir = join(out, String(extra.length));
    const run = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'sim', '--out', dir, ...extra]);
    t.is(run.code, 0, run.stderr);
    const stem = join(dir, (await readdir(dir)).find((f) => f.endsWith('.json') && f.startsWith('tiny-4-'))?.replace(/\.json$/, '') ?? 'missing');
    const res = JSON.parse(await readFile(`${stem}.json`, 'utf8'));
    return { params: res.scenario.params, table: await readFile(`${stem}.md`, 'utf8'), updates: res.systems[0].perPeer.reduce((n: number, p: { messages: { sent: Record<string, number> } }) => n + (p.messages.sent.UPDATE ?? 0), 0) };
  };
  const standard = await sent([]);
  const slower = await sent(['--param', 'updateIntervalMs=4000', '--param=forwardEveryMs=8000']);
  t.is(standard.params, undefined);
  t.false(standard.table.includes('Protocol parameters'));
  t.deepEqual(slower.params, { updateIntervalMs: 4000, forwardEveryMs: 8000 });
  t.regex(slower.table, /\nProtocol parameters not at their defaults \(peer\/core\/params\.ts\), for slurpie and sim: updateIntervalMs 4000, forwardEveryMs 8000\.\n/);
  t.true(slower.updates < standard.updates, `the simulated peers flood less: ${slower.updates} UPDATEs against ${standard.updates}`);

  for (const [bad, line] of [
    ['bogus=1', /^slurpie experiment: --param: no protocol parameter "bogus" \(known: .*\) \(see slurpie experiment --help\)\n$/],
    ['k=2', /^slurpie experiment: --param: parameter k has a flag of its own: --source-k \(see slurpie experiment --help\)\n$/],
    ['U=2', /^slurpie experiment: --param: parameter U must be at least eta \(U > η in the paper\) \(see slurpie experiment --help\)\n$/],
  ] as const) {
    const r = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'sim', '--param', bad, '--out', out]);
    t.is(r.code, 2, bad);
    t.regex(r.stderr, line);
  }
});

rootTest(`tiny-4: slurpie and plain HTTP in the testbed, every copy verified, results in the shared format${why}`, async (t) => {
  t.timeout(360_000);
  const out = await scratch(t);
  // One start-up at a time, so the gate holds some peers back whatever this machine's cores.
  const run = await runSlurpie(t, ['experiment', 'tiny-4', '--systems', 'slurpie,http', '--out', out, '--dir', join(out, 'scratch'), '--time-limit', '240', '--launch-slots', '1']);
  t.is(run.code, 0, run.stderr);
  const runId = /testbed (\w+):/.exec(run.stderr)?.[1];
  t.truthy(runId, run.stderr);
  const files = (await readdir(out)).filter((f) => f.startsWith('tiny-4-')).sort();
  // The results, their table, and the plots the results allow, drawn at once: the completion-time CDF, the source's link and the peers' progress.
  const stem = files.find((f) => f.endsWith('.json'))?.replace(/\.json$/, '') ?? '';
  t.deepEqual(files, [`${stem}-cdf.png`, `${stem}-cdf.svg`, `${stem}-progress.png`, `${stem}-progress.svg`, `${stem}-source-link.png`, `${stem}-source-link.svg`, `${stem}.json`, `${stem}.md`]);
  for (const plot of ['cdf', 'source-link', 'progress']) {
    const png = await readFile(join(out, `${stem}-${plot}.png`));
    t.true(png.length > 1000 && png.subarray(1, 4).toString() === 'PNG', `not a PNG plot: ${plot}, ${png.length} bytes`);
    t.regex(run.stdout, new RegExp(`wrote .*${stem}-${plot}\\.png`));
  }
  const res = JSON.parse(await readFile(join(out, `${stem}.json`), 'utf8'));
  t.is(res.version, 1);
  t.is(res.scenario.name, 'tiny-4');
  t.is(res.fileBytes, 4 * 1024 * 1024);
  t.is(res.scenario.fileBytes, res.fileBytes);
  t.is(res.peers, 4);
  t.is(res.launchSlots, 1);
  t.true(res.approximations.some((a: string) => a.startsWith('start-ups: at most 1 peer starting at once')), res.approximations.join('\n'));
  t.false(Number.isNaN(Date.parse(res.startedAt)));
  t.true(res.machine.cpus >= 1 && /^v\d+/.test(res.machine.node));
  t.true(typeof res.machine.kernel === 'string' && res.machine.kernel.length > 0 && res.machine.loadAtStart >= 0, JSON.stringify(res.machine));
  // T_min = max(F/u_s, F/d_min, N F/(u_s + N u)) = F / 1 MB/s here.
  t.true(Math.abs(res.tMinSeconds - (4 * 1024 * 1024) / 1e6) < 1e-9, String(res.tMinSeconds));
  t.deepEqual(res.systems.map((s: { system: string }) => s.system), ['slurpie', 'http']);
  for (const s of res.systems) {
    t.is(s.skipped, null, s.system);
    t.false(s.stopped, s.system);
    t.is(s.finished, 4, `${s.system}: ${JSON.stringify(s.perPeer.map((p: { error?: string }) => p.error))}`);
    t.is(s.perPeer.length, 4);
    for (const p of s.perPeer) {
      t.true(p.ok, `${s.system} ${p.id}: ${p.error}`);
      t.true(typeof p.seconds === 'number' && p.seconds > 0);
      t.is(p.arrivalSeconds >= 0 && p.arrivalSeconds < 30, true);
      // Its time counts from its planned arrival, the wait for its launch included.
      t.true(p.launchDelaySeconds >= 0 && p.launchDelaySeconds < 30, `${s.system} ${p.id} launchDelaySeconds ${p.launchDelaySeconds}`);
      t.true(p.seconds > p.launchDelaySeconds, `${s.system} ${p.id}: ${p.seconds} s, launched after ${p.launchDelaySeconds} s`);
    }
    // tiny-4's peers arrive together: one slot launches the last only after three start-ups.
    const delays = s.perPeer.map((p: { launchDelaySeconds: number }) => p.launchDelaySeconds).sort((a: number, b: number) => a - b);
    t.true(delays[3] > delays[0], `${s.system}: launched at ${delays}`);
    t.true(Math.abs(s.sourceRatio - s.sourceBytes / res.fileBytes) < 1e-3);
    const times = s.perPeer.map((p: { seconds: number }) => p.seconds);
    t.true(Math.abs(s.meanSeconds - times.reduce((a: number, b: number) => a + b, 0) / 4) < 0.02);
    t.true(Math.abs(s.meanRatio - s.meanSeconds / res.tMinSeconds) < 0.01);
    t.true(s.maxSeconds >= s.meanSeconds);
    t.true(s.peakSourceGets >= 1);
    // The source's link, sampled through the run: it carried what the source sent (frames' headers on top).
    const link = s.sourceLink.samples as [number, number][];
    t.true(link.every(([sec, b], i) => i === 0 || (sec >= (link[i - 1] as [number, number])[0] && b >= (link[i - 1] as [number, number])[1])), `${s.system} link samples ${JSON.stringify(link)}`);
    // The machine's cores over the run, from /proc/stat: busy some of it, never more than they had.
    t.true(s.machineCpu.probeBeforeMs > 0 && s.machineCpu.probeDuringMs > 0, JSON.stringify(s.machineCpu));
    t.true(s.machineCpu.busySeconds > 0 && s.machineCpu.busySeconds <= s.machineCpu.capacitySeconds && s.machineCpu.capacitySeconds <= (s.wallSeconds + 1) * res.machine.cpus, `${s.system} machineCpu ${JSON.stringify(s.machineCpu)}, wall ${s.wallSeconds}`);
    const carried = (link[link.length - 1] as [number, number])[1];
    t.true(carried >= 0.9 * s.sourceBytes, `${s.system}: link ${carried} bytes, source sent ${s.sourceBytes}`);
  }
  const [slurpieRun, httpRun] = res.systems;
  // Every curl fetched the whole file from the source; slurpie's peers got most of it from each other.
  t.true(httpRun.sourceBytes >= 4 * res.fileBytes, String(httpRun.sourceBytes));
  t.true(httpRun.perPeer.every((p: { fromSource: number }) => p.fromSource === res.fileBytes));
  t.true(slurpieRun.sourceBytes >= res.fileBytes, String(slurpieRun.sourceBytes));
  const fromPeers = slurpieRun.perPeer.reduce((a: number, p: { fromPeers: number }) => a + p.fromPeers, 0);
  t.true(fromPeers > 0, 'no slurpie peer got a block from another');
  // Each slurpie peer reports its CPU and how long its process took to start, within its time.
  for (const p of slurpieRun.perPeer) {
    t.true(p.cpuSeconds > 0, `${p.id} cpuSeconds ${p.cpuSeconds}`);
    t.true(p.startupSeconds > 0 && p.startupSeconds < p.seconds, `${p.id} startupSeconds ${p.startupSeconds} of ${p.seconds}`);
    t.true(p.messages.sent.HELLO >= 1 && p.messages.received.HELLO >= 1, `${p.id} messages ${JSON.stringify(p.messages)}`);
    t.true(p.secondsStretched >= 0 && p.secondsStretched <= p.seconds, `${p.id} secondsStretched ${p.secondsStretched}`);
    // What it refused busy, by rule: no more than it was asked for.
    const { perConnection, backlog, shared } = p.refusedBusy;
    t.true([perConnection, backlog, shared].every((n) => Number.isInteger(n) && n >= 0) && perConnection + backlog + shared <= (p.messages.received.REQUEST ?? 0), `${p.id} refusedBusy ${JSON.stringify(p.refusedBusy)}`);
    // When it held each tenth of the file, from its arrival: after its start-up, by the time its file was ready.
    const marks = p.progressSeconds as number[];
    t.true(marks.length === 10 && marks.every((m, i) => i === 0 || m >= (marks[i - 1] as number)), `${p.id} progressSeconds ${marks}`);
    t.true((marks[0] as number) >= p.startupSeconds && (marks[9] as number) <= p.seconds, `${p.id} progressSeconds ${marks}, start-up ${p.startupSeconds}, done ${p.seconds}`);
    // Linux: its main thread blocked in epoll at least once (it waited for the source, at the very least).
    t.true(p.mainThreadSwitches.voluntary > 0 && p.mainThreadSwitches.involuntary >= 0, `${p.id} mainThreadSwitches ${JSON.stringify(p.mainThreadSwitches)}`);
  }
  const md = await readFile(join(out, `${stem}.md`), 'utf8');
  t.regex(md, /\nMessages a slurpie peer sent \(mean over 4 peers\): .*HELLO \d.*; [\d,]+ in all\n/);
  t.regex(md, /\nHost load: a slurpie peer sent its periodic updates less often for [\d.]+ s on average .*; \d of 4 peers did at some point\n/);
  t.regex(md, /\nBusy: a slurpie peer refused \d+ requests \(shared \d+, backlog \d+, per connection \d+\) and was refused \d+ of the \d+ it sent \(means over 4 peers\)\n/);
  t.regex(md, /\nCores: a slurpie peer's main thread waited for work \d+ times and was preempted \d+ times \(means over 4 peers\), (preempted|waiting) more often/);
  t.regex(md, /\| slurpie \| 4\/4 \|/);
  t.regex(md, /\nProgress \(slurpie, median over 4 peers, seconds from arrival to holding a share of the file\): 10% [\d.]+, 50% [\d.]+, 90% [\d.]+, all [\d.]+\n/);
  t.regex(md, /\nSource link \(slurpie\): carried 1% of its [\d.]+ MiB by [\d.]+ s and its last data at [\d.]+ s from the launch, busy \d+% in between .*; slurpie's peers finished -?[\d.]+ s after its last data on average\.\n/);
  t.regex(md, /\| http \| 4\/4 \|/);
  t.regex(md, /\nMachine \(slurpie\): the machine's cores busy \d+% of the run \([\d.]+ of [\d.]+ CPU-s\); [\d.]+ of it the peers' processes, the rest -?[\d.]+ \(.*CPU-ms per MiB the peers received\)\. A fixed piece of work took [\d.]+ CPU-ms before the launch and [\d.]+ through the run \([\d.]+x: .*\)\.\n/);
  t.deepEqual(await leftovers(runId), [], 'the run left namespaces or links behind');
});

rootTest(`SIGINT stops the run and removes its testbed${why}`, async (t) => {
  t.timeout(180_000);
  const out = await scratch(t);
  const child = slurpie(t, ['experiment', 'tiny-4', '--systems', 'http', '--out', out, '--dir', join(out, 'scratch')]);
  // Wait for the first progress line of the http system: the testbed is up and curls are running.
  const started = Date.now();
  while (!/http: \d+ s, finished/.test(child.stderr())) {
    if (child.proc.exitCode !== null || Date.now() - started > 150_000) return t.fail(`no progress line: ${child.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const runId = /testbed (\w+):/.exec(child.stderr())?.[1];
  t.truthy(runId);
  t.true((await leftovers(runId)).length > 0, 'the testbed should exist while the run runs');
  process.kill(child.pid, 'SIGINT');
  const { code } = await child.exited;
  t.is(code, 130, child.stderr());
  t.deepEqual(await leftovers(runId), []);
});

rootTest(`--cleanup removes a crashed run's namespaces and bridge, and keeps a live run's${why}`, async (t) => {
  t.timeout(60_000);
  // A crashed run: a namespace and a bridge with no live owner.
  const crashed = 'zz9cr';
  t.teardown(() => removeRun(crashed));
  await sh('ip', ['netns', 'add', `slp-${crashed}-p01`]);
  await sh('ip', ['link', 'add', `slp-${crashed}`, 'type', 'bridge']);
  // A live run: its marker names this (live) test process.
  const live = await claimRun();
  t.teardown(async () => {
    await removeRun(live);
    await releaseRun(live);
  });
  await sh('ip', ['netns', 'add', `slp-${live}-p01`]);

  const run = await runSlurpie(t, ['experiment', '--cleanup']);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /^removed \d+ namespaces and \d+ links of \d+ stale runs/);
  t.deepEqual(await leftovers(crashed), []);
  t.deepEqual(await leftovers(live), [`slp-${live}-p01`]);
});

rootTest(`every host knows every other's MAC for good (permanent neighbors: a full tbf queue cannot lose ARP) and starts with 1 MiB TCP receive buffers${why}`, async (t) => {
  t.timeout(60_000);
  const runId = await claimRun();
  t.teardown(async () => {
    await removeRun(runId);
    await releaseRun(runId);
  });
  const testbed = await createTestbed(runId, [{ name: 'src', up: 125_000, down: 1_250_000 }, { name: 'p01' }, { name: 'p02', up: 1_250_000 }]);
  const hosts = [...testbed.hosts.values()];
  for (const h of hosts) {
    const { stdout } = await sh('ip', ['-n', h.ns, 'neigh', 'show', 'dev', 'eth0']);
    const others = [testbed.bridgeIp, ...hosts.filter((o) => o !== h).map((o) => o.ip)];
    for (const ip of others) t.regex(stdout, new RegExp(`^${ip.replace(/\./g, '\\.')} lladdr [0-9a-f:]{17} PERMANENT\\s*$`, 'm'), `${h.name} -> ${ip}`);
    t.false(new RegExp(`^${h.ip.replace(/\./g, '\\.')} `, 'm').test(stdout), `${h.name} has no entry for itself`);
  }
  // The entries name the hosts' real MACs (a wrong one would blackhole the host).
  const src = testbed.hosts.get('src');
  const p01 = testbed.hosts.get('p01');
  if (!src || !p01) return t.fail('hosts missing');
  const { stdout: link } = await sh('ip', ['-n', src.ns, '-o', 'link', 'show', 'eth0']);
  const srcMac = /link\/ether ([0-9a-f:]{17})/.exec(link)?.[1];
  const { stdout: seen } = await sh('ip', ['-n', p01.ns, 'neigh', 'show', src.ip]);
  t.true(srcMac !== undefined && seen.includes(srcMac), `${seen.trim()} names ${srcMac}`);
  // Receive buffers start large in every host, not in the root namespace (a CPU-starved receiver's window must not idle the source's link).
  const { stdout: rootRmem } = await sh('cat', ['/proc/sys/net/ipv4/tcp_rmem']);
  for (const h of hosts) {
    const { stdout: rmem } = await sh('ip', ['netns', 'exec', h.ns, 'cat', '/proc/sys/net/ipv4/tcp_rmem']);
    t.is(rmem.trim().split(/\s+/).join(' '), TCP_RMEM, h.name);
  }
  t.not(rootRmem.trim().split(/\s+/).join(' '), TCP_RMEM, 'the machine itself is untouched');
});

rootTest(`the source, topology server and tracker run ahead of the peers (nice ${SERVICE_NICE})${why}`, async (t) => {
  t.timeout(30_000);
  const child = spawnCommand(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
  t.teardown(() => killChild(child, 'SIGKILL'));
  t.is(getPriority(child.pid), 0);
  t.is(asService(child), child);
  t.is(getPriority(child.pid), SERVICE_NICE);
});

rootTest(`the launch gate sees a start-up end at its first connection in its namespace, and runs it ahead until then${why}`, async (t) => {
  t.timeout(60_000);
  const runId = await claimRun();
  t.teardown(async () => {
    await removeRun(runId);
    await releaseRun(runId);
  });
  const testbed = await createTestbed(runId, [{ name: 'src' }, { name: 'p01' }]);
  const src = testbed.hosts.get('src');
  const p01 = testbed.hosts.get('p01');
  if (!src || !p01) return t.fail('hosts missing');
  const server = spawnCommand(process.execPath, ['-e', `require('net').createServer(() => {}).listen(9000, '${src.ip}', () => console.log('up'))`], { netns: src.ns });
  t.teardown(() => killChild(server, 'SIGKILL'));
  await lineFrom(server, 'up');
  // A "peer" that listens (not a start-up's end) and connects only when told (SIGUSR2).
  const peer = spawnCommand(process.execPath, ['-e', `const net = require('net');
    net.createServer().listen(9001, '${p01.ip}', () => console.log('listening'));
    process.on('SIGUSR2', () => net.connect(9000, '${src.ip}', () => console.log('connected')));`], { netns: p01.ns });
  t.teardown(() => killChild(peer, 'SIGKILL'));
  t.true(reniceAll(peer.pid, STARTUP_NICE));
  await lineFrom(peer, 'listening');
  const tids = await readdir(`/proc/${peer.pid}/task`);
  t.true(tids.length > 1, 'node has threads of its own');
  t.deepEqual(tids.map((tid) => getPriority(Number(tid))), tids.map(() => STARTUP_NICE), 'every thread runs ahead, not only the first');
  t.false(await hasConnection(peer.pid), 'a listening socket is not a connection');
  const gate = new LaunchGate(1);
  gate.add({ pid: peer.pid, since: performance.now(), exited: () => false, started: () => reniceAll(peer.pid, 0) });
  await gate.poll(performance.now());
  t.is(gate.free(), 0);
  killChild(peer, 'SIGUSR2');
  await lineFrom(peer, 'connected');
  t.true(await hasConnection(peer.pid));
  await gate.poll(performance.now());
  t.is(gate.free(), 1, 'its start-up is over');
  t.deepEqual(tids.map((tid) => getPriority(Number(tid))), tids.map(() => 0), 'and it runs as the others again');
});

/** Resolves when `child` has printed `line` on stdout. */
async function lineFrom(child: Child, line: string): Promise<void> {
  let seen = '';
  await new Promise<void>((resolve) => {
    const on = (d: Buffer): void => {
      seen += d.toString();
      if (seen.split('\n').includes(line)) {
        child.proc.stdout?.off('data', on);
        resolve();
      }
    };
    child.proc.stdout?.on('data', on);
  });
}

/** Tcp OutSegs and RetransSegs of one namespace (/proc/net/snmp is per namespace). */
async function tcpSegments(ns: string): Promise<{ out: number; retrans: number }> {
  const { stdout } = await sh('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp']);
  const [names, values] = stdout.split('\n').filter((l) => l.startsWith('Tcp:')).map((l) => l.split(/\s+/));
  const field = (name: string): number => Number(values?.[names?.indexOf(name) ?? -1]);
  return { out: field('OutSegs'), retrans: field('RetransSegs') };
}

rootTest(`a slow uplink's tbf never splits a TCP packet: four bulk connections through 10 Mb/s retransmit (almost) nothing${why}`, async (t) => {
  t.timeout(60_000);
  const runId = await claimRun();
  t.teardown(async () => {
    await removeRun(runId);
    await releaseRun(runId);
  });
  const testbed = await createTestbed(runId, [{ name: 'src', up: 1_250_000 }, { name: 'p01' }]);
  const src = testbed.hosts.get('src');
  const p01 = testbed.hosts.get('p01');
  if (!src || !p01) return t.fail('hosts missing');
  const { stdout: link } = await sh('ip', ['-n', src.ns, '-d', 'link', 'show', 'eth0']);
  t.regex(link, /gso_max_size 8192 /, 'half the 16 KiB burst');
  // A sink in p01; four connections from src, 1 MiB each at once: more than tbf's 125 KB queue holds.
  const sink = spawnCommand(process.execPath, ['-e', `require('net').createServer((s) => s.resume()).listen(9000, '${p01.ip}', () => console.log('up'))`], { netns: p01.ns });
  t.teardown(() => killChild(sink, 'SIGKILL'));
  await new Promise<void>((resolve) => sink.proc.stdout?.once('data', () => resolve()));
  const before = await tcpSegments(src.ns);
  const send = `const net = require('net'); let left = 4;
    for (let i = 0; i < 4; i++) { const c = net.connect(9000, '${p01.ip}', () => c.end(Buffer.alloc(1 << 20))); c.on('close', () => { if (--left === 0) process.exit(0); }); }`;
  const sender = spawnCommand(process.execPath, ['-e', send], { netns: src.ns });
  t.teardown(() => killChild(sender, 'SIGKILL'));
  t.is((await sender.exited).code, 0, sender.stderr());
  const after = await tcpSegments(src.ns);
  const out = after.out - before.out;
  const retrans = after.retrans - before.retrans;
  t.true(out >= 2800, `${out} segments for 4 MiB`);
  t.true(retrans <= out / 100, `${retrans} of ${out} segments retransmitted (tbf splitting 64 KiB packets: about 40%)`);
});

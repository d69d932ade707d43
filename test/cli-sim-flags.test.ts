// `slurpie sim`'s run-ending flags through the real CLI: --stall-ms ends a crawling run as a
// stall sooner or later than the default 60 s; --launch-slots holds start-ups in turn; a bad
// value is one line and exit 2.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runSlurpie, scratch } from './fixtures/cli-run.ts';

// A source so slow that no 256 KiB block arrives for minutes: nothing is stored anywhere.
const CRAWL = ['sim', '--peers', '3', '--size', '1MiB', '--source-rate', '1KB', '--latency-ms', '2', '--no-live'];

test('--stall-ms: a run with no block stored for that long ends as a stall, and the JSON records it', async (t) => {
  t.timeout(120_000);
  const out = join(await scratch(t), 'r.json');
  const r = await runSlurpie(t, [...CRAWL, '--stall-ms', '2000', '--json', out]);
  t.is(r.code, 1, 'a stalled run is not a complete one');
  t.regex(r.stdout, /STALLED: no block stored anywhere from t=0 ms to t=20\d\d(\.\d)? ms/);
  const json = JSON.parse(await readFile(out, 'utf8'));
  t.is(json.scenario.stallMs, 2000);
  t.is(json.outcome, 'stalled');
  t.true(json.simSeconds < 5, `ended at ${json.simSeconds} s virtual, not at the default 60 s`);
});

test('--stall-ms must be positive: one line, exit 2, nothing simulated', async (t) => {
  t.timeout(60_000);
  for (const bad of ['0', '-5', 'soon']) {
    const r = await runSlurpie(t, [...CRAWL, '--stall-ms', bad]);
    t.is(r.code, 2, bad);
    t.regex(r.stderr, /^slurpie sim: --stall-ms must be a positive number, got .+ \(see slurpie sim --help\)\n$/, bad);
    t.is(r.stdout, '', bad);
  }
});

test('--launch-slots holds start-ups in turn (the JSON says so) and must be a whole number', async (t) => {
  t.timeout(120_000);
  const out = join(await scratch(t), 'r.json');
  const run = ['sim', '--peers', '6', '--size', '1MiB', '--source-rate', '1MB', '--latency-ms', '2', '--no-live', '--cpu-cores', '2', '--cpu-startup-ms', '500'];
  const r = await runSlurpie(t, [...run, '--launch-slots', '1', '--json', out]);
  t.is(r.code, 0, r.stderr);
  const json = JSON.parse(await readFile(out, 'utf8'));
  t.is(json.scenario.cpu.launchSlots, 1);
  // One at a time at a core's speed: the sixth registers after six start-ups of 0.5 s (a little
  // more, as the first peers' own work shares the cores); all at once they would take 1.5 s.
  const last = json.cpu.startupDelay.max;
  t.true(last >= 3 && last < 3.1, `last registered ${last} s after arriving`);
  for (const bad of ['-1', '1.5']) {
    const b = await runSlurpie(t, [...run, '--launch-slots', bad]);
    t.is(b.code, 2, bad);
    t.regex(b.stderr, /^slurpie sim: --launch-slots must be an integer from 0 to 4096, got .+ \(see slurpie sim --help\)\n$/, bad);
  }
});

test('--cpu-wake-ms charges each event that finds its process idle (the JSON counts them) and must not be negative', async (t) => {
  t.timeout(120_000);
  const dir = await scratch(t);
  const run = ['sim', '--peers', '6', '--size', '2MiB', '--source-rate', '1MB', '--latency-ms', '5', '--no-live', '--cpu-cores', '2'];
  const runs = [];
  for (const wake of ['0', '2']) {
    const out = join(dir, `w${wake}.json`);
    const r = await runSlurpie(t, [...run, '--cpu-wake-ms', wake, '--json', out]);
    t.is(r.code, 0, r.stderr);
    runs.push(JSON.parse(await readFile(out, 'utf8')));
  }
  const [none, woken] = runs;
  t.is(woken.scenario.cpu.wakeMs, 2);
  t.true(woken.cpu.wakes > 0 && woken.cpu.wakes <= woken.cpu.jobs, `${woken.cpu.wakes} wakes of ${woken.cpu.jobs} jobs`);
  // Each wake-up adds 2 ms to what the peers used (the runs differ a little, as the peers' work now takes longer).
  t.true(woken.cpu.busySeconds > none.cpu.busySeconds + (0.5 * 2 * woken.cpu.wakes) / 1000, `${woken.cpu.busySeconds} against ${none.cpu.busySeconds} CPU-s`);
  const bad = await runSlurpie(t, [...run, '--cpu-wake-ms', '-1']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^slurpie sim: --cpu-wake-ms must be a non-negative number, got -1 \(see slurpie sim --help\)\n$/);
});

test('--cpu-read-bytes wakes an idle peer to read a message still arriving (the JSON counts the reads) and must not be negative', async (t) => {
  t.timeout(120_000);
  const dir = await scratch(t);
  const run = ['sim', '--peers', '6', '--size', '2MiB', '--source-rate', '1MB', '--latency-ms', '5', '--no-live', '--cpu-cores', '2', '--cpu-wake-ms', '0.5'];
  const out = join(dir, 'reads.json');
  const r = await runSlurpie(t, [...run, '--cpu-read-bytes', '16384', '--json', out]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /CPU: .* wake-ups of an idle process, \d+ of them to read part of a message/);
  const json = JSON.parse(await readFile(out, 'utf8'));
  t.is(json.scenario.cpu.readBytes, 16384);
  // 6 peers x 2 MiB come in pieces of at most 16 KiB a read: more reads than blocks, at most one per 16 KiB.
  t.true(json.cpu.reads > 6 * 8 && json.cpu.reads <= (6 * 2 * 1024 * 1024) / 16384 + 6 * 8, `${json.cpu.reads} reads`);
  t.true(json.cpu.reads < json.cpu.wakes, `${json.cpu.reads} reads of ${json.cpu.wakes} wake-ups`);
  const bad = await runSlurpie(t, [...run, '--cpu-read-bytes', '-1']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^slurpie sim: --cpu-read-bytes must be a non-negative number, got -1 \(see slurpie sim --help\)\n$/);
});

test('--source-k sets k of k/n (the JSON keeps it; a large k sends every peer to the source) and must be positive', async (t) => {
  t.timeout(120_000);
  const dir = await scratch(t);
  const run = ['sim', '--peers', '12', '--size', '4MiB', '--source-rate', '1MB', '--latency-ms', '2', '--no-live', '--seed', '3'];
  const peak = async (extra: string[], name: string): Promise<{ k: unknown; peak: number }> => {
    const r = await runSlurpie(t, [...run, ...extra, '--json', join(dir, name)]);
    t.is(r.code, 0, r.stderr);
    const json = JSON.parse(await readFile(join(dir, name), 'utf8'));
    return { k: json.scenario.params.k, peak: json.peakSourceRuns };
  };
  const standard = await peak([], 'k3.json');
  const crowd = await peak(['--source-k', '100'], 'k100.json');
  t.deepEqual([standard.k, crowd.k], [3, 100]);
  t.true(crowd.peak > standard.peak, `peak GETs at once: ${crowd.peak} with k = 100 against ${standard.peak} with 3`);
  for (const bad of ['0', '-1', 'many']) {
    const r = await runSlurpie(t, [...run, '--source-k', bad]);
    t.is(r.code, 2, bad);
    t.regex(r.stderr, /^slurpie sim: --source-k must be a positive number, got .+ \(see slurpie sim --help\)\n$/, bad);
  }
});

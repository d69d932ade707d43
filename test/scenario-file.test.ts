// Scenario files (experiments/scenarios): the shipped ones load, peers are drawn from the seed,
// T_min and the simulator mapping are right, and every bad file is a one-line error naming the
// field. Pure: reads files, writes a few to a temp dir.
import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario, parseScenario, ScenarioError, SCENARIO_DIR } from '../experiments/scenarios/scenario-file.ts';
import { largestRemainder, planPeers, tMinSeconds, toSimScenario } from '../experiments/scenarios/plan.ts';
import { resolveScenario, type SimScenario } from '../experiments/sim/scenario.ts';

const simulateBound = (sim: SimScenario): number => resolveScenario(sim).fluidBoundSeconds;
import { parseSystems } from '../experiments/testbed/system-names.ts';
import { gsoMaxSize, tbf } from '../experiments/testbed/netns.ts';
import { runSimSystem } from '../experiments/testbed/sim-system.ts';
import { messagesSent } from '../experiments/testbed/results.ts';

const MiB = 1024 * 1024;

test('lan-48 is the paper\'s LAN: 32 MiB, source 10 Mb/s, 48 peers on 100 Mb/s, T_min 26.8 s', async (t) => {
  const s = await loadScenario('lan-48');
  t.is(s.fileBytes, 32 * MiB);
  t.is(s.source.up, 1_250_000);
  t.is(s.peers.count, 48);
  t.deepEqual(s.peers.links, { kind: 'same', link: { up: 12_500_000, down: 12_500_000, latencyMs: 1 } });
  t.deepEqual(s.arrivals, { kind: 'flash' });
  t.is(tMinSeconds(s).toFixed(1), '26.8');
  const peers = planPeers(s);
  t.true(peers.every((p) => p.arrivalSeconds === 0 && p.leaveAfterSeconds === null));
  t.deepEqual([peers[0]?.id, peers[47]?.id], ['p01', 'p48']);
  const { sim, approximations } = toSimScenario(s);
  t.deepEqual(approximations, []);
  t.like(sim, { peers: 48, size: 32 * MiB, sourceRate: 1_250_000, peerUp: 12_500_000, peerDown: 12_500_000, latencyMs: 1, arrivalSpreadMs: 0 });
});

test('lan-12 is lan-48 with 12 peers: the same links and file, T_min 26.8 s', async (t) => {
  const [small, paper] = await Promise.all([loadScenario('lan-12'), loadScenario('lan-48')]);
  t.is(small.peers.count, 12);
  t.deepEqual({ ...small.peers, count: 48 }, paper.peers);
  t.deepEqual([small.fileBytes, small.source, small.arrivals], [paper.fileBytes, paper.source, paper.arrivals]);
  t.is(tMinSeconds(small).toFixed(1), '26.8');
});

test('planetlab-55: classes by largest remainder, arrivals over 60 s and churn from the seed, the same every time', async (t) => {
  const s = await loadScenario('planetlab-55');
  const peers = planPeers(s);
  t.is(peers.length, 55);
  const count = (c: string): number => peers.filter((p) => p.linkClass === c).length;
  // 0.45, 0.35, 0.2 of 55 = 24.75, 19.25, 11 -> 25, 19, 11
  t.deepEqual([count('fast-ethernet'), count('capped-10mbit'), count('slow')], [25, 19, 11]);
  t.is(Math.min(...peers.map((p) => p.arrivalSeconds)), 0);
  t.true(peers.every((p) => p.arrivalSeconds >= 0 && p.arrivalSeconds < 60));
  t.true(new Set(peers.map((p) => p.arrivalSeconds)).size > 40, 'arrivals spread out');
  t.is(peers.filter((p) => p.leaveAfterSeconds !== null).length, Math.round(0.1 * 55));
  t.deepEqual(planPeers(s), peers, 'the same seed, the same peers');
  t.notDeepEqual(planPeers({ ...s, seed: s.seed + 1 }).map((p) => p.linkClass), peers.map((p) => p.linkClass));
  // T_min: F/u_s = 26.8 s; the slow class's downlink 1.25 MB/s gives the same; N F / (u_s + sum u) is less.
  const sumUp = peers.reduce((a, p) => a + p.link.up, 0);
  t.is(tMinSeconds(s, peers), Math.max((32 * MiB) / 1_250_000, (32 * MiB) / 1_250_000, (55 * 32 * MiB) / (1_250_000 + sumUp)));
  const { sim, approximations } = toSimScenario(s);
  // The simulator gets every peer's own link, so its fluid bound is the testbed's.
  t.deepEqual(sim.peerLinks, peers.map((p) => p.link));
  t.is(simulateBound(sim), tMinSeconds(s, peers));
  t.is(sim.arrivalSpreadMs, 60_000);
  t.false(approximations.some((a) => /mean|latency/.test(a)), approximations.join('; '));
  t.true(approximations.some((a) => /churn/.test(a)));
});

test('planetlab-24 is planetlab-55 with 24 peers: the same classes, file, source, arrivals and churn', async (t) => {
  const [small, full] = await Promise.all([loadScenario('planetlab-24'), loadScenario('planetlab-55')]);
  t.deepEqual({ ...small.peers, count: 55 }, full.peers);
  t.deepEqual([small.fileBytes, small.source, small.arrivals, small.churn], [full.fileBytes, full.source, full.arrivals, full.churn]);
  const peers = planPeers(small);
  const count = (c: string): number => peers.filter((p) => p.linkClass === c).length;
  // 0.45, 0.35, 0.2 of 24 = 10.8, 8.4, 4.8 -> 11, 8, 5
  t.deepEqual([count('fast-ethernet'), count('capped-10mbit'), count('slow')], [11, 8, 5]);
  t.true(peers.every((p) => p.arrivalSeconds >= 0 && p.arrivalSeconds < 60));
  t.is(peers.filter((p) => p.leaveAfterSeconds !== null).length, Math.round(0.1 * 24));
});

test('tiny-capped is tiny-4 with half its peers capped at 256 KiB/s: T_min counts the cap as their downlink', async (t) => {
  const [capped, tiny] = await Promise.all([loadScenario('tiny-capped'), loadScenario('tiny-4')]);
  t.deepEqual([capped.fileBytes, capped.source, capped.arrivals, capped.peers.count], [tiny.fileBytes, tiny.source, tiny.arrivals, tiny.peers.count]);
  const peers = planPeers(capped);
  t.deepEqual(peers.map((p) => p.link.downloadLimit ?? null).sort(), [256 * 1024, 256 * 1024, null, null]);
  t.is(tMinSeconds(capped, peers), 16, 'F / 256 KiB/s');
  t.deepEqual(toSimScenario(capped).sim.downloadLimits?.slice().sort(), [256 * 1024, 256 * 1024, null, null]);
});

test('tiny-4 loads by name and by path', async (t) => {
  const byName = await loadScenario('tiny-4');
  const byPath = await loadScenario(join(SCENARIO_DIR, 'tiny-4.json'));
  t.deepEqual(byName, byPath);
  t.is(byName.peers.count, 4);
});

const good = async (): Promise<Record<string, unknown>> => JSON.parse(await readFile(join(SCENARIO_DIR, 'tiny-4.json'), 'utf8'));

const bad: [string, (s: Record<string, unknown>) => void, RegExp][] = [
  ['a misspelt field', (s) => (s.timelimitSeconds = 10), /^x\.json: timelimitSeconds is not a field here \(known: .*\), got 10$/],
  ['a size that is not one', (s) => (s.fileSize = '32 parsecs'), /^x\.json: fileSize must be a positive size such as "32MiB", "1\.25MB" or 1048576, got "32 parsecs"$/],
  ['a zero rate', (s) => ((s.source as Record<string, unknown>).up = 0), /^x\.json: source\.up must be a positive size .*, got 0$/],
  ['no peers', (s) => ((s.peers as Record<string, unknown>).count = 0), /^x\.json: peers\.count must be a whole number from 1 to 250 .*, got 0$/],
  ['shares that do not sum to 1', (s) => ((s.peers as Record<string, unknown>).links = { classes: [{ share: 0.5, up: '1MB', down: '1MB', latencyMs: 1 }] }), /^x\.json: peers\.links\.classes shares must sum to 1, got 0\.5$/],
  ['an unknown arrival kind', (s) => (s.arrivals = { kind: 'poisson' }), /^x\.json: arrivals\.kind must be "flash" or "uniform", got "poisson"$/],
  ['a uniform spread without its length', (s) => (s.arrivals = { kind: 'uniform' }), /^x\.json: arrivals\.overSeconds must be a positive number, got nothing$/],
  ['churn above 1', (s) => (s.churn = { fraction: 2, withinSeconds: 5 }), /^x\.json: churn\.fraction must be a number from 0 to 1, got 2$/],
  ['a missing name', (s) => delete s.name, /^x\.json: name must be lower-case letters, digits and dashes, got nothing$/],
  ['a negative latency', (s) => (((s.peers as Record<string, unknown>).links as Record<string, unknown>).latencyMs = -1), /^x\.json: peers\.links\.latencyMs must be a number of ms from 0 to 10000, got -1$/],
  ['params that are not an object', (s) => (s.params = ['eta=3']), /^x\.json: params must be an object, got \["eta=3"\]$/],
  ['a protocol parameter that does not exist', (s) => (s.params = { updateInterval: 1000 }), /^x\.json: params: no protocol parameter "updateInterval" \(known: .*\)$/],
  ['a protocol parameter of the wrong type', (s) => (s.params = { eta: '3' }), /^x\.json: params: parameter eta must be a whole number, got "3"$/],
];

test('a scenario\'s params go to the simulator as they are, and are kept with the scenario', async (t) => {
  const s = parseScenario({ ...(await good()), params: { updateIntervalMs: 1000, lastBlock: 'view' } }, 'x.json');
  t.deepEqual(s.params, { updateIntervalMs: 1000, lastBlock: 'view' });
  t.deepEqual(toSimScenario(s).sim.params, { updateIntervalMs: 1000, lastBlock: 'view' });
  t.is(parseScenario(await good(), 'x.json').params, undefined);
  t.false('params' in toSimScenario(parseScenario(await good(), 'x.json')).sim);
});

for (const [what, edit, message] of bad) {
  test(`a scenario with ${what} is a one-line error naming the field`, async (t) => {
    const s = await good();
    edit(s);
    const err = t.throws(() => parseScenario(s, 'x.json'), { instanceOf: ScenarioError });
    t.regex(err?.message ?? '', message);
    t.false((err?.message ?? '').includes('\n'));
  });
}

test('baselineTimeLimitSeconds: lan-48 caps plain HTTP and BitTorrent at 120 s, keeps 600 s for slurpie; optional, positive', async (t) => {
  const lan = await loadScenario('lan-48');
  t.is(lan.timeLimitSeconds, 600);
  t.is(lan.baselineTimeLimitSeconds, 120);
  t.is((await loadScenario('tiny-4')).baselineTimeLimitSeconds, undefined);
  const dir = await mkdtemp(join(tmpdir(), 'slurpie-scenario-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.json');
  const tiny = JSON.parse(await readFile(join(SCENARIO_DIR, 'tiny-4.json'), 'utf8'));
  await writeFile(file, JSON.stringify({ ...tiny, baselineTimeLimitSeconds: -5 }));
  await t.throwsAsync(loadScenario(file), { message: /baselineTimeLimitSeconds/ });
});

test('files that are not scenarios: missing, not JSON, not an object, a bad name', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'slurpie-scenario-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'broken.json'), '{ "name": ');
  await writeFile(join(dir, 'list.json'), '[]');
  await t.throwsAsync(loadScenario('no-such-one'), { instanceOf: ScenarioError, message: /^no scenario named no-such-one in / });
  await t.throwsAsync(loadScenario(join(dir, 'broken.json')), { instanceOf: ScenarioError, message: /^broken\.json: not JSON \(/ });
  await t.throwsAsync(loadScenario(join(dir, 'list.json')), { instanceOf: ScenarioError, message: /^list\.json: the scenario must be an object, got \[\]$/ });
  await t.throwsAsync(loadScenario('../etc'), { instanceOf: ScenarioError, message: /^cannot read \.\.\/etc / });
  await t.throwsAsync(loadScenario('Bad Name'), { instanceOf: ScenarioError, message: /^a scenario is a name such as lan-48 or a \.json path, got "Bad Name"$/ });
});

test('largest remainder splits exactly and favours the largest fractions', (t) => {
  t.deepEqual(largestRemainder([0.45, 0.35, 0.2], 55), [25, 19, 11]);
  t.deepEqual(largestRemainder([1 / 3, 1 / 3, 1 / 3], 4), [2, 1, 1]);
  t.deepEqual(largestRemainder([0.5, 0.5], 1), [1, 0]);
});

test('--systems: names, the bittorrent alias, no repeats, one-line errors', (t) => {
  t.deepEqual(parseSystems('slurpie,http,bittorrent'), ['slurpie', 'http', 'webtorrent', 'libtorrent']);
  t.deepEqual(parseSystems('http, http ,libtorrent'), ['http', 'libtorrent']);
  t.throws(() => parseSystems('slurpie,ftp'), { message: /^--systems takes slurpie, http, webtorrent, libtorrent, sim, bittorrent, got "ftp"$/ });
  t.throws(() => parseSystems(' , '), { message: /^--systems needs at least one system/ });
});

test('tbf: the rate in bits, a burst of 10 ms (at least 16 KiB), a 100 ms queue', (t) => {
  t.is(tbf(12_500_000), 'tbf rate 100000000bit burst 125000 latency 100ms');
  t.is(tbf(1_250_000), 'tbf rate 10000000bit burst 16384 latency 100ms');
});

test('an uplink takes packets of at most half its tbf burst, so tbf never splits one (64 KiB at most)', (t) => {
  t.is(gsoMaxSize(1_250_000), 8192);
  t.is(gsoMaxSize(125_000), 8192);
  t.is(gsoMaxSize(12_500_000), 62_500);
  t.is(gsoMaxSize(125_000_000), 65_536);
});

test('--systems sim: tiny-4 in the simulator, reported like a testbed system', async (t) => {
  const s = await loadScenario('tiny-4');
  const tMin = tMinSeconds(s);
  const r = runSimSystem(s, tMin, s.timeLimitSeconds);
  t.like(r, { system: 'sim', finished: 4, stopped: false, skipped: null });
  t.is(r.perPeer.length, 4);
  t.true(r.perPeer.every((p) => p.ok && p.seconds !== null && p.seconds >= tMin * 0.99));
  t.true(r.sourceBytes >= s.fileBytes);
  t.is(r.sourceRatio, Math.round((r.sourceBytes / s.fileBytes) * 1e4) / 1e4);
  t.true(r.meanRatio !== null && r.meanRatio >= 1);
  t.deepEqual(r.approximations, []);
  // What each peer sent and received, counted as a node peer counts them, to set beside the testbed's.
  for (const p of r.perPeer) {
    const { sent, received } = p.messages ?? { sent: {}, received: {} };
    t.true((sent.HELLO ?? 0) >= 1 && (received.HELLO ?? 0) >= 1, `${p.id} said and heard HELLO`);
    t.is((received.BLOCK ?? 0) > 0, (p.fromPeers ?? 0) > 0, `${p.id}: BLOCKs received if and only if it had bytes from peers`);
    const refused = p.refusedBusy ?? { perConnection: -1, backlog: 0, shared: 0 };
    t.true(refused.perConnection >= 0 && refused.perConnection + refused.backlog + refused.shared <= (received.REQUEST ?? 0), `${p.id} refusedBusy ${JSON.stringify(p.refusedBusy)}`);
  }
  const sentBlocks = r.perPeer.reduce((n, p) => n + (p.messages?.sent.BLOCK ?? 0), 0);
  t.is(sentBlocks, r.perPeer.reduce((n, p) => n + (p.messages?.received.BLOCK ?? 0), 0), 'every BLOCK sent was received');
  t.regex(messagesSent(r) ?? '', /^Messages a sim peer sent \(mean over 4 peers\): .*HELLO \d+.*; [\d,]+ in all$/);
});

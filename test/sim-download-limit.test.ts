// A scenario's download limits (peers.links[.classes[i]].downloadLimit: those peers run `get
// --download-limit`): the plan carries them, the fluid bound counts them as downlinks, the
// simulator runs those peers' cores with the limit, and they finish no sooner than it allows
// while the rest of the crowd does not wait for them.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseScenario, ScenarioError, SCENARIO_DIR } from '../experiments/scenarios/scenario-file.ts';
import { planPeers, tMinSeconds, toSimScenario } from '../experiments/scenarios/plan.ts';
import { runSimSystem } from '../experiments/testbed/sim-system.ts';

const LIMIT = 256 * 1024; // bytes/s: 4 MiB take 16 s, where tiny-4's links allow 4.2

async function tinyWithCappedClass(): Promise<Record<string, unknown>> {
  const s = JSON.parse(await readFile(join(SCENARIO_DIR, 'tiny-4.json'), 'utf8')) as Record<string, unknown>;
  s.peers = {
    count: 4,
    links: { classes: [{ name: 'free', share: 0.5, up: '4MB', down: '4MB', latencyMs: 1 }, { name: 'capped', share: 0.5, up: '4MB', down: '4MB', latencyMs: 1, downloadLimit: '256KiB' }] },
  };
  return s;
}

test('the plan, the bound and the simulator scenario carry a class\'s download limit', async (t) => {
  const s = parseScenario(await tinyWithCappedClass(), 'x.json');
  const peers = planPeers(s);
  t.deepEqual(peers.map((p) => p.link.downloadLimit ?? null).filter((l) => l !== null), [LIMIT, LIMIT]);
  t.is(tMinSeconds(s, peers), s.fileBytes / LIMIT, 'F / the limit: the slowest "downlink"');
  const { sim } = toSimScenario(s);
  t.deepEqual(sim.downloadLimits, peers.map((p) => p.link.downloadLimit ?? null));
  t.false('downloadLimits' in toSimScenario(parseScenario(JSON.parse(await readFile(join(SCENARIO_DIR, 'tiny-4.json'), 'utf8')), 'x.json')).sim);
});

test('in the simulator the capped peers take at least F / limit, the others far less', async (t) => {
  const s = parseScenario(await tinyWithCappedClass(), 'x.json');
  const peers = planPeers(s);
  const r = runSimSystem(s, tMinSeconds(s, peers), 120);
  t.is(r.finished, 4);
  for (const p of r.perPeer) {
    const capped = peers.find((q) => q.id === p.id)?.link.downloadLimit !== undefined;
    t.log(`${p.id} ${capped ? 'capped' : 'free'}: ${p.seconds?.toFixed(1)} s`);
    if (capped) t.true((p.seconds ?? 0) >= (s.fileBytes - LIMIT) / LIMIT, `${p.id}: ${p.seconds} s`);
    else t.true((p.seconds ?? Infinity) < 10, `${p.id} does not wait for the capped: ${p.seconds} s`);
  }
});

test('a download limit is a peer\'s: under 512 bytes a second, or on the source, it is a one-line error', async (t) => {
  const low = await tinyWithCappedClass();
  (((low.peers as { links: { classes: Record<string, unknown>[] } }).links.classes)[1] as Record<string, unknown>).downloadLimit = 100;
  t.throws(() => parseScenario(low, 'x.json'), { instanceOf: ScenarioError, message: /^x\.json: peers\.links\.classes\[1\]\.downloadLimit must be at least 512 bytes a second, got 100$/ });
  const source = await tinyWithCappedClass();
  (source.source as Record<string, unknown>).downloadLimit = '1MiB';
  t.throws(() => parseScenario(source, 'x.json'), { instanceOf: ScenarioError, message: /^x\.json: source\.downloadLimit is not a field here/ });
});

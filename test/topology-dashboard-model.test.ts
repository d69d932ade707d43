// The dashboard's model without sockets (issue #14): rates from successive snapshots, what
// is kept and for how long, the event-stream bookkeeping, and which file names are accepted.
import test from 'ava';
import { Dashboard, RATE_WINDOW_MS } from '../topology-server/dashboard.ts';
import type { DashboardSnapshot, Listener } from '../topology-server/dashboard.ts';
import type { RegistrySnapshot, SwarmSummary } from '../topology-server/registry.ts';
import { isSwarmName, NAME_MAX, nameFromUrl } from '../topology-server/swarm-file.ts';

const swarm = (n: number, over: Partial<SwarmSummary> = {}): SwarmSummary => ({
  swarmId: n.toString(16).repeat(64).slice(0, 64), peers: 2, downloading: 2, done: 0, fromSource: 0, fromPeers: 0, uploaded: 0, ...over,
});

/** A registry stand-in whose summary the test sets, and a clock the test moves. */
function world(top = 50) {
  const state = { now: 1_000_000, largest: [] as SwarmSummary[], reads: 0 };
  let tick: (() => void) | undefined;
  const source = {
    snapshot(n: number): RegistrySnapshot {
      state.reads++;
      return { swarms: state.largest.length, peers: { downloading: 0, done: 0, unknown: 0 }, registrations: 0, largest: state.largest.slice(0, n) };
    },
  };
  const dashboard = new Dashboard(source, {
    top, maxListeners: 2, now: () => state.now,
    timer: (t) => {
      tick = t;
      return () => (tick = undefined);
    },
  });
  return { state, dashboard, ticking: () => tick !== undefined, tick: () => tick?.() };
}

test('rates are the growth of the sums over the window, never negative, zero once no one downloads', async (t) => {
  const { state, dashboard } = world();
  state.largest = [swarm(1, { fromSource: 0, fromPeers: 0, file: { name: 'file.bin', size: 1000 } })];
  const first = (await dashboard.snapshot()).list[0];
  t.is(first?.sourceRate, 0, 'one sample: no rate yet');
  t.is(first?.name, 'file.bin');

  state.now += 10_000;
  state.largest = [swarm(1, { fromSource: 500, fromPeers: 2000, file: { name: 'file.bin', size: 1000 } })];
  const second = await dashboard.snapshot();
  t.is(second.list[0]?.sourceRate, 50);
  t.is(second.list[0]?.peerRate, 200);
  t.is(second.list[0]?.sourceServed, 0.5);
  t.is(second.sourceRate, 50);

  // Past the window the first sample is dropped: the rate is over the window only.
  state.now += RATE_WINDOW_MS;
  state.largest = [swarm(1, { fromSource: 800, fromPeers: 2000 })];
  t.is((await dashboard.snapshot()).list[0]?.sourceRate, 300 / (RATE_WINDOW_MS / 1000));

  // A peer left with its bytes: the sums fall, the rate does not go negative.
  state.now += 1000;
  state.largest = [swarm(1, { fromSource: 100, fromPeers: 100 })];
  const fell = (await dashboard.snapshot()).list[0];
  t.is(fell?.sourceRate, 0);
  t.is(fell?.peerRate, 0);
  t.is(fell?.sourceServed, null, 'no size: no ratio');

  state.now += 1000;
  state.largest = [swarm(1, { fromSource: 5000, fromPeers: 9000, downloading: 0, done: 2 })];
  t.is((await dashboard.snapshot()).list[0]?.peerRate, 0, 'everyone done: nothing moves');
});

test('a snapshot is reused within a tick (less the timer slack), and only the listed swarms keep samples', async (t) => {
  const { state, dashboard } = world(1);
  state.largest = [swarm(1, { fromSource: 0 })];
  const a = await dashboard.snapshot();
  state.now += 899;
  t.is(await dashboard.snapshot(), a);
  t.is(state.reads, 1);

  // Swarm 1 drops out of the top 1 and comes back: its old samples are gone (no stale rate).
  // (A tick that fires a little early, 950 ms on the wall clock, makes a new snapshot.)
  state.now += 51;
  state.largest = [swarm(2)];
  t.is((await dashboard.snapshot()).list[0]?.id, swarm(2).swarmId.slice(0, 16));
  state.now += 5000;
  state.largest = [swarm(1, { fromSource: 9999 })];
  t.is((await dashboard.snapshot()).list[0]?.sourceRate, 0);
});

test('snapshots go out every tick only while someone listens; at most maxListeners; close ends them all', async (t) => {
  const { state, dashboard, ticking, tick } = world();
  state.largest = [swarm(1)];
  const got: DashboardSnapshot[][] = [[], [], []];
  const ended = [false, false, false];
  const listener = (i: number): Listener => ({ send: (s) => got[i]?.push(s), end: () => (ended[i] = true) });
  const l0 = listener(0);
  t.false(ticking());
  t.true(dashboard.listen(l0));
  t.true(ticking());
  await new Promise((resolve) => setImmediate(resolve));
  t.is(got[0]?.length, 1, 'the first snapshot at once');

  t.true(dashboard.listen(listener(1)));
  t.false(dashboard.listen(listener(2)), 'beyond maxListeners');
  state.now += 1000;
  tick();
  await new Promise((resolve) => setImmediate(resolve));
  t.is(got[0]?.length, 2);
  t.is(got[2]?.length, 0);

  dashboard.unlisten(l0);
  t.true(ticking(), 'one still listens');
  dashboard.close();
  t.false(ticking());
  t.deepEqual(ended, [false, true, false]);
  t.is(dashboard.listening, 0);
});

test('a swarm name is 1 to 200 code points of printable text; a peer derives a clean one from its URL', (t) => {
  t.true(isSwarmName('file.bin'));
  t.true(isSwarmName('<img src=x onerror=alert(1)>'), 'markup is text: the page escapes it');
  t.true(isSwarmName('日本語 ファイル.iso'));
  t.true(isSwarmName('😀'.repeat(NAME_MAX)), 'counted in code points');
  for (const bad of ['', '   ', 'a\nb', 'a\u0000b', 'evil\u202Etxt.exe', 'zero\u200Bwidth', '\uD800', 'x'.repeat(NAME_MAX + 1), 5, null]) {
    t.false(isSwarmName(bad), JSON.stringify(bad));
  }
  t.is(nameFromUrl('http://h/dir/file.bin'), 'file.bin');
  t.is(nameFromUrl('http://h/a/my%20file%E2%80%AE.iso?x=1#y'), 'my file.iso', 'decoded, a bidi override dropped');
  t.is(nameFromUrl('http://h/bad%E0%A4%A'), 'bad%E0%A4%A', 'broken encoding kept raw');
  t.is(nameFromUrl('http://h/dir/'), undefined);
  t.is(nameFromUrl('http://h/%0A%0D'), undefined, 'nothing printable left');
  t.is(nameFromUrl(`http://h/${'a'.repeat(500)}`), 'a'.repeat(NAME_MAX));
  t.is(nameFromUrl('not a url'), undefined);
});

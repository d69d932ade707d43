// `slurpie sim` reruns itself in a child node with a larger heap (bin/commands/sim-v8-flags.ts):
// the child must get the flags, and must not outlive its parent, however the parent ends.
import test, { type ExecutionContext } from 'ava';
import { readFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { OLD_SPACE_SHARE } from '../bin/commands/sim-v8-flags.ts';
import { announced } from '../experiments/swarm/processes.ts';
import { alive, runSlurpie, scratch, slurpie } from './fixtures/cli-run.ts';

// Long enough to be killed while it runs (minutes on a loaded machine), small enough to start fast.
const LONG_SIM = ['sim', '--peers', '1500', '--size', '32MiB', '--source-rate', '1.25MB', '--peer-up', '12.5MB', '--peer-down', '12.5MB', '--latency-ms', '1', '--no-live'];

/** The simulation child of a `slurpie sim` process, once it has started (it prints the scenario first). */
async function simChild(t: ExecutionContext, parent: ReturnType<typeof slurpie>): Promise<number> {
  await announced(parent, /peers, .* seed/, 60_000);
  const children = (await readFile(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8')).trim().split(/\s+/).map(Number);
  t.is(children.length, 1, 'one child: the simulation');
  const pid = children[0] as number;
  t.teardown(() => {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  return pid;
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  for (const until = performance.now() + withinMs; performance.now() < until; await delay(100)) if (!alive(pid)) return true;
  return !alive(pid);
}

test('the simulation runs with the old space raised to three quarters of the memory', async (t) => {
  t.timeout(150_000);
  const dir = await scratch(t);
  const out = join(dir, 'r.json');
  const r = await runSlurpie(t, ['sim', '--peers', '3', '--size', '1MiB', '--latency-ms', '2', '--no-live', '--json', out]);
  t.is(r.code, 0, r.stderr);
  const json = JSON.parse(await readFile(out, 'utf8'));
  const oldSpace = Math.max(1024, Math.floor((OLD_SPACE_SHARE * totalmem()) / 2 ** 20)) * 2 ** 20;
  t.true(json.memory.heapLimitBytes >= oldSpace, `heap limit ${json.memory.heapLimitBytes}, old space asked ${oldSpace}`);
});

test('SIGTERM to slurpie sim ends the simulation too, and the exit status says so', async (t) => {
  t.timeout(150_000);
  const parent = slurpie(t, LONG_SIM);
  const child = await simChild(t, parent);
  process.kill(parent.pid, 'SIGTERM');
  const { code } = await parent.exited;
  t.is(code, 128 + 15);
  t.true(await gone(child, 10_000), 'the simulation ended with it');
});

test('a simulation whose parent was killed outright stops by itself', async (t) => {
  t.timeout(150_000);
  const parent = slurpie(t, LONG_SIM);
  const child = await simChild(t, parent);
  process.kill(parent.pid, 'SIGKILL');
  await parent.exited;
  // It looks once a virtual second: a few seconds of wall time at this size, more on a loaded machine.
  t.true(await gone(child, 90_000), 'the orphaned simulation ended');
});

// The fault matrix's short rows that no other test covers (issues 6, 11, 15): kill -9 and
// rerun with the source's bytes counted, fuzzed frames, the topology server restarted, churn,
// a slow-loris peer, an UPDATE flood, garbage at the topology server, lying and pushing peers,
// reflection, id takeover and a Sybil flood at the topology server, and a full disk where a
// tmpfs can be mounted. Each row starts real processes on loopback; `npm run faults` runs the
// whole matrix, bigger.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedFrom } from '../estimation/random.ts';
import { killChild } from '../experiments/swarm/processes.ts';
import type { FaultRun } from '../experiments/faults/fault-row.ts';
import { run as killResume } from '../experiments/faults/kill-resume.ts';
import { run as fuzzFrames } from '../experiments/faults/fuzz-frames.ts';
import { run as topologyRestart } from '../experiments/faults/topology-restart.ts';
import { run as churn } from '../experiments/faults/churn.ts';
import { run as slowLoris } from '../experiments/faults/slow-loris.ts';
import { run as updateFlood } from '../experiments/faults/update-flood.ts';
import { run as topologyGarbage } from '../experiments/faults/topology-garbage.ts';
import { run as topologyReflection } from '../experiments/faults/topology-reflection.ts';
import { run as topologyTakeover } from '../experiments/faults/topology-takeover.ts';
import { run as topologySybil } from '../experiments/faults/topology-sybil.ts';
import { run as diskFull } from '../experiments/faults/disk-full.ts';
import { run as lyingPeer, runConsistent as lyingPeerConsistent } from '../experiments/faults/lying-peer.ts';
import { run as pushingPeer } from '../experiments/faults/pushing-peer.ts';

const seed = seedFrom(process.env, 6);

// The disk-full row needs to mount a tmpfs (root in a container). Probed here, synchronously,
// so a machine without that right reports a skip rather than a pass.
const canMountTmpfs = ((): boolean => {
  const probe = mkdtempSync(join(tmpdir(), 'slurpie-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmdirSync(probe);
  }
})();

function row(name: string, run: FaultRun, timeoutMs: number, skip?: string): void {
  const title = `fault row: ${name}`;
  if (skip !== undefined) {
    test.skip(`${title} (skipped: ${skip})`, () => {});
    return;
  }
  // Serial: each row is a swarm of processes; several at once on a small machine would measure the machine.
  test.serial(title, async (t) => {
    t.timeout(timeoutMs);
    t.log(`seed ${seed}`);
    const dir = await mkdtemp(join(tmpdir(), 'slurpie-faults-test-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const r = await run({
      short: true, seed, dir,
      track: (child) => t.teardown(() => killChild(child, 'SIGKILL')),
    });
    t.log(`${r.fault}: ${r.observed}`);
    t.false(r.skipped ?? false, `the row skipped itself although this test expected it to run: ${r.observed}`);
    if (r.bytesLost !== null) t.is(r.bytesLost, 0, 'bytes lost');
    t.true(r.pass, `${r.fault}: expected ${r.expected}; observed ${r.observed}`);
  });
}

row('kill -9 at ~40%, rerun: the source serves at most F + 2 MiB', killResume, 60_000);
row('fuzzed frames at a live peer', fuzzFrames, 60_000);
row('topology server restarted mid-swarm', topologyRestart, 60_000);
row('churn: 30% of peers killed', churn, 60_000);
row('slow-loris peer', slowLoris, 120_000); // 15 s request time-outs, a few rounds of them
row('UPDATE flood', updateFlood, 60_000);
row('topology server: garbage and a burst', topologyGarbage, 60_000);
row('lying peer: wrong bytes, right digests', lyingPeer, 120_000);
row('lying peer: wrong bytes under their own digests', lyingPeerConsistent, 120_000);
row('peer pushing unrequested BLOCKs', pushingPeer, 60_000);
row('topology server: reflection (a host field naming a victim)', topologyReflection, 60_000);
row('topology server: id takeover from another address', topologyTakeover, 60_000);
row('topology server: Sybil flood from one address', topologySybil, 60_000);
row('disk full', diskFull, 60_000, canMountTmpfs ? undefined : 'no right to mount a tmpfs here');

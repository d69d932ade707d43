// `slurpie sim` starts itself again with a heap sized for a simulation (bin/commands/sim-v8-flags.ts),
// unless the user chose heap flags or opted out.
import test from 'ava';
import { CHILD_ENV, MAX_SEMI_SPACE_MIB, MIN_SEMI_SPACE_MIB, OLD_SPACE_SHARE, semiSpaceMib, simV8Flags } from '../bin/commands/sim-v8-flags.ts';

const GiB = 2 ** 30;

test('with no heap flags given: a larger young generation and three quarters of the memory for the old one', (t) => {
  const flags = simV8Flags(['--import=tsx'], {}, 24 * GiB, 1000);
  t.deepEqual(flags, [`--max-semi-space-size=${semiSpaceMib(1000)}`, `--max-old-space-size=${Math.floor(OLD_SPACE_SHARE * 24 * 1024)}`]);
});

test('the young generation grows with the swarm, in powers of two, within bounds', (t) => {
  t.is(semiSpaceMib(1), MIN_SEMI_SPACE_MIB);
  t.is(semiSpaceMib(1000), 256);
  t.is(semiSpaceMib(100_000), MAX_SEMI_SPACE_MIB);
  let last = 0;
  for (let peers = 1; peers <= 1_000_000; peers = Math.ceil(peers * 1.3)) {
    const mib = semiSpaceMib(peers);
    t.true(mib >= last && Number.isInteger(Math.log2(mib)), `${peers} peers: ${mib} MiB`);
    last = mib;
  }
});

test('a small machine still gets at least 1 GiB of old space', (t) => {
  t.true(simV8Flags([], {}, 512 * 2 ** 20, 10).includes('--max-old-space-size=1024'));
});

test('heap flags the user gave win, in node arguments or NODE_OPTIONS, with dashes or underscores', (t) => {
  t.deepEqual(simV8Flags(['--max-old-space-size=2048'], {}, 24 * GiB, 10), []);
  t.deepEqual(simV8Flags(['--max_semi_space_size=32'], {}, 24 * GiB, 10), []);
  t.deepEqual(simV8Flags([], { NODE_OPTIONS: '--enable-source-maps --max-heap-size=4096' }, 24 * GiB, 10), []);
  t.notDeepEqual(simV8Flags([], { NODE_OPTIONS: '--enable-source-maps' }, 24 * GiB, 10), []);
});

test('the child (and a user who set SLURPIE_SIM_V8=0) runs as it is', (t) => {
  t.deepEqual(simV8Flags([], { [CHILD_ENV]: '1' }, 24 * GiB, 10), []);
  t.deepEqual(simV8Flags([], { [CHILD_ENV]: '0' }, 24 * GiB, 10), []);
});

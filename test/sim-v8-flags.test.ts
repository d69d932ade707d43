// `slurpie sim` starts itself again with a heap sized for a simulation (bin/commands/sim-v8-flags.ts),
// unless the user chose heap flags or opted out.
import test from 'ava';
import { CHILD_ENV, OLD_SPACE_SHARE, SEMI_SPACE_MIB, simV8Flags } from '../bin/commands/sim-v8-flags.ts';

const GiB = 2 ** 30;

test('with no heap flags given: a larger young generation and three quarters of the memory for the old one', (t) => {
  const flags = simV8Flags(['--import=tsx'], {}, 24 * GiB);
  t.deepEqual(flags, [`--max-semi-space-size=${SEMI_SPACE_MIB}`, `--max-old-space-size=${Math.floor(OLD_SPACE_SHARE * 24 * 1024)}`]);
});

test('a small machine still gets at least 1 GiB of old space', (t) => {
  t.true(simV8Flags([], {}, 512 * 2 ** 20).includes('--max-old-space-size=1024'));
});

test('heap flags the user gave win, in node arguments or NODE_OPTIONS, with dashes or underscores', (t) => {
  t.deepEqual(simV8Flags(['--max-old-space-size=2048'], {}, 24 * GiB), []);
  t.deepEqual(simV8Flags(['--max_semi_space_size=32'], {}, 24 * GiB), []);
  t.deepEqual(simV8Flags([], { NODE_OPTIONS: '--enable-source-maps --max-heap-size=4096' }, 24 * GiB), []);
  t.notDeepEqual(simV8Flags([], { NODE_OPTIONS: '--enable-source-maps' }, 24 * GiB), []);
});

test('the child (and a user who set SLURPIE_SIM_V8=0) runs as it is', (t) => {
  t.deepEqual(simV8Flags([], { [CHILD_ENV]: '1' }, 24 * GiB), []);
  t.deepEqual(simV8Flags([], { [CHILD_ENV]: '0' }, 24 * GiB), []);
});

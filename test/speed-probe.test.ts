// The machine's speed of the day beside every experiment (experiments/testbed/speed-probe.ts):
// a positive CPU count that grows with the work, and the line the results table gives it.
import test from 'ava';
import { speedProbeCpuMs } from '../experiments/testbed/speed-probe.ts';
import { speedOf } from '../experiments/testbed/results.ts';

test('more rounds take more CPU, and none takes none', (t) => {
  const small = speedProbeCpuMs(2_000_000);
  const large = speedProbeCpuMs(40_000_000);
  t.true(small > 0, `${small} CPU-ms`);
  t.true(large > small, `40M rounds ${large} CPU-ms, 2M ${small}`);
});

test('the table names the speed when the results have it, and nothing when they do not', (t) => {
  t.is(speedOf({ cpus: 2, node: 'v20.0.0' }), '');
  t.is(speedOf({ cpus: 2, node: 'v20.0.0', speedProbeCpuMs: 118 }), "; the speed probe took 118 CPU-ms at the start (this machine's speed varies by the hour)");
});

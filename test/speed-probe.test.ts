// The machine's speed of the day beside every experiment (experiments/testbed/speed-probe.ts):
// a positive CPU count that grows with the work, and the line the results table gives it.
import test from 'ava';
import { sha256CpuMs } from '../experiments/testbed/speed-probe.ts';
import { speedOf } from '../experiments/testbed/results.ts';

test('SHA-256 of more MiB takes more CPU, and none takes none', (t) => {
  const small = sha256CpuMs(4);
  const large = sha256CpuMs(64);
  t.true(small > 0, `${small} CPU-ms`);
  t.true(large > small, `64 MiB ${large} CPU-ms, 4 MiB ${small}`);
});

test('the table names the speed when the results have it, and nothing when they do not', (t) => {
  t.is(speedOf({ cpus: 2, node: 'v20.0.0' }), '');
  t.is(speedOf({ cpus: 2, node: 'v20.0.0', sha256CpuMsPer64MiB: 44 }), "; SHA-256 of 64 MiB took 44 CPU-ms at the start (this machine's speed varies from day to day)");
});

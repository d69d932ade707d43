// Sizes and rates on the command line (bin/units.ts): KiB/MiB/GiB, kB/MB/GB, and curl's K/M/G.
import test from 'ava';
import { formatBytes, parseBytes } from '../bin/units.ts';

test('units: binary, decimal, and the bare letters curl and wget take, in 1024s', (t) => {
  const cases: [string, number][] = [
    ['4096', 4096], ['10B', 10], ['256KiB', 262_144], ['1.5GiB', 1_610_612_736], ['2MB', 2_000_000], ['5kb', 5000],
    ['2M', 2_097_152], ['2m', 2_097_152], ['200k', 204_800], ['1G', 1_073_741_824], ['512K/s', 524_288], [' 3 MiB ', 3_145_728],
  ];
  for (const [text, bytes] of cases) t.is(parseBytes(text, 'rate'), bytes, text);
});

test('units: anything else is a one-line error naming the flag', (t) => {
  for (const text of ['', 'fast', '2T', '-1M', '0', '2 M B', '1e3']) {
    const err = t.throws(() => parseBytes(text, 'download-limit'), undefined, JSON.stringify(text));
    t.regex(err?.message ?? '', /^--download-limit: /, text);
    t.false((err?.message ?? '').includes('\n'), text);
  }
  t.is(formatBytes(2_097_152), '2.0 MiB');
});

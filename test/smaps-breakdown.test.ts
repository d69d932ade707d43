// experiments/swarm/smaps.ts: resident memory split by kind, from an smaps text.
import test from 'ava';
import { parseSmaps, residentByKind } from '../experiments/swarm/smaps.ts';

const entry = (range: string, perms: string, path: string, rssKiB: number): string =>
  `${range} ${perms} 00000000 00:00 0          ${path}\nSize:               4 kB\nRss:             ${rssKiB} kB\nPss:             ${rssKiB} kB\n`;

// One of each kind, shaped as on x86-64 Linux (addresses hex, sizes as glibc and V8 make them).
const SMAPS = [
  entry('00400000-00b72000', 'r--p', '/usr/bin/node', 5000),
  entry('00b72000-02601000', 'r-xp', '/usr/bin/node', 20000),
  entry('2fa95000-3208a000', 'rw-p', '[heap]', 30000),
  entry('7f28d8000000-7f28da404000', 'rw-p', '', 10000), // a thread's arena: 64 MiB-aligned ...
  entry('7f28da404000-7f28dc000000', '---p', '', 0), // ... the rest of its 64 MiB reserved
  entry('7f28e17fc000-7f28e17fd000', '---p', '', 0), // a guard page ...
  entry('7f28e17fd000-7f28e1ffd000', 'rw-p', '', 24), // ... and its 8 MiB thread stack
  entry('7f28e4003000-7f28e4043000', 'rwxp', '', 240), // V8 code
  entry('1a0e93480000-1a0e934c0000', 'rw-p', '', 256), // a V8 page
  entry('7f290ac44000-7f290ad9a000', 'r-xp', '/usr/lib/x86_64-linux-gnu/libc.so.6', 1048),
  entry('7ffd1c000000-7ffd1c021000', 'rw-p', '[stack]', 132),
].join('');

test('each mapping is counted once, under its kind', (t) => {
  const maps = parseSmaps(SMAPS);
  t.is(maps.length, 11);
  t.deepEqual(maps[0], { start: 0x400000, end: 0xb72000, perms: 'r--p', path: '/usr/bin/node', rssKiB: 5000 });
  t.deepEqual(residentByKind(maps, '/usr/bin/node'), {
    'node binary': 25000, 'libraries': 1048, 'malloc brk heap': 30000, 'malloc arenas': 10000,
    'thread stacks': 24, 'jit code': 240, 'v8 heap + mmap': 256, 'other': 132,
  });
});

test('an 8 MiB mapping without a guard page before it is not taken for a stack', (t) => {
  const maps = parseSmaps(entry('7f28e17fd000-7f28e1ffd000', 'rw-p', '', 8192));
  t.is(residentByKind(maps, '/usr/bin/node')['v8 heap + mmap'], 8192);
});

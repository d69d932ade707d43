// Where a process's resident memory is, from /proc/PID/smaps (issue #12: a peer at most 100
// MiB). Linux names only file mappings, [heap] and [stack]; the anonymous ones are told
// apart by their shape, which is glibc's and V8's on x86-64 Linux:
//   malloc arena   a thread's arena: a 64 MiB-aligned reservation, its used part rw-p
//                  followed by the rest ---p (the main thread's arena is [heap], brk)
//   thread stack   8 MiB rw-p right after its ---p guard page (libuv, V8 and Node threads)
//   jit code       rwx pages (V8's code space)
//   v8 / mmap      the rest: V8's heap pages (256 KiB each) and malloc's own mmaps (blocks
//                  of 128 KiB and more, when below glibc's dynamic threshold)
// A heuristic: the resident total is exact, the split between the anonymous kinds is not.

export type MemoryKind = 'node binary' | 'libraries' | 'malloc brk heap' | 'malloc arenas' | 'thread stacks' | 'jit code' | 'v8 heap + mmap' | 'other';

export interface Mapping {
  start: number;
  end: number;
  perms: string;
  path: string;
  rssKiB: number;
}

const ARENA_ALIGN = 64 * 1024 * 1024;
const STACK_BYTES = 8 * 1024 * 1024;

/** The mappings of an smaps text, with their resident size (Rss:, KiB). */
export function parseSmaps(text: string): Mapping[] {
  const maps: Mapping[] = [];
  let current: Mapping | null = null;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      current = { start: parseInt(head[1]!, 16), end: parseInt(head[2]!, 16), perms: head[3]!, path: head[4]!.trim(), rssKiB: 0 };
      maps.push(current);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && current) current.rssKiB = Number(rss[1]);
  }
  return maps;
}

/** Resident KiB by kind; `exe` is the executable's path (/proc/PID/exe). */
export function residentByKind(maps: Mapping[], exe: string): Record<MemoryKind, number> {
  const out: Record<MemoryKind, number> = {
    'node binary': 0, 'libraries': 0, 'malloc brk heap': 0, 'malloc arenas': 0, 'thread stacks': 0, 'jit code': 0, 'v8 heap + mmap': 0, 'other': 0,
  };
  maps.forEach((m, i) => {
    out[kindOf(m, maps[i - 1], maps[i + 1], exe)] += m.rssKiB;
  });
  return out;
}

function kindOf(m: Mapping, before: Mapping | undefined, after: Mapping | undefined, exe: string): MemoryKind {
  if (m.path === exe) return 'node binary';
  if (m.path === '[heap]') return 'malloc brk heap';
  if (m.path.startsWith('/')) return 'libraries';
  if (m.path !== '') return 'other'; // [stack], [vdso], [vvar] and the like
  if (m.perms.startsWith('rwx')) return 'jit code';
  if (m.perms !== 'rw-p') return 'other';
  const guarded = before !== undefined && before.end === m.start && before.perms === '---p';
  if (m.end - m.start === STACK_BYTES && guarded) return 'thread stacks';
  const reservedRest = after !== undefined && after.start === m.end && after.perms === '---p' && after.end % ARENA_ALIGN === 0;
  if (m.start % ARENA_ALIGN === 0 && (reservedRest || (m.end - m.start) === ARENA_ALIGN)) return 'malloc arenas';
  return 'v8 heap + mmap';
}

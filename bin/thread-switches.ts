// How often this process's main thread blocked with nothing to do (voluntary context switches)
// and how often the kernel took the core from it while it had work (involuntary), from Linux's
// /proc/self/status. A peer that was preempted more often than it waited was bound by CPU: on
// a slow day 48 peers on 2 cores waited ~590 times and were preempted ~930 times each in a
// 60 s run (docs/peer-cost-by-the-second.md), so their cost is the work, not the wake-ups.
import { readFileSync } from 'node:fs';

export interface ThreadSwitches {
  voluntary: number;
  involuntary: number;
}

/** The two counts from a /proc/PID/status text; null when either is missing. */
export function parseThreadSwitches(status: string): ThreadSwitches | null {
  const count = (kind: string): number | null => {
    const m = new RegExp(`^${kind}_ctxt_switches:\\s+(\\d+)\\s*$`, 'm').exec(status);
    return m ? Number(m[1]) : null;
  };
  const voluntary = count('voluntary');
  const involuntary = count('nonvoluntary');
  return voluntary === null || involuntary === null ? null : { voluntary, involuntary };
}

/** This process's main thread's counts so far; null where there is no /proc (not Linux). */
export function mainThreadSwitches(read: () => string = () => readFileSync('/proc/self/status', 'utf8')): ThreadSwitches | null {
  try {
    return parseThreadSwitches(read());
  } catch {
    return null;
  }
}

/** Whether a value read back from a stats file is a pair of counts. */
export function isThreadSwitches(v: unknown): v is ThreadSwitches {
  if (typeof v !== 'object' || v === null) return false;
  const { voluntary, involuntary } = v as Record<string, unknown>;
  return Number.isSafeInteger(voluntary) && Number.isSafeInteger(involuntary) && (voluntary as number) >= 0 && (involuntary as number) >= 0;
}

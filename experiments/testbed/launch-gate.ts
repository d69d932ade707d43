// The testbed's launcher: at most `slots` peers' processes starting up at once, the others
// held in arrival order, and those starting ahead of the running ones (nice STARTUP_NICE,
// back to the launcher's own once started). The testbed's 48 hosts share this machine's
// cores; launched together, their start-ups share the CPU, and none reaches the network until
// nearly all are done (48 x ~0.2 CPU-s on 2 cores: ~4 s of an idle source at lan-48). A real
// host has its own CPU and starts in ~0.15 s; in turn and ahead, each start-up here runs near
// a core's speed as there and the first peers reach the source at once; lan-48's last peer is
// launched 8.5 s after its arrival. Without the priority, start-ups behind a busy swarm took
// 2-5 s each and the last was launched 44 s late: a flash crowd no longer. A peer's time still
// counts from its planned arrival: a wait in the gate is its. Off by default (`slurpie
// experiment --launch-slots`): at lan-48 two slots won 6 of 8 pairs by a median 0.065 T_min,
// where the simulator expected 0.2 (docs/testbed.md, "Start-ups").
//
// A start-up ends, for the gate, when the process has a TCP connection (SYN sent or
// established) in its host's namespace: system-neutral (curl's GET, slurpie's probe,
// a BitTorrent client's tracker announce), read from /proc/<pid>/net/tcp, which shows the
// namespace the process lives in. Or when it exits, or after `maxStartupMs` (a system that
// only listens must not block the rest).
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setPriority } from 'node:os';

/** Start-ups run ahead of the running peers (0) and of the services (service-priority.ts, -10). */
export const STARTUP_NICE = -20;

const SYN_SENT = '02';
const ESTABLISHED = '01';

/** Whether process `pid`, once in its namespace, has an outgoing or open TCP connection there. */
export async function hasConnection(pid: number): Promise<boolean> {
  try {
    // Before `ip netns exec` has exec'd, the PID is still `ip` and /proc shows the root namespace.
    if ((await readFile(`/proc/${pid}/comm`, 'utf8')).trim() === 'ip') return false;
    for (const table of ['tcp', 'tcp6']) {
      const lines = (await readFile(`/proc/${pid}/net/${table}`, 'utf8')).split('\n').slice(1);
      // Columns: sl local_address rem_address st ...; a previous system's sockets are closed or closing by now.
      if (lines.some((l) => [ESTABLISHED, SYN_SENT].includes(l.trim().split(/\s+/)[3] ?? ''))) return true;
    }
    return false;
  } catch {
    return false; // gone already: the caller sees its exit
  }
}

/**
 * Sets the nice value of every thread of `pid` (Linux's setpriority is per thread); false if not
 * permitted or gone. Synchronous: right after a spawn, before the child has threads to miss.
 */
export function reniceAll(pid: number, nice: number): boolean {
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) setPriority(Number(tid), nice);
    return true;
  } catch {
    return false; // not root, or it exited meanwhile
  }
}

export interface Starting {
  pid: number;
  since: number; // performance.now() at launch
  exited: () => boolean;
  started?: () => unknown; // its slot is free: it runs as the others from now
}

export class LaunchGate {
  private readonly starting = new Set<Starting>();

  /** `slots` 0: no limit (every peer at its arrival, as the testbed did before). */
  constructor(
    readonly slots: number,
    private readonly maxStartupMs = 5000,
    private readonly connected: (pid: number) => Promise<boolean> = hasConnection,
  ) {
    if (!Number.isInteger(slots) || slots < 0) throw new RangeError(`launch slots must be a non-negative integer, got ${slots}`);
  }

  /** How many more may start now. */
  free(): number {
    return this.slots === 0 ? Infinity : Math.max(0, this.slots - this.starting.size);
  }

  add(s: Starting): void {
    if (this.slots > 0) this.starting.add(s);
  }

  /** Releases the slots of start-ups that are over; `now` is performance.now(). */
  async poll(now: number): Promise<void> {
    await Promise.all([...this.starting].map(async (s) => {
      if (s.exited() || now - s.since >= this.maxStartupMs || (await this.connected(s.pid))) {
        this.starting.delete(s);
        await s.started?.();
      }
    }));
  }

  get busy(): boolean {
    return this.starting.size > 0;
  }
}

// What ran an experiment: results from different days on this VM differ by up to half for
// the same code (docs/peer-cost-notes.md), so each results file says what it can about why:
// the kernel, the CPU model and how loaded the machine already was when the run started.
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';

export interface MachineInfo {
  cpus: number;
  node: string;
  kernel?: string; // os.release()
  cpuModel?: string;
  loadAtStart?: number; // the 1-minute load average as the run began
}

export function machineInfo(): MachineInfo {
  const all = cpus();
  const model = all[0]?.model.trim();
  return {
    cpus: all.length,
    node: process.version,
    kernel: release(),
    ...(model && { cpuModel: model }),
    loadAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

/** "2 CPUs (model), kernel 6.1.0, load 0.40 at the start, Node v20" for a results header; older files lack the optional parts. */
export function describeMachine(m: MachineInfo): string {
  const cpu = m.cpuModel ? `${m.cpus} CPUs (${m.cpuModel})` : `${m.cpus} CPUs`;
  const kernel = m.kernel ? `, kernel ${m.kernel}` : '';
  const load = m.loadAtStart !== undefined ? `, load ${m.loadAtStart.toFixed(2)} at the start` : '';
  return `${cpu}${kernel}${load}, Node ${m.node}`;
}

/** The machine's CPU over one system's run: all its cores' busy time (the peers, the kernel's forwarding, the source, the topology server, this driver). */
export interface MachineCpu {
  busySeconds: number; // user, nice, system, irq, softirq and steal time over every core
  capacitySeconds: number; // busy + idle + iowait: the cores' wall time over the run
  probeBeforeMs?: number; // CPU-ms a fixed piece of work took just before the launch (speed-probe.ts: the host's speed then)
  probeDuringMs?: number; // ...and at the median through the run, probed every 5 s (our load and the host's)
}

/** Linux's /proc/stat "cpu" line in seconds (USER_HZ 100): busy and all; null elsewhere. */
export async function readCpuTimes(path = '/proc/stat'): Promise<{ busy: number; all: number } | null> {
  try {
    const line = (await readFile(path, 'utf8')).split('\n').find((l) => l.startsWith('cpu '));
    const f = line?.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
    if (!f || f.length < 8 || f.some((x) => !Number.isFinite(x))) return null;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = f as [number, number, number, number, number, number, number, number];
    const busy = user + nice + system + irq + softirq + steal;
    return { busy: busy / 100, all: (busy + idle + iowait) / 100 };
  } catch {
    return null;
  }
}

/** What the cores did between two readings. */
export function machineCpuBetween(a: { busy: number; all: number } | null, b: { busy: number; all: number } | null): MachineCpu | null {
  if (a === null || b === null || b.all <= a.all) return null;
  return { busySeconds: Math.round((b.busy - a.busy) * 100) / 100, capacitySeconds: Math.round((b.all - a.all) * 100) / 100 };
}

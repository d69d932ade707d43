// What ran an experiment: results from different days on this VM differ by up to half for
// the same code (docs/peer-cost-notes.md), so each results file says what it can about why:
// the kernel, the CPU model and how loaded the machine already was when the run started.
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

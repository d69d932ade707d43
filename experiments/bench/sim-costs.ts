// `npm run bench:sim-costs`: the simulator's CPU costs as this machine has them now, as the
// `--sim-cpu-*` flags of `slurpie experiment`. The machine's speed moves by half from day to
// day (docs/testbed.md, "The simulator against the testbed"); with the costs measured once
// (experiments/sim/cpu-model.ts) the simulator cannot follow it, with the costs of the hour it
// did (lan-48 on a slow evening: 0.87 on time, 1.10 on source bytes). Runs, in turn:
//   bench:peer-cost -- 64 --runs 3       start-up CPU and CPU per MiB, one peer alone (the bundle)
//   bench:message-cost -- 32 --runs 3    CPU per message or tick, 8 peers (median of its runs)
// About two minutes. The wake-up's cost stays the fitted one (cpu-model.ts says why). The dev
// bundle is made first: with a source newer than it, peers would run through tsx, whose
// start-up and per-MiB CPU are not the testbed's (SLURPIE_NO_BUILD=1 npm run bench:peer-cost
// -- 64 --runs 3: 0.906 CPU-s and 7.73 CPU-ms per MiB, against 0.205 and 6.47 bundled).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../swarm/project-root.ts';
import { median } from '../testbed/median.ts';

export interface DayCosts {
  startupMs: number;
  mibMs: number;
  eventMs: number;
}

/** Start-up CPU-ms and CPU-ms per MiB from bench:peer-cost's "median of N" line; null without one. */
export function parsePeerCost(stdout: string): Omit<DayCosts, 'eventMs'> | null {
  const m = /^median of \d+: start-up ([\d.]+) CPU-s .*?; ([\d.]+) CPU-ms per MiB moved/m.exec(stdout);
  return m ? { startupMs: Math.round(Number(m[1]) * 1000), mibMs: Number(m[2]) } : null;
}

/** The median over bench:message-cost's runs of CPU-ms per message or tick; null without a run. */
export function parseMessageCost(stdout: string): number | null {
  const each = [...stdout.matchAll(/^run \d+: .*= ([\d.]+) CPU-ms per message or tick/gm)].map((m) => Number(m[1]));
  return each.length === 0 ? null : median(each);
}

/** The flags that give `slurpie experiment`'s simulator these costs. */
export function simCpuFlags(c: DayCosts): string {
  return `--sim-cpu-startup-ms ${c.startupMs} --sim-cpu-event-ms ${c.eventMs} --sim-cpu-mib-ms ${c.mibMs}`;
}

/** Runs one script of the project (a path from its root) to its end, its output shown as it comes; resolves to what it printed. */
function runScript(script: string, args: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      process.stdout.write(chunk);
    });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited with ${code}`))));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await runScript('experiments/swarm/bundle.ts');
    const peer = parsePeerCost(await runScript('experiments/bench/peer-cost.ts', ['64', '--runs', '3']));
    const eventMs = parseMessageCost(await runScript('experiments/bench/message-cost.ts', ['32', '--peers', '8', '--runs', '3']));
    if (!peer || eventMs === null) throw new Error('a bench printed no result line');
    const costs = { ...peer, eventMs };
    console.log(`\ncosts of the hour: start-up ${costs.startupMs} CPU-ms, ${costs.mibMs} CPU-ms per MiB, ${costs.eventMs} CPU-ms per message or tick`);
    console.log(`slurpie experiment SCENARIO --systems slurpie,sim ${simCpuFlags(costs)}`);
  } catch (err) {
    console.error(`bench:sim-costs: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}

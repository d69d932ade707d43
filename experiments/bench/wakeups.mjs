// How often a peer's process woke up: each `slurpie get` main thread's voluntary context
// switches (it blocked in epoll with nothing to do, then woke), from /proc/self/status at exit.
// Beside the messages a peer handles, it says how many of them came one per wake-up (README,
// "What a peer costs"). Plain JavaScript, so the bundled peers of the testbed can load it too:
//   SLURPIE_WAKEUPS_DIR=/tmp/w SLURPIE_NODE_ARGS="--import $PWD/experiments/bench/wakeups.mjs" \
//     sudo -E npx slurpie experiment lan-48 --systems slurpie        (or any bench that spawns peers)
//   node experiments/bench/wakeups.mjs /tmp/w                        (the per-peer means)
// Linux only (/proc). Each process writes DIR/<pid>.json: wakeups, preempted (involuntary
// switches of the main thread), cpuMs (all threads, from start). `slurpie experiment` needs
// none of this: each peer's --stats-json has the same two counts (bin/thread-switches.ts).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

function switches(status, kind) {
  return Number(new RegExp(`^${kind}_ctxt_switches:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node experiments/bench/wakeups.mjs DIR');
    process.exit(2);
  }
  const all = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
  if (all.length === 0) {
    console.error(`no counts in ${dir}: was SLURPIE_WAKEUPS_DIR set for the peers?`);
    process.exit(1);
  }
  const mean = (key) => all.reduce((n, p) => n + p[key], 0) / all.length;
  console.log(`${all.length} peers: ${mean('wakeups').toFixed(0)} wake-ups, ${mean('preempted').toFixed(0)} preemptions, ${mean('cpuMs').toFixed(0)} CPU-ms each (means)`);
} else {
  const dir = process.env.SLURPIE_WAKEUPS_DIR;
  process.on('exit', () => {
    if (!dir || !process.argv.includes('get')) return;
    const status = readFileSync('/proc/self/status', 'utf8');
    const cpu = process.cpuUsage();
    const counts = { wakeups: switches(status, 'voluntary'), preempted: switches(status, 'nonvoluntary'), cpuMs: (cpu.user + cpu.system) / 1000 };
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify(counts) + '\n');
  });
}

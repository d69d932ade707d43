// `npm run bench:topology`: the topology server as a separate process under load.
// 50 concurrent keep-alive clients make 100,000 registrations over 1,000 swarms;
// prints registrations per second and the server's resident memory (VmRSS) before and
// after. The ttl is raised so that nothing expires while the numbers are taken.
// `-- --quotas`: the per-address quotas applied to the (loopback) clients too, with limits
// too high to refuse anything, so that what they cost is measured (by default loopback is
// exempt, as in local demos).
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLIENTS = 50;
const SWARMS = 1_000;
const TOTAL = 100_000;
const WARMUP = 5_000; // registrations before the clock starts (JIT, connection set-up)
const DEADLINE_MS = 180_000;

// `-- --store redis://HOST:PORT[/DB]`: the same load on a server keeping its state in Redis.
const storeAt = process.argv.indexOf('--store');
const STORE = storeAt > 0 && process.argv[storeAt + 1] ? ['--store', process.argv[storeAt + 1]!] : [];
const QUOTAS = process.argv.includes('--quotas') ? ['--quota-loopback', '--quota-rate', '1000000', '--quota-ids', '1000'] : [];
// SLURPIE_NODE_ARGS passes flags to the server process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
const nodeArgs = (process.env.SLURPIE_NODE_ARGS ?? '').split(' ').filter(Boolean);
const server = spawn(process.execPath, [...nodeArgs, 'bin/slurpie.js', 'topology', '--port', '0', '--ttl', '3600', ...QUOTAS, ...STORE], {
  cwd: ROOT,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const pid = server.pid;
const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
const stop = async (): Promise<void> => {
  if (server.exitCode !== null || pid === undefined) return;
  process.kill(pid, 'SIGTERM');
  const killer = setTimeout(() => process.kill(pid, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(killer);
};
const deadline = setTimeout(() => {
  process.stderr.write(`bench:topology: gave up after ${DEADLINE_MS / 1000} s\n`);
  if (pid !== undefined && server.exitCode === null) process.kill(pid, 'SIGKILL');
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();

try {
  const url = await firstLineUrl();
  const rssStart = await rssKiB();
  const pool = new Pool(url, { connections: CLIENTS, pipelining: 1 });

  let next = 0;
  let failures = 0;
  let timedFrom = 0;
  let startedAt = 0;
  const client = async (): Promise<void> => {
    for (let n = next++; n < TOTAL; n = next++) {
      if (n === WARMUP) {
        timedFrom = n;
        startedAt = performance.now();
      }
      const swarmId = (n % SWARMS).toString(16).padStart(64, '0');
      const { statusCode, body } = await pool.request({
        path: `/v1/swarms/${swarmId}/peers`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: n.toString(16).padStart(32, '0'), port: 1 + (n % 65535) }),
      });
      const answer = (await body.json()) as { peers?: unknown[] };
      if (statusCode !== 200 || !Array.isArray(answer.peers)) failures++;
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const seconds = (performance.now() - startedAt) / 1000;
  const timed = TOTAL - timedFrom;

  const probe = await pool.request({ path: `/v1/swarms/${'0'.repeat(64)}`, method: 'GET' });
  const held = ((await probe.body.json()) as { peers: number }).peers;
  const rssEnd = await rssKiB();
  await pool.close();

  const rate = timed / seconds;
  console.log(`topology server, separate process (pid ${pid}), ${CLIENTS} concurrent keep-alive clients${QUOTAS.length ? ', quotas applied to loopback' : ''}${STORE.length ? `, state in ${STORE[1]}` : ''}`);
  // Other processes share the cores: a number means little without the load it was taken under.
  console.log(`machine: load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (1, 5, 15 min) at the end`);
  console.log(`registrations/s: ${Math.round(rate)} (${timed} timed after ${WARMUP} warm-up, ${seconds.toFixed(2)} s; ${(1000 / rate).toFixed(3)} ms each; failures: ${failures})`);
  console.log(`RSS: ${(rssStart / 1024).toFixed(1)} MiB at start, ${(rssEnd / 1024).toFixed(1)} MiB after ${TOTAL} registrations over ${SWARMS} swarms`);
  console.log(`     ${(((rssEnd - rssStart) * 1024) / TOTAL).toFixed(0)} bytes per registration above the idle server; one swarm holds ${held} (expected ${TOTAL / SWARMS})`);
  if (failures > 0 || held !== TOTAL / SWARMS) process.exitCode = 1;
} finally {
  await stop();
}

function firstLineUrl(): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      if (out.includes('\n')) return; // already answered; keep draining
      out += chunk.toString();
      const line = out.split('\n')[0]!;
      if (!out.includes('\n')) return;
      const match = /^listening on (http:\/\/\S+)$/.exec(line);
      if (match) resolve(match[1]!);
      else reject(new Error(`unexpected first line: ${line}`));
    });
    void exited.then((code) => reject(new Error(`the server exited before printing its address (exit ${code})`)));
  });
}

async function rssKiB(): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error('no VmRSS in /proc/PID/status');
  return Number(match[1]);
}

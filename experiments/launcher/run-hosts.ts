// `slurpie experiment SCENARIO --hosts FILE --bind ADDR`: the same scenario on real machines
// (PlanetLab-style) instead of network namespaces. The source (`slurpie serve`'s server, at the
// scenario's source rate) and the topology server run here, on --bind, an address the hosts
// can reach; each peer is `slurpie get` started over ssh (ssh.ts) on the next host with a free
// slot, at its planned arrival time, stopped at the time limit (or at its churn time). What
// the hosts' own network does is the experiment: nothing is shaped. Results in the shared
// format (experiments/testbed/results.ts) as system "slurpie", so `slurpie plot` reads them.
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { paramFlags } from '../../bin/protocol-params.ts';
import { planPeers, tMinSeconds, type PeerPlan } from '../scenarios/plan.ts';
import type { Scenario } from '../scenarios/scenario-file.ts';
import { startSourceServer } from '../source/range-server.ts';
import { writeTestFile } from '../swarm/test-file.ts';
import { machineInfo } from '../testbed/machine.ts';
import { summarize, type ExperimentResults, type PeerResult } from '../testbed/results.ts';
import { startTopologyServer } from '../../topology-server/server.ts';
import type { Host } from './hosts.ts';
import { startRemotePeer, type RemotePeer } from './ssh.ts';

export interface HostsRunOptions {
  scenario: Scenario;
  hosts: Host[];
  bind: string; // where the source and topology server listen: reachable from every host
  knownHosts: string; // the run's own known_hosts (hosts accepted on first use)
  timeLimitSeconds?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export async function runOnHosts(o: HostsRunOptions): Promise<ExperimentResults> {
  const { scenario: s } = o;
  const log = o.log ?? (() => {});
  const peers = planPeers(s);
  const tMin = tMinSeconds(s, peers);
  const limit = o.timeLimitSeconds ?? s.timeLimitSeconds;
  const slots = o.hosts.reduce((n, h) => n + h.slots, 0);
  if (slots < peers.length) log(`${peers.length} peers on ${slots} slots: later peers wait for a free slot`);
  const dir = await mkdtemp(join(tmpdir(), 'slurpie-hosts-'));
  const startedAt = new Date().toISOString();
  const machine = machineInfo(); // the load before the run, not after it
  const file = join(dir, 'file.bin');
  const sha256 = await writeTestFile(file, s.fileBytes, s.seed);
  const source = await startSourceServer({ file, rate: s.source.up, host: o.bind, port: 0 });
  const topology = await startTopologyServer({ host: o.bind, port: 0 });
  const t0 = performance.now();
  const seconds = (): number => (performance.now() - t0) / 1000;
  const rows: PeerResult[] = [];
  const running = new Map<Host, number>(o.hosts.map((h) => [h, 0]));
  const live = new Set<RemotePeer>();
  try {
    const waiting = [...peers].sort((a, b) => a.arrivalSeconds - b.arrivalSeconds);
    const done: Promise<void>[] = [];
    const startOne = (peer: PeerPlan, host: Host): void => {
      running.set(host, (running.get(host) ?? 0) + 1);
      const startedAtS = seconds();
      const remote = startRemotePeer(host, `${s.name}-${peer.id}`, [source.url, '--topology', topology.url, '--sha256', sha256, '--seed', String(s.seed * 1000 + peer.index), ...(s.blockBytes === undefined ? [] : ['--block-size', String(s.blockBytes)]), ...paramFlags(s.params)], { knownHosts: o.knownHosts });
      live.add(remote);
      const leaveTimer = peer.leaveAfterSeconds === null ? null : setTimeout(() => remote.kill(), peer.leaveAfterSeconds * 1000);
      done.push(remote.done.then(({ code, stats, stderr }) => {
        if (leaveTimer) clearTimeout(leaveTimer);
        live.delete(remote);
        running.set(host, (running.get(host) ?? 1) - 1);
        const ok = code === 0 && stats?.ok === true && stats.sha256 === sha256;
        const n = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
        rows.push({
          id: peer.id, linkClass: peer.linkClass, arrivalSeconds: peer.arrivalSeconds, seconds: ok ? round(seconds() - startedAtS) : null,
          ownSeconds: n(stats?.seconds), fromSource: n(stats?.fromSource), fromPeers: n(stats?.fromPeers), uploaded: n(stats?.uploaded),
          maxRssBytes: n(stats?.maxRssBytes), ok, left: peer.leaveAfterSeconds !== null && !ok,
          ...(!ok && { error: (stderr.split('\n').pop() || `exit ${code}`).slice(0, 300) }),
        });
      }));
    };
    // Peers start at their arrival times, each on the host with the most free slots.
    while (waiting.length > 0 && seconds() < limit && !o.signal?.aborted) {
      const next = waiting[0] as PeerPlan;
      const host = [...running].filter(([h, n]) => n < h.slots).sort((a, b) => (a[1] / a[0].slots) - (b[1] / b[0].slots))[0]?.[0];
      if (next.arrivalSeconds <= seconds() && host) {
        waiting.shift();
        startOne(next, host);
        continue;
      }
      await delay(50, undefined, o.signal ? { signal: o.signal } : {}).catch(() => {}); // an abort ends the wait
    }
    const deadline = setTimeout(() => {
      for (const r of live) r.kill();
    }, Math.max(0, limit - seconds()) * 1000);
    o.signal?.addEventListener('abort', () => {
      for (const r of live) r.kill();
    }, { once: true });
    await Promise.all(done);
    clearTimeout(deadline);
    const stats = source.stats();
    const system = summarize({
      system: 'slurpie', stopped: rows.some((r) => !r.ok && !r.left) || waiting.length > 0, timeLimitSeconds: limit, wallSeconds: seconds(),
      sourceBytes: stats.bytesSent, peakSourceGets: stats.peakConcurrent, fileBytes: s.fileBytes, tMinSeconds: tMin,
      perPeer: [...rows, ...waiting.map((p) => ({ id: p.id, linkClass: null, arrivalSeconds: p.arrivalSeconds, seconds: null, ownSeconds: null, fromSource: null, fromPeers: null, uploaded: null, maxRssBytes: null, ok: false, left: false, error: 'never started: no free host slot before the time limit' }))]
        .sort((a, b) => (a.id < b.id ? -1 : 1)),
    });
    return {
      version: 1, scenario: s, startedAt, machine, fileBytes: s.fileBytes, peers: peers.length, tMinSeconds: tMin,
      approximations: [`real hosts over ssh (${o.hosts.map((h) => h.host).join(', ')}): their own links and latencies, not the scenario's; arrivals and churn as planned`],
      systems: [system],
    };
  } finally {
    for (const r of live) r.kill();
    await topology.close();
    await source.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

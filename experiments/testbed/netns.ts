// The namespace testbed: every host (the source, the topology server, each peer) is a Linux
// network namespace `slp-<run>-<host>` joined to one bridge `slp-<run>` by a veth pair, with an
// address from a private /16 (10.77.0.0/16, or the next free 10.N.0.0/16 when another run
// holds it). Needs root, `ip netns` and tc.
//
// What is emulated, exactly:
// - Each host's UPLINK: a tc tbf qdisc on the host's own veth end (egress from the host), at the
//   scenario's `up` rate. The source's uplink is the source link (`slurpie serve` runs with no
//   --rate of its own: the link, not the application, limits it).
// - Each host's DOWNLINK: a tbf qdisc on the bridge's veth end (egress toward the host), at `down`.
// - Queues: tbf's queue holds 100 ms at the link's rate (drop-tail beyond); burst 10 ms of the
//   rate (at least 16 KB, above one 1500-byte frame plus GSO slack).
// - A host's TCP hands its uplink packets of at most half the burst (gso_max_size; 64 KiB by
//   default). tbf splits a longer one into frames, queues those that fit and reports the whole
//   packet sent, so TCP never learns of the rest and must find them lost: on lan-48 the source's
//   10 Mb/s uplink (burst 16 KiB) retransmitted 11,609 of 28,950 segments, its link idling
//   through the recoveries. A packet tbf cannot queue whole is refused whole, which TCP takes
//   as local congestion (it slows down, loses nothing), as it does a real NIC's full queue.
// - ARP never fails: every address on the bridge has a fixed MAC and a permanent neighbor entry
//   in every namespace (and the root's). With tbf's single drop-tail queue, the source's ARP
//   replies queued behind a full 100 ms of data and were dropped; its neighbors' entries went
//   stale, were probed, failed, and a peer's GET got EHOSTUNREACH or no answer for 30 s (one
//   lan-48 run: the last 5 blocks took 30 s). A real host's default qdisc (pfifo_fast) sends ARP
//   in its top band, ahead of bulk data, so a lost ARP reply is an artifact of the emulation.
// - TCP receive buffers start at 1 MiB (tcp_rmem's default; Linux's own is 128 KiB, growing as
//   the application keeps up). A receiver waiting for one of the 2 cores shared by 48 hosts
//   does not keep up: at lan-48 the source's connections were held by the receivers' windows
//   5.7% of their busy time (ss -ti rwnd_limited), while its link sat partly idle; with 1 MiB,
//   none. A host of its own reads at once, so a small window is an artifact of the emulation.
// - The bridge itself is unshaped (a switch with a fast backplane), nf_call_iptables off so the
//   host's firewall never sees testbed traffic.
// What is NOT emulated:
// - Latency, in the network. The kernel here has no netem (nor fq), so the round-trip time
//   between hosts is the veth's (~0.05 ms, plus queueing in tbf; tbf's `latency` is a queue
//   limit, not a delay). A scenario's latencyMs is emulated above the network instead, per
//   message, experiment-only (latency.ts): the protocol's request/answer rounds pay it, TCP's
//   own round trips (slow start, window growth) do not. Results say so in `approximations`.
// - Loss, jitter, reordering, asymmetric routing: none.
// - CPU and disk: every host shares this machine's cores and page cache, so start-up and
//   per-byte CPU cost compete across all peers (48 Node processes on 2 cores is the bottleneck
//   for slurpie on lan-48, not the network). The source, topology server and tracker run at
//   nice -10 (service-priority.ts), as on machines of their own.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface HostSpec {
  name: string; // short: [a-z0-9]{1,8}
  up?: number; // bytes/s; undefined = unshaped
  down?: number;
}

export interface Host {
  name: string;
  ns: string; // the namespace
  ip: string;
  outer: string; // the veth end on the bridge (root namespace)
}

export interface Testbed {
  runId: string;
  bridge: string;
  bridgeIp: string; // the root namespace's address on the bridge (reads the source's /_stats)
  hosts: Map<string, Host>;
}

export const PREFIX = 'slp';

export function nsName(runId: string, host: string): string {
  return `${PREFIX}-${runId}-${host}`;
}

/** Runs a command; rejects with its stderr in one line. */
export async function sh(cmd: string, args: string[], input?: string): Promise<string> {
  const child = run(cmd, args, { maxBuffer: 16 << 20 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  try {
    return (await child).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.slice(0, 4).join(' ')}: ${(e.stderr || e.message).trim().replace(/\s+/g, ' ')}`);
  }
}

/** Why the testbed cannot run here, or null when it can (root, ip netns, tc, a bridge). */
export async function testbedUnavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'the namespace testbed needs root (ip netns, tc)';
  try {
    await sh('ip', ['netns', 'list']);
    await sh('tc', ['-V']);
  } catch (err) {
    return `ip netns or tc is unavailable: ${(err as Error).message}`;
  }
  return null;
}

/** A free 10.N.0.0/16 (N from 77): one no address on this machine is already in. */
async function freeSubnet(): Promise<number> {
  const text = await sh('ip', ['-o', '-4', 'addr', 'show']);
  const used = new Set([...text.matchAll(/inet 10\.(\d+)\./g)].map((m) => Number(m[1])));
  for (let n = 77; n < 250; n++) if (!used.has(n)) return n;
  throw new Error('no free 10.N.0.0/16 for the testbed');
}

/**
 * Creates the bridge and one namespace per host, shaped as the header says. Idempotent: anything
 * left under this run id is removed first. On failure, removes what it made and rethrows.
 */
export async function createTestbed(runId: string, specs: HostSpec[]): Promise<Testbed> {
  if (!/^[a-z0-9]{1,5}$/.test(runId)) throw new Error(`run id must be 1-5 of [a-z0-9], got ${runId}`);
  if (specs.length > 250) throw new Error(`at most 250 hosts in one testbed, got ${specs.length}`);
  await removeRun(runId);
  const n = await freeSubnet();
  const bridge = `${PREFIX}-${runId}`;
  const bridgeIp = `10.${n}.0.1`;
  const hosts = new Map<string, Host>();
  specs.forEach((s, i) => {
    if (!/^[a-z0-9]{1,8}$/.test(s.name) || hosts.has(s.name)) throw new Error(`host names must be unique, 1-8 of [a-z0-9], got ${s.name}`);
    hosts.set(s.name, { name: s.name, ns: nsName(runId, s.name), ip: `10.${n}.0.${i + 2}`, outer: `${PREFIX}${runId}-${i}` });
  });
  const mac = (ip: string): string => `02:00:${ip.split('.').map((x) => Number(x).toString(16).padStart(2, '0')).join(':')}`;
  const neighbors = (except: string, dev: string): string[] =>
    [{ ip: bridgeIp }, ...hosts.values()].filter((h) => h.ip !== except).map((h) => `neigh replace ${h.ip} lladdr ${mac(h.ip)} dev ${dev} nud permanent`);
  try {
    const root: string[] = [
      `link add ${bridge} type bridge nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0`,
      `link set ${bridge} address ${mac(bridgeIp)}`,
      `addr add ${bridgeIp}/16 dev ${bridge}`,
      `link set ${bridge} up`,
    ];
    for (const h of hosts.values()) {
      const inner = `${h.outer}x`;
      root.push(`netns add ${h.ns}`, `link add ${h.outer} type veth peer name ${inner}`, `link set ${inner} netns ${h.ns}`, `link set ${h.outer} master ${bridge} up`);
    }
    await sh('ip', ['-batch', '-'], [...root, ...neighbors(bridgeIp, bridge)].join('\n') + '\n');
    await Promise.all([...hosts.values()].map(async (h) => {
      const inner = `${h.outer}x`;
      const setup = [`link set ${inner} name eth0`, `link set eth0 address ${mac(h.ip)}`, `addr add ${h.ip}/16 dev eth0`, 'link set eth0 up', 'link set lo up'];
      await sh('ip', ['-n', h.ns, '-batch', '-'], [...setup, ...neighbors(h.ip, 'eth0'), ''].join('\n'));
      await sh('ip', ['netns', 'exec', h.ns, 'sysctl', '-qw', `net.ipv4.tcp_rmem=${TCP_RMEM}`]);
    }));
    const tcRoot: string[] = [];
    for (const s of specs) if (s.down !== undefined) tcRoot.push(`qdisc add dev ${(hosts.get(s.name) as Host).outer} root ${tbf(s.down)}`);
    await Promise.all(specs.map(async (s) => {
      if (s.up === undefined) return;
      const ns = (hosts.get(s.name) as Host).ns;
      await sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'gso_max_size', String(gsoMaxSize(s.up))]);
      await sh('tc', ['-n', ns, 'qdisc', 'add', 'dev', 'eth0', 'root', ...tbf(s.up).split(' ')]);
    }));
    if (tcRoot.length > 0) await sh('tc', ['-batch', '-'], tcRoot.join('\n') + '\n');
  } catch (err) {
    await removeRun(runId);
    throw err;
  }
  return { runId, bridge, bridgeIp, hosts };
}

/** min, default and max TCP receive buffer (bytes) in every host: the header says why. */
export const TCP_RMEM = '4096 1048576 33554432';

/** tbf's burst for `rate` bytes/s: 10 ms, at least 16 KB. */
function tbfBurst(rate: number): number {
  return Math.max(16 * 1024, Math.round(rate / 100));
}

/** tbf arguments for `rate` bytes/s: burst 10 ms (>= 16 KB), queue 100 ms. */
export function tbf(rate: number): string {
  return `tbf rate ${Math.round(rate * 8)}bit burst ${tbfBurst(rate)} latency 100ms`;
}

/** The largest packet a host's TCP may hand an uplink of `rate` bytes/s: half tbf's burst (the header says why), at most Linux's 64 KiB. */
export function gsoMaxSize(rate: number): number {
  return Math.min(65_536, Math.floor(tbfBurst(rate) / 2));
}

/** Every namespace and link of a run id (processes inside must already be gone). */
export async function removeRun(runId: string): Promise<void> {
  const names = await listNamespaces();
  const ours = names.filter((ns) => ns.startsWith(`${PREFIX}-${runId}-`));
  // Deleting a namespace deletes the veth end inside it, and with it the pair's bridge end.
  if (ours.length > 0) await sh('ip', ['-force', '-batch', '-'], ours.map((ns) => `netns del ${ns}`).join('\n') + '\n').catch(() => {});
  const links = (await listLinks()).filter((l) => l === `${PREFIX}-${runId}` || l.startsWith(`${PREFIX}${runId}-`));
  if (links.length > 0) await sh('ip', ['-force', '-batch', '-'], links.map((l) => `link del ${l}`).join('\n') + '\n').catch(() => {});
}

export async function listNamespaces(): Promise<string[]> {
  const text = await sh('ip', ['netns', 'list']);
  return text.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((n) => n.startsWith(`${PREFIX}-`));
}

/** Links in the root namespace whose name starts with "slp" (bridges and veth ends). */
export async function listLinks(): Promise<string[]> {
  const text = await sh('ip', ['-o', 'link', 'show']);
  return [...text.matchAll(/^\d+:\s+([^:@\s]+)/gm)].map((m) => m[1] as string).filter((l) => l.startsWith(PREFIX));
}

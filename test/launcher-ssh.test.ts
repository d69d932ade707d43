// The launcher for real hosts (issue #12): peers started over ssh, against a real sshd on
// 127.0.0.1 started by the test, a real source and topology server. Host lists parsed.
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SeededRng, seedFrom } from '../estimation/random.ts';
import { parseHosts, type Host } from '../experiments/launcher/hosts.ts';
import { startRemotePeer, type RemotePeer } from '../experiments/launcher/ssh.ts';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { SLURPIE_BIN } from '../experiments/swarm/processes.ts';
import { startTopologyServer } from '../topology-server/server.ts';
import { alive, runSlurpie, scratch } from './fixtures/cli-run.ts';
import { sshdMissing, startSshd } from './fixtures/sshd.ts';
import { until, within } from './fixtures/wait.ts';

const seed = seedFrom(process.env, 3);
const MiB = 1024 * 1024;
const missing = sshdMissing();
const withSshd = missing ? test.skip : test.serial;
if (missing) console.warn(`launcher-ssh: skipped: ${missing}`);

function content(size: number): Buffer {
  const rng = new SeededRng(seed);
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) buf.writeUInt32LE((rng.next() * 2 ** 32) >>> 0, i);
  return buf;
}

async function localHost(t: ExecutionContext): Promise<{ host: Host; knownHosts: string; dir: string }> {
  const dir = await scratch(t);
  const sshd = await startSshd(t, dir);
  const remoteDir = join(dir, 'remote');
  const [host] = parseHosts(`root@127.0.0.1:${sshd.port} slots=3 dir=${remoteDir} key=${sshd.key} slurpie="${process.execPath} ${SLURPIE_BIN}"`);
  return { host: host as Host, knownHosts: sshd.knownHosts, dir: remoteDir };
}

withSshd('three peers started over ssh form a swarm: every one verifies, stats come back, nothing is left on the host', async (t) => {
  t.timeout(120_000);
  const data = content(4 * MiB);
  const sha = createHash('sha256').update(data).digest('hex');
  const source = await startSourceServer({ data, name: 'f.bin', rate: 2 * MiB });
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => topology.close());
  const { host, knownHosts, dir } = await localHost(t);
  const peers: RemotePeer[] = [];
  for (let i = 0; i < 3; i++) {
    const peer = startRemotePeer(host, `p${i}`, [source.url, '--topology', topology.url, '--sha256', sha, '--seed', String(seed + i)], { knownHosts });
    t.teardown(() => peer.kill());
    peers.push(peer);
  }
  const results = await within(Promise.all(peers.map((p) => p.done)), 'three remote peers', 100_000);
  for (const [i, r] of results.entries()) {
    t.is(r.code, 0, `peer ${i}: ${r.stderr}`);
    t.is(r.stats?.ok, true);
    t.is(r.stats?.sha256, sha);
    t.is(r.stats?.integrity, 'sha256');
  }
  const fromPeers = results.reduce((s, r) => s + Number(r.stats?.fromPeers ?? 0), 0);
  t.log(`source ${(source.stats().bytesSent / data.length).toFixed(2)}x F, ${(fromPeers / MiB).toFixed(1)} MiB between peers`);
  t.true(fromPeers > 0, 'the remote peers traded blocks');
  t.deepEqual(await readdir(dir).catch(() => []), [], 'each peer removed its scratch directory');
});

withSshd('slurpie experiment tiny-4 --hosts: the peers of the scenario on a host over ssh, results in the shared format', async (t) => {
  t.timeout(150_000);
  const dir = await scratch(t);
  const sshd = await startSshd(t, dir);
  const hostsFile = join(dir, 'hosts.txt');
  await writeFile(hostsFile, `# one machine with room for every peer\nroot@127.0.0.1:${sshd.port} slots=4 dir=${join(dir, 'remote')} key=${sshd.key} slurpie="${process.execPath} ${SLURPIE_BIN}"\n`);
  const out = join(dir, 'out');
  const r = await runSlurpie(t, ['experiment', 'tiny-4', '--hosts', hostsFile, '--bind', '127.0.0.1', '--out', out, '--dir', join(dir, 'scratch')]);
  t.is(r.code, 0, r.stderr);
  const [json] = (await readdir(out)).filter((f) => f.endsWith('.json'));
  const results = JSON.parse(await readFile(join(out, json as string), 'utf8')) as { version: number; peers: number; systems: { system: string; finished: number; sourceRatio: number; perPeer: { ok: boolean; fromPeers: number | null }[] }[] };
  t.is(results.version, 1);
  const [slurpie] = results.systems;
  t.like(slurpie, { system: 'slurpie', finished: results.peers });
  t.true(slurpie?.perPeer.every((p) => p.ok), JSON.stringify(slurpie?.perPeer));
  t.true((slurpie?.perPeer ?? []).some((p) => (p.fromPeers ?? 0) > 0), 'the peers traded blocks');
  t.log(`tiny-4 over ssh: source ${slurpie?.sourceRatio}x F`);
  t.deepEqual(await readdir(join(dir, 'remote')).catch(() => []), [], 'nothing left on the host');
});

withSshd('a peer whose ssh is killed stops on its host too', async (t) => {
  t.timeout(60_000);
  const source = await startSourceServer({ data: content(8 * MiB), name: 'slow.bin', rate: 64 * 1024 });
  t.teardown(() => source.close());
  const { host, knownHosts } = await localHost(t);
  const peer = startRemotePeer(host, 'slow', [source.url], { knownHosts });
  t.teardown(() => peer.kill());
  await until(() => peer.remotePid() !== null && source.stats().bytesSent > 0, 'the remote peer to start downloading', { ms: 30_000, everyMs: 50 });
  const remote = peer.remotePid() as number;
  peer.kill();
  const { code } = await within(peer.done, 'ssh to exit', 10_000);
  t.not(code, 0);
  await until(() => !alive(remote), `remote peer ${remote} to stop`, { ms: 10_000, everyMs: 50 });
  t.pass();
});

test('host lists: defaults, settings, quotes, comments; a bad line is one line naming it', (t) => {
  const hosts = parseHosts([
    '# PlanetLab-like',
    'planetlab1.example.org',
    'alice@10.0.0.2:2222 slots=4 dir=/scratch/x  # a comment',
    '[::1]:22 slurpie="node /opt/slurpie/bin/slurpie.js" key=/root/.ssh/id',
  ].join('\n'));
  t.like(hosts[0], { user: null, host: 'planetlab1.example.org', port: 22, slots: 1, dir: '/tmp/slurpie-launch', slurpie: 'slurpie', key: null, line: 2 });
  t.like(hosts[1], { user: 'alice', host: '10.0.0.2', port: 2222, slots: 4, dir: '/scratch/x', line: 3 });
  t.like(hosts[2], { host: '::1', slurpie: 'node /opt/slurpie/bin/slurpie.js', key: '/root/.ssh/id' });
  for (const [bad, what] of [
    ['host:99999', /port/], ['host slots=0', /slots/], ['host dir=relative', /dir/],
    ['host color=red', /unknown setting/], ['host slurpie="unclosed', /quote/], ['bad_host!', /not a host/],
  ] as const) {
    const err = t.throws(() => parseHosts(`ok.example.org\n${bad}`, 'hosts.txt'));
    t.regex(err?.message ?? '', what, bad);
    t.false(err?.message.includes('\n'));
    t.regex(err?.message ?? '', /hosts\.txt line 2/);
  }
  t.throws(() => parseHosts('# nothing but comments\n\n', 'hosts.txt'), { message: /hosts\.txt: no hosts/ });
});

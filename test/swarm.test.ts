// Real swarms on loopback: separate processes for the source, the topology server and peers.
// Serial: each test is a swarm of processes; two at once on a small machine would measure the machine.
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SeededRng, seedFrom } from '../estimation/random.ts';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { killChild } from '../experiments/swarm/processes.ts';
import { runSwarm } from '../experiments/swarm/run-swarm.ts';
import { closeSourceClients, probeSource } from '../peer/node/source-client.ts';
import { swarmIdFor } from '../peer/node/swarm-id.ts';
import { startTopologyServer } from '../topology-server/server.ts';
import { scratch, slurpie } from './fixtures/cli-run.ts';
import { startGatedProxy } from './fixtures/gated-proxy.ts';
import { until, within } from './fixtures/wait.ts';
import { startFakePeer } from '../experiments/faults/fake-peer.ts';

const seed = seedFrom(process.env, 11);
const MiB = 1024 * 1024;

test.after.always(() => closeSourceClients());

function content(size: number): Buffer {
  const rng = new SeededRng(seed);
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) buf.writeUInt32LE((rng.next() * 2 ** 32) >>> 0, i);
  return buf;
}
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

test.serial('a swarm of 8 peers: every output verifies, no .part left, the source serves about one copy', async (t) => {
  t.timeout(120_000);
  t.log(`seed ${seed}`);
  const result = await runSwarm({
    peers: 8, size: 8 * MiB, sourceRate: 4 * MiB, seed, dir: await scratch(t),
    timeoutMs: 100_000, onSpawn: (c) => t.teardown(() => killChild(c, 'SIGKILL')),
  });
  for (const r of result.results) t.true(r.verified, `peer ${r.peer}: ${r.error ?? 'not verified'}`);
  t.true(result.results.some((r) => r.fromPeers > 0), 'peers traded blocks');
  t.log(`source ${result.sourceRatio.toFixed(2)}x F, mean ${result.meanRatio.toFixed(2)}x T_min, peak ${result.peakSourceConnections} GETs`);
  // A protocol bound, not a speed: 8 peers without cooperation would pull 8 copies.
  t.true(result.sourceRatio < 3, `source served ${result.sourceRatio.toFixed(2)}x the file`);
});

type CountedStats = { mode: string; fromPeers: number; uploaded: number; messages: { sent: Record<string, number>; received: Record<string, number> } };

/** Three CLI peers sharing 2 MiB in 64 KiB blocks, each with `extra` flags; their stats. */
async function countedSwarm(t: ExecutionContext, extra: string[]): Promise<CountedStats[]> {
  const data = content(2 * MiB);
  // Throttled (4 s for the file): the peers meet and trade blocks before anyone is done.
  const source = await startSourceServer({ data, name: 'counted.bin', rate: MiB / 2 });
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => topology.close());
  const dir = await scratch(t);
  const peers = [0, 1, 2].map((i) => slurpie(t, [
    'get', source.url, '-o', join(dir, `p${i}.bin`), '--topology', topology.url, '--host', '127.0.0.1', '--sha256', sha(data),
    '--block-size', '64KiB', '--no-progress', '--stats-json', join(dir, `p${i}.json`), '--seed', String(seed * 10 + i), ...extra,
  ]));
  return Promise.all(peers.map(async (p, i) => {
    const { code } = await within(p.exited, `peer ${i} to finish`, 80_000);
    t.is(code, 0, p.stderr());
    return JSON.parse(await readFile(join(dir, `p${i}.json`), 'utf8')) as CountedStats;
  }));
}

test.serial('each peer counts the messages it sent and received by type, consistent with its bytes (--stats-json)', async (t) => {
  t.timeout(90_000);
  const blockSize = 64 * 1024;
  const all = await countedSwarm(t, []);
  for (const [i, s] of all.entries()) {
    const { sent, received } = s.messages;
    t.log(`peer ${i}: fromPeers ${s.fromPeers}, uploaded ${s.uploaded}; sent ${JSON.stringify(sent)}; received ${JSON.stringify(received)}`);
    t.is(s.mode, 'swarm');
    t.true((sent.HELLO ?? 0) >= 1, `peer ${i} said HELLO`);
    t.true((received.BLOCK ?? 0) * blockSize >= s.fromPeers, `peer ${i}: ${received.BLOCK ?? 0} BLOCKs received carry its ${s.fromPeers} bytes from peers`);
    t.true((sent.BLOCK ?? 0) * blockSize >= s.uploaded - blockSize, `peer ${i}: ${sent.BLOCK ?? 0} BLOCKs sent carry its ${s.uploaded} bytes uploaded`);
  }
  // Every message a peer received, one of these peers sent: per type, received <= sent.
  const total = (side: 'sent' | 'received', type: string): number => all.reduce((n, s) => n + (s.messages[side][type] ?? 0), 0);
  for (const type of new Set(all.flatMap((s) => Object.keys(s.messages.received)))) {
    t.true(total('received', type) <= total('sent', type), `${type}: received ${total('received', type)}, sent ${total('sent', type)}`);
  }
});

test.serial('--param reaches each peer\'s core: with digestEveryMs past the run, at most one DIGESTS per connection', async (t) => {
  t.timeout(90_000);
  const all = await countedSwarm(t, ['--param', 'digestEveryMs=1000000000']);
  for (const [i, { messages: { sent } }] of all.entries()) {
    t.log(`peer ${i}: sent ${JSON.stringify(sent)}`);
    // Each connection opens with one HELLO from each side; the default (1000 ms) sends one every second.
    t.true((sent.DIGESTS ?? 0) <= (sent.HELLO ?? 0), `peer ${i}: ${sent.DIGESTS ?? 0} DIGESTS on ${sent.HELLO ?? 0} connections`);
    t.true((sent.BLOCK ?? 0) + (all[i]?.fromPeers ?? 0) > 0, `peer ${i} took part`);
  }
});

test.serial('a lying peer: its bad blocks are caught at verification, replaced from the source, the output verifies', async (t) => {
  t.timeout(90_000);
  const data = content(2 * MiB);
  const blockSize = 64 * 1024;
  const source = await startSourceServer({ data, name: 'lie.bin' });
  t.teardown(() => source.close());
  // The source stalls after a quarter of the file until the liar has been asked for blocks,
  // so the peer cannot get it all from the source first, however slowly it meets the liar.
  const proxy = await startGatedProxy(t, source.port, data.length / 4);
  const url = `${proxy.base}/lie.bin`;
  const topology = await startTopologyServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => topology.close());
  const { validator } = await probeSource(source.url);
  const liar = await startFakePeer({
    topology: topology.url, swarmId: swarmIdFor(url, data.length, validator), data, blockSize,
    behavior: { kind: 'liar', corrupt: (i) => i % 3 === 0, digests: 'consistent' },
  });
  t.teardown(() => liar.close());
  const dir = await scratch(t);
  const out = join(dir, 'lie.bin');
  const peer = slurpie(t, ['get', url, '-o', out, '--topology', topology.url, '--sha256', sha(data), '--block-size', '64KiB', '--no-progress', '--stats-json', join(dir, 's.json')]);
  await until(() => liar.requests() > 0 || peer.proc.exitCode !== null, 'the peer to ask the liar for blocks', { ms: 60_000, everyMs: 20 });
  t.true(liar.requests() > 0, `the liar was asked for blocks (peer: ${peer.stderr()})`);
  proxy.release();
  const { code } = await peer.exited;
  t.is(code, 0, peer.stderr());
  t.is(sha(await readFile(out)), sha(data));
  t.regex(peer.stderr(), /banned peer|lying/);
});

test.serial('a finished peer still asked for blocks serves on, says why past handoverMs, and leaves by maxHandoverMs', async (t) => {
  t.timeout(60_000);
  const data = content(MiB);
  const source = await startSourceServer({ data, name: 'asked.bin', rate: MiB / 4 }); // 4 s: the peer meets the leech first
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => topology.close());
  const { validator } = await probeSource(source.url);
  const leech = await startFakePeer({
    topology: topology.url, swarmId: swarmIdFor(source.url, data.length, validator), data, blockSize: 64 * 1024,
    behavior: { kind: 'leech', everyMs: 300 },
  });
  t.teardown(() => leech.close());
  const dir = await scratch(t);
  const peer = slurpie(t, ['get', source.url, '-o', join(dir, 'asked.bin'), '--topology', topology.url, '--sha256', sha(data), '--block-size', '64KiB', '--no-progress', '--param', 'maxHandoverMs=5000']);
  const { code } = await within(peer.exited, 'the peer to leave at the end of its hand-over', 45_000);
  t.is(code, 0, peer.stderr());
  t.true(leech.blocksReceived() > 0, 'the leech was served');
  t.regex(peer.stderr(), /asked\.bin is complete; serving peers still downloading for at most 3 s more \(an interrupt leaves now\)\n/);
});

test.serial('the file changes at the source mid-download: every peer stops with a clear error, no final file', async (t) => {
  t.timeout(90_000);
  const size = 8 * MiB;
  const data = content(size);
  const source = await startSourceServer({ data, name: 'moving.bin' });
  t.teardown(() => source.close());
  // The source stalls after 1 MiB; the file changes while it is stalled, then it goes on. What
  // was already streaming is far from the whole file, so no one can finish the old version.
  const proxy = await startGatedProxy(t, source.port, MiB);
  const url = `${proxy.base}/moving.bin`;
  const topology = await startTopologyServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => topology.close());
  const dir = await scratch(t);
  const peers = [0, 1, 2].map((i) => {
    const out = join(dir, `p${i}.bin`);
    return { out, child: slurpie(t, ['get', url, '-o', out, '--topology', topology.url, '--no-progress', '--block-size', '64KiB']) };
  });
  // Every peer has probed the old version (a peer registers after its probe; probes are never
  // held): one that probed the new version would download it as a swarm of its own.
  const { validator } = await probeSource(source.url);
  const swarmId = swarmIdFor(url, size, validator);
  await until(() => topology.registry.list(swarmId).length === peers.length, 'every peer to register', { ms: 60_000, everyMs: 20 });
  await within(proxy.stalled, 'the peers to take 1 MiB from the source', 60_000);
  const sentAtChange = source.stats().bytesSent;
  await source.replace(content(size).fill(1, 0, 10));
  proxy.release();
  for (const p of peers) {
    const { code } = await p.child.exited;
    t.is(code, 5, p.child.stderr());
    t.regex(p.child.stderr(), /changed/);
    t.false(await exists(p.out), 'no final file');
  }
  t.log(`replaced after the source had sent ${sentAtChange} bytes`);
});

// Private swarms on loopback (issue #15): three peers with --swarm-secret share blocks; a peer
// without it, pointed at the same topology server and source, gets nothing from them and
// finishes alone; an intruder that knows an insider's address and the private swarm id, but
// not the secret, is closed before it sees a single update or block.
import test from 'ava';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { SeededRng, seedFrom } from '../estimation/random.ts';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { HELLO_NEIGHBOR, PROTOCOL_VERSION, type Message } from '../peer/core/messages.ts';
import { closeSourceClients, probeSource } from '../peer/node/source-client.ts';
import { swarmIdFor } from '../peer/node/swarm-id.ts';
import { decode, encode } from '../peer/wire/codec.ts';
import { startTopologyServer } from '../topology-server/server.ts';
import { scratch, slurpie } from './fixtures/cli-run.ts';
import { until } from './fixtures/wait.ts';

const seed = seedFrom(process.env, 15);
const MiB = 1024 * 1024;
const SECRET = 'correct horse battery staple';

test.after.always(() => closeSourceClients());

test.serial('a private swarm shares blocks among its members only; an outsider gets 0 bytes from it', async (t) => {
  t.timeout(120_000);
  const rng = new SeededRng(seed);
  const data = Buffer.alloc(4 * MiB);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((rng.next() * 2 ** 32) >>> 0, i);
  const sha = createHash('sha256').update(data).digest('hex');
  const source = await startSourceServer({ data, name: 'private.bin', rate: 1 * MiB });
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => topology.close());
  const dir = await scratch(t);
  const get = (name: string, extra: string[]): ReturnType<typeof slurpie> =>
    slurpie(t, ['get', source.url, '-o', join(dir, `${name}.bin`), '--topology', topology.url, '--sha256', sha, '--block-size', '64KiB',
      '--no-progress', '--stats-json', join(dir, `${name}.json`), '--seed', String(seed), ...extra]);
  const members = ['a', 'b', 'c'].map((n) => get(n, ['--swarm-secret', SECRET, '--linger', '5']));
  const outsider = get('outsider', []);

  // An intruder who learned an insider's address and the private swarm id, not the secret.
  const { validator } = await probeSource(source.url);
  const privateId = swarmIdFor(source.url, data.length, validator, SECRET);
  await until(() => topology.registry.list(privateId).length >= 1, 'a member to register', { ms: 60_000, everyMs: 20 });
  const insider = topology.registry.list(privateId)[0]!;
  const seen = await intrude(`ws://${insider.host}:${insider.port}`, privateId, data.length);
  t.deepEqual(seen.filter((type) => type === 'UPDATE' || type === 'BLOCK'), [], `the intruder saw ${seen.join(', ')}`);

  const codes = await Promise.all([...members, outsider].map((p) => p.exited.then((e) => e.code)));
  t.deepEqual(codes, [0, 0, 0, 0], [...members, outsider].map((p) => p.stderr()).join('\n'));
  const stats = await Promise.all(['a', 'b', 'c', 'outsider'].map(async (n) => JSON.parse(await readFile(join(dir, `${n}.json`), 'utf8'))));
  for (const s of stats) t.true(s.ok, 'verified');
  t.true(stats.slice(0, 3).reduce((n, s) => n + s.fromPeers, 0) > 0, 'the members traded blocks');
  t.is(stats[3].fromPeers, 0, 'the outsider got nothing from the private swarm');
  t.is(topology.registry.list(swarmIdFor(source.url, data.length, validator)).some((p) => p.id === insider.id), false, 'members never appear in the public swarm');
});

// Dials an insider as a stranger would: a right HELLO, a CHALLENGE, a guessed PROOF, and a
// REQUEST. Returns the types of what came back before the insider closed the connection.
async function intrude(url: string, swarmId: string, size: number): Promise<string[]> {
  const ws = new WebSocket(url);
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('message', (raw: Buffer) => {
    const r = decode(new Uint8Array(raw));
    if (r.ok) seen.push(r.msg.type);
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  const send = (m: Message): void => ws.send(encode(m));
  send({
    type: 'HELLO', version: PROTOCOL_VERSION, swarmId, peerId: 'ab'.repeat(16), host: '127.0.0.1', port: 9,
    size, blockSize: 64 * 1024, flags: HELLO_NEIGHBOR,
  });
  send({ type: 'CHALLENGE', nonce: new Uint8Array(16).fill(7) });
  send({ type: 'PROOF', mac: new Uint8Array(32).fill(9) });
  send({ type: 'REQUEST', index: 0 });
  await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000))]);
  ws.terminate();
  return seen;
}

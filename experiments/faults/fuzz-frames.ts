// Fuzzed frames (fast-check: random bytes, truncated valid frames, oversized frames, valid
// frames with mutated bytes) against a live `slurpie get` peer, over many raw ws
// connections: the peer never crashes, its memory stays bounded, every connection that
// carried a malformed frame is closed by the peer, and it still finishes, verified, and
// serves a peer that joins afterwards. The codes decode() gives the bad frames are tallied;
// INTERNAL (a decoder bug) fails the row.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { HELLO_NEIGHBOR, MAX_REFS, PROTOCOL_VERSION, type EntryBody, type Message, type UpdateEntry } from '../../peer/core/messages.ts';
import { decode, encode } from '../../peer/wire/codec.ts';
import type { WireErrorCode } from '../../peer/wire/errors.ts';
import { limitsFor } from '../../peer/wire/limits.ts';
import { peakRss } from '../swarm/processes.ts';
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { BLOCK_SIZE, MiB, exitOf, lostByFinisher, readStats, startScene, verified, waitFor } from './scene.ts';

const RSS_BOUND = 256 * MiB;
const CONCURRENCY = 8;

export async function run(opts: FaultOptions): Promise<FaultRow> {
  const size = opts.short ? 2 * MiB : 8 * MiB;
  const frames = Number(process.env.SLURPIE_FUZZ_FRAMES ?? (opts.short ? 5_000 : 100_000));
  const scene = await startScene({ ...opts, size, rate: 128 * 1024 });
  const row = { fault: `${frames} fuzzed frames at a live peer`, expected: 'no crash, RSS bounded, bad connections closed, finishes, serves others' };
  try {
    // Two peers on a slow source: the victim stays up through the fuzz while it trades with the witness.
    // (Not --linger: a lingering peer cannot serve yet, see the report.)
    const victim = await scene.peer('victim');
    const registered = await waitFor(() => (scene.topology?.registry.list(scene.swarmId).length ?? 0) >= 1, 30_000);
    const port = scene.topology?.registry.list(scene.swarmId)[0]?.port;
    const witness = await scene.peer('witness');
    if (!registered || port === undefined) throw new Error(`the victim never registered: ${victim.child.stderr()}`);

    const limits = limitsFor(size, BLOCK_SIZE);
    const arb = frameArbitrary(scene.swarmId, size, limits.maxFrameBytes);
    let sent = 0;
    let malformedConns = 0;
    let closedByPeer = 0;
    let notClosed = 0;
    let batch = 0;
    const codes = new Map<WireErrorCode, number>();
    const worker = async (): Promise<void> => {
      while (sent < frames && victim.child.proc.exitCode === null) {
        const b = batch++;
        const [hello, list] = fc.sample(fc.tuple(fc.integer({ min: 0, max: 2 }).map((n) => n > 0), fc.array(arb, { minLength: 1, maxLength: 12 })), { seed: opts.seed * 7919 + b, numRuns: 1 })[0]!;
        let bad = false;
        for (const f of list) {
          const d = decode(f, limits);
          if (d.ok) continue;
          bad = true;
          codes.set(d.code, (codes.get(d.code) ?? 0) + 1);
        }
        const r = await fuzzConnection(port, hello ? helloFrame(scene.swarmId, size) : null, list, bad);
        sent += list.length;
        if (bad) {
          malformedConns++;
          if (r === 'closed') closedByPeer++;
          else notClosed++;
        }
      }
    };
    const fuzzStart = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const fuzzSeconds = (performance.now() - fuzzStart) / 1000;
    const rss = await peakRss(victim.child.pid);
    const aliveAfterFuzz = victim.child.proc.exitCode === null && victim.child.proc.signalCode === null;

    // Both finish, verified, and they traded blocks.
    const [victimCode, witnessCode] = await Promise.all([exitOf(victim.child, 120_000), exitOf(witness.child, 120_000)]);
    const victimOk = await verified(scene, victim);
    const witnessOk = await verified(scene, witness);
    const uploaded = (await readStats(victim))?.uploaded ?? 0;
    const fromPeers = (await readStats(witness))?.fromPeers ?? 0;

    // Nothing the fuzz did may cost data: both outputs whole and verified, no block fetched twice.
    const bytesLost = (await lostByFinisher(scene, victim)) + (await lostByFinisher(scene, witness));
    const internal = codes.get('INTERNAL') ?? 0;
    const pass = internal === 0 && aliveAfterFuzz && rss > 0 && rss < RSS_BOUND && notClosed === 0 && malformedConns > 0 && sent >= frames &&
      victimOk && victimCode === 0 && witnessCode === 0 && witnessOk && uploaded > 0 && bytesLost === 0;
    return {
      ...row,
      observed: `${sent} frames on ${batch} connections in ${fuzzSeconds.toFixed(1)} s; ${closedByPeer}/${malformedConns} with a bad frame closed by the peer; ` +
        `${codes.size} distinct codes${internal > 0 ? `, ${internal} INTERNAL` : ''} (${[...codes].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([c, n]) => `${c} ${n}`).join(', ')}…); ` +
        `victim ${aliveAfterFuzz ? 'alive' : `DIED (${lastLine(victim.child.stderr())})`}, peak RSS ${(rss / MiB).toFixed(0)} MiB, verified ${victimOk}, exit ${victimCode}; ` +
        `victim uploaded ${(uploaded / MiB).toFixed(1)} MiB; other peer exit ${witnessCode}, verified ${witnessOk}, ${(fromPeers / MiB).toFixed(1)} MiB from peers`,
      bytesLost,
      sourceBytes: scene.source.stats().bytesSent,
      pass,
    };
  } finally {
    await scene.close();
  }
}

/** One raw connection: optional HELLO, then the frames; 'closed' if the peer closed it within 3 s. */
function fuzzConnection(port: number, hello: Uint8Array | null, frames: Uint8Array[], expectClose: boolean): Promise<'closed' | 'open' | 'failed'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false, handshakeTimeout: 5000 });
    let weClosed = false;
    let timer: NodeJS.Timeout | undefined;
    ws.on('error', () => {});
    ws.on('open', () => {
      if (hello) ws.send(hello);
      for (const f of frames) ws.send(f);
      // A batch of valid frames may leave the connection open: then we close it ourselves.
      timer = setTimeout(() => {
        weClosed = true;
        ws.terminate();
      }, expectClose ? 3000 : 200);
    });
    ws.on('close', () => {
      clearTimeout(timer);
      resolve(weClosed ? 'open' : 'closed');
    });
    ws.on('unexpected-response', () => resolve('failed'));
  });
}

function helloFrame(swarmId: string, size: number): Uint8Array {
  return encode({
    type: 'HELLO', version: PROTOCOL_VERSION, swarmId, peerId: randomBytes(16).toString('hex'), host: '127.0.0.1', port: 1,
    size, blockSize: BLOCK_SIZE, flags: HELLO_NEIGHBOR,
  });
}

/**
 * Frames of four kinds: random bytes, truncated valid frames, oversized frames, mutated valid
 * frames. UPDATEs are version 2 (FORMAT.md): mutations hit form bytes, refs and varints.
 */
function frameArbitrary(swarmId: string, size: number, maxFrameBytes: number): fc.Arbitrary<Uint8Array> {
  const blocks = Math.ceil(size / BLOCK_SIZE);
  const hex = (min: number, max: number): fc.Arbitrary<string> =>
    fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b).toString('hex'));
  const index = fc.oneof(fc.integer({ min: 0, max: blocks - 1 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }));
  // UPDATE v2 entries: refs, with or without INTRO, bodies SAME / FULL (the file's bitfield
  // length) / DELTA (ascending indexes, mostly of this file), SOURCE_BUSY, ESTIMATE.
  const body: fc.Arbitrary<EntryBody> = fc.oneof(
    fc.constant({ kind: 'same' as const }),
    fc.record({ kind: fc.constant('full' as const), bits: fc.uint8Array({ minLength: Math.ceil(blocks / 8), maxLength: Math.ceil(blocks / 8) }) }),
    fc.record({
      kind: fc.constant('delta' as const),
      added: fc.uniqueArray(fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: blocks - 1 }) }, { weight: 1, arbitrary: index }), {
        minLength: 1, maxLength: 16,
      }).map((a) => a.sort((x, y) => x - y)),
    }),
  );
  const updateEntry: fc.Arbitrary<UpdateEntry> = fc.record({
    ref: fc.integer({ min: 0, max: MAX_REFS - 1 }),
    intro: fc.record({ originId: hex(8, 32), host: fc.constant('127.0.0.1'), port: fc.integer({ min: 1, max: 65535 }) }),
    seq: fc.integer({ min: 0, max: 2 ** 32 - 1 }), hops: fc.integer({ min: 0, max: 255 }), degree: fc.integer({ min: 0, max: 255 }),
    sourceBusy: fc.boolean(),
    estimate: fc.record({ n: fc.integer({ min: 1, max: 2 ** 32 - 1 }), ageS: fc.integer({ min: 0, max: 255 }) }),
    body,
  }, { requiredKeys: ['ref', 'seq', 'hops', 'degree', 'sourceBusy', 'body'] });
  const message: fc.Arbitrary<Message> = fc.oneof(
    fc.record({
      type: fc.constant('HELLO' as const), version: fc.oneof(fc.constant(PROTOCOL_VERSION), fc.integer({ min: 0, max: 255 })),
      swarmId: fc.oneof(fc.constant(swarmId), hex(32, 32)), peerId: hex(8, 32), host: fc.constantFrom('127.0.0.1', 'localhost', 'x'),
      port: fc.integer({ min: 1, max: 65535 }), size: fc.oneof(fc.constant(size), fc.integer({ min: 0, max: 2 ** 40 })),
      blockSize: fc.oneof(fc.constant(BLOCK_SIZE), fc.integer({ min: 1024, max: 1 << 20 })), flags: fc.integer({ min: 0, max: 255 }),
    }),
    fc.record({ type: fc.constant('UPDATE' as const), entries: fc.array(updateEntry, { maxLength: 4 }), sketch: fc.uint8Array({ maxLength: 64 }) }, { requiredKeys: ['type', 'entries'] }),
    fc.record({ type: fc.constant('REQUEST' as const), index }),
    fc.record({ type: fc.constant('BLOCK' as const), index, digest: fc.uint8Array({ minLength: 16, maxLength: 16 }), data: fc.uint8Array({ maxLength: 2048 }) }),
    fc.record({
      type: fc.constant('DIGESTS' as const),
      blocks: fc.uniqueArray(fc.record({ index, digest: fc.uint8Array({ minLength: 16, maxLength: 16 }) }), { minLength: 1, maxLength: 8, selector: (d) => d.index })
        .map((a) => a.sort((x, y) => x.index - y.index)),
    }),
    fc.record({ type: fc.constant('REJECT' as const), index, reason: fc.constantFrom('missing' as const, 'busy' as const) }),
    fc.record({ type: fc.constant('BYE' as const), reason: fc.string({ maxLength: 40 }) }),
  );
  // A message our encoder refuses (out of its own ranges) becomes random bytes instead.
  const valid = message.map((m) => {
    try {
      return encode(m);
    } catch {
      return new Uint8Array(randomBytes(16));
    }
  });
  return fc.oneof(
    { weight: 3, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 300 }) },
    { weight: 3, arbitrary: fc.tuple(valid, fc.nat()).map(([f, n]) => f.subarray(0, f.length > 0 ? n % f.length : 0)) },
    { weight: 3, arbitrary: fc.tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })).map(([f, muts]) => {
      const copy = Uint8Array.from(f);
      for (const [at, v] of muts) if (copy.length > 0) copy[at % copy.length] = v;
      return copy;
    }) },
    { weight: 1, arbitrary: valid },
    // Rare, so the run stays fast: a frame just over the peer's limit.
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 199 }).map((n) => (n === 0 ? new Uint8Array(maxFrameBytes + 1 + n) : new Uint8Array([0x03]))) },
  );
}

function lastLine(text: string): string {
  return text.trim().split('\n').slice(-25).join(' / ').slice(0, 3000);
}

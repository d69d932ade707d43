// `seed(file, url)`: serve a copy someone already has to the swarm that `download(url)` joins,
// so the source is spared what the seeder can give. The copy must be the source's file: its
// size must match the source's, and its sha256 the one given or published; with no digest
// anywhere, a few blocks are compared with the source's own bytes instead.
import { randomBytes } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { SeededRng } from '../../estimation/random.ts';
import { PeerCore } from '../core/peer.ts';
import { asSlurpieError, SlurpieError } from '../errors.ts';
import { parseSha256, sha256File } from '../storage/verify.ts';
import { localAddressToward, swarmIdOf } from './download.ts';
import { PeerNode, type BlockStore, type LogFn } from './peer-node.ts';
import { fetchBlocks, probeSource, type SourceInfo } from './source-client.ts';
import { swarmAuthFor } from './swarm-id.ts';
import { TopologyClient } from './topology-client.ts';
import { Transport } from './transport.ts';
import { checkUploadLimit } from './rate-limits.ts';

export interface SeedOptions {
  topology: string; // the topology server of the swarm (required: a seeder no one can find serves no one)
  topologyToken?: string;
  host?: string; // address to accept peers on and advertise (default: the one facing the topology server)
  port?: number; // default 0: any free port
  sha256?: string; // expected digest (default: URL.sha256 if the source publishes one)
  swarmSecret?: string; // the private swarm's secret, as the downloaders give it
  blockSize?: number; // must be the downloaders' block size (default 256 KiB, as theirs)
  linger?: number; // seconds to serve; default: until the signal aborts
  uploadLimit?: number; // bytes a second served at most, all peers together (default: no limit)
  protocolEvents?: boolean; // also log the protocol's events at 'debug' (`seed -v`)
  signal?: AbortSignal; // stops seeding: deregisters and resolves
  log?: LogFn;
  /** Called once the seeder is registered and serving. */
  onReady?: (ready: SeedReady) => void;
}

export interface SeedReady {
  file: string;
  url: string;
  size: number;
  swarmId: string;
  host: string;
  port: number;
  integrity: 'sha256' | 'published' | 'sampled';
}

export interface SeedStats extends SeedReady {
  seconds: number;
  uploaded: number;
  peersSeen: number;
}

const SAMPLED_BLOCKS = 3;

/** Seeds `file` as the copy of `url` until `linger` seconds pass or the signal aborts; rejects only with SlurpieError. */
export async function seed(file: string, url: string, options: SeedOptions): Promise<SeedStats> {
  try {
    return await seedOnce(file, url, options);
  } catch (err) {
    throw asSlurpieError(err);
  }
}

async function seedOnce(file: string, url: string, options: SeedOptions): Promise<SeedStats> {
  const started = performance.now();
  const log: LogFn = options.log ?? (() => {});
  const blockSize = options.blockSize ?? 256 * 1024;
  checkUploadLimit(options.uploadLimit, blockSize);
  const expected = options.sha256 === undefined ? undefined : parseSha256(options.sha256) ?? undefined;
  if (options.sha256 !== undefined && !expected) throw new SlurpieError('BAD_INPUT', `--sha256 must be 64 hex digits, got "${options.sha256}"`);
  const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new SlurpieError('BAD_INPUT', `cannot seed ${file}: ${err.code ?? err.message}`, { cause: err });
  });
  if (!st.isFile()) throw new SlurpieError('BAD_INPUT', `cannot seed ${file}: not a regular file`);

  const info = await probeSource(url, options.signal ? { signal: options.signal } : {});
  if (!info.ranges || info.size === null) {
    throw new SlurpieError('BAD_INPUT', `the source at ${url} does not support Range requests: downloaders fetch it plainly, with no swarm to seed`);
  }
  if (info.size !== st.size) {
    throw new SlurpieError('SOURCE_CHANGED', `${file} is ${st.size} bytes but the source's file is ${info.size}: not the same file, refusing to seed it`);
  }
  const integrity = await checkCopy(file, info, expected, blockSize, options.signal);
  log('info', `${file} matches the source (${integrity === 'sampled' ? `size and ${SAMPLED_BLOCKS} blocks compared: no sha256 given or published` : 'size and sha256'})`);

  const size = info.size;
  const swarmId = swarmIdOf(info, options);
  const handle = await open(file, 'r');
  const store: BlockStore = {
    blockSize,
    readBlock: async (index) => {
      const length = Math.min(blockSize, size - index * blockSize);
      const { buffer } = await handle.read(Buffer.alloc(length), 0, length, index * blockSize);
      return buffer;
    },
    writeBlock: () => Promise.reject(new SlurpieError('INTERNAL', 'a seeder has every block and stores none')),
  };
  const blocks = Math.ceil(size / blockSize);
  const have = new Uint8Array(Math.ceil(blocks / 8)).fill(0xff); // every block present
  const id = randomBytes(16).toString('hex');
  const host = options.host ?? (await localAddressToward(options.topology).catch(() => '127.0.0.1'));
  const transport = new Transport({ size, blockSize });
  let node: PeerNode | null = null;
  try {
    const port = await transport.listen(host, options.port ?? 0);
    const core = new PeerCore({
      id, swarmId, host, port, size, params: { blockSize }, rng: new SeededRng(randomBytes(4).readUInt32LE(0)),
      now: performance.now(), have,
      ...(options.swarmSecret !== undefined && { auth: swarmAuthFor(options.swarmSecret) }),
      events: options.protocolEvents === true,
    });
    node = new PeerNode(core, store, info, log, transport, { uploadLimit: options.uploadLimit });
    const client = new TopologyClient(options.topology, options.topologyToken === undefined ? {} : { token: options.topologyToken });
    await node.join({ client, swarmId, self: { id, host, port } }, 60);
    node.start();
    options.onReady?.({ file, url, size, swarmId, host, port, integrity });
    await until(options.linger, options.signal);
    const s = core.stats(performance.now());
    return { file, url, size, swarmId, host, port, integrity, seconds: (performance.now() - started) / 1000, uploaded: s.uploaded, peersSeen: s.peersSeen };
  } finally {
    if (node) await node.leave('seeding stopped');
    else await transport.stop();
    await handle.close();
  }
}

// The copy must be the source's file: by its sha256 when one is known, else by comparing
// the first, a middle and the last block with the source's (a cheap check, not a proof).
async function checkCopy(file: string, info: SourceInfo, expected: string | undefined, blockSize: number, signal?: AbortSignal): Promise<SeedReady['integrity']> {
  const digest = expected ?? info.sha256;
  if (digest !== undefined) {
    const actual = await sha256File(file);
    if (actual !== digest) {
      throw new SlurpieError('INTEGRITY_FAILED', `${file} has sha256 ${actual.slice(0, 16)}…, the ${expected ? 'given' : 'published'} one is ${digest.slice(0, 16)}…: refusing to seed it`);
    }
    return expected ? 'sha256' : 'published';
  }
  const size = info.size as number;
  const blocks = Math.ceil(size / blockSize);
  const sample = [...new Set([0, Math.floor(blocks / 2), blocks - 1])].slice(0, SAMPLED_BLOCKS);
  const handle = await open(file, 'r');
  try {
    for (const index of sample) {
      let theirs: Uint8Array = new Uint8Array(0);
      await fetchBlocks(info, index, 1, blockSize, (_, data) => {
        theirs = data;
      }, signal ? { signal } : {});
      const { buffer: ours } = await handle.read(Buffer.alloc(theirs.length), 0, theirs.length, index * blockSize);
      if (!ours.equals(theirs)) throw new SlurpieError('INTEGRITY_FAILED', `block ${index} of ${file} differs from the source's: refusing to seed it`);
    }
  } finally {
    await handle.close();
  }
  return 'sampled';
}

/** Resolves after `seconds` (never, if undefined) or as soon as `signal` aborts. */
function until(seconds: number | undefined, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = seconds === undefined ? null : setTimeout(done, seconds * 1000);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

// The library entry point: `download(url, options)` fetches one file with a Slurpie swarm
// (or alone, like curl with resume) and resolves to the stats of PROTOCOL.md §10.
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { connect } from 'node:net';
import { basename } from 'node:path';
import type { Writable } from 'node:stream';
import { SeededRng } from '../../estimation/random.ts';
import { PeerCore } from '../core/peer.ts';
import { resolveParams, type PeerParams } from '../core/params.ts';
import type { RefusedBusy } from '../core/serving.ts';
import type { BandwidthState } from '../../estimation/bandwidth.ts';
import { asSlurpieError, SlurpieError } from '../errors.ts';
import { PartFile } from '../storage/part-file.ts';
import { parseSha256 } from '../storage/verify.ts';
import { checkExisting } from './existing-output.ts';
import { noMessages, type MessageCounts } from './message-counts.ts';
import { streamDownload, streamFinishedFile, type InOrderStream } from './in-order-stream.ts';
import type { PeerMetricsServer } from './peer-metrics.ts';
import { plainDownload } from './plain-download.ts';
import { PeerNode, type LogFn } from './peer-node.ts';
import { repairFromSource } from './repair.ts';
import { sourceHeaders } from './request-headers.ts';
import { probeSource, type SourceHttp, type SourceInfo } from './source-client.ts';
import { swarmAuthFor, swarmIdFor } from './swarm-id.ts';
import { TopologyClient } from './topology-client.ts';
import { nameFromUrl } from '../../topology-server/swarm-file.ts';
import { Transport } from './transport.ts';
import { checkDownloadLimit, checkSharedLimits, checkUploadLimit, type SharedLimits } from './rate-limits.ts';

export interface DownloadOptions {
  output?: string; // default: the URL's file name
  topology?: string; // topology server URL; without it, download alone
  topologyToken?: string; // sent to the topology server as "Authorization: Bearer <token>"
  host?: string; // address to accept peers on and advertise (default: the one facing the topology server)
  port?: number; // default 0: any free port
  sha256?: string;
  swarmSecret?: string; // a private swarm: only peers with the same secret find and serve each other
  swarmKey?: string; // stands in for the URL in the swarm id: mirrors or other links to the same bytes
  headers?: Record<string, string>; // sent to the source with every request (never to peers or the topology server)
  userAgent?: string; // default slurpie/<version>
  connectTimeoutMs?: number; // per connection to the source (default 10 s)
  retries?: number; // retries of a 5xx or network failure at the source (default 2)
  blockSize?: number;
  linger?: number; // seconds to keep serving after finishing
  uploadLimit?: number; // bytes a second served to other peers at most, all together (default: no limit)
  downloadLimit?: number; // bytes a second taken at most, from the source and peers together, on average (default: no limit)
  sharedLimits?: SharedLimits; // limits shared with other downloads in this process (the proxy's): used instead of the two above
  protocolEvents?: boolean; // also log the protocol's events (the topology's answer, links, the source's leases and runs, the bandwidth state) at 'debug': `get -v`
  metricsPort?: number; // serve GET /metrics (Prometheus) on this port while downloading and lingering; 0: any free port
  metricsHost?: string; // default 127.0.0.1
  params?: Partial<PeerParams>;
  seed?: number;
  signal?: AbortSignal;
  /**
   * Also write the file, in order, to this stream while it downloads (the .part file is still
   * written, and served to peers). Ended once every byte is sent and matches the sha256 (when
   * one is known); on a failure it is left unended. The bytes go out before the whole file is
   * checked: a mismatch rejects with INTEGRITY_FAILED after the consumer has them.
   */
  stream?: Writable;
  onProgress?: (progress: Progress) => void;
  log?: LogFn;
}

export interface Progress {
  size: number;
  bytesHave: number;
  fromSource: number;
  fromPeers: number;
  uploaded: number;
  connections: number;
  seconds: number;
}

export interface DownloadStats {
  url: string;
  output: string;
  size: number;
  blockSize: number;
  seconds: number; // from the call to the file verified and in place
  /** Date.now() when the file was verified and in place: before the hand-over to the swarm, which the promise waits for. */
  readyAt: number;
  fromSource: number;
  fromPeers: number;
  uploaded: number;
  sourceRequests: number;
  sourceRounds: number;
  peersSeen: number;
  groupSizeEstimate: number; // median of the per-round estimates while downloading
  groupSizeAtEnd: number; // the estimate when finished (lower: peers have left by then)
  maxDataConnections: number;
  resumedBlocks: number;
  meanDegree: number;
  diameter: number;
  secondsInState: Record<BandwidthState, number>; // time in each bandwidth-estimator state
  /** How long the peer sent its periodic updates less often because its process waited for a core (host load). */
  secondsStretched: number;
  /** REQUESTs this peer refused `busy`, by the rule that refused them (peer/core/serving.ts). */
  refusedBusy?: RefusedBusy;
  /** Seconds from the start to holding each tenth of the blocks (those resumed count at once); absent without blocks (plain, already complete). */
  progressSeconds?: number[];
  mode: 'swarm' | 'alone' | 'plain' | 'already-complete'; // already-complete: the output was there, nothing fetched
  sha256: string;
  /** What the file was checked against: --sha256 / options.sha256, a URL.sha256 the source publishes, or nothing. */
  integrity: Integrity;
  /** Peer messages sent and received by type (UPDATE-news: an UPDATE with no entries); empty without a swarm. */
  messages: MessageCounts;
  ok: boolean;
}

export type Integrity = 'sha256' | 'published' | 'none';

/** Streaming: blocks are chosen among the 8 lowest missing (PeerParams.inOrderWindow), so the prefix fills first. */
const STREAM_WINDOW = 8;
/**
 * Alone (no topology server: no one to share with, ever): each Range GET starts at the lowest
 * missing block, like curl. Drawn anywhere, runs stopped at blocks an earlier run had taken,
 * and 256 MiB took 142 GETs instead of 22, the whole-file hash read blocks back from disk,
 * and the writes were scattered (issue #12: alone against curl).
 */
const ALONE_WINDOW = 1;

/**
 * Downloads `url`. Progress ends with an event at 100% before the promise resolves; every
 * rejection is a SlurpieError with a `code` (an aborted signal: INTERRUPTED; the original
 * error, if any, as `cause`).
 */
export async function download(url: string, options: DownloadOptions = {}): Promise<DownloadStats> {
  let stats: DownloadStats;
  try {
    stats = await downloadOnce(url, options);
  } catch (err) {
    throw asSlurpieError(err, options.signal);
  }
  options.onProgress?.({
    size: stats.size, bytesHave: stats.size, fromSource: stats.fromSource, fromPeers: stats.fromPeers,
    uploaded: stats.uploaded, connections: 0, seconds: stats.seconds,
  });
  return stats;
}

/** The swarm `download(url)` joins for the file `info` describes: `seed()` joins the same one. */
export function swarmIdOf(info: SourceInfo, options: Pick<DownloadOptions, 'swarmSecret' | 'swarmKey'>): string {
  // The URL as given (info.url; or the key standing in for it), never where it redirected:
  // signed URLs differ per peer and per request.
  return swarmIdFor(options.swarmKey ?? info.url, info.size ?? 0, info.validator, options.swarmSecret);
}

async function downloadOnce(url: string, options: DownloadOptions): Promise<DownloadStats> {
  const started = performance.now();
  const log: LogFn = options.log ?? (() => {});
  checkUrl(url);
  if (options.swarmKey !== undefined && options.swarmKey.trim() === '') throw new SlurpieError('BAD_INPUT', 'swarmKey must not be empty');
  const expected = options.sha256 === undefined ? undefined : checkSha256(options.sha256);
  const blockSize = options.blockSize ?? options.params?.blockSize ?? 256 * 1024;
  checkUploadLimit(options.uploadLimit, blockSize);
  checkDownloadLimit(options.downloadLimit);
  checkSharedLimits(options.sharedLimits, blockSize);
  const info = await probeSource(url, { ...(options.signal && { signal: options.signal }), http: sourceHttpOf(options) });
  const output = options.output ?? defaultOutput(info.url);
  const sha256 = expected ?? info.sha256;
  const integrity: Integrity = expected ? 'sha256' : info.sha256 ? 'published' : 'none';
  const existing = await checkExisting(output, info.size, sha256);
  if (existing.kind === 'complete') {
    log('info', `${output} is already complete (${existing.size} bytes${sha256 ? ', sha256 matches' : ', the source\'s size'}): nothing to fetch`);
    if (options.stream) await streamFinishedFile(output, options.stream);
    return {
      url: info.url, output, size: existing.size, blockSize: 0, seconds: elapsed(started), readyAt: Date.now(), fromSource: 0,
      fromPeers: 0, uploaded: 0, sourceRequests: 0, sourceRounds: 0, peersSeen: 0, groupSizeEstimate: 1, groupSizeAtEnd: 1,
      maxDataConnections: 0, resumedBlocks: 0, meanDegree: 0, diameter: 0,
      secondsInState: { 'under-utilized': 0, 'throttle-back': 0, 'at-capacity': 0 }, secondsStretched: 0, mode: 'already-complete',
      sha256: existing.sha256, integrity, messages: noMessages(), ok: true,
    };
  }
  if (!info.ranges || info.size === null) {
    log('info', 'the source does not support Range requests: downloading it plainly, alone, without resume');
    const result = await plainDownload(info, output, sha256, options.signal, options.sharedLimits?.downloads?.rate ?? options.downloadLimit);
    if (options.stream) await streamFinishedFile(output, options.stream);
    return {
      url: info.url, output, size: result.size, blockSize: 0, seconds: elapsed(started), readyAt: Date.now(), fromSource: result.size,
      fromPeers: 0, uploaded: 0, sourceRequests: 1, sourceRounds: 1, peersSeen: 0, groupSizeEstimate: 1, groupSizeAtEnd: 1,
      maxDataConnections: 0, resumedBlocks: 0, meanDegree: 0, diameter: 0,
      secondsInState: { 'under-utilized': 0, 'throttle-back': 0, 'at-capacity': 0 }, secondsStretched: 0, mode: 'plain', sha256: result.sha256, integrity, messages: noMessages(), ok: true,
    };
  }

  const size = info.size;
  const downloadLimit = options.sharedLimits?.downloads ?? options.downloadLimit;
  const swarmId = swarmIdOf(info, options);
  const part = await PartFile.open({ path: output, size, blockSize, identity: { url: info.url, validator: info.validator, swarmId } });
  if (part.freshReason !== null && part.freshReason !== 'no sidecar') log('info', `starting ${output} over: ${part.freshReason}`);
  const resumedBlocks = part.haveCount;
  if (resumedBlocks > 0) log('info', `resuming: ${resumedBlocks} of ${part.blocks} blocks already on disk`);

  const id = randomBytes(16).toString('hex');
  let host = options.host ?? '127.0.0.1';
  let membership: { client: TopologyClient; ttl: number } | null = null;
  if (options.topology) {
    const client = new TopologyClient(options.topology, options.topologyToken === undefined ? {} : { token: options.topologyToken });
    host = options.host ?? (await localAddressToward(options.topology).catch(() => '127.0.0.1'));
    membership = { client, ttl: 60 };
  }

  const seed = options.seed ?? randomBytes(4).readUInt32LE(0);
  let node: PeerNode | null = null;
  let core: PeerCore | null = null;
  let inOrder: InOrderStream | null = null;
  const onAbort = (): void => node?.fail(new SlurpieError('INTERRUPTED', 'interrupted; the .part file is kept for resume'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let progressTimer: NodeJS.Timeout | null = null;
  let metrics: PeerMetricsServer | null = null;
  try {
    // Bind first: the core advertises the port it really got.
    const transport = membership ? new Transport({ size, blockSize }) : null;
    const port = transport ? await transport.listen(host, options.port ?? 0) : 0;
    core = new PeerCore({
      id, swarmId, host, port, size, params: { ...(options.stream ? { inOrderWindow: STREAM_WINDOW } : !membership && { inOrderWindow: ALONE_WINDOW }), ...options.params, blockSize }, rng: new SeededRng(seed),
      now: performance.now(), have: part.have.buffer,
      ...(options.swarmSecret !== undefined && { auth: swarmAuthFor(options.swarmSecret) }),
      ...(downloadLimit !== undefined && { downloadLimit }),
      events: options.protocolEvents === true,
    });
    node = new PeerNode(core, part, info, log, transport, { uploadLimit: options.sharedLimits?.uploads ?? options.uploadLimit, protocolEvents: options.protocolEvents === true });
    if (options.metricsPort !== undefined) {
      const { servePeerMetrics } = await import('./peer-metrics.ts'); // prom-client: ~40 files, loaded only when asked for
      const metricsCore = core;
      metrics = await servePeerMetrics(options.metricsHost ?? '127.0.0.1', options.metricsPort, () => metricsCore.stats(performance.now()));
      log('info', `metrics on ${metrics.url}`);
    }
    const name = nameFromUrl(info.url);
    if (membership) await node.join({ client: membership.client, swarmId, self: { id, host, port }, file: { size, ...(name !== undefined && { name }) } }, membership.ttl);
    if (options.signal?.aborted) onAbort();
    const liveCore = core;
    if (options.onProgress) {
      const report = (): void => {
        const s = liveCore.stats(performance.now());
        options.onProgress?.({
          size,
          bytesHave: Math.min(size, s.blocksHave * blockSize),
          fromSource: s.fromSource,
          fromPeers: s.fromPeers,
          uploaded: s.uploaded,
          connections: s.connections,
          seconds: elapsed(started),
        });
      };
      progressTimer = setInterval(report, 250);
      progressTimer.unref();
    }
    if (options.stream) inOrder = streamDownload(part, node, options.stream);
    node.start();
    if (!membership) node.alone();
    await node.whenComplete();
    // Streaming: every block but the last is out, and what went out must be the file: its
    // digest is checked before any repair (none could take bytes back), and again against
    // the file on disk before the last block goes.
    const streamed = await inOrder?.digest(sha256);
    const completeAt = performance.now();
    const { sha256: digest } = await verify(part, info, sha256, node, log, options.signal);
    if (inOrder) {
      if (digest !== streamed) throw new SlurpieError('INTEGRITY_FAILED', `the file on disk (sha256 ${digest}) differs from the bytes streamed (${streamed}): a block changed after it was sent`);
      await inOrder.end();
    }
    log('debug', `all blocks stored at ${elapsed(started).toFixed(2)} s; verified and in place ${((performance.now() - completeAt) / 1000).toFixed(2)} s later`);
    const stats = core.stats(performance.now());
    const result: DownloadStats = {
      url: info.url, output, size, blockSize, seconds: elapsed(started), readyAt: Date.now(), fromSource: stats.fromSource,
      fromPeers: stats.fromPeers, uploaded: stats.uploaded, sourceRequests: stats.sourceRequests,
      sourceRounds: stats.sourceRounds, peersSeen: stats.peersSeen, groupSizeEstimate: stats.groupSizeEstimate,
      groupSizeAtEnd: stats.groupSizeNow,
      maxDataConnections: stats.maxDataConnections, resumedBlocks, meanDegree: stats.meanDegree, diameter: stats.diameter,
      secondsInState: {
        'under-utilized': stats.timeInState['under-utilized'] / 1000,
        'throttle-back': stats.timeInState['throttle-back'] / 1000,
        'at-capacity': stats.timeInState['at-capacity'] / 1000,
      },
      secondsStretched: stats.stretchedSeconds,
      refusedBusy: stats.refusedBusy,
      progressSeconds: stats.tenthsAtMs.map((ms) => Math.round(ms - started) / 1000),
      mode: membership ? 'swarm' : 'alone',
      sha256: digest, integrity, messages: noMessages(), ok: true,
    };
    // The file is in place. Serve from it through the hand-over (those still downloading may
    // need our blocks: the core says when no one has asked for a while), then --linger more.
    const final = await open(output, 'r');
    node.serveFrom(async (index, into) => {
      const length = Math.min(blockSize, size - index * blockSize);
      const { buffer } = await final.read(into.subarray(0, length), 0, length, index * blockSize);
      return buffer;
    });
    log('debug', `serving peers still downloading until none asks${options.linger ? `, then ${options.linger} s more` : ''} (an interrupt leaves now: the file is done)`);
    // A hand-over that goes on (peers keep asking) says why the process has not exited yet.
    const { handoverMs, maxHandoverMs } = resolveParams(options.params);
    const stillServing = setTimeout(() => log('info', `${output} is complete; serving peers still downloading for at most ${Math.round((maxHandoverMs - handoverMs) / 1000)} s more (an interrupt leaves now)`), handoverMs);
    try {
      await raceAbort(node.whenDepartable(), options.signal);
      clearTimeout(stillServing);
      if (options.linger && options.linger > 0) await sleep(options.linger * 1000, options.signal);
    } catch (err) {
      if (!options.signal?.aborted) throw err; // an interrupt after the file is done only cuts the hand-over short
    } finally {
      clearTimeout(stillServing);
      await node.leave('finished');
      await final.close();
    }
    const atLeave = core.stats(performance.now());
    result.uploaded = atLeave.uploaded;
    result.refusedBusy = atLeave.refusedBusy;
    // After leaving: the hand-over's BLOCKs and the BYEs count too.
    result.messages = transport?.messages.snapshot() ?? noMessages();
    return result;
  } catch (err) {
    inOrder?.fail(err as Error);
    await node?.stop();
    if (err instanceof SlurpieError && err.code === 'SOURCE_CHANGED') await part.discard().catch(() => {});
    else await part.close().catch(() => {});
    throw err;
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    await metrics?.close();
    options.signal?.removeEventListener('abort', onAbort);
  }
}

// Verifies the finished file; on a mismatch, repairs peer-supplied blocks from the source,
// bans the peers that sent bad bytes, and verifies once more.
async function verify(
  part: PartFile, info: SourceInfo, sha256: string | undefined, node: PeerNode, log: LogFn, signal?: AbortSignal,
): Promise<{ sha256: string }> {
  if (!sha256) log('info', 'no sha256 given and none published next to the URL: the file is not checked end to end');
  try {
    return await part.finish(sha256);
  } catch (err) {
    if (!(err instanceof SlurpieError) || err.code !== 'INTEGRITY_FAILED') throw err;
    log('warn', `${err.message}: checking the blocks that came from peers against the source, unvouched ones first`);
    // Narrowed first to the blocks no other peer vouched for; if that was not it, the other
    // peer-supplied blocks (never one twice: at most one copy of what came from peers in all).
    const report = ({ checked, replaced, liars }: Awaited<ReturnType<typeof repairFromSource>>): void => {
      for (const peerId of liars) node.dispatch({ type: 'ban', peerId, reason: 'sent blocks that failed verification' });
      log('warn', `checked ${checked} blocks, replaced ${replaced}, from ${liars.size} lying peer(s)`);
    };
    const first = await repairFromSource(part, info, signal, node.vouched);
    report(first);
    try {
      return await part.finish(sha256);
    } catch (again) {
      if (!(again instanceof SlurpieError) || again.code !== 'INTEGRITY_FAILED' || node.vouched.size === 0) throw again;
    }
    report(await repairFromSource(part, info, signal, first.seen));
    return await part.finish(sha256);
  }
}

function elapsed(started: number): number {
  return (performance.now() - started) / 1000;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SlurpieError('BAD_INPUT', `not a URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new SlurpieError('BAD_INPUT', `only http and https URLs can be fetched, not ${parsed.protocol.replace(':', '')}`);
  }
}

/** The request settings the source client keeps with the probe's answer; bad headers are BAD_INPUT. */
function sourceHttpOf(options: DownloadOptions): SourceHttp {
  let headers: Record<string, string>;
  try {
    headers = sourceHeaders(options.headers, options.userAgent);
  } catch (err) {
    throw new SlurpieError('BAD_INPUT', (err as Error).message);
  }
  for (const [name, value, ok] of [
    ['connectTimeoutMs', options.connectTimeoutMs, (n: number) => Number.isFinite(n) && n > 0],
    ['retries', options.retries, (n: number) => Number.isSafeInteger(n) && n >= 0],
  ] as const) {
    if (value !== undefined && !ok(value)) throw new SlurpieError('BAD_INPUT', `${name} must be ${name === 'retries' ? 'a whole number >= 0' : 'a positive number of ms'}, got ${value}`);
  }
  return {
    headers,
    ...(options.connectTimeoutMs !== undefined && { connectTimeoutMs: options.connectTimeoutMs }),
    ...(options.retries !== undefined && { retries: options.retries }),
  };
}

function checkSha256(text: string): string {
  const digest = parseSha256(text);
  if (!digest) throw new SlurpieError('BAD_INPUT', `--sha256 must be 64 hex digits, got "${text}"`);
  return digest;
}

function defaultOutput(url: string): string {
  const name = basename(decodeURIComponent(new URL(url).pathname));
  return name && name !== '/' ? name : 'index.html';
}

/** The local address our packets to the topology server leave from: the one peers can reach. */
export function localAddressToward(topology: string): Promise<string> {
  const u = new URL(topology);
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port, timeout: 3000 });
    socket.once('connect', () => {
      resolve(socket.localAddress ?? '127.0.0.1');
      socket.destroy();
    });
    socket.once('timeout', () => socket.destroy(new Error('timeout')));
    socket.once('error', reject);
  });
}

/** `promise`, or a rejection as soon as `signal` aborts (its reason). */
function raceAbort(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

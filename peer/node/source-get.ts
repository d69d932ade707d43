// Downloading from the source: fetchBlocks reads a run of blocks with one Range GET pinned
// to the probed version (If-Range), starting from the URL as given (source-redirects.ts), handing each block to the caller as it completes;
// fetchWhole reads a whole file with a plain GET, for sources that cannot do ranges. Both
// run under the idle watchdog and retry only while nothing has been handed to the caller.

import { SlurpieError } from '../errors.ts';
import { changedError, changedValidator, checkRangeAnswer } from './source-change.ts';
import type { FetchOptions, SourceInfo } from './source-client.ts';
import { cut, discard, statusLine } from './source-http.ts';
import { requestSource } from './source-redirects.ts';
import { ShortBody, anySignal, asBodyError, failOnStatus, retryOptions, withRetries } from './source-retry.ts';
import { Watchdog } from './watchdog.ts';

const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export async function fetchBlocks(
  info: SourceInfo,
  first: number,
  count: number,
  blockSize: number,
  onBlock: (index: number, data: Uint8Array) => void | Promise<void>,
  opts: FetchOptions = {},
): Promise<{ bytes: number }> {
  const url = new URL(info.url);
  if (!info.ranges || info.size === null) {
    throw new SlurpieError('BAD_INPUT', `fetchBlocks needs a source with Range support and a known size (${url}); use fetchWhole`);
  }
  const size = info.size;
  if (![first, count, blockSize].every(Number.isSafeInteger) || first < 0 || count < 1 || blockSize < 1 || first * blockSize >= size) {
    throw new SlurpieError('BAD_INPUT', `fetchBlocks: no such blocks: first ${first}, count ${count}, block size ${blockSize}, file ${size} bytes (${url})`);
  }
  const start = first * blockSize;
  const end = Math.min((first + count) * blockSize, size); // exclusive
  const headers: Record<string, string> = { range: `bytes=${start}-${end - 1}` };
  if (info.validator !== null) headers['if-range'] = info.validator;
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const allocate = opts.allocate ?? ((length: number) => Buffer.allocUnsafe(length));
  let delivered = 0;

  await withRetries(retryOptions(opts, info.http), async () => {
    const watchdog = new Watchdog(idleMs, opts.timers);
    const signal = anySignal(opts.signal, watchdog.signal);
    const caller: { failed: boolean; err?: unknown } = { failed: false };
    let received = 0;
    try {
      const { url: at, res } = await requestSource(info.url, 'GET', headers, signal, idleMs, info.http);
      if (res.statusCode !== 206) discard(res);
      checkRangeAnswer(res, at, info, start, end);
      watchdog.arm();
      let index = first;
      let block = allocate(Math.min(blockSize, end - start));
      let filled = 0;
      for await (const raw of res.body) {
        watchdog.arm();
        const chunk = raw as Buffer;
        if (received + chunk.length > end - start) {
          throw new SlurpieError('SOURCE_HTTP', `source sent more than the ${end - start} bytes asked for (${at})`);
        }
        received += chunk.length;
        for (let off = 0; off < chunk.length; ) {
          const n = Math.min(block.length - filled, chunk.length - off);
          chunk.copy(block, filled, off, off + n);
          filled += n;
          off += n;
          if (filled < block.length) continue;
          watchdog.disarm(); // the caller's time is not the source's silence
          try {
            await onBlock(index, block);
          } catch (err) {
            caller.failed = true;
            caller.err = err;
            throw err;
          }
          delivered += block.length;
          watchdog.arm();
          index++;
          const next = start + (index - first) * blockSize;
          if (next < end) block = allocate(Math.min(blockSize, end - next));
          filled = 0;
        }
      }
      watchdog.disarm();
      if (received < end - start) throw new ShortBody();
    } catch (err) {
      watchdog.disarm();
      if (caller.failed) throw caller.err;
      throw asBodyError(err, opts.signal, watchdog, url, received, end - start, delivered === 0);
    }
  });
  return { bytes: end - start };
}

export async function fetchWhole(
  info: SourceInfo,
  onData: (offset: number, chunk: Uint8Array) => void | Promise<void>,
  opts: FetchOptions = {},
): Promise<{ bytes: number }> {
  const url = new URL(info.url);
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  let offset = 0;
  await withRetries(retryOptions(opts, info.http), async () => {
    const watchdog = new Watchdog(idleMs, opts.timers);
    const signal = anySignal(opts.signal, watchdog.signal);
    const caller: { failed: boolean; err?: unknown } = { failed: false };
    try {
      const { url: at, res } = await requestSource(info.url, 'GET', {}, signal, idleMs, info.http);
      if (res.statusCode !== 200) discard(res);
      failOnStatus(res, at);
      if (res.statusCode !== 200) throw new SlurpieError('SOURCE_HTTP', `source answered ${statusLine(res.statusCode)} to a plain GET of ${at}`);
      const changed = changedValidator(res, info);
      if (changed !== null) {
        cut(res);
        throw changedError(info, changed, at);
      }
      watchdog.arm();
      for await (const raw of res.body) {
        watchdog.disarm();
        const chunk = raw as Buffer;
        if (info.size !== null && offset + chunk.length > info.size) {
          throw new SlurpieError('SOURCE_HTTP', `source sent more than the ${info.size} bytes it announced (${at})`);
        }
        try {
          await onData(offset, chunk);
        } catch (err) {
          caller.failed = true;
          caller.err = err;
          throw err;
        }
        offset += chunk.length;
        watchdog.arm();
      }
      watchdog.disarm();
      if (info.size !== null && offset < info.size) throw new ShortBody();
    } catch (err) {
      watchdog.disarm();
      if (caller.failed) throw caller.err;
      throw asBodyError(err, opts.signal, watchdog, url, offset, info.size, offset === 0);
    }
  });
  return { bytes: offset };
}

// The checks of --upload-limit and --download-limit, for the CLI and the library alike.
//
// The floor of --upload-limit (peer-node.ts paces serves to it). Before it has measured its
// uplink the core lets 4 serves queue (MIN_SERVES, core/upload-backlog.ts), and a requester
// gives up on a block after requestTimeoutMs (10 s) and counts it a strike. At half a block a
// second the 4 take 8 s; any slower and an honest, capped peer would be struck off by the
// peers it serves.
import { MIN_DOWNLOAD_RATE } from '../core/download-budget.ts';
import { SlurpieError } from '../errors.ts';

/** The lowest upload limit, in bytes a second, with blocks of `blockSize`: half a block a second. */
export function uploadLimitFloor(blockSize: number): number {
  return Math.ceil(blockSize / 2);
}

/** Throws BAD_INPUT unless `bytesPerSecond` (the library's `uploadLimit`; undefined: none) can be the limit with blocks of `blockSize`. */
export function checkUploadLimit(bytesPerSecond: number | undefined, blockSize: number): void {
  const floor = uploadLimitFloor(blockSize);
  if (bytesPerSecond === undefined || (Number.isFinite(bytesPerSecond) && bytesPerSecond >= floor)) return;
  throw new SlurpieError('BAD_INPUT', `uploadLimit must be at least half a block a second (${floor} bytes a second with ${blockSize}-byte blocks), got ${bytesPerSecond}`);
}

/**
 * Throws BAD_INPUT unless `bytesPerSecond` (the library's `downloadLimit`; undefined: none) can
 * be the limit: at least MIN_DOWNLOAD_RATE (the core charges what it asks for, so any rate
 * keeps its requests inside their timeouts: core/download-budget.ts).
 */
export function checkDownloadLimit(bytesPerSecond: number | undefined): void {
  if (bytesPerSecond === undefined || (Number.isFinite(bytesPerSecond) && bytesPerSecond >= MIN_DOWNLOAD_RATE)) return;
  throw new SlurpieError('BAD_INPUT', `downloadLimit must be at least ${MIN_DOWNLOAD_RATE} bytes a second, got ${bytesPerSecond}`);
}

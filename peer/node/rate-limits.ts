// The checks of --upload-limit and --download-limit, for the CLI and the library alike, and
// the two limits shared by several downloads in one process (`slurpie proxy`).
//
// The floor of --upload-limit (peer-node.ts paces serves to it). Before it has measured its
// uplink the core lets 4 serves queue (MIN_SERVES, core/upload-backlog.ts), and a requester
// gives up on a block after requestTimeoutMs (10 s) and counts it a strike. At half a block a
// second the 4 take 8 s; any slower and an honest, capped peer would be struck off by the
// peers it serves.
import { DownloadPool, MIN_DOWNLOAD_RATE } from '../core/download-budget.ts';
import { SlurpieError } from '../errors.ts';
import { TokenBucket } from './token-bucket.ts';

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

/**
 * An upload limit and a download limit for every download in this process together
 * (`slurpie proxy --upload-limit --download-limit`; the library's `sharedLimits`): each
 * download's node paces its serves through the one bucket, and each core asks through the one
 * pool, so their sum keeps to the limit and a download alone may use all of it.
 */
export class SharedLimits {
  readonly uploads: TokenBucket | null;
  readonly downloads: DownloadPool | null;

  /** Throws BAD_INPUT as the checks above do. `blockSize`: the downloads' (default 256 KiB). */
  constructor(
    limits: { uploadLimit?: number | undefined; downloadLimit?: number | undefined },
    blockSize = 256 * 1024,
  ) {
    checkUploadLimit(limits.uploadLimit, blockSize);
    checkDownloadLimit(limits.downloadLimit);
    this.uploads = limits.uploadLimit === undefined ? null : new TokenBucket({ rate: limits.uploadLimit, burst: blockSize });
    this.downloads = limits.downloadLimit === undefined ? null : new DownloadPool(limits.downloadLimit, blockSize, performance.now());
  }
}

/** Throws BAD_INPUT if a download with blocks of `blockSize` cannot draw on `shared`'s download pool. */
export function checkSharedLimits(shared: SharedLimits | undefined, blockSize: number): void {
  if (shared?.downloads && blockSize > shared.downloads.burst) {
    throw new SlurpieError('BAD_INPUT', `sharedLimits' download limit lets ${shared.downloads.burst} bytes through at once, less than this download's blocks of ${blockSize}: make it with a blockSize of ${blockSize}`);
  }
}

// The fallback for a source without Range support or a Content-Length: one plain GET,
// alone, into FILE.part, renamed into place only once complete (and verified if we can).
// A download limit paces the reading (the core's budget cannot: there are no requests to hold).
import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { SlurpieError } from '../errors.ts';
import { toDiskError } from '../storage/disk-error.ts';
import { fetchWhole, type SourceInfo } from './source-client.ts';
import { TokenBucket } from './token-bucket.ts';

export async function plainDownload(
  info: SourceInfo,
  output: string,
  expectedSha256: string | undefined,
  signal?: AbortSignal,
  downloadLimit?: number, // bytes a second
): Promise<{ size: number; sha256: string }> {
  const pace = downloadLimit === undefined ? null : new TokenBucket({ rate: downloadLimit, burst: Math.max(64 * 1024, downloadLimit) });
  const partPath = `${output}.part`;
  const hash = createHash('sha256');
  const file = await open(partPath, 'w').catch((err: unknown) => {
    throw toDiskError(err, 'write', partPath);
  });
  let size = 0;
  try {
    await fetchWhole(info, async (offset, chunk) => {
      await pace?.take(chunk.length, signal); // the body is not read meanwhile: TCP slows the source
      hash.update(chunk);
      await file.write(chunk, 0, chunk.length, offset).catch((err: unknown) => {
        throw toDiskError(err, 'write', partPath);
      });
      size = Math.max(size, offset + chunk.length);
    }, signal ? { signal } : {});
    await file.sync();
  } finally {
    await file.close();
  }
  if (info.size !== null && size !== info.size) {
    throw new SlurpieError('SOURCE_HTTP', `the source sent ${size} bytes, ${info.size} announced (${info.url})`);
  }
  const sha256 = hash.digest('hex');
  if (expectedSha256 && sha256 !== expectedSha256.toLowerCase()) {
    await rm(partPath, { force: true });
    throw new SlurpieError('INTEGRITY_FAILED', `sha256 of the download is ${sha256}, expected ${expectedSha256}`);
  }
  await rename(partPath, output);
  return { size, sha256 };
}

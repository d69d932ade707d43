// The end of a download's files, apart from the PartFile's state: the expected digest as a
// person typed it, checked; a verified `.part` moved to its final name (rename, fsync of the
// directory so the rename survives a crash, then the sidecar and journal removed); an
// abandoned `.part`, its sidecar and journal deleted. PartFile.finish and PartFile.discard (part-file.ts) call these.

import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SlurpieError } from '../errors.ts';
import { diskOp, toDiskError } from './disk-error.ts';

/** `expectedSha256` trimmed and lowercased; BAD_INPUT unless it is 64 hex digits. */
export function checkExpectedSha256(expectedSha256: string | undefined): string | undefined {
  let expected: string | undefined;
  if (expectedSha256 !== undefined) {
    expected = expectedSha256.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(expected)) {
      throw new SlurpieError('BAD_INPUT', `expected sha256 is not 64 hex digits: ${JSON.stringify(expectedSha256)}`);
    }
  }
  return expected;
}

/** Renames the (closed, synced) `.part` to `path`, makes the rename durable, deletes the sidecar and journal. */
export async function moveIntoPlace(partPath: string, path: string, mapPath: string, journalPath: string): Promise<void> {
  await diskOp('rename', partPath, () => rename(partPath, path));
  await syncDir(dirname(path));
  await diskOp('remove', mapPath, () => removeAside(mapPath, journalPath));
}

/** Deletes `.part`, its sidecar and journal (and a replace of either left half done). */
export async function removePart(partPath: string, mapPath: string, journalPath: string): Promise<void> {
  await diskOp('remove', partPath, async () => {
    await rm(partPath, { force: true });
    await removeAside(mapPath, journalPath);
  });
}

async function removeAside(mapPath: string, journalPath: string): Promise<void> {
  for (const file of [mapPath, `${mapPath}.tmp`, journalPath, `${journalPath}.tmp`]) await rm(file, { force: true });
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    // Some file systems cannot fsync a directory; the rename itself has happened.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EINVAL' || code === 'ENOTSUP' || code === 'EISDIR' || code === 'EPERM') return;
    throw toDiskError(err, 'sync', dir);
  }
}

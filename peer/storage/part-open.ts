// Opening a download's files: the options checked, then `FILE.part` resumed if its sidecar
// matches exactly (with the blocks its journal adds, checked), or else started over.
// PartFile.open (part-file.ts) builds the PartFile around what openPart returns; everything
// after the open is the PartFile's.

import type { FileHandle } from 'node:fs/promises';
import { open, stat } from 'node:fs/promises';
import BitField from 'bitfield';
import { SlurpieError } from '../errors.ts';
import type { BlockMapIdentity, DecodedBlockMap } from './block-map.ts';
import { SupplierTable, blockCount, encodeBlockMap, loadBlockMap, saveBlockMap } from './block-map.ts';
import { diskOp, toDiskError } from './disk-error.ts';
import { Journal, loadJournal, newJournalId, replayJournal, type Replayed } from './journal.ts';

export interface PartFileOptions {
  /** The final output path; the work happens in `path.part` and `path.part.map`. */
  path: string;
  size: number;
  blockSize: number;
  identity: { url: string; validator: string | null; swarmId: string };
  /** Longest time a written block waits to be made durable (default 500 ms). */
  flushIntervalMs?: number;
  /** Flush at once when this many written blocks wait (default 64). */
  flushBlocks?: number;
}

// 2^24 blocks: 2 MiB of bitfield and 32 MiB of supplier indices; 4 TiB at 256 KiB blocks.
const MAX_BLOCKS = 2 ** 24;
const MAX_BLOCK_SIZE = 2 ** 30;

/** The open .part and the state its sidecar records (freshReason null: resumed). */
export interface OpenedPart {
  fh: FileHandle;
  identity: BlockMapIdentity;
  suppliers: SupplierTable;
  /** What the sidecar on disk claims. */
  durable: BitField;
  /** Blocks the journal adds (bytes checked), not yet known durable. */
  written: { index: number; from: string }[];
  journal: Journal;
  freshReason: string | null;
}

export const journalPathOf = (path: string): string => `${path}.part.journal`;
const partPathOf = (journalPath: string): string => journalPath.slice(0, -'.journal'.length);

/** Opens `path.part`, resuming it if its sidecar matches exactly; otherwise starts over. */
export async function openPart(options: PartFileOptions): Promise<OpenedPart> {
  const identity = checkOptions(options);
  const { path } = options;
  const partPath = `${path}.part`;
  const mapPath = `${path}.part.map`;
  const blocks = blockCount(identity.size, identity.blockSize);

  const target = await statOrNull(path);
  if (target?.isDirectory()) throw new SlurpieError('DISK', `cannot write ${path}: it is a directory`);

  let freshReason: string | null = null;
  const loaded = await loadBlockMap(mapPath, identity);
  if (loaded.ok) {
    const part = await statOrNull(partPath);
    if (!part) freshReason = 'no .part file';
    else if (!part.isFile() || part.size !== identity.size) freshReason = '.part file has the wrong size';
  } else freshReason = loaded.reason;

  if (freshReason === null && loaded.ok) {
    const fh = await diskOp('open', partPath, () => open(partPath, 'r+'));
    try {
      return { fh, ...(await resume(fh, identity, loaded, mapPath, journalPathOf(path))) };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  // Start over. The empty sidecar lands first, so no crash can leave an old map
  // pointing into a truncated or different file; it names a new journal, so an old one
  // left behind counts for nothing.
  const durable = new BitField(blocks);
  const suppliers = new SupplierTable(blocks);
  const id = newJournalId();
  await diskOp('write', mapPath, () => saveBlockMap(mapPath, encodeBlockMap(identity, { have: durable, suppliers, journal: id })));
  const journal = await diskOp('write', journalPathOf(path), () => Journal.start(journalPathOf(path), id, new Map()));
  try {
    const fh = await diskOp('create', partPath, () => open(partPath, 'w+'));
    try {
      await diskOp('allocate', partPath, () => fh.truncate(identity.size)); // sparse
    } catch (err) {
      await fh.close();
      throw err;
    }
    return { fh, identity, suppliers, durable, written: [], journal, freshReason };
  } catch (err) {
    await journal.close();
    throw err;
  }
}

type Loaded = Extract<DecodedBlockMap, { ok: true }>;

// The sidecar's blocks, less those its journal says were forgotten since, plus those its
// journal says were written whose bytes check out; the journal goes on with what counts.
async function resume(fh: FileHandle, identity: BlockMapIdentity, loaded: Loaded, mapPath: string, journalPath: string) {
  const { have: durable, suppliers } = loaded;
  const replayed = await replayFor(fh, identity, loaded, journalPath);
  for (const index of replayed.forgotten) {
    durable.set(index, false);
    suppliers.clear(index);
  }
  const id = loaded.journal ?? newJournalId(); // none: a sidecar from before the journal, or one let go
  let journal: Journal;
  try {
    journal = await diskOp('write', journalPath, () => Journal.start(journalPath, id, replayed.live));
  } catch (err) {
    // No room for the journal (a full disk): resume without one, as before journals; what
    // is on disk is still read back, and the download fails only if it must write.
    if (!(err instanceof SlurpieError && err.code === 'DISK')) throw err;
    journal = Journal.none(journalPath, id);
  }
  if (replayed.forgotten.length > 0 || loaded.journal === null) {
    // The sidecar must name the journal before its records count, and stop claiming what was
    // forgotten. Without a journal (no room) the next flush that finds room does it.
    try {
      await diskOp('write', mapPath, () => saveBlockMap(mapPath, encodeBlockMap(identity, { have: durable, suppliers, journal: journal.sidecarId })));
    } catch (err) {
      const noRoom = journal.sidecarId === null && err instanceof SlurpieError && err.code === 'DISK';
      if (!noRoom) {
        await journal.close();
        throw err;
      }
    }
  }
  return { identity, suppliers, durable, written: replayed.written, journal, freshReason: null };
}

async function replayFor(fh: FileHandle, identity: BlockMapIdentity, loaded: Loaded, journalPath: string): Promise<Replayed> {
  const blocks = blockCount(identity.size, identity.blockSize);
  const records = loaded.journal === null ? [] : await loadJournal(journalPath, loaded.journal, blocks);
  // The blocks only the journal claims are read back for their CRC: a few, those written since the last flush.
  return diskOp('read', partPathOf(journalPath), () => replayJournal(records, loaded.have, (index) => readBlockAt(fh, identity, index)));
}

async function readBlockAt(fh: FileHandle, identity: BlockMapIdentity, index: number): Promise<Uint8Array> {
  const position = index * identity.blockSize;
  const length = Math.min(identity.blockSize, identity.size - position);
  const buffer = Buffer.alloc(length);
  for (let done = 0; done < length; ) {
    const { bytesRead } = await fh.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break; // short: the CRC will not match
    done += bytesRead;
  }
  return buffer;
}

/**
 * What a resume of `path` would keep, read only (for tools and tests): the blocks the sidecar
 * claims, and those with what its journal adds and takes away. Null: it would start over.
 */
export async function keptBlocks(path: string, identity: BlockMapIdentity): Promise<{ sidecar: BitField; kept: BitField } | null> {
  const loaded = await loadBlockMap(`${path}.part.map`, identity);
  const part = await statOrNull(`${path}.part`);
  if (!loaded.ok || !part?.isFile() || part.size !== identity.size) return null;
  const sidecar = new BitField(new Uint8Array(loaded.have.buffer));
  const fh = await open(`${path}.part`, 'r');
  try {
    const replayed = await replayFor(fh, identity, loaded, journalPathOf(path));
    for (const index of replayed.forgotten) loaded.have.set(index, false);
    for (const { index } of replayed.written) loaded.have.set(index, true);
    return { sidecar, kept: loaded.have };
  } finally {
    await fh.close();
  }
}

function checkOptions(options: PartFileOptions): BlockMapIdentity {
  const { path, size, blockSize, identity } = options;
  if (typeof path !== 'string' || path === '') throw new SlurpieError('BAD_INPUT', 'output path is empty');
  if (!Number.isSafeInteger(size) || size < 0) throw new SlurpieError('BAD_INPUT', `bad file size: ${size}`);
  if (!Number.isSafeInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE) {
    throw new SlurpieError('BAD_INPUT', `bad block size: ${blockSize} (1 byte to 1 GiB)`);
  }
  if (blockCount(size, blockSize) > MAX_BLOCKS) {
    throw new SlurpieError('BAD_INPUT', `block size ${blockSize} is too small for ${size} bytes (at most ${MAX_BLOCKS} blocks)`);
  }
  const { url, validator, swarmId } = identity;
  if (typeof url !== 'string' || typeof swarmId !== 'string' || !(validator === null || typeof validator === 'string')) {
    throw new SlurpieError('BAD_INPUT', 'bad download identity (url, validator, swarmId)');
  }
  return { url, size, blockSize, validator, swarmId };
}

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw toDiskError(err, 'stat', path);
  }
}


// Opening a download's files: the options checked, then `FILE.part` resumed if its sidecar
// matches exactly, or else started over. PartFile.open (part-file.ts) builds the PartFile
// around what openPart returns; everything after the open is the PartFile's.

import type { FileHandle } from 'node:fs/promises';
import { open, stat } from 'node:fs/promises';
import BitField from 'bitfield';
import { SlurpieError } from '../errors.ts';
import type { BlockMapIdentity } from './block-map.ts';
import { SupplierTable, blockCount, encodeBlockMap, loadBlockMap, saveBlockMap } from './block-map.ts';
import { diskOp, toDiskError } from './disk-error.ts';

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
  durable: BitField;
  freshReason: string | null;
}

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
    return { fh, identity, suppliers: loaded.suppliers, durable: loaded.have, freshReason: null };
  }

  // Start over. The empty sidecar lands first, so no crash can leave an old map
  // pointing into a truncated or different file.
  const durable = new BitField(blocks);
  const suppliers = new SupplierTable(blocks);
  await diskOp('write', mapPath, () => saveBlockMap(mapPath, encodeBlockMap(identity, { have: durable, suppliers })));
  const fh = await diskOp('create', partPath, () => open(partPath, 'w+'));
  try {
    await diskOp('allocate', partPath, () => fh.truncate(identity.size)); // sparse
  } catch (err) {
    await fh.close();
    throw err;
  }
  return { fh, identity, suppliers, durable, freshReason };
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


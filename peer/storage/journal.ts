// The journal `FILE.part.journal`: one small record appended for each block as soon as its
// bytes are written, before any fsync, and one for each block forgotten (about to be
// rewritten). The sidecar is replaced only after a flush has made blocks durable (fdatasync,
// every 500 ms or 64 blocks); before the journal a kill -9 lost every block written since
// the last flush (up to 2 MiB at 4 MiB/s), all fetched again.
//
// A record carries the CRC-32 of the block's bytes, so on resume a block only the journal
// claims is kept only if its bytes on disk still match: after a kill -9 they are in the
// page cache; after a power failure they may not be, and then the block is fetched again.
// A record torn or garbled ends the journal there. The sidecar names its journal (a random
// id in the journal's header): a journal it does not name counts for nothing, so a fresh
// start never reads an old journal, and a journal that fails is let go by saving the
// sidecar without a name.
//
// The file holds, per block, the latest record the saved sidecar does not already say; it
// is rewritten (tmp, rename) once it has grown well past that.

import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open, readFile, rename, stat } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type BitField from 'bitfield';
import { isSupplierName } from './block-map.ts';

const MAGIC = Buffer.from('SLPJ', 'latin1');
const VERSION = 1;
const ID_BYTES = 16;
const HEADER_BYTES = MAGIC.length + 1 + ID_BYTES;
const WRITTEN = 1;
const FORGOTTEN = 2;
// A record: kind u8, block index u32, CRC-32 of the block u32, supplier length u16, the
// supplier in UTF-8, then the CRC-32 of all that, u32. Little-endian.
const FIXED = 1 + 4 + 4 + 2;
const TRAILER = 4;
/** Rewrite the file once it is past this and more than twice what it must hold. */
const COMPACT_AT = 64 * 1024;

/** A journal record: `crc` null means the block was forgotten. */
export interface JournalRecord {
  index: number;
  crc: number | null;
  from: string | null;
}

export function newJournalId(): string {
  return randomBytes(ID_BYTES).toString('hex');
}

export function blockCrc(data: Uint8Array): number {
  return crc32(data);
}

export function encodeRecord(index: number, crc: number | null, from: string | null): Buffer {
  const name = Buffer.from(from ?? '', 'utf8');
  const out = Buffer.alloc(FIXED + name.length + TRAILER);
  out.writeUInt8(crc === null ? FORGOTTEN : WRITTEN, 0);
  out.writeUInt32LE(index, 1);
  out.writeUInt32LE(crc ?? 0, 5);
  out.writeUInt16LE(name.length, 9);
  name.copy(out, FIXED);
  out.writeUInt32LE(crc32(out.subarray(0, FIXED + name.length)), FIXED + name.length);
  return out;
}

function header(id: string): Buffer {
  return Buffer.concat([MAGIC, Buffer.from([VERSION]), Buffer.from(id, 'hex')]);
}

/** The records of the journal `bytes` if it is the one with `id`, in order, up to the first bad one. */
export function parseJournal(bytes: Uint8Array, id: string, blocks: number): JournalRecord[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buf.length < HEADER_BYTES || !buf.subarray(0, HEADER_BYTES).equals(header(id))) return [];
  const out: JournalRecord[] = [];
  for (let pos = HEADER_BYTES; pos + FIXED + TRAILER <= buf.length; ) {
    const kind = buf.readUInt8(pos);
    const index = buf.readUInt32LE(pos + 1);
    const crc = buf.readUInt32LE(pos + 5);
    const end = pos + FIXED + buf.readUInt16LE(pos + 9);
    if (end + TRAILER > buf.length || buf.readUInt32LE(end) !== crc32(buf.subarray(pos, end))) break;
    if ((kind !== WRITTEN && kind !== FORGOTTEN) || index >= blocks) break;
    const from = buf.toString('utf8', pos + FIXED, end);
    if (kind === WRITTEN && !isSupplierName(from)) break;
    out.push(kind === WRITTEN ? { index, crc, from } : { index, crc: null, from: null });
    pos = end + TRAILER;
  }
  return out;
}

/** Reads the journal at `path` if it is the one with `id`; missing, foreign or oversized: no records. */
export async function loadJournal(path: string, id: string, blocks: number): Promise<JournalRecord[]> {
  // Compaction keeps it near COMPACT_AT; this only guards against reading something huge.
  const limit = 4 * COMPACT_AT + blocks * 2 * (FIXED + TRAILER + 3 * 256);
  try {
    const info = await stat(path);
    if (!info.isFile() || info.size > limit) return [];
    return parseJournal(await readFile(path), id, blocks);
  } catch {
    return [];
  }
}

export interface Replayed {
  /** Blocks only the journal claims whose bytes on disk match: written, not known durable. */
  written: { index: number; from: string }[];
  /** Blocks `have` claims that were forgotten since. */
  forgotten: number[];
  /** The records the journal that goes on must keep (those `have` does not already say). */
  live: Map<number, Buffer>;
}

/**
 * Applies journal records to what the sidecar says (`have`, not changed here): the latest
 * record of each block wins. A block written that `have` already claims is that same write
 * (a block the sidecar claims is rewritten only once a sidecar without it is saved); any
 * other is kept only if the CRC of its bytes on disk (`read`) matches.
 */
export async function replayJournal(
  records: JournalRecord[],
  have: BitField,
  read: (index: number) => Promise<Uint8Array>,
): Promise<Replayed> {
  const latest = new Map<number, JournalRecord>();
  for (const record of records) latest.set(record.index, record);
  const out: Replayed = { written: [], forgotten: [], live: new Map() };
  for (const [index, { crc, from }] of latest) {
    if (crc === null || from === null) {
      if (!have.get(index)) continue;
      out.forgotten.push(index);
      out.live.set(index, encodeRecord(index, null, null));
    } else if (!have.get(index) && crc32(await read(index)) === crc) {
      out.written.push({ index, from });
      out.live.set(index, encodeRecord(index, crc, from));
    }
  }
  return out;
}

/** The open journal of a PartFile. Its methods never throw: a failure only ends the journal. */
export class Journal {
  private chain: Promise<void> = Promise.resolve();
  private queue: { index: number; record: Buffer }[] = [];
  private syncQueued = false;
  private draining: Promise<void> | null = null;
  private failed = false;
  private closed = false;

  private constructor(
    private fh: FileHandle | null, // null: never started (see none())
    readonly path: string,
    readonly id: string,
    // Per block, the latest record in the file that the saved sidecar does not already say.
    private readonly live: Map<number, Buffer>,
    private size: number,
  ) {}

  /** Writes the journal `path` afresh (tmp, then rename) holding `live`, and opens it. */
  static async start(path: string, id: string, live: Map<number, Buffer>): Promise<Journal> {
    const { fh, size } = await writeFresh(path, id, live);
    return new Journal(fh, path, id, live, size);
  }

  /**
   * A journal that could not be started (say, resuming on a full disk): it records nothing
   * and the sidecar stops naming it, as after any journal failure. Durability falls back to
   * the sidecar alone; a kill then loses what was written since its last save.
   */
  static none(path: string, id: string): Journal {
    const journal = new Journal(null, path, id, new Map(), 0);
    journal.failed = true;
    return journal;
  }

  /** The id the sidecar should name: null once the journal failed, so its records count for nothing. */
  get sidecarId(): string | null {
    return this.failed ? null : this.id;
  }

  /** Blocks a kill now would keep beyond `claims` (what the saved sidecar says): + written, − forgotten. */
  keptBeyond(claims: BitField): number {
    if (this.failed) return 0;
    let n = 0;
    for (const [index, record] of this.live) n += (record[0] === WRITTEN ? 1 : 0) - (claims.get(index) ? 1 : 0);
    return n;
  }

  /** Block `index` now holds bytes with CRC `crc` from `from`. Resolves once the record is written. */
  written(index: number, crc: number, from: string): Promise<void> {
    return this.append(index, encodeRecord(index, crc, from), false);
  }

  /** Block `index` is about to be rewritten: once this resolves, no record claims its old bytes, even after a power failure. */
  forgotten(index: number): Promise<void> {
    return this.append(index, encodeRecord(index, null, null), true);
  }

  /** The sidecar just saved says `claims`: records that say the same are no longer needed. */
  covered(claims: BitField): void {
    for (const [index, record] of this.live) {
      if ((record[0] === FORGOTTEN) !== claims.get(index)) this.live.delete(index);
    }
  }

  /** Rewrites the file with only the live records, once it has grown well past them. */
  compact(): Promise<void> {
    return this.serial(async () => {
      let needed = HEADER_BYTES;
      for (const record of this.live.values()) needed += record.length;
      if (this.failed || !this.fh || this.size < COMPACT_AT || this.size < 2 * needed) return;
      const { fh, size } = await writeFresh(this.path, this.id, this.live);
      const old = this.fh;
      this.fh = fh;
      this.size = size;
      await old.close().catch(() => undefined);
    });
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      this.closed = true;
      await this.fh?.close();
    });
  }

  // Records queued while a write is running go out together in the next one.
  private append(index: number, record: Buffer, sync: boolean): Promise<void> {
    if (this.failed || this.closed) return Promise.resolve();
    this.queue.push({ index, record });
    this.syncQueued ||= sync;
    this.draining ??= this.serial(async () => {
      this.draining = null;
      const batch = this.queue.splice(0);
      const syncNow = this.syncQueued;
      this.syncQueued = false;
      await writeAll(this.fh as FileHandle, Buffer.concat(batch.map((b) => b.record)), this.size);
      this.size += batch.reduce((n, b) => n + b.record.length, 0);
      if (syncNow) await (this.fh as FileHandle).datasync();
      for (const { index: i, record: r } of batch) this.live.set(i, r);
    });
    return this.draining;
  }

  private serial(work: () => Promise<void>): Promise<void> {
    const run = this.chain.then(async () => {
      if (this.failed || this.closed) return;
      try {
        await work();
      } catch {
        // The records written so far stay true; the PartFile saves its next sidecar without
        // naming this journal (sidecarId), and blocks are recorded by flushes alone.
        this.failed = true;
        this.queue = [];
        this.draining = null;
        await this.fh?.close().catch(() => undefined);
      }
    });
    this.chain = run;
    return run;
  }
}

async function writeFresh(path: string, id: string, live: Map<number, Buffer>): Promise<{ fh: FileHandle; size: number }> {
  const tmp = `${path}.tmp`;
  const content = Buffer.concat([header(id), ...live.values()]);
  const fh = await open(tmp, 'w');
  try {
    await writeAll(fh, content, 0);
    await rename(tmp, path); // the handle follows the file
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
  return { fh, size: content.length };
}

async function writeAll(fh: FileHandle, bytes: Buffer, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

// The download's on-disk state: `FILE.part` (sparse, final size, blocks at their offsets),
// its sidecar `FILE.part.map` and the sidecar's journal `FILE.part.journal`. A block is
// recorded in the sidecar only after its bytes are durable (fdatasync, then an atomic
// sidecar replace), so a power failure loses at most the blocks written since the last
// flush and never claims one that is not on disk. Each block written is also appended to
// the journal at once, with a checksum of its bytes, so a killed process loses only the
// blocks it had not finished writing. The final name appears only by an atomic rename
// after the digest is checked.
//
// This file holds the PartFile's life once open: writes and reads, the flushes that make
// blocks durable, finish and close. Opening (resume or start over) is part-open.ts, the
// journal journal.ts, the final rename and the deletions part-finish.ts, the sidecar's
// format block-map.ts.

import type { FileHandle } from 'node:fs/promises';
import BitField from 'bitfield';
import { SlurpieError } from '../errors.ts';
import type { BlockMapIdentity, SupplierTable } from './block-map.ts';
import { blockCount, encodeBlockMap, isSupplierName, saveBlockMap } from './block-map.ts';
import { diskOp } from './disk-error.ts';
import { blockCrc, type Journal } from './journal.ts';
import { checkExpectedSha256, moveIntoPlace, removePart } from './part-finish.ts';
import { journalPathOf, openPart, type OpenedPart, type PartFileOptions } from './part-open.ts';
import { PrefixHash } from './prefix-hash.ts';

export type { PartFileOptions } from './part-open.ts';

export class PartFile {
  /** Blocks written and readable (a superset of what the sidecar records). Do not mutate. */
  readonly have: BitField;
  readonly blocks: number;
  readonly size: number;
  readonly blockSize: number;
  readonly partPath: string;
  readonly mapPath: string;
  readonly journalPath: string;
  /** Whether the open resumed earlier work; if not, why not (e.g. "the file's validator differs"). */
  readonly resumed: boolean;
  readonly freshReason: string | null;

  private haveTotal = 0;
  // What the sidecar may claim: written before a successful fdatasync.
  private readonly durable: BitField;
  private durableTotal = 0;
  private recordedTotal = 0; // durable blocks the saved sidecar claims
  private savedClaims: BitField; // what the saved sidecar claims
  private savedJournalId: string | null; // the journal the saved sidecar names
  // Written blocks awaiting fdatasync, with the write's sequence number so a block rewritten
  // during a flush is not taken as durable.
  private readonly pending = new Map<number, number>();
  private seq = 0;
  private mapDirty = false;
  private readonly locks = new Map<number, Promise<void>>();
  private readonly inflight = new Set<Promise<unknown>>();
  private flushRunning: Promise<void> = Promise.resolve();
  private flushQueued: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failure: SlurpieError | null = null;
  private closed = false;
  private released = false; // the file handle is closed
  private finishing = false; // no writes while the digest is being taken
  private readonly flushIntervalMs: number;
  private readonly flushBlocks: number;
  private readonly prefix: PrefixHash;
  private readonly fh: FileHandle;
  private readonly identity: BlockMapIdentity;
  private readonly suppliersTable: SupplierTable;
  private readonly journal: Journal;

  private constructor(readonly path: string, opened: OpenedPart, options: PartFileOptions) {
    const { fh, identity, suppliers, durable, written, journal, freshReason } = opened;
    this.fh = fh;
    this.identity = identity;
    this.suppliersTable = suppliers;
    this.journal = journal;
    this.size = identity.size;
    this.blockSize = identity.blockSize;
    this.blocks = blockCount(identity.size, identity.blockSize);
    this.partPath = `${path}.part`;
    this.mapPath = `${path}.part.map`;
    this.journalPath = journalPathOf(path);
    this.durable = durable;
    this.savedClaims = new BitField(new Uint8Array(durable.buffer));
    this.savedJournalId = journal.id;
    this.have = new BitField(new Uint8Array(durable.buffer));
    for (let b = 0; b < this.blocks; b++) if (durable.get(b)) this.durableTotal++;
    this.haveTotal = this.durableTotal;
    this.recordedTotal = this.durableTotal;
    this.resumed = freshReason === null;
    this.freshReason = freshReason;
    this.flushIntervalMs = options.flushIntervalMs ?? 500;
    this.flushBlocks = options.flushBlocks ?? 64;
    // Blocks read back for the hash go through one buffer: hashed before the next is read.
    let scratch: Buffer | undefined;
    this.prefix = new PrefixHash(this.blocks, (i) => this.have.get(i), (i) => this.readBlock(i, (scratch ??= Buffer.allocUnsafe(this.blockSize))));
    // Blocks the journal kept are on disk but perhaps not durable: the next flush syncs and records them.
    for (const { index, from } of written) {
      this.have.set(index, true);
      this.haveTotal++;
      this.suppliersTable.set(index, from);
      this.pending.set(index, ++this.seq);
    }
    if (written.length > 0) this.scheduleFlush();
  }

  /** Opens `path.part`, resuming it if its sidecar matches exactly; otherwise starts over. */
  static async open(options: PartFileOptions): Promise<PartFile> {
    return new PartFile(options.path, await openPart(options), options);
  }

  get haveCount(): number {
    return this.haveTotal;
  }

  /** Blocks the sidecar on disk records (a power failure now would keep exactly these). */
  get durableCount(): number {
    return this.recordedTotal;
  }

  /** Blocks a killed process would keep: the sidecar's, with what the journal adds and takes away. */
  get keptCount(): number {
    return this.recordedTotal + this.journal.keptBeyond(this.savedClaims);
  }

  get complete(): boolean {
    return this.haveTotal === this.blocks;
  }

  blockLength(index: number): number {
    this.checkIndex(index);
    return index < this.blocks - 1 ? this.blockSize : this.size - index * this.blockSize;
  }

  /**
   * Writes one block (exactly blockLength(index) bytes) at its offset. Rewriting a block we
   * have (a repair) first removes it from the sidecar, durably. Writes to different blocks
   * may run concurrently; writes to the same block run one after the other. `release`, if
   * given, is called exactly once, when nothing here refers to `data` any more (its buffer
   * may then be used again): the write failed, or the prefix hash is done with it.
   */
  async writeBlock(index: number, data: Uint8Array, from: 'source' | string, release?: () => void): Promise<void> {
    const owner = { release }; // handed on to the prefix hash once the bytes are on disk
    try {
      this.checkWritable();
      const length = this.blockLength(index);
      if (!(data instanceof Uint8Array) || data.length !== length) {
        throw new RangeError(`block ${index} must be ${length} bytes, got ${data?.length ?? typeof data}`);
      }
      if (!isSupplierName(from)) throw new TypeError(`block ${index}: bad supplier ${JSON.stringify(from)}`);
      const previous = this.locks.get(index) ?? Promise.resolve();
      const write = previous.then(() => this.write(index, data, from, owner));
      const settled = write.catch(() => undefined);
      this.locks.set(index, settled);
      void settled.then(() => {
        if (this.locks.get(index) === settled) this.locks.delete(index);
      });
      return await this.track(write);
    } finally {
      owner.release?.();
    }
  }

  private async write(index: number, data: Uint8Array, from: string, owner: { release: (() => void) | undefined }): Promise<void> {
    this.checkWritable();
    if (this.have.get(index)) await this.forget(index);
    const position = index * this.blockSize;
    // The prefix hash takes the block now, in the order writes are issued (a source's blocks
    // come in order), not the order they finish: concurrent writes finish out of order, and
    // under load the hash fell behind and read most of the file back after the last block
    // (1.3 s of a 256 MiB get). The buffer goes back once both the hash and the disk are done.
    const release = owner.release;
    owner.release = undefined;
    let holders = 2;
    const letGo = (): void => {
      if (--holders === 0) release?.();
    };
    this.prefix.written(index, data, letGo);
    let crc: number;
    try {
      await diskOp('write', this.partPath, async () => {
        let done = 0;
        while (done < data.length) {
          const { bytesWritten } = await this.fh.write(data, done, data.length - done, position + done);
          done += bytesWritten;
        }
      });
      crc = blockCrc(data);
    } catch (err) {
      this.prefix.invalidate(index); // hashed, but its bytes are not on disk
      throw err;
    } finally {
      letGo();
    }
    this.have.set(index, true);
    this.haveTotal++;
    this.suppliersTable.set(index, from);
    this.pending.set(index, ++this.seq);
    this.scheduleFlush();
    // Recorded at once, so a kill from here on keeps the block; the sidecar waits for the flush.
    await this.journal.written(index, crc, from);
  }

  // Takes a block out of `have` and, if the sidecar records it, out of the sidecar durably,
  // before its bytes are overwritten.
  private async forget(index: number): Promise<void> {
    this.prefix.invalidate(index);
    this.have.set(index, false);
    this.haveTotal--;
    this.pending.delete(index);
    await this.journal.forgotten(index); // no journal record may claim the old bytes back
    if (this.durable.get(index)) {
      this.durable.set(index, false);
      this.durableTotal--;
      this.suppliersTable.clear(index);
      this.mapDirty = true;
      await this.flush();
    }
  }

  /** The bytes of a block we have; read into `into` (at least blockSize bytes) if given. */
  async readBlock(index: number, into?: Buffer): Promise<Uint8Array> {
    this.checkUsable();
    const length = this.blockLength(index);
    if (!this.have.get(index)) throw new RangeError(`block ${index} is not on disk`);
    const buffer = into ? into.subarray(0, length) : Buffer.allocUnsafe(length); // filled to the end below, or thrown away
    const position = index * this.blockSize;
    await this.track(
      diskOp('read', this.partPath, async () => {
        let done = 0;
        while (done < length) {
          const { bytesRead } = await this.fh.read(buffer, done, length - done, position + done);
          if (bytesRead === 0) throw Object.assign(new Error('unexpected end of file'), { code: 'EIO' });
          done += bytesRead;
        }
      }),
    );
    return buffer;
  }

  /** Who supplied a block we have: 'source', a peer id, or null when unknown. */
  supplierOf(index: number): string | null {
    this.checkIndex(index);
    return this.have.get(index) ? this.suppliersTable.get(index) : null;
  }

  /** The blocks we have, by supplier ('source', peer ids; null = unknown, treat as suspect). */
  suppliers(): Map<string | null, number[]> {
    return this.suppliersTable.group((b) => this.have.get(b));
  }

  /** Makes every written block durable and records it in the sidecar. */
  flush(): Promise<void> {
    if (this.flushQueued) return this.flushQueued;
    const run = this.flushRunning.then(() => {
      this.flushQueued = null;
      return this.flushNow();
    });
    this.flushQueued = run;
    this.flushRunning = run.catch(() => undefined);
    return run;
  }

  private async flushNow(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.released) return;
    if (this.failure) throw this.failure;
    const batch = [...this.pending];
    const journalId = this.journal.sidecarId; // null once the journal failed: the sidecar lets it go
    if (batch.length === 0 && !this.mapDirty && journalId === this.savedJournalId) return;
    let recording = false; // the blocks are synced; only the sidecar is being written
    try {
      if (batch.length > 0) {
        try {
          await diskOp('sync', this.partPath, () => this.fh.datasync());
        } catch (err) {
          // After a failed fdatasync the kernel may have dropped the dirty pages: these
          // blocks are not trustworthy, so forget them (they will be fetched again).
          for (const [index, seq] of batch) {
            if (this.pending.get(index) !== seq) continue;
            this.pending.delete(index);
            this.have.set(index, false);
            this.haveTotal--;
            this.suppliersTable.clear(index);
          }
          throw err;
        }
        for (const [index, seq] of batch) {
          if (this.pending.get(index) !== seq) continue; // rewritten meanwhile
          this.pending.delete(index);
          this.durable.set(index, true);
          this.durableTotal++;
        }
      }
      this.mapDirty = true;
      const text = encodeBlockMap(this.identity, { have: this.durable, suppliers: this.suppliersTable, journal: journalId });
      const claims = new BitField(new Uint8Array(this.durable.buffer));
      const recorded = this.durableTotal;
      recording = true;
      await diskOp('write', this.mapPath, () => saveBlockMap(this.mapPath, text));
      this.mapDirty = false;
      this.recordedTotal = recorded;
      this.savedClaims = claims;
      this.savedJournalId = journalId;
      this.journal.covered(claims);
      await this.journal.compact();
    } catch (err) {
      const failure = err instanceof SlurpieError ? err : new SlurpieError('DISK', `cannot flush ${this.partPath}`, { cause: err });
      // The blocks are durable and the old sidecar still holds (a full disk, say): nothing is
      // lost, reads go on, and the next flush tries again. A write will fail on its own.
      if (recording) throw failure;
      // Sticky: blocks were dropped, and a background flush has no caller to tell, so the next call does.
      this.failure = failure;
      throw this.failure;
    }
  }

  private scheduleFlush(): void {
    if (this.pending.size >= this.flushBlocks) {
      void this.flush().catch(() => undefined); // kept in this.failure
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush().catch(() => undefined);
      }, this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /**
   * Verifies and puts the file in place: flush, sha256 of the whole .part (streamed),
   * compare with `expectedSha256` if given; on a match fsync, rename to the final path,
   * fsync the directory, delete the sidecar. On a mismatch throws INTEGRITY_FAILED and
   * keeps everything, still open, so bad blocks can be rewritten and finish called again.
   */
  async finish(expectedSha256?: string): Promise<{ sha256: string }> {
    this.checkUsable();
    const expected = checkExpectedSha256(expectedSha256);
    this.finishing = true;
    try {
      return await this.verifyAndRename(expected);
    } finally {
      this.finishing = false;
    }
  }

  private async verifyAndRename(expected: string | undefined): Promise<{ sha256: string }> {
    await this.settle();
    if (this.haveTotal !== this.blocks) {
      throw new Error(`cannot finish ${this.path}: ${this.blocks - this.haveTotal} of ${this.blocks} blocks missing`);
    }
    await this.flush();
    const sha256 = await diskOp('read', this.partPath, () => this.prefix.digest());
    if (expected !== undefined && sha256 !== expected) {
      throw new SlurpieError('INTEGRITY_FAILED', `${this.path}: sha256 is ${sha256}, expected ${expected}; kept ${this.partPath}`);
    }
    await diskOp('sync', this.partPath, () => this.fh.sync());
    await this.shutdown(async () => undefined);
    await moveIntoPlace(this.partPath, this.path, this.mapPath, this.journalPath);
    return { sha256 };
  }

  /** Flushes and closes; `.part` and the sidecar stay for a later resume. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.shutdown(async () => {
      // Even after an earlier failure, try once more: the sidecar replace is atomic, so
      // it can only record blocks that really are durable.
      this.failure = null;
      await this.flush();
    });
  }

  /** Closes and deletes `.part` and its sidecar. */
  async discard(): Promise<void> {
    if (!this.closed) await this.shutdown(() => this.flushRunning);
    await removePart(this.partPath, this.mapPath, this.journalPath);
  }

  // No new work, let running writes end, run `last`, then release the file handle.
  private async shutdown(last: () => Promise<void>): Promise<void> {
    this.closed = true;
    await this.settle();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    try {
      await last();
    } finally {
      this.released = true;
      await this.fh.close().catch(() => undefined);
      await this.journal.close();
    }
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inflight.add(work);
    const done = (): void => {
      this.inflight.delete(work);
    };
    work.then(done, done);
    return work;
  }

  private async settle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  private checkUsable(): void {
    if (this.closed) throw new Error(`${this.partPath} is closed`);
    if (this.failure) throw this.failure;
  }

  private checkWritable(): void {
    this.checkUsable();
    if (this.finishing) throw new Error(`${this.partPath} is being finished`);
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.blocks) {
      throw new RangeError(`block index ${index} out of range (0..${this.blocks - 1})`);
    }
  }
}

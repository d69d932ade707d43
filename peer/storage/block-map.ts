// The sidecar `FILE.part.map`: which blocks of `FILE.part` are durably on disk, for which
// version of which file, and who supplied each (so an integrity failure can blame peers).
// JSON, bitfield in base64 (BitTorrent bit order), suppliers run-length encoded. It is
// only ever replaced atomically, and a sidecar that is not exactly right is ignored. It
// names the journal (journal.ts) whose records extend it; without that name (an older
// sidecar, or a journal that failed) no journal is read.

import { open, readFile, rename, stat } from 'node:fs/promises';
import BitField from 'bitfield';

export const BLOCK_MAP_VERSION = 1;

/** What a .part file is a part of; any difference means different bytes. */
export interface BlockMapIdentity {
  url: string;
  size: number;
  blockSize: number;
  /** Strong ETag, else Last-Modified; null when the source gave neither. */
  validator: string | null;
  swarmId: string;
}

/** Keeps memory per block at two bytes and the sidecar bounded however many peers. */
export const MAX_SUPPLIERS = 0xffff;
const MAX_SUPPLIER_LENGTH = 256;

export function blockCount(size: number, blockSize: number): number {
  return Math.ceil(size / blockSize);
}

export function isSupplierName(from: unknown): from is string {
  return typeof from === 'string' && from.length > 0 && from.length <= MAX_SUPPLIER_LENGTH;
}

/** Who supplied each block: 'source' or a peer id; null when unknown. */
export class SupplierTable {
  private readonly index: Uint16Array; // 0 = unknown, else names[i - 1]
  private readonly names: string[] = [];
  private readonly byName = new Map<string, number>();

  constructor(readonly blocks: number) {
    this.index = new Uint16Array(blocks);
  }

  set(block: number, from: string): void {
    let i = this.byName.get(from);
    if (i === undefined) {
      // Past the cap the block stays unknown: an integrity check then treats it as suspect.
      if (this.names.length >= MAX_SUPPLIERS) i = 0;
      else {
        this.names.push(from);
        i = this.names.length;
        this.byName.set(from, i);
      }
    }
    this.index[block] = i;
  }

  clear(block: number): void {
    this.index[block] = 0;
  }

  get(block: number): string | null {
    const i = this.index[block] ?? 0;
    return i === 0 ? null : (this.names[i - 1] ?? null);
  }

  /** Blocks by supplier, for the blocks where `include` says so; unknown ones under null. */
  group(include: (block: number) => boolean): Map<string | null, number[]> {
    const out = new Map<string | null, number[]>();
    for (let b = 0; b < this.blocks; b++) {
      if (!include(b)) continue;
      const name = this.get(b);
      const list = out.get(name);
      if (list) list.push(b);
      else out.set(name, [b]);
    }
    return out;
  }

  /** Runs of (length, supplier index) over all blocks, as LEB128 varints in base64. */
  encode(have: BitField): { suppliers: string[]; from: string } {
    const bytes: number[] = [];
    let run = 0;
    let current = -1;
    for (let b = 0; b < this.blocks; b++) {
      const i = have.get(b) ? (this.index[b] ?? 0) : 0;
      if (i !== current) {
        if (run > 0) pushRun(bytes, run, current);
        current = i;
        run = 0;
      }
      run++;
    }
    if (run > 0) pushRun(bytes, run, current);
    return { suppliers: [...this.names], from: Buffer.from(bytes).toString('base64') };
  }

  /** The inverse of encode; null unless the runs cover exactly the blocks we have. */
  static decode(blocks: number, have: BitField, suppliers: unknown, from: unknown): SupplierTable | null {
    if (!Array.isArray(suppliers) || suppliers.length > MAX_SUPPLIERS) return null;
    if (typeof from !== 'string') return null;
    const table = new SupplierTable(blocks);
    for (const name of suppliers) {
      if (!isSupplierName(name) || table.byName.has(name)) return null;
      table.names.push(name);
      table.byName.set(name, table.names.length);
    }
    const bytes = decodeBase64(from);
    if (!bytes) return null;
    let pos = 0;
    let block = 0;
    const next = (): number | null => {
      let value = 0;
      for (let shift = 0; shift < 35; shift += 7) {
        const byte = bytes[pos++];
        if (byte === undefined) return null;
        value += (byte & 0x7f) * 2 ** shift;
        if ((byte & 0x80) === 0) return value;
      }
      return null;
    };
    while (pos < bytes.length) {
      const run = next();
      const i = next();
      if (run === null || i === null || run === 0 || i > table.names.length || block + run > blocks) return null;
      for (let end = block + run; block < end; block++) {
        if (i !== 0 && !have.get(block)) return null;
        table.index[block] = i;
      }
    }
    return block === blocks ? table : null;
  }
}

function pushRun(bytes: number[], run: number, index: number): void {
  pushVarint(bytes, run);
  pushVarint(bytes, index);
}

function pushVarint(bytes: number[], value: number): void {
  while (value >= 0x80) {
    bytes.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  bytes.push(value);
}

/** Strict base64: only the canonical encoding is accepted (Buffer.from is lenient). */
function decodeBase64(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

export interface BlockMapContents {
  /** Blocks durably on disk. */
  have: BitField;
  suppliers: SupplierTable;
  /** The id of the journal that extends this map (journal.ts); null or absent: none. */
  journal?: string | null;
}

const JOURNAL_ID = /^[0-9a-f]{32}$/;

export function encodeBlockMap(identity: BlockMapIdentity, contents: BlockMapContents): string {
  const { suppliers, from } = contents.suppliers.encode(contents.have);
  return JSON.stringify({
    version: BLOCK_MAP_VERSION,
    url: identity.url,
    size: identity.size,
    blockSize: identity.blockSize,
    validator: identity.validator,
    swarmId: identity.swarmId,
    have: Buffer.from(contents.have.buffer).toString('base64'),
    suppliers,
    from,
    journal: contents.journal ?? null,
  });
}

export type DecodedBlockMap = ({ ok: true; journal: string | null } & BlockMapContents) | { ok: false; reason: string };

/** Parses a sidecar and checks every field against the identity we expect. */
export function decodeBlockMap(text: string, expected: BlockMapIdentity): DecodedBlockMap {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'sidecar is not valid JSON' };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { ok: false, reason: 'sidecar is not an object' };
  }
  const map = doc as Record<string, unknown>;
  if (map['version'] !== BLOCK_MAP_VERSION) return { ok: false, reason: 'sidecar has an unknown version' };
  for (const field of ['url', 'size', 'blockSize', 'validator', 'swarmId'] as const) {
    if (map[field] !== expected[field]) return { ok: false, reason: `the file's ${field} differs from the sidecar's` };
  }
  const blocks = blockCount(expected.size, expected.blockSize);
  const haveBytes = typeof map['have'] === 'string' ? decodeBase64(map['have']) : null;
  if (!haveBytes || haveBytes.length !== Math.ceil(blocks / 8)) {
    return { ok: false, reason: 'sidecar bitfield is malformed' };
  }
  // Bits past the last block must be clear, or the count of blocks we have is wrong.
  const spare = haveBytes.length * 8 - blocks;
  if (spare > 0 && ((haveBytes[haveBytes.length - 1] ?? 0) & ((1 << spare) - 1)) !== 0) {
    return { ok: false, reason: 'sidecar bitfield marks blocks past the end' };
  }
  const have = new BitField(new Uint8Array(haveBytes));
  const suppliers = SupplierTable.decode(blocks, have, map['suppliers'], map['from']);
  if (!suppliers) return { ok: false, reason: 'sidecar supplier list is malformed' };
  // Absent in sidecars written before the journal: then there is none to read.
  const journal = map['journal'] ?? null;
  if (journal !== null && (typeof journal !== 'string' || !JOURNAL_ID.test(journal))) {
    return { ok: false, reason: 'sidecar journal id is malformed' };
  }
  return { ok: true, have, suppliers, journal };
}

/** Reads and decodes a sidecar; a missing, oversized or unreadable one is a reason, not an error. */
export async function loadBlockMap(path: string, expected: BlockMapIdentity): Promise<DecodedBlockMap> {
  const blocks = blockCount(expected.size, expected.blockSize);
  // Generous: base64 bitfield + up to ~7 bytes of runs per block + the supplier names.
  const limit = 64 * 1024 + blocks * 12 + MAX_SUPPLIERS * (MAX_SUPPLIER_LENGTH + 8);
  try {
    const info = await stat(path);
    if (!info.isFile()) return { ok: false, reason: 'sidecar is not a file' };
    if (info.size > limit) return { ok: false, reason: 'sidecar is too large' };
    return decodeBlockMap(await readFile(path, 'utf8'), expected);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? 'no sidecar' : `sidecar unreadable (${code ?? 'error'})` };
  }
}

/** Replaces the sidecar atomically: write `PATH.tmp`, fsync, rename over PATH. */
export async function saveBlockMap(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

// Download state on disk: the .part file, its block-map sidecar and journal, and verification.

export { PartFile } from './part-file.ts';
export { keptBlocks } from './part-open.ts';
export { toDiskError } from './disk-error.ts';
export type { PartFileOptions } from './part-file.ts';
export { BLOCK_MAP_VERSION, SupplierTable, blockCount, decodeBlockMap, encodeBlockMap, loadBlockMap, saveBlockMap } from './block-map.ts';
export type { BlockMapIdentity, BlockMapContents, DecodedBlockMap } from './block-map.ts';
export { parseSha256, sha256File } from './verify.ts';

// The library: embed a peer, a topology server or a test source without spawning the CLI.
export { download, type DownloadOptions, type DownloadStats, type Integrity, type Progress } from './peer/node/download.ts';
export type { MessageCounts } from './peer/node/message-counts.ts';
export { seed, type SeedOptions, type SeedReady, type SeedStats } from './peer/node/seed.ts';
export { SlurpieError, EXIT_CODES, type ErrorCode } from './peer/errors.ts';
export { SharedLimits } from './peer/node/rate-limits.ts';
export { startTopologyServer } from './topology-server/server.ts';
export { startSourceServer } from './experiments/source/range-server.ts';
export { PeerCore, type PeerConfig, type PeerStats } from './peer/core/peer.ts';
export type { PeerEvent, PeerAction } from './peer/core/events.ts';
export { DEFAULT_PARAMS, type PeerParams } from './peer/core/params.ts';

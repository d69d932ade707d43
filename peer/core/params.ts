// Protocol parameters, with the names and starting defaults of PROTOCOL.md §4.
import { BandwidthController, DEFAULT_BANDWIDTH_PARAMS } from '../../estimation/bandwidth.ts';

/** Where n for k/n comes from (PROTOCOL.md §8; estimation/swarm-size.ts says why). */
export type GroupSizeMode = 'topology' | 'mean-hops' | 'paper';
export const GROUP_SIZE_MODES: readonly GroupSizeMode[] = ['topology', 'mean-hops', 'paper'];

/** What a starving peer may fetch from the source (source-policy.ts says why). */
export type LastBlockRule = 'wait' | 'view';
export const LAST_BLOCK_RULES: readonly LastBlockRule[] = ['wait', 'view'];

export interface PeerParams {
  blockSize: number; // bytes per block
  beta: number; // peers the topology server returns
  eta: number; // mesh neighbors to open (η)
  U: number; // origins cached in the update tree
  reconnectPeriodMs: number; // drop a random neighbor and dial another this often
  roundMs: number; // one source decision per round
  k: number; // go to the source with probability min(1, k/n)
  backoff: boolean; // false: go to the source every round (ablation)
  maxHops: number; // updates are not forwarded past this distance
  updateIntervalMs: number; // flood period at start (the bandwidth controller tunes it)
  heartbeatMs: number; // re-announce our own state at least this often, so entries stay fresh
  staleMs: number; // forget origins not heard of for this long
  dataConnections: number; // peers to download from at once, at start (the controller tunes it)
  maxDataConnections: number;
  pipeline: number; // requests outstanding per data connection
  requestTimeoutMs: number; // a request unanswered this long goes elsewhere
  maxStrikes: number; // timeouts / false claims before a peer is dropped
  penaltyMs: number; // a peer dropped for that is not dialled or accepted again for this long
  maxServePerConn: number; // requests a peer may have queued with us
  uploadBacklogMs: number; // requests past this many ms of our uplink's measured rate are refused busy (upload-backlog.ts)
  maxConnections: number; // all connections, in and out
  maxNeighbors: number; // mesh degree cap (inbound neighbors beyond it are data-only)
  maxSourceRun: number; // blocks in one Range GET
  sourceLeaseRounds: number; // a won draw holds the source this many rounds (drawn with probability k / (n L))
  // Blocks in a peer's first Range GET, before it has seen its share of the source (later
  // runs are sized to that share; a study switch: source-policy.ts)
  sourceFirstRun: number;
  // Range GETs a lease holder keeps going: 1, one at a time; 2, the next asked for while the
  // last block of the current one is still to come (source-policy.ts; a study switch, not yet
  // a gain on the testbed or in the simulator: docs/peer-cost.md, "The source's link")
  sourceRunsInFlight: number;
  handoverMs: number; // a finished peer stays until no one has asked it for a block this long
  idleLinkMs: number; // a data-only link with no request or block either way for this long is closed
  digestEveryMs: number; // DIGESTS (the blocks we vouch for) go to a connection at most this often
  dataUpdateMs: number; // our own entry goes to a data-only link at most this often (neighbors: every flood)
  knownSpreadMs: number; // news of blocks known to exist goes to the neighbors this soon after it arrives
  forwardEveryMs: number; // others' entries go to a neighbor at most this often (our own: every flood)
  // Mean lateness of our own timers (ms) that says the process waits for a core: the flood
  // period and the two cadences above are stretched, up to maxLoadStretch times
  // (estimation/host-load.ts). 0: never (the paper's form, for ablation)
  busyLagMs: number;
  maxLoadStretch: number;
  knownFanout: number; // news of known blocks goes at once to this many neighbors (the rest: next flood)
  maxHandoverMs: number; // ...but no longer than this after finishing (handover.ts: why 30 s, not the 10 s before)
  maxSourceFailures: number; // failed Range GETs in a row before the download gives up
  needPeersEveryMs: number; // ask the topology server again at most this often
  endgameAfterMs: number; // in the endgame, a request outstanding this long is also asked of another holder
  updateEntryRate: number; // UPDATE entries/s one connection may send (honest: <= 10 (U+1)); more is a flood
  maxOriginsTracked: number; // distinct origins remembered for stats and the estimator (memory bound)
  groupSize: GroupSizeMode; // topology: the server's count, gossiped; mean-hops and paper: from the mesh (ablations)
  sizeMaxAgeMs: number; // a swarm-size observation older than this is not used
  // wait: blocks someone in the swarm has or is fetching come from the source only once we have
  // known of them for a while without seeing a holder; view: any block no one in our view has
  // (the paper's last-block rule, for ablation)
  lastBlock: LastBlockRule;
  // 0: blocks are chosen uniformly at random (the paper's rule). W > 0 (streaming: `get -o -`,
  // the proxy): among the W lowest-numbered candidates, from peers and from the source alike,
  // so the file's prefix fills first and can be sent on in order; W keeps some spread so
  // peers that choose at the same instant rarely choose the same block.
  inOrderWindow: number;
}

export const DEFAULT_PARAMS: PeerParams = {
  blockSize: 256 * 1024,
  beta: 10,
  eta: 4,
  U: 32,
  reconnectPeriodMs: 30_000,
  roundMs: 1000,
  k: 3,
  backoff: true,
  maxHops: 16,
  updateIntervalMs: 500,
  heartbeatMs: 2000,
  staleMs: 10_000,
  dataConnections: 4,
  maxDataConnections: 12,
  pipeline: 4,
  requestTimeoutMs: 10_000,
  maxStrikes: 3,
  penaltyMs: 60_000,
  maxServePerConn: 16,
  uploadBacklogMs: 2000,
  maxConnections: 48,
  maxNeighbors: 12,
  maxSourceRun: 64,
  sourceLeaseRounds: 4,
  sourceFirstRun: 1,
  sourceRunsInFlight: 1,
  handoverMs: 2000,
  idleLinkMs: 10_000,
  digestEveryMs: 1000,
  dataUpdateMs: 1000,
  knownSpreadMs: 0,
  forwardEveryMs: 2000,
  busyLagMs: 20,
  maxLoadStretch: 4,
  knownFanout: 64,
  maxHandoverMs: 30_000,
  maxSourceFailures: 5,
  needPeersEveryMs: 5000,
  endgameAfterMs: 2000,
  updateEntryRate: 1000,
  maxOriginsTracked: 256,
  groupSize: 'topology',
  sizeMaxAgeMs: 45_000,
  lastBlock: 'wait',
  inOrderWindow: 0,
};

export function resolveParams(overrides: Partial<PeerParams> = {}): PeerParams {
  const params = { ...DEFAULT_PARAMS, ...overrides };
  for (const [key, value] of Object.entries(params)) {
    if (typeof value === 'number' && !(Number.isFinite(value) && value >= 0)) {
      throw new Error(`parameter ${key} must be a non-negative number, got ${value}`);
    }
  }
  if (!GROUP_SIZE_MODES.includes(params.groupSize)) throw new Error(`parameter groupSize must be one of ${GROUP_SIZE_MODES.join(', ')}, got ${String(params.groupSize)}`);
  if (!LAST_BLOCK_RULES.includes(params.lastBlock)) throw new Error(`parameter lastBlock must be one of ${LAST_BLOCK_RULES.join(', ')}, got ${String(params.lastBlock)}`);
  if (!(params.sourceLeaseRounds >= 1)) throw new Error('parameter sourceLeaseRounds must be at least 1');
  if (!(Number.isInteger(params.sourceFirstRun) && params.sourceFirstRun >= 1)) throw new Error('parameter sourceFirstRun must be a whole number of blocks, at least 1');
  if (params.sourceRunsInFlight !== 1 && params.sourceRunsInFlight !== 2) throw new Error('parameter sourceRunsInFlight must be 1 or 2');
  if (!(params.maxLoadStretch >= 1)) throw new Error('parameter maxLoadStretch must be at least 1');
  if (params.blockSize < 1) throw new Error('parameter blockSize must be at least 1');
  if (params.U > 255) throw new Error('parameter U must be at most 255 (origins are named by one byte on the wire)');
  if (params.U < params.eta) throw new Error('parameter U must be at least eta (U > η in the paper)');
  return params;
}

/**
 * The most mesh neighbors an honest peer can have, hence the largest degree its entry can
 * report: inbound neighbor links are granted only below `maxNeighbors`, and on top of those
 * it dials up to the bandwidth controller's ceiling on η. A larger claim is a lie that
 * would inflate the mesh estimate of n (group-size.ts).
 */
export function maxDegree(params: PeerParams): number {
  return Math.min(params.maxConnections, params.maxNeighbors + DEFAULT_BANDWIDTH_PARAMS.maxNeighbors);
}

/** The three-state bandwidth controller (PROTOCOL.md §7) starting from these parameters. */
export function bandwidthControllerFor(params: PeerParams, now: number): BandwidthController {
  return new BandwidthController(
    {
      initialDataConnections: params.dataConnections,
      maxDataConnections: params.maxDataConnections,
      initialUpdateIntervalMs: params.updateIntervalMs,
      initialNeighbors: params.eta,
      windowMs: 2 * params.roundMs,
    },
    now,
  );
}

/** Set by flags of their own (a block size is the whole swarm's; k and the backoff are the source rule's). */
export const PARAMS_WITH_FLAGS: Readonly<Partial<Record<keyof PeerParams, string>>> = { blockSize: '--block-size', k: '--source-k', backoff: '--backoff' };

/** The parameters an override may name (`--param`, a scenario's `params`). */
export const OVERRIDABLE_PARAMS = (Object.keys(DEFAULT_PARAMS) as (keyof PeerParams)[]).filter((name) => !(name in PARAMS_WITH_FLAGS));

/**
 * Checks overrides of the protocol's parameters for a study or an ablation: each name one of
 * OVERRIDABLE_PARAMS, each value of its default's type (a whole number unless the name ends in
 * Ms), and the whole set acceptable to resolveParams. Throws an Error of one line.
 */
export function checkParamOverrides(overrides: Readonly<Record<string, unknown>>): Partial<PeerParams> {
  for (const [name, value] of Object.entries(overrides)) {
    if (!(OVERRIDABLE_PARAMS as string[]).includes(name)) {
      const own = PARAMS_WITH_FLAGS[name as keyof PeerParams];
      throw new Error(own ? `parameter ${name} has a flag of its own: ${own}` : `no protocol parameter ${JSON.stringify(name)} (known: ${OVERRIDABLE_PARAMS.join(', ')})`);
    }
    const standard = DEFAULT_PARAMS[name as keyof PeerParams];
    if (typeof standard === 'number' && !(typeof value === 'number' && (name.endsWith('Ms') || Number.isInteger(value)))) {
      throw new Error(`parameter ${name} must be ${name.endsWith('Ms') ? 'a number of milliseconds' : 'a whole number'}, got ${JSON.stringify(value)}`);
    }
    if (typeof standard === 'string' && typeof value !== 'string') throw new Error(`parameter ${name} must be a word such as ${standard}, got ${JSON.stringify(value)}`);
  }
  resolveParams(overrides as Partial<PeerParams>); // ranges, choices and the rules between parameters
  return { ...overrides } as Partial<PeerParams>;
}

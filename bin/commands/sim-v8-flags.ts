// `slurpie sim` runs in a Node process sized for it. The simulator keeps every peer's state
// live at once (about 100 KiB a peer mid-download: experiments/sim/memory-per-peer.ts) and
// allocates garbage with every event, a few hundred thousand events a second, so V8's
// defaults fit it badly: with a 16 MiB young generation whatever lives a few thousand
// events (a message queued on a link, a pending tick, a request in flight) is promoted and
// dies in the old generation, and the default heap limit (about 4 GiB here) is about what
// 10^4 peers need, so the collector runs back to back near the limit. How long "a few
// thousand events" lasts in virtual time shrinks as the swarm grows, so the young generation
// grows with it (semiSpaceMib).
//
// So the sim command starts itself again with these flags, unless the user gave any of
// them (NODE_OPTIONS or node's own arguments) or said SLURPIE_SIM_V8=0. The child is the
// same command line; signals to the parent go to it, and its exit status is the parent's.
import { spawn } from 'node:child_process';
import { constants, totalmem } from 'node:os';

/** Young generation: each semi-space up to this many MiB (V8's default is 16 on 64-bit)... */
export const MIN_SEMI_SPACE_MIB = 64;
/** ...and never more than this, however large the swarm. */
export const MAX_SEMI_SPACE_MIB = 1024;
/** The old generation may use this share of the machine's memory. */
export const OLD_SPACE_SHARE = 0.75;
/** Set in the child: the flags are in place, do not start again. */
export const CHILD_ENV = 'SLURPIE_SIM_V8';

const OWN_FLAGS = ['--max-semi-space-size', '--max-old-space-size', '--max-heap-size'];

/**
 * The V8 flags to start the simulator with, or [] when it should run as it is: the user
 * set a heap flag already (in node's arguments or NODE_OPTIONS), or `SLURPIE_SIM_V8` is set
 * (0: the user opted out; 1: we are the child).
 */
export function simV8Flags(execArgv: readonly string[], env: NodeJS.ProcessEnv, totalBytes: number, peers: number): string[] {
  if (env[CHILD_ENV] !== undefined) return [];
  // node takes --max_old_space_size as well as --max-old-space-size.
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].map((a) => a.replace(/_/g, '-'));
  if (given.some((a) => OWN_FLAGS.some((f) => a === f || a.startsWith(`${f}=`)))) return [];
  const oldSpaceMib = Math.max(1024, Math.floor((OLD_SPACE_SHARE * totalBytes) / 2 ** 20));
  return [`--max-semi-space-size=${semiSpaceMib(peers)}`, `--max-old-space-size=${oldSpaceMib}`];
}

/**
 * Semi-space size for a swarm of `peers`: a power of two near peers / 4 MiB, within
 * [MIN_SEMI_SPACE_MIB, MAX_SEMI_SPACE_MIB]. Measured side by side at 1,000 peers: 256 MiB
 * took 13% less CPU than 64 (34 against 40 CPU-s), half the scavenges and half their time.
 */
export function semiSpaceMib(peers: number): number {
  const near = 2 ** Math.round(Math.log2(Math.max(1, peers) / 4));
  return Math.min(MAX_SEMI_SPACE_MIB, Math.max(MIN_SEMI_SPACE_MIB, near));
}

/**
 * Runs this very command line again in a child node with `flags` and resolves with its
 * exit code (signals sent to us are passed on; a child killed by one gives 128 + its number).
 */
export function rerunWith(flags: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...flags, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, forward);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

/** The flags for this process (see simV8Flags). */
export function wantedV8Flags(peers: number): string[] {
  return simV8Flags(process.execArgv, process.env, totalmem(), peers);
}

/**
 * In the child: a check that ends the process once its parent is gone (killed with SIGKILL,
 * say, which cannot be passed on), so no simulation runs on unowned. The simulation never
 * yields to the event loop, so it is called from the run itself, once a virtual second.
 */
export function orphanCheck(env: NodeJS.ProcessEnv = process.env): () => void {
  if (env[CHILD_ENV] !== '1') return () => {};
  const parent = process.ppid;
  return () => {
    if (process.ppid !== parent) process.exit(1);
  };
}

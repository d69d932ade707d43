// Imported first by bin/cli.ts, before anything else loads: process-wide settings for a peer
// (get, seed, proxy; issue #12: 48 peers on two cores, at most 100 MiB each). Servers and the
// other commands keep the defaults.
// - V8's young generation stays at its starting 1 MiB. Left to grow, it reaches 16 MiB a
//   half during start-up and stays: 16-20 MiB of a peer's resident memory (heapTotal 34-37
//   MiB in a swarm, 22-25 with this), where a peer allocates too little JavaScript to gain.
// - WebAssembly stays on Liftoff, V8's baseline compiler. undici parses HTTP with llhttp
//   compiled to wasm; once its one big parse function was warm, V8 recompiled it with TurboFan
//   on a worker thread: ~36 MiB of compiler memory for a moment, in that thread's malloc arena,
//   which kept some of it. A 1 MiB `get` peaked at 96 MiB resident, 63 without it (VmHWM;
//   npm run bench:peer-memory -- 2 1 4). The parser only reads headers and finds where each
//   body chunk ends: the swarm's CPU per MiB did not move.
// - Not --optimize-for-size: 4 peers sharing 256 MiB peaked at 86 MiB with it, 93 without, but
//   it cost 5-10% more CPU per MiB (npm run bench:peer-cost -- 256 [--peers 4 --rate 64]), and
//   48 peers on 2 cores (lan-48) are bound by CPU, not memory.
// - TurboFan only for what is really hot: a function is optimized after 8 times V8's default
//   interrupt budget (67,584 bytecode-size units). A 256 MiB `get` alone had 110 functions
//   compiled by TurboFan, 29-34 with this; CPU per MiB moved, in one sitting (npm run
//   bench:peer-cost -- 128 --peers 12 --rate 16, and -- 256): 7.5-7.9 -> 6.0-7.5, alone
//   4.3 -> 3.9. --no-opt (no TurboFan) gained about as much, but leaves the hottest loops
//   (the core's bitfield scans) interpreted, however large the file.
// - Young-generation collections paced by the bytes received (peer/node/gc-pacer.ts).
// - ws does without its native helper (bufferutil, when installed): peers mask with zeros,
//   which ws skips, so it would only be loaded (a dlopen and its loader, ~10 ms of CPU).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setCollector } from '../peer/node/gc-pacer.ts';

if (['get', 'seed', 'proxy'].includes(process.argv[2] ?? '')) {
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--liftoff-only');
  setFlagsFromString('--interrupt-budget=540672');
  // gc() is there in contexts made once the flag is set. The context is made at the first
  // collection, not here: a new context costs ~7 ms of start-up CPU.
  let gc: ((options: { type: 'minor' }) => void) | undefined;
  setFlagsFromString('--expose-gc');
  setCollector(() => {
    gc ??= runInNewContext('gc') as (options: { type: 'minor' }) => void;
    gc({ type: 'minor' });
  });
  process.env.WS_NO_BUFFER_UTIL ??= '1';
}

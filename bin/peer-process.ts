// Imported first by bin/cli.ts, before anything else loads: process-wide settings for a peer
// (get, seed, proxy; issue #12: 48 peers on two cores, at most 100 MiB each). Servers and the
// other commands keep the defaults.
// - V8's young generation stays at its starting 1 MiB. Left to grow, it reaches 16 MiB a
//   half during start-up and stays: 16-20 MiB of a peer's resident memory (heapTotal 34-37
//   MiB in a swarm, 22-25 with this), where a peer allocates too little JavaScript to gain.
// - ws does without its native helper (bufferutil, when installed): peers mask with zeros,
//   which ws skips, so it would only be loaded (a dlopen and its loader, ~10 ms of CPU).
import { setFlagsFromString } from 'node:v8';

if (['get', 'seed', 'proxy'].includes(process.argv[2] ?? '')) {
  setFlagsFromString('--semi-space-growth-factor=1');
  process.env.WS_NO_BUFFER_UTIL ??= '1';
}

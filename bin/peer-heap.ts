// Imported first by bin/cli.ts, before anything else loads: a peer (get, seed, proxy) keeps
// V8's young generation at its starting 1 MiB. Left to grow, it reaches 16 MiB a half during
// start-up and stays: about 16-20 MiB of a peer's resident memory (heapTotal 34-37 MiB in a
// swarm, 18-20 MiB without), where a peer allocates too little JavaScript to gain from it
// (issue #12: at most 100 MiB per peer). Servers and the other commands keep V8's default.
import { setFlagsFromString } from 'node:v8';

if (['get', 'seed', 'proxy'].includes(process.argv[2] ?? '')) setFlagsFromString('--semi-space-growth-factor=1');

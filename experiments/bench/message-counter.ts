// Preload for `npm run bench:message-cost` (node --import tsx --import THIS): counts what one
// `slurpie get` process handles, for the simulator's CPU model (experiments/sim/cpu-model.ts):
// WebSocket messages it sends and receives (ws's send and 'message' events) and its core's
// ticks (the peer node's tick timer firing), and writes them as JSON to
// $SLURPIE_MESSAGE_COUNTS/<pid>.json when the process exits.
// It patches the ws module the sources import, so it needs the TypeScript run through tsx
// (SLURPIE_NO_BUILD=1): the dev bundle carries a ws of its own that this cannot reach.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';

const counts = { sent: 0, received: 0, ticks: 0 };
const dir = process.env.SLURPIE_MESSAGE_COUNTS;

const send = WebSocket.prototype.send as (this: WebSocket, ...args: unknown[]) => void;
WebSocket.prototype.send = function (this: WebSocket, ...args: unknown[]) {
  counts.sent++;
  send.apply(this, args);
} as WebSocket['send'];
const emit = WebSocket.prototype.emit;
WebSocket.prototype.emit = function (this: WebSocket, event: string | symbol, ...args: unknown[]) {
  if (event === 'message') counts.received++;
  return emit.call(this, event, ...args);
};

// The peer node's tick: setTimeout(() => this.dispatch({ type: 'tick' }), ...) in peer-node.ts.
// Counted when it fires (a timer cleared before firing costs the core nothing).
const TICK_TIMER = /dispatch\(\s*\{\s*type:\s*["']tick["']/;
const realSetTimeout = globalThis.setTimeout;
const countingSetTimeout = (fn: unknown, ms?: number, ...rest: unknown[]) => {
  if (typeof fn === 'function' && TICK_TIMER.test(fn.toString())) {
    const tick = fn as (...a: unknown[]) => void;
    return realSetTimeout((...a: unknown[]) => {
      counts.ticks++;
      tick(...a);
    }, ms, ...rest);
  }
  return realSetTimeout(fn as (...a: unknown[]) => void, ms, ...rest);
};
globalThis.setTimeout = Object.assign(countingSetTimeout, { __promisify__: realSetTimeout.__promisify__ }) as unknown as typeof setTimeout;

process.on('exit', () => {
  if (dir) writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify(counts) + '\n');
});

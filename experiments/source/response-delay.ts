// EXPERIMENT-ONLY latency emulation on the origin (the namespace testbed has no netem): with
// `SLURPIE_EXPERIMENT_SOURCE_DELAYS="10.77.0.4=70,10.77.0.5=120"` in its environment,
// `slurpie serve` starts answering a request from 10.77.0.4 70 ms after it arrived, so the first
// byte of every response (a Range GET's included) comes a round trip later, as it would over a
// link with that RTT. Clients not listed (the runner reading /_stats) wait nothing. Only the
// request/response round trip is emulated: not TCP's handshake, window growth, loss or jitter.

import { parseDelaysByIp } from '../../peer/node/experiment-delay.ts';

export const SOURCE_DELAYS_ENV = 'SLURPIE_EXPERIMENT_SOURCE_DELAYS';

export type ResponseDelay = (remoteAddress: string | undefined) => number;

/** The "ip=ms,ip=ms" list as a lookup; throws on a malformed entry. */
export function parseSourceDelays(text: string): ResponseDelay {
  const byIp = parseDelaysByIp(text, SOURCE_DELAYS_ENV, 20_000);
  return (addr) => (addr === undefined ? 0 : (byIp.get(addr.replace(/^::ffff:/, '')) ?? 0));
}

/** The delay from the environment, or undefined when unset (no delay, the normal case). */
export function sourceDelaysFromEnv(env: NodeJS.ProcessEnv = process.env): ResponseDelay | undefined {
  const text = env[SOURCE_DELAYS_ENV];
  return text === undefined || text.trim() === '' ? undefined : parseSourceDelays(text);
}

/** The env value for a testbed: each client's round trip to the source, ms. */
export function formatSourceDelays(rttByIp: Map<string, number>): string {
  return [...rttByIp].filter(([, ms]) => ms > 0).map(([ip, ms]) => `${ip}=${ms}`).join(',');
}

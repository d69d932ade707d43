// A peer's HTTP requests when the environment names a proxy (issue #13; http-client.ts
// chooses, and sends the rest on Node's own client): the source client and the topology
// client both send through undici's EnvHttpProxyAgent, which pools connections per origin
// itself and honours HTTP_PROXY, HTTPS_PROXY and NO_PROXY (either case) as curl does. Plain
// http:// URLs go to the proxy as absolute-form requests (curl's way), https:// through a
// CONNECT tunnel. Peer-to-peer WebSocket links never use a proxy. `slurpie proxy` sends what
// it passes through here too, proxy or not.
//
// One agent per connect timeout and proxy environment: a test or a library user that
// changes the environment between downloads gets an agent that reads the new one.
//
// Only the agent and the request API are loaded, not undici's index: that loads all of
// undici (fetch, WebSocket, cookies, caches, mocks) and, through its cookies module, Node's
// own bundled undici as well, a good part of a peer's start-up CPU (issue #12). undici has
// no exports map, so its lib/ files can be named; the API goes onto Dispatcher.prototype as
// undici's index puts it there.
// The published build (tsconfig.build.json) follows imports only: this brings the declarations.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./undici-parts.d.ts" />
import type { Dispatcher } from 'undici';
import EnvHttpProxyAgent from 'undici/lib/dispatcher/env-http-proxy-agent.js';
import DispatcherClass from 'undici/lib/dispatcher/dispatcher.js';
import api from 'undici/lib/api/index.js';
import { PROXY_NAMING } from './http-client.ts';
import { DEFAULT_CONNECT_TIMEOUT_MS } from './http-direct.ts';

Object.assign(DispatcherClass.prototype, api);

// The variables an agent was made for: a changed environment gets a new one.
const PROXY_VARIABLES = [...PROXY_NAMING, 'no_proxy', 'NO_PROXY'] as const;

const agents = new Map<string, EnvHttpProxyAgent>();

export function httpDispatcher(connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): Dispatcher {
  const key = JSON.stringify([connectTimeoutMs, ...PROXY_VARIABLES.map((name) => process.env[name] ?? null)]);
  let agent = agents.get(key);
  if (agent === undefined) {
    // Body timeouts are the callers' (the source's idle watchdog pauses while its caller is busy).
    agent = new EnvHttpProxyAgent({ keepAliveTimeout: 10_000, connectTimeout: connectTimeoutMs, bodyTimeout: 0, proxyTunnel: false });
    agents.set(key, agent);
  }
  return agent;
}

/** Closes every connection of every agent; requests still running fail. */
export async function closeHttpDispatchers(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map((agent) => agent.destroy().catch(() => {})));
}

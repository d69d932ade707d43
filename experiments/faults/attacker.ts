// What the topology rows' attacker uses (issue #15): HTTP requests to the topology server
// from a chosen loopback address (another "machine": 127.0.0.2), and a TCP listener that
// counts who dials it (to see whether the swarm was pointed at a victim or at a hijacked id).
// Everything stays on 127.0.0.0/8.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { SeededRng } from '../../estimation/random.ts';

export interface Reply {
  status: number;
  retryAfter: string | undefined;
  error: string | undefined;
  json: unknown;
}

export interface Attacker {
  /** One request to `base` + `path`; the body goes as JSON. */
  send(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<Reply>;
  close(): Promise<void>;
}

export function attackerFrom(localAddress: string, base: string, connections = 16): Attacker {
  if (!localAddress.startsWith('127.')) throw new Error(`the attacker stays on loopback, not ${localAddress}`);
  // The Client's own localAddress: undici 7 ignores `connect: { localAddress }` (its connector
  // spreads the per-connection localAddress, undefined, over it).
  const dispatcher = new Agent({ localAddress, connections });
  return {
    async send(method, path, body) {
      const res = await request(new URL(path, base), {
        method,
        dispatcher,
        ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
      const text = await res.body.text();
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      const error = (json as { error?: unknown } | undefined)?.error;
      const retryAfter = res.headers['retry-after'];
      return { status: res.statusCode, retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined, error: typeof error === 'string' ? error : undefined, json };
    },
    close: () => dispatcher.close(),
  };
}

export interface Listener {
  port: number;
  /** Connections accepted so far. */
  dialled(): number;
  close(): Promise<void>;
}

/** A TCP listener on `host` (port 0: any free one) that counts and drops every connection. */
export async function countingListener(host: string, port = 0): Promise<Listener> {
  if (!host.startsWith('127.')) throw new Error(`listeners stay on loopback, not ${host}`);
  let dialled = 0;
  const server = createServer((socket) => {
    dialled++;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    dialled: () => dialled,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Counts of each outcome, e.g. "200", "429 rate", "429 ids", "409". */
export function tally(counts: Map<string, number>, reply: Reply): void {
  const kind = reply.status === 429 ? `429 ${/too many registrations/.test(reply.error ?? '') ? 'rate' : 'ids'}` : String(reply.status);
  counts.set(kind, (counts.get(kind) ?? 0) + 1);
}

export function showTally(counts: Map<string, number>): string {
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${n}x${k}`).join(', ');
}

/** Peer ids (32 hex characters) drawn from `seed`: a row's requests are the same on every run. */
export function idsFrom(seed: number): () => string {
  const rng = new SeededRng(seed >>> 0);
  return () => Array.from({ length: 4 }, () => ((rng.next() * 2 ** 32) >>> 0).toString(16).padStart(8, '0')).join('');
}

// Starts the topology server on a socket: the registry, the express app, a periodic
// sweep of expired state, the live dashboard (GET /), and a graceful close.

import { createServer, STATUS_CODES } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createTopologyApp } from './app.ts';
import { fastRegistrations } from './fast-register.ts';
import { Dashboard } from './dashboard.ts';
import { TopologyMetrics } from './metrics.ts';
import { DEFAULT_QUOTA_RATE, RateLimiter } from './rate-limit.ts';
import { Registry } from './registry.ts';
import type { RegistryOptions } from './registry.ts';
import type { MetricsSource } from './metrics.ts';
import type { TopologyRegistry } from './store.ts';

/** A registry the server can serve: the routes' seam, the metrics' snapshot and the periodic sweep. */
export type ServedRegistry = TopologyRegistry & MetricsSource & { sweep(): void | Promise<void> };

export interface TopologyServerOptions extends RegistryOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** How often expired registrations are swept; default ttl / 2, at most 60 s. */
  sweepIntervalMs?: number;
  /** How long close() lets in-flight requests finish before cutting connections. */
  closeGraceMs?: number;
  /**
   * Starts the periodic sweep and returns what stops it; default an unref'd setInterval.
   * Injectable so a test runs the sweeps itself instead of waiting for them.
   */
  sweepTimer?: (sweep: () => void, everyMs: number) => () => void;
  log?: (line: string) => void;
  /** Believe the registration's `host` field (behind a proxy that sets it); default false. */
  trustHostField?: boolean;
  /** When set, registering and deleting need `Authorization: Bearer <token>`. */
  token?: string;
  /** Registrations per second per address; default DEFAULT_QUOTA_RATE, 0: no limit. */
  quotaRate?: number;
  /** Quotas (quotaIds, quotaRate) also for loopback callers; default false (local demos and tests). */
  quotaLoopback?: boolean;
  /** How many of the largest swarms get per-swarm series in GET /metrics; default METRICS_TOP_SWARMS (100). */
  metricsTopSwarms?: number;
}

export interface TopologyServer<R extends ServedRegistry = Registry> {
  url: string;
  port: number;
  registry: R;
  /** This server's own metrics (GET /metrics). */
  metrics: TopologyMetrics;
  /** What GET /, /api/swarms and /events show. */
  dashboard: Dashboard;
  close(): Promise<void>;
}

/**
 * With `registry` (e.g. a RedisRegistry: redis-registry.ts), serves that one, which the caller
 * made and closes; otherwise an in-memory Registry made from the options.
 */
export async function startTopologyServer(options?: TopologyServerOptions): Promise<TopologyServer>;
export async function startTopologyServer<R extends ServedRegistry>(options: TopologyServerOptions & { registry: R }): Promise<TopologyServer<R>>;
export async function startTopologyServer(options: TopologyServerOptions & { registry?: ServedRegistry } = {}): Promise<TopologyServer<ServedRegistry>> {
  const host = options.host ?? '127.0.0.1';
  const registry = options.registry ?? new Registry(options);
  const log = options.log ?? (() => {});
  const rateLimit = new RateLimiter({ perSecond: options.quotaRate ?? DEFAULT_QUOTA_RATE, now: options.now ?? (() => performance.now()) });
  const metrics = new TopologyMetrics(registry, options.metricsTopSwarms);
  const dashboard = new Dashboard(registry);
  const appOptions = {
    metrics,
    dashboard,
    ...(options.log && { log: options.log }),
    ...(options.token !== undefined && { token: options.token }),
    trustHostField: options.trustHostField ?? false,
    quotaLoopback: options.quotaLoopback ?? false,
    rateLimit,
  };
  const app = createTopologyApp(registry, appOptions);
  // Plain registrations skip express (fast-register.ts); everything else goes through it.
  const fast = fastRegistrations(registry, appOptions);
  const server = createServer((req, res) => {
    if (!fast(req, res)) app(req, res);
  });
  // A slow client must not hold a socket forever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;

  // Requests too broken to reach express (bad request line, huge headers) still get JSON.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    metrics.refused(status);
    const body = JSON.stringify({ error: status === 431 ? 'request headers too large' : status === 408 ? 'request timed out' : 'malformed HTTP request' });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 7070, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  const sweepMs = options.sweepIntervalMs ?? Math.min(60_000, Math.max(100, (registry.ttl * 1000) / 2));
  const stopSweeping = (options.sweepTimer ?? realSweepTimer)(() => {
    rateLimit.sweep();
    // A shared store's sweep may fail (Redis away): said once per sweep, tried again next time.
    void Promise.resolve(registry.sweep()).catch((err: unknown) => log(`topology server: sweep failed: ${(err as Error).message}`));
  }, sweepMs);

  // Tracked so close() can cut whatever is still open after the grace period.
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  // Answers still being written when close() starts go out with "Connection: close",
  // so their keep-alive sockets end with them instead of waiting for the grace period.
  const inFlight = new Set<ServerResponse>();
  server.on('request', (_req, res: ServerResponse) => {
    if (closing) res.shouldKeepAlive = false;
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      stopSweeping();
      dashboard.close(); // event streams never end by themselves
      for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
      // Stops accepting; Node 19+ also closes idle keep-alive sockets here.
      server.close(() => resolve());
      server.closeIdleConnections();
      const cut = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, options.closeGraceMs ?? 5_000);
      cut.unref();
    });
    return closing;
  };

  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${urlHost}:${port}`, port, registry, metrics, dashboard, close };
}

function realSweepTimer(sweep: () => void, everyMs: number): () => void {
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

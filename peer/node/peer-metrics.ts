// `slurpie get --metrics-port N` (issue #14): one peer's counters in the Prometheus text
// format at GET /metrics, for as long as it downloads and lingers.
//
// Pulled, not pushed: every series is read from the core's stats at scrape time (collect()),
// so nothing is added to the download's hot path and an unscraped peer pays nothing. Its own
// prom-client Registry, not the global one, so several peers in one process (tests, the
// library) never collide. Listens on 127.0.0.1 unless told otherwise: the numbers say what
// a machine is downloading, which is not for everyone to read.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { SlurpieError } from '../errors.ts';

/** What a scrape reads (PeerCore.stats has all of it). */
export interface PeerCounters {
  fromSource: number;
  fromPeers: number;
  uploaded: number;
  blocksHave: number;
  blocks: number;
  connections: number;
  groupSizeNow: number;
  loadStretch: number;
}

export interface PeerMetricsServer {
  url: string; // http://HOST:PORT/metrics
  close(): Promise<void>;
}

export function peerMetricsRegistry(read: () => PeerCounters): Registry {
  const registry = new Registry();
  const registers = [registry];
  new Counter({
    name: 'slurpie_peer_bytes_total',
    help: 'Bytes this peer moved: fetched from the source, received from peers, or uploaded to peers.',
    labelNames: ['direction'] as const, registers,
    collect() {
      const s = read();
      this.reset(); // counted by the core; a Counter can only be set by reset and inc
      this.inc({ direction: 'source' }, s.fromSource);
      this.inc({ direction: 'peers' }, s.fromPeers);
      this.inc({ direction: 'uploaded' }, s.uploaded);
    },
  });
  const gauge = (name: string, help: string, value: (s: PeerCounters) => number): void => {
    new Gauge({
      name, help, registers,
      collect() {
        this.set(value(read()));
      },
    });
  };
  gauge('slurpie_peer_blocks_have', 'Blocks of the file this peer holds.', (s) => s.blocksHave);
  gauge('slurpie_peer_blocks', 'Blocks in the file.', (s) => s.blocks);
  gauge('slurpie_peer_connections', 'Open connections to other peers.', (s) => s.connections);
  gauge('slurpie_peer_group_size_estimate', "This peer's current estimate of how many peers are in the swarm.", (s) => s.groupSizeNow);
  gauge('slurpie_peer_load_stretch', 'How many times slower this peer sends its periodic updates because its process waits for the CPU (1: not busy).', (s) => s.loadStretch);
  return registry;
}

/** Serves GET /metrics on host:port (0: any free port) until close(). */
export async function servePeerMetrics(host: string, port: number, read: () => PeerCounters): Promise<PeerMetricsServer> {
  const registry = peerMetricsRegistry(read);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: this server answers GET /metrics only\n');
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end(`method ${req.method} not allowed\n`);
    } else {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new SlurpieError('BAD_INPUT', `cannot serve metrics on ${host}:${port}: ${err.code ?? err.message}`)));
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${bound}/metrics`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

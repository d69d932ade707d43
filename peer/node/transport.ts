// WebSocket connections between peers: numbers them, turns frames into core events via
// peer/wire, and sends the core's messages. Holds no protocol decisions.
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { AddressInfo } from 'node:net';
import type { ConnId } from '../core/events.ts';
import type { Message, PeerId } from '../core/messages.ts';
import { decode, encode } from '../wire/codec.ts';
import { DelayQueue, experimentDelays, holdMs, type LinkDelays } from './experiment-delay.ts';
import type { WireErrorCode } from '../wire/errors.ts';
import { BLOCK_HEADER_BYTES, limitsFor, type WireLimits } from '../wire/limits.ts';
import { BlockPool } from './block-pool.ts';
import { Deliveries } from './delivery.ts';
import { MessageCounter } from './message-counts.ts';

export interface TransportHandlers {
  opened(conn: ConnId, outbound: boolean, peerId?: PeerId): void;
  connectFailed(peerId: PeerId, reason: string): void;
  message(conn: ConnId, msg: Message): void;
  /** A frame peer/wire refused; code is stable (peer/wire/errors.ts), detail is for a person. */
  malformed(conn: ConnId, code: WireErrorCode, detail: string): void;
  closed(conn: ConnId, reason: string): void;
}

const CONNECT_TIMEOUT_MS = 5000;

export class Transport {
  private readonly sockets = new Map<ConnId, WebSocket>();
  private nextId = 1;
  private server: WebSocketServer | null = null;
  private readonly limits: WireLimits;
  private handlers: TransportHandlers | null = null;
  // Experiment-only latency (experiment-delay.ts): null unless SLURPIE_EXPERIMENT_DELAY_MS is set.
  // Received messages wait in one queue per distinct hold, in order per connection.
  private readonly delays: LinkDelays | null;
  private readonly inboxes = new Map<number, DelayQueue>();
  private reading = true;
  // BLOCK frames are framed into buffers used again once ws has handed them to the socket:
  // a new one per block served was garbage for the collector and the malloc arena (issue #12).
  private readonly frames: BlockPool;
  // Per connection: BLOCKs sent and not yet acknowledged by a pong (delivery.ts).
  private readonly deliveries = new Map<ConnId, Deliveries>();
  private expiry: NodeJS.Timeout | null = null;
  /** Messages handed to an open socket and messages decoded, by type (message-counts.ts). */
  readonly messages = new MessageCounter();

  /** `delays`: experiment-only latency; a number is this host's half for every link (tests). */
  constructor(file: { size: number; blockSize: number }, delays: LinkDelays | number | null = experimentDelays()) {
    this.limits = limitsFor(file.size, file.blockSize);
    this.delays = typeof delays === 'number' ? (delays > 0 ? { ownMs: delays, byIp: new Map() } : null) : delays;
    this.frames = new BlockPool(file.blockSize + BLOCK_HEADER_BYTES);
  }

  /** Who hears about connections; until then, peers that connect are turned away. */
  bind(handlers: TransportHandlers): void {
    this.handlers = handlers;
  }

  /** Starts accepting peers; resolves to the port actually bound. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = new WebSocketServer({ host, port, maxPayload: this.limits.maxFrameBytes, perMessageDeflate: false });
      server.once('error', reject);
      server.once('listening', () => {
        server.off('error', reject);
        server.on('error', () => {}); // per-connection errors arrive on the sockets
        resolve((server.address() as AddressInfo).port);
      });
      server.on('connection', (ws, req) => {
        const handlers = this.handlers;
        if (!handlers) return ws.close(1013, 'not ready');
        const conn = this.nextId++;
        this.attach(conn, ws, handlers, req.socket.remoteAddress);
        handlers.opened(conn, false);
      });
      this.server = server;
    });
  }

  connect(peerId: PeerId, host: string, port: number): void {
    const handlers = this.handlers;
    if (!handlers) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(`ws://${host.includes(':') ? `[${host}]` : host}:${port}/`, {
        maxPayload: this.limits.maxFrameBytes,
        perMessageDeflate: false,
        handshakeTimeout: CONNECT_TIMEOUT_MS,
        // Masking guards browser-facing proxies, not peers; an all-zero mask makes ws skip
        // the XOR over every byte on both ends (it was ~10% of a peer's CPU).
        generateMask: (mask: Buffer) => mask.fill(0),
      });
    } catch (err) {
      // An address a peer gave us that is not even a URL: report it like any failed dial,
      // but not from inside the core's own dispatch.
      queueMicrotask(() => handlers.connectFailed(peerId, (err as Error).message));
      return;
    }
    let opened = false;
    ws.once('open', () => {
      opened = true;
      const conn = this.nextId++;
      this.attach(conn, ws, handlers, host);
      handlers.opened(conn, true, peerId);
    });
    let failed = false;
    const fail = (reason: string): void => {
      if (opened || failed) return;
      failed = true;
      handlers.connectFailed(peerId, reason);
    };
    ws.once('error', (err) => fail(err.message));
    ws.once('close', () => fail('closed before open'));
  }

  /**
   * `sent`: the frame is with the socket (or failed). `delivered` (a BLOCK): the peer has read
   * it (delivery.ts); never called if the connection closes first.
   */
  send(conn: ConnId, msg: Message, sent?: (err?: Error) => void, delivered?: () => void): void {
    const ws = this.sockets.get(conn);
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      sent?.(new Error('connection closed'));
      return;
    }
    this.messages.sent(msg);
    if (msg.type !== 'BLOCK') return ws.send(encode(msg), { binary: true }, sent);
    const buffer = this.frames.take(this.frames.blockSize);
    ws.send(encode(msg, buffer), { binary: true }, (err) => {
      this.frames.give(buffer);
      sent?.(err);
    });
    if (delivered) this.deliveriesOf(conn, ws).track(performance.now(), delivered);
  }

  private deliveriesOf(conn: ConnId, ws: WebSocket): Deliveries {
    let d = this.deliveries.get(conn);
    if (!d) this.deliveries.set(conn, (d = new Deliveries(ws)));
    this.expiry ??= setInterval(() => {
      const now = performance.now();
      for (const each of this.deliveries.values()) each.expire(now);
    }, 5000).unref();
    return d;
  }

  /**
   * Stops or restarts reading from every peer (and every peer that connects meanwhile).
   * While the disk is behind, blocks are left in the kernel's socket buffers and TCP slows
   * the senders, instead of piling up in memory here (issue #12).
   */
  setReading(on: boolean): void {
    if (on === this.reading) return;
    this.reading = on;
    for (const ws of this.sockets.values()) {
      if (on) ws.resume();
      else ws.pause();
    }
  }

  close(conn: ConnId, reason: string): void {
    const ws = this.sockets.get(conn);
    if (!ws) return;
    this.sockets.delete(conn);
    shut(ws, reason);
  }

  async stop(): Promise<void> {
    for (const inbox of this.inboxes.values()) inbox.clear();
    if (this.expiry) clearInterval(this.expiry);
    this.expiry = null;
    for (const d of this.deliveries.values()) d.drop();
    this.deliveries.clear();
    for (const [conn, ws] of [...this.sockets]) {
      this.sockets.delete(conn);
      shut(ws, 'shutting down');
    }
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private attach(conn: ConnId, ws: WebSocket, handlers: TransportHandlers, remoteIp: string | undefined): void {
    this.sockets.set(conn, ws);
    if (!this.reading) ws.pause();
    const inbox = this.inboxFor(remoteIp);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (inbox) inbox.push(() => this.received(conn, handlers, data, isBinary));
      else this.received(conn, handlers, data, isBinary);
    });
    ws.on('error', () => {}); // followed by 'close'
    ws.once('close', (code, reason) => {
      this.deliveries.get(conn)?.drop();
      this.deliveries.delete(conn);
      const closed = (): void => {
        if (this.sockets.delete(conn)) handlers.closed(conn, reason.toString() || `code ${code}`);
      };
      // Behind the messages that arrived before it, so none is dropped as "after close".
      if (inbox) inbox.push(closed);
      else closed();
    });
  }

  /** The queue that holds messages from this address (experiments only), or null. */
  private inboxFor(remoteIp: string | undefined): DelayQueue | null {
    if (!this.delays) return null;
    const ms = holdMs(this.delays, remoteIp);
    if (ms <= 0) return null;
    let inbox = this.inboxes.get(ms);
    if (!inbox) this.inboxes.set(ms, (inbox = new DelayQueue(ms)));
    return inbox;
  }

  private received(conn: ConnId, handlers: TransportHandlers, data: RawData, isBinary: boolean): void {
    if (!this.sockets.has(conn)) return;
    if (!isBinary) return handlers.malformed(conn, 'TEXT_FRAME', 'a text WebSocket message');
    const frame = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    const result = decode(frame, this.limits);
    if (result.ok) {
      this.messages.received(result.msg);
      handlers.message(conn, result.msg);
    } else handlers.malformed(conn, result.code, result.detail);
  }
}

function shut(ws: WebSocket, reason: string): void {
  try {
    ws.close(1000, Buffer.from(reason).subarray(0, 120).toString());
  } catch {
    ws.terminate();
  }
  // A peer that never answers the close handshake is cut off.
  setTimeout(() => ws.terminate(), 2000).unref();
}

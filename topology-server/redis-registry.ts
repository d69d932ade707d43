// The topology registry kept in Redis (`slurpie topology --store redis://HOST:PORT[/DB]`):
// the same answers, bindings, quotas and caps as Registry (registry.ts), but the state lives
// in one Redis, so any number of stateless topology servers behind a load balancer answer
// as one. Each operation is one Lua script (redis-scripts.ts), atomic in Redis, so two
// servers registering the same id at once cannot both win, and a quota cannot be overrun.
//
// What stays per server: the registration rate limit (rate-limit.ts, a token bucket per
// address and server) and the count of registrations behind slurpie_registrations_total
// (a Prometheus counter belongs to the process that exposes it).
//
// Client: node-redis (@redis/client), the one Redis itself maintains. It reconnects after
// a lost connection; a request made while Redis is away fails (500) instead of queueing.

import { createHash } from 'node:crypto';
import { createClient } from '@redis/client';
import type { AnswerMode, RegistrySnapshot, SwarmSummary } from './registry.ts';
import { REGISTRY_DEFAULTS } from './registry.ts';
import { COUNT, DEREGISTER, LIST, REGISTER, SUMMARY } from './redis-scripts.ts';
import { Refused } from './store.ts';
import type { Caller, Progress, Registrant, SwarmFile, TopologyRegistry } from './store.ts';

export interface RedisRegistryOptions {
  beta?: number;
  /** Seconds a registration lives unless renewed. */
  ttl?: number;
  maxPerSwarm?: number;
  maxSwarms?: number;
  quotaIds?: number;
  answer?: AnswerMode;
  answerPerAddress?: number;
  /** Milliseconds, for tests; default Redis's own clock (TIME), which every server shares. */
  now?: () => number;
  /** Uniform in [0, 1): seeds the random draws of 'mixed' answers. */
  random?: () => number;
  /** Prefix of every key (several registries on one Redis database). */
  keyPrefix?: string;
  /** Swarms a metrics scrape looks at: the most recently registered-to ones. */
  metricsScan?: number;
}

/** Swarms a scrape summarises at most: a scrape stays a bounded amount of work for Redis. */
export const METRICS_SCAN = 1000;

/** What this registry uses of a node-redis client. */
interface Client {
  readonly isOpen: boolean;
  sendCommand<T = unknown>(args: string[]): Promise<T>;
  close(): Promise<void>;
}
type Reply = (string | number)[];

interface Entry {
  h: string;
  p: number;
  a: string;
  g: string;
  l: 0 | 1;
  r?: [number, number, number, number, number, 0 | 1];
}

/** The options every call passes to the scripts, defaults filled in. */
type Settings = Required<Pick<RedisRegistryOptions, 'beta' | 'maxPerSwarm' | 'maxSwarms' | 'quotaIds' | 'answer' | 'answerPerAddress' | 'keyPrefix' | 'metricsScan'>>;

export class RedisRegistry implements TopologyRegistry {
  readonly ttl: number;
  private readonly settings: Settings;
  private readonly now: (() => number) | undefined;
  private readonly random: () => number;
  private readonly shas = new Map<string, string>();
  private registered = 0;

  private constructor(private readonly client: Client, options: RedisRegistryOptions) {
    this.ttl = options.ttl ?? REGISTRY_DEFAULTS.ttl;
    const s: Settings = {
      beta: options.beta ?? REGISTRY_DEFAULTS.beta,
      maxPerSwarm: options.maxPerSwarm ?? REGISTRY_DEFAULTS.maxPerSwarm,
      maxSwarms: options.maxSwarms ?? REGISTRY_DEFAULTS.maxSwarms,
      quotaIds: options.quotaIds ?? REGISTRY_DEFAULTS.quotaIds,
      answer: options.answer ?? 'newest',
      answerPerAddress: options.answerPerAddress ?? REGISTRY_DEFAULTS.answerPerAddress,
      keyPrefix: options.keyPrefix ?? 'slurpie:topology:',
      metricsScan: options.metricsScan ?? METRICS_SCAN,
    };
    this.settings = s;
    this.now = options.now;
    this.random = options.random ?? Math.random;
    for (const name of ['beta', 'maxPerSwarm', 'maxSwarms', 'metricsScan'] as const) {
      if (!Number.isSafeInteger(s[name]) || s[name] < 1) throw new RangeError(`${name} must be a positive integer, got ${s[name]}`);
    }
    for (const name of ['quotaIds', 'answerPerAddress'] as const) {
      if (!Number.isSafeInteger(s[name]) || s[name] < 0) throw new RangeError(`${name} must be a whole number (0: no limit), got ${s[name]}`);
    }
    if (!Number.isFinite(this.ttl) || this.ttl <= 0) throw new RangeError(`ttl must be a positive number of seconds, got ${this.ttl}`);
    if (s.answer !== 'newest' && s.answer !== 'mixed') throw new RangeError(`answer must be newest or mixed, got ${String(s.answer)}`);
  }

  /**
   * Connects to `url` (redis://HOST:PORT[/DB]) and loads the scripts. Rejects with the
   * socket's error (code ECONNREFUSED, ...) when Redis cannot be reached: no retrying at start.
   */
  static async connect(url: string, options: RedisRegistryOptions = {}): Promise<RedisRegistry> {
    let connected = false;
    const client = createClient({
      url,
      socket: {
        connectTimeout: 5_000,
        // At start, the first failure is the answer; later, keep trying (Redis restarting).
        reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(100 * 2 ** retries, 2_000) : cause),
      },
      disableOfflineQueue: true,
    });
    client.on('error', () => {}); // a lost connection is retried; requests meanwhile fail on their own
    await client.connect();
    connected = true;
    const registry = new RedisRegistry(client, options);
    try {
      await registry.ping();
    } catch (err) {
      await registry.close();
      throw err;
    }
    return registry;
  }

  async register(swarmId: string, peer: Registrant, caller?: Caller, progress?: Progress, file?: SwarmFile): Promise<Registrant[]> {
    const owner = caller ?? { address: '', group: '', limited: false };
    const entry: Entry = { h: peer.host, p: peer.port, a: owner.address, g: owner.group, l: caller?.limited ? 1 : 0 };
    if (progress) entry.r = [progress.fromSource, progress.fromPeers, progress.uploaded, progress.blocksHave, progress.blocks, progress.done ? 1 : 0];
    const limited = caller === undefined ? '' : caller.limited ? '1' : '0';
    const s = this.settings;
    const reply = (await this.run(REGISTER, swarmId, [
      swarmId, peer.id, JSON.stringify(entry), owner.address, owner.group, limited, this.ttlUs(), s.beta, s.answer,
      s.quotaIds, s.answerPerAddress, s.maxPerSwarm, s.maxSwarms, s.keyPrefix, this.nowUs(), Math.floor(this.random() * 2 ** 31),
    ])) as Reply;
    if (reply[0] === 409) {
      throw new Refused(409, `id ${peer.id} is registered from another address; it stays bound to that address until it expires (ttl ${this.ttl} s) or is deleted from there`);
    }
    if (reply[0] === 429) {
      throw new Refused(429, `your address already holds ${s.quotaIds} live ids in this swarm (the server's quota); retry when one expires or is deleted`, Math.ceil(this.ttl));
    }
    this.registered++;
    // What the swarm is (for the dashboard only): fields given replace the old ones; it lives as long as the swarm's keys.
    const fields = [...(file?.name !== undefined ? ['name', file.name] : []), ...(file?.size !== undefined ? ['size', String(file.size)] : [])];
    if (fields.length > 0) {
      const key = this.key(`s:${swarmId}:file`);
      // Sent together (node-redis pipelines commands of one tick): one round trip, on every
      // registration that names the file, which peers do each time.
      await Promise.all([this.client.sendCommand(['HSET', key, ...fields]), this.client.sendCommand(['EXPIRE', key, String(Math.ceil(this.ttl) + 1)])]);
    }
    return registrants(reply.slice(2));
  }

  async deregister(swarmId: string, id: string, caller?: Caller): Promise<void> {
    const reply = await this.run(DEREGISTER, swarmId, [swarmId, id, caller?.address ?? '', caller ? '1' : '', this.ttlUs(), this.nowUs()]);
    if (reply === 403) throw new Refused(403, `id ${id} was registered from another address; only that address may delete it`);
  }

  async count(swarmId: string): Promise<number> {
    return (await this.run(COUNT, swarmId, [swarmId, this.ttlUs(), this.nowUs()])) as number;
  }

  /** Live registrants, newest first (for inspection and tests). */
  async list(swarmId: string, limit = this.settings.maxPerSwarm): Promise<Registrant[]> {
    return registrants((await this.run(LIST, swarmId, [this.ttlUs(), this.nowUs(), limit])) as Reply);
  }

  /** The live registrant's last progress report (undefined if it sent none, or is not live). */
  async progressOf(swarmId: string, id: string): Promise<Progress | undefined> {
    const reply = (await this.run(LIST, swarmId, [this.ttlUs(), this.nowUs(), this.settings.maxPerSwarm])) as Reply;
    const at = reply.findIndex((v, i) => i % 2 === 0 && v === id);
    const r = at < 0 ? undefined : (JSON.parse(String(reply[at + 1])) as Entry).r;
    return r && { fromSource: r[0], fromPeers: r[1], uploaded: r[2], blocksHave: r[3], blocks: r[4], done: r[5] === 1 };
  }

  /**
   * For GET /metrics: the `metricsScan` most recently registered-to swarms, each summarised
   * by one read-only script; the peers by state are counted over those swarms only.
   */
  async snapshot(top: number): Promise<RegistrySnapshot> {
    const liveAfter = this.nowUs() === '' ? await this.redisTimeUs() - this.ttl * 1e6 : Number(this.nowUs()) - this.ttl * 1e6;
    const index = this.key('swarms');
    const swarmIds = await this.client.sendCommand<string[]>(['ZREVRANGEBYSCORE', index, '+inf', `(${liveAfter}`, 'LIMIT', '0', String(this.settings.metricsScan)]);
    const active = await this.client.sendCommand<number>(['ZCOUNT', index, `(${liveAfter}`, '+inf']);
    const summaries = await Promise.all(swarmIds.map((id) => this.run(SUMMARY, id, [this.ttlUs(), this.nowUs()]) as Promise<number[]>));
    const peers = { downloading: 0, done: 0, unknown: 0 };
    const all: SwarmSummary[] = [];
    summaries.forEach(([n = 0, downloading = 0, done = 0, unknown = 0, fromSource = 0, fromPeers = 0, uploaded = 0], i) => {
      Object.assign(peers, { downloading: peers.downloading + downloading, done: peers.done + done, unknown: peers.unknown + unknown });
      if (n > 0) all.push({ swarmId: swarmIds[i]!, peers: n, downloading, done, fromSource, fromPeers, uploaded });
    });
    all.sort((a, b) => b.peers - a.peers || (a.swarmId < b.swarmId ? -1 : 1));
    const largest = all.slice(0, Math.max(0, top));
    await Promise.all(largest.map(async (summary) => {
      const file = await this.fileOf(summary.swarmId);
      if (file) summary.file = file;
    }));
    return { swarms: all.length + Math.max(0, active - swarmIds.length), peers, registrations: this.registered, largest };
  }

  /** What the swarm was last said to be (name, size), if anyone said. */
  async fileOf(swarmId: string): Promise<SwarmFile | undefined> {
    const [name, sizeText] = await this.client.sendCommand<(string | null)[]>(['HMGET', this.key(`s:${swarmId}:file`), 'name', 'size']);
    if (typeof name !== 'string' && typeof sizeText !== 'string') return undefined;
    const size = typeof sizeText === 'string' ? Number(sizeText) : NaN;
    return { ...(typeof name === 'string' && { name }), ...(Number.isSafeInteger(size) && { size }) };
  }

  /** Forgets swarms idle for a ttl from the index (their keys expire in Redis on their own). */
  async sweep(): Promise<void> {
    const liveAfter = this.nowUs() === '' ? await this.redisTimeUs() - this.ttl * 1e6 : Number(this.nowUs()) - this.ttl * 1e6;
    await this.client.sendCommand(['ZREMRANGEBYSCORE', this.key('swarms'), '-inf', String(liveAfter)]);
  }

  async ping(): Promise<void> {
    await this.client.sendCommand(['PING']);
  }

  async close(): Promise<void> {
    if (this.client.isOpen) await this.client.close();
  }

  private key(name: string): string {
    return `${this.settings.keyPrefix}${name}`;
  }

  private ttlUs(): string {
    return String(Math.round(this.ttl * 1e6));
  }

  private nowUs(): string {
    return this.now ? String(Math.round(this.now() * 1000)) : '';
  }

  private async redisTimeUs(): Promise<number> {
    const [s, us] = await this.client.sendCommand<string[]>(['TIME']);
    return Number(s) * 1e6 + Number(us);
  }

  /** Runs a script on the swarm's keys by its SHA, loading it first when Redis does not know it (first use, a restart). */
  private async run(script: string, swarmId: string, args: (string | number)[]): Promise<unknown> {
    const swarm = (name: string): string => this.key(`s:${swarmId}:${name}`);
    const keys = [this.key('swarms'), swarm('z'), swarm('peers'), swarm('groups')];
    let sha = this.shas.get(script);
    if (sha === undefined) {
      sha = createHash('sha1').update(script).digest('hex');
      this.shas.set(script, sha);
    }
    const command = [sha, String(keys.length), ...keys, ...args.map(String)];
    try {
      return await this.client.sendCommand(['EVALSHA', ...command]);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return await this.client.sendCommand(['EVAL', script, ...command.slice(1)]);
    }
  }
}

/** {id1, entry1, id2, entry2, ...} from a script, as registrants. */
function registrants(pairs: Reply): Registrant[] {
  const out: Registrant[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const e = JSON.parse(String(pairs[i + 1])) as Entry;
    out.push({ id: String(pairs[i]), host: e.h, port: e.p });
  }
  return out;
}

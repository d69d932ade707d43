// `slurpie topology`: run the topology server (PROTOCOL.md §3) until SIGINT/SIGTERM.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { DEFAULT_QUOTA_RATE } from '../../topology-server/rate-limit.ts';
import { REGISTRY_DEFAULTS } from '../../topology-server/registry.ts';
import type { RedisRegistry } from '../../topology-server/redis-registry.ts';
import { tokenFromFile } from '../token.ts';
import { cliLogger, logFormatOption, type LogFormat } from '../log.ts';
import { usage } from './get-args.ts';
import { usageText } from '../usage-text.ts';

interface TopologyArgs {
  host: string;
  port: number;
  beta: number;
  ttl: number;
  answer: 'newest' | 'mixed';
  trustHostField: boolean;
  quotaIds: number;
  answerPerAddress: number;
  quotaRate: number;
  quotaLoopback: boolean;
  tokenFile?: string;
  logFormat?: LogFormat;
  token?: string; // read from --token-file by check()
  store: string;
}

// redis://[user:password@]HOST[:PORT][/DB] (rediss:// for TLS): what node-redis accepts.
const REDIS_URL = /^rediss?:\/\/(?:[^@/\s]*@)?(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?(?:\/\d{1,2})?\/?$/;

export const topologyCommand: CommandModule<object, TopologyArgs> = {
  command: 'topology',
  describe: 'run the topology server that introduces the peers of each swarm to one another',
  builder: (y: Argv) =>
    logFormatOption(y, usage)
      .usage('$0 topology [options]\n\nRun the topology server. It answers each registering peer with --beta peers of its\nswarm (--answer: half the newest and half at random, or the newest only) and how many\nare registered, and forgets a peer that has not renewed within --ttl seconds.\nA peer is stored at the address the server sees (a "host" it names otherwise is\nignored, unless --trust-host-field); its id stays bound to that address until it\nexpires or is deleted from there. Quotas per address (an IPv6 /64): --quota-ids\nlive ids per swarm, --quota-rate registrations a second (429 with Retry-After\nbeyond); loopback callers are exempt unless --quota-loopback, since local demos run\nevery peer from 127.0.0.1.\nState lives in memory, or with --store redis://HOST:PORT[/DB] in Redis (>= 6.2), so\nthat several topology servers on one Redis answer as one.\nThe first line on stdout is "listening on http://HOST:PORT".')
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on' })
      .option('port', { type: 'number', default: 7070, describe: 'port to listen on (0: any free port, printed on the first line)' })
      .option('beta', { type: 'number', default: 10, describe: 'most recent peers of the swarm returned to each registering peer (β)' })
      .option('ttl', { type: 'number', default: 60, describe: 'seconds a registration lives unless the peer renews it' })
      .option('answer', { type: 'string', choices: ['mixed', 'newest'], default: 'mixed', describe: "which peers to return: half newest and half random (a random mesh from the start), or the newest only (the paper's)" })
      .option('trust-host-field', { type: 'boolean', default: false, describe: 'store the "host" a registration names (and bind ids and count quotas by it; DELETE may name it in ?host=): only behind a proxy that sets it, or among peers you trust' })
      .option('quota-ids', { type: 'number', default: REGISTRY_DEFAULTS.quotaIds, describe: 'live ids one address may hold per swarm (0: no limit)' })
      .option('answer-per-address', {
        type: 'number', default: REGISTRY_DEFAULTS.answerPerAddress, describe: 'places one quota-limited address may fill in an answer (0: no limit)',
      })
      .option('quota-rate', { type: 'number', default: DEFAULT_QUOTA_RATE, describe: 'registrations per second per address, in bursts of as many (0: no limit)' })
      .option('quota-loopback', { type: 'boolean', default: false, describe: 'apply the quotas to loopback addresses too (exempt by default: local demos run every peer from 127.0.0.1)' })
      .option('token-file', { type: 'string', describe: 'file holding a token; registering and deleting then need "Authorization: Bearer <token>" (peers: slurpie get --topology-token-file)' })
      .option('store', {
        type: 'string', default: 'memory',
        describe: 'where registrations live: memory (this process), or redis://HOST:PORT[/DB] shared by every server using it (quotas and id bindings then hold across them; --quota-rate stays per server)',
      })
      .check((a) => {
        if (typeof a.host !== 'string' || a.host.trim() === '') throw new Error('--host must be an address, e.g. 127.0.0.1');
        if (!isIntegerIn(a.port, 0, 65535)) throw new Error(`--port must be an integer from 0 to 65535, got ${show(a.port)}`);
        if (!isIntegerIn(a.beta, 1, 1000)) throw new Error(`--beta must be an integer from 1 to 1000, got ${show(a.beta)}`);
        if (!isIntegerIn(a.ttl, 1, 86_400)) throw new Error(`--ttl must be a whole number of seconds from 1 to 86400, got ${show(a.ttl)}`);
        if (!isIntegerIn(a.quotaIds, 0, 1_000_000)) throw new Error(`--quota-ids must be a whole number from 0 to 1000000, got ${show(a.quotaIds)}`);
        if (!isIntegerIn(a.answerPerAddress, 0, 1000)) throw new Error(`--answer-per-address must be a whole number from 0 to 1000, got ${show(a.answerPerAddress)}`);
        if (typeof a.quotaRate !== 'number' || !(a.quotaRate >= 0 && a.quotaRate <= 1e6)) throw new Error(`--quota-rate must be a number from 0 to 1000000, got ${show(a.quotaRate)}`);
        if (a.store !== 'memory' && !REDIS_URL.test(String(a.store))) throw new Error(`--store must be memory or redis://HOST:PORT[/DB], got ${show(a.store)}`);
        if (a.tokenFile !== undefined) a.token = tokenFromFile(a.tokenFile, '--token-file');
        return true;
      })
      // One line and exit 2 for a bad flag, whatever the root's failure handler does.
      .fail((msg: string | undefined, err: Error | undefined) => {
        process.stderr.write(`slurpie topology: ${usageText(msg, err)} (see slurpie topology --help)\n`);
        process.exit(2);
      }) as unknown as Argv<TopologyArgs>,
  handler: async (args: ArgumentsCamelCase<TopologyArgs>) => {
    const logger = cliLogger('topology', { format: args.logFormat });
    const registryOptions = {
      beta: args.beta,
      ttl: args.ttl,
      answer: args.answer,
      quotaIds: args.quotaIds,
      answerPerAddress: args.answerPerAddress,
    };
    let shared: RedisRegistry | undefined;
    if (args.store !== 'memory') {
      try {
        const { RedisRegistry } = await import('../../topology-server/redis-registry.ts');
        shared = await RedisRegistry.connect(args.store, registryOptions);
      } catch (err) {
        process.stderr.write(`slurpie topology: cannot reach ${redacted(args.store)}: ${reasonOf(err)}\n`);
        process.exitCode = 1;
        return;
      }
    }
    let server;
    try {
      const { startTopologyServer } = await import('../../topology-server/server.ts');
      server = await startTopologyServer({
        host: args.host,
        port: args.port,
        ...registryOptions,
        ...(shared && { registry: shared }),
        trustHostField: args.trustHostField,
        quotaRate: args.quotaRate,
        quotaLoopback: args.quotaLoopback,
        ...(args.token !== undefined && { token: args.token }),
        log: (line) => logger.error(line),
      });
    } catch (err) {
      await shared?.close();
      const reason = (err as { code?: string; message?: string }).code ?? (err as Error).message;
      logger.error({ host: args.host, port: args.port, reason }, `cannot listen on ${args.host}:${args.port}: ${reason}`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`listening on ${server.url}\n`);
    if (args.logFormat === 'json') logger.info({ listen: server.url, beta: args.beta, ttl: args.ttl }, 'listening');

    const { close } = server;
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) process.exit(130); // a second signal: do not wait for stragglers
      stopping = true;
      logger.info({ signal }, `${signal}: closing the topology server`);
      close()
        .then(() => shared?.close())
        .then(() => process.exit(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  },
};

function isIntegerIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function show(value: unknown): string {
  return Array.isArray(value) ? `${value.length} values` : String(value);
}

/** The URL without its password, for messages. */
function redacted(url: string): string {
  return url.replace(/\/\/([^@/:]*):[^@/]*@/, '//$1:***@');
}

/** A socket error's code (ECONNREFUSED, ENOTFOUND, ...) or else its message, on one line. */
function reasonOf(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string') return e.code;
  const message = String(e.message ?? err);
  return /\b(E[A-Z]{3,})\b/.exec(message)?.[1] ?? message.replace(/\s+/g, ' ');
}

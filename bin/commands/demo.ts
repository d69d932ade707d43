// `slurpie demo`: a local flash crowd on loopback, to see Slurpie work (and to measure it).
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { headline, liveLine, peerTable } from '../../experiments/swarm/report.ts';
import { parseBytes } from '../units.ts';
import { claimScratchDir } from '../../experiments/swarm/scratch-dir.ts';
import { usageText } from '../usage-text.ts';

const DEFAULT_DIR = join(tmpdir(), 'slurpie-demo');

interface DemoArgs {
  peers: number;
  size: number;
  sourceRate: number;
  seed: number;
  dir: string;
  json?: string;
  live: boolean;
  backoff: boolean;
  timeout: number;
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'run a local swarm on loopback: a throttled source, a topology server and N peers, then report',
  builder: (y: Argv) =>
    y
      .option('peers', { type: 'number', default: 12, describe: 'number of peers (separate processes)' })
      .option('size', { type: 'string', default: '64MiB', coerce: (v: unknown) => parseBytes(v, 'size'), describe: 'file size' })
      .option('source-rate', { type: 'string', default: '4MiB', coerce: (v: unknown) => parseBytes(v, 'source-rate'), describe: 'the source\'s egress limit, bytes/s' })
      .option('seed', { type: 'number', default: 1, describe: 'seed for the file\'s bytes and the peers\' choices' })
      .option('dir', { type: 'string', default: DEFAULT_DIR, describe: 'scratch directory: emptied first, so it must be new, empty, or one demo made (marked with a .slurpie-demo file)' })
      .option('json', { type: 'string', describe: 'also write the results as JSON to this file' })
      .option('live', { type: 'boolean', default: true, describe: 'print a live status line while it runs (--no-live to hide)' })
      .option('backoff', { type: 'boolean', default: true, describe: 'random backoff at the source (--no-backoff: every peer goes every round, for ablation)' })
      .option('timeout', { type: 'number', default: 600, describe: 'seconds before stragglers are killed' })
      .check(async (a) => {
        if (!Number.isInteger(a.peers) || a.peers < 1 || a.peers > 200) throw new Error(`--peers must be 1–200, got ${a.peers}`);
        if (!Number.isInteger(a.seed)) throw new Error(`--seed must be an integer, got ${a.seed}`);
        await claimScratchDir(a.dir, a.dir === DEFAULT_DIR);
        return true;
      })
      .fail((msg: string | undefined, err: Error | undefined) => {
        process.stderr.write(`slurpie demo: ${usageText(msg, err)} (see slurpie demo --help)\n`);
        process.exit(2);
      }) as unknown as Argv<DemoArgs>,
  handler: async (args: ArgumentsCamelCase<DemoArgs>) => {
    const { runSwarm } = await import('../../experiments/swarm/run-swarm.ts');
    const tty = process.stdout.isTTY;
    process.stdout.write(`starting a source (${(args.sourceRate / 1048576).toFixed(1)} MiB/s), a topology server and ${args.peers} peers in ${args.dir}\n`);
    let lastPrinted = 0;
    const result = await runSwarm({
      peers: args.peers,
      size: args.size,
      sourceRate: args.sourceRate,
      seed: args.seed,
      dir: args.dir,
      timeoutMs: args.timeout * 1000,
      ...(!args.backoff && { getArgs: ['--no-backoff'] }),
      onTick: (v) => {
        if (!args.live) return;
        if (tty) process.stdout.write(`\r\x1b[K${liveLine(v, args.size)}`);
        else if (v.seconds - lastPrinted >= 2) {
          lastPrinted = v.seconds;
          process.stdout.write(liveLine(v, args.size) + '\n');
        }
      },
    });
    if (args.live && tty) process.stdout.write('\n');
    process.stdout.write(`\n${peerTable(result)}\n\n${headline(result)}\n`);
    if (args.json) await writeFile(args.json, JSON.stringify(result, null, 2) + '\n');
    if (!result.allVerified) process.exitCode = 1;
  },
};

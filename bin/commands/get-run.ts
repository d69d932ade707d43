// What `slurpie get URL` does once its flags are parsed and checked, by yargs (get.ts) or by
// the fast path (get-fast.ts). No yargs here: a peer started by the fast path never loads it.
import { writeFile } from 'node:fs/promises';
import type { DownloadStats } from '../../peer/node/download.ts';
import { EXIT_CODES, isSlurpieError } from '../../peer/errors.ts';
import type { GetArgs } from './get-args.ts';
import { stdoutTarget } from './get-stdout.ts';
import { PlainProgress } from '../plain-progress.ts';
import { cliLogger, JsonProgress, logFn } from '../log.ts';
import { mainThreadSwitches } from '../thread-switches.ts';

export async function runGet(args: GetArgs): Promise<void> {
  const controller = new AbortController();
  const interrupt = (): void => controller.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  // Loaded here, not at the top: every command's start-up stays light (experiments start dozens).
  const handlerSeconds = process.uptime();
  const { download } = await import('../../peer/node/download.ts');
  const { closeSourceClients } = await import('../../peer/node/source-client.ts');
  // A bar on a terminal; elsewhere a plain line every 5 s; with -q nothing but errors (curl -sS).
  const logger = cliLogger('get', { format: args.logFormat, verbose: args.verbose, quiet: args.quiet }).child({ url: args.url });
  const view = !args.progress || args.quiet ? null : args.logFormat === 'json' ? new JsonProgress(logger) : process.stderr.isTTY ? new (await import('../progress-view.ts')).ProgressView() : new PlainProgress();
  const startupSeconds = process.uptime(); // process start to here: what experiments pay per peer
  const startupCpuSeconds = cpuSeconds(); // the CPU that start-up cost (user + system)
  const toStdout = args.output === '-' ? await stdoutTarget(args.url) : null; // -o -: stdout is the file's
  try {
    const stats = await download(args.url, {
      ...(args.output !== undefined && { output: toStdout?.output ?? args.output }),
      ...(toStdout && { stream: toStdout.stream }),
      ...(args.topology !== undefined && { topology: args.topology }),
      ...(args.topologyToken !== undefined && { topologyToken: args.topologyToken }),
      ...(args.host !== undefined && { host: args.host }),
      ...(args.sha256 !== undefined && { sha256: args.sha256 }),
      ...(secretOf(args) !== undefined && { swarmSecret: secretOf(args) as string }),
      ...(args.seed !== undefined && { seed: args.seed }),
      ...(args.swarmKey !== undefined && { swarmKey: args.swarmKey }),
      ...(args.headers !== undefined && { headers: args.headers }),
      ...(args.userAgent !== undefined && { userAgent: args.userAgent }),
      ...(args.connectTimeout !== undefined && { connectTimeoutMs: args.connectTimeout * 1000 }),
      retries: args.retry,
      ...(args.metricsPort !== undefined && { metricsPort: args.metricsPort, metricsHost: args.metricsHost }),
      port: args.port,
      blockSize: args.blockSize,
      linger: args.linger,
      ...(args.uploadLimit !== undefined && { uploadLimit: args.uploadLimit }),
      ...(args.downloadLimit !== undefined && { downloadLimit: args.downloadLimit }),
      protocolEvents: args.verbose,
      params: { ...args.protocolParams, k: args.sourceK, backoff: args.backoff },
      signal: controller.signal,
      ...(view && { onProgress: (p) => view.update(p) }),
      log: logFn(logger, () => view?.interrupt()),
    });
    view?.stop();
    const maxRssBytes = process.resourceUsage().maxRSS * 1024;
    const switches = mainThreadSwitches();
    const extra = { maxRssBytes, handlerSeconds, startupSeconds, totalSeconds: process.uptime(), startupCpuSeconds, cpuSeconds: cpuSeconds(), ...(switches && { mainThreadSwitches: switches }) };
    if (args.statsJson) await writeFile(args.statsJson, JSON.stringify({ ...stats, ...extra }, null, 2) + '\n');
    if (!args.quiet) (toStdout ? process.stderr : process.stdout).write(summary(toStdout ? { ...stats, output: '-' } : stats) + '\n');
    if (args.logFormat === 'json') logger.info({ output: stats.output, size: stats.size, fromSource: stats.fromSource, fromPeers: stats.fromPeers, uploaded: stats.uploaded, seconds: stats.seconds, sha256: stats.sha256, integrity: stats.integrity }, 'done');
  } catch (err) {
    view?.stop();
    const code = isSlurpieError(err) ? EXIT_CODES[err.code] : 1;
    logger.error({ code: isSlurpieError(err) ? err.code : undefined, exit: code }, (err as Error).message);
    if (args.statsJson) await writeFile(args.statsJson, JSON.stringify({ url: args.url, ok: false, error: (err as Error).message }) + '\n').catch(() => {});
    process.exitCode = code;
  } finally {
    await closeSourceClients();
    await toStdout?.cleanup();
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function summary(s: DownloadStats): string {
  const mib = (b: number): string => (b / 1048576).toFixed(1);
  const rate = s.seconds > 0 ? s.size / s.seconds / 1048576 : 0;
  if (s.mode === 'already-complete') return `${s.output}: already complete, ${mib(s.size)} MiB, nothing fetched, sha256 ${s.sha256.slice(0, 16)}… ${checked(s)}`;
  const share = s.size > 0 ? ((100 * s.fromSource) / s.size).toFixed(0) : '0';
  return `${s.output}: ${mib(s.size)} MiB in ${s.seconds.toFixed(1)} s (${rate.toFixed(1)} MiB/s), ` +
    `${share}% from the source, ${mib(s.fromPeers)} MiB from ${s.peersSeen} peers, ${mib(s.uploaded)} MiB uploaded, sha256 ${s.sha256.slice(0, 16)}… ${checked(s)}`;
}

// Only a digest from outside the download makes the file "verified"; say so when there was none.
function checked(s: DownloadStats): string {
  if (s.integrity === 'sha256') return 'verified (--sha256)';
  if (s.integrity === 'published') return 'verified (published sha256)';
  return 'not verified (no sha256 given or published)';
}

// The flag wins over the environment (an empty variable is unset; an empty flag is refused).
function secretOf(args: { swarmSecret?: string }): string | undefined {
  const secret = args.swarmSecret ?? process.env.SLURPIE_SWARM_SECRET;
  return secret === '' ? undefined : secret;
}

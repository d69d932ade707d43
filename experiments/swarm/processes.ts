// Starting slurpie commands as child processes and reading what they announce.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from './project-root.ts';
import { createInterface } from 'node:readline';

export const SLURPIE_BIN = join(PROJECT_ROOT, 'bin', 'slurpie.js');

export interface Child {
  proc: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Its stdout and stderr are read to their end (after `exited`; never, if a grandchild holds them). */
  drained: Promise<void>;
  stderr: () => string;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  netns?: string; // run inside this network namespace (`ip netns exec`, which execs: same PID)
}

/** Starts `slurpie ARGS`; `entry` is a bundled CLI (see bundle.ts) or, by default, bin/slurpie.js. */
export function spawnSlurpie(args: string[], opts: SpawnOptions & { entry?: string } = {}): Child {
  // SLURPIE_NODE_ARGS passes flags to every process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.SLURPIE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return spawnCommand(process.execPath, [...nodeArgs, opts.entry ?? SLURPIE_BIN, ...args], opts, args[0]);
}

/** Starts any command (stdout piped, stderr kept, up to 64 KiB); `label` names it in errors. */
export function spawnCommand(command: string, args: string[], opts: SpawnOptions = {}, label = command): Child {
  const [cmd, argv] = opts.netns === undefined ? [command, args] : ['ip', ['netns', 'exec', opts.netns, command, ...args]];
  const proc = spawn(cmd, argv, {
    cwd: opts.cwd,
    env: childEnv(process.env, opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => {
    if (err.length < 64 * 1024) err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() }));
  });
  const drained = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  if (proc.pid === undefined) throw new Error(`could not start ${label}`);
  return { proc, pid: proc.pid, exited, drained, stderr: () => err };
}

/**
 * The environment a child gets: ours and `extra`, less NODE_EXTRA_CA_CERTS unless `extra` sets
 * it. Node parses that bundle as it starts, before any code runs: 0.055 CPU-s a process on this
 * machine, which sets it for every process (40% of a peer's start-up; 48 peers starting at once
 * on 2 cores wait 1.3 s more). The sources here are plain HTTP, so no child needs it.
 */
export function childEnv(base: NodeJS.ProcessEnv, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...base, ...extra };
  if (extra.NODE_EXTRA_CA_CERTS === undefined) delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** Resolves with the first stdout line matching `pattern` (its first capture group). */
export function announced(child: Child, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.proc.stdout! });
    const timer = setTimeout(() => reject(new Error(`no "${pattern}" line within ${timeoutMs} ms: ${child.stderr()}`)), timeoutMs);
    lines.on('line', (line) => {
      const m = pattern.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] ?? line);
      }
    });
    child.exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before announcing: ${child.stderr().trim()}`));
    });
  });
}

export function killChild(child: Child, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.proc.exitCode === null && child.proc.signalCode === null) {
    try {
      process.kill(child.pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Peak resident set size of a live process (VmHWM), in bytes; 0 once it is gone. */
export async function peakRss(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

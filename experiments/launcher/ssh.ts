// Running slurpie peers on remote hosts over ssh (issue #12: the launcher for real hosts).
//
// Each peer is one `ssh` process of ours; we kill it by its PID like any other child. A
// remote command does not die with the ssh that started it (no terminal, no SIGHUP), so
// every command runs inside a small wrapper: it starts the peer, then waits on its own
// stdin, which is the ssh channel; when the channel closes (we killed ssh, or the link
// dropped) the wrapper kills the peer. The peer's stats JSON comes back on stdout after a
// marker line, and its scratch directory is removed, so a run leaves nothing on the host.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Host } from './hosts.ts';

export interface SshOptions {
  knownHosts: string; // a known_hosts file of the run's own (hosts are accepted on first use)
  connectTimeoutS?: number;
}

export interface RemotePeer {
  host: Host;
  pid: number;
  /** The peer's process id on its host, once the host has said it (for diagnostics and tests). */
  remotePid(): number | null;
  /** Resolves when ssh exits: the remote exit status (255: ssh itself failed) and the stats, if any. */
  done: Promise<{ code: number | null; stats: Record<string, unknown> | null; stderr: string }>;
  kill(): void;
}

const STATS_MARKER = '@@slurpie-stats@@';
const PID_MARKER = '@@slurpie-pid@@';

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The ssh command line that runs `script` on `host`. */
export function sshArgs(host: Host, script: string, opts: SshOptions): string[] {
  return [
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=accept-new',
    '-o', `UserKnownHostsFile=${opts.knownHosts}`,
    '-o', `ConnectTimeout=${opts.connectTimeoutS ?? 10}`,
    '-o', 'ServerAliveInterval=15',
    '-o', 'LogLevel=ERROR',
    '-p', String(host.port),
    ...(host.key ? ['-i', host.key, '-o', 'IdentitiesOnly=yes'] : []),
    host.user ? `${host.user}@${host.host}` : host.host,
    '--',
    script,
  ];
}

/**
 * The remote script for one peer: `slurpie get` in a scratch directory of its own, killed
 * when the channel closes, its stats printed after a marker, the directory removed.
 */
export function peerScript(host: Host, name: string, getArgs: string[]): string {
  const dir = `${host.dir}/${name}`;
  const get = [...host.slurpie.split(/\s+/).filter(Boolean).map(shellQuote), 'get', ...getArgs.map(shellQuote),
    '--stats-json', `${dir}/stats.json`, '-o', `${dir}/file`, '--no-progress'].join(' ');
  return [
    `mkdir -p ${shellQuote(dir)} || exit 97`,
    // A background job's stdin is /dev/null unless redirected: keep the channel on fd 3.
    `exec 3<&0`,
    `${get} </dev/null & p=$!`,
    `echo ${PID_MARKER} $p`,
    `(cat <&3 >/dev/null 2>&1; kill $p 2>/dev/null) & w=$!`,
    `wait $p; rc=$?`,
    `kill $w 2>/dev/null`,
    `echo ${STATS_MARKER}; cat ${shellQuote(`${dir}/stats.json`)} 2>/dev/null`,
    `rm -rf ${shellQuote(dir)}`,
    `exit $rc`,
  ].join('\n');
}

/** Starts one peer on `host` (ssh's stdin stays open: closing it stops the peer). */
export function startRemotePeer(host: Host, name: string, getArgs: string[], opts: SshOptions): RemotePeer {
  const proc: ChildProcess = spawn('ssh', sshArgs(host, peerScript(host, name, getArgs), opts), { stdio: ['pipe', 'pipe', 'pipe'] });
  if (proc.pid === undefined) throw new Error(`could not start ssh to ${host.host}`);
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => {
    if (out.length < 1 << 20) out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    if (err.length < 64 * 1024) err += d.toString();
  });
  proc.stdin?.on('error', () => {}); // the channel may be gone before we close it
  const done = new Promise<{ code: number | null; stats: Record<string, unknown> | null; stderr: string }>((resolve) => {
    proc.once('close', (code) => resolve({ code, stats: statsFrom(out), stderr: err.trim() }));
  });
  return {
    host,
    pid: proc.pid,
    done,
    remotePid: () => {
      const m = new RegExp(`^${PID_MARKER} (\\d+)$`, 'm').exec(out);
      return m ? Number(m[1]) : null;
    },
    kill: () => {
      proc.stdin?.end();
      if (proc.exitCode === null && proc.signalCode === null) {
        try {
          process.kill(proc.pid as number, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    },
  };
}

// The stats JSON after the marker; null when the peer wrote none (or garbage).
function statsFrom(stdout: string): Record<string, unknown> | null {
  const at = stdout.lastIndexOf(STATS_MARKER);
  if (at < 0) return null;
  try {
    const value: unknown = JSON.parse(stdout.slice(at + STATS_MARKER.length).trim());
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

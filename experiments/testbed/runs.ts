// Which testbed runs are alive, and removing the ones that are not (`slurpie experiment
// --cleanup`). A run writes a marker /run/slurpie-testbed/<run>.json with its process id and
// that process's start time; a run whose marker names a live process (same pid, same start
// time, so a recycled pid does not count) is left alone, and everything else named slp-* (a
// crashed run's, or one made by hand) is removed: the processes still inside its namespaces
// (started by that run) killed by PID, then the namespaces, the bridge and the veth ends.
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listLinks, listNamespaces, PREFIX, removeRun, sh } from './netns.ts';

export const MARKER_DIR = '/run/slurpie-testbed';

/** A new run id (5 characters of [a-z0-9]) and its marker naming this process. */
export async function claimRun(): Promise<string> {
  await mkdir(MARKER_DIR, { recursive: true });
  const live = new Set(await runIdsInUse());
  for (;;) {
    const runId = Math.floor(Math.random() * 36 ** 5).toString(36).padStart(5, '0');
    if (live.has(runId)) continue;
    await writeFile(join(MARKER_DIR, `${runId}.json`), JSON.stringify({ pid: process.pid, started: await startTime(process.pid) }) + '\n');
    return runId;
  }
}

export async function releaseRun(runId: string): Promise<void> {
  await rm(join(MARKER_DIR, `${runId}.json`), { force: true });
}

/** Removes every slp-* namespace and link not owned by a live run; returns what it removed. */
export async function cleanupStale(): Promise<{ runs: string[]; namespaces: string[]; links: string[]; killed: number[] }> {
  const namespaces = await listNamespaces();
  const links = await listLinks();
  const runs = new Set<string>();
  for (const ns of namespaces) runs.add(ns.slice(PREFIX.length + 1).split('-')[0] ?? '');
  for (const l of links) {
    const m = l.startsWith(`${PREFIX}-`) ? /^slp-([^-]+)$/.exec(l) : /^slp([^-]+)-/.exec(l);
    if (m) runs.add(m[1] as string);
  }
  for (const f of await readdir(MARKER_DIR).catch(() => [] as string[])) if (f.endsWith('.json')) runs.add(f.slice(0, -5));
  const stale: string[] = [];
  for (const runId of runs) if (!(await isLive(runId))) stale.push(runId);
  const killed: number[] = [];
  const removedNs: string[] = [];
  const removedLinks: string[] = [];
  for (const runId of stale) {
    const mine = namespaces.filter((ns) => ns.startsWith(`${PREFIX}-${runId}-`));
    for (const ns of mine) {
      const pids = (await sh('ip', ['netns', 'pids', ns]).catch(() => '')).split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 1);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
          killed.push(pid);
        } catch {
          // already gone
        }
      }
    }
    await removeRun(runId);
    await releaseRun(runId);
    removedNs.push(...mine);
    removedLinks.push(...links.filter((l) => l === `${PREFIX}-${runId}` || l.startsWith(`${PREFIX}${runId}-`)));
  }
  return { runs: stale, namespaces: removedNs, links: removedLinks, killed };
}

/** Run ids with a marker naming a live process. */
async function runIdsInUse(): Promise<string[]> {
  const files = await readdir(MARKER_DIR).catch(() => [] as string[]);
  const ids = files.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
  const live: string[] = [];
  for (const id of ids) if (await isLive(id)) live.push(id);
  return live;
}

async function isLive(runId: string): Promise<boolean> {
  try {
    const marker = JSON.parse(await readFile(join(MARKER_DIR, `${runId}.json`), 'utf8')) as { pid?: unknown; started?: unknown };
    return typeof marker.pid === 'number' && marker.started !== null && (await startTime(marker.pid)) === marker.started;
  } catch {
    return false;
  }
}

/** A process's start time in clock ticks since boot (/proc/PID/stat field 22), or null if gone. */
async function startTime(pid: number): Promise<string | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

// The proxy's swarmed GETs: a cache directory of finished files, and at most one download
// per file at a time. A file is named by its swarm id (URL, size, validator: download.ts
// swarmIdOf), so a changed file at the source is a new name, never a stale hit,
// and its .part file resumes if the proxy was stopped mid-download.
//
// A request for a file being downloaded joins that download (fan-out.ts); one for a file in
// the cache is answered from disk; otherwise a download starts with the fan-out as its
// in-order stream, so the answer (200, Content-Length) goes out as soon as the probe is done
// and its body is the in-order prefix as it lands.
import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { download, swarmIdOf, type DownloadStats } from '../download.ts';
import type { LogFn } from '../peer-node.ts';
import type { SharedLimits } from '../rate-limits.ts';
import type { SourceInfo } from '../source-client.ts';
import { FanOut } from './fan-out.ts';

export interface SwarmCacheOptions {
  dir: string;
  topology?: string;
  log: LogFn;
  protocolEvents?: boolean; // each download's protocol events as debug lines (-v)
  limits: SharedLimits; // the proxy's upload and download limits, shared by all its downloads
  linger?: number; // seconds each finished download keeps serving peers past the hand-over (default 0)
  /** Tells of each finished download (tests, logs). */
  onDone?: (stats: DownloadStats) => void;
}

interface Active {
  fanOut: FanOut;
  done: Promise<void>;
}

export class SwarmCache {
  private readonly active = new Map<string, Active>();
  private readonly stopping = new AbortController();

  constructor(private readonly opts: SwarmCacheOptions) {}

  /**
   * Answers a GET for `url` whose probe said `info` (Range works, size known): from the cache,
   * by joining the running download, or by starting one. Says which.
   */
  async serve(url: string, info: SourceInfo & { size: number }, res: ServerResponse): Promise<'cache' | 'joined' | 'swarm'> {
    const id = swarmIdOf(info, {});
    const path = join(this.opts.dir, id);
    const running = this.active.get(id);
    if (running) {
      writeHead(res, info.size, 'swarm');
      running.fanOut.attach(res);
      return 'joined';
    }
    const cached = await stat(path).catch(() => null);
    if (cached?.isFile() && cached.size === info.size) {
      writeHead(res, info.size, 'cache');
      await pipeline(createReadStream(path), res).catch(() => res.destroy());
      return 'cache';
    }
    const again = this.active.get(id); // another request may have started it meanwhile
    if (again) {
      writeHead(res, info.size, 'swarm');
      again.fanOut.attach(res);
      return 'joined';
    }
    const fanOut = new FanOut(info.size, [`${path}.part`, path]);
    fanOut.on('error', () => {}); // the download's failure, logged in run(); the clients are cut
    const done = this.run(url, path, fanOut).finally(() => this.active.delete(id));
    this.active.set(id, { fanOut, done });
    writeHead(res, info.size, 'swarm');
    fanOut.attach(res);
    return 'swarm';
  }

  /** Stops every download (their .part files stay, to resume) and waits for them. */
  async close(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.active.values()].map((a) => a.done));
  }

  private async run(url: string, path: string, fanOut: FanOut): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    try {
      const stats = await download(url, {
        output: path,
        stream: fanOut,
        signal: this.stopping.signal,
        log: this.opts.log,
        protocolEvents: this.opts.protocolEvents === true,
        sharedLimits: this.opts.limits,
        ...(this.opts.linger !== undefined && { linger: this.opts.linger }),
        ...(this.opts.topology !== undefined && { topology: this.opts.topology }),
      });
      this.opts.log('info', `${url}: ${stats.size} bytes in ${stats.seconds.toFixed(1)} s, ${stats.fromSource} from the source, ${stats.fromPeers} from peers (${stats.integrity === 'none' ? 'not verified' : 'verified'}), cached`);
      this.opts.onDone?.(stats);
    } catch (err) {
      this.opts.log('warn', `${url}: ${(err as Error).message}`);
      fanOut.destroy(err as Error);
    }
  }
}

function writeHead(res: ServerResponse, size: number, via: 'swarm' | 'cache'): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size), 'x-slurpie': via });
  res.flushHeaders(); // the answer starts now, not with the first block in order
}

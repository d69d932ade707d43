// The dashboard's routes (issue #14): the page, its script and style, a JSON snapshot, and
// a Server-Sent Events stream of one snapshot a second.
//
// The page is static: three files under topology-server/dashboard/ of the project root
// (project-root.ts finds it from a checkout, the dev bundle and an installed package; the
// package ships the folder), read once on the first request. Everything shown
// comes as JSON and is put on the page as text (dashboard.js never writes markup from
// data), and a Content-Security-Policy allows only this origin's own script and style, so
// a peer-provided name cannot run script even if a later edit slipped.
//
// A stream whose client does not read is ended once a few snapshots are queued for it,
// so a stalled browser costs bounded memory; EventSource reconnects by itself.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import type { Request, Response, Router } from 'express';
import { PROJECT_ROOT } from '../experiments/swarm/project-root.ts';
import type { Dashboard, DashboardSnapshot } from './dashboard.ts';

export const DASHBOARD_PATHS = ['/', '/dashboard.js', '/dashboard.css', '/api/swarms', '/events'];

const ASSETS = { '/': ['index.html', 'text/html; charset=utf-8'], '/dashboard.js': ['dashboard.js', 'text/javascript; charset=utf-8'], '/dashboard.css': ['dashboard.css', 'text/css; charset=utf-8'] } as const;
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const MAX_QUEUED_BYTES = 1024 * 1024;

export function dashboardRoutes(dashboard: Dashboard): Router {
  const router = express.Router();
  let assets: Map<string, string> | undefined;

  for (const [path, [file, type]] of Object.entries(ASSETS)) {
    router.get(path, (_req: Request, res: Response) => {
      assets ??= readAssets();
      res.status(200).set({ 'Content-Type': type, 'Content-Security-Policy': CSP, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' }).send(assets.get(file));
    });
  }

  router.get('/api/swarms', async (_req: Request, res: Response) => {
    res.status(200).set('Cache-Control', 'no-store').json(await dashboard.snapshot());
  });

  router.get('/events', (req: Request, res: Response) => {
    if (req.method === 'HEAD') {
      res.status(200).set('Content-Type', 'text/event-stream; charset=utf-8').end(); // no stream to hold open
      return;
    }
    const listener = {
      send: (snapshot: DashboardSnapshot): void => {
        if (res.writableEnded || res.destroyed) return;
        if (res.writableLength > MAX_QUEUED_BYTES) res.end(); // not reading: let it reconnect
        else res.write(`data: ${JSON.stringify(snapshot)}\n\n`);
      },
      end: (): void => void res.end(),
    };
    if (!dashboard.listen(listener)) {
      res.status(503).set('Retry-After', '10').json({ error: `too many dashboards open (at most ${dashboard.maxListeners}); retry later` });
      return;
    }
    res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    res.write('retry: 2000\n\n');
    req.once('close', () => dashboard.unlisten(listener));
  });

  return router;
}

function readAssets(): Map<string, string> {
  const dir = join(PROJECT_ROOT, 'topology-server', 'dashboard');
  return new Map(Object.values(ASSETS).map(([file]) => [file, readFileSync(join(dir, file), 'utf8')]));
}

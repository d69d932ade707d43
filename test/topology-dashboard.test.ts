// The live dashboard in a real headless Chromium (issue #14): a real source, a real topology
// server and a swarm of 6 `slurpie get` processes; the page, opened before the swarm starts,
// must come to name file.bin with its peers through Server-Sent Events alone (no reload), and
// a peer-provided name full of markup must show as text.
//
// Needs Debian's chromium (.ci/run installs it); without it the test is a declared skip.
import test from 'ava';
import { randomBytes, createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { startTopologyServer } from '../topology-server/server.ts';
import type { DashboardSnapshot } from '../topology-server/dashboard.ts';
import { scratch, slurpie } from './fixtures/cli-run.ts';
import { until } from './fixtures/wait.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const browserTest = existsSync(CHROMIUM) ? test.serial : test.skip;
const missing = existsSync(CHROMIUM) ? '' : ` [SKIPPED: ${CHROMIUM} is missing; install Debian's chromium (apt-get install chromium), as .ci/run does]`;

const MiB = 1024 * 1024;
const PEERS = 6;
const EVIL = '<img src=x onerror="window.__xss = 1">"&amp;\'';

browserTest(`a 6-peer swarm of file.bin appears on an open dashboard, live; a name with markup shows as text${missing}`, async (t) => {
  t.timeout(180_000);
  const data = randomBytes(6 * MiB);
  const sha256 = createHash('sha256').update(data).digest('hex');
  // 3 MiB/s: the download takes seconds, so the page sees the swarm downloading, then done.
  const source = await startSourceServer({ data, name: 'file.bin', rate: 3 * MiB, port: 0 });
  t.teardown(() => source.close());
  const topology = await startTopologyServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => topology.close());

  // Another swarm, named by a hostile peer.
  const evil = await fetch(`${topology.url}/v1/swarms/${'e'.repeat(64)}/peers`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'ab'.repeat(16), port: 9, name: EVIL, size: 1234 }),
  });
  t.is(evil.status, 200);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(`${topology.url}/`, { timeout: 60_000 });
  await page.evaluate('window.samePage = true'); // gone if the page reloads

  // Locators, not in-page functions: the page's CSP forbids eval, which waitForFunction needs.
  const exactly = (text: string): RegExp => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  const named = (wanted: string) => page.locator('#swarm-rows .name', { hasText: exactly(wanted) });
  const nameOf = (wanted: string): Promise<void> => named(wanted).waitFor({ timeout: 60_000 });

  // The hostile name arrives as text: no <img>, no script run.
  await nameOf(EVIL);
  t.is(await page.locator('img').count(), 0, 'the name made no element');
  t.is(await page.evaluate('typeof window.__xss'), 'undefined', 'no handler ran');
  t.is(await named('file.bin').count(), 0);
  t.is(topology.dashboard.listening, 1, 'the page holds one event stream');

  // The swarm starts while the page is open.
  const dir = await scratch(t);
  const peers = Array.from({ length: PEERS }, (_, i) =>
    slurpie(t, ['get', source.url, '-o', join(dir, `out-${i}.bin`), '--topology', topology.url, '--no-progress', '--sha256', sha256, '--linger', '120']));
  const row = page.locator('#swarm-rows tr', { has: page.locator('.name', { hasText: exactly('file.bin') }) });
  await nameOf('file.bin');
  const first = (await row.locator('.counts').textContent()) ?? '';
  t.log(`first seen: ${first}`);
  // Every peer registers, finishes and says so (they linger: still registered).
  await row.locator('.done b', { hasText: exactly(String(PEERS)) }).waitFor({ timeout: 150_000 }).catch((err: Error) => {
    throw new Error(`${err.message}\npeers: ${peers.map((p) => p.stderr()).join('\n')}`);
  });
  const last = (await row.locator('.counts').textContent()) ?? '';
  t.log(`then: ${last}`);
  t.regex(last, /^0 downloading · 6 done/);
  t.is(await page.evaluate('window.samePage'), true, 'updated without a reload');
  t.regex((await row.locator('.served-text').textContent()) ?? '', /^source served \d+\.\d\d× the file$/);
  t.regex((await row.locator('.size').textContent()) ?? '', /6\.0 MiB/);
  t.is(await page.locator('#total-done').textContent(), String(PEERS), 'the totals count the 6 done peers (the hostile one has no report)');
  t.deepEqual(pageErrors, []);

  // The JSON the page is drawn from says the same; every block came from the source at least once.
  const snapshot = (await (await fetch(`${topology.url}/api/swarms`)).json()) as DashboardSnapshot;
  const swarm = snapshot.list.find((s) => s.name === 'file.bin');
  t.truthy(swarm);
  t.is(swarm?.size, data.length);
  t.is(swarm?.done, PEERS);
  t.true((swarm?.sourceServed ?? 0) >= 1, `sourceServed ${swarm?.sourceServed}`);
  t.is(snapshot.list.find((s) => s.name === EVIL)?.size, 1234);

  const shot = join(dir, 'dashboard.png');
  await page.screenshot({ path: shot, fullPage: true });
  const png = await readFile(shot);
  t.true(png.subarray(1, 4).toString() === 'PNG' && png.length > 10_000, `a screenshot of ${png.length} bytes`);
  t.log(`screenshot: ${png.length} bytes`);

  // The stream (and the server's once-a-second snapshots) end with the page.
  await page.close();
  await until(() => topology.dashboard.listening === 0, 'the event stream to close with the page', { ms: 30_000, everyMs: 50 });
});

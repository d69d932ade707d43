// One WebTorrent 1.9.7 peer for the testbed: downloads the torrent (origin as web seed, the
// local tracker, no DHT, no LSD), writes its stats as JSON and leaves at once (as slurpie's
// peers do with --linger 0). Usage: node webtorrent-peer.mjs TORRENT OUTDIR STATS.json [LIMIT]
// LIMIT: bytes a second taken at most, from the web seed and peers together (WebTorrent's
// downloadLimit; it counts the wire's bytes, messages included). Plain JS so it starts without
// a build step.
import { readFileSync, writeFileSync } from 'node:fs';
import WebTorrent from 'webtorrent';

const [torrentPath, outDir, statsPath, limit] = process.argv.slice(2);
const started = performance.now();
const client = new WebTorrent({ dht: false, lsd: false, utp: false, webSeeds: true, ...(limit && { downloadLimit: Number(limit) }) });
const wires = [];
const finish = (ok, error) => {
  const fromSource = wires.filter((w) => w.type === 'webSeed').reduce((a, w) => a + w.downloaded, 0);
  const fromAll = wires.reduce((a, w) => a + w.downloaded, 0);
  const t = client.torrents[0];
  writeFileSync(statsPath, JSON.stringify({
    ok,
    ...(error && { error }),
    seconds: (performance.now() - started) / 1000,
    fromSource,
    fromPeers: fromAll - fromSource,
    uploaded: t ? t.uploaded : 0,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  }) + '\n');
  client.destroy(() => process.exit(ok ? 0 : 1));
};
client.on('error', (err) => finish(false, String(err.message ?? err)));
const torrent = client.add(readFileSync(torrentPath), { path: outDir });
torrent.on('wire', (wire) => wires.push(wire));
torrent.on('done', () => finish(true));
torrent.on('error', (err) => finish(false, String(err.message ?? err)));
process.on('SIGTERM', () => finish(false, 'stopped'));

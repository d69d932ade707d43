// A BitTorrent tracker for the testbed (bittorrent-tracker 9, HTTP announces only: no UDP, no
// WebSocket). Usage: node tracker.mjs HOST PORT. Prints "tracking http://HOST:PORT/announce".
// Plain JS so it starts without a build step; runs inside the topology host's namespace.
import Server from 'bittorrent-tracker/server.js';

const [host, port] = process.argv.slice(2);
const server = new Server({ udp: false, ws: false, http: true, stats: false, trustProxy: false });
server.on('error', (err) => {
  process.stderr.write(`tracker: ${err.message}\n`);
  process.exit(1);
});
server.on('warning', (err) => process.stderr.write(`tracker: ${err.message}\n`));
server.on('listening', () => process.stdout.write(`tracking http://${host}:${server.http.address().port}/announce\n`));
server.listen(Number(port), host);
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

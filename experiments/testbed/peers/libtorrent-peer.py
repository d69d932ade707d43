# One libtorrent (Debian python3-libtorrent, 2.0.8) peer for the testbed: downloads the
# torrent (origin as web seed, the local tracker, no DHT, LSD, UPnP or NAT-PMP), writes its stats
# as JSON and leaves at once. Usage: python3 libtorrent-peer.py TORRENT OUTDIR STATS.json [LIMIT]
# LIMIT: bytes a second taken at most, from the web seed and peers together. It is the torrent's
# own limit: the session's would spare the testbed's peers, as libtorrent exempts local networks.
# LIBTORRENT_LISTEN (default 0.0.0.0:6881, each testbed host has its own) lets a test listen on
# 127.0.0.1:0.
import json
import os
import resource
import signal
import sys
import time

import libtorrent as lt

torrent_path, out_dir, stats_path = sys.argv[1:4]
limit = int(sys.argv[4]) if len(sys.argv) > 4 else 0
started = time.monotonic()
session = lt.session({
    'enable_dht': False,
    'enable_lsd': False,
    'enable_upnp': False,
    'enable_natpmp': False,
    'listen_interfaces': os.environ.get('LIBTORRENT_LISTEN', '0.0.0.0:6881'),
    'alert_mask': 0,
})
handle = session.add_torrent({'ti': lt.torrent_info(torrent_path), 'save_path': out_dir})
if limit > 0:
    handle.set_download_limit(limit)
web_bytes = {}  # web seed connection -> the most it reported (connections come and go)
peer_bytes = {}  # BitTorrent peer connection -> the same
stopping = False


def stop(_signum, _frame):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, stop)


def sample():
    for p in handle.get_peer_info():
        web = p.connection_type in (lt.peer_info.web_seed, lt.peer_info.http_seed)
        table = web_bytes if web else peer_bytes
        key = (p.ip, p.local_endpoint)
        table[key] = max(table.get(key, 0), p.total_download)


while not stopping:
    sample()
    if handle.status().is_seeding:
        break
    time.sleep(0.25)

status = handle.status()
sample()
# Per connection, sampled every 0.25 s: the last quarter second of a connection that closed is
# missed, so these are lower bounds (the source's own count is exact).
from_source = sum(web_bytes.values())
with open(stats_path, 'w') as f:
    json.dump({
        'ok': bool(status.is_seeding),
        'seconds': time.monotonic() - started,
        'fromSource': from_source,
        'fromPeers': sum(peer_bytes.values()),
        'uploaded': status.total_payload_upload,
        'maxRssBytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }, f)
    f.write('\n')
sys.exit(0 if status.is_seeding else 1)

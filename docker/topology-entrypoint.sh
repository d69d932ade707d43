#!/bin/sh
# Entrypoint of the topology server's image (Dockerfile): the environment's HOST and PORT
# (default 0.0.0.0 and 7070) become --host and --port; arguments are passed on, e.g.
#   docker run -p 7070:7070 slurpie-topology --store redis://redis:6379
# exec: node becomes PID 1 and gets the SIGTERM of `docker stop` (a graceful close).
set -eu
here=$(dirname "$0")
exec node "$here/../bin/slurpie.js" topology --host "${HOST:-0.0.0.0}" --port "${PORT:-7070}" "$@"

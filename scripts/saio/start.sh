#!/usr/bin/env bash
# Start a real OpenStack Swift 2.38.3 all-in-one on 127.0.0.1 under ROOT.
#
#   scripts/saio/start.sh ROOT [--proxy-port N] [--storage auto|xfs|tmpfs|dir] ...
#   eval "$(scripts/saio/start.sh /tmp/saio)"      # exports ST_AUTH, ST_USER, ST_KEY
#
# Creates the Swift venv on first use (${XDG_CACHE_HOME:-~/.cache}/sciswift/saio-venv),
# needs memcached (and root for the XFS/tmpfs storage). Prints export lines on
# stdout, progress on stderr. Stop it with scripts/saio/stop.sh ROOT.
# All options: python tests/support/saio.py start --help
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/_python.sh"
[ $# -ge 1 ] || { echo "usage: $0 ROOT [options]" >&2; exit 2; }
exec "$PY" "$REPO/tests/support/saio.py" start "$@"

#!/usr/bin/env bash
# Stop the Swift all-in-one recorded under ROOT: exactly the PIDs it started
# (never by name), then unmount its storage. --purge also deletes ROOT/srv.
#
#   scripts/saio/stop.sh ROOT [--purge]
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/_python.sh"
[ $# -ge 1 ] || { echo "usage: $0 ROOT [--purge]" >&2; exit 2; }
exec "$PY" "$REPO/tests/support/saio.py" stop "$@"

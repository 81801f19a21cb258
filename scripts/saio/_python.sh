# Sourced by start.sh/stop.sh: the interpreter that runs tests/support/saio.py.
# That module needs only the standard library, so the project's .venv is used when
# it exists and any python3 (with src/ on the path) otherwise.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
if [ -x "$REPO/.venv/bin/python" ]; then
    PY="$REPO/.venv/bin/python"
else
    PY="${PYTHON:-python3}"
    export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"
fi

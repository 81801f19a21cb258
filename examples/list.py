"""List the objects of a Swift container.

    python examples/list.py swift

prints one line per object: name, size in bytes and last-modified time. The
endpoint comes from ``ST_AUTH``, ``ST_USER`` and ``ST_KEY``, defaulting to the
embedded server started by ``make run`` (``http://127.0.0.1:12345/auth/v1.0``,
``test:tester``, ``testing``).
"""

from __future__ import annotations

import argparse
import os
import sys

from swiftclient import client
from swiftclient.exceptions import ClientException

DEFAULT_AUTH = "http://127.0.0.1:12345/auth/v1.0"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="List the objects of a Swift container.")
    parser.add_argument("container")
    parser.add_argument("--prefix", default=None, help="only objects whose names start with this")
    args = parser.parse_args(argv)

    auth = os.environ.get("ST_AUTH", DEFAULT_AUTH)
    user = os.environ.get("ST_USER", "test:tester")
    key = os.environ.get("ST_KEY", "testing")
    conn = client.Connection(authurl=auth, user=user, key=key, retries=1)
    try:
        _, objects = conn.get_container(args.container, prefix=args.prefix, full_listing=True)
    except ClientException as exc:
        if exc.http_status == 404:
            print(f"container {args.container!r} does not exist", file=sys.stderr)
        else:
            print(f"listing {args.container!r} at {auth} failed: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot reach {auth}: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    for obj in objects:
        print(f"{obj['name']}\t{obj['bytes']}\t{obj['last_modified']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

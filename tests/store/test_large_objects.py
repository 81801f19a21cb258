"""Large objects written without a server (LocalStore.put_manifest) are the same
large objects to ``sciswift serve`` and its Swift clients, and SwiftStore reads
back what the server stores."""

from __future__ import annotations

import hashlib
from pathlib import Path

from swiftclient import client as swift_client

from sciswift.server.spawn import spawn
from sciswift.store import LocalStore, SegmentRef, segments_container
from sciswift.store.large import SLO_ETAG, SLO_SIZE


def test_local_manifest_is_served_as_one_object(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = spawn(["--data", str(data)])
    try:
        # The server made its account directory; write into it directly.
        conn = swift_client.Connection(authurl=server.auth_url, user="test:tester", key="testing", retries=0)
        conn.put_container("wind")
        conn.put_container("wind_segments")
        account_dirs = [p.parent for p in data.rglob(".sciswift-store")]
        assert len(account_dirs) == 1
        store = LocalStore(account_dirs[0])
        parts = [bytes([i]) * 70_000 for i in range(3)]
        refs = []
        for i, body in enumerate(parts):
            info = store.put_object(segments_container("wind"), f"big/{i}", body)
            refs.append(SegmentRef("wind_segments", info.name, info.etag, len(body)))
        made = store.put_manifest("wind", "big", refs)
        head = store.head_object("wind", "big")
        assert head.system[SLO_SIZE] == str(made.size) and head.system[SLO_ETAG] == made.etag

        headers, body = conn.get_object("wind", "big")
        assert body == b"".join(parts)
        assert headers["x-static-large-object"].lower() == "true"
        assert headers["etag"].strip('"') == made.etag
        _, ranged = conn.get_object("wind", "big", headers={"Range": "bytes=69990-70009"})
        assert ranged == b"\x00" * 10 + b"\x01" * 10
        listing = conn.get_container("wind")[1]
        assert [(o["name"], o["bytes"]) for o in listing] == [("big", 210_000)]
        conn.close()
        assert hashlib.md5(body).hexdigest() != made.etag  # an SLO ETag, not the body's MD5
    finally:
        server.stop()

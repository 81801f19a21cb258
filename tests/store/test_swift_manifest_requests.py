"""Reading a large object's manifest when the caller already has its HEAD (the
mount opening a file it just looked up) is one request, counted through
``support.latency_proxy`` in front of ``sciswift serve``."""

from __future__ import annotations

import os

from saio_fixtures import ServerEndpoint
from sciswift.store.large import SegmentRef, segments_container
from sciswift.store.swift import SwiftStore
from support.latency_proxy import LatencyProxy


def test_a_known_head_saves_the_manifest_s_own_head(sciswift_server: ServerEndpoint) -> None:
    port = int(sciswift_server.url.rsplit(":", 1)[1])
    with LatencyProxy(("127.0.0.1", port), rtt=0.0) as link:
        store = SwiftStore(link.url + "/auth/v1.0", "test:tester", "testing", token_cache=False)
        try:
            container = f"m{os.urandom(4).hex()}"
            store.create_container(container)
            store.create_container(segments_container(container))
            refs = []
            for i in range(3):
                info = store.put_object(segments_container(container), f"big/{i}", os.urandom(1000))
                refs.append(SegmentRef(segments_container(container), info.name, info.etag, 1000))
            store.put_manifest(container, "big", refs)
            head = store.head_object(container, "big")
            link.reset()
            assert store.get_manifest(container, "big", head=head) == refs
            assert link.requests == 1
            link.reset()
            assert store.get_manifest(container, "big") == refs
            assert link.requests == 2
        finally:
            store.close()

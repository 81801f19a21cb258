"""SwiftStore: any OpenStack Swift API endpoint (our server, real Swift, Ceph RGW).

Layered as python-swiftclient is: ``http`` (one request, pooled keep-alive
connections, retries), ``auth`` (TempAuth v1.0 and Keystone credentials, token
renewal), ``headers`` (Swift's headers to and from ObjectInfo), ``io`` (object
readers and streaming writers), ``slo`` and ``tar`` (large-object uploads and
batched small ones), and ``store`` (the Store API on top).
"""

from sciswift.store.swift.store import SwiftCredentials, SwiftStore

__all__ = ["SwiftStore", "SwiftCredentials"]

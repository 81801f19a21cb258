"""Clients of sciswift's HTTP services beyond the Swift API itself.

``DataClient`` reads through the data API of ``sciswift serve``
(``/api/v1/<account>/...``): metadata, attributes and server-side slices of
any stored file, so only the slice crosses the network.
"""

from __future__ import annotations

from sciswift.client.dataapi import DataAPIError, DataClient, open_url

__all__ = ["DataClient", "DataAPIError", "open_url"]

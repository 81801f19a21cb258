"""Fixtures for the router tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from sciswift.compat import MountTable, install, uninstall


@pytest.fixture
def routed_mount() -> Iterator[str]:
    """A mount point routed to a fresh memory:// container, installed in this
    process (uninstalled afterwards)."""
    point = f"/sciswift-routed-test/{uuid.uuid4().hex[:8]}"
    install(MountTable.parse(f"{point}=memory://r{uuid.uuid4().hex[:8]}/run"))
    try:
        yield point
    finally:
        uninstall()

"""``sciswift serve``'s banner gives the line clients need, and it works."""

from __future__ import annotations

import shlex

import pytest

from sciswift.server.config import ServerConfig
from sciswift.server.runner import banner


def test_banner_prints_a_working_export_line(sciswift_server, monkeypatch: pytest.MonkeyPatch) -> None:
    port = int(sciswift_server.auth_url.split(":")[2].split("/")[0])
    text = banner(ServerConfig().with_default_user(), port)
    line = next(x for x in text.splitlines() if "export " in x)
    words = shlex.split(line.split(":", 1)[1])
    assert words[0] == "export"
    env = dict(w.split("=", 1) for w in words[1:])
    assert env == {"ST_AUTH": sciswift_server.auth_url, "ST_USER": "test:tester", "ST_KEY": "testing"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    from sciswift.store.swift import SwiftStore

    assert SwiftStore.from_environment().account_info() is not None  # the line authenticates
    assert "Ctrl-C" in text

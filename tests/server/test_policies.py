"""Storage policy names from ``swift.conf``-style ``[storage-policy:N]`` sections."""

from __future__ import annotations

import configparser

import pytest

from sciswift.errors import InvalidInput
from sciswift.server.policies import find, info, policies_from_ini


def parse(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def test_storage_policies() -> None:
    policies = policies_from_ini(parse("""
[storage-policy:1]
name = silver
[storage-policy:0]
name = gold
aliases = yellow, orange
"""), "p.conf")
    assert policies is not None
    assert [p.name for p in policies] == ["gold", "silver"] and policies[0].default
    found = find(policies, "YELLOW")
    assert found is not None and found.name == "gold"
    with pytest.raises(InvalidInput, match="used twice"):
        policies_from_ini(parse("[storage-policy:0]\nname = a\n[storage-policy:1]\nname = A\n"), "p.conf")
    with pytest.raises(InvalidInput, match="more than one default"):
        policies_from_ini(parse("[storage-policy:0]\nname = a\ndefault = yes\n[storage-policy:1]\nname = b\n"
                                "default = yes\n"), "p.conf")
    assert policies_from_ini(parse("[server]\nport = 1\n"), "p.conf") is None
    with pytest.raises(InvalidInput, match="invalid policy name"):
        policies_from_ini(parse("[storage-policy:0]\nname = no spaces\n"), "p.conf")
    assert info(policies) == [{"name": "gold", "aliases": "gold, yellow, orange", "default": True},
                              {"name": "silver", "aliases": "silver"}]

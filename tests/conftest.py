"""Shared fixtures for the whole test suite."""

# The real Swift all-in-one and `sciswift serve` fixtures (tests/saio_fixtures.py);
# the multi-node Swift cluster and the fault proxy (tests/cluster_fixtures.py).
pytest_plugins = ["saio_fixtures", "cluster_fixtures"]


def pytest_configure(config: object) -> None:
    """Tokens are not kept between processes in tests (tests count auth requests;
    a kept token would make them depend on what ran before). The tests of the
    token cache turn it on for themselves (tests/store/test_swift_tokens.py)."""
    import os

    os.environ["SCISWIFT_TOKEN_CACHE"] = "0"

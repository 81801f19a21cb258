"""Shared fixtures for the whole test suite."""

# The real Swift all-in-one and `sciswift serve` fixtures (tests/saio_fixtures.py);
# the multi-node Swift cluster and the fault proxy (tests/cluster_fixtures.py).
pytest_plugins = ["saio_fixtures", "cluster_fixtures"]

"""Test helpers that ship with sciswift, so other backends and plugins can reuse them."""

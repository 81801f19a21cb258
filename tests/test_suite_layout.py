"""The test tree itself: pytest imports test modules by basename (rootdir-relative,
no packages in most folders), so two test files with one name break collection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent


def test_test_module_names_are_unique_outside_packages() -> None:
    names = Counter(
        p.name for p in HERE.rglob("test_*.py") if not (p.parent / "__init__.py").exists()
    )
    assert [n for n, c in names.items() if c > 1] == []

"""Test and benchmark support that is not part of the installed package.

- ``saio``: starts and stops a real OpenStack Swift all-in-one (it runs
  ``apt-get`` and ``mount`` as root, which an installed library must not do).
  Tests import it as ``support.saio`` (pytest puts ``tests/`` on the path), the
  benchmarks and scripts as ``tests.support.saio`` from the repository root.
- ``small_disk``: a small tmpfs to fill up (full-disk tests).
"""

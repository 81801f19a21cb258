"""Test and benchmark support that is not part of the installed package.

- ``saio``: starts and stops a real OpenStack Swift all-in-one (it runs
  ``apt-get`` and ``mount`` as root, which an installed library must not do).
  Tests import it as ``support.saio`` (pytest puts ``tests/`` on the path), the
  benchmarks and scripts as ``tests.support.saio`` from the repository root.
- ``small_disk``: a small tmpfs to fill up (full-disk tests).
- ``swift_cluster``: the same Swift as a 3-node cluster in network namespaces,
  to break on purpose (stop nodes, cut links, restart the proxy).
- ``fault_proxy``: an HTTP proxy that injects 503s, resets, delays and stalls.
- ``faults``: what the fault tests acknowledged, and checking it back.
"""

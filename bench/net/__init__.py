"""bench.net: sciswift and its peers over an emulated network (``python -m bench.net``).

See ``bench/net/__main__.py`` for what is measured, ``link`` for the namespaces
and the emulated link, ``servers`` for the servers and request counting,
``client`` for the workloads each client runs, ``delay`` for the stand-in for
``tc netem``.
"""

"""Load benchmark of ``sciswift serve`` against a real OpenStack Swift
(``python -m bench.load``; see ``bench/load/__main__.py``)."""

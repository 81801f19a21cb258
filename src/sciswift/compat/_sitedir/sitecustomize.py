"""Installs sciswift's h5py router in every Python started under ``sciswift run``.

``sciswift run`` (and ``python -m sciswift.run``) put this directory first on
``PYTHONPATH``, so Python's ``site`` module imports this file at startup. It
imports nothing from sciswift until the program imports h5py, so Pythons that
never touch h5py pay nothing. Then it runs the ``sitecustomize`` that this
directory hides, if there is one, so a site's own customisation still happens.
"""

import importlib.util as _ilu
import os as _os
import sys as _sys

_HERE = _os.path.dirname(_os.path.abspath(__file__))


class _LazyH5pyFinder:
    """On ``import h5py``: install the router (``sciswift.compat.hook``) and let it
    find h5py."""

    _sciswift_finder = True

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname != "h5py":
            return None
        if cls in _sys.meta_path:
            _sys.meta_path.remove(cls)
        try:
            from sciswift.compat.hook import H5pyFinder, install
        except ImportError as e:
            _sys.stderr.write(
                f"sciswift run: {_sys.executable} cannot import sciswift ({e}); "
                "h5py files in this process are NOT routed to the object store\n"
            )
            return None
        install()
        return H5pyFinder().find_spec(fullname, path, target)


def _chain_previous():
    others = [p for p in _sys.path if _os.path.abspath(p or ".") != _HERE]
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("sitecustomize", others)
    if spec is None or spec.loader is None:
        return
    module = _ilu.module_from_spec(spec)
    spec.loader.exec_module(module)


if "h5py" in _sys.modules:
    from sciswift.compat.hook import install as _install

    _install()
else:
    _sys.meta_path.insert(0, _LazyH5pyFinder)
_chain_previous()

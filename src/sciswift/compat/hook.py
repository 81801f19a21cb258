"""The import hook: ``import h5py`` gives the real h5py with its file-opening
names routed (``sciswift.compat.bridge``), and the environment that carries the
hook into every Python a program starts.

``install()`` puts a finder first on ``sys.meta_path``; when ``h5py`` is imported
the finder lets the real import run and then replaces the routed names on the
module (or patches it at once if it is already imported). Without a real h5py
installed, ``import h5py`` gives a stand-in built from sciswift.h5py that opens
only mounted paths and store URLs.

``child_environment()`` is what ``sciswift run`` and ``python -m sciswift.run``
hand to the program: ``SCISWIFT_MOUNTS`` with the mount table, and ``PYTHONPATH``
starting with a directory whose ``sitecustomize.py`` installs the hook in every
Python started under it (multiprocessing spawn/forkserver children,
``subprocess`` pythons, ``mpirun`` ranks), then runs any sitecustomize that was
there before.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from sciswift.compat import router
from sciswift.compat.mounts import ENV_VAR, MountTable

__all__ = ["install", "uninstall", "installed", "patch_module", "H5pyFinder", "SITE_DIR", "child_environment"]

SITE_DIR = Path(__file__).resolve().with_name("_sitedir")
"""Directory holding only the ``sitecustomize.py`` that installs the hook."""

_FLAG = "__sciswift_router__"
_ABSENT = object()
_originals: list[tuple[Any, str, Any]] = []  # (module, name, value before patching)


def patch_module(module: ModuleType) -> None:
    """Replace the routed names on the real h5py ``module`` (once)."""
    if getattr(module, _FLAG, False):
        return
    import sciswift.h5py as sci
    from sciswift.compat import exact
    from sciswift.compat.bridge import build, lowlevel

    patches = [(module, name, value) for name, value in build(module, sci).items()] + lowlevel(module, sci)
    patches += exact.install(module, sci)
    # The program sets h5py.get_config() (the real one): store files follow it.
    from sciswift.h5 import config

    config.set_source(module.get_config)
    for owner, name, value in patches:
        # A class attribute it only inherited is deleted again on uninstall.
        own = owner.__dict__ if isinstance(owner, type) else vars(owner)
        _originals.append((owner, name, own.get(name, _ABSENT)))
        setattr(owner, name, value)
    _resolve_mounts_inside_store_files()
    setattr(module, _FLAG, True)


def _resolve_mounts_inside_store_files() -> None:
    # Paths named inside store files (absolute external links, virtual dataset
    # sources) are mounted paths too, as the program wrote them.
    from sciswift.h5.files import set_mount_resolver

    set_mount_resolver(router.mounted_url)


class _PatchingLoader(importlib.abc.Loader):
    """The real h5py loader, followed by ``patch_module``."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        patch_module(module)

    def __getattr__(self, name: str) -> Any:
        # Resource readers and the like come from the real loader.
        return getattr(self._loader, name)


class _StandInLoader(importlib.abc.Loader):
    """``h5py`` when the real one is not installed: sciswift.h5py's names, with a
    File that refuses names outside the mounts instead of inventing local files."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        import sciswift.h5py as sci

        for name in sci.__all__:
            setattr(module, name, getattr(sci, name))
        module.File = _standin_file(sci.File)  # type: ignore[attr-defined]
        # h5py is a package: programs import h5py.filters, h5py._hl.dataset ...
        module.__path__ = []
        sci.alias_submodules("h5py")
        _resolve_mounts_inside_store_files()
        setattr(module, _FLAG, True)


def _standin_file(sci_file: type) -> Any:
    def File(name: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - h5py's name
        where = router.route(name)
        if where is None:
            raise OSError(
                f"h5py.File({name!r}): the real h5py is not installed, and this name is neither under a "
                "sciswift mount nor a swift://, file:// or memory:// URL"
            )
        return router.open_routed(where[0], where[1], name, args, kwargs)

    File.__doc__ = sci_file.__doc__
    return File


def _is_ours(finder: Any) -> bool:
    return bool(getattr(finder, "_sciswift_finder", False))


class H5pyFinder(importlib.abc.MetaPathFinder):
    """Finds the real h5py with the other finders and wraps its loader."""

    _sciswift_finder = True

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "h5py":
            return None
        for finder in sys.meta_path:
            if _is_ours(finder) or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _PatchingLoader(spec.loader)
                return spec
        return importlib.util.spec_from_loader("h5py", _StandInLoader())


def install(table: MountTable | None = None) -> None:
    """Route h5py in this process. ``table`` replaces the mount table; without it
    ``SCISWIFT_MOUNTS`` is read now (InvalidInput naming the entry if malformed)."""
    router.configure(table)
    router.mount_table()
    module = sys.modules.get("h5py")
    if module is not None:
        patch_module(module)
    if not any(isinstance(f, H5pyFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, H5pyFinder())


def installed() -> bool:
    """True if ``import h5py`` is (or will be) routed in this process."""
    module = sys.modules.get("h5py")
    if module is not None:
        return bool(getattr(module, _FLAG, False))
    return any(_is_ours(f) for f in sys.meta_path)


def uninstall() -> None:
    """Undo ``install`` (for tests): the real names go back on h5py."""
    sys.meta_path[:] = [f for f in sys.meta_path if not _is_ours(f)]
    module = sys.modules.get("h5py")
    if module is not None and getattr(module, _FLAG, False):
        if isinstance(getattr(module, "__loader__", None), _StandInLoader):
            for name in [n for n in sys.modules if n == "h5py" or n.startswith("h5py.")]:
                del sys.modules[name]
        else:
            for owner, name, value in reversed(_originals):
                if value is _ABSENT:
                    delattr(owner, name)
                else:
                    setattr(owner, name, value)
            delattr(module, _FLAG)
    _originals.clear()
    files = sys.modules.get("sciswift.h5.files")
    if files is not None:
        files.set_mount_resolver(None)
    config = sys.modules.get("sciswift.h5.config")
    if config is not None:
        config.set_source(None)
    router.configure(None)


def child_environment(table: MountTable, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a program run under the router: ``base`` (default
    ``os.environ``) plus the mount table, the hook's directory first on
    ``PYTHONPATH`` (once), and this interpreter's directory first on ``PATH``, so
    ``python`` in the command means the Python sciswift is installed in."""
    env = dict(os.environ if base is None else base)
    env[ENV_VAR] = table.to_env()
    site = str(SITE_DIR)
    rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and os.path.abspath(p) != site]
    env["PYTHONPATH"] = os.pathsep.join([site, *rest])
    bindir = os.path.dirname(os.path.abspath(sys.executable))
    path = [p for p in env.get("PATH", os.defpath).split(os.pathsep) if p]
    if not path or os.path.abspath(path[0]) != bindir:
        env["PATH"] = os.pathsep.join([bindir, *path])
    return env

"""User plugins: modules that register models, losses, data sets or metrics.

A study names them (``[study] imports = ["my_pkg.gan_parts"]``), ``ganstudy train`` takes
``--import``, and installed packages declare entry points (groups ``ganstudy.models``,
``ganstudy.losses``, ``ganstudy.datasets``, ``ganstudy.metrics``; see :mod:`.registry`).

A registration made in the driver does not travel: a spawned worker or a Ray worker is a
fresh interpreter. So every task carries the modules and the folders they were found in,
and :func:`activate` imports them in the worker before its config is resolved. A module
that does not import is a user error naming the module and where it was asked for.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from pathlib import Path

from .errors import ConfigError

_active: dict[str, str] = {}  # module -> the folder its top-level package lives in ("" if installed)


def _root_of(module_name: str) -> str:
    """The folder to put on sys.path for ``module_name`` to import in a fresh interpreter."""
    module = sys.modules[module_name]
    file = getattr(module, "__file__", None)
    if not file:
        return ""
    path = Path(file).resolve()
    depth = module_name.count(".") + (1 if path.name == "__init__.py" else 0)
    return str(path.parents[depth])


def load(modules: Iterable[str], search: Iterable[str | Path] = (), source: str = "imports") -> list[str]:
    """Import ``modules`` (registering what they define). A module not found on sys.path is
    looked for in ``search`` (a study file's folder, the working folder) as Python would look
    beside a script. Returns the folders a worker needs on its path."""
    for name in modules:
        if name in _active:
            continue
        if not isinstance(name, str) or not name or not all(part.isidentifier() for part in name.split(".")):
            raise ConfigError(f"{source}: {name!r} is not a module name (like my_pkg.gan_parts).")
        try:
            _import(name, [str(Path(s).resolve()) for s in search])
        except ModuleNotFoundError as exc:
            raise ConfigError(f"{source}: module {name!r} could not be imported: {exc}. Put it beside the study "
                              "file or in the working folder, or install it (pip install -e .).") from None
        except Exception as exc:  # noqa: BLE001 - the plugin's own error, named as the user's to fix
            raise ConfigError(f"{source}: importing module {name!r} failed: {type(exc).__name__}: {exc}") from None
        _active[name] = _root_of(name)
    return paths(modules)


def _import(name: str, search: list[str]) -> None:
    try:
        importlib.import_module(name)
        return
    except ModuleNotFoundError as exc:
        top = name.split(".")[0]
        if exc.name not in (top, name) and not name.startswith(f"{exc.name}."):
            raise  # the plugin itself imports something missing: say that, not "not found"
    for folder in search:
        if folder not in sys.path:
            sys.path.insert(0, folder)
            try:
                importlib.import_module(name)
                return
            except ModuleNotFoundError:
                sys.path.remove(folder)
    importlib.import_module(name)  # raises the clear ModuleNotFoundError


def paths(modules: Iterable[str]) -> list[str]:
    """The folders ``modules`` were imported from (for a worker's sys.path)."""
    return list(dict.fromkeys(_active[m] for m in modules if _active.get(m)))


def activate(modules: Iterable[str], folders: Iterable[str] = ()) -> None:
    """In a worker: put the driver's plugin folders on the path and import the plugins."""
    for folder in folders:
        if folder and folder not in sys.path:
            sys.path.insert(0, folder)
    load(modules, source="a worker's imports")


def load_entry_points(group: str) -> None:
    """Load every installed entry point of ``group``: a module (importing it registers) or a
    callable (called with no arguments)."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=group):
        try:
            obj = ep.load()
            if callable(obj) and not isinstance(obj, type):
                obj()
        except Exception as exc:  # noqa: BLE001 - a broken plugin package is named, not a traceback
            dist = f" (package {ep.dist.name})" if getattr(ep, "dist", None) else ""
            raise ConfigError(f"entry point {ep.name} = {ep.value!r} in group {group}{dist} failed to load: "
                              f"{type(exc).__name__}: {exc}") from None

"""The one registry behind every extension point (datasets, architectures, losses, metrics,
trackers, executors, stackable layers, failure families): ``register`` / ``get`` / ``names``.

Every wing with an extension point holds its registry in ``registry.py`` and registers its
built-ins in the modules that define them, imported by the wing's ``__init__``: so whatever
imports the registry finds the built-ins there, with no import running back. A registry
with an entry-point ``group`` also loads the installed plugins of that group (``ganstudy.models``,
``ganstudy.losses``, ``ganstudy.datasets``, ``ganstudy.metrics``, ``ganstudy.loggers``,
``ganstudy.executors``) on first use, in whatever process looks a name up, so they reach
every worker by themselves.

A name registered twice from two places is an error naming both: a plugin never silently
shadows a built-in (or another plugin). The same module registering again (imported a second
time) replaces its own entry."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Generic, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class DuplicateName(ConfigError):
    """Two modules registered one name in one registry."""


def _caller() -> str:
    """The module that asked to register: the first frame outside the registries' own
    ``register`` functions (a wing's ``register`` wraps :meth:`Registry.register`)."""
    frame = sys._getframe(1)  # noqa: SLF001 - the standard way to name a caller without inspect's cost
    while frame is not None and (frame.f_globals.get("__name__") == __name__ or frame.f_code.co_name in ("register", "decorate")):
        frame = frame.f_back
    return frame.f_globals.get("__name__", "?") if frame is not None else "?"


class Registry(Generic[T]):
    def __init__(self, kind: str, group: str | None = None) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._origins: dict[str, str] = {}
        self._group = group  # entry points of installed plugins, loaded on first use

    def _ready(self) -> None:
        if self._group is not None:
            from .plugins import load_entry_points

            group, self._group = self._group, None
            load_entry_points(group)

    def register(self, name: str, item: T, origin: str | None = None) -> T:
        origin = origin or _caller()
        if name in self._items and self._origins[name] != origin:
            raise DuplicateName(f"{self.kind} {name!r} is registered twice: by {self._origins[name]} and by {origin}; "
                                "give one of them another name")
        self._items[name] = item
        self._origins[name] = origin
        return item

    def decorator(self, name: str) -> Callable[[Callable], Callable]:
        """``@registry.decorator(name)``: register the decorated function under ``name`` and give
        it back unchanged."""
        origin = _caller()

        def decorate(fn: Callable) -> Callable:
            self.register(name, fn, origin)  # type: ignore[arg-type]
            return fn

        return decorate

    def origin(self, name: str) -> str:
        """The module that registered ``name``."""
        self._ready()
        return self._origins[name]

    def get(self, name: str) -> T:
        self._ready()
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        self._ready()
        return list(self._items)

"""The one registry behind every extension point (datasets, architectures, losses,
metrics, executors): ``register`` / ``get`` / ``names``.

A registry with an entry-point ``group`` also loads the installed plugins of that group
(``ganstudy.models``, ``ganstudy.losses``, ``ganstudy.datasets``, ``ganstudy.metrics``) on
first use, in whatever process looks a name up, so they reach every worker by themselves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, load_builtin: Callable[[], None] | None = None, group: str | None = None) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._load_builtin = load_builtin  # imports the built-in entries on first use (no import cycles)
        self._group = group  # entry points of installed plugins, loaded on first use too

    def _ready(self) -> None:
        if self._load_builtin is not None:
            load, self._load_builtin = self._load_builtin, None
            load()
        if self._group is not None:
            from .plugins import load_entry_points

            group, self._group = self._group, None
            load_entry_points(group)

    def register(self, name: str, item: T) -> T:
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        self._ready()
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        self._ready()
        return list(self._items)

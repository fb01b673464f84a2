"""What can be named in a config: every key with its default and meaning (``ganstudy keys``),
and the registered datasets, architectures and losses (``ganstudy datasets``, ...), plugins'
included."""

from __future__ import annotations

from typing import Any

KINDS = ("datasets", "archs", "losses")


def keys(contains: str = "") -> list[tuple[str, Any, str]]:
    """(key, default, description) for every config key whose name contains ``contains``."""
    from ..spec.layers import key_help

    return [row for row in key_help() if contains in row[0]]


def catalog(kind: str) -> list[tuple[str, str]]:
    """(name, summary) of every registered entry of ``kind``: datasets, archs or losses."""
    if kind == "datasets":
        from ..data.registry import get, names
    elif kind == "archs":
        from ..models.registry import get, names
    elif kind == "losses":
        from ..models.losses import get, names
    else:
        raise ValueError(f"kind is one of {', '.join(KINDS)}")
    return [(name, get(name).summary) for name in names()]

"""Sweeps: one key and its values (or a small grid of two keys) as cases of the study.

``[[sweeps]] id = "lr"  values = { "optim.lr" = [1e-4, 2e-4, 5e-4, 1e-3] }`` is what a Hydra
user writes as ``optim.lr=1e-4,2e-4,5e-4,1e-3``. Each value becomes a full case (id
``lr-0.0001``, a title that says the value): trained over the same seeds, judged against
the baseline, and counted in the same Holm (or BH) family as every other case, so a sweep
of many values pays for its many looks. The report adds a dose-response figure from the
cases' :class:`SweepPoint`.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .config import flatten

MAX_POINTS = 64  # a sweep larger than this is a search, not an ablation: say so
_UNSAFE = re.compile(r"[^a-z0-9_.-]+")


@dataclass(frozen=True)
class SweepPoint:
    """Where a case sits in its sweep: the sweep's id, its keys and this case's values."""

    sweep: str
    keys: tuple[str, ...]
    values: tuple[Any, ...]


class Sweep(BaseModel):
    model_config = ConfigDict(extra="forbid")  # `set`, as a case writes it; `changes` is refused
    id: str = Field(description="prefix of the generated case ids (lr -> lr-0.0001)")
    title: str = ""
    expect: Literal["improve", "worsen", "no effect", "unsure"] = "unsure"
    rationale: str = ""
    base: str | None = Field(None, description="a case whose settings every point starts from")
    values: dict[str, Any] = Field(description='{ "optim.lr" = [1e-4, 2e-4] }: one key, or a grid of two')
    changes: dict[str, Any] = Field(default_factory=dict, alias="set", description="changes every point also makes")

    @field_validator("values")
    @classmethod
    def _values(cls, value: dict[str, Any]) -> dict[str, Any]:
        flat = flatten(value)
        if not 1 <= len(flat) <= 2:
            raise ValueError(f"give one key and its values, or a grid of two keys (not {len(flat)})")
        for key, options in flat.items():
            if not isinstance(options, list) or not options:
                raise ValueError(f"{key}: give a non-empty list of values, like [0.0001, 0.0002]")
            if len({json.dumps(o, sort_keys=True) for o in options}) != len(options):
                raise ValueError(f"{key}: a value appears twice")
        points = math.prod(len(v) for v in flat.values())
        if points > MAX_POINTS:
            raise ValueError(f"{points} points: a sweep is at most {MAX_POINTS} cases (every one trains every seed)")
        return flat

    def points(self) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        """Every point of the sweep: (values, the changes of its case), in the grid's order."""
        keys = list(self.values)
        out = []
        for combo in itertools.product(*(self.values[k] for k in keys)):
            out.append((combo, {**flatten(self.changes), **dict(zip(keys, combo))}))
        return out


def label(value: Any) -> str:
    """A value as part of a case id: 0.0001, 1e-05, true, leaky_relu, 32_64."""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, list):
        text = "_".join(label(v) for v in value)
    else:
        text = str(value)
    return _UNSAFE.sub("-", text.lower()).strip("-") or "x"


def value_text(value: Any) -> str:
    """A value as a title shows it (TOML-like)."""
    return f"{value:g}" if isinstance(value, float) else json.dumps(value)


def expand(sweep: Sweep) -> list[dict[str, Any]]:
    """The cases of a sweep, as ``[[cases]]`` tables (plus their :class:`SweepPoint`)."""
    keys = tuple(sweep.values)
    cases = []
    for combo, changes in sweep.points():
        case_id = "-".join([sweep.id, *(label(v) for v in combo)])[:63]
        described = ", ".join(f"{k} = {value_text(v)}" for k, v in zip(keys, combo))
        cases.append({
            "id": case_id, "title": f"{sweep.title}: {described}" if sweep.title else described,
            "expect": sweep.expect, "rationale": sweep.rationale, "base": sweep.base, "set": changes,
            "point": SweepPoint(sweep.id, keys, combo),
        })
    return cases

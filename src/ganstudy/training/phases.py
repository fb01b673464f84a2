"""Where a run's seconds go: a clock per run, by phase, kept in its checkpoints so that a
resumed run's phases add up every process that worked on it.

A study costs what its arithmetic costs only if the rest (set-up, logging, grids, curve
points, checkpoints, final scoring) stays small; to keep it small it has to be seen. Each
run's ``result.json`` holds ``phases``, the seconds this process spent in each phase, and
``benchmarks/overheads.py`` reads them to show every overhead as a share of a run.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

#: The phases, in the order a run meets them. ``steps`` is the training arithmetic; the
#: others are overheads. Members of a seed group each count the group's shared steps.
PHASES = ("set-up", "steps", "logs", "grids", "curve", "checkpoints", "scoring")


class PhaseClock:
    """Seconds by phase, added up over a run (its checkpoint carries them to the next process)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        with timed([self], phase):
            yield

    def to_json(self) -> dict[str, float]:
        return {p: round(self.seconds[p], 3) for p in PHASES if p in self.seconds}


@contextmanager
def timed(clocks: Iterable[PhaseClock], phase: str) -> Iterator[None]:
    """Time a block once and count it in every clock (a seed group's step is each member's)."""
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}")
    start = time.perf_counter()
    try:
        yield
    finally:
        spent = time.perf_counter() - start
        for clock in clocks:
            clock.seconds[phase] += spent


def overheads(phases: dict[str, float]) -> float:
    """Seconds outside the training arithmetic."""
    return sum(v for k, v in phases.items() if k != "steps")


def seconds_text(seconds: float) -> str:
    """A measured time, in the unit a reader takes in: 46 s, 12.5 min, 7.25 h."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def study_cost(runs: list[tuple[frozenset[str], dict[str, float]]]) -> str:
    """What a study's runs cost, from each run's phases: ``runs`` pairs the run hashes that
    stepped together (a stacked group's steps are counted once) with a run's phases."""
    steps: dict[frozenset[str], float] = {}
    other = scoring = 0.0
    for together, phases in runs:
        steps[together] = max(steps.get(together, 0.0), phases.get("steps", 0.0))
        other += overheads(phases)
        scoring += phases.get("scoring", 0.0) + phases.get("curve", 0.0)
    total = sum(steps.values()) + other
    if not runs or total <= 0:
        return "-"
    return (f"{seconds_text(total)} of process time: training steps {seconds_text(sum(steps.values()))}, "
            f"scoring {seconds_text(scoring)} (final scores and curve points), "
            f"the rest {seconds_text(other - scoring)} (set-up, logs, grids, checkpoints)")

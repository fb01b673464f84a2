"""Statistics of a study: tests (``tests``), the decision procedure over cases and looks
(``procedure``), power before training (``power``), and the simulation that shows the
procedure's error rates (``simulate``, ``tables``). ``docs/statistics.md`` says why."""

from .procedure import ERROR_CONTROLS, PAIRINGS, Decisions, Design, decide, schedule, spending

__all__ = ["ERROR_CONTROLS", "PAIRINGS", "Decisions", "Design", "decide", "schedule", "spending"]

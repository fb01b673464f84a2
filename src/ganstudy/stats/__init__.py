"""Statistics of a study: two-sample tests (``tests``), group-sequential boundaries
(``boundaries``), futility (``futility``), the decision procedure over cases and looks
(``procedure``), power before training (``power``), and the simulation that shows the
procedure's error rates in the regimes GAN studies live in (``simulate``, ``tables``).
``docs/statistics.md`` says why."""

from .procedure import ERROR_CONTROLS, PAIRINGS, Decisions, Design, decide, schedule

__all__ = ["ERROR_CONTROLS", "PAIRINGS", "Decisions", "Design", "decide", "schedule"]

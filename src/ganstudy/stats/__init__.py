"""Statistics of a study, pure maths on arrays: two-sample tests (``twosample``), the design
(``design``), group-sequential boundaries (``boundaries``), futility, the decision procedure
over cases and looks (``procedure``), power before training (``power``), and the simulation
that shows the error rates in the regimes GAN studies live in (``simulate``, ``tables``)."""

from .design import ERROR_CONTROLS, PAIRINGS, Design, schedule
from .procedure import Decisions, decide

__all__ = ["ERROR_CONTROLS", "PAIRINGS", "Decisions", "Design", "decide", "schedule"]

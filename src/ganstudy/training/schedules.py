"""Learning-rate schedules as a factor of the base learning rate at each iteration."""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..spec.config import OptimConfig


def milestones_in_iterations(cfg: OptimConfig, iterations_per_epoch: int) -> list[int]:
    """The 0-based iteration at which each milestone's lr starts: at the milestone, or with
    ``milestone_after`` one unit later (``if epoch > 20``: the lr changes as epoch 21 starts)."""
    unit = iterations_per_epoch if cfg.milestone_unit == "epoch" else 1
    return [(m + cfg.milestone_after) * unit for m in cfg.milestones]


def lr_factor(cfg: OptimConfig, iteration: int, total: int, iterations_per_epoch: int) -> float:
    """Multiplier of the base lr at 0-based ``iteration`` of ``total``.

    ``step``: after the k-th milestone (iteration >= milestone), the lr is ``values[k-1]``
    (absolute learning rates for base ``optim.lr``; ``lr_g``/``lr_d`` are scaled alike) or
    ``lr * gamma**k``. ``linear`` and ``cosine`` go from the base lr to ``lr * min_factor``
    at the end of training.
    """
    if cfg.schedule == "constant":
        return 1.0
    if cfg.schedule == "step":
        passed = bisect.bisect_right(milestones_in_iterations(cfg, iterations_per_epoch), iteration)
        if passed == 0:
            return 1.0
        return cfg.values[passed - 1] / cfg.lr if cfg.values else cfg.gamma**passed  # type: ignore[operator]
    progress = min(iteration / max(total, 1), 1.0)
    if cfg.schedule == "linear":
        return 1.0 - (1.0 - cfg.min_factor) * progress
    if cfg.schedule == "cosine":
        return cfg.min_factor + (1.0 - cfg.min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown schedule {cfg.schedule!r}")

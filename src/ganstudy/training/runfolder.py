"""A run folder read back without training: its result, whether its scores are current, its
generator.

What :mod:`ganstudy.training.trainer` writes (``config.json``, ``result.json``, ``checkpoints/last.pt``)
is read here by the study's index, the runner and ``ganstudy sample``, none of which trains;
so they do not import the trainer, and torch is imported only to load a generator.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..base.errors import GanstudyError
from ..base.status import Status
from ..spec.config import RunConfig

if TYPE_CHECKING:
    import torch


@dataclass
class RunResult:
    status: Status  # COMPLETE, DIVERGED or INTERRUPTED (a plain str read back from JSON equals its member)
    iterations: int  # iterations done
    total_iterations: int
    final: dict[str, float] = field(default_factory=dict)  # the last logged statistics
    wall_seconds: float = 0.0
    run_hash: str = ""
    summary: str = ""
    reason: str = ""
    metrics: dict[str, float] = field(default_factory=dict)  # the final evaluation
    protocol: dict[str, Any] = field(default_factory=dict)  # how it was measured
    phases: dict[str, float] = field(default_factory=dict)  # seconds by phase, every process's (phases.py)
    floor: dict[str, Any] | None = None  # real images scored like this run's samples (scoring.real_floor)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def scoring_changed(run_dir: str | Path, cfg: RunConfig) -> bool:
    """Were the run in ``run_dir``'s scores made under other eval settings than ``cfg``'s?"""
    try:
        saved = json.loads((Path(run_dir) / "config.json").read_text())["config"]["eval"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return True
    ignore = {"grid_seed", "grid_size", "curve_points", "curve_samples"}  # grids and curves are not the scores
    current = cfg.eval.model_dump(mode="json")
    return {k: v for k, v in saved.items() if k not in ignore} != {k: v for k, v in current.items() if k not in ignore}


def read_result(run_dir: str | Path) -> RunResult | None:
    """The result of an ended run, or None if it has not ended (or the file is damaged)."""
    try:
        return RunResult(**json.loads((Path(run_dir) / "result.json").read_text()))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None


def load_generator(run_dir: str | Path, checkpoint: str | Path | None = None, device: str = "cpu",
                   cfg: RunConfig | None = None) -> tuple[torch.nn.Module, RunConfig]:
    """The generator of a run folder (its last checkpoint, or ``checkpoint``) in eval mode, and the
    run's config (or ``cfg``, e.g. the run's config with new eval settings)."""
    from ..models.losses import get as get_loss
    from ..models.registry import build
    from ..spec.layers import config_from_json
    from .checkpoints import CHECKPOINT
    from .checkpoints import load as load_checkpoint

    run_dir = Path(run_dir)
    try:
        described = json.loads((run_dir / "config.json").read_text())
        shape = tuple(described["image_shape"])
        cfg = cfg or config_from_json(described["config"])
    except FileNotFoundError:
        raise GanstudyError(f"{run_dir}: not a run folder (no config.json).") from None
    except (ValueError, KeyError, TypeError):
        raise GanstudyError(f"{run_dir / 'config.json'}: damaged (not the JSON a run writes). `ganstudy run` on its "
                            "study repairs it; a lone run folder cannot be read without it.") from None
    g, _ = build(cfg.model, shape, get_loss(cfg.loss.kind).d_head)  # type: ignore[arg-type]
    path = Path(checkpoint) if checkpoint else run_dir / CHECKPOINT
    try:
        g.load_state_dict(load_checkpoint(path, device)["g"])
    except RuntimeError as exc:  # the right file format, the wrong networks
        raise GanstudyError(f"{path}: its generator does not fit this run's config ({str(exc)[:200]}).") from None
    return g.eval(), cfg

"""A run's checkpoint, encoded and decoded: the weights with every random state, so a run
that is interrupted and resumed ends with the same weights as one that was not.

The trainer decides when to save and where (``checkpoints.py`` names the files and commits
a stack's members together); this module only turns a run's state into the payload that
``torch.save`` writes and back. Loading goes through ``checkpoints.load`` (weights only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .steps import GanState

FORMAT = 1


@dataclass
class Streams:
    """The random streams a checkpoint keeps beside the weights' state: the global generator
    (weights' init and dropout for a run alone) or a stacked member's own dropout stream."""

    dropout: torch.Generator | None  # a stacked member's own dropout stream; None: the global one
    device: torch.device

    def global_state(self) -> torch.Tensor:
        """What a run alone would find in the global CPU generator: a CPU member's own stream."""
        if self.dropout is not None and self.dropout.device.type == "cpu":
            return self.dropout.get_state()
        return torch.get_rng_state()


def encode(state: GanState, streams: Streams, *, run_hash: str, iteration: int, elapsed: float,
           phases: dict[str, float], last: dict[str, float]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "run_hash": run_hash,
        "iteration": iteration,  # iterations completed
        "elapsed": elapsed,
        "phases": phases,  # so a resumed run's cost includes its earlier processes
        "last": last,
        "g": state.g.state_dict(),
        "d": state.d.state_dict(),
        "opt_g": state.opt_g.state_dict(),
        "opt_d": state.opt_d.state_dict(),
        "opt_dg": state.opt_dg.state_dict() if state.opt_dg else None,
        "rng_torch": streams.global_state(),
        "rng_dropout": streams.dropout.get_state() if streams.dropout is not None else None,
        "rng_train": state.rng.get_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if streams.device.type == "cuda" else None,
    }


def decode(ckpt: dict[str, Any], state: GanState, streams: Streams) -> tuple[int, dict[str, float], float, dict]:
    """Put a checkpoint's weights, optimizer moments and random states back; returns the
    iterations done, the last logged row, the seconds trained and the phases' seconds."""
    state.g.load_state_dict(ckpt["g"])
    state.d.load_state_dict(ckpt["d"])
    state.opt_g.load_state_dict(ckpt["opt_g"])
    state.opt_d.load_state_dict(ckpt["opt_d"])
    if state.opt_dg is not None:
        state.opt_dg.load_state_dict(ckpt["opt_dg"])
    if streams.dropout is None:
        torch.set_rng_state(ckpt["rng_torch"].cpu())
    elif ckpt.get("rng_dropout") is not None:  # a stacked member's own dropout stream
        streams.dropout.set_state(ckpt["rng_dropout"].cpu())  # generator states are CPU bytes on any device
    elif streams.device.type == "cpu":  # a run trained alone so far: its dropout stream was the global one
        streams.dropout.set_state(ckpt["rng_torch"].cpu())
    state.rng.set_state(ckpt["rng_train"].cpu())
    if ckpt.get("rng_cuda") is not None and streams.device.type == "cuda":
        torch.cuda.set_rng_state_all([t.cpu() for t in ckpt["rng_cuda"]])
    return int(ckpt["iteration"]), dict(ckpt.get("last") or {}), float(ckpt.get("elapsed", 0.0)), ckpt.get("phases") or {}


def start_from(ckpt: dict[str, Any], state: GanState) -> None:
    """Fine-tuning: another run's weights and Adam moments (its random states and schedule are
    not taken: the fine-tune is a run of its own). Raises what ``load_state_dict`` raises when
    the shapes differ."""
    state.g.load_state_dict(ckpt["g"])
    state.d.load_state_dict(ckpt["d"])
    state.opt_g.load_state_dict(ckpt["opt_g"])
    state.opt_d.load_state_dict(ckpt["opt_d"])

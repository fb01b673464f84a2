"""Scoring a generator: reference data for a run, samples from the evaluation stream,
8-bit quantisation as if saved to disk, and the metrics with their protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import RunConfig
from .data import TrainingData, unscale
from .data.registry import get as get_dataset
from .errors import GanstudyError
from .metrics import score_images
from .metrics.evaluator import Evaluator
from .metrics.reference import Reference, reference_stats
from .models import latent


def reference_choice(cfg: RunConfig) -> str:
    """Which real images a run is compared with: 'holdout', 'test' or 'train'."""
    choice = cfg.eval.reference
    if choice == "auto":
        # Held-out images when there are some; else the test split for a run trained on the
        # training split; else the images trained on (said so in the protocol's description).
        if cfg.data.holdout:
            return "holdout"
        return "test" if cfg.data.split == "train" else cfg.data.split
    return choice


def reference_for(cfg: RunConfig, data: TrainingData | None, evaluator: Evaluator,
                  data_root: str | Path | None = None) -> Reference:
    choice = reference_choice(cfg)
    n = cfg.eval.reference_samples
    if choice == "holdout":
        if data is None or data.holdout is None:
            raise GanstudyError(
                "eval.reference = 'holdout' needs data.holdout > 0 (images kept out of training); with data.split = "
                f"'{cfg.data.split}' set data.holdout, or eval.reference to 'test' or 'train'."
            )
        images, labels = data.holdout.images[:n], data.holdout.labels
        description = f"{cfg.data.dataset} {cfg.data.split} split, the {len(data.holdout)} held-out images"
    else:
        part = get_dataset(cfg.data.dataset).load(choice, Path(data_root) if data_root else None, cfg.data.path)
        images, labels = part.images[:n], part.labels
        description = f"{cfg.data.dataset} {choice} split"
        if choice == cfg.data.split:
            description += " (the images trained on)"
    labels = None if labels is None else labels[: len(images)]
    return reference_stats(evaluator, images, labels, f"{description}, first {len(images)}")


@torch.no_grad()
def generate(g: torch.nn.Module, cfg: RunConfig, n: int, seed: int, device: torch.device | str = "cpu",
             chunk: int = 500) -> np.ndarray:
    """``n`` samples as uint8 NHWC, from noise drawn by a generator of their own."""
    was_training = g.training
    g.eval()
    rng = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, n, chunk):
        z = latent(cfg.model, min(chunk, n - start), rng).to(device)
        out.append(unscale(g(z), cfg.data.scale).cpu().numpy())
    g.train(was_training)
    return np.concatenate(out)


def evaluate(g: torch.nn.Module, cfg: RunConfig, evaluator: Evaluator, reference: Reference, seed: int,
             device: torch.device | str = "cpu", samples: int | None = None) -> dict[str, Any]:
    images = generate(g, cfg, samples or cfg.eval.samples, seed, device)
    return score_images(evaluator, reference, images, cfg.eval.metrics)

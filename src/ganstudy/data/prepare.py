"""The training set a run's ``[data]`` asks for: a dataset's split, the hold-out kept for the
metrics, a limit, extra images, and pixel scaling to the generator's range and back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from ..base.errors import DataError
from .files import conform, load_images
from .registry import ImageSet, load_split
from .root import find_user_file


class DataOptions(Protocol):
    """What is read of a run's ``[data]`` (``spec.config.DataConfig`` is one): named here, so
    that data, a wing below the config's, needs nothing from it."""

    dataset: str
    split: str
    path: str | None
    image_size: int | None
    holdout: int
    limit: int | None
    extra: list[str]


@dataclass
class TrainingData:
    train: ImageSet  # what the GAN trains on (split minus hold-out, limited, plus extras)
    holdout: ImageSet | None  # kept aside for evaluation
    description: str

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.train.shape


def load_training_data(cfg: DataOptions, data_root: str | Path | None = None) -> TrainingData:
    path = str(find_user_file(cfg.path, data_root)) if cfg.path else None
    full = load_split(cfg.dataset, cfg.split, Path(data_root) if data_root else None, path, cfg.image_size)
    if cfg.holdout >= len(full):
        raise DataError(f"data.holdout = {cfg.holdout} leaves nothing to train on ({len(full)} images).")
    cut = len(full) - cfg.holdout
    train = full.take(slice(0, cut))
    holdout = full.take(slice(cut, None)) if cfg.holdout else None
    if cfg.limit is not None:
        train = train.take(slice(0, cfg.limit))
    parts = [f"{full.description}; training on {len(train)}"]
    if holdout is not None:
        parts.append(f"holding out the last {len(holdout)}")
    extras = []
    for path in cfg.extra:
        images = conform(load_images(find_user_file(path, data_root)), train.shape, f"data.extra '{path}'")
        extras.append(images)
        parts.append(f"plus {len(images)} extra images from {path}")
    if extras:
        labels = None
        if train.labels is not None:  # extras have no class: -1 keeps the arrays aligned
            labels = np.concatenate([train.labels] + [np.full(len(x), -1, np.int64) for x in extras])
        train = ImageSet(np.concatenate([train.images, *extras]), labels, train.description)
    return TrainingData(train, holdout, "; ".join(parts))


def scale(images: torch.Tensor, how: str) -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [0, 1] ('/255.0') or [-1, 1] ('/127.5 - 1')."""
    x = images.permute(0, 3, 1, 2).float()
    return x / 255.0 if how == "zero_one" else x / 127.5 - 1.0


def unscale(x: torch.Tensor, how: str) -> torch.Tensor:
    """Model output back to uint8 NHWC, clipped to the pixel range."""
    pixels = x * 255.0 if how == "zero_one" else (x + 1.0) * 127.5
    return pixels.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)

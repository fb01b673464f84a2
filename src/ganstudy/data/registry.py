"""Dataset registry: one name, one loader.

A loader turns (split, data root, optional path) into an :class:`ImageSet` of uint8 images
in NHWC layout. Adding a dataset is one function and one :func:`register` call (the built-ins
are in :mod:`.builtin`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..base.registry import Registry


@dataclass
class ImageSet:
    """Images as uint8 (N, H, W, C), labels as int64 (N,) when the dataset has them."""

    images: np.ndarray
    labels: np.ndarray | None
    description: str

    def __post_init__(self) -> None:
        assert self.images.dtype == np.uint8 and self.images.ndim == 4, self.images.shape

    def __len__(self) -> int:
        return len(self.images)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(H, W, C) of one image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def take(self, index: slice | np.ndarray) -> ImageSet:
        labels = None if self.labels is None else self.labels[index]
        return ImageSet(self.images[index], labels, self.description)


Loader = Callable[..., ImageSet]  # (split, data_root, path, size=None) -> ImageSet


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    load: Loader  # (split, data_root, path) -> ImageSet; a loader of images of many sizes also takes size
    summary: str
    needs_path: bool = False
    sized: bool = False  # its loader takes size= and brings each image to it (an image folder)


DATASETS: Registry[DatasetSpec] = Registry("dataset", group="ganstudy.datasets")
get, names = DATASETS.get, DATASETS.names


def register(spec: DatasetSpec) -> DatasetSpec:
    return DATASETS.register(spec.name, spec)


def load_split(name: str, split: str, data_root: Path | None, path: str | None, size: int | None = None) -> ImageSet:
    """A dataset's split, its images brought to ``size`` x ``size`` (``data.image_size``) when given:
    centre-cropped to a square, then resized."""
    from .files import square

    spec = get(name)
    if spec.sized:
        return spec.load(split, data_root, path, size=size)
    part = spec.load(split, data_root, path)
    return part if size is None else ImageSet(square(part.images, size), part.labels, part.description)

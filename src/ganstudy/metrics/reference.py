"""Reference statistics of real data, cached and content-addressed.

The key is a hash of what determines them: the evaluator's weights, the exact real images
(their bytes), and the sample count. The file holds the features (for the k-NN metrics),
their mean and covariance (for the Fréchet distance), the class probabilities and labels.
It is written atomically, and reused by every run, case and study that needs it.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..base.atomic import write_bytes
from ..base.paths import cache_dir
from .formulas import K_DC, K_PR, kth_neighbour_radii, mean_cov


@dataclass
class Reference:
    features: np.ndarray  # float32 (N, F)
    probs: np.ndarray | None  # float64 (N, classes); None for an evaluator without classes
    labels: np.ndarray | None  # the dataset's own labels, when it has them
    mu: np.ndarray
    sigma: np.ndarray
    radii: np.ndarray  # squared distances to the K_PR-th and K_DC-th nearest other reference image
    description: str  # e.g. "mnist test split [8000:10000], 2000 images"
    key: str

    @property
    def n(self) -> int:
        return len(self.features)


#: Bump when what a cache file holds changes, so old files are recomputed, not misread.
CACHE_FORMAT = 2


def reference_key(evaluator, images: np.ndarray) -> str:  # noqa: ANN001 - any evaluator (classifier or not)
    digest = hashlib.sha256()
    digest.update(f"format {CACHE_FORMAT}".encode())
    digest.update(evaluator.card["sha256"].encode())
    digest.update(str(images.shape).encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    return digest.hexdigest()[:24]


def reference_stats(evaluator, images: np.ndarray, labels: np.ndarray | None, description: str,  # noqa: ANN001
                    cache: Path | None = None) -> Reference:
    """Features and statistics of ``images``, from the cache when computed before."""
    key = reference_key(evaluator, images)
    path = (cache or cache_dir() / "reference") / f"{key}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                stored_labels = z["labels"] if z["labels"].size else None
                probs = z["probs"] if z["probs"].size else None
                return Reference(z["features"], probs, stored_labels, z["mu"], z["sigma"], z["radii"],
                                 str(z["description"]), key)
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is recomputed and replaced
    features, probs = evaluator.embed(images)
    mu, sigma = mean_cov(features)
    radii = kth_neighbour_radii(features, (K_PR, K_DC), squared=True)
    buffer = io.BytesIO()
    np.savez(buffer, features=features, probs=probs if probs is not None else np.zeros(0),
             labels=labels if labels is not None else np.zeros(0, np.int64),
             mu=mu, sigma=sigma, radii=radii, description=np.array(description))
    write_bytes(path, buffer.getvalue())
    return Reference(features, probs, labels, mu, sigma, radii, description, key)

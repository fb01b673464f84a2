"""The evaluator of data without labels (an image folder, an .npz, a .mat, the user's own
photos): features that need no classifier, fitted on the study's own reference images.

The network is a fixed random convolutional net (its weights are a pure function of a seed
and the image shape: nothing to train, nothing to download), pooled at three scales; its
features are then whitened by a PCA fitted on the reference images (kept to ``FEATURES``
dimensions), so every direction of variation of the real images counts alike. Random
convolutional features are known to order image distributions as learned ones do for the
Fréchet distance; ``tests/metrics/test_unlabelled.py`` checks that these order real < blurred <
noisy < shuffled pixels on colour data.

The fit is cached by the reference images' content: two studies on the same data share it,
and a study on other data gets other features. Its scores therefore compare the cases of
one study with each other, never with another study's (the report says so), and there are
no class-based metrics (classifier score, modes, collapse) without labels.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..base.atomic import write_bytes
from ..base.paths import cache_dir
from .evaluator import CHUNK, FEATURES, to_input

#: Bump when the network or the fit changes: it names the feature space in metric ids.
RECIPE = 1
SEED = 20261130


class RandomFeatureNet(nn.Module):
    """conv3x3 64-128-256 with ReLU and 2x2 average pooling, random (Kaiming) weights; features:
    each stage's channel means, and the last stage's 2x2 average map."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        rng = torch.Generator().manual_seed(SEED + channels)
        self.convs = nn.ModuleList([nn.Conv2d(c_in, c_out, 3, padding=1)
                                    for c_in, c_out in ((channels, 64), (64, 128), (128, 256))])
        for conv in self.convs:
            nn.init.kaiming_normal_(conv.weight, generator=rng)
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = []
        for i, conv in enumerate(self.convs):
            x = torch.relu(conv(x if i == 0 else nn.functional.avg_pool2d(x, 2)))
            outs.append(x.mean((2, 3)))
        outs.append(nn.functional.adaptive_avg_pool2d(x, 2).flatten(1))
        return torch.cat(outs, 1)


@dataclass
class UnlabelledEvaluator:
    """An evaluator with the interface of the classifier ones, without classes."""

    net: RandomFeatureNet
    mean: np.ndarray
    whiten: np.ndarray  # (raw features, FEATURES)
    card: dict[str, Any] = field(default_factory=dict)
    name: str = "unlabelled"

    @property
    def id(self) -> str:
        return f"unlabelled-{self.card['sha256'][:8]}"

    @torch.inference_mode()
    def raw(self, images: np.ndarray) -> np.ndarray:
        self.net.eval()
        return np.concatenate([self.net(to_input(images[i : i + CHUNK])).double().numpy()
                               for i in range(0, len(images), CHUNK)])

    def embed(self, images: np.ndarray) -> tuple[np.ndarray, None]:
        """(whitened features float32 (N, FEATURES), no class probabilities)."""
        return ((self.raw(images) - self.mean) @ self.whiten).astype(np.float32), None


def fit(reference: np.ndarray, description: str) -> UnlabelledEvaluator:
    """The evaluator whose whitening is fitted on ``reference`` (uint8 NHWC), from the cache
    when fitted before on the same images."""
    digest = hashlib.sha256(f"unlabelled recipe {RECIPE}".encode())
    digest.update(str(reference.shape).encode())
    digest.update(np.ascontiguousarray(reference).tobytes())
    key = digest.hexdigest()
    net = RandomFeatureNet(reference.shape[-1])
    path = cache_dir() / "unlabelled" / f"{key[:24]}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            mean, whiten = z["mean"], z["whiten"]
    except (OSError, ValueError, KeyError):
        evaluator = UnlabelledEvaluator(net, np.zeros(1), np.zeros(1))
        raw = evaluator.raw(reference)
        mean = raw.mean(0)
        _, s, vt = np.linalg.svd(raw - mean, full_matrices=False)
        keep = min(FEATURES, int((s > s[0] * 1e-6).sum()), len(reference) - 1)
        whiten = vt[:keep].T / (s[:keep] / np.sqrt(len(reference) - 1))
        buffer = io.BytesIO()
        np.savez(buffer, mean=mean, whiten=whiten)
        write_bytes(path, buffer.getvalue())
    card = {"dataset": description, "sha256": key, "classes": 0, "channels": reference.shape[-1],
            "size": reference.shape[1], "feature_size": int(whiten.shape[1]),
            "architecture": "random conv3x3 64-128-256 (ReLU, 2x2 average pooling), pooled at three scales, "
                            f"PCA-whitened on {len(reference)} reference images"}
    return UnlabelledEvaluator(net, mean, whiten, card)

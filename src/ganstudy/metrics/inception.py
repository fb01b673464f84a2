"""``eval.features = "inception"``: the Inception-v3 features of the FID and KID papers,
through torch-fidelity, so a result can be set beside published numbers.

An optional extra, imported only here: torch-fidelity needs a torchvision that matches the
installed torch, and its weights are downloaded once into torch's hub cache. Offline, or
without the package, this is one clear error. Inception was trained on large colour photos:
28x28 grey digits (repeated to three channels and resized) are far from what it knows, which
is why the evaluator networks of the datasets are the default.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..base.errors import GanstudyError

NAME = "inception-v3-compat"  # torch-fidelity's port of the TensorFlow FID network
FEATURES, LOGITS = "2048", "logits_unbiased"
CHUNK = 100


class InceptionEvaluator:
    """The interface of the other evaluators, over torch-fidelity's feature extractor."""

    name = "inception"

    def __init__(self, net: Any) -> None:
        self.net = net
        self.card = {"sha256": NAME + "-pt_inception-2015-12-05", "classes": 1008, "feature_size": 2048,
                     "architecture": f"Inception-v3 ({NAME}, torch-fidelity): pool3 features and unbiased logits"}

    @property
    def id(self) -> str:
        return NAME

    @torch.inference_mode()
    def embed(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(2048 pool3 features float32, class probabilities float64) of uint8 NHWC images."""
        x = torch.as_tensor(images).permute(0, 3, 1, 2)
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)  # grey to the three channels it expects
        feats, probs = [], []
        for start in range(0, len(x), CHUNK):
            f, logits = self.net(x[start : start + CHUNK].contiguous())
            feats.append(f.float().numpy())
            probs.append(torch.softmax(logits.double(), dim=1).numpy())
        return np.concatenate(feats), np.concatenate(probs)


def load() -> InceptionEvaluator:
    try:
        from torch_fidelity import FeatureExtractorInceptionV3
    except ImportError:
        raise GanstudyError(
            "eval.features = 'inception' needs torch-fidelity, an optional extra: `pip install torch-fidelity` "
            "(with a torchvision that matches your torch). Without it, leave eval.features at 'auto'.") from None
    try:
        net = FeatureExtractorInceptionV3(NAME, [FEATURES, LOGITS])
    except Exception as exc:  # noqa: BLE001 - a failed download, a damaged file: one message
        raise GanstudyError(
            f"eval.features = 'inception': its weights could not be loaded ({str(exc).splitlines()[0][:200]}). They "
            f"are downloaded once into torch's hub cache ({torch.hub.get_dir()}); offline, copy them there first.") from None
    return InceptionEvaluator(net.eval())

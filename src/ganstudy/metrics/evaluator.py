"""Evaluator networks: a small CNN classifier per dataset whose penultimate layer is the
feature space of the metrics (Inception does not suit 28x28 grey digits, and its weights
cannot be downloaded offline).

Weights for mnist, fashion-mnist and svhn-standin ship in ``ganstudy/metrics/evaluators/`` with a model
card (``<name>.json``: data used, held-out accuracy, feature size, the command that made
them, the SHA-256 of the weights). ``ganstudy evaluator train --dataset NAME`` trains one
deterministically for any labelled dataset; those go to the user cache.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..base.atomic import atomic_write, write_json
from ..base.errors import GanstudyError
from ..base.paths import cache_dir

SHIPPED = Path(__file__).parent / "evaluators"
FEATURES = 128
#: Images per forward pass. Features agree across batch sizes to float32 rounding (about 1e-6 relative):
#: oneDNN's convolutions are not bit-identical across batch compositions, and float64 would cost 4x.
CHUNK = 500

@dataclass(frozen=True)
class Protocol:
    """How a dataset's evaluator is trained and checked."""

    train: tuple[str, slice]  # (split, images) to train on
    held_out: tuple[str, slice]  # (split, images) its accuracy is measured on
    epochs: int
    shift: int  # random translations of up to this many pixels (0: none)


#: The MNIST training split is not available offline: its evaluator uses the test split, 8,000 to train
#: (with shifts, as 8,000 digits are few), the last 2,000 held out: the 2,000 that data.holdout keeps aside.
PROTOCOLS: dict[str, Protocol] = {
    "mnist": Protocol(("test", slice(0, 8000)), ("test", slice(8000, 10000)), epochs=30, shift=2),
    "fashion-mnist": Protocol(("train", slice(None)), ("test", slice(None)), epochs=15, shift=0),
    "svhn": Protocol(("train", slice(None)), ("test", slice(None)), epochs=10, shift=2),
    "svhn-standin": Protocol(("train", slice(None)), ("test", slice(None)), epochs=20, shift=2),
}
DEFAULT_PROTOCOL = Protocol(("train", slice(None)), ("test", slice(None)), epochs=10, shift=0)
ALIASES = {"mnist-mini": "mnist"}  # datasets that share another's evaluator


class EvaluatorNet(nn.Module):
    """conv16-pool-conv32-pool-conv64-pool -> dense 128 (the features) -> classes."""

    def __init__(self, channels: int = 1, size: int = 28, classes: int = 10) -> None:
        super().__init__()
        # ReLU in place: the same values, without a fresh 25 MB tensor per 500 images (embedding
        # 10,000 digits took 1.16 s, 0.68 s in place, one thread: a third of a run's final scoring).
        self.conv = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Flatten(),
        )
        side = size // 8
        self.embed = nn.Sequential(nn.Linear(64 * side * side, FEATURES), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(FEATURES, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(self.conv(x)))

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.embed(self.conv(x))
        return f, self.head(f)


def to_input(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W, C) -> float (N, C, H, W) in [-1, 1]."""
    x = torch.as_tensor(images)
    return x.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


@dataclass
class Evaluator:
    name: str
    net: EvaluatorNet
    card: dict[str, Any]

    @property
    def id(self) -> str:
        """Names the feature space in metric ids: dataset and the first 8 hex of the weights' hash."""
        return f"{self.name}-{self.card['sha256'][:8]}"

    @torch.inference_mode()
    def embed(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(features float32 (N, 128), class probabilities float64 (N, classes)) of uint8 NHWC images."""
        self.net.eval()
        feats, probs = [], []
        for start in range(0, len(images), CHUNK):
            f, logits = self.net.features_and_logits(to_input(images[start : start + CHUNK]))
            feats.append(f.numpy())
            probs.append(torch.softmax(logits.double(), dim=1).numpy())
        return np.concatenate(feats), np.concatenate(probs)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def find(dataset: str) -> tuple[Path, Path] | None:
    name = ALIASES.get(dataset, dataset)
    for folder in (SHIPPED, cache_dir() / "evaluators"):
        weights, card = folder / f"{name}.pt", folder / f"{name}.json"
        if weights.is_file() and card.is_file():
            return weights, card
    return None


def load(dataset: str) -> Evaluator:
    """The evaluator of ``dataset`` (shipped, or trained into the user cache), checksum-verified."""
    found = find(dataset)
    if found is None:
        raise GanstudyError(
            f"No evaluator network for dataset '{dataset}', so its metrics cannot be computed. Train one with "
            f"`ganstudy evaluator train --dataset {dataset}` (it needs the dataset's labels), then run again."
        )
    weights, card_path = found
    card = json.loads(card_path.read_text())
    digest = _sha256(weights)
    if digest != card["sha256"]:
        raise GanstudyError(f"{weights}: checksum {digest[:12]}... does not match its model card; the file is damaged.")
    net = EvaluatorNet(card["channels"], card["size"], card["classes"])
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return Evaluator(ALIASES.get(dataset, dataset), net.eval(), card)


def _shift(x: torch.Tensor, rng: torch.Generator, pixels: int = 2) -> torch.Tensor:
    """Random translations of up to ``pixels`` (zero padding): the augmentation that makes
    8,000 training digits enough."""
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (pixels,) * 4, value=-1.0)
    dy = torch.randint(0, 2 * pixels + 1, (n,), generator=rng)
    dx = torch.randint(0, 2 * pixels + 1, (n,), generator=rng)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(n, x.shape[1], h, w + 2 * pixels)
    out = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(n, x.shape[1], h, w)
    return out.gather(3, cols)


def train(dataset: str, data_root: str | Path | None = None, out_dir: str | Path | None = None, *,
          epochs: int | None = None, seed: int = 0, batch_size: int = 128, limit: int | None = None,
          log=print) -> dict[str, Any]:
    """Train the evaluator of ``dataset`` deterministically; write weights and card; return the card."""
    from ..data.registry import get as get_dataset

    name = ALIASES.get(dataset, dataset)
    protocol = PROTOCOLS.get(name, DEFAULT_PROTOCOL)
    train_part, held_part = protocol.train, protocol.held_out
    epochs = epochs or protocol.epochs
    spec = get_dataset(name)
    root = Path(data_root) if data_root else None
    train_set = spec.load(train_part[0], root, None).take(train_part[1])
    held_set = spec.load(held_part[0], root, None).take(held_part[1])
    if train_set.labels is None:
        raise GanstudyError(f"dataset '{name}' has no labels: an evaluator is a classifier and needs them.")
    if limit:
        train_set = train_set.take(slice(0, limit))
    classes = int(max(train_set.labels.max(), held_set.labels.max())) + 1
    h, w, c = train_set.shape
    torch.manual_seed(seed)
    net = EvaluatorNet(c, h, classes)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    rng = torch.Generator().manual_seed(seed)
    x_all = to_input(train_set.images)
    y_all = torch.as_tensor(train_set.labels)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(x_all), generator=rng)
        total = 0.0
        for start in range(0, len(perm), batch_size):
            idx = perm[start : start + batch_size]
            x = _shift(x_all[idx], rng, protocol.shift) if protocol.shift else x_all[idx]
            loss = nn.functional.cross_entropy(net(x), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        log(f"epoch {epoch + 1}/{epochs}: loss {total / len(perm):.4f}")
    evaluator = Evaluator(name, net.eval(), {"sha256": ""})
    _, probs = evaluator.embed(held_set.images)
    accuracy = float((probs.argmax(1) == held_set.labels).mean())
    out = Path(out_dir) if out_dir else cache_dir() / "evaluators"
    weights = out / f"{name}.pt"
    atomic_write(weights, lambda handle: torch.save(net.state_dict(), handle))
    card = {
        "dataset": name,
        "train_data": f"{name} {train_part[0]} split {_describe(train_part[1])} ({len(train_set)} images)",
        "held_out_data": f"{name} {held_part[0]} split {_describe(held_part[1])} ({len(held_set)} images)",
        "held_out_accuracy": round(accuracy, 4),
        "feature_size": FEATURES,
        "feature_layer": "ReLU(dense 128), the penultimate layer",
        "channels": c, "size": h, "classes": classes,
        "architecture": "conv3x3 16-32-64 with ReLU and 2x2 max-pool, dense 128, dropout 0.3, dense classes",
        "training": f"Adam 1e-3, cosine schedule, {epochs} epochs, batch {batch_size}, "
                    f"random shifts of up to {protocol.shift} px, seed {seed}",
        "command": f"ganstudy evaluator train --dataset {name} --epochs {epochs} --seed {seed}",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "train_seconds": round(time.perf_counter() - t0, 1),
        "sha256": _sha256(weights),
    }
    write_json(out / f"{name}.json", card)
    return card


def _describe(part: slice) -> str:
    if part.start is None and part.stop is None:
        return "(all)"
    return f"[{part.start or 0}:{part.stop}]"

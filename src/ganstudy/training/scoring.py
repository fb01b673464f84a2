"""Scoring a generator: reference data for a run, samples from the evaluation stream,
8-bit quantisation as if saved to disk, and the metrics with their protocol."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..base.atomic import write_json
from ..base.errors import GanstudyError
from ..base.paths import cache_dir
from ..data.prepare import TrainingData, load_training_data, unscale
from ..data.registry import load_split
from ..metrics.reference import Reference, reference_stats
from ..metrics.registry import MIN_IMAGES, score_embedded, score_images
from ..models.registry import latent
from ..spec.config import RunConfig


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


def reference_images(cfg: RunConfig, data: TrainingData | None,
                     data_root: str | Path | None = None) -> tuple[np.ndarray, np.ndarray | None, str]:
    """(images, labels, description) of the real images a run is compared with."""
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
        part = load_split(cfg.data.dataset, choice, Path(data_root) if data_root else None, cfg.data.path,
                          cfg.data.image_size)
        images, labels = part.images[:n], part.labels
        description = f"{cfg.data.dataset} {choice} split"
        if choice == cfg.data.split:
            description += " (the images trained on)"
    labels = None if labels is None else labels[: len(images)]
    return images, labels, f"{description}, first {len(images)}"


def reference_for(cfg: RunConfig, data: TrainingData | None, evaluator, data_root: str | Path | None = None) -> Reference:  # noqa: ANN001
    images, labels, description = reference_images(cfg, data, data_root)
    return reference_stats(evaluator, images, labels, description)


def scoring_setup(cfg: RunConfig, data: TrainingData | None, data_root: str | Path | None = None):  # noqa: ANN201
    """(evaluator, reference statistics) of a run: see :func:`evaluator_for`."""
    images, labels, description = reference_images(cfg, data, data_root)
    evaluator = evaluator_for(cfg, images, description)
    return evaluator, reference_stats(evaluator, images, labels, description)


def evaluator_for(cfg: RunConfig, reference: np.ndarray, description: str):  # noqa: ANN201
    """The evaluator ``eval.features`` asks for: the dataset's classifier evaluator (``auto``
    when it has one), the label-free one fitted on the ``reference`` images (``auto``
    otherwise: an image folder, an .npz, the user's own data), or Inception (an extra)."""
    from ..metrics import evaluator as classifier

    choice = cfg.eval.features
    if choice in ("auto", "classifier") and (classifier.find(cfg.data.dataset) or choice == "classifier"):
        return classifier.load(cfg.data.dataset)
    if choice == "inception":
        from ..metrics.inception import load as load_inception

        return load_inception()
    from ..metrics.unlabelled import fit

    return fit(reference, description)


#: Samples are generated (and embedded, by every evaluator) in chunks that divide this: the first
#: k * GENERATE_CHUNK of n samples are, bit for bit, the k * GENERATE_CHUNK samples drawn alone.
GENERATE_CHUNK = 500


@torch.no_grad()
def generate(g: torch.nn.Module, cfg: RunConfig, n: int, seed: int, device: torch.device | str = "cpu",
             chunk: int = GENERATE_CHUNK) -> np.ndarray:
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


def evaluate(g: torch.nn.Module, cfg: RunConfig, evaluator, reference: Reference, seed: int,  # noqa: ANN001
             device: torch.device | str = "cpu", samples: int | None = None) -> dict[str, Any]:
    images = generate(g, cfg, samples or cfg.eval.samples, seed, device)
    return score_images(evaluator, reference, images, cfg.eval.metrics)


def curve_shares_final(settings: Any) -> bool:
    """Is the curve's last point scored on the final score's first images (``settings`` is a
    run's EvalConfig)? Only where the curve has points and its sample is whole chunks."""
    return settings.curve_points > 0 and min(settings.curve_samples, settings.samples) % GENERATE_CHUNK == 0


def evaluate_with_curve(g: torch.nn.Module, cfg: RunConfig, evaluator, reference: Reference,  # noqa: ANN001
                        seed: int, device: torch.device | str, curve_samples: int) -> tuple[dict, dict]:
    """(the curve's last point, the final score) from one generation: the curve's images are the
    first ``curve_samples`` of the final's (same noise stream, same chunks), so they are
    generated and embedded once, and each score is what its own evaluation would give. Only
    for ``curve_samples`` a multiple of GENERATE_CHUNK (the noise of a shorter last chunk differs)."""
    if curve_samples % GENERATE_CHUNK:
        raise ValueError(f"curve_samples = {curve_samples} is not a multiple of {GENERATE_CHUNK}")
    n = max(cfg.eval.samples, curve_samples)
    feats, probs = evaluator.embed(generate(g, cfg, n, seed, device))
    head = (feats[:curve_samples], None if probs is None else probs[:curve_samples])
    curve = score_embedded(evaluator, reference, *head, cfg.eval.metrics)
    final = score_embedded(evaluator, reference, feats[: cfg.eval.samples],
                           None if probs is None else probs[: cfg.eval.samples], cfg.eval.metrics)
    return curve, final


@dataclass
class Resources:
    """What every run of one configuration shares: its data and, if it is scored, the
    evaluator and the reference statistics (loaded once for a seed group)."""

    data: Any  # TrainingData
    evaluator: Any = None
    reference: Any = None
    floor: dict[str, Any] | None = None  # real images scored like a generator (:func:`real_floor`)


def load_resources(cfg: RunConfig, data_root: str | Path | None, log: Callable[[str], None] | None = None) -> Resources:
    data = load_training_data(cfg.data, data_root)
    if log:
        log(f"data: {data.description}")
    if not cfg.eval.metrics:
        return Resources(data)
    if log:
        log("reference: the evaluator's features of the real images the scores compare with (cached once computed)")
    evaluator, reference = scoring_setup(cfg, data, data_root)
    return Resources(data, evaluator, reference, real_floor(cfg, data, evaluator, reference))


def real_floor(cfg: RunConfig, data: TrainingData, evaluator: Any, reference: Reference) -> dict[str, Any]:
    """The floor a generator's scores are read against: ``eval.samples`` real training images
    scored against the reference exactly as a generator's samples are. Made with the
    reference and cached beside it (once a machine), so that a run records it and a report
    reads it from the runs, never loading data or an evaluator itself."""
    n = min(cfg.eval.samples, len(data.train))
    if n < MIN_IMAGES:  # a run this small fails on its own reasons (its batch, its scoring), not on its floor
        return {"metrics": {}, "note": f"no real-vs-real floor: {n} training images, fewer than the {MIN_IMAGES} "
                                       "a score needs"}
    key = json.dumps([reference.key, evaluator.id, n, cfg.eval.metrics, data.description])
    path = cache_dir() / "floor" / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"
    try:
        floor = json.loads(path.read_text())
        if isinstance(floor, dict) and isinstance(floor.get("metrics"), dict):
            return floor
    except (OSError, ValueError):
        pass  # not made yet, or damaged: made again
    scored = score_images(evaluator, reference, data.train.images[:n], cfg.eval.metrics)
    floor = {"metrics": scored["metrics"],
             "note": f"{n} real training images scored against the reference ({reference.description})"}
    write_json(path, floor)
    return floor

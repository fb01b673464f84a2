"""The metric registry, and scoring with it.

Each metric is a pure function in :mod:`.formulas` plus a registered spec that says which
way is better (the built-ins in :mod:`.builtin`). :func:`score` computes all of them for a set of generated images
against cached reference statistics, and returns them with their protocol (evaluator,
sample counts, reference data), so two numbers measured differently are never compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..base.registry import Registry

if TYPE_CHECKING:
    from .evaluator import Evaluator
    from .reference import Reference


@dataclass
class Features:
    """What a metric sees of one image set."""

    features: np.ndarray
    probs: np.ndarray | None  # class probabilities; None for an evaluator without classes
    radii: np.ndarray | None = None  # squared k-NN radii (k=3, k=5), cached for reference data

    @property
    def labels(self) -> np.ndarray:
        return self.probs.argmax(axis=1)


@dataclass(frozen=True)
class MetricSpec:
    name: str
    lower_is_better: bool
    summary: str
    compute: Callable[[Features, Features], dict[str, float]]  # (real, fake) -> values (name first)
    needs_classes: bool = False  # computed only by an evaluator that classifies (not for unlabelled data)


METRICS: Registry[MetricSpec] = Registry("metric", group="ganstudy.metrics")
get, names = METRICS.get, METRICS.names


def register(spec: MetricSpec) -> MetricSpec:
    return METRICS.register(spec.name, spec)


def score(real: Features, fake: Features, metrics: list[str] | None = None) -> dict[str, float]:
    """Every requested metric (all by default); metrics sharing a computation run it once."""
    wanted = metrics or names()
    values: dict[str, float] = {}
    done: set[Callable] = set()
    for name in wanted:
        spec = get(name)
        if spec.compute in done or (spec.needs_classes and (real.probs is None or fake.probs is None)):
            continue  # computed already; or a class metric, and the evaluator has no classes
        done.add(spec.compute)
        values.update(spec.compute(real, fake))
    # A shared computation yields its siblings too; keep what was asked for (and companions like kid_se).
    registered = set(names())
    return {k: v for k, v in values.items() if k in wanted or k not in registered}


#: The fewest images a score is computed from (eval.samples' lowest value).
MIN_IMAGES = 10


def score_images(evaluator: Evaluator, reference: Reference, images: np.ndarray,
                 metrics: list[str] | None = None) -> dict[str, Any]:
    """Score uint8 NHWC images against a reference; the result carries its protocol."""
    if len(images) < MIN_IMAGES:  # a covariance, and the nearest neighbours of precision and density, need more
        from ..base.errors import GanstudyError

        raise GanstudyError(f"{len(images)} image{'s' if len(images) != 1 else ''} to score: the metrics need at "
                            f"least {MIN_IMAGES} (as eval.samples does).")
    return score_embedded(evaluator, reference, *evaluator.embed(images), metrics)


def score_embedded(evaluator: Evaluator, reference: Reference, feats: np.ndarray, probs: np.ndarray | None,
                   metrics: list[str] | None = None) -> dict[str, Any]:
    """Score images already embedded by ``evaluator`` (features and class probabilities)."""
    values = score(Features(reference.features, reference.probs, reference.radii), Features(feats, probs), metrics)
    return {"metrics": values, "protocol": protocol(evaluator, reference, len(feats))}


def protocol(evaluator: Evaluator, reference: Reference, n_generated: int) -> dict[str, Any]:
    return {
        "id": f"{evaluator.id}/gen{n_generated}/ref{reference.n}-{reference.key[:8]}",
        "evaluator": evaluator.id,
        "generated": n_generated,
        "reference": reference.description,
        "reference_images": reference.n,
    }

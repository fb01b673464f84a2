"""Objective quality metrics in an evaluator network's feature space.

Each metric is a pure function in :mod:`.math` plus a registered wrapper here that says
which way is better. :func:`score` computes all of them for a set of generated images
against cached reference statistics, and returns them with their protocol (evaluator,
sample counts, reference data), so two numbers measured differently are never compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..registry import Registry
from . import math as m

if TYPE_CHECKING:
    from .evaluator import Evaluator
    from .reference import Reference


K_PR, K_DC = 3, 5  # neighbours for precision/recall and for density/coverage, as in their papers


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


def _fid(real: Features, fake: Features) -> dict[str, float]:
    return {"fid": m.frechet_distance(*m.mean_cov(real.features), *m.mean_cov(fake.features))}


def _kid(real: Features, fake: Features) -> dict[str, float]:
    value, se = m.kid(real.features, fake.features)
    return {"kid": value, "kid_se": se}


def _manifold(real: Features, fake: Features) -> dict[str, float]:
    """Precision, recall (k=3), density and coverage (k=5): one pass over the distances."""
    r = m.manifold_metrics(real.features, fake.features, k_pr=K_PR, k_dc=K_DC, real_radii=real.radii)
    return {"precision": r.precision, "recall": r.recall, "density": r.density, "coverage": r.coverage}


def _classifier_score(real: Features, fake: Features) -> dict[str, float]:
    value, std = m.classifier_score(fake.probs)
    return {"classifier_score": value, "classifier_score_std": std}


def _modes(real: Features, fake: Features) -> dict[str, float]:
    covered, kl = m.mode_stats(fake.labels, real.labels, real.probs.shape[1])
    return {"mode_kl": kl, "classes_covered": float(covered)}


register(MetricSpec("fid", True, "Fréchet distance of evaluator features (FID-like)", _fid))
register(MetricSpec("kid", True, "kernel inception-style distance, unbiased, with standard error", _kid))
register(MetricSpec("precision", False, "share of generated images on the real manifold (k=3)", _manifold))
register(MetricSpec("recall", False, "share of real images on the generated manifold (k=3)", _manifold))
register(MetricSpec("density", False, "how densely generated images fill real neighbourhoods (k=5)", _manifold))
register(MetricSpec("coverage", False, "share of real neighbourhoods holding a generated image (k=5)", _manifold))
register(MetricSpec("classifier_score", False, "Inception-Score-like, with the evaluator's classifier", _classifier_score,
                    needs_classes=True))
register(MetricSpec("mode_kl", True, "KL of the real class histogram to the generated one", _modes, needs_classes=True))
register(MetricSpec("classes_covered", False, "classes that get at least 10% of their real share", _modes,
                    needs_classes=True))


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


def score_images(evaluator: Evaluator, reference: Reference, images: np.ndarray,
                 metrics: list[str] | None = None) -> dict[str, Any]:
    """Score uint8 NHWC images against a reference; the result carries its protocol."""
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

"""The built-in metrics: FID, KID, precision, recall, density, coverage (one pass for the
four), the classifier score and the class coverage, each a registered wrapper of a formula
that says which way is better."""

from __future__ import annotations

from . import formulas as m
from .formulas import K_DC, K_PR
from .registry import Features, MetricSpec, register


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

"""Synthetic studies that show the decision procedure's error rates and power.

The per-run results of a GAN study are drawn in units of the seed-to-seed standard
deviation (seed-SD): the baseline at 0, a case at its true effect. ``SCENARIOS`` are the
distributions met in practice: normal spread; heavy tails (Student t with 3 degrees of
freedom); right-skewed spread; 1 seed in 6 collapsing to a far value (25 seed-SDs away,
flagged as a failure); the same far values unflagged (an evaluator without classes cannot
tell a collapse); 1 seed in 6 diverging (no metric, a failure).
Every simulated study goes through ``procedure.decide``, the code that decides real
studies, vectorised over thousands of studies. Monte-Carlo error is given as a 95%
Clopper-Pearson interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..registry import Registry
from .procedure import IMPROVES, NO_EFFECT, WORSENS, Decisions, Design, decide
from .tests import binomial_ci

#: (rng, shape) -> (values in seed-SDs with NaN for no metric, failed flags)
Scenario = Callable[[np.random.Generator, tuple[int, ...]], tuple[np.ndarray, np.ndarray]]
SCENARIOS: Registry[Scenario] = Registry("scenario")


def _no_failures(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x, np.zeros(x.shape, bool)


SCENARIOS.register("normal", lambda rng, shape: _no_failures(rng.normal(0, 1, shape)))
SCENARIOS.register("heavy tails", lambda rng, shape: _no_failures(rng.standard_t(3, shape) / np.sqrt(3)))


def _skewed(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    s = 0.8  # a lognormal standardised to mean 0 and SD 1
    mean, var = np.exp(s**2 / 2), (np.exp(s**2) - 1) * np.exp(s**2)
    return _no_failures((rng.lognormal(0, s, shape) - mean) / np.sqrt(var))


def _far(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """1 run in 6 lands 25 +- 5 seed-SDs away (a collapse's metric), flagged as a failure or not."""
    far = rng.random(shape) < 1 / 6
    return np.where(far, 25 + 5 * rng.normal(0, 1, shape), rng.normal(0, 1, shape)), far


def _diverge(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    failed = rng.random(shape) < 1 / 6
    return np.where(failed, np.nan, rng.normal(0, 1, shape)), failed


SCENARIOS.register("skewed", _skewed)
SCENARIOS.register("1 in 6 collapses", _far)
SCENARIOS.register("1 in 6 far, unflagged", lambda rng, shape: _no_failures(_far(rng, shape)[0]))
SCENARIOS.register("1 in 6 diverges", _diverge)


def simulate(design: Design, effects: np.ndarray | list[float], band: float, scenario: str = "normal",
             studies: int = 4000, seed: int = 0) -> Decisions:
    """``studies`` synthetic studies of ``len(effects)`` cases (true differences in seed-SDs,
    positive = worse, lower is better) against one baseline, decided by ``design``."""
    rng = np.random.default_rng(seed)
    effects = np.asarray(effects, dtype=np.float64)
    shape = (studies, len(effects) + 1, design.looks[-1])
    values, failed = SCENARIOS.get(scenario)(rng, shape)
    values = values + np.concatenate([[0.0], effects])[:, None]
    done = np.ones(shape, bool)
    return decide(values, failed, done, done, band, design, lower_is_better=True)


@dataclass
class Rate:
    """A Monte-Carlo estimate of a probability with its 95% interval."""

    hits: int
    trials: int

    @property
    def value(self) -> float:
        return self.hits / self.trials

    @property
    def ci(self) -> tuple[float, float]:
        return binomial_ci(self.hits, self.trials)

    def __str__(self) -> str:
        low, high = self.ci
        return f"{self.value:.3f} [{low:.3f}, {high:.3f}]"


def _rate(mask: np.ndarray) -> Rate:
    return Rate(int(mask.sum()), int(mask.size))


def false_effects(design: Design, scenario: str, cases: int = 12, band: float = 0.0, at_edge: bool = False,
                  studies: int = 4000, seed: int = 0) -> tuple[Rate, Rate]:
    """(per case, per study) rates of a false 'improves' or 'worsens'. With ``at_edge`` every
    case sits exactly at the band's edge (+band: the hardest true null for 'worsens');
    otherwise the study is A/A (every case equals the baseline)."""
    effects = np.full(cases, band if at_edge else 0.0)
    d = simulate(design, effects, band, scenario, studies, seed)
    wrong = np.isin(d.verdict, (IMPROVES, WORSENS))
    return _rate(wrong), _rate(wrong.any(-1))


def false_no_effect(design: Design, scenario: str, band: float = 1.0, cases: int = 12, studies: int = 4000,
                    seed: int = 0) -> Rate:
    """Rate of 'no effect' for cases whose true difference is exactly the band's edge."""
    d = simulate(design, np.full(cases, band), band, scenario, studies, seed)
    return _rate(d.verdict == NO_EFFECT)


def power(design: Design, beyond: float, cases: int = 12, band: float = 0.0, scenario: str = "normal",
          studies: int = 4000, seed: int = 0) -> tuple[Rate, float]:
    """Chance that one case, ``beyond`` seed-SDs worse than the band's edge, is found 'worsens'
    while the study's other cases are A/A; and the mean seeds it took."""
    effects = np.zeros(cases)
    effects[0] = band + beyond
    d = simulate(design, effects, band, scenario, studies, seed)
    return _rate(d.verdict[:, 0] == WORSENS), float(d.seeds[:, 0].mean())

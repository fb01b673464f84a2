"""Synthetic studies that show the decision procedure's error rates and power, in the regimes
GAN studies live in.

The per-run results of a study are drawn in units of the seed-to-seed standard deviation
(seed-SD) of a run that trained: the baseline at 0, a case at its true difference (positive
= worse: lower is better). ``FAMILIES`` are the distributions met in practice, failure modes
included:

- normal, heavy-tailed (Student t, 3 degrees of freedom) and right-skewed spread;
- collapses at 10-50% of the runs, landing on *nearly the same* far value (a collapsed
  generator scores about the same every time: 25 seed-SDs away, +-0.01), flagged as failures;
- 1 run in 6 far away and not flagged (an evaluator without classes cannot tell a collapse);
- divergence at 10-70% of the runs (no metric, a failure);
- a metric that takes few values: rounded to a coarse resolution (1.7 seed-SDs), or two
  values only (classes covered 9 or 10);
- unequal spreads: every case 3x the baseline's seed-SD, or the baseline 3x the cases'.

With ``band=None`` the band comes from the data as in a real study (a share of the
baseline's median at the first look, over its runs that did not fail), so its noise is
inside the simulated rates. Every simulated study goes through ``procedure.decide``, the
code that decides real studies, vectorised over thousands of studies. Monte-Carlo error is
given as a 95% Clopper-Pearson interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..base.registry import Registry
from .design import IMPROVES, NO_EFFECT, WORSENS, Design, baseline_band
from .procedure import Decisions, decide
from .twosample import binomial_ci

#: (rng, shape (studies, arms, seeds), true differences per arm (the baseline's is 0)) ->
#: (values in seed-SDs with NaN for no metric, failed flags)
Draw = Callable[[np.random.Generator, tuple[int, ...], np.ndarray], tuple[np.ndarray, np.ndarray]]
FAMILIES: Registry[Draw] = Registry("failure family")
#: Where a collapse lands (seed-SDs worse than a run that trained), and how little it varies.
COLLAPSE_AT, COLLAPSE_SPREAD = 25.0, 0.01
#: A real study's band is a share of the baseline's median; its location in seed-SDs (FID
#: about 290 with seeds spreading by 15, the share 5%: a band of about 1 seed-SD).
LOCATION, RELATIVE_BAND = 20.0, 0.05
RESOLUTION = 1 / 0.6  # seed-SDs between two values a rounded metric can take


def _shifted(noise: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]) -> Draw:
    def draw(rng: np.random.Generator, shape: tuple[int, ...], effects: np.ndarray):
        return noise(rng, shape) + effects[:, None], np.zeros(shape, bool)
    return draw


def _skewed(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    s = 0.8  # a lognormal standardised to mean 0 and SD 1
    mean, var = np.exp(s**2 / 2), (np.exp(s**2) - 1) * np.exp(s**2)
    return (rng.lognormal(0, s, shape) - mean) / np.sqrt(var)


def _collapsing(rate: float) -> Draw:
    def draw(rng, shape, effects):
        failed = rng.random(shape) < rate
        x = rng.normal(0, 1, shape) + effects[:, None]
        return np.where(failed, COLLAPSE_AT + COLLAPSE_SPREAD * rng.normal(0, 1, shape), x), failed
    return draw


def _far_unflagged(rng, shape, effects):
    far = rng.random(shape) < 1 / 6
    x = np.where(far, 25 + 5 * rng.normal(0, 1, shape), rng.normal(0, 1, shape)) + effects[:, None]
    return x, np.zeros(shape, bool)


def _diverging(rate: float) -> Draw:
    def draw(rng, shape, effects):
        failed = rng.random(shape) < rate
        return np.where(failed, np.nan, rng.normal(0, 1, shape) + effects[:, None]), failed
    return draw


def _rounded(rng, shape, effects):
    x = rng.normal(0, 1, shape) + effects[:, None]
    return np.round(x / RESOLUTION) * RESOLUTION, np.zeros(shape, bool)


def _two_values(rng, shape, effects):
    """0 or 2 (SD 1 at even odds), the higher value's chance moved by half the true difference."""
    chance = np.clip(0.5 + effects[:, None] / 2, 0, 1)
    return 2.0 * (rng.random(shape) < chance), np.zeros(shape, bool)


def _spread(case: float, baseline: float) -> Draw:
    def draw(rng, shape, effects):
        scale = np.where(np.arange(shape[-2]) == 0, baseline, case)[:, None]
        return rng.normal(0, 1, shape) * scale + effects[:, None], np.zeros(shape, bool)
    return draw


FAMILIES.register("normal", _shifted(lambda rng, shape: rng.normal(0, 1, shape)))
FAMILIES.register("heavy tails", _shifted(lambda rng, shape: rng.standard_t(3, shape) / np.sqrt(3)))
FAMILIES.register("skewed", _shifted(_skewed))
for _rate in (0.1, 0.2, 0.3, 0.5):
    FAMILIES.register(f"{_rate:.0%} collapse onto one value", _collapsing(_rate))
FAMILIES.register("1 in 6 far, unflagged", _far_unflagged)
for _rate in (0.1, 0.3, 0.5, 0.7):
    FAMILIES.register(f"{_rate:.0%} diverge", _diverging(_rate))
FAMILIES.register("rounded (ties)", _rounded)
FAMILIES.register("two values (ties)", _two_values)
FAMILIES.register("cases spread 3x", _spread(3.0, 1.0))
FAMILIES.register("baseline spreads 3x", _spread(1.0, 3.0))


def simulate(design: Design, effects: np.ndarray | list[float], band: float | None, family: str = "normal",
             studies: int = 4000, seed: int = 0) -> Decisions:
    """``studies`` synthetic studies of ``len(effects)`` cases (true differences in seed-SDs,
    positive = worse, lower is better) against one baseline, decided by ``design``. ``band``
    None: the band comes from the data (``RELATIVE_BAND`` of the baseline's median at the first
    look, around ``LOCATION``), as in a real study."""
    rng = np.random.default_rng(seed)
    effects = np.concatenate([[0.0], np.asarray(effects, dtype=np.float64)])
    shape = (studies, len(effects), design.baseline_looks[-1])
    values, failed = FAMILIES.get(family)(rng, shape, effects)
    done = np.ones(shape, bool)
    if band is None:
        values = values + LOCATION
        band = baseline_band(values[:, 0], failed[:, 0], design.baseline_looks[0], RELATIVE_BAND)
    return decide(values, failed, done, done, band, design, lower_is_better=True)


def intended_band(band: float | None) -> float:
    """The band a study means: the given one, or the data's when the truth is known."""
    return RELATIVE_BAND * LOCATION if band is None else band


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


def rate(mask: np.ndarray) -> Rate:
    return Rate(int(mask.sum()), int(mask.size))


def false_effects(design: Design, family: str, cases: int = 12, band: float | None = 0.0, at_edge: bool = False,
                  studies: int = 4000, seed: int = 0) -> tuple[Rate, Rate]:
    """(per case, per study) rates of a false 'improves' or 'worsens'. With ``at_edge`` every
    case sits exactly at the (intended) band's edge (the hardest true null for 'worsens');
    otherwise the study is A/A (every case equals the baseline)."""
    d = simulate(design, np.full(cases, intended_band(band) if at_edge else 0.0), band, family, studies, seed)
    wrong = np.isin(d.verdict, (IMPROVES, WORSENS))
    return rate(wrong), rate(wrong.any(-1))


def false_no_effect(design: Design, family: str, band: float | None = 1.0, cases: int = 12, studies: int = 4000,
                    seed: int = 0) -> Rate:
    """Rate of 'no effect' for cases whose true difference is exactly the (intended) band's edge."""
    d = simulate(design, np.full(cases, intended_band(band)), band, family, studies, seed)
    return rate(d.verdict == NO_EFFECT)


def power(design: Design, beyond: float, cases: int = 12, band: float = 0.0, family: str = "normal",
          studies: int = 4000, seed: int = 0) -> tuple[Rate, float]:
    """Chance that one case, ``beyond`` seed-SDs worse than the band's edge, is found 'worsens'
    while the study's other cases are A/A; and the mean seeds it took."""
    effects = np.zeros(cases)
    effects[0] = band + beyond
    d = simulate(design, effects, band, family, studies, seed)
    return rate(d.verdict[:, 0] == WORSENS), float(d.seeds[:, 0].mean())


def runs(design: Design, d: Decisions) -> np.ndarray:
    """Runs each simulated study trained: its cases' seeds, and the baseline's for its longest case."""
    longest = d.seeds.max(-1)
    return d.seeds.sum(-1) + np.ceil(design.baseline_share * longest - 1e-9)


def spend(design: Design, effects: list[float], band: float = 1.0, studies: int = 4000,
          seed: int = 7) -> tuple[float, float]:
    """(share of the real effects found, mean runs of the whole study)."""
    effects_ = np.asarray(effects)
    d = simulate(design, effects_, band, studies=studies, seed=seed)
    real = effects_ != 0
    found = float((d.verdict[:, real] == WORSENS).mean()) if real.any() else float("nan")
    return found, float(runs(design, d).mean())

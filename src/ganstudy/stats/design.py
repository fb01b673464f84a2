"""The design of a study's statistics: the looks (at how many seeds the data are analysed),
alpha and how it is spent over the looks, the error control across cases, the pairing of
seeds, futility, and the baseline's share of seeds; and the verdict codes every stats module
speaks. ``procedure.py`` decides with a design; ``futility.py`` and ``simulate.py`` read one."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from . import boundaries

INCONCLUSIVE, IMPROVES, WORSENS, NO_EFFECT = 0, 1, 2, 3
VERDICTS = {INCONCLUSIVE: "inconclusive", IMPROVES: "improves", WORSENS: "worsens", NO_EFFECT: "no effect"}
ERROR_CONTROLS = ("holm", "fdr")
PAIRINGS = ("none", "seed")
#: An adaptive study's baseline gets this many times the seeds of each look: it is compared
#: with every case, so a seed of it serves them all (Dunnett's allocation; docs/statistics.md).
BASELINE_SHARE = 1.5


def schedule(first: int, last: int) -> tuple[int, ...]:
    """The looks of an adaptive study: start at ``first`` seeds, add about half as many again
    each round (3 -> 5 -> 8 -> 12), end at ``last`` (a last step much shorter than the others
    is merged into the one before: 3 -> 5 -> 9, not 3 -> 5 -> 8 -> 9)."""
    looks = [first]
    while looks[-1] < last:
        nxt = looks[-1] + max(1, math.ceil(looks[-1] / 2))
        if last - nxt < math.ceil(nxt / 2) / 2:  # a last step of a seed or two: one look fewer instead
            nxt = last
        looks.append(min(last, nxt))
    return tuple(looks)


@dataclass(frozen=True)
class Design:
    looks: tuple[int, ...]
    alpha: float = 0.05
    error_control: str = "holm"
    pairing: str = "none"
    futility: bool = True  # an adaptive case that cannot be decided by the last look stops early
    rho: float = boundaries.RHO  # alpha spent by a look: (n / n_last) ** rho of it
    baseline_share: float = 1.0  # the baseline's seeds at a look: ceil(this x the cases')

    def __post_init__(self) -> None:
        if self.error_control not in ERROR_CONTROLS or self.pairing not in PAIRINGS:
            raise ValueError(f"error_control in {ERROR_CONTROLS}, pairing in {PAIRINGS}")
        if self.baseline_share < 1 or (self.pairing == "seed" and self.baseline_share != 1):
            raise ValueError("baseline_share is at least 1, and 1 when seeds pair")

    @classmethod
    def fixed(cls, seeds: int, **kw) -> Design:
        return cls((seeds,), **kw)

    @classmethod
    def adaptive(cls, first: int, last: int, **kw) -> Design:
        """Looks from ``first`` to ``last`` seeds a case; the baseline gets ``BASELINE_SHARE`` x
        (unless seeds pair: then each case's seed meets the baseline's)."""
        kw.setdefault("baseline_share", 1.0 if kw.get("pairing") == "seed" else BASELINE_SHARE)
        return cls(schedule(first, last), **kw)

    @property
    def baseline_looks(self) -> tuple[int, ...]:
        """The baseline's seeds at each look."""
        return tuple(math.ceil(self.baseline_share * n - 1e-9) for n in self.looks)

    def baseline_seeds(self, case_seeds: int) -> int:
        """The baseline's seeds when its longest case has ``case_seeds``."""
        return math.ceil(self.baseline_share * case_seeds - 1e-9)

    @property
    def adaptive_(self) -> bool:
        return len(self.looks) > 1

    @property
    def spent_by(self) -> np.ndarray:
        """The cumulative share of alpha each look may have spent."""
        return boundaries.spending(self.looks, self.rho)

    @property
    def share(self) -> np.ndarray:
        """The share of alpha each look spends (increments of ``spent_by``)."""
        return np.diff(self.spent_by, prepend=0.0)

    def nominal(self, look: int | np.ndarray, one_sided: float | np.ndarray) -> np.ndarray:
        """The one-sided nominal level a look's test must reach for a one-sided total."""
        return boundaries.level(self.looks, look, one_sided, self.rho)

    def sequential(self, look: int, p: np.ndarray) -> np.ndarray:
        """The one-sided sequential p of a one-sided nominal p at a look."""
        return boundaries.spent(self.looks, look, p, self.rho)

    def level(self, look: int | np.ndarray, equivalence: bool = False) -> np.ndarray:
        """The nominal confidence of the interval shown at a look (a repeated interval whose
        coverage over all looks is ``claimed``): each side a one-sided test at the look's
        level for alpha / 2 (alpha for equivalence)."""
        return 1 - 2 * self.nominal(look, self.alpha if equivalence else self.alpha / 2)

    def claimed(self, equivalence: bool = False) -> float:
        """What an interval shown at any look covers, whatever look a case stopped at."""
        return 1 - (2 if equivalence else 1) * self.alpha


def baseline_band(values: np.ndarray, failed: np.ndarray, first: int, relative: float) -> np.ndarray:
    """A relative equivalence band fixed before any verdict: ``relative`` x |the median of the
    baseline's runs at the first look that did not fail| (a collapse's far value never moves
    it), along the last axis; NaN where none has a value."""
    x = np.where(failed[..., :first], np.nan, np.asarray(values, dtype=np.float64)[..., :first])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row: NaN, said by the caller
        return relative * np.abs(np.nanmedian(x, -1))

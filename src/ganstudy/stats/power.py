"""What a design can find, before any training: the power arithmetic behind ``ganstudy plan``
and the "seeds that would settle it" of an inconclusive case.

Effects are in seed-SDs (the spread of one configuration's metric across seeds) *beyond the
equivalence band*: a change must first differ by the band, then by this much more, to be
called better or worse. The numbers come from the same simulation that checks the error
rates (``simulate.py``), on normal spread, so they agree with the published power table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .design import NO_EFFECT, WORSENS, Design
from .simulate import simulate
from .twosample import fisher_p

POWER = 0.8
STUDIES = 1000
#: Beyond this many seed-SDs a design "cannot decide": real changes are rarely that large.
HOPELESS = 4.0


def _bisect(found, low: float, high: float, steps: int = 14) -> float:
    """Smallest x in [low, high] with found(x) >= POWER (found increasing in x); inf if none."""
    if found(high) < POWER:
        return math.inf
    for _ in range(steps):
        mid = (low + high) / 2
        low, high = (low, mid) if found(mid) >= POWER else (mid, high)
    return high


def detectable_effect(design: Design, cases: int, studies: int = STUDIES) -> float:
    """Smallest effect beyond the band (seed-SDs) that one case among ``cases`` (the others
    without effect) is found to have with 80% power."""
    def found(beyond: float) -> float:
        d = simulate(design, [beyond] + [0.0] * (cases - 1), 0.0, studies=studies, seed=11)
        return float((d.verdict[:, 0] == WORSENS).mean())

    return _bisect(found, 0.0, 30.0)


def equivalence_band_needed(design: Design, studies: int = STUDIES) -> float:
    """Smallest band (seed-SDs) inside which a case equal to the baseline is found to have
    'no effect' with 80% power ('no effect' is decided case by case, not adjusted)."""
    def found(band: float) -> float:
        d = simulate(design, [0.0], band, studies=studies, seed=12)
        return float((d.verdict[:, 0] == NO_EFFECT).mean())

    return _bisect(found, 0.0, 30.0)


def failures_from(design: Design, cases: int) -> int | None:
    """Fewest seeds at which a case whose every run fails, against none of the baseline's, is
    found to worsen (Fisher's exact p = 1 / C(n + m, n) one-sided, two-sided at most twice that,
    against the failure test's part of Holm's first step at that look: ``procedure``)."""
    for look, (n, m) in enumerate(zip(design.looks, design.baseline_looks)):
        if fisher_p(n, n, 0, m) <= design.alpha * float(design.share[look]) / (2 * cases):
            return n
    return None


@dataclass
class PlanPower:
    """What ``ganstudy plan`` says about a study's statistics."""

    design: Design
    cases: int
    detectable: float  # seed-SDs beyond the band
    band_needed: float  # seed-SDs
    failures_from: int | None
    spread: float | None = None  # the baseline's seed-SD in metric units, once it has run
    band: float | None = None  # the band in metric units, once the baseline has run

    @property
    def can_decide(self) -> bool:
        return self.detectable <= HOPELESS or self.failures_from is not None

    def lines(self, metric: str) -> list[str]:
        d = self.design
        seeds = f"{d.looks[0]} seeds" if len(d.looks) == 1 else \
            f"{d.looks[0]} to {d.looks[-1]} seeds a case (looks at {', '.join(map(str, d.looks))}" + (
                f"; the baseline {', '.join(map(str, d.baseline_looks))}" if d.baseline_share != 1 else "") + ")"
        control = "Holm (family-wise)" if d.error_control == "holm" else "Benjamini-Hochberg (false discovery rate)"
        out = [f"statistics: {self.cases} case{'s' if self.cases != 1 else ''} against the baseline, {seeds}, "
               f"{'paired by seed' if d.pairing == 'seed' else 'unpaired'}, alpha {d.alpha:g}, {control}"]
        if math.isinf(self.detectable):
            out.append(f"  improves/worsens: no difference in {metric} can be shown with these seeds")
        else:
            text = f"{self.detectable:.1f} seed-SDs"
            if self.spread is not None and self.band is not None:
                text += f" (the baseline's seed-SD is {self.spread:.4g}: a difference of {self.band + self.detectable * self.spread:.4g} {metric}, the band {self.band:.4g} included)"
            out.append(f"  improves/worsens: found with 80% power when a case differs from the baseline by the "
                       f"equivalence band plus {text}")
        if math.isinf(self.band_needed):
            out.append("  no effect: cannot be shown with these seeds")
        else:
            have = ""
            if self.spread and self.band is not None:
                have = f"; this study's band is {self.band / self.spread:.1f} seed-SDs"
            out.append(f"  no effect: shown with 80% power for an unchanged case when the band is at least "
                       f"{self.band_needed:.1f} seed-SDs{have}")
        out.append(f"  failures: a case whose every run diverges or collapses is found from {self.failures_from} seeds"
                   if self.failures_from else "  failures: no count of diverged or collapsed runs can be shown "
                   "with these seeds")
        return out


def plan_power(design: Design, cases: int, spread: float | None = None, band: float | None = None) -> PlanPower:
    return PlanPower(design, cases, detectable_effect(design, max(cases, 1)), equivalence_band_needed(design),
                     failures_from(design, max(cases, 1)), spread, band)


def seeds_to_settle(diff: float, spread: float, band: float, alpha: float, cases: int, pairing: str = "none",
                    have: int = 0, cap: int = 200) -> int | None:
    """About how many seeds per arm would settle a case with 80% power if its observed
    difference and the runs' spread were the truth: normal theory (noncentral t), the first
    step of Holm for an effect, one case for 'no effect'. None when nothing would."""
    if not (spread > 0 and math.isfinite(spread) and math.isfinite(diff)):
        return None
    ns = np.arange(max(have + 1, 2), cap + 1)
    if pairing == "seed":
        df, se = ns - 1.0, spread / np.sqrt(ns)
    else:
        df, se = 2 * ns - 2.0, spread * np.sqrt(2 / ns)
    if abs(diff) > band:  # show the effect: |diff| - band beyond a two-sided alpha / cases test
        crit = stats.t.ppf(1 - alpha / (2 * max(cases, 1)), df)
        power = stats.nct.sf(crit, df, (abs(diff) - band) / se)
    else:  # show equivalence: both one-sided tests at alpha
        crit = stats.t.ppf(1 - alpha, df)
        power = stats.nct.sf(crit, df, (band - abs(diff)) / se) + stats.nct.sf(crit, df, (band + abs(diff)) / se) - 1 \
            if band > 0 else np.zeros(len(ns))
    hit = np.nonzero(power >= POWER)[0]
    return int(ns[hit[0]]) if len(hit) else None

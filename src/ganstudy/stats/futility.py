"""Futility: an adaptive case that cannot be decided by the study's last look stops early.

Most cases of an ablation study change little; without this rule each of them would run to
the most seeds the study allows and end inconclusive anyway, and the baseline with them.
At each look before the last, for each undecided case, the *predictive* chance that the last
look decides it is computed: the final difference is predicted from the current one with
the uncertainty that both the current estimate and the seeds still to come carry (a flat
prior on the true difference: the final estimate is normal around the current one with
variance se^2 (1 - n / n_last)). A case stops when

- the chance that its interval would lie beyond the band at the last look (at the nominal
  level of Holm's first step) is below ``EFFECT`` (5%),
- the chance that it would lie inside the band ('no effect') is below ``NO_EFFECT`` (50%:
  seven more seeds for a coin's chance of a 'no effect' are not worth their cost; a study
  that wants 'no effect' verdicts widens its band, or sets ``futility = false`` in ``[study]``),
- and its failure counts, kept at their current rates to the last look, could not be shown
  to differ by Fisher's test.

Stopping early only removes chances to reject, so it never raises an error rate; what it
costs in power, and saves in runs, is in ``docs/statistics.md``'s compute table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from .twosample import Estimate, fisher_p

if TYPE_CHECKING:
    from .design import Design

#: Stop when the predicted chance of 'improves'/'worsens' by the last look is below this...
EFFECT = 0.05
#: ... and that of 'no effect' below this (and the failures cannot decide it).
NO_EFFECT = 0.5


def chances(design: Design, look: int, est: Estimate, counts: np.ndarray, band: np.ndarray,
            k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chance of improves/worsens, chance of 'no effect', the failures could decide) at the
    last look, predicted at ``look``; NaN chances where the metric test cannot speak yet."""
    last = len(design.looks) - 1
    frac = design.looks[look] / design.looks[last]
    se_last = est.se * np.sqrt(frac)  # the information grows with the seeds
    df_last = est.df / frac
    spread = est.se * np.sqrt(1 - frac)  # the final estimate's predictive spread around the current one
    with np.errstate(invalid="ignore", divide="ignore"):
        crit = stats.t.isf(design.nominal(last, design.alpha / (2 * max(k, 1))), df_last)
        effect = (stats.norm.sf((band + crit * se_last - est.diff) / spread)
                  + stats.norm.cdf((-band - crit * se_last - est.diff) / spread))
        inner = band - stats.t.isf(design.nominal(last, design.alpha), df_last) * se_last
        no_effect = np.where(inner > 0, stats.norm.cdf((inner - est.diff) / spread)
                             - stats.norm.cdf((-inner - est.diff) / spread), 0.0)
    ok = est.ok & (spread > 0)
    fc, nc, fb, nb = np.moveaxis(counts, -1, 0)
    n = design.looks[last]
    at_last = fisher_p(np.rint(fc / np.maximum(nc, 1) * n), np.full(fc.shape, n), np.rint(fb / np.maximum(nb, 1) * n),
                       np.full(fc.shape, n))
    gate = design.alpha * float(design.share[last]) / (2 * max(k, 1))
    return np.where(ok, effect, np.nan), np.where(ok, no_effect, np.nan), (fc + fb > 0) & (at_last <= gate)


def hopeless(effect: np.ndarray, no_effect: np.ndarray, failures_could: np.ndarray) -> np.ndarray:
    """Whether a case should stop: neither verdict is likely by the last look (a case whose
    metric test cannot speak yet is never hopeless)."""
    return (effect < EFFECT) & (no_effect < NO_EFFECT) & ~failures_could

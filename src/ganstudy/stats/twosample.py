"""Two-sample tests on per-run results, vectorised so that one real study and ten thousand
simulated ones go through the same code.

Why these tests (the measurements behind the choice are in ``docs/statistics.md``):

- **Unpaired by default.** GAN training is chaotic: two runs with the same seed that differ
  by Adam's eps in the 12th digit end as far apart as two seeds. Pairing by seed removes
  little noise, so the default compares the case's runs with the baseline's as two samples
  (valid whatever the pairing). ``pairing = "seed"`` declares, before the data are seen,
  that seeds pair (a one-sample test on per-seed differences).
- **Welch's t statistic, with the fewest degrees of freedom the spreads allow.** At 3-10
  runs an arm and the small levels a study of many cases tests at (alpha / 12 and below),
  Welch-Satterthwaite's degrees of freedom are too many when one arm spreads more than the
  other: at 5 runs against 8 and a 3x spread, 2.8 times the nominal rate at p = 0.001, and
  the fewer runs the worse. The degrees of freedom used are Satterthwaite's formula at both
  ends of the 90% confidence interval of the ratio of the arms' variances (F distribution),
  the smaller kept: near the smaller arm's n - 1 (valid whatever the spreads) when the
  spreads differ or the runs are few, near ``n1 + n2 - 2`` when the runs show equal spreads.
- **A variance floor from the metric's resolution.** A metric that takes few values (classes
  covered, a score rounded to an integer) often gives an arm of identical values: a variance
  of 0, and Welch's t divides by it. Each arm's variance is floored at q^2 / 4, q the smallest
  gap between the distinct values the two arms took (the largest variance a metric with that
  resolution can have while looking constant at a few runs: a fair coin between two adjacent
  values). Continuous metrics have tiny gaps, so the floor does nothing to them. When every
  run of both arms has the same value no test can speak.
- **A t reference distribution, not a permutation one.** An exact permutation test cannot
  go below p = 1 / C(2n, n) (0.05 at 3 seeds), so with several cases nothing is ever
  decided at the seed counts people run. The t-based test has no such floor; its error
  rates are shown by simulation (``ganstudy.stats.simulate``, run by the test suite).
- **No trimming.** Runs that failed (diverged or collapsed) are not in the metric test at
  all (``procedure.py``); a trimmed mean trimmed from 10 runs on and cost more power there
  than a seed added (power fell from 9 seeds to 10).

Everything works on arrays of shape ``(..., n)`` with NaN for a missing value; the leading
axes are independent comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats


@dataclass
class Estimate:
    """A difference (case - baseline) with its standard error and degrees of freedom.
    ``ok`` is False where no test is possible: fewer than 2 values in an arm, or no spread at all."""

    diff: np.ndarray
    se: np.ndarray
    df: np.ndarray
    ok: np.ndarray

    def t(self, shift: np.ndarray | float) -> np.ndarray:
        """(diff - shift) / se (0 where no test is possible)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.ok, (self.diff - shift) / np.where(self.ok, self.se, 1.0), 0.0)

    def p_above(self, shift: np.ndarray | float) -> np.ndarray:
        """One-sided p of H0: difference <= shift (small when the difference is credibly above it)."""
        return np.where(self.ok, stats.t.sf(self.t(shift), self.df), 1.0)

    def p_below(self, shift: np.ndarray | float) -> np.ndarray:
        """One-sided p of H0: difference >= shift (small when the difference is credibly below it)."""
        return np.where(self.ok, stats.t.cdf(self.t(shift), self.df), 1.0)

    def half_width(self, one_sided: np.ndarray | float) -> np.ndarray:
        """The half-width of the interval whose each side is a one-sided test at ``one_sided``."""
        return np.where(self.ok, stats.t.isf(one_sided, self.df) * self.se, np.inf)

    def interval(self, one_sided: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """diff -+ the half-width: (-inf, inf) where no test is possible."""
        half = self.half_width(one_sided)
        return np.where(self.ok, self.diff - half, -np.inf), np.where(self.ok, self.diff + half, np.inf)


def _parts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, variance (n - 1) and count of the non-NaN values along the last axis."""
    x = np.asarray(x, dtype=np.float64)
    n = (~np.isnan(x)).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.nansum(x, -1) / np.maximum(n, 1), np.nan)
        var = np.nansum((x - mean[..., None]) ** 2, -1) / np.maximum(n - 1, 1)
    return mean, var, n


def resolution(*arms: np.ndarray) -> np.ndarray:
    """The smallest positive gap between the distinct values the arms took together (NaN
    ignored; NaN where they took fewer than two distinct values)."""
    arms_ = [np.asarray(a, dtype=np.float64) for a in arms]
    lead = np.broadcast_shapes(*(a.shape[:-1] for a in arms_))
    x = np.sort(np.concatenate([np.broadcast_to(a, (*lead, a.shape[-1])) for a in arms_], -1), -1)  # NaN last
    gaps = np.diff(x, axis=-1)
    gaps = np.where(gaps > 0, gaps, np.inf)  # ties and NaN are not gaps
    q = gaps.min(-1) if gaps.shape[-1] else np.full(x.shape[:-1], np.inf)
    return np.where(np.isfinite(q), q, np.nan)


def welch(baseline: np.ndarray, case: np.ndarray) -> Estimate:
    """Welch's two-sample t (case - baseline), each arm's variance floored at the values'
    resolution, with the degrees of freedom of the module's docstring."""
    mb, vb, nb = _parts(baseline)
    mc, vc, nc = _parts(case)
    floor = resolution(baseline, case) ** 2 / 4
    vb, vc = np.fmax(vb, floor), np.fmax(vc, floor)  # fmax: a NaN floor (no gap) leaves the variance
    se2 = vb / np.maximum(nb, 1) + vc / np.maximum(nc, 1)
    ok = (nb >= 2) & (nc >= 2) & (se2 > 0)
    return Estimate(mc - mb, np.sqrt(se2), degrees_of_freedom(vb, nb, vc, nc), ok)


#: The confidence of the interval of the variance ratio whose ends give the degrees of freedom.
RATIO_CONFIDENCE = 0.90


def degrees_of_freedom(vb: np.ndarray, nb: np.ndarray, vc: np.ndarray, nc: np.ndarray) -> np.ndarray:
    """Satterthwaite's degrees of freedom at both ends of the confidence interval of the
    variance ratio, the smaller (between the smaller arm's n - 1 and nb + nc - 2)."""
    db, dc = np.maximum(nb - 1, 1).astype(np.float64), np.maximum(nc - 1, 1).astype(np.float64)
    tail = (1 + RATIO_CONFIDENCE) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = vc / vb  # the case's variance over the baseline's

        def satterthwaite(r: np.ndarray) -> np.ndarray:
            a, b = r / np.maximum(nc, 1), 1 / np.maximum(nb, 1)
            return (a + b) ** 2 / (a**2 / dc + b**2 / db)

        df = np.fmin(satterthwaite(ratio / stats.f.ppf(tail, dc, db)), satterthwaite(ratio * stats.f.ppf(tail, db, dc)))
    return np.where(np.isfinite(df), df, np.minimum(db, dc))


def paired(baseline: np.ndarray, case: np.ndarray) -> Estimate:
    """The one-sample t test on per-seed differences (seeds declared to pair), its variance
    floored at the differences' resolution."""
    d = np.asarray(case, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)  # NaN where either is missing
    m, v, n = _parts(d)
    v = np.fmax(v, resolution(d) ** 2 / 4)
    se2 = v / np.maximum(n, 1)
    return Estimate(m, np.sqrt(se2), np.maximum(n - 1, 1).astype(np.float64), (n >= 2) & (se2 > 0))


def estimate(baseline: np.ndarray, case: np.ndarray, pairing: str = "none") -> Estimate:
    return paired(baseline, case) if pairing == "seed" else welch(baseline, case)


def p_effect(est: Estimate, band: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """The one-sided p-values of the minimum-effect test: (H0: difference <= +band,
    H0: difference >= -band). Each is below gamma exactly when the interval of one-sided level
    gamma lies wholly beyond that side of the band."""
    return est.p_above(band), est.p_below(-np.asarray(band))


def p_equivalent(est: Estimate, band: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """The one-sided p-values of Schuirmann's two one-sided tests of H0: |difference| >= band:
    (H0: difference >= band, H0: difference <= -band); both are below gamma exactly when the
    interval of one-sided level gamma lies inside the band."""
    band = np.asarray(band)
    return np.where(band > 0, est.p_below(band), 1.0), np.where(band > 0, est.p_above(-band), 1.0)


# ------------------------------------------------------------------------------ failures


@lru_cache(maxsize=None)
def _fisher_table(n_case: int, n_base: int) -> np.ndarray:
    """Two-sided Fisher exact p for every (case failures, baseline failures)."""
    table = np.ones((n_case + 1, n_base + 1))
    for a in range(n_case + 1):
        for b in range(n_base + 1):
            if a + b and (a + b) < n_case + n_base:
                table[a, b] = stats.fisher_exact([[a, n_case - a], [b, n_base - b]]).pvalue
    return np.minimum(table, 1.0)


def fisher_p(case_fail: np.ndarray, case_n: np.ndarray, base_fail: np.ndarray, base_n: np.ndarray) -> np.ndarray:
    """Fisher's exact test (two-sided) that the case fails (diverges or collapses) as often as the
    baseline, for arrays of counts."""
    case_fail, case_n, base_fail, base_n = np.broadcast_arrays(*(np.asarray(a, dtype=np.int64) for a in
                                                                 (case_fail, case_n, base_fail, base_n)))
    out = np.ones(case_fail.shape)
    for nc, nb in {(int(a), int(b)) for a, b in zip(case_n.ravel(), base_n.ravel())}:
        if nc and nb:
            where = (case_n == nc) & (base_n == nb)
            out[where] = _fisher_table(nc, nb)[case_fail[where], base_fail[where]]
    return out


@lru_cache(maxsize=None)
def _fisher_floor_table(n_case: int, n_base: int) -> np.ndarray:
    """The smallest two-sided Fisher p any split of F failures between the arms can give, per F."""
    table = _fisher_table(n_case, n_base)
    floor = np.ones(n_case + n_base + 1)
    for a in range(n_case + 1):
        for b in range(n_base + 1):
            floor[a + b] = min(floor[a + b], table[a, b])
    return floor


def fisher_floor(fails: np.ndarray, case_n: np.ndarray, base_n: np.ndarray) -> np.ndarray:
    """How small Fisher's p could be, given only how many runs failed in all (not where): when
    that is above the level a look tests at, the failure test cannot speak and spends nothing."""
    fails, case_n, base_n = np.broadcast_arrays(*(np.asarray(a, dtype=np.int64) for a in (fails, case_n, base_n)))
    out = np.ones(fails.shape)
    for nc, nb in {(int(a), int(b)) for a, b in zip(case_n.ravel(), base_n.ravel())}:
        if nc and nb:
            where = (case_n == nc) & (base_n == nb)
            out[where] = _fisher_floor_table(nc, nb)[np.minimum(fails[where], nc + nb)]
    return out


def binomial_ci(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a proportion (exact; used for Monte-Carlo error in tables)."""
    if n == 0:
        return 0.0, 1.0
    a = 1 - level
    low = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return low, high

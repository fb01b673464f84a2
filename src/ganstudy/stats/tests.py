"""Two-sample tests on per-run results, vectorised so that one real study and ten thousand
simulated ones go through the same code.

Why these tests (the measurements behind the choice are in ``docs/statistics.md``):

- **Unpaired by default.** GAN training is chaotic: two runs with the same seed that differ
  by Adam's eps in the 12th digit end as far apart as two seeds. Pairing by seed removes
  little noise, so the default compares the case's runs with the baseline's as two samples
  (valid whatever the pairing). ``pairing = "seed"`` declares, before the data are seen,
  that seeds pair (a one-sample test on per-seed differences).
- **Welch's t-test, lightly trimmed (Yuen's test).** From 10 runs up, 10% of each end is
  trimmed (one run a side from 10 to 19) and the variance is the winsorised one, so an
  outlier weighs as a trimmed value, not as its size; below 10 runs it is Welch's t-test.
  Runs that collapsed are not in the metric at all (they are counted as failures, see
  ``procedure.py``). Trimming 20% would trim from 5 runs, where it costs more power than it
  buys (measured: 5 seeds found less than 4).
- **A t reference distribution, not a permutation one.** An exact permutation test cannot
  go below p = 1 / C(2n, n) (0.05 at 3 seeds), so with several cases nothing is ever
  decided at the seed counts people run. The t-based test has no such floor; its error
  rates at 3-12 seeds, with heavy tails and collapsing seeds, are shown by simulation
  (``ganstudy.stats.simulate``, run by the test suite).

Everything works on arrays of shape ``(..., n)`` with NaN for a missing value; the leading
axes are independent comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats

TRIM = 0.1


@dataclass
class Estimate:
    """A difference (case - baseline) with its standard error and degrees of freedom.
    ``ok`` is False where there are too few values to test (fewer than 2 in an arm)."""

    diff: np.ndarray
    se: np.ndarray
    df: np.ndarray
    ok: np.ndarray

    def t(self, shift: np.ndarray | float) -> np.ndarray:
        """(diff - shift) / se, with 0/0 read as 0 (identical constant samples) and x/0 as +-inf."""
        num = self.diff - shift
        with np.errstate(divide="ignore", invalid="ignore"):
            t = num / self.se
        return np.where(self.se > 0, t, np.where(num > 0, np.inf, np.where(num < 0, -np.inf, 0.0)))

    def p_above(self, shift: np.ndarray | float) -> np.ndarray:
        """One-sided p of H0: difference <= shift (small when the difference is credibly above it)."""
        return np.where(self.ok, stats.t.sf(self.t(shift), self.df), 1.0)

    def p_below(self, shift: np.ndarray | float) -> np.ndarray:
        """One-sided p of H0: difference >= shift (small when the difference is credibly below it)."""
        return np.where(self.ok, stats.t.cdf(self.t(shift), self.df), 1.0)

    def interval(self, level: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Equal-tailed interval at confidence ``level``; (-inf, inf) where no test is possible."""
        q = stats.t.ppf(0.5 + np.asarray(level) / 2, self.df)
        half = np.where(self.se > 0, q * self.se, 0.0)
        return (np.where(self.ok, self.diff - half, -np.inf), np.where(self.ok, self.diff + half, np.inf))


def _trimmed_parts(x: np.ndarray, trim: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trimmed mean, squared standard error (Yuen's d) and effective size h, along the last axis."""
    x = np.asarray(x, dtype=np.float64)
    valid = ~np.isnan(x)
    n = valid.sum(-1)
    g = np.floor(trim * n + 1e-9).astype(np.int64)
    h = n - 2 * g
    s = np.sort(x, axis=-1)  # NaN sorts last
    idx = np.arange(x.shape[-1])
    keep = (idx >= g[..., None]) & (idx < (n - g)[..., None])
    with np.errstate(invalid="ignore", divide="ignore"):
        tmean = np.where(keep, s, 0.0).sum(-1) / np.maximum(h, 1)
        last = max(x.shape[-1] - 1, 0)
        lo = np.take_along_axis(s, np.clip(g, 0, last)[..., None], -1)
        hi = np.take_along_axis(s, np.clip(n - g - 1, 0, last)[..., None], -1)
        inside = idx < n[..., None]
        w = np.where(inside, np.clip(s, lo, hi), 0.0)
        wmean = w.sum(-1) / np.maximum(n, 1)
        wvar = np.where(inside, (w - wmean[..., None]) ** 2, 0.0).sum(-1) / np.maximum(n - 1, 1)
        d = (n - 1) * wvar / np.maximum(h * (h - 1), 1)
    return tmean, d, h


def yuen(baseline: np.ndarray, case: np.ndarray, trim: float = TRIM) -> Estimate:
    """Yuen's two-sample trimmed-mean test (Welch's t when nothing is trimmed): case - baseline."""
    mx, dx, hx = _trimmed_parts(baseline, trim)
    my, dy, hy = _trimmed_parts(case, trim)
    se2 = dx + dy
    ok = (hx >= 2) & (hy >= 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = se2**2 / (dx**2 / np.maximum(hx - 1, 1) + dy**2 / np.maximum(hy - 1, 1))
    df = np.where(np.isfinite(df) & (df > 0), df, np.maximum(hx + hy - 2, 1))
    return Estimate(my - mx, np.sqrt(se2), df, ok)


def paired(baseline: np.ndarray, case: np.ndarray, trim: float = TRIM) -> Estimate:
    """The trimmed-mean t test on per-seed differences (Tukey-McLaughlin): seeds declared to pair."""
    d = np.asarray(case, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)  # NaN where either is missing
    m, d2, h = _trimmed_parts(d, trim)
    return Estimate(m, np.sqrt(d2), np.maximum(h - 1, 1).astype(np.float64), h >= 2)


def estimate(baseline: np.ndarray, case: np.ndarray, pairing: str = "none") -> Estimate:
    return paired(baseline, case) if pairing == "seed" else yuen(baseline, case)


def p_effect(est: Estimate, band: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p of H0: |difference| <= band (a minimum-effect test), and the side (+1 the
    difference is above +band, -1 below -band). p < gamma exactly when the equal-tailed
    interval at level 1 - gamma lies wholly beyond the band."""
    up, down = est.p_above(band), est.p_below(-np.asarray(band))
    side = np.where(up <= down, 1, -1)
    return np.minimum(1.0, 2 * np.minimum(up, down)), side


def p_equivalent(est: Estimate, band: np.ndarray | float) -> np.ndarray:
    """p of H0: |difference| >= band by two one-sided tests (Schuirmann's TOST): p < gamma
    exactly when the equal-tailed interval at level 1 - 2 gamma lies inside the band."""
    band = np.asarray(band)
    return np.where(band > 0, np.maximum(est.p_below(band), est.p_above(-band)), 1.0)


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

"""Group-sequential boundaries: how much of alpha each look may spend, and the nominal level a
look's own test must reach to spend it, accounting for how strongly the looks correlate.

An adaptive study analyses the same cases at several seed counts (its *looks*). The data of
a look include those of the looks before it, so their test statistics are strongly
correlated: Bonferroni over the looks (each look at its share of alpha) throws most of that
away. Here the boundaries are the exact ones for a statistic that grows as a Brownian motion
with the seeds (Armitage, McPherson and Rowe's recursive integration; Jennison and Turnbull,
*Group Sequential Methods*, ch. 19), for a one-sided total ``beta`` spent as
``beta x (n_look / n_last) ** rho`` (the power family of Kim and DeMets; rho = 3 is close to
O'Brien and Fleming's: early looks stop only large effects, the last look keeps nearly the
whole of alpha).

``nominal(looks, rho)`` tabulates, for a grid of totals ``beta``, the one-sided nominal level
``b_j(beta)`` each look's test must reach. A look's test reports its own one-sided p; the
smallest ``beta`` whose boundary it crosses, ``spent(j, p)``, is the case's *sequential p*
for that look, and the minimum over the looks reached is a valid p-value whatever the
stopping rule (a look never reached can only make it larger). Holm's method then runs over
these p-values, as over any valid ones.

The looks' tests are t tests at a few seeds, not the z statistics the recursion assumes: a
nominal p is turned into the boundary's scale by its own quantile, and the error rates that
result are shown by simulation (``simulate.py``, ``tests/cross/test_calibration.py``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import stats

#: The spending family's exponent: the share of alpha spent by a look is (n / n_last) ** RHO.
RHO = 3.0
#: The totals beta (one-sided) the boundaries are tabulated at; between them, log-log interpolation.
BETAS = np.geomspace(1e-12, 0.5, 121)
_GRID = 0.02  # spacing (in z) of the recursion's grid
_LOW = -9.0  # the grid's lower end: the mass below it is negligible (Phi(-9) ~ 1e-19)


def spending(looks: tuple[int, ...], rho: float = RHO) -> np.ndarray:
    """The cumulative share of the total spent by each look: (n / n_last) ** rho."""
    return (np.asarray(looks, dtype=np.float64) / looks[-1]) ** rho


def _weights(z: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Integration weights on the grid ``z`` for the region below ``top`` (one row per total):
    the trapezoid rule, its last cell ending exactly at ``top``."""
    below = z[None, :] < top[:, None]
    w = np.where(below, _GRID, 0.0)
    w[:, 0] = np.where(below[:, 0], _GRID / 2, 0.0)
    last = below.sum(1) - 1  # the last grid point below the boundary
    rows = np.arange(len(top))
    w[rows, last] = np.where(last > 0, _GRID / 2 + np.minimum(top - z[last], _GRID), w[rows, last])
    return w


def _boundaries(times: np.ndarray, spend: np.ndarray) -> np.ndarray:
    """Upper z boundaries (rows: totals, columns: looks) of one-sided tests on a Brownian
    motion observed at information ``times`` (increasing, the last 1) that cross first at look
    j with probability ``spend[:, j]``, by recursive numerical integration on a fixed grid,
    every total at once (Newton's method on the log of the crossing probability)."""
    z = np.arange(_LOW, 12.0 + _GRID / 2, _GRID)
    c = np.empty(spend.shape)
    c[:, 0] = stats.norm.isf(spend[:, 0])
    f = stats.norm.pdf(z)[None, :] * _weights(z, c[:, 0])  # density on the continuation region x weights
    for j in range(1, len(times)):
        s0, s1 = np.sqrt(times[j - 1]), np.sqrt(times[j])
        sd = np.sqrt(times[j] - times[j - 1])
        target = np.log(spend[:, j])
        cj = stats.norm.isf(spend[:, j])  # the crossing probability alone: a start above the boundary
        for _ in range(40):
            u = (cj[:, None] * s1 - z[None, :] * s0) / sd
            tail = (f * stats.norm.sf(u)).sum(1)
            slope = -(f * stats.norm.pdf(u)).sum(1) * s1 / sd / tail  # d log(tail) / dc
            step = np.clip((np.log(tail) - target) / slope, -1.0, 1.0)
            cj = cj - step
            if np.abs(step).max() < 1e-10:
                break
        c[:, j] = cj
        if j + 1 < len(times):
            kernel = stats.norm.pdf((z[:, None] * s1 - z[None, :] * s0) / sd) * (s1 / sd)
            f = (f @ kernel.T) * _weights(z, cj)
    return c


@lru_cache(maxsize=64)
def nominal(looks: tuple[int, ...], rho: float = RHO) -> np.ndarray:
    """(len(BETAS), K) one-sided nominal levels: look j's test, at one-sided p <= b[i, j],
    crosses the boundary of total ``BETAS[i]``. One look: b = beta (the fixed-sample test)."""
    times = np.asarray(looks, dtype=np.float64) / looks[-1]
    cum = spending(looks, rho)
    inc = np.diff(cum, prepend=0.0)
    return stats.norm.sf(_boundaries(times, BETAS[:, None] * inc[None, :]))


def level(looks: tuple[int, ...], look: int | np.ndarray, beta: float | np.ndarray, rho: float = RHO) -> np.ndarray:
    """The one-sided nominal level ``b_look(beta)`` (interpolated log-log between the tabulated totals)."""
    table = np.log(nominal(looks, rho))
    look = np.asarray(look)
    beta = np.clip(np.asarray(beta, dtype=np.float64), BETAS[0], BETAS[-1])
    x = np.log(beta)
    out = np.empty(np.broadcast(look, x).shape)
    lk, xs = np.broadcast_arrays(look, x)
    for j in np.unique(lk):
        where = lk == j
        out[where] = np.exp(np.interp(xs[where], np.log(BETAS), table[:, int(j)]))
    return out


def spent(looks: tuple[int, ...], look: int, p: np.ndarray, rho: float = RHO) -> np.ndarray:
    """The sequential p of a one-sided nominal ``p`` at ``look``: the smallest total beta whose
    boundary it crosses there (1 where it crosses none up to beta = 0.5: then 2 p is used, as
    with one look; below the grid, the grid's end, which only overstates it)."""
    p = np.asarray(p, dtype=np.float64)
    column = np.log(nominal(looks, rho)[:, look])
    with np.errstate(divide="ignore"):
        lp = np.log(np.clip(p, 1e-300, None))
    inside = np.exp(np.interp(lp, column, np.log(BETAS)))
    # Beyond the table's top (p above b_look(0.5)) the test cannot cross: report a p of at least 0.5.
    return np.where(lp > column[-1], np.maximum(0.5, np.minimum(1.0, p)), inside)

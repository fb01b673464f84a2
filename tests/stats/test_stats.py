"""The statistics against known values: Welch's t (scipy), its degrees of freedom, the
resolution floor, the paired t, test-interval duality, the group-sequential boundaries
(against scipy's multivariate normal), Holm and Benjamini-Hochberg, Fisher, the look
schedule, futility, and the decision procedure on tables whose answer is known."""

import math

import numpy as np
import pytest
from scipy import stats

from ganstudy.stats import boundaries
from ganstudy.stats.design import IMPROVES, INCONCLUSIVE, NO_EFFECT, WORSENS, Design, baseline_band, schedule
from ganstudy.stats.power import failures_from, seeds_to_settle
from ganstudy.stats.procedure import adjust, decide, seeds_wanted
from ganstudy.stats.simulate import simulate
from ganstudy.stats.twosample import (
    degrees_of_freedom,
    estimate,
    fisher_p,
    p_effect,
    p_equivalent,
    paired,
    resolution,
    welch,
)

rng = np.random.default_rng(3)


def padded(values, width=14):
    out = np.full(width, np.nan)
    out[: len(values)] = values
    return out


@pytest.mark.parametrize("n_base,n_case", [(2, 2), (3, 3), (4, 7), (6, 6), (10, 10), (12, 9), (14, 14)])
def test_welch_is_scipys_statistic_with_the_documented_degrees_of_freedom(n_base, n_case):
    base, case = rng.normal(0, 1, n_base), rng.normal(1, 3, n_case)
    est = welch(padded(base), padded(case))
    ref = stats.ttest_ind(case, base, equal_var=False)
    assert est.t(0.0) == pytest.approx(ref.statistic, rel=1e-10)
    vb, vc = base.var(ddof=1), case.var(ddof=1)

    def satterthwaite(ratio):  # written out: (r/nc + 1/nb)^2 / ((r/nc)^2/(nc-1) + (1/nb)^2/(nb-1))
        a, b = ratio / n_case, 1 / n_base
        return (a + b) ** 2 / (a**2 / (n_case - 1) + b**2 / (n_base - 1))

    assert satterthwaite(vc / vb) == pytest.approx(ref.df, rel=1e-10)  # the formula is scipy's at the estimate
    low_end = vc / vb / stats.f.ppf(0.95, n_case - 1, n_base - 1)
    high_end = vc / vb * stats.f.ppf(0.95, n_base - 1, n_case - 1)
    assert est.df == pytest.approx(min(satterthwaite(low_end), satterthwaite(high_end)), rel=1e-10)
    assert min(n_base, n_case) - 1 <= est.df <= ref.df + 1e-9


def test_degrees_of_freedom_from_equal_spreads_to_the_smaller_arm():
    """At 30 runs a side with equal variances the interval of their ratio is narrow: nearly
    n1 + n2 - 2; with a variance 100x larger in a 5-run arm: nearly that arm's 4."""
    assert degrees_of_freedom(np.array(1.0), np.array(30), np.array(1.0), np.array(30)) > 45
    assert degrees_of_freedom(np.array(1.0), np.array(30), np.array(100.0), np.array(5)) == pytest.approx(4, abs=0.2)


def test_ties_get_a_variance_floor_from_the_resolution():
    """Three 10s against three 9s (classes covered): not a certainty. Each arm's variance is
    floored at q^2 / 4 with q = 1, so t = 1 / sqrt(2 x 0.25 / 3)."""
    est = welch(np.array([10.0, 10, 10]), np.array([9.0, 9, 9]))
    assert est.ok and est.se == pytest.approx(math.sqrt(2 * 0.25 / 3)) and est.t(0.0) == pytest.approx(-2.449, abs=1e-3)
    assert p_effect(est, 0.0)[1] > 0.01  # not p = 0, as when 0 / 0 was read as 0 and x / 0 as infinity
    assert resolution(np.array([10.0, 9.0, 10.0]), np.array([7.5, np.nan])) == 1.0
    same = welch(np.full(4, 3.0), np.full(4, 3.0))  # every run alike: no spread to judge by
    assert not same.ok and p_effect(same, 0.0) == (1.0, 1.0) and same.interval(0.025) == (-math.inf, math.inf)
    few = welch(np.array([1.0, np.nan]), np.array([2.0, 3.0]))
    assert not few.ok and p_effect(few, 0.0)[0] == 1.0


def test_paired_is_the_t_test_on_differences():
    base = rng.normal(0, 1, 7)
    case = base + rng.normal(0.5, 0.2, 7)
    est = paired(padded(base), padded(case))
    ref = stats.ttest_1samp(case - base, 0.0)
    assert est.t(0.0) == pytest.approx(ref.statistic) and est.df == 6
    assert estimate(padded(base), padded(case), "seed").diff == pytest.approx(np.mean(case - base))


@pytest.mark.parametrize("seed", range(20))
def test_p_values_agree_with_the_intervals_they_claim(seed):
    r = np.random.default_rng(seed)
    est = welch(r.normal(0, 1, 6), r.normal(r.uniform(-3, 3), 1, 6))
    band, gamma = r.uniform(0, 1.5), 0.025
    low, high = est.interval(gamma)
    up, down = p_effect(est, band)
    assert (up < gamma) == (low > band) and (down < gamma) == (high < -band)
    below, above = p_equivalent(est, band)
    assert (max(below, above) < gamma) == (-band < low and high < band)


def test_boundaries_against_scipys_multivariate_normal():
    """The recursion's boundaries cross with exactly the spent probabilities: checked with the
    Brownian motion's joint normal law (corr(Z_i, Z_j) = sqrt(t_i / t_j))."""
    looks, beta = (3, 5, 8), 0.025
    c = stats.norm.isf(boundaries.level(looks, np.arange(3), beta))
    t = np.asarray(looks) / looks[-1]
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    spent = boundaries.spending(looks)
    for j in range(3):
        stay = stats.multivariate_normal.cdf(c[: j + 1], np.zeros(j + 1), cov[: j + 1, : j + 1], abseps=1e-8)
        assert 1 - stay == pytest.approx(beta * spent[j], rel=2e-3)
    assert boundaries.level((10,), 0, 0.01) == pytest.approx(0.01)  # one look: the fixed-sample test
    assert spent[0] == pytest.approx((3 / 8) ** boundaries.RHO)


def test_sequential_p_inverts_the_boundaries():
    looks = (3, 5, 8, 10)
    for look in range(4):
        for beta in (1e-6, 1e-3, 0.02, 0.3):
            b = boundaries.level(looks, look, beta)
            assert boundaries.spent(looks, look, b) == pytest.approx(beta, rel=1e-3)
    # The last look's nominal level is most of beta (O'Brien-Fleming-like): Bonferroni would give 0.49 beta.
    assert boundaries.level(looks, 3, 0.025) > 0.8 * 0.025


def test_holm_and_benjamini_hochberg_known_values():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    assert adjust(p, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjust(p, "fdr") == pytest.approx(stats.false_discovery_control(p, method="bh"))
    assert adjust(np.array([0.9, 0.9]), "holm") == pytest.approx([1.0, 1.0])


def test_fisher_table_equals_scipy():
    for a, n, b, m in [(3, 3, 0, 3), (4, 6, 1, 6), (0, 5, 0, 5), (2, 4, 2, 8)]:
        expected = stats.fisher_exact([[a, n - a], [b, m - b]]).pvalue
        assert fisher_p(np.array([a]), np.array([n]), np.array([b]), np.array([m]))[0] == pytest.approx(min(expected, 1))


def test_schedule_and_the_baselines_share():
    assert schedule(3, 12) == (3, 5, 8, 12) and schedule(4, 4) == (4,) and schedule(2, 3) == (2, 3)
    assert schedule(3, 9) == (3, 5, 9) and schedule(3, 10) == (3, 5, 8, 10)
    d = Design.adaptive(3, 10)
    assert d.baseline_looks == (5, 8, 12, 15) and d.baseline_seeds(5) == 8
    assert Design.adaptive(3, 10, pairing="seed").baseline_looks == (3, 5, 8, 10)
    assert Design.fixed(6).baseline_looks == (6,) and Design.fixed(6).level(0) == pytest.approx(0.95)
    assert d.share.sum() == pytest.approx(1) and d.claimed() == 0.95


def test_failures_need_enough_seeds_to_be_shown():
    """Fisher joins the metric test when it can reach its half of Holm's first step."""
    assert failures_from(Design.fixed(3), 1) is None  # all 3 vs none: Fisher p = 0.1
    assert failures_from(Design.fixed(4), 1) is None  # 2 / C(8, 4) = 0.029 > 0.025
    assert failures_from(Design.fixed(5), 1) == 5 and failures_from(Design.fixed(7), 12) == 7
    assert failures_from(Design.adaptive(3, 10), 1) == 5  # at 5 seeds against the baseline's 8


def test_band_from_the_first_look_leaves_collapses_out():
    values = np.array([100.0, 110.0, 900.0, 120.0, 95.0])
    failed = np.array([False, False, True, False, False])
    assert baseline_band(values, failed, 3, 0.05) == pytest.approx(0.05 * 105)  # median of 100, 110


def arms(*values, width=12):
    """(values, failed, ended, settled) for arms given as lists (baseline first)."""
    v = np.array([padded(a, width) for a in values])
    done = ~np.isnan(v)
    return v, np.zeros(v.shape, bool), done, done


def test_a_clear_difference_is_decided_with_its_direction():
    base = [10.0, 11, 9, 10.5, 9.5, 10.2]
    v = arms(base, [b + 8 for b in base[::-1]], [b - 8 for b in base], [b + 0.1 for b in base[::-1]])
    d = decide(*v, band=0.2, design=Design.fixed(6))
    assert list(d.verdict) == [WORSENS, IMPROVES, INCONCLUSIVE]
    d = decide(*v, band=3.0, design=Design.fixed(6))
    assert d.verdict[2] == NO_EFFECT and -3 < d.eq_low[2] < d.eq_high[2] < 3 and d.level[2] == pytest.approx(0.95)
    assert d.low[2] < d.eq_low[2] and d.eq_high[2] < d.high[2]  # the 95% interval shown holds the 90% one
    d = decide(*v, band=0.2, design=Design.fixed(6), lower_is_better=False)
    assert list(d.verdict[:2]) == [IMPROVES, WORSENS]


def test_a_difference_inside_the_band_is_never_called_harm():
    """The issue's A/A case: every seed a little worse, by 3% where the band is 5%."""
    base = list(290 + rng.normal(0, 10, 6))
    d = decide(*arms(base, [b + 9 + rng.normal(0, 1) for b in base]), band=0.05 * 290,
               design=Design.fixed(6, pairing="seed"))
    assert d.verdict[0] != WORSENS and d.low[0] > 0  # it differs from the baseline, but not beyond the band


def test_a_collapse_is_not_counted_twice():
    """The baseline collapsed on 3 of 3 seeds onto nearly one value, the case on none: the old
    procedure's Welch read the cluster as certainty (p ~ 1e-6). The collapsed runs leave the
    metric test and the failure test cannot speak at 3 vs 3 (p = 0.1): no verdict."""
    v, failed, ended, settled = arms([500.0, 500.01, 499.99], [300.0, 310, 290])
    failed[0, :3] = True
    d = decide(v, failed, ended, settled, 10.0, Design.fixed(3))
    assert d.verdict[0] == INCONCLUSIVE and d.p_failures[0] == pytest.approx(0.1)


def test_failures_decide_when_the_metric_cannot():
    v, failed, ended, settled = arms([1.0, 1.2, 0.9, 1.1, 1.05], [np.nan] * 5)
    failed[1, :5], ended[1, :5], settled[1, :5] = True, True, True  # every case run diverged
    d = decide(v, failed, ended, settled, 0.1, Design.fixed(5))
    assert d.verdict[0] == WORSENS and d.by_failures[0] and d.p_adjusted[0] == pytest.approx(2 * 2 / 252)
    d = decide(v[:, :3], failed[:, :3], ended[:, :3], settled[:, :3], 0.1, Design.fixed(3))
    assert d.verdict[0] == INCONCLUSIVE and d.p_failures[0] == pytest.approx(0.1)


def test_the_metric_may_not_call_better_a_case_that_fails_credibly_more():
    base = [10.0, 11, 9, 10.5, 9.5, 10.2, 10.1, 9.9]
    case = [b - 5 for b in base]
    v, failed, ended, settled = arms(base, case)
    failed[1, :1] = True  # one of its runs collapsed (it leaves the metric): not credibly more failures
    assert decide(v, failed, ended, settled, 0.5, Design.fixed(8)).verdict[0] == IMPROVES
    failed[1, :6] = True  # six of eight collapsed against none (Fisher p = 0.007): the metric may not call it better
    d = decide(v, failed, ended, settled, 0.5, Design.fixed(8))
    assert d.verdict[0] == WORSENS and d.by_failures[0]


def test_a_look_waits_for_its_runs_and_an_early_decision_stands():
    base = list(rng.normal(0, 1, 15))
    big, null = [b + 50 for b in base], list(rng.normal(0, 1, 15))
    v, failed, ended, settled = arms(base, big, null, width=15)
    design = Design.adaptive(3, 10)
    d = decide(v, failed, ended, settled, 2.0, design)
    assert d.verdict[0] == WORSENS and d.seeds[0] == 3
    settled[2, 3:] = False  # the null case's runs 3.. have not ended: its analysis at 5 waits
    d2 = decide(v, failed, ended, settled, 2.0, design)
    assert d2.verdict[0] == WORSENS and (d2.reached == 1 or d2.futile[1])


def test_futility_stops_a_case_that_cannot_be_decided_and_says_why():
    """A null case at 3 seeds, band 0.2 seed-SDs: neither 'worsens' nor 'no effect' is within
    reach of 10 seeds, so it stops; a case 3 seed-SDs away goes on."""
    base = [0.5, -0.5, 0.2, -0.2, 0.0] + [0.0] * 10
    v = arms(base, [0.1, -0.2, 0.15] + [0.0] * 7, [3.2, 2.7, 3.1] + [3.0] * 7, width=15)
    d = decide(*v, band=0.2, design=Design.adaptive(3, 10))
    assert d.futile[0] and not d.open[0] and d.verdict[0] == INCONCLUSIVE and d.seeds[0] == 3
    assert d.chance_effect[0] < 0.05 and d.chance_no_effect[0] < 0.5
    assert not d.futile[1]
    off = decide(*v, band=0.2, design=Design.adaptive(3, 10, futility=False))
    assert not off.futile.any() and off.seeds[0] > 3


def test_seeds_wanted_goes_to_the_open_cases():
    d = simulate(Design.adaptive(3, 10, futility=False), [0.0, 50.0], 0.0, studies=1, seed=4)
    wanted = seeds_wanted(d, Design.adaptive(3, 10))
    assert wanted[0, 1] == 3 and d.verdict[0, 1] == WORSENS


def test_seeds_to_settle_is_the_first_count_with_80_percent_power():
    n = seeds_to_settle(diff=2.0, spread=1.0, band=0.5, alpha=0.05, cases=1, have=3)
    assert n is not None and n > 3
    found = lambda seeds: (simulate(Design.fixed(seeds), [2.0], 0.5, studies=4000, seed=1).verdict[:, 0] == WORSENS).mean()  # noqa: E731
    assert found(n) >= 0.72 and found(n - 1) < 0.84  # normal theory against the simulation, Monte-Carlo error 0.01
    assert seeds_to_settle(diff=0.0, spread=1.0, band=0.0, alpha=0.05, cases=1) is None  # no band: never 'no effect'

"""The statistics against known values: Yuen/Welch (scipy), the paired t, test-interval
duality, Holm and Benjamini-Hochberg, Fisher, the look schedule, and the decision procedure
on tables whose answer is known."""

import math

import numpy as np
import pytest
from scipy import stats

from ganstudy.stats.power import failures_from, seeds_to_settle
from ganstudy.stats.procedure import (
    IMPROVES, INCONCLUSIVE, NO_EFFECT, WORSENS, Design, adjust, decide, schedule, seeds_wanted, spending,
)
from ganstudy.stats.simulate import simulate
from ganstudy.stats.tests import estimate, fisher_p, p_effect, p_equivalent, paired, yuen

rng = np.random.default_rng(3)


def padded(values, width=14):
    out = np.full(width, np.nan)
    out[: len(values)] = values
    return out


@pytest.mark.parametrize("n_base,n_case", [(2, 2), (3, 3), (4, 7), (6, 6), (10, 10), (12, 9), (14, 14)])
def test_yuen_equals_scipys_trimmed_welch(n_base, n_case):
    base, case = rng.normal(0, 1, n_base), rng.normal(1, 3, n_case)
    case[0] = 40.0  # an outlier: trimmed from 10 runs up
    est = yuen(padded(base), padded(case))
    ref = stats.ttest_ind(case, base, equal_var=False, trim=0.1)
    assert est.t(0.0) == pytest.approx(ref.statistic, rel=1e-10)
    assert 2 * min(est.p_above(0.0), est.p_below(0.0)) == pytest.approx(ref.pvalue, rel=1e-9)
    low, high = est.interval(0.95)
    ci = ref.confidence_interval(0.95)
    assert (low, high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_paired_is_the_t_test_on_differences_below_ten_seeds():
    base = rng.normal(0, 1, 7)
    case = base + rng.normal(0.5, 0.2, 7)
    est = paired(padded(base), padded(case))
    ref = stats.ttest_1samp(case - base, 0.0)
    assert est.t(0.0) == pytest.approx(ref.statistic) and est.df == 6
    assert estimate(padded(base), padded(case), "seed").diff == pytest.approx(np.mean(case - base))


def test_constant_samples_do_not_divide_by_zero():
    same = yuen(np.full(4, 3.0), np.full(4, 3.0))
    apart = yuen(np.full(4, 3.0), np.full(4, 5.0))
    assert same.t(0.0) == 0 and apart.t(0.0) == math.inf and apart.p_above(1.0) == 0.0
    few = yuen(np.array([1.0, np.nan]), np.array([2.0, 3.0]))
    assert not few.ok and few.interval(0.95) == (-math.inf, math.inf) and p_effect(few, 0.0)[0] == 1.0


@pytest.mark.parametrize("seed", range(20))
def test_p_values_agree_with_the_intervals_they_claim(seed):
    r = np.random.default_rng(seed)
    est = yuen(r.normal(0, 1, 6), r.normal(r.uniform(-3, 3), 1, 6))
    band, gamma = r.uniform(0, 1.5), 0.05
    low, high = est.interval(1 - gamma)
    beyond = low > band or high < -band
    assert (p_effect(est, band)[0] < gamma) == beyond
    low2, high2 = est.interval(1 - 2 * gamma)
    assert (p_equivalent(est, band) < gamma) == (-band < low2 and high2 < band)


def test_holm_and_benjamini_hochberg_known_values():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    assert adjust(p, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjust(p, "fdr") == pytest.approx(stats.false_discovery_control(p, method="bh"))
    assert adjust(np.array([0.9, 0.9]), "holm") == pytest.approx([1.0, 1.0])


def test_fisher_table_equals_scipy():
    for a, n, b, m in [(3, 3, 0, 3), (4, 6, 1, 6), (0, 5, 0, 5), (2, 4, 2, 8)]:
        expected = stats.fisher_exact([[a, n - a], [b, m - b]]).pvalue
        assert fisher_p(np.array([a]), np.array([n]), np.array([b]), np.array([m]))[0] == pytest.approx(min(expected, 1))


def test_schedule_and_spending():
    assert schedule(3, 12) == (3, 5, 8, 12) and schedule(4, 4) == (4,) and schedule(2, 3) == (2, 3)
    assert schedule(3, 9) == (3, 5, 9) and schedule(3, 10) == (3, 5, 8, 10)
    share = spending((3, 5, 8, 12))
    assert sum(share) == pytest.approx(1) and share[0] == pytest.approx((3 / 12) ** 2)
    assert Design.fixed(6).spend == (1.0,) and Design.fixed(6).level(0) == pytest.approx(0.95)


def test_failures_need_enough_seeds_to_be_shown():
    assert failures_from(Design.fixed(3), 1) is None  # all 3 vs none: Fisher p = 0.1
    assert failures_from(Design.fixed(4), 1) == 4  # 2 / C(8, 4) = 0.029
    assert failures_from(Design.fixed(5), 12) is None and failures_from(Design.fixed(7), 12) == 7


def arms(*values):
    """(values, failed, ended, settled) for arms given as lists (baseline first)."""
    v = np.array([padded(a, 12) for a in values])
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
    d = decide(*arms(base, [b + 9 for b in base]), band=0.05 * 290, design=Design.fixed(6, pairing="seed"))
    assert d.verdict[0] != WORSENS and d.low[0] > 0  # it differs from the baseline, but not beyond the band


def test_failures_decide_when_the_metric_cannot():
    v, failed, ended, settled = arms([1.0, 1.2, 0.9, 1.1], [np.nan] * 4)
    failed[1, :4], ended[1, :4], settled[1, :4] = True, True, True  # every case run diverged
    d = decide(v, failed, ended, settled, 0.1, Design.fixed(4))
    assert d.verdict[0] == WORSENS and d.by_failures[0] and d.p_adjusted[0] == pytest.approx(2 / 70)
    d = decide(v[:, :3], failed[:, :3], ended[:, :3], settled[:, :3], 0.1, Design.fixed(3))
    assert d.verdict[0] == INCONCLUSIVE and d.p_adjusted[0] == pytest.approx(0.1)


def test_the_metric_may_not_call_better_a_case_that_fails_credibly_more():
    base = [10.0, 11, 9, 10.5, 9.5, 10.2, 10.1, 9.9]
    v, failed, ended, settled = arms(base, [b - 5 for b in base])
    failed[1, :1] = True  # one of its runs collapsed (it keeps its metric): not credibly more failures
    assert decide(v, failed, ended, settled, 0.5, Design.fixed(8)).verdict[0] == IMPROVES
    failed[1, :6] = True  # six of eight collapsed against none (Fisher p = 0.007): the metric may not call it better
    d = decide(v, failed, ended, settled, 0.5, Design.fixed(8))
    assert d.verdict[0] == WORSENS and d.by_failures[0]


def test_a_look_waits_for_its_runs_and_an_early_decision_stands():
    base = list(rng.normal(0, 1, 12))
    big, null = [b + 50 for b in base], list(rng.normal(0, 1, 12))
    v, failed, ended, settled = arms(base, big, null)
    design = Design.adaptive(3, 12)
    d = decide(v, failed, ended, settled, 0.5, design)
    assert d.verdict[0] == WORSENS and d.seeds[0] == 3 and d.seeds[1] > 3
    assert list(seeds_wanted(d, design)) == [3, int(d.seeds[1])]
    settled[2, 5:] = False  # the null case's runs 5.. have not ended: its analysis at 8 waits
    d2 = decide(v, failed, ended, settled, 0.5, design)
    assert d2.reached == 2 and d2.verdict[0] == WORSENS and d2.open[1] and seeds_wanted(d2, design)[1] == 8


def test_seeds_to_settle_is_the_first_count_with_80_percent_power():
    n = seeds_to_settle(diff=2.0, spread=1.0, band=0.5, alpha=0.05, cases=1, have=3)
    assert n is not None and n > 3
    found = lambda seeds: (simulate(Design.fixed(seeds), [2.0], 0.5, studies=4000, seed=1).verdict[:, 0] == WORSENS).mean()  # noqa: E731
    assert found(n) >= 0.76 and found(n - 1) < 0.84  # normal theory against the simulation, Monte-Carlo error 0.01
    assert seeds_to_settle(diff=0.0, spread=1.0, band=0.0, alpha=0.05, cases=1) is None  # no band: never 'no effect'

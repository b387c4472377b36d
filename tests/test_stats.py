"""Power, replicates needed and Holm-adjusted intervals, checked against independent calculations."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special
from scipy import stats as sps

import run
from analysis.stats import _power, _tail_by_integration, holm, holm_levels, paired_differences, replicates_needed
from tests.conftest import three_arms


#: Effect sizes d_z spanning the report's range of "cannot tell apart" and clear verdicts.
EFFECTS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
#: Holm steps alpha/k of a report with about 200 comparisons (k tests still open), and the plain 5%.
LEVELS = tuple(0.05 / k for k in (1, 2, 10, 50, 100, 150, 200, 224))
SQRT_2PI = math.sqrt(2 * math.pi)


def _power_conditioned_on_z(n: int, d: float, alpha: float) -> float:
    """Power of the two-sided paired t-test by integrating over the normal part of T.

    ``T = W / S`` with ``W = Z + delta`` normal and ``S**2 = V / df``, ``V`` chi-square: for a positive
    critical value c, ``T > c`` iff ``W > 0`` and ``V < df * W**2 / c**2``, so each tail is an integral of
    the normal density times the chi-square cdf. No noncentral-t routine is involved.
    """
    df = n - 1
    c = sps.t.ppf(1 - alpha / 2, df)
    delta = abs(d) * math.sqrt(n)

    def tail(shift: float) -> float:
        f = lambda w: math.exp(-0.5 * (w - shift) ** 2) / SQRT_2PI * special.chdtr(df, df * w * w / (c * c))  # noqa: E731
        centre = max(shift, 0.0)
        parts = [integrate.quad(f, a, b, limit=200, epsabs=1e-14)[0]
                 for a, b in ((0.0, centre), (centre, centre + 40.0)) if b > a]
        return sum(parts)

    return tail(delta) + tail(-delta)


def test_power_matches_an_integration_over_the_normal_part():
    for alpha in LEVELS:
        for d in EFFECTS:
            for n in (2, 5, 12, 20, 28, 60, 200):
                assert _power(n, d, alpha) == pytest.approx(_power_conditioned_on_z(n, d, alpha), abs=1e-6)


def test_replicates_needed_is_the_first_n_with_enough_power_by_the_independent_calculation():
    for alpha in LEVELS:
        for d in EFFECTS:
            need = replicates_needed(d, alpha)
            assert math.isfinite(need), (d, alpha)
            n = int(need)
            assert _power_conditioned_on_z(n, d, alpha) >= 0.8 - 1e-9, (d, alpha, n)
            if n > 2:
                assert _power_conditioned_on_z(n - 1, d, alpha) < 0.8, (d, alpha, n)


def test_replicates_needed_of_the_examples_that_were_wrong():
    # d_z = 1 at the strictest Holm level of 224 tests: the far lower tail once zeroed the whole power
    assert replicates_needed(1.0, 0.05 / 224) == 28
    assert replicates_needed(-1.0, 0.05 / 224) == 28
    # textbook value: d_z = 0.5, two-sided 5%, 80% power
    assert replicates_needed(0.5) == 34


def test_power_matches_simulated_paired_t_tests():
    rng = np.random.default_rng(11)
    for n, d, alpha in ((29, 1.0, 0.05 / 224), (12, 1.5, 0.05 / 50), (40, 0.5, 0.05)):
        x = rng.normal(d, 1.0, size=(20_000, n))
        p = sps.ttest_1samp(x, 0.0, axis=1).pvalue
        hits = float(np.mean(p < alpha))
        se = math.sqrt(hits * (1 - hits) / x.shape[0])
        assert abs(hits - _power(n, d, alpha)) < 4 * se + 1e-3


def test_tail_integration_agrees_with_scipy_where_scipy_is_finite():
    for df, crit, nc in ((1, 12.7, 0.5), (9, 4.8, 3.0), (27, 3.9, 5.3), (199, 3.7, -2.0), (19, 2.1, 0.0)):
        assert _tail_by_integration(crit, df, nc) == pytest.approx(float(sps.nct.sf(crit, df, nc)), abs=1e-9)


def test_replicates_needed_edge_cases():
    assert replicates_needed(0.0) == math.inf and replicates_needed(math.nan) == math.inf
    assert replicates_needed(math.inf) == 2.0
    assert replicates_needed(0.001, 0.05 / 224) == math.inf  # far beyond the practical limit
    assert replicates_needed(50.0, 0.05) == 2  # the fewest pairs a paired t-test can use


@settings(max_examples=60, deadline=None)
@given(d=st.floats(0.02, 4.0), alpha=st.floats(1e-4, 0.1), n=st.integers(2, 3000))
def test_power_grows_with_the_number_of_pairs(d, alpha, n):
    assert _power(n + 1, d, alpha) >= _power(n, d, alpha) - 1e-12
    assert 0.0 <= _power(n, d, alpha) <= 1.0


@settings(max_examples=60, deadline=None)
@given(d=st.floats(0.02, 4.0), factor=st.floats(1.0, 3.0), alpha=st.floats(1e-4, 0.1))
def test_replicates_needed_falls_as_the_effect_grows(d, factor, alpha):
    assert replicates_needed(d * factor, alpha) <= replicates_needed(d, alpha)
    assert replicates_needed(-d, alpha) == replicates_needed(d, alpha)


@settings(max_examples=60, deadline=None)
@given(alpha=st.floats(1e-4, 0.1), target=st.floats(0.5, 0.95))
def test_replicates_needed_reaches_the_target_power(alpha, target):
    d = 0.6
    n = int(replicates_needed(d, alpha, target))
    assert _power(n, d, alpha) >= target and (n == 2 or _power(n - 1, d, alpha) < target)


# --------------------------------------------------------------------------- intervals adjusted like p-values


@settings(max_examples=200, deadline=None)
@given(p=st.lists(st.one_of(st.floats(0.0, 1.0), st.sampled_from([1e-6, 1e-4, 0.001, 0.01, math.nan])),
                  min_size=1, max_size=40))
def test_holm_levels_decide_exactly_like_holm(p):
    p = np.asarray(p)
    adjusted, levels = holm(p), holm_levels(p)
    ok = np.isfinite(p)
    assert np.array_equal(np.isfinite(levels), ok)
    assert np.array_equal((p < levels)[ok], (adjusted < 0.05)[ok])
    if ok.any():
        assert np.all(levels[ok] >= 0.05 / ok.sum() - 1e-18) and np.all(levels[ok] <= 0.05)
    # tied p-values get one level, so tied tests get equal intervals
    for v in np.unique(p[ok]):
        assert np.unique(levels[p == v]).size == 1


@pytest.fixture(scope="module")
def compare_runs(tmp_path_factory) -> pd.DataFrame:
    tmp = tmp_path_factory.mktemp("cmp")
    arms = three_arms(tmp)
    out = tmp / "out"
    assert run.main(["compare", *map(str, arms), "--replicates", "6", "--seed", "3", "--no-report", "--quiet",
                     "--out", str(out)]) == 0
    return pd.read_parquet(out / "results.parquet")


_INTERVAL = re.compile(r"\[(-?[0-9.e+-]+), (-?[0-9.e+-]+)\]")


def test_verdicts_and_intervals_agree_on_real_compare_output(compare_runs):
    from analysis.io import available_kpis

    kpis = available_kpis(compare_runs)
    diffs = paired_differences(compare_runs, "base", kpis)
    tested = diffs[np.isfinite(diffs["p_value"]) & (diffs["sd_diff"] > 0)]
    assert tested["significant"].any() and (~tested["significant"]).any()  # both kinds of verdict occur
    excludes = (tested["ci_low"] > 0) | (tested["ci_high"] < 0)
    assert (excludes == tested["significant"]).all()
    for row in tested.to_dict("records"):
        lo, hi = map(float, _INTERVAL.search(row["verdict"]).groups())
        shown_excludes = lo > 0 or hi < 0
        if row["verdict"].startswith("cannot tell"):
            assert not row["significant"] and not shown_excludes, row["verdict"]
        else:
            assert row["significant"] and shown_excludes, row["verdict"]
    # the adjusted interval is never narrower than the plain 95% one
    plain = sps.t.ppf(0.975, tested["n_pairs"] - 1) * tested["sd_diff"] / np.sqrt(tested["n_pairs"])
    assert ((tested["ci_high"] - tested["ci_low"]) / 2 >= plain - 1e-12).all()

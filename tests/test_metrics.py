"""cxlib.quant.metrics against hand calculations and independent implementations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from cxlib.exceptions import DataValidationError, PeriodError
from cxlib.quant import metrics as m

Z95 = 1.959963984540054  # Phi^-1(0.975)


def _rows(period, survey_type, *, nps=None, csat=None, ces=None, segment="all"):
    """Survey rows: one per score in whichever list is given (others missing)."""
    k = len(next(v for v in (nps, csat, ces) if v is not None))

    def col(v):
        return pd.array(v if v is not None else [pd.NA] * k, dtype="Int64")

    return pd.DataFrame({"period": period, "survey_type": survey_type, "segment": segment,
                         "nps": col(nps), "csat": col(csat), "ces": col(ces)})


def _nps_scores(pro, pas, det):
    return [10] * pro + [8] * pas + [3] * det


# --------------------------------------------------------------------------------------
# NPS point estimate and adjusted-Wald interval
# --------------------------------------------------------------------------------------
def test_nps_hand_worked_example():
    # scores: 10 10 10 9 9 | 8 7 | 6 4 0  -> n=10, promoters 5, passives 2, detractors 3
    # NPS = 100 * (5/10 - 3/10) = 20
    # adjusted Wald: n' = 13, P' = 5.75/13 = 0.442308, D' = 3.75/13 = 0.288462,
    #   NPS' = 2/13 = 0.153846, var = (0.442308 + 0.288462 - 0.153846^2)/13 = 0.0543924,
    #   sd = 0.233222, half width = 1.959964 * 0.233222 = 0.457106
    #   CI = (0.153846 - 0.457106, 0.153846 + 0.457106) = (-0.303260, 0.610952) -> points
    r = m.nps([10, 10, 10, 9, 9, 8, 7, 6, 4, 0])
    assert r.metric == "nps"
    assert r.value == pytest.approx(20.0)
    assert r.n == 10 and r.excluded == 0
    assert r.p_promoters == pytest.approx(0.5) and r.p_detractors == pytest.approx(0.3)
    assert r.ci_low == pytest.approx(-30.3260, abs=1e-3)
    assert r.ci_high == pytest.approx(61.0952, abs=1e-3)
    # same from the formula written out
    pp, pd_ = 5.75 / 13, 3.75 / 13
    half = Z95 * math.sqrt((pp + pd_ - (pp - pd_) ** 2) / 13)
    assert r.ci_low == pytest.approx(100 * (pp - pd_ - half))
    assert r.ci_high == pytest.approx(100 * (pp - pd_ + half))


def test_nps_interval_is_clipped_and_confidence_matters():
    allpro = m.nps([10] * 20)
    assert allpro.value == 100 and allpro.ci_high == 100.0 and allpro.ci_low < 100
    r90, r99 = m.nps([10] * 30 + [0] * 10, 0.90), m.nps([10] * 30 + [0] * 10, 0.99)
    assert (r99.ci_high - r99.ci_low) > (r90.ci_high - r90.ci_low)
    with pytest.raises(ValueError, match="confidence"):
        m.nps([10, 0], confidence=95)


def test_adjusted_wald_width_matches_bootstrap():
    rng = np.random.default_rng(20261122)
    scores = rng.choice([10, 9, 8, 7, 6, 3, 0], size=400, p=[.3, .15, .15, .1, .1, .1, .1])
    r = m.nps(scores)
    # percentile bootstrap, 5,000 resamples (vectorised)
    idx = rng.integers(0, scores.size, size=(5000, scores.size))
    res = scores[idx]
    boot = 100 * ((res >= 9).mean(axis=1) - (res <= 6).mean(axis=1))
    lo, hi = np.percentile(boot, [2.5, 97.5])
    width_aw, width_boot = r.ci_high - r.ci_low, hi - lo
    assert width_aw == pytest.approx(width_boot, rel=0.06)
    # and both are centred near the estimate
    assert (lo + hi) / 2 == pytest.approx((r.ci_low + r.ci_high) / 2, abs=2.0)


def test_adjusted_wald_coverage_is_nominal():
    rng = np.random.default_rng(7)
    true_nps = 100 * (0.45 - 0.25)
    counts = rng.multinomial(150, [0.45, 0.30, 0.25], size=1000)
    covered = 0
    for pro, pas, det in counts:
        r = m.nps(np.repeat([10, 8, 2], [pro, pas, det]))
        covered += r.ci_low <= true_nps <= r.ci_high
    assert 0.93 <= covered / 1000 <= 0.97


# --------------------------------------------------------------------------------------
# shares and means against statsmodels / scipy
# --------------------------------------------------------------------------------------
def test_csat_top2box_wilson_matches_statsmodels_and_formula():
    scores = [5] * 30 + [4] * 25 + [3] * 10 + [2] * 8 + [1] * 7  # 55 of 80 are 4-5
    r = m.csat(scores)
    lo, hi = proportion_confint(55, 80, alpha=0.05, method="wilson")
    assert r.value == pytest.approx(100 * 55 / 80)
    assert (r.ci_low, r.ci_high) == pytest.approx((100 * lo, 100 * hi))
    # Wilson by hand
    p, n, z = 55 / 80, 80, Z95
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert r.ci_low == pytest.approx(100 * (centre - half))
    assert r.ci_high == pytest.approx(100 * (centre + half))


def test_ces_easy_is_share_five_to_seven():
    r = m.ces_easy([7, 6, 5, 4, 3, 2, 1, 5])  # 4 of 8
    lo, hi = proportion_confint(4, 8, method="wilson")
    assert r.value == pytest.approx(50.0)
    assert (r.ci_low, r.ci_high) == pytest.approx((100 * lo, 100 * hi))


def test_mean_intervals_match_scipy_t_interval():
    scores = np.array([7, 6, 6, 5, 4, 7, 3, 5, 6, 2, 5, 6])
    r = m.ces(scores)
    lo, hi = stats.t.interval(0.95, scores.size - 1, loc=scores.mean(),
                              scale=stats.sem(scores))
    assert r.value == pytest.approx(scores.mean())
    assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi))
    assert r.sd == pytest.approx(scores.std(ddof=1))
    c = m.csat_mean([5, 4, 4, 3, 5], confidence=0.9)
    lo, hi = stats.t.interval(0.9, 4, loc=4.2, scale=stats.sem([5, 4, 4, 3, 5]))
    assert (c.value, c.ci_low, c.ci_high) == pytest.approx((4.2, lo, hi))


# --------------------------------------------------------------------------------------
# changes
# --------------------------------------------------------------------------------------
def test_nps_change_by_hand():
    # current: 50 promoters, 30 passives, 20 detractors -> NPS 30,
    #   var1 = (0.5 + 0.2 - 0.3^2)/100 = 0.0061
    # previous: 60 / 30 / 10 -> NPS 50, var2 = (0.6 + 0.1 - 0.5^2)/100 = 0.0045
    # diff = -0.20; se = sqrt(0.0106) = 0.1029563; z = -1.942572; p = 2*(1-Phi(1.942572)) = 0.052068
    # CI = -0.20 +/- 1.959964*0.1029563 = (-0.401791, 0.001791) -> points
    c = m.nps_change(_nps_scores(50, 30, 20), _nps_scores(60, 30, 10))
    assert c.diff == pytest.approx(-20.0)
    assert c.z == pytest.approx(-1.942572, abs=1e-6)
    assert c.p_value == pytest.approx(0.052068, abs=1e-6)
    assert (c.ci_low, c.ci_high) == pytest.approx((-40.1791, 0.1791), abs=1e-4)
    assert c.significant is False
    assert (c.n_current, c.n_previous) == (100, 100)
    assert m.nps_change(_nps_scores(50, 30, 20), _nps_scores(60, 30, 10), 0.90).significant


def test_proportion_change_matches_statsmodels():
    for x1, n1, x2, n2 in [(40, 100, 55, 100), (312, 400, 150, 210), (7, 31, 9, 29)]:
        c = m.proportion_change(x1, n1, x2, n2)
        z, p = proportions_ztest([x1, x2], [n1, n2])
        lo, hi = confint_proportions_2indep(x1, n1, x2, n2, method="wald", compare="diff")
        assert c.z == pytest.approx(z) and c.p_value == pytest.approx(p)
        assert c.diff == pytest.approx(100 * (x1 / n1 - x2 / n2))
        assert (c.ci_low, c.ci_high) == pytest.approx((100 * lo, 100 * hi))
        assert c.significant == (p < 0.05)
    with pytest.raises(ValueError, match="x1"):
        m.proportion_change(5, 4, 1, 10)


def test_mean_change_is_welch():
    a = [1, 2, 3, 4.0, 2, 3]
    b = [2, 3, 5, 6, 7.0]
    c = m.mean_change(a, b)
    t = stats.ttest_ind(a, b, equal_var=False)
    assert c.z == pytest.approx(t.statistic) and c.p_value == pytest.approx(t.pvalue)
    assert c.diff == pytest.approx(np.mean(a) - np.mean(b))
    # Welch-Satterthwaite interval by hand
    va, vb = np.var(a, ddof=1) / 6, np.var(b, ddof=1) / 5
    df = (va + vb) ** 2 / (va**2 / 5 + vb**2 / 4)
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert (c.ci_low, c.ci_high) == pytest.approx((c.diff - half, c.diff + half))


# --------------------------------------------------------------------------------------
# validation: never silently drop
# --------------------------------------------------------------------------------------
def test_bad_scores_raise_clear_errors():
    with pytest.raises(DataValidationError, match=r"'nps'.*outside 0-10 \(11\)"):
        m.nps([3, 11, 5])
    with pytest.raises(DataValidationError, match=r"non-numeric.*'abc'"):
        m.nps(["7", "abc", 9])
    with pytest.raises(DataValidationError, match="non-integer"):
        m.csat([4.5, 3])
    with pytest.raises(DataValidationError, match="outside 1-7"):
        m.ces([0, 3])
    df = _rows("2026Q3", "relationship", nps=[9, 10, 11])
    with pytest.raises(DataValidationError, match=r"row\(s\) 2"):
        m.score_summary(df)
    with pytest.raises(DataValidationError, match="no column"):
        m.score_summary(df.assign(nps=[9, 10, 0]).drop(columns="csat"))


def test_nan_scores_are_excluded_and_counted():
    r = m.nps([10, np.nan, 0, None, 9])
    assert (r.n, r.excluded) == (3, 2)
    assert r.value == pytest.approx(100 * (2 / 3 - 1 / 3))
    df = pd.concat([_rows("2026Q3", "relationship", nps=[10, 9, None, 0]),
                    _rows("2026Q3", "transactional", csat=[5, None, 4], ces=[7, 6, 5])])
    s = m.score_summary(df, min_base=2).set_index("metric")
    assert s.loc["nps", "n"] == 3 and s.loc["nps", "excluded"] == 1
    assert s.loc["csat", "n"] == 2 and s.loc["csat", "excluded"] == 1
    assert s.loc["ces", "n"] == 3 and s.loc["ces", "excluded"] == 0
    assert s.loc["csat", "value"] == pytest.approx(100.0)
    assert s.loc["ces", "value"] == pytest.approx(6.0)
    assert not s["small_base"].any()
    assert list(s.columns[:3]) == ["label", "unit", "value"]
    assert set(s.index) == {"nps", "csat", "csat_mean", "ces", "ces_easy"}


# --------------------------------------------------------------------------------------
# frames: breakdown, tiles, trend, breakdown_change
# --------------------------------------------------------------------------------------
def test_breakdown_small_base_flagging_and_ranking():
    df = pd.concat([
        _rows("2026Q3", "relationship", nps=_nps_scores(30, 15, 5), segment="A"),   # NPS 50, n 50
        _rows("2026Q3", "relationship", nps=_nps_scores(10, 10, 20), segment="B"),  # NPS -25, n 40
        _rows("2026Q3", "relationship", nps=_nps_scores(10, 0, 0), segment="C"),    # NPS 100, n 10
        _rows("2026Q3", "transactional", csat=[5] * 10, segment="A"),  # out of NPS scope
    ], ignore_index=True)
    b = m.breakdown(df, "segment")
    assert list(b.columns) == ["segment", "metric", "value", "ci_low", "ci_high", "n",
                               "excluded", "small_base", "rank"]
    assert list(b["segment"]) == ["A", "B", "C"]
    assert list(b["value"]) == pytest.approx([50.0, -25.0, 100.0])
    assert list(b["n"]) == [50, 40, 10]
    assert list(b["small_base"]) == [False, False, True]
    assert b["rank"].iloc[0] == 1 and b["rank"].iloc[1] == 2 and np.isnan(b["rank"].iloc[2])
    # each row's interval is the single-sample one
    assert b["ci_low"].iloc[1] == pytest.approx(m.nps(_nps_scores(10, 10, 20)).ci_low)
    b5 = m.breakdown(df, "segment", min_base=5)
    assert list(b5["segment"]) == ["C", "A", "B"] and list(b5["rank"]) == [1, 2, 3]
    with pytest.raises(ValueError, match=r"segmnt.*Available columns.*'segment'"):
        m.breakdown(df, "segmnt")
    with pytest.raises(ValueError, match="unknown metric"):
        m.breakdown(df, "segment", metric="nsp")


def test_breakdown_keeps_missing_groups():
    df = _rows("2026Q3", "relationship", nps=[10, 0, 9])
    df["segment"] = ["A", None, "A"]
    b = m.breakdown(df, "segment", min_base=1)
    assert set(b["segment"]) == {"A", "(not recorded)"}
    assert b["n"].sum() == 3


def _two_periods():
    prev = pd.concat([
        _rows("2026Q2", "relationship", nps=_nps_scores(120, 60, 20)),        # NPS 50
        _rows("2026Q2", "transactional", csat=[5] * 150 + [2] * 50,          # 75 %
              ces=[6] * 100 + [4] * 100),                                    # mean 5.0
    ])
    cur = pd.concat([
        _rows("2026Q3", "relationship", nps=_nps_scores(60, 60, 80)),         # NPS -10
        _rows("2026Q3", "transactional", csat=[4] * 145 + [3] * 55,          # 72.5 %
              ces=[6] * 101 + [4] * 99),                                     # mean 5.01
    ])
    return pd.concat([prev, cur], ignore_index=True)


def test_kpi_tiles_significant_and_non_significant_changes():
    t = m.kpi_tiles(_two_periods(), "2026Q3", "2026Q2").set_index("metric")
    assert list(t.index) == ["nps", "csat", "ces"]
    # NPS 50 -> -10: a known significant drop
    nps_row = t.loc["nps"]
    assert nps_row["value"] == pytest.approx(-10.0) and nps_row["previous_value"] == pytest.approx(50.0)
    assert nps_row["change"] == pytest.approx(-60.0)
    c = m.nps_change(_nps_scores(60, 60, 80), _nps_scores(120, 60, 20))
    assert nps_row["p_value"] == pytest.approx(c.p_value) and nps_row["p_value"] < 1e-6
    assert bool(nps_row["significant"]) and nps_row["direction"] == "down"
    assert nps_row["n"] == 200 and nps_row["n_previous"] == 200
    # CSAT 75 % -> 72.5 %: not significant
    cs = t.loc["csat"]
    z, p = proportions_ztest([145, 150], [200, 200])
    assert cs["change"] == pytest.approx(-2.5) and cs["p_value"] == pytest.approx(p)
    assert not cs["significant"] and cs["direction"] == "flat"
    # CES mean 5.00 -> 5.01: flat
    ce = t.loc["ces"]
    assert ce["value"] == pytest.approx(5.01) and ce["previous_value"] == pytest.approx(5.0)
    assert not ce["significant"] and ce["direction"] == "flat"
    # a small base is never called significant
    small = m.kpi_tiles(_two_periods(), "2026Q3", "2026Q2", min_base=500).set_index("metric")
    assert not small["significant"].any() and small["small_base"].all()
    # no previous period: change columns empty
    first = m.kpi_tiles(_two_periods(), "2026Q3", None)
    assert first["change"].isna().all() and (first["direction"] == "flat").all()


def test_kpi_tiles_count_scores_outside_the_metrics_scope():
    """A CSAT given on relationship responses is not in the CSAT figure (its scope is transactional):
    counted in out_of_scope, never silently lost."""
    df = pd.DataFrame({"period": ["2026Q3"] * 6, "survey_type": ["relationship"] * 4 + ["transactional"] * 2,
                       "nps": [10, 9, 3, None, None, None], "csat": [5, 4, None, 2, 4, None]})
    k = m.kpi_tiles(df, "2026Q3", None, metrics=("nps", "csat")).set_index("metric")
    assert (k.loc["csat", "n"], k.loc["csat", "out_of_scope"]) == (1, 3)  # one transactional CSAT; three outside
    assert (k.loc["nps", "n"], k.loc["nps", "out_of_scope"]) == (3, 0)


def test_kpi_tiles_empty_period_raises_period_error():
    with pytest.raises(PeriodError, match=r"2025Q1.*\['2026Q2', '2026Q3'\]"):
        m.kpi_tiles(_two_periods(), "2025Q1", "2026Q2")
    with pytest.raises(PeriodError, match="2024Q4"):
        m.kpi_tiles(_two_periods(), "2026Q3", "2024Q4")


def test_trend_by_period_and_group():
    df = _two_periods()
    tr = m.trend(df, "nps")
    assert list(tr["period"]) == ["2026Q2", "2026Q3"]
    assert list(tr["value"]) == pytest.approx([50.0, -10.0])
    assert tr["ci_low"].iloc[1] == pytest.approx(m.nps(_nps_scores(60, 60, 80)).ci_low)
    df["segment"] = np.where(np.arange(len(df)) % 2 == 0, "even", "odd")
    tg = m.trend(df.iloc[::-1], "csat", by="segment", min_base=150)
    assert list(tg.columns[:2]) == ["period", "segment"]
    assert list(tg["period"]) == ["2026Q2", "2026Q2", "2026Q3", "2026Q3"]
    assert tg["n"].sum() == 400 and tg["small_base"].all()


def test_breakdown_change_finds_the_falling_segment():
    df = pd.concat([
        _rows("2026Q2", "relationship", nps=_nps_scores(60, 30, 10), segment="Families"),
        _rows("2026Q3", "relationship", nps=_nps_scores(35, 30, 35), segment="Families"),
        _rows("2026Q2", "relationship", nps=_nps_scores(50, 30, 20), segment="Students"),
        _rows("2026Q3", "relationship", nps=_nps_scores(52, 28, 20), segment="Students"),
        _rows("2026Q3", "relationship", nps=_nps_scores(5, 5, 0), segment="New"),
    ], ignore_index=True)
    bc = m.breakdown_change(df, "segment", "2026Q3", "2026Q2")
    assert list(bc["segment"]) == ["Families", "Students", "New"]  # largest fall first
    fam = bc.iloc[0]
    assert fam["change"] == pytest.approx(-50.0)
    c = m.nps_change(_nps_scores(35, 30, 35), _nps_scores(60, 30, 10))
    assert fam["p_value"] == pytest.approx(c.p_value) and fam["significant"]
    assert fam["p_holm"] >= fam["p_value"]
    assert not bc.iloc[1]["significant"]
    new = bc.iloc[2]
    assert new["n_previous"] == 0 and new["small_base"] and not new["significant"]


def test_nps_group_labels_and_errors():
    from cxlib.quant.metrics import nps_group

    g = nps_group(pd.Series([0, 6, 7, 8, 9, 10, None]))
    assert g.tolist()[:6] == ["detractor", "detractor", "passive", "passive", "promoter", "promoter"]
    assert pd.isna(g.iloc[6]) and list(g.cat.categories) == ["promoter", "passive", "detractor"]
    with pytest.raises(DataValidationError):
        nps_group(pd.Series([3, 11]))

"""cxlib.quant.weighting against hand calculations, a hand-coded IPF loop, cxlib.quant.metrics and
statsmodels, plus a coverage simulation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from cxlib.exceptions import DataValidationError
from cxlib.quant import metrics as m
from cxlib.quant import weighting as wt

Z95 = 1.959963984540054


def _frame(cells: dict, cols=("segment", "region")) -> pd.DataFrame:
    """Rows from {(segment, region): count}."""
    rows = [k for k, c in cells.items() for _ in range(c)]
    return pd.DataFrame(rows, columns=list(cols))


# --------------------------------------------------------------------------------------
# post-stratification
# --------------------------------------------------------------------------------------
def test_post_stratify_one_variable_by_hand_with_exclusions_counted():
    # sample: 6 A, 4 B (n = 10) plus one row with no segment and one in a segment the CRM
    # does not have; population: 300 A, 700 B.
    # w_A = (300/1000) / (6/10) = 0.5 ; w_B = (700/1000) / (4/10) = 1.75 ; mean = 1
    sample = pd.DataFrame({"segment": ["A"] * 6 + ["B"] * 4 + [None, "Z"]},
                          index=range(100, 112))
    population = pd.DataFrame({"segment": ["A"] * 300 + ["B"] * 700 + [None] * 5})
    w = wt.post_stratify(sample, population, ["segment"])
    assert list(w.index) == list(sample.index)
    assert np.allclose(w.iloc[:6], 0.5) and np.allclose(w.iloc[6:10], 1.75)
    assert w.iloc[10:].isna().all()
    assert w.mean() == pytest.approx(1.0)  # pandas mean skips the NaN rows
    a = w.attrs
    assert (a["n"], a["excluded"], a["excluded_missing"], a["excluded_not_in_population"]) == \
        (10, 2, 1, 1)
    assert a["population_excluded_missing"] == 5 and a["population_total"] == 1000
    # Kish by hand: (6*0.5 + 4*1.75)^2 / (6*0.25 + 4*3.0625) = 100 / 13.75
    assert a["n_effective"] == pytest.approx(100 / 13.75)
    assert a["design_effect"] == pytest.approx(10 / (100 / 13.75))


def test_post_stratify_joint_cells_by_hand_and_from_counts():
    # sample cells n_c: Ax 2, Ay 4, Bx 3, By 1 (n = 10); population N_c: 100, 200, 300, 400
    # w_c = (N_c/1000)/(n_c/10): Ax 0.5, Ay 0.5, Bx 1.0, By 4.0 ; mean (1+2+3+4)/10 = 1
    sample = _frame({("A", "x"): 2, ("A", "y"): 4, ("B", "x"): 3, ("B", "y"): 1})
    pop_counts = {("A", "x"): 100, ("A", "y"): 200, ("B", "x"): 300, ("B", "y"): 400}
    w = wt.post_stratify(sample, _frame(pop_counts), ["segment", "region"])
    expected = [0.5] * 2 + [0.5] * 4 + [1.0] * 3 + [4.0]
    assert np.allclose(w.to_numpy(), expected)
    # weighted share of every cell = population share
    shares = w.groupby([sample["segment"], sample["region"]]).sum() / w.sum()
    for k, c in pop_counts.items():
        assert shares[k] == pytest.approx(c / 1000)
    # same from an aggregated population (count column), as the engine would give it
    agg = pd.DataFrame([(*k, c) for k, c in pop_counts.items()],
                       columns=["segment", "region", "customers"])
    w2 = wt.post_stratify(sample, agg, ["segment", "region"], count="customers")
    assert np.allclose(w2.to_numpy(), expected)


def test_post_stratify_empty_sample_cell_is_a_clear_error():
    sample = _frame({("A", "x"): 5, ("A", "y"): 5, ("B", "x"): 5})
    population = _frame({("A", "x"): 10, ("A", "y"): 10, ("B", "x"): 10, ("B", "y"): 10})
    with pytest.raises(DataValidationError) as e:
        wt.post_stratify(sample, population, ["segment", "region"])
    msg = str(e.value)
    assert "segment='B', region='y'" in msg and "25.0% of the population" in msg
    assert "fewer variables" in msg and "rake" in msg


def test_missing_weighting_column_names_it():
    with pytest.raises(DataValidationError, match=r"sample has no column\(s\) \['region'\]"):
        wt.post_stratify(pd.DataFrame({"segment": ["A"]}), pd.DataFrame({"segment": ["A"],
                                                                           "region": ["x"]}),
                         ["segment", "region"])


# --------------------------------------------------------------------------------------
# raking
# --------------------------------------------------------------------------------------
def _two_var_case(seed=3):
    rng = np.random.default_rng(seed)
    sample = pd.DataFrame({"segment": rng.choice(list("ABC"), 300, p=[0.6, 0.3, 0.1]),
                           "region": rng.choice(["north", "south"], 300, p=[0.5, 0.5])})
    population = pd.DataFrame({
        "segment": rng.choice(list("ABC"), 4000, p=[0.3, 0.3, 0.4]),
        "region": rng.choice(["north", "south"], 4000, p=[0.8, 0.2]),
    })
    return sample, population


def test_rake_one_variable_equals_post_stratification():
    sample, population = _two_var_case()
    r = wt.rake(sample, population, ["segment"])
    p = wt.post_stratify(sample, population, ["segment"])
    assert np.allclose(r.to_numpy(), p.to_numpy(), rtol=1e-12)
    assert r.attrs["iterations"] == 1


def test_rake_two_variables_hits_both_margins_and_matches_hand_ipf():
    sample, population = _two_var_case()
    r = wt.rake(sample, population, ["segment", "region"])
    assert r.mean() == pytest.approx(1.0)
    for v in ("segment", "region"):
        target = population[v].value_counts(normalize=True)
        got = r.groupby(sample[v]).sum() / r.sum()
        assert np.allclose(got.sort_index(), target.sort_index(), atol=1e-6)
    assert r.attrs["max_margin_error"] < 1e-8 and r.attrs["iterations"] > 1

    # an independent IPF loop (Deming & Stephan 1940), written out here
    w = np.ones(len(sample))
    for _ in range(60):
        for v in ("segment", "region"):
            target = population[v].value_counts(normalize=True)
            cur = pd.Series(w).groupby(sample[v].to_numpy()).sum() / w.sum()
            w = w * (target / cur).reindex(sample[v]).to_numpy()
    w = w / w.mean()
    assert np.allclose(r.to_numpy(), w, atol=1e-6)


def test_rake_cap_trims_and_still_hits_margins():
    sample, population = _two_var_case()
    free = wt.rake(sample, population, ["segment", "region"])
    assert free.max() > 10
    capped = wt.rake(sample, population, ["segment", "region"], cap=8, max_iter=500)
    assert capped.max() <= 8 + 1e-9 and capped.attrs["trimmed"] == 9  # the 9 C/north rows
    assert capped.mean() == pytest.approx(1.0)
    for v in ("segment", "region"):
        target = population[v].value_counts(normalize=True).sort_index()
        got = (capped.groupby(sample[v]).sum() / capped.sum()).sort_index()
        assert np.allclose(got, target, atol=1e-6)
    # trimming buys precision
    assert capped.attrs["n_effective"] > free.attrs["n_effective"]
    # a cap no weights can satisfy (C/north must carry more) is reported, naming the cap
    with pytest.raises(DataValidationError, match="cap=5 too tight"):
        wt.rake(sample, population, ["segment", "region"], cap=5, max_iter=200)


def test_rake_that_cannot_converge_names_the_variable():
    # every respondent of segment B is in region y, so B's 50% forces y >= 50%, but the
    # population has y at 20%: the margins are incompatible with the sample.
    sample = _frame({("A", "x"): 10, ("A", "y"): 10, ("B", "y"): 10})
    population = _frame({("A", "x"): 40, ("A", "y"): 10, ("B", "x"): 40, ("B", "y"): 10})
    with pytest.raises(DataValidationError) as e:
        wt.rake(sample, population, ["segment", "region"], max_iter=50)
    msg = str(e.value)
    assert "did not converge in 50 iterations" in msg
    assert "variable 'segment'" in msg or "variable 'region'" in msg
    assert "Collapse categories" in msg


def test_rake_population_category_without_respondents():
    sample = _frame({("A", "x"): 10, ("A", "y"): 10})
    population = _frame({("A", "x"): 40, ("B", "y"): 10})
    with pytest.raises(DataValidationError, match=r"segment='B' \(20.0% of the population\)"):
        wt.rake(sample, population, ["segment", "region"])


# --------------------------------------------------------------------------------------
# Kish effective n and design effect
# --------------------------------------------------------------------------------------
def test_kish_effective_n_by_hand():
    # (1+1+2+4)^2 / (1+1+4+16) = 64/22 = 2.909090...
    assert wt.kish_effective_n([1, 1, 2, 4]) == pytest.approx(64 / 22)
    assert wt.design_effect([1, 1, 2, 4]) == pytest.approx(4 / (64 / 22))  # 1.375
    assert wt.kish_effective_n([3.0] * 7) == pytest.approx(7)
    assert wt.kish_effective_n([1, 1, 2, 4, np.nan]) == pytest.approx(64 / 22)  # NaN = excluded
    with pytest.raises(DataValidationError, match="negative"):
        wt.kish_effective_n([1, -1])


# --------------------------------------------------------------------------------------
# weighted scores
# --------------------------------------------------------------------------------------
SCORES = [10, 10, 10, 9, 9, 8, 7, 6, 4, 0]


@pytest.mark.parametrize("weight", [1.0, 2.5])
def test_weighted_nps_with_equal_weights_equals_metrics_nps(weight):
    r = wt.weighted_nps(SCORES + [np.nan], [weight] * 11)
    u = m.nps(SCORES)
    assert r.value == pytest.approx(u.value)
    assert r.ci_low == pytest.approx(u.ci_low) and r.ci_high == pytest.approx(u.ci_high)
    assert (r.n, r.excluded) == (10, 1) and r.n_effective == pytest.approx(10)


def test_weighted_nps_by_hand():
    # scores 10 9 7 3 0 with weights 2 1 1 1 3: sum w = 8
    # P = (2+1)/8 = 0.375, D = (1+3)/8 = 0.5, NPS = -12.5 points
    # n_eff = 8^2 / (4+1+1+1+9) = 4 ; n' = 7, P' = (4*0.375 + 0.75)/7 = 2.25/7,
    # D' = (4*0.5 + 0.75)/7 = 2.75/7
    r = wt.weighted_nps([10, 9, 7, 3, 0], [2, 1, 1, 1, 3])
    assert r.value == pytest.approx(-12.5)
    assert r.n == 5 and r.n_effective == pytest.approx(4.0)
    pp, pd_ = 2.25 / 7, 2.75 / 7
    half = Z95 * math.sqrt((pp + pd_ - (pp - pd_) ** 2) / 7)
    assert r.ci_low == pytest.approx(100 * (pp - pd_ - half))
    assert r.ci_high == pytest.approx(100 * (pp - pd_ + half))
    # NaN weight = excluded and counted
    r2 = wt.weighted_nps([10, 9, 7, 3, 0, 10], [2, 1, 1, 1, 3, np.nan])
    assert r2.value == pytest.approx(-12.5) and r2.excluded == 1


def test_weighted_interval_widens_by_sqrt_design_effect():
    rng = np.random.default_rng(11)
    scores = rng.choice(np.arange(11), 3000, p=[.04] * 7 + [.11, .11, .2, .3])
    weights = rng.lognormal(0, 0.7, 3000)  # unrelated to the scores
    r, u = wt.weighted_nps(scores, weights), m.nps(scores)
    deff = wt.design_effect(weights)
    assert 1.4 < deff < 1.8
    ratio = (r.ci_high - r.ci_low) / (u.ci_high - u.ci_low)
    assert ratio == pytest.approx(math.sqrt(deff), rel=0.05)


def test_weighted_share_equal_weights_is_statsmodels_wilson():
    y = [True] * 37 + [False] * 63 + [None]
    r = wt.weighted_share(y, [1.0] * 101)
    lo, hi = proportion_confint(37, 100, alpha=0.05, method="wilson")
    assert r.value == pytest.approx(37.0)
    assert (r.ci_low, r.ci_high) == (pytest.approx(100 * lo), pytest.approx(100 * hi))
    assert r.excluded == 1
    # with unequal weights: Wilson with n = n_eff and the weighted share
    w = np.r_[np.full(37, 2.0), np.ones(63)]
    r = wt.weighted_share(y[:100], w)
    n_eff = (74 + 63) ** 2 / (37 * 4 + 63)
    p = 74 / 137
    lo, hi = proportion_confint(p * n_eff, n_eff, alpha=0.05, method="wilson")
    assert r.value == pytest.approx(100 * p) and r.n_effective == pytest.approx(n_eff)
    assert (r.ci_low, r.ci_high) == (pytest.approx(100 * lo), pytest.approx(100 * hi))


def test_weighted_mean_equal_weights_is_metrics_ces_and_by_hand():
    x = [7, 6, 6, 5, 3, 2, 7, 4]
    r, u = wt.weighted_mean(x, [1] * 8, lo=1, hi=7), m.ces(x)
    assert r.value == pytest.approx(u.value)
    assert (r.ci_low, r.ci_high) == (pytest.approx(u.ci_low), pytest.approx(u.ci_high))
    # weights 1 1 1 1 3 3 3 3: sum 16, mean = (24 + 3*16)/16 = 4.5, n_eff = 256/40 = 6.4
    w = [1, 1, 1, 1, 3, 3, 3, 3]
    r = wt.weighted_mean(x, w)
    xs, ws = np.array(x, float), np.array(w, float)
    mean = 4.5
    var = (ws * (xs - mean) ** 2).sum() / 16 * 6.4 / 5.4
    half = stats.t.ppf(0.975, 5.4) * math.sqrt(var / 6.4)
    assert r.value == pytest.approx(mean) and r.n_effective == pytest.approx(6.4)
    assert (r.ci_low, r.ci_high) == (pytest.approx(mean - half), pytest.approx(mean + half))


def test_weighted_nps_coverage_by_simulation():
    # A finite CRM population of two equal segments with different NPS (about 34 and 12);
    # every sample takes 300 of A and 100 of B (disproportionate), is post-stratified back
    # to 50/50, and the weighted 95% interval should cover the population NPS about 95% of
    # the time. (Long-run coverage of this design, 10,000 runs: 0.953. Kish's deff ignores
    # the precision stratification gains, so with very different segments, e.g. NPS 42 vs
    # -14, the interval is slightly conservative: 0.961.)
    rng = np.random.default_rng(20261122)
    pop_a = rng.choice(np.arange(11), 10_000, p=[.04] * 7 + [.12, .12, .25, .23])
    pop_b = rng.choice(np.arange(11), 10_000, p=[.05] * 7 + [.12, .12, .2, .21])
    both = np.r_[pop_a, pop_b]
    true_nps = 100 * ((both >= 9).mean() - (both <= 6).mean())
    population = pd.DataFrame({"segment": ["A", "B"], "customers": [10_000, 10_000]})
    segment = pd.DataFrame({"segment": ["A"] * 300 + ["B"] * 100})
    w = wt.post_stratify(segment, population, ["segment"], count="customers")
    assert w.attrs["design_effect"] == pytest.approx(4 / 3)
    hits, reps = 0, 500
    for _ in range(reps):
        scores = np.r_[rng.choice(pop_a, 300, replace=False), rng.choice(pop_b, 100, replace=False)]
        r = wt.weighted_nps(scores, w.to_numpy())
        hits += r.ci_low <= true_nps <= r.ci_high
    assert 0.93 <= hits / reps <= 0.97, hits / reps


# --------------------------------------------------------------------------------------
# KPI table and change
# --------------------------------------------------------------------------------------
def _responses():
    rel = pd.DataFrame({"survey_type": "relationship", "nps": SCORES * 4, "csat": pd.NA,
                        "ces": pd.NA, "segment": ["A", "B"] * 20})
    tx = pd.DataFrame({"survey_type": "transactional", "nps": pd.NA,
                       "csat": [5, 4, 4, 3, 2, 1, 5, 5, 4, 2] * 3, "ces": [7, 6, 5, 3, 2] * 6,
                       "segment": ["A", "B", "B"] * 10})
    out = pd.concat([rel, tx], ignore_index=True)
    for c in ("nps", "csat", "ces"):
        out[c] = out[c].astype("Int64")
    return out


def test_weighted_kpis_equal_weights_match_score_summary():
    resp = _responses()
    k = wt.weighted_kpis(resp, pd.Series(1.0, index=resp.index), min_base=30)
    assert list(k.columns) == ["metric", "label", "unit", "weighted_value", "ci_low", "ci_high",
                               "unweighted_value", "n", "n_effective", "design_effect",
                               "excluded", "small_base"]
    s = m.score_summary(resp, min_base=30).set_index("metric")
    for row in k.itertuples():
        assert row.weighted_value == pytest.approx(s.loc[row.metric, "value"])
        assert row.unweighted_value == pytest.approx(s.loc[row.metric, "value"])
        assert row.ci_low == pytest.approx(s.loc[row.metric, "ci_low"])
        assert row.ci_high == pytest.approx(s.loc[row.metric, "ci_high"])
        assert row.n == s.loc[row.metric, "n"] and row.design_effect == pytest.approx(1.0)
    assert k.set_index("metric")["small_base"].to_dict() == {"nps": False, "csat": False,
                                                            "ces": False}


def test_weighted_kpis_with_weights_use_effective_base():
    resp = _responses()
    w = pd.Series(np.where(resp["segment"] == "A", 3.0, 1.0), index=resp.index)
    w.iloc[0] = np.nan  # one relationship row not weighted: excluded and counted
    k = wt.weighted_kpis(resp, w, min_base=30).set_index("metric")
    rel = resp[resp["survey_type"] == "relationship"]
    direct = wt.weighted_nps(rel["nps"], w[rel.index])
    assert k.loc["nps", "weighted_value"] == pytest.approx(direct.value)
    assert k.loc["nps", "ci_low"] == pytest.approx(direct.ci_low)
    assert k.loc["nps", "n"] == 39 and k.loc["nps", "excluded"] == 1
    # 19 rows weight 3 + 20 rows weight 1: n_eff = 77^2 / (19*9 + 20) = 31.04
    assert k.loc["nps", "n_effective"] == pytest.approx(77**2 / 191)
    assert k.loc["nps", "design_effect"] == pytest.approx(39 / (77**2 / 191))
    # unweighted value on the same 39 rows
    assert k.loc["nps", "unweighted_value"] == pytest.approx(m.nps(rel["nps"].iloc[1:]).value)
    # transactional: 30 rows, n_eff = (10*3 + 20)^2 / (10*9 + 20) = 22.7 < 30 -> small
    assert k.loc["csat", "n_effective"] == pytest.approx(2500 / 110)
    assert bool(k.loc["csat", "small_base"]) and not bool(k.loc["nps", "small_base"])


def test_weighted_change_equal_weights_equals_metrics():
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 11, 220), rng.integers(0, 11, 180)
    got = wt.weighted_change(a, np.ones(220), b, np.full(180, 0.7), "nps")
    ref = m.nps_change(a, b)
    for f in ("diff", "ci_low", "ci_high", "z", "p_value"):
        assert getattr(got, f) == pytest.approx(getattr(ref, f))
    c1, c2 = rng.integers(1, 6, 150), rng.integers(1, 6, 120)
    got = wt.weighted_change(c1, np.ones(150), c2, np.ones(120), "csat")
    ref = m.proportion_change(int((c1 >= 4).sum()), 150, int((c2 >= 4).sum()), 120)
    for f in ("diff", "ci_low", "ci_high", "z", "p_value"):
        assert getattr(got, f) == pytest.approx(getattr(ref, f))
    e1, e2 = rng.integers(1, 8, 90), rng.integers(1, 8, 70)
    got = wt.weighted_change(e1, np.ones(90), e2, np.ones(70), "ces")
    ref = m.mean_change(e1, e2)
    for f in ("diff", "ci_low", "ci_high", "z", "p_value"):
        assert getattr(got, f) == pytest.approx(getattr(ref, f))


def test_weighted_nps_change_uses_effective_n_by_hand():
    # current: 10 10 10 0 with weights 1 1 1 3 -> P = 0.5, D = 0.5, NPS 0, n_eff = 36/12 = 3
    # previous: 10 10 0 0 with weights 1 -> P = D = 0.5, NPS 0 ... use 10 10 10 0 -> 0.75/0.25
    cur, wc = [10, 10, 10, 0], [1, 1, 1, 3]
    prev, wp = [10, 10, 10, 0], [1, 1, 1, 1]
    r = wt.weighted_change(cur, wc, prev, wp)
    var1 = (0.5 + 0.5 - 0.0**2) / 3
    var2 = (0.75 + 0.25 - 0.5**2) / 4
    se = math.sqrt(var1 + var2)
    assert r.diff == pytest.approx(100 * (0.0 - 0.5))
    assert r.z == pytest.approx(-0.5 / se)
    assert r.p_value == pytest.approx(2 * stats.norm.sf(0.5 / se))
    assert (r.n_current, r.n_previous) == (4, 4)


def test_survey_weights_weights_each_survey_type_to_the_population():
    from cxlib.data.params import Weighting
    from cxlib.quant.weighting import survey_weights

    pop = pd.DataFrame({"segment": ["A", "B"], "customers": [600, 400]})
    resp = pd.DataFrame({
        "survey_type": ["relationship"] * 4 + ["transactional"] * 5,
        "segment": ["A", "B", "B", "B", "A", "A", "A", "A", "B"],
    })
    w = survey_weights(resp, pop, Weighting(variables=["segment"], method="post_stratify"))
    # relationship: A 1/4 of the sample, 60% of the population -> 0.6/0.25; B 0.4/0.75
    assert w.iloc[:4].tolist() == pytest.approx([2.4, 0.4 / 0.75, 0.4 / 0.75, 0.4 / 0.75])
    # transactional: A 4/5 -> 0.6/0.8; B 1/5 -> 0.4/0.2
    assert w.iloc[4:].tolist() == pytest.approx([0.75] * 4 + [2.0])
    assert set(w.attrs["by_survey_type"]) == {"relationship", "transactional"}
    raked = survey_weights(resp, pop, Weighting(variables=["segment"], method="rake"))
    assert raked.tolist() == pytest.approx(w.tolist())  # one variable: raking = post-stratification

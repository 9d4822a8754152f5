"""Key drivers: the customer frame, OLS + LMG shares of R^2, the NPS uplift from fixing touchpoints."""

from __future__ import annotations

import itertools
from math import factorial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from cxlib.data import engine
from cxlib.data.params import Thresholds, load_params
from cxlib.journey import drivers
from cxlib.journey import gaps as journey
from tests.helpers import open_demo

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------------------
# LMG against a brute force that refits OLS for every subset and walks every ordering
# --------------------------------------------------------------------------------------
def _brute_lmg(df: pd.DataFrame, outcome: str, groups: list[list[str]]) -> np.ndarray:
    """Average R^2 gain of each group over all p! orderings, each R^2 from its own OLS fit."""
    r2 = {}
    for k in range(len(groups) + 1):
        for sub in itertools.combinations(range(len(groups)), k):
            cols = [c for j in sub for c in groups[j]]
            formula = f"{outcome} ~ " + (" + ".join(cols) if cols else "1")
            r2[frozenset(sub)] = smf.ols(formula, df).fit().rsquared if cols else 0.0
    gains = np.zeros(len(groups))
    orders = list(itertools.permutations(range(len(groups))))
    for order in orders:
        before: set[int] = set()
        for j in order:
            gains[j] += r2[frozenset(before | {j})] - r2[frozenset(before)]
            before.add(j)
    return gains / len(orders)


@pytest.fixture(scope="module")
def synthetic() -> pd.DataFrame:
    """p = 4 correlated predictors (pairwise r ~ 0.3-0.7) and a noisy outcome."""
    rng = np.random.default_rng(7)
    cov = np.array([[1.0, 0.6, 0.3, 0.2], [0.6, 1.0, 0.5, 0.1], [0.3, 0.5, 1.0, 0.7], [0.2, 0.1, 0.7, 1.0]])
    x = rng.multivariate_normal(np.zeros(4), cov, size=300)
    y = 1.0 * x[:, 0] + 0.5 * x[:, 1] + 0.0 * x[:, 2] + 0.3 * x[:, 3] + rng.normal(0, 1.2, 300)
    df = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(ltr=y)
    df["d_missing"] = (rng.random(300) < 0.3).astype(float)  # an indicator joining d as one player
    return df


def test_lmg_equals_brute_force_and_sums_to_r2(synthetic):
    kd = drivers.key_drivers(synthetic, ["a", "b", "c", "d"], n_boot=0, indicators=False)
    shares = kd.table["share_of_r2"].to_numpy()
    brute = _brute_lmg(synthetic, "ltr", [["a"], ["b"], ["c"], ["d"]])
    np.testing.assert_allclose(shares, brute, rtol=0, atol=1e-12)
    full = smf.ols("ltr ~ a + b + c + d", synthetic).fit().rsquared
    assert shares.sum() == pytest.approx(full, abs=1e-10) and kd.r_squared == pytest.approx(full, abs=1e-12)
    assert (shares >= 0).all()
    t = kd.table.set_index("touchpoint")
    assert t["share_rank"].idxmin() == "a"
    # c has no effect of its own but correlates with a, b, d: LMG still credits it (a known
    # property: shares decompose explained variance, they are not causal effects)
    assert abs(t.loc["c", "beta"]) < 0.2 and t.loc["c", "share_of_r2"] > 0.01
    # the factorial weights are the orderings' weights
    assert sum(factorial(s) * factorial(3 - s) / factorial(4) * len(list(itertools.combinations(range(3), s)))
               for s in range(4)) == pytest.approx(1.0)


def test_lmg_groups_a_touchpoint_with_its_missing_indicator(synthetic):
    kd = drivers.key_drivers(synthetic, ["a", "b", "c", "d"], n_boot=0)  # d_missing varies: included
    assert kd.indicators == ["d_missing"]
    brute = _brute_lmg(synthetic, "ltr", [["a"], ["b"], ["c"], ["d", "d_missing"]])
    np.testing.assert_allclose(kd.table["share_of_r2"], brute, rtol=0, atol=1e-12)
    full = smf.ols("ltr ~ a + b + c + d + d_missing", synthetic).fit().rsquared
    assert kd.table["share_of_r2"].sum() == pytest.approx(full, abs=1e-10)


def test_coefficients_equal_a_direct_statsmodels_fit(synthetic):
    kd = drivers.key_drivers(synthetic, ["a", "b", "c", "d"], n_boot=0, confidence=0.9)
    direct = smf.ols("ltr ~ a + b + c + d + d_missing", synthetic).fit(cov_type="HC3")
    c = kd.coefficients.set_index("term")
    np.testing.assert_allclose(c["coef"].to_numpy(), direct.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(c["std_err"].to_numpy(), direct.bse.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(c[["ci_low", "ci_high"]].to_numpy(), direct.conf_int(0.1).to_numpy(), rtol=1e-10)
    assert kd.table["beta"].tolist() == pytest.approx(direct.params[["a", "b", "c", "d"]].tolist(), rel=1e-10)


def test_share_bootstrap_is_deterministic_with_its_seed(synthetic):
    one = drivers.key_drivers(synthetic, ["a", "b", "c", "d"], n_boot=50, seed=3)
    two = drivers.key_drivers(synthetic, ["a", "b", "c", "d"], n_boot=50, seed=3)
    other = drivers.key_drivers(synthetic, ["a", "b", "c", "d"], n_boot=50, seed=4)
    np.testing.assert_array_equal(one.boot_shares, two.boot_shares)
    pd.testing.assert_frame_equal(one.table, two.table)
    assert not np.allclose(one.table["share_ci_low"], other.table["share_ci_low"])
    t = one.table
    assert ((t["share_ci_low"] <= t["share_of_r2"]) & (t["share_of_r2"] <= t["share_ci_high"])).all()


# --------------------------------------------------------------------------------------
# uplift: a hand-built case
# --------------------------------------------------------------------------------------
def test_nps_weight_interpolates_between_whole_scores():
    w = drivers._nps_weight(np.array([8.75, 6.4, 10.7, -0.5, 9.0, 6.0, 7.0, 8.5]))
    #                                promoter .75, detractor .6, clipped 10, clipped 0, 9, 6, 7, half promoter
    np.testing.assert_allclose(w, [0.75, -0.6, 1.0, -1.0, 1.0, -1.0, 0.0, 0.5])


def test_uplift_hand_built_case():
    # LTR = 2.5 * (csat - 1) exactly (no noise): beta = 2.5. Ten customers:
    #   csat 1.0 1.8 2.2 3.0 3.4 3.4 3.8 4.2 4.6 5.0
    #   ltr  0   2   3   5   6   6   7   8   9   10
    # Before: 2 promoters (9, 10), 6 detractors (0, 2, 3, 5, 6, 6) -> NPS = 100 * (2 - 6) / 10 = -40.
    # Target 4.5: the 8 customers below it rise by 2.5 * (4.5 - csat) to exactly 2.5 * 3.5 = 8.75,
    # which counts 0.75 promoter + 0.25 passive; 4.6 and 5.0 are above target and unchanged.
    # After: (8 * 0.75 + 2) / 10 = 0.8 -> NPS 80. Uplift = 80 - (-40) = 120 points.
    # (Rounding 8.75 to 9 would give NPS 100 and uplift 140: the classification rule matters.)
    csat = np.array([1.0, 1.8, 2.2, 3.0, 3.4, 3.4, 3.8, 4.2, 4.6, 5.0])
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(10)], "ltr": np.round(2.5 * (csat - 1)),
                          "delivery": csat})
    params = load_params(ROOT / "params" / "demo.yml", check_files=False)
    kd = drivers.key_drivers(frame, ["delivery"], n_boot=0)
    assert kd.beta("delivery") == pytest.approx(2.5, abs=1e-9)
    assert kd.r_squared == pytest.approx(1.0) and kd.table["share_of_r2"].iloc[0] == pytest.approx(1.0)
    u = drivers.uplift(frame, kd, params, "delivery", target=4.5, n_boot=100, seed=1)
    assert (u.nps_before, u.nps_after, u.uplift) == (pytest.approx(-40), pytest.approx(80), pytest.approx(120))
    assert u.n == 10 and u.n_shifted == 8 and u.target == 4.5
    assert u.ci_low <= u.uplift <= u.ci_high and u.ci_high <= 200
    # the params target (delivery: 4.2) instead: the 7 below 4.2 reach 2.5 * 3.2 = 8.0 (passive),
    # 4.2 stays 8 -> after: 2 promoters, no detractors -> NPS 20, uplift 60
    u2 = drivers.uplift(frame, kd, params, "delivery", n_boot=0)
    assert (u2.target, u2.nps_after, u2.uplift) == (4.2, pytest.approx(20), pytest.approx(60))
    assert np.isnan(u2.ci_low)


# --------------------------------------------------------------------------------------
# the frame: every response accounted for
# --------------------------------------------------------------------------------------
def test_driver_frame_counts_every_exclusion():
    params = load_params(ROOT / "params" / "demo.yml", check_files=False)
    params = params.model_copy(update={"thresholds": Thresholds(min_base=2)})
    R, T = "relationship", "transactional"
    rows = [  # (customer, period, type, touchpoint, nps, csat, day)
        ("A", "2026Q3", R, None, 9, None, 1), ("A", "2026Q3", R, None, 3, None, 20),  # A's latest: 3
        ("B", "2026Q3", R, None, 10, None, 2), ("C", "2026Q3", R, None, 7, None, 3),
        ("D", "2026Q3", R, None, None, None, 4),              # no score
        (None, "2026Q3", R, None, 8, None, 5),                # no customer
        ("E", "2026Q2", R, None, 0, None, 6),                 # not the last period: not an outcome
        ("A", "2026Q2", T, "delivery", None, 2, 7), ("A", "2026Q3", T, "delivery", None, 3, 8),
        ("A", "2026Q3", T, "store", None, 5, 9),
        ("B", "2026Q3", T, "delivery", None, 4, 10),
        ("C", "2026Q3", T, "email", None, 2, 12),             # email: 1 rater < min_base 2: dropped
        ("B", "2026Q3", T, "store", None, None, 13),          # no CSAT
        ("A", "2026Q3", T, "kiosk", None, 4, 14),             # not in the journey
        (None, "2026Q3", T, "store", None, 4, 15),            # no customer
        ("E", "2026Q3", T, "store", None, 5, 16),             # E has no LTR in 2026Q3
        ("A", "2026Q1", T, "store", None, 1, 17),             # outside the window: not counted
        ("B", "2026Q2", T, "store", None, 4, 18),
    ]
    df = pd.DataFrame(rows, columns=["customer_id", "period", "survey_type", "touchpoint", "nps", "csat", "day"])
    df["response_time"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(df.pop("day"), unit="D")
    df["response_id"] = [f"R{i:02d}" for i in range(len(df))]
    f = drivers.driver_frame(df, params, window=["2026Q2", "2026Q3"])
    a = f.attrs
    assert a["touchpoints"] == ["store", "delivery"] and a["touchpoints_dropped"]["email"] == 1
    assert a["touchpoints_dropped"]["web_search"] == 0
    assert (a["n_relationship"], a["n_relationship_no_nps"], a["n_relationship_no_customer"],
            a["n_relationship_superseded"], a["n_ltr_customers"]) == (6, 1, 1, 1, 3)
    assert (a["n_too_few_touchpoints"], a["n_customers"]) == (1, 2)  # C rated only email
    assert (a["n_transactional"], a["n_transactional_no_csat"], a["n_transactional_no_customer"],
            a["n_transactional_unmapped"], a["n_transactional_no_ltr"], a["n_transactional_dropped_touchpoint"],
            a["n_transactional_used"]) == (10, 1, 1, 1, 1, 1, 5)
    assert a["n_transactional"] == sum(a[k] for k in a if k.startswith("n_transactional_"))
    got = f.set_index("customer_id")
    assert got.loc["A", "ltr"] == 3 and got.loc["B", "ltr"] == 10
    assert got.loc["A", "delivery"] == 2.5 and got.loc["B", "delivery"] == 4  # means over the window
    assert got.loc["A", "store"] == 5 and got.loc["B", "store"] == 4
    assert got["delivery_missing"].tolist() == [0.0, 0.0] and got["n_touchpoints"].tolist() == [2, 2]
    assert a["n_rated"] == {"store": 2, "delivery": 2}


# --------------------------------------------------------------------------------------
# the demo: delivery is the key driver and first to fix
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(demo_dir):
    mp, params, store, cur, _ = open_demo(demo_dir)
    window = drivers.trailing_window(cur.label, 4)
    resp = engine.responses(store, window)
    frame = drivers.driver_frame(resp, params, window=window)
    kd = drivers.key_drivers(frame, frame.attrs["touchpoints"], seed=params.seed)
    perf, _ = journey.touchpoint_performance(resp, params)
    table = drivers.uplift_table(frame, kd, params, perf=perf, seed=params.seed)
    yield params, resp, window, frame, kd, perf, table
    store.close()
    mp.undo()


def test_demo_frame_counts_match_pandas(demo):
    params, resp, window, frame, _, _, _ = demo
    assert window == ["2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    rel = resp[(resp["survey_type"] == "relationship") & (resp["period"] == window[-1]) & resp["nps"].notna()]
    tx = resp[(resp["survey_type"] == "transactional") & resp["period"].isin(window) & resp["csat"].notna()]
    with_ltr = set(rel["customer_id"])
    rated = tx[tx["customer_id"].isin(with_ltr)]
    a = frame.attrs
    assert a["n_ltr_customers"] == rel["customer_id"].nunique()
    assert a["n_customers"] == len(frame) == rated["customer_id"].nunique()
    assert a["n_too_few_touchpoints"] == len(with_ltr - set(rated["customer_id"]))
    assert a["n_transactional_used"] == len(rated) and a["n_transactional_no_ltr"] == len(tx) - len(rated)
    assert a["n_rated"] == rated.groupby("touchpoint")["customer_id"].nunique().to_dict()
    # one customer's delivery mean straight from the rows; imputed customers hold the raters' mean
    cust = rated.loc[rated["touchpoint"] == "delivery", "customer_id"].iloc[0]
    assert frame.set_index("customer_id").loc[cust, "delivery"] == pytest.approx(
        rated.loc[(rated["customer_id"] == cust) & (rated["touchpoint"] == "delivery"), "csat"].mean())
    imputed = frame.loc[frame["delivery_missing"] == 1, "delivery"]
    raters = rated[rated["touchpoint"] == "delivery"].groupby("customer_id")["csat"].mean()
    assert imputed.nunique() == 1 and imputed.iloc[0] == pytest.approx(raters.mean())
    assert not frame[a["touchpoints"]].isna().any().any()


def test_demo_delivery_is_the_key_driver(demo):
    _, _, _, frame, kd, _, _ = demo
    tps = frame.attrs["touchpoints"]
    t = kd.table.set_index("touchpoint")
    assert t["beta"].idxmax() == "delivery" and t.loc["delivery", "p_value"] < 0.001
    assert t["share_of_r2"].idxmax() == "delivery" and t.loc["delivery", "share_rank"] == 1
    assert t.loc["delivery", "share_ci_low"] > 0
    assert t.loc["delivery", "share_ci_low"] > t["share_of_r2"].drop("delivery").max()  # clearly first
    assert t["share_of_r2"].sum() == pytest.approx(kd.r_squared, abs=1e-10)
    assert (t["share_of_r2"] >= 0).all()
    # the same model written as a formula, fitted directly
    formula = "ltr ~ " + " + ".join(tps + [f"{tp}_missing" for tp in tps])
    direct = smf.ols(formula, frame).fit(cov_type="HC3")
    c = kd.coefficients.set_index("term")
    np.testing.assert_allclose(c["coef"].to_numpy(), direct.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(c["std_err"].to_numpy(), direct.bse.to_numpy(), rtol=1e-9)
    assert kd.r_squared == pytest.approx(direct.rsquared, abs=1e-12) and kd.n == len(frame)


def test_demo_delivery_first_in_uplift_table(demo):
    params, _, _, frame, kd, perf, table = demo
    assert list(table.columns[:10]) == ["rank", "touchpoint", "label", "owner", "performance", "target",
                                        "n_rated", "n_below_target", "beta", "beta_ci_low"]
    assert len(table) == len(kd.touchpoints) and table["uplift"].is_monotonic_decreasing
    top = table.iloc[0]
    assert (top["rank"], top["touchpoint"], top["owner"], top["target"]) == (1, "delivery", "Logistics", 4.2)
    assert top["uplift_ci_low"] > 0 and top["uplift"] > 2 * table["uplift"].iloc[1]
    assert top["performance"] == pytest.approx(perf.set_index("touchpoint").loc["delivery", "performance"])
    # the table's row equals the single-touchpoint call with the same seed (same resamples)
    u = drivers.uplift(frame, kd, params, "delivery", seed=params.seed)
    assert (u.uplift, u.ci_low, u.ci_high) == (pytest.approx(top["uplift"]), pytest.approx(top["uplift_ci_low"]),
                                              pytest.approx(top["uplift_ci_high"]))
    again = drivers.uplift(frame, kd, params, "delivery", seed=params.seed)
    assert (again.ci_low, again.ci_high) == (u.ci_low, u.ci_high)
    # only rated customers shifted: a smaller, still positive uplift
    rated = drivers.uplift(frame, kd, params, "delivery", n_boot=0, rated_only=True)
    assert 0 < rated.uplift < u.uplift and rated.n_shifted <= frame.attrs["n_rated"]["delivery"]


def test_demo_stated_vs_derived(demo):
    _, _, _, _, kd, perf, _ = demo
    cmp = drivers.importance_comparison(perf, kd)
    assert list(cmp["touchpoint"]) == list(perf["touchpoint"])
    d = cmp.set_index("touchpoint").loc["delivery"]
    assert (d["stated_rank"], d["derived_rank"], d["rank_diff"]) == (1, 1, 0)
    assert cmp["stated_importance"].tolist() == pytest.approx(perf["importance"].tolist())
    assert cmp.attrs["n_compared"] == len(kd.touchpoints)

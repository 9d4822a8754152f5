"""cxlib.quant.retention against hand-worked examples and independent pandas computations.

Hand examples run through a real Store (the demo files with customers.csv replaced), so the
engine half (Ibis/DuckDB quarter and month arithmetic) is tested with the pandas half.
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure
from matplotlib.text import Text
from scipy import stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from cxlib.data import engine
from cxlib.data.io import load_store
from cxlib.quant import retention as rt
from cxlib.report import plots, tables
from cxlib.report.i18n import Translator
from tests.helpers import params_for

Z95 = 1.959963984540054


def _customers(rows: list[tuple]) -> pd.DataFrame:
    """A valid customers table from (id, signup, churned, churn_date, segment) tuples."""
    ids, signup, churned, churn_date, seg = zip(*rows, strict=True)
    n = len(rows)
    return pd.DataFrame({
        "customer_id": ids, "signup_date": signup, "segment": seg, "age": [30] * n,
        "region": "Central", "plan": "basic", "preferred_channel": "web", "revenue": 10.0,
        "churned": churned, "churn_date": [d or "" for d in churn_date],
    })


def _store_with(demo_dir, tmp_path, monkeypatch, customers: pd.DataFrame):
    data = tmp_path / "client"
    shutil.copytree(demo_dir, data)
    customers.to_csv(data / "customers.csv", index=False)
    return load_store(params_for(data, monkeypatch))


# --------------------------------------------------------------------------------------
# churn per quarter
# --------------------------------------------------------------------------------------
CHURN_ROWS = [
    # id, signup, churned, churn_date, segment
    ("G", "2024-11-11", True, "2025-02-01", "S1"),   # signup 2024Q4, churns 2025Q1
    ("A", "2025-01-15", False, None, "S1"),
    ("B", "2025-02-10", True, "2025-05-20", "S1"),   # churns 2025Q2
    ("C", "2025-03-01", True, "2025-08-01", "S1"),   # churns 2025Q3
    ("H", "2025-01-20", True, None, "S2"),           # churned, no date -> attrs, not in rates
    ("D", "2025-04-10", False, None, "S2"),
    ("E", "2025-05-05", True, "2025-06-15", "S2"),   # signs up and churns within 2025Q2
    ("I", "2025-06-01", False, "2025-07-07", "S2"),  # date without flag -> not churned
    ("F", "2025-07-01", True, "2025-09-30", "S2"),   # signs up and churns within 2025Q3
    ("J", None, True, "2025-05-01", "S2"),           # no signup date -> attrs, in no quarter
]


def test_churn_by_period_hand_example(demo_dir, tmp_path, monkeypatch):
    store = _store_with(demo_dir, tmp_path, monkeypatch, _customers(CHURN_ROWS))
    try:
        out = rt.churn_by_period(store)
        seg = rt.churn_by_period(store, ["2025Q2", "2025Q3"], by="segment")
    finally:
        store.close()
    # quarters from the first signup (2024Q4) to the last signup/churn quarter (2025Q3)
    # 2024Q4: nobody signed up before 1 Oct 2024 -> active 0, rate empty; new G
    # 2025Q1: active G; churned G -> 1/1; new A B C H
    # 2025Q2: active A B C (G left in Q1); churned B -> 1/3; new D E I (E's churn is not in Q2)
    # 2025Q3: active A C D I (B, E left in Q2; I has no churn flag); churned C -> 1/4; new F
    assert list(out["period"]) == ["2024Q4", "2025Q1", "2025Q2", "2025Q3"]
    assert list(out["active_start"]) == [0, 1, 3, 4]
    assert list(out["churned"]) == [0, 1, 1, 1]
    assert list(out["new_customers"]) == [1, 4, 3, 1]
    assert math.isnan(out["rate"].iloc[0]) and math.isnan(out["ci_low"].iloc[0])
    assert list(out["rate"].iloc[1:]) == pytest.approx([1.0, 1 / 3, 0.25])
    # Wilson 1/3 by hand: centre (p + z^2/2n)/(1 + z^2/n) = 0.973576/2.280486 = 0.426916,
    # half z/(1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2) = 0.859448 * 0.425183 = 0.365423
    assert out["ci_low"].iloc[2] == pytest.approx(0.061492, abs=1e-5)
    assert out["ci_high"].iloc[2] == pytest.approx(0.792340, abs=1e-5)
    assert out["small_base"].all()
    assert out.attrs["churned_without_date"] == 1
    assert out.attrs["churn_date_without_flag"] == 1
    assert out.attrs["churn_before_signup"] == 0
    assert out.attrs["no_signup_date"] == 1
    # the report says who is left out, and why
    assert tables.churn_left_out_note(out.attrs, Translator("en")) == (
        "Left out of the churn rates and the retention curves: 1 customers flagged as churned without a "
        "churn date; 1 without a signup date. 1 customers have a churn date but are not flagged as churned: "
        "they count as staying.")
    ar = tables.churn_left_out_note(out.attrs, Translator("ar"))
    assert "دون تاريخ تسجيل" in ar and "دون تاريخ تسرّب" in ar and "قبل تاريخ تسجيلهم" not in ar
    assert "\u2066\u2066" not in ar and ar.count("\u20661\u2069") == 3  # each count isolated once
    assert tables.churn_left_out_note({"churned_without_date": 0, "no_signup_date": 0}, Translator("en")) is None
    # by segment: S1 = G A B C, S2 = H D E I F
    s = seg.set_index(["period", "segment"])
    assert s.loc[("2025Q2", "S1"), ["active_start", "churned"]].tolist() == [3, 1]
    assert s.loc[("2025Q2", "S2"), ["active_start", "churned", "new_customers"]].tolist() == [0, 0, 3]
    assert s.loc[("2025Q3", "S1"), ["active_start", "churned"]].tolist() == [2, 1]   # A C
    assert s.loc[("2025Q3", "S2"), ["active_start", "churned"]].tolist() == [2, 0]   # D I
    assert math.isnan(s.loc[("2025Q2", "S2"), "rate"])


@pytest.fixture(scope="module")
def demo(demo_dir):
    mp = pytest.MonkeyPatch()
    store = load_store(params_for(demo_dir, mp))
    cur, _ = engine.resolve_period(store, None)
    engine.build_customer_view(store, cur.end)
    cust = pd.read_csv(demo_dir / "customers.csv", parse_dates=["signup_date", "churn_date"])
    yield store, cur, cust
    store.close()
    mp.undo()


def test_churn_by_period_matches_pandas_on_demo(demo):
    store, _, cust = demo
    out = rt.churn_by_period(store)
    seg = rt.churn_by_period(store, by="segment")
    rows = []
    for label in out["period"]:
        q = pd.Period(label, freq="Q")
        start, end = q.start_time, (q + 1).start_time
        left_before = cust["churned"] & (cust["churn_date"] < start)
        active = (cust["signup_date"] < start) & ~left_before
        lost = active & cust["churned"] & (cust["churn_date"] >= start) & (cust["churn_date"] < end)
        new = (cust["signup_date"] >= start) & (cust["signup_date"] < end)
        rows.append((label, int(active.sum()), int(lost.sum()), int(new.sum())))
    expected = pd.DataFrame(rows, columns=["period", "active_start", "churned", "new_customers"])
    pd.testing.assert_frame_equal(out[expected.columns], expected, check_dtype=False)
    assert out["period"].iloc[0] == "2023Q1" and out["period"].iloc[-1] == "2026Q3"
    # every dated churn lands in exactly one quarter, except churn in the signup quarter
    same_q = cust["churned"] & (cust["signup_date"].dt.to_period("Q") == cust["churn_date"].dt.to_period("Q"))
    assert 0 < same_q.sum() < 50
    assert out["churned"].sum() + same_q.sum() == int(cust["churned"].sum())
    lo, hi = proportion_confint(out["churned"].iloc[-1], out["active_start"].iloc[-1],
                                method="wilson")
    assert (out["ci_low"].iloc[-1], out["ci_high"].iloc[-1]) == pytest.approx((lo, hi))
    # the segment rows add up to the totals
    tot = seg.groupby("period")[["active_start", "churned", "new_customers"]].sum()
    assert (tot.loc[out["period"]].to_numpy() == out[["active_start", "churned", "new_customers"]]
            .to_numpy()).all()
    with pytest.raises(ValueError, match="no column 'shoe_size'"):
        rt.churn_by_period(store, by="shoe_size")


# --------------------------------------------------------------------------------------
# retention curves
# --------------------------------------------------------------------------------------
RETENTION_ROWS = [
    # as_of 2025-07-01; months observed (obs) and churn month m in the comments
    ("R1", "2025-01-01", False, None, "S"),          # obs 6, no churn
    ("R2", "2025-01-01", True, "2025-02-15", "S"),   # obs 6, m 2
    ("R3", "2025-01-31", True, "2025-02-28", "S"),   # obs 5 (31 Jan + 6 m = 31 Jul), m 2 (31 Jan + 1 m = 28 Feb)
    ("R4", "2025-03-10", True, "2025-03-20", "S"),   # obs 3, m 1
    ("R5", "2025-04-15", False, None, "S"),          # obs 2
    ("R6", "2025-05-01", True, "2025-06-20", "S"),   # obs 2, m 2
    ("R7", "2025-06-01", True, "2025-08-01", "S"),   # obs 1, churns after as_of: not seen
    ("R8", "2025-02-01", True, "2025-06-30", "S"),   # obs 5, m 5
    ("R9", "2025-08-01", False, None, "S"),          # signed up after as_of: left out, counted
    ("R10", "2025-01-05", True, None, "S"),          # churned without date: left out, counted
    ("X1", "2024-05-01", False, None, "S"),          # a one-customer 2024 cohort: too small
    ("R11", None, False, None, "S"),                 # no signup date: left out, counted
]


def test_retention_curves_hand_life_table(demo_dir, tmp_path, monkeypatch):
    store = _store_with(demo_dir, tmp_path, monkeypatch, _customers(RETENTION_ROWS))
    try:
        out = rt.retention_curves(store, "2025-07-01", cohort="year", max_months=6, min_cohort=2)
    finally:
        store.close()
    # month k: at risk n_k = obs >= k and m >= k; churned d_k = obs >= k and m == k
    # k=1: R1..R8 -> 8, d 1 (R4)            S = 7/8           = 0.875
    # k=2: R1 R2 R3 R5 R6 R8 -> 6, d 3      S = 0.875 * 3/6   = 0.4375   (R7 censored)
    # k=3: R1 R8 -> 2, d 0                  S = 0.4375                   (R5 censored)
    # k=4: R1 R8 -> 2, d 0
    # k=5: R1 R8 -> 2, d 1 (R8)             S = 0.4375 * 1/2  = 0.21875
    # k=6: R1 -> 1, d 0                     S = 0.21875
    assert list(out["cohort"].unique()) == ["2025"]
    assert list(out["month"]) == [0, 1, 2, 3, 4, 5, 6]
    assert list(out["at_risk"]) == [8, 8, 6, 2, 2, 2, 1]
    assert list(out["churned_in_month"]) == [0, 1, 3, 0, 0, 1, 0]
    assert list(out["censored"]) == [0, 1, 1, 0, 0, 0, 1]
    assert list(out["retained"]) == pytest.approx([1, 0.875, 0.4375, 0.4375, 0.4375, 0.21875,
                                                   0.21875])
    # Greenwood: sum d/(n(n-d)) = 1/56 + 3/18 = 0.184524 at k=2, + 1/2 = 0.684524 at k=5
    # se(2) = 0.4375 * sqrt(0.184524) = 0.187934; se(5) = 0.21875 * sqrt(0.684524) = 0.180985
    assert out["se"].iloc[2] == pytest.approx(0.4375 * math.sqrt(1 / 56 + 3 / 18))
    assert out["se"].iloc[2] == pytest.approx(0.187934, abs=1e-6)
    assert out["se"].iloc[5] == pytest.approx(0.180985, abs=1e-6)
    # log-log at k=2: se_theta = 0.429563 / |log 0.4375| = 0.519625,
    # CI = 0.4375 ** exp(+-1.959964 * 0.519625) = (0.101370, 0.741886)
    assert out["ci_low"].iloc[2] == pytest.approx(0.101370, abs=1e-5)
    assert out["ci_high"].iloc[2] == pytest.approx(0.741886, abs=1e-5)
    assert out["ci_low"].iloc[5] == pytest.approx(0.012065, abs=1e-5)
    assert out["ci_high"].iloc[5] == pytest.approx(0.592799, abs=1e-5)
    assert (out["ci_low"].iloc[0], out["ci_high"].iloc[0]) == (1.0, 1.0)
    assert list(out["cohort_size"].unique()) == [8]
    assert out.attrs["small_cohorts"] == {"2024": 1}
    assert out.attrs["signed_up_after_as_of"] == 1
    assert out.attrs["churned_without_date"] == 1
    assert out.attrs["no_signup_date"] == 1
    assert out.attrs["interval"].startswith("log-log")


def test_full_months_equals_pandas_month_offsets():
    """The largest k with start + k months <= end, pandas' DateOffset clamping to a short month's end."""
    rng = np.random.default_rng(11)
    days = pd.date_range("2019-01-01", "2026-12-31")
    ends = days[days.is_month_end]  # month ends (28, 29, 30, 31) are where the rule bites
    start = pd.DatetimeIndex(np.concatenate([rng.choice(days, 300), rng.choice(ends, 100)]))
    end = pd.DatetimeIndex(np.concatenate([rng.choice(days, 200), rng.choice(ends, 200)]))
    got = rt.full_months(start.values, end.values)
    for a, b, k in zip(start, end, got, strict=True):
        want = (b.year - a.year) * 12 + b.month - a.month + 1
        while a + pd.DateOffset(months=want) > b:
            want -= 1
        assert k == want, (a, b)
    assert rt.full_months(np.datetime64("2024-01-31"), np.datetime64("2024-02-29"))[0] == 1
    assert rt.full_months(np.datetime64("2024-01-31"), np.datetime64("2024-02-28"))[0] == 0


def test_customer_dates_prepared_at_load_equal_the_engine_grouping(demo):
    """The load counts customers per signup day, churn day and flag once (what retention reads);
    the same counts grouped in the engine per segment, summed over segments, are equal."""
    store, _, cust = demo
    assert store.has(engine.CUSTOMER_DATES)
    whole = engine.customer_dates(store)
    assert whole["n"].sum() == len(cust)
    parts = engine.customer_dates(store, by="segment")
    assert len(set(parts["by"])) >= 3

    def frame(d):
        return (pd.DataFrame({k: d[k] for k in ("signup", "churn", "churned", "n")})
                .fillna({"churn": pd.Timestamp(0)}).groupby(["signup", "churn", "churned"])["n"].sum())

    pd.testing.assert_series_equal(frame(whole), frame(parts))
    plain = cust.assign(signup=cust["signup_date"].dt.normalize(), churn=cust["churn_date"].dt.normalize()
                        .fillna(pd.Timestamp(0)), churned=cust["churned"].astype(bool))
    want = plain.groupby(["signup", "churn", "churned"]).size().rename("n")
    pd.testing.assert_series_equal(frame(whole), want, check_index_type=False, check_dtype=False)


def test_retention_of_a_whole_file_report_is_observed_to_the_data_end(demo, demo_dir):
    """Without a reporting period (a whole-file report) retention is observed through the day after
    the latest date in the data; before, it failed on a missing date ('NaTType' has no normalize)."""
    store, _, cust = demo
    latest = [cust["signup_date"].max(), cust["churn_date"].max(),
              pd.read_parquet(demo_dir / "web_events.parquet", columns=["event_time"])["event_time"].max()]
    for name, col in (("orders", "order_time"), ("interactions", "interaction_time"),
                      ("survey_responses", "response_time")):
        latest.append(pd.to_datetime(pd.read_csv(demo_dir / f"{name}.csv", usecols=[col])[col], format="mixed").max())
    end = max(pd.Timestamp(x).normalize() for x in latest) + pd.Timedelta(days=1)
    assert rt.observation_end(store) == end
    whole = rt.retention_curves(store, None, max_months=18)
    pd.testing.assert_frame_equal(whole, rt.retention_curves(store, end, max_months=18))
    assert whole.attrs["as_of"] == str(end.date()) and whole["churned_in_month"].sum() > 150


def test_life_table_counts_equal_the_definition_month_by_month():
    """n_k = customers observable k months and not churned before month k; d_k = those churned in
    month k: counted here with a mask per month, as the docstring states them."""
    rng = np.random.default_rng(7)
    for max_months in (1, 6, 24):
        obs = rng.integers(0, max_months + 3, 400)
        m = rng.integers(1, max_months + 3, 400)
        w = rng.integers(1, 5, 400)
        lt = rt.life_table(obs, m, w, max_months=max_months)
        o = np.minimum(obs, max_months)
        for _, row in lt.iterrows():
            k = int(row["month"])
            want_n = w.sum() if k == 0 else w[(o >= k) & (m >= k)].sum()
            want_d = 0 if k == 0 else w[(o >= k) & (m == k)].sum()
            assert (row["at_risk"], row["churned_in_month"]) == (want_n, want_d), (max_months, k)


def _plain_retention(cust: pd.DataFrame, as_of: pd.Timestamp, max_months: int) -> pd.DataFrame:
    """Life table by quarter cohort with pandas month offsets (independent of the engine)."""
    c = cust[(cust["signup_date"] <= as_of) & ~(cust["churned"] & cust["churn_date"].isna())].copy()
    c["cohort"] = c["signup_date"].dt.to_period("Q").dt.strftime("%YQ%q")
    churn = c["churn_date"].where(c["churned"])
    rows = []
    for cohort, g in c.groupby("cohort"):
        s, prev = 1.0, g["signup_date"]
        rows.append((cohort, 0, len(g), 0, 1.0))
        for k in range(1, max_months + 1):
            edge = g["signup_date"] + pd.DateOffset(months=k)
            alive = churn[g.index].isna() | (churn[g.index] >= prev)
            at_risk = (edge <= as_of) & alive
            d = at_risk & (churn[g.index] < edge)
            if at_risk.sum() == 0:
                break
            s *= 1 - d.sum() / at_risk.sum()
            rows.append((cohort, k, int(at_risk.sum()), int(d.sum()), s))
            prev = edge
    return pd.DataFrame(rows, columns=["cohort", "month", "at_risk", "churned_in_month", "retained"])


def test_retention_curves_match_plain_pandas_on_demo(demo):
    store, cur, cust = demo
    out = rt.retention_curves(store, cur.end, max_months=18)
    plain = _plain_retention(cust, cur.end, 18)
    pd.testing.assert_frame_equal(out[plain.columns].reset_index(drop=True), plain,
                                  check_dtype=False)
    assert out["churned_in_month"].sum() > 150  # the comparison is not vacuous
    for _, g in out.groupby("cohort"):
        assert (np.diff(g["retained"]) <= 1e-12).all()          # monotone non-increasing
        assert (g["ci_low"] <= g["retained"] + 1e-12).all() and (g["retained"] <= g["ci_high"]).all()
    by_segment = rt.retention_curves(store, cur.end, max_months=18, by="segment", min_cohort=1)
    for seg, g in by_segment.groupby("segment"):
        plain = _plain_retention(cust[cust["segment"] == seg], cur.end, 18)
        pd.testing.assert_frame_equal(g[plain.columns].reset_index(drop=True), plain, check_dtype=False)
    assert by_segment["segment"].nunique() >= 3
    years = rt.retention_curves(store, cur.end, cohort="year", min_cohort=500)
    assert set(years["cohort"]) == {"2023", "2024", "2025"}
    assert years.attrs["small_cohorts"] == {"2026": int((cust["signup_date"].dt.year == 2026).sum())}


# --------------------------------------------------------------------------------------
# churn lift
# --------------------------------------------------------------------------------------
def test_churn_lift_hand_example():
    # with the signal: 20 customers, 8 churn; without: 30, 3 churn; 2 unknown
    flag = [True] * 20 + [False] * 30 + [None, None]
    churned = [True] * 8 + [False] * 12 + [True] * 3 + [False] * 27 + [True, False]
    view = pd.DataFrame({"sig": pd.array(flag, dtype="boolean"), "churned": churned,
                         "as_int": [1] * 20 + [0] * 30 + [np.nan] * 2})
    out = rt.churn_lift(view, ["sig", "as_int"]).set_index("signal")
    r = out.loc["sig"]
    assert (r["customers_with"], r["churned_with"], r["customers_without"],
            r["churned_without"], r["missing"]) == (20, 8, 30, 3, 2)
    assert r["rate_with"] == pytest.approx(0.4) and r["rate_without"] == pytest.approx(0.1)
    # RR = 0.4/0.1 = 4; se(log RR) = sqrt(1/8 - 1/20 + 1/3 - 1/30) = sqrt(0.375) = 0.612372
    # CI = 4 * exp(+-1.959964 * 0.612372) = (1.204502, 13.283495)
    assert r["risk_ratio"] == pytest.approx(4.0)
    assert r["rr_ci_low"] == pytest.approx(1.204502, abs=1e-5)
    assert r["rr_ci_high"] == pytest.approx(13.283495, abs=1e-4)
    sm = confint_proportions_2indep(8, 20, 3, 30, compare="ratio", method="log")
    assert (r["rr_ci_low"], r["rr_ci_high"]) == pytest.approx(sm)
    # Newcombe: Wilson intervals of each rate, combined
    l1, u1 = proportion_confint(8, 20, method="wilson")
    l2, u2 = proportion_confint(3, 30, method="wilson")
    assert r["difference"] == pytest.approx(0.3)
    assert r["diff_ci_low"] == pytest.approx(0.3 - math.sqrt((0.4 - l1) ** 2 + (u2 - 0.1) ** 2))
    assert r["diff_ci_high"] == pytest.approx(0.3 + math.sqrt((u1 - 0.4) ** 2 + (0.1 - l2) ** 2))
    # pooled z: p = 11/50, z = 0.3 / sqrt(0.22 * 0.78 * (1/20 + 1/30)) = 2.508726
    assert r["z"] == pytest.approx(0.3 / math.sqrt(0.22 * 0.78 * (1 / 20 + 1 / 30)))
    assert r["p_value"] == pytest.approx(2 * stats.norm.sf(r["z"]))
    assert r["p_value"] == pytest.approx(proportions_ztest([8, 3], [20, 30])[1], rel=1e-12)
    # 1/0 with NaN gives the same as true/false with None
    assert out.loc["as_int", "risk_ratio"] == pytest.approx(4.0) and out.loc["as_int", "missing"] == 2
    with pytest.raises(ValueError, match="'bad' must be true/false"):
        rt.churn_lift(view.assign(bad=["maybe"] * 52), ["bad"])


def test_churn_lift_finds_planted_unresolved_signal(demo, demo_dir):
    store, _, _ = demo
    view = engine.customer_view(store)
    view["is_detractor"] = (view["nps_group"] == "detractor").where(view["nps_group"].notna())
    out = rt.churn_lift(view, ["has_unresolved", "has_late_delivery", "is_detractor"])
    r = out.set_index("signal").loc["has_unresolved"]
    truth = yaml.safe_load((demo_dir / "truth.yml").read_text())["findings"]["churn_signal"]
    assert r["customers_with"] == truth["n_with_unresolved"]
    assert r["rate_with"] == pytest.approx(truth["rate_with_unresolved"], abs=1e-4)
    assert r["risk_ratio"] >= 2 and r["rr_ci_low"] > 1
    assert r["p_value"] < 0.001 and r["diff_ci_low"] > 0
    z, p = proportions_ztest([r["churned_with"], r["churned_without"]],
                             [r["customers_with"], r["customers_without"]])
    assert r["z"] == pytest.approx(z) and r["p_value"] == pytest.approx(p, rel=1e-9)
    det = out.set_index("signal").loc["is_detractor"]
    assert det["missing"] == int(view["nps_group"].isna().sum()) > 0   # counted, not False
    assert det["customers_with"] + det["customers_without"] + det["missing"] == len(view)


# --------------------------------------------------------------------------------------
# charts
# --------------------------------------------------------------------------------------
def _legible(fig: Figure) -> None:
    assert isinstance(fig, Figure) and fig.get_figwidth() == pytest.approx(7.5)
    small = [t.get_text() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and t.get_fontsize() < 9]
    assert not small, small
    fig.canvas.draw()


def _curves(cohorts: list[str], months: int = 6) -> pd.DataFrame:
    rows = []
    for i, c in enumerate(cohorts):
        for k in range(months + 1):
            s = (1 - 0.02 * (i + 1)) ** k
            rows.append({"cohort": c, "month": k, "retained": s, "ci_low": s * 0.9,
                         "ci_high": min(1.0, s * 1.05), "at_risk": 100 - 10 * k,
                         "cohort_size": 100 + 10 * i, "small_base": k == months})
    return pd.DataFrame(rows)


def test_retention_chart_lines_bands_and_largest_cohorts():
    few = plots.retention_chart(_curves(["2025Q1", "2025Q2"]))
    _legible(few)
    ax = few.axes[0]
    assert len(ax.lines) == 2
    assert ax.get_xlabel() == "Months since signup" and ax.get_ylabel() == "Customers retained (%)"
    assert max(ax.lines[0].get_ydata()) == pytest.approx(100.0)
    legend = [t.get_text() for lg in few.legends for t in lg.get_texts()]
    assert "2025Q1 (n=100)" in legend and "95% confidence interval" in legend
    many = plots.retention_chart(_curves([f"202{y}Q{q}" for y in (4, 5) for q in (1, 2, 3, 4)]))
    _legible(many)
    assert len(many.axes[0].lines) == 6
    assert many.legends[0].get_title().get_text() == "Signup cohort (largest 6 of 8)"
    shown = [t.get_text() for t in many.legends[0].get_texts()][:6]
    assert shown[0].startswith("2024Q3")  # the two smallest (2024Q1, 2024Q2) are left out


def test_churn_trend_chart_lines_per_group(demo):
    store, _, _ = demo
    labels = ["2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    one = plots.churn_trend_chart(rt.churn_by_period(store, labels))
    _legible(one)
    assert len(one.axes[0].lines) == 1
    assert one.axes[0].get_ylabel() == "Churn rate (% of active customers)"
    y = one.axes[0].lines[0].get_ydata()
    assert 1 < y[-1] < 20                       # percent, not a 0-1 share
    by_seg = plots.churn_trend_chart(rt.churn_by_period(store, labels, by="segment"), by="segment")
    _legible(by_seg)
    assert len(by_seg.axes[0].lines) == 4
    with pytest.raises(ValueError, match="pass by="):
        plots.churn_trend_chart(rt.churn_by_period(store, labels, by="segment"))

"""Paths that end in churn or abandonment: the planted churn path and checkout detour are found,
counts match a pandas recomputation, the statistics match scipy/statsmodels, missing data degrades."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from cxlib.journey.sequences import (
    PATH_COLUMNS,
    RULE_COLUMNS,
    abandonment_paths,
    abandonment_rules,
    churn_paths,
    churn_rules,
    rank_table,
)
from tests.journey_support import demo_run, read_demo, store_of


@pytest.fixture(scope="module")
def run(demo_dir):
    return demo_run(demo_dir)


@pytest.fixture(scope="module")
def ref(run, demo_dir):
    """Customers compared at the end of the period, their anchors and every step, in pandas."""
    as_of = run.cur.end
    c = read_demo(demo_dir, "customers")
    c = c[~(c["churned"] & (c["churn_date"] < as_of - pd.Timedelta(days=365))) & (c["signup_date"] < as_of)]
    c = c.assign(out=c["churned"] & (c["churn_date"] < as_of))
    c = c.assign(anchor=c["churn_date"].where(c["out"], as_of)).set_index("customer_id")
    i = read_demo(demo_dir, "interactions")
    o = read_demo(demo_dir, "orders")
    w = read_demo(demo_dir, "web_events")
    steps = [pd.DataFrame({"customer_id": i["customer_id"], "t": i["interaction_time"],
                           "step": np.where(i["resolved"], "contact_resolved", "contact_unresolved")}),
             pd.DataFrame({"customer_id": o["customer_id"], "t": o["order_time"],
                           "step": np.where(o["delivery_days"].isna(), "order",
                                            np.where(o["late"], "order_late", "order_on_time"))})]
    known = w[w["customer_id"].notna()]
    t0 = known[known["event"] == "checkout_start"].groupby(["session_id", "customer_id"])["event_time"].min()
    bought = set(known.loc[known["event"] == "purchase", "session_id"])
    s = t0.rename("t").reset_index()
    s = s[~s["session_id"].isin(bought)]
    steps.append(pd.DataFrame({"customer_id": s["customer_id"], "t": s["t"], "step": "checkout_abandoned"}))
    st = pd.concat(steps, ignore_index=True)
    st = st[st["customer_id"].isin(c.index)]
    a = st["customer_id"].map(c["anchor"])
    st = st[(st["t"] < a) & (st["t"] >= a - pd.Timedelta(days=180))]
    return c, st, i, o


def test_rules_find_unresolved_then_late(run, ref):
    res = churn_rules(run.store, run.params, as_of=run.cur.end)
    c, st, i, o = ref
    assert res.status == "answered" and res.anchored and list(res.table.columns) == RULE_COLUMNS
    assert (res.n, res.n_outcome) == (len(c), int(c["out"].sum()))
    top = res.table.sort_values("rank").iloc[0]
    assert top["rule"] == "unresolved_then_late" and top["lift"] > 2.5 and top["lift_ci_low"] > 2
    # independent count: an unresolved contact, then a late delivery within 30 days, inside the lookback
    a = c["anchor"]
    def window(df, col):
        aa = df["customer_id"].map(a)
        return df[(df[col] < aa) & (df[col] >= aa - pd.Timedelta(days=180))]

    u = window(i[~i["resolved"] & i["customer_id"].isin(c.index)], "interaction_time")
    late = window(o[o["late"] & o["customer_id"].isin(c.index)], "order_time")
    p = u.merge(late, on="customer_id")
    p = p[(p["order_time"] > p["interaction_time"]) & (p["order_time"] - p["interaction_time"] <= pd.Timedelta(days=30))]
    who = set(p["customer_id"])
    assert (top["n"], top["outcome_n"]) == (len(who), int(c.loc[list(who), "out"].sum()))
    assert top["rate"] == pytest.approx(top["outcome_n"] / top["n"])
    assert top["support"] == pytest.approx(top["outcome_n"] / res.n)
    assert top["lift"] == pytest.approx(top["rate"] / res.rate)
    k, n = int(top["outcome_n"]), int(top["n"])
    table = [[k, n - k], [res.n_outcome - k, res.n - res.n_outcome - (n - k)]]
    assert top["p_value"] == pytest.approx(stats.fisher_exact(table)[1])


def test_paths_before_churn_match_pandas_and_lead_with_the_plant(run, ref):
    res = churn_paths(run.store, run.params, as_of=run.cur.end, steps=2)
    c, st, _, _ = ref
    assert res.status == "answered" and list(res.table.columns) == PATH_COLUMNS
    last = st.sort_values(["customer_id", "t", "step"]).groupby("customer_id").tail(2)
    seq = last.groupby("customer_id")["step"].agg(lambda s: " > ".join(s))
    seq = seq.reindex(c.index).fillna("no_steps")
    want = pd.DataFrame({"seq": seq, "out": c["out"]}).groupby("seq")["out"].agg(["size", "sum"])
    got = res.table.set_index("sequence")[["n", "outcome_n"]]
    assert got.sort_index().to_numpy().tolist() == want.sort_index().to_numpy().tolist()
    assert list(got.sort_index().index) == list(want.sort_index().index)
    assert res.table["outcome_n"].is_monotonic_decreasing  # most frequent before churn first
    best = res.table.sort_values("rank").iloc[0]
    assert set(best["steps"]) == {"contact_unresolved", "order_late"} and best["significant"]


def test_whole_file_paths_say_the_date_they_were_read_to(run, demo_dir):
    """Without a period the paths are read up to the last contact or order; the paragraph names that
    date (it said 'in the year to all')."""
    from cxlib.report import method
    from cxlib.report.i18n import Translator

    res = churn_paths(run.store, run.params, steps=2)
    last = max(read_demo(demo_dir, "orders")["order_time"].max(),
               read_demo(demo_dir, "interactions")["interaction_time"].max())
    assert res.status == "answered" and res.as_of == str(last.date())
    assert f"in the year to {last.date()})" in method.churn_intro(res, Translator("en"), 2, None, 30)
    assert "in the year to 2026Q3)" in method.churn_intro(res, Translator("en"), 2, "2026Q3", 30)
    assert churn_paths(run.store, run.params, as_of=run.cur.end).as_of == str(run.cur.end.date())


def test_three_step_path_names_the_plant_in_order(run):
    res = churn_paths(run.store, run.params, as_of=run.cur.end, steps=3)
    best = res.table.sort_values("rank").iloc[0]
    s = list(best["steps"])
    assert "contact_unresolved" in s and "order_late" in s[s.index("contact_unresolved"):]


def test_abandonment_paths_show_the_help_detour(run, demo_dir):
    res = abandonment_paths(run.store, run.params, run.cur, steps=2)
    assert res.status == "answered"
    t = res.table.set_index("sequence")
    detour, paid = t.loc["checkout_start > help_page"], t.loc["checkout_start > payment"]
    assert detour["significant"] and detour["lift"] > 1.2 and detour["ci_low"] > paid["ci_high"]
    # independent: the first two events from checkout_start on, before the purchase
    w = read_demo(demo_dir, "web_events")
    w = w[(w["event_time"] >= run.cur.start) & (w["event_time"] < run.cur.end)]
    t0 = w[w["event"] == "checkout_start"].groupby("session_id")["event_time"].min()
    e = w[w["session_id"].isin(t0.index)]
    e = e[e["event_time"] >= e["session_id"].map(t0)]
    t1 = e[e["event"] == "purchase"].groupby("session_id")["event_time"].min()
    e = e[e["session_id"].map(t1).isna() | (e["event_time"] < e["session_id"].map(t1))]
    first = e.sort_values(["session_id", "event_time", "event"]).groupby("session_id").head(2)
    seq = first.groupby("session_id")["event"].agg(" > ".join)
    ab = ~seq.index.isin(t1.index)
    assert (res.n, res.n_outcome) == (len(seq), int(ab.sum()))
    want = pd.DataFrame({"seq": seq, "ab": ab}).groupby("seq")["ab"].agg(["size", "sum"])
    assert (detour["n"], detour["outcome_n"]) == tuple(want.loc["checkout_start > help_page"])
    rules = abandonment_rules(run.store, run.params, run.cur).table.set_index("rule")
    assert rules.loc["help_detour", "significant"] and rules.loc["help_detour", "lift"] > 1.1
    assert rules.loc["went_back", "small_base"]  # the demo's sessions never go back


def test_rank_table_against_scipy_and_statsmodels():
    counts = pd.DataFrame({"sequence": ["a", "b", "c", "d"], "n": [100, 60, 20, 300], "outcome_n": [60, 12, 15, 30]})
    n_total, k_total = 1000, 200
    out = rank_table(counts, n_total, k_total, min_base=30, alpha=0.05, confidence=0.95).set_index("sequence")
    assert out.loc["a", "rate"] == 0.6 and out.loc["a", "lift"] == pytest.approx(3.0)
    lo, hi = proportion_confint(60, 100, method="wilson")
    assert (out.loc["a", "lift_ci_low"], out.loc["a", "lift_ci_high"]) == (pytest.approx(lo / 0.2), pytest.approx(hi / 0.2))
    assert out.loc["a", "rate_without"] == pytest.approx(140 / 900)
    p = [stats.fisher_exact([[k, n - k], [k_total - k, n_total - n - (k_total - k)]])[1]
         for n, k in ((100, 60), (60, 12), (300, 30))]
    assert out.loc[["a", "b", "d"], "p_value"].tolist() == pytest.approx(p)
    assert out.loc[["a", "b", "d"], "p_adj"].tolist() == pytest.approx(list(multipletests(p, method="holm")[1]))
    assert out.loc["c", "small_base"] and np.isnan(out.loc["c", "p_adj"]) and pd.isna(out.loc["c", "rank"])
    assert out.loc["a", "rank"] == 1 and not out.loc["b", "significant"]  # b is at the base rate


def test_missing_tables_give_not_enough_evidence(run, demo_dir):
    survey_only = store_of(run.params, survey_responses=read_demo(demo_dir, "survey_responses"))
    for res in (churn_paths(survey_only, run.params), churn_rules(survey_only, run.params),
                abandonment_paths(survey_only, run.params, run.cur), abandonment_rules(survey_only, run.params),
                churn_paths(None, run.params), abandonment_rules(None, run.params)):
        assert res.status == "not_enough_evidence" and res.table.empty and res.notes
    # a CRM snapshot without dates: rules still run over the whole history, not anchored
    crm = read_demo(demo_dir, "customers").drop(columns=["churn_date", "signup_date"])
    snap = store_of(run.params, customers=crm, interactions=read_demo(demo_dir, "interactions"))
    res = churn_rules(snap, run.params)
    assert res.status == "answered" and not res.anchored
    assert set(res.table["rule"]) == {"repeat_contact", "unresolved_contact", "transferred_contact"}
    with pytest.raises(ValueError, match="steps must be 1 to 5"):
        churn_paths(run.store, run.params, steps=9)

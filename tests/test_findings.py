"""The quantitative analyses recover the demo's planted findings, through the notebooks' calls.

(3) one segment's NPS falls significantly between the last two quarters,
(4) mobile checkout abandonment is at least twice desktop's,
(5) customers with an unresolved ticket churn at least twice as often.
The truth file is read only to compare, never by the analyses.
"""

from __future__ import annotations

import pytest
import yaml
from statsmodels.stats.proportion import proportions_ztest

from cxlib.data import engine
from cxlib.data.io import load_store
from cxlib.quant import metrics, retention
from tests.helpers import params_for


@pytest.fixture(scope="module")
def run(demo_dir):
    mp = pytest.MonkeyPatch()
    params = params_for(demo_dir, mp)
    store = load_store(params)
    cur, prev = engine.resolve_period(store, None)
    engine.build_customer_view(store, cur.end)
    yield params, store, cur, prev, yaml.safe_load((demo_dir / "truth.yml").read_text())
    store.close()
    mp.undo()


def test_3_segment_nps_fall_is_found_and_only_there(run):
    params, store, cur, prev, _ = run
    resp = engine.responses(store)
    seg = metrics.breakdown_change(resp, "segment", cur.label, prev.label,
                                   alpha=params.thresholds.alpha, min_base=params.thresholds.min_base)
    sig = seg[seg["significant"]]
    assert list(sig["segment"]) == ["Value Seekers"]
    vs = sig.iloc[0]
    assert vs["change"] <= -25 and vs["p_value"] < 0.01 and vs["change_ci_high"] < 0
    assert vs["p_holm"] < 0.05  # survives the correction for testing four segments
    # the same figure straight from the raw rows, by the textbook formula
    r = resp[(resp["segment"] == "Value Seekers") & (resp["survey_type"] == "relationship")]
    now, before = (r.loc[r["period"] == p, "nps"].dropna() for p in (cur.label, prev.label))
    nps = lambda s: 100 * ((s >= 9).mean() - (s <= 6).mean())  # noqa: E731
    assert vs["change"] == pytest.approx(nps(now) - nps(before))


def test_4_mobile_checkout_abandonment_twice_desktop(run):
    params, store, cur, _, truth = run
    funnel = engine.funnel(store, params, cur, by="device")
    checkout = [s.event for s in params.funnel if s.touchpoint == "checkout"][0]
    ab = engine.abandonment(funnel, checkout, params.funnel[-1].event).set_index("device")
    assert ab.loc["mobile", "rate"] >= 2 * ab.loc["desktop", "rate"]
    assert ab.loc["mobile", "ci_low"] > ab.loc["desktop", "ci_high"]  # not an accident of sampling
    # independent: sessions from the raw events in pandas
    import pandas as pd

    ev = pd.read_parquet(params.table_path("web_events"))
    ev = ev[(ev["event_time"] >= cur.start) & (ev["event_time"] < cur.end)]
    s = ev.groupby(["session_id", "device"])["event"].agg(set).reset_index()
    started = s[s["event"].map(lambda e: checkout in e)]
    rate = 1 - started.groupby("device")["event"].agg(lambda col: sum("purchase" in e for e in col) / len(col))
    assert ab.loc["mobile", "rate"] == pytest.approx(rate["mobile"])
    assert ab.loc["desktop", "rate"] == pytest.approx(rate["desktop"])


def test_4_funnel_by_source_in_the_engine(run):
    params, store, cur, _, _ = run
    f = engine.funnel(store, params, cur, by="source")
    assert set(f["source"]) >= {"organic", "paid_search", "social", "email", "direct"}
    assert (f.groupby("source")["share_of_start"].first() == 1).all()


def test_5_unresolved_ticket_doubles_churn(run):
    *_, store, cur, prev, truth = run
    lift = retention.churn_lift(engine.customer_view(store), ["has_unresolved"]).iloc[0]
    assert lift["rate_with"] >= 2 * lift["rate_without"] and lift["rr_ci_low"] > 1
    z, p = proportions_ztest([lift["churned_with"], lift["churned_without"]],
                             [lift["customers_with"], lift["customers_without"]])
    assert lift["p_value"] == pytest.approx(p) and p < 0.001
    planted = truth["findings"]["churn_signal"]  # what the generator measured, for comparison only
    assert lift["rate_with"] == pytest.approx(planted["rate_with_unresolved"], abs=1e-3)
    assert (lift["customers_with"], lift["customers_without"]) == (planted["n_with_unresolved"], planted["n_without"])


def test_empty_period_and_outside_period_are_clear_errors(run):
    from cxlib.exceptions import PeriodError

    params, store, cur, prev, _ = run
    resp = engine.responses(store)
    with pytest.raises(PeriodError, match="2019Q1"):
        metrics.kpi_tiles(resp, "2019Q1", cur.label)
    with pytest.raises(PeriodError, match="outside the data"):
        engine.resolve_period(store, "2030Q1")

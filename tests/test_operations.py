"""cxlib.journey.operations: operational metrics per touchpoint (engine) and pain points per touchpoint."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from cxlib.data import engine
from cxlib.journey import operations
from tests.helpers import demo_params_dict, open_demo, params_for


@pytest.fixture(scope="module")
def run(demo_dir):
    mp, params, store, cur, _ = open_demo(demo_dir)
    ops = operations.touchpoint_operations(store, params, cur, delivery_touchpoint=params.delivery_touchpoint)
    yield params, store, cur, ops
    store.close()
    mp.undo()


def _in_period(df: pd.DataFrame, col: str, period) -> pd.DataFrame:
    t = pd.to_datetime(df[col])
    return df[(t >= period.start) & (t < period.end)]


def test_every_journey_touchpoint_in_journey_order(run):
    params, _, cur, ops = run
    assert list(ops.columns) == operations.OPS_COLUMNS
    assert list(ops["touchpoint"]) == [tp.id for tp in params.touchpoints]
    assert list(ops["stage"]) == [st.id for st in params.journey for _ in st.touchpoints]
    assert ops.attrs["period"] == cur.label
    assert ops.attrs["unmapped_interactions"] == {}


def test_resolution_and_handling_match_pandas_on_interactions_csv(run, demo_dir):
    params, _, cur, ops = run
    raw = pd.read_csv(demo_dir / "interactions.csv")
    raw = _in_period(raw, "interaction_time", cur)
    raw["resolved"] = raw["resolved"].astype(str).str.lower().eq("true")
    g = raw.groupby("touchpoint")
    o = ops.set_index("touchpoint")
    assert set(g.groups) <= set(o.index)
    for tp in o.index:
        if tp not in g.groups:
            assert pd.isna(o.loc[tp, "contacts"]) and np.isnan(o.loc[tp, "resolution_rate"])
            assert np.isnan(o.loc[tp, "handling_minutes"])
            continue
        d = g.get_group(tp)
        assert o.loc[tp, "contacts"] == len(d)
        assert o.loc[tp, "resolved"] == d["resolved"].sum()
        assert o.loc[tp, "resolution_rate"] == pytest.approx(d["resolved"].mean())
        assert o.loc[tp, "handling_minutes"] == pytest.approx(d["handling_minutes"].mean())
        lo, hi = proportion_confint(d["resolved"].sum(), len(d), alpha=0.05, method="wilson")
        assert (o.loc[tp, "resolution_ci_low"], o.loc[tp, "resolution_ci_high"]) == (
            pytest.approx(lo), pytest.approx(hi))
        assert "interactions" in o.loc[tp, "sources"]
    assert len(g.groups) >= 4  # the demo has support, store, delivery and email contacts


def test_delivery_late_rate_matches_pandas_on_orders_csv(run, demo_dir):
    _, _, cur, ops = run
    raw = _in_period(pd.read_csv(demo_dir / "orders.csv"), "order_time", cur)
    delivered = raw[raw["delivery_days"].notna()]
    late = delivered["late"].astype(str).str.lower().eq("true")
    o = ops.set_index("touchpoint")
    d = o.loc["delivery"]
    assert d["orders"] == len(delivered) > 100
    assert d["late"] == late.sum()
    assert d["late_rate"] == pytest.approx(late.mean())
    assert d["delivery_days"] == pytest.approx(delivered["delivery_days"].mean())
    lo, hi = proportion_confint(late.sum(), len(delivered), alpha=0.05, method="wilson")
    assert (d["late_ci_low"], d["late_ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert d["sources"] == "interactions, orders"
    others = o.drop(index="delivery")
    assert others["orders"].isna().all() and others["late_rate"].isna().all()


def test_checkout_funnel_numbers_equal_engine_funnel(run):
    params, store, cur, ops = run
    f = engine.funnel(store, params, cur, by="device").groupby("event")["sessions"].sum()
    c = ops.set_index("touchpoint").loc["checkout"]
    assert c["funnel_steps"] == "Checkout > Payment"
    assert c["sessions"] == f["checkout_start"] > 0
    assert c["sessions_through"] == f["purchase"]  # the step after the touchpoint's last (payment)
    assert c["drop_off"] == pytest.approx(1 - f["purchase"] / f["checkout_start"])
    lo, hi = proportion_confint(f["checkout_start"] - f["purchase"], f["checkout_start"],
                                alpha=0.05, method="wilson")
    assert (c["drop_off_ci_low"], c["drop_off_ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert c["sources"] == "web_events"
    no_funnel = ops[ops["touchpoint"] != "checkout"]
    assert no_funnel["sessions"].isna().all() and no_funnel["drop_off"].isna().all()


def test_touchpoints_without_operational_data_are_nan_not_zero(run):
    _, _, _, ops = run
    ws = ops.set_index("touchpoint").loc["web_search"]
    assert pd.isna(ws["contacts"]) and pd.isna(ws["orders"]) and pd.isna(ws["sessions"])
    assert ws["sources"] == ""


def test_interaction_touchpoints_outside_the_journey_are_reported(run, demo_dir, monkeypatch):
    _, store, cur, _ = run
    journey = [st for st in demo_params_dict()["journey"] if st["id"] != "renew"]  # drops email
    smaller = params_for(demo_dir, monkeypatch, journey=journey)
    ops = operations.touchpoint_operations(store, smaller, cur.label)
    assert "email" not in set(ops["touchpoint"])
    assert ops.attrs["unmapped_interactions"]["email"] > 0


def test_wilson_interval_equals_statsmodels():
    k = np.array([0, 1, 7, 50, 99, 100])
    n = np.array([10, 10, 20, 100, 100, 100])
    for conf in (0.9, 0.95, 0.99):
        lo, hi = operations.wilson_interval(k, n, conf)
        slo, shi = proportion_confint(k, n, alpha=1 - conf, method="wilson")
        np.testing.assert_allclose(lo, slo, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(hi, shi, rtol=1e-10, atol=1e-12)
    lo, hi = operations.wilson_interval([0, 3], [0, 5])
    assert np.isnan(lo[0]) and np.isnan(hi[0]) and 0 < lo[1] < 0.6 < hi[1] < 1


# --- pain points on a hand-built frame ---------------------------------------------------------
@pytest.fixture(scope="module")
def params():
    from cxlib.data.params import Params
    from tests.helpers import demo_params_dict

    return Params.model_validate(demo_params_dict())


def test_pain_points_hand_built(params):
    verb = pd.DataFrame({
        "verbatim_id": [f"V{i}" for i in range(1, 11)],
        "touchpoint": ["delivery"] * 5 + ["chat"] * 3 + [None, "kiosk"],
        "text": ["late", "late again", "broken and late", "fine", "", "wait", "wait", "agent says sorry",
                 "late", "slow"],
        "speaker": [None] * 5 + ["customer", "customer", "agent", None, None],
    })
    coded = pd.DataFrame({
        "verbatim_id": ["V1", "V2", "V3", "V3", "V3", "V4", "V6", "V7", "V7", "V9", "V10"],
        "code": ["late_delivery", "late_delivery", "damaged_item", "late_delivery", "late_delivery",
                 "delivery_fast", "long_wait", "long_wait", "issue_unresolved", "late_delivery",
                 "long_wait"],
        "theme": ["Delivery"] * 6 + ["Support"] * 3 + ["Delivery", "Support"],
        "valence": ["negative"] * 5 + ["positive"] + ["negative"] * 5,
    })
    p = operations.pain_points(coded, verb, params)
    assert list(p.columns) == operations.PAIN_COLUMNS
    assert list(p["touchpoint"]) == [tp.id for tp in params.touchpoints]  # one row each at top=1
    d = p.set_index("touchpoint").loc["delivery"]
    # 4 delivery texts (V5 is empty); late_delivery in V1, V2, V3 (V3's duplicate row counted once)
    assert (d["code"], d["label"], d["theme"], d["n"], d["n_texts"]) == (
        "late_delivery", "Late delivery", "Delivery", 3, 4)
    assert d["share"] == pytest.approx(3 / 4)
    c = p.set_index("touchpoint").loc["chat"]
    assert (c["code"], c["n"], c["n_texts"]) == ("long_wait", 2, 2)  # the agent turn V8 is no base
    web = p.set_index("touchpoint").loc["website"]
    assert pd.isna(web["code"]) and web["n"] == 0 and web["n_texts"] == 0 and np.isnan(web["share"])
    assert p.attrs == {"n_without_touchpoint": 1, "n_unmapped": 1}

    p2 = operations.pain_points(coded, verb, params, top=2).query("touchpoint == 'chat'")
    # long_wait in 2 texts, issue_unresolved in 1: ranked by n
    assert list(p2["code"]) == ["long_wait", "issue_unresolved"] and list(p2["rank"]) == [1, 2]
    assert list(p2["share"]) == pytest.approx([1.0, 0.5])
    with pytest.raises(ValueError, match="top"):
        operations.pain_points(coded, verb, params, top=0)

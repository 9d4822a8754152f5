"""cxlib.quant.segments: rule and cluster segments, profiles and the useful-segment test, checked
against independent pandas computations, a synthetic blob dataset and hand-built cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from statsmodels.stats.proportion import proportions_ztest

from cxlib.data import engine
from cxlib.data.params import Segmentation
from cxlib.exceptions import ParameterError
from cxlib.quant import metrics, segments
from tests.helpers import open_demo


@pytest.fixture(scope="module")
def demo(demo_dir):
    mp, params, store, cur, _ = open_demo(demo_dir)
    engine.build_customer_view(store, cur.end)
    view = engine.customer_view(store)
    yield store, params, view
    store.close()
    mp.undo()


def blobs(n_per: int = 150, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """Three well-separated groups of customers on three behaviour features (+ noise columns)."""
    rng = np.random.default_rng(seed)
    centers = np.array([[2.0, 300.0, 5.0], [12.0, 2500.0, 30.0], [6.0, 900.0, 60.0]])
    spread = np.array([1.0, 80.0, 3.0])
    parts, truth = [], []
    for i, c in enumerate(centers):
        parts.append(c + rng.normal(size=(n_per, 3)) * spread)
        truth += [i] * n_per
    x = np.vstack(parts)
    order = rng.permutation(len(x))
    x, truth = x[order], np.array(truth)[order]
    view = pd.DataFrame({"customer_id": [f"C{i:04d}" for i in range(len(x))], "n_orders": x[:, 0],
                         "order_value": x[:, 1], "n_sessions": x[:, 2]})
    return view, truth


SPEC = {"method": "clusters", "features": ["n_orders", "order_value", "n_sessions"]}


# --- assign_segments -------------------------------------------------------------------


def test_rules_segments_are_the_params_column(demo):
    _, params, view = demo
    seg = segments.assign_segments(view, params.segmentation, seed=params.seed)
    assert seg.index.equals(view.index)
    assert (seg == view["segment"]).all()
    assert seg.attrs["method"] == "rules" and seg.attrs["n_missing"] == 0
    assert set(seg) == {"Value Seekers", "Young Professionals", "Families", "Premium Loyalists"}


def test_rules_missing_values_are_labelled_and_counted():
    view = pd.DataFrame({"customer_id": ["a", "b", "c"], "tier": ["gold", None, "gold"]})
    seg = segments.assign_segments(view, Segmentation(column="tier"), seed=1)
    assert seg.tolist() == ["gold", segments.MISSING_SEGMENT, "gold"]
    assert seg.attrs["n_missing"] == 1


def test_unknown_column_or_feature_is_a_clear_error():
    view, _ = blobs(20)
    with pytest.raises(ParameterError, match="segmentation.column 'tier'"):
        segments.assign_segments(view, Segmentation(column="tier"), seed=1)
    with pytest.raises(ParameterError, match=r"\['nope'\]"):
        segments.assign_segments(view, {"method": "clusters", "features": ["n_orders", "nope"]}, seed=1)


def test_silhouette_picks_three_blobs_and_recovers_them():
    view, truth = blobs()
    seg = segments.assign_segments(view, SPEC, seed=11)
    a = seg.attrs
    assert a["method"] == "clusters" and a["k_chosen_by"] == "silhouette"
    assert sorted(a["silhouettes"]) == list(range(2, 9))  # every k tried is reported
    assert a["k"] == 3 == max(a["silhouettes"], key=a["silhouettes"].get)
    assert a["silhouette"] == pytest.approx(a["silhouettes"][3])
    assert seg.nunique() == 3
    assert adjusted_rand_score(truth, seg) > 0.9
    # the high-value frequent blob is named after its most distinctive features
    big = pd.Series(seg).groupby(truth).agg(lambda s: s.mode()[0])
    assert big[1].startswith("High-value") or big[1].startswith("Frequent")
    assert all(s > segments.MIN_SILHOUETTE for s in a["silhouette_by_segment"].values())


def test_clusters_are_deterministic_with_the_seed_and_fixed_k_is_respected():
    view, _ = blobs()
    a = segments.assign_segments(view, SPEC, seed=3)
    b = segments.assign_segments(view, SPEC, seed=3)
    pd.testing.assert_series_equal(a, b)
    assert a.attrs == b.attrs
    k4 = segments.assign_segments(view, {**SPEC, "k": 4}, seed=3)
    assert k4.nunique() == 4 and k4.attrs["k_chosen_by"] == "params" and list(k4.attrs["silhouettes"]) == [4]
    assert len(set(k4)) == 4  # names unique even when two clusters share their top features


def test_cluster_names_follow_the_most_distinctive_feature():
    view, truth = blobs()
    seg = segments.assign_segments(view, SPEC, seed=11)
    cent = seg.attrs["centroids"]
    for name, z in cent.items():
        top = max(z, key=lambda f: abs(z[f]))
        adjective = segments._words(top, "high" if z[top] > 0 else "low")[0]
        assert name.startswith(adjective)


def test_clusters_on_demo_view_impute_missing_nps(demo):
    _, params, view = demo
    seg = segments.assign_segments(view, {"method": "clusters"}, seed=params.seed)
    assert seg.attrs["features"] == segments.DEFAULT_FEATURES
    assert seg.attrs["n_imputed"]["latest_nps"] == int(view["latest_nps"].isna().sum()) > 0
    assert 2 <= seg.attrs["k"] <= 8 and seg.notna().all()


# --- segment_profiles ------------------------------------------------------------------


def test_profiles_match_independent_pandas(demo):
    _, params, view = demo
    seg = segments.assign_segments(view, params.segmentation, seed=params.seed)
    prof = segments.segment_profiles(view, seg, min_base=30).set_index("segment")
    assert list(prof["customers"]) == sorted(prof["customers"], reverse=True)
    total_rev = view["revenue"].sum()
    for name, g in view.groupby("segment"):
        r = prof.loc[name]
        assert r["customers"] == len(g)
        assert r["share"] == pytest.approx(len(g) / len(view))
        assert r["revenue_per_customer"] == pytest.approx(g["revenue"].mean())
        assert r["revenue_share"] == pytest.approx(g["revenue"].sum() / total_rev)
        assert r["churn_rate"] == pytest.approx(g["churned"].astype(float).mean())
        vc = g["preferred_channel"].value_counts()
        assert r["top_channel"] == vc.index[0] and r["top_channel_share"] == pytest.approx(vc.iloc[0] / len(g))
        rc = g["region"].value_counts()
        assert r["top_region"] == rc.index[0] and r["top_region_share"] == pytest.approx(rc.iloc[0] / len(g))
        scores = g["latest_nps"].dropna().astype(int)
        independent = 100 * ((scores >= 9).mean() - (scores <= 6).mean())
        assert r["nps"] == pytest.approx(independent)
        assert r["nps_n"] == len(scores)
        want = metrics.nps(scores, 0.95)
        assert (r["nps_ci_low"], r["nps_ci_high"]) == pytest.approx((want.ci_low, want.ci_high))
        assert r["small_base"] == (len(scores) < 30)
    assert prof["share"].sum() == pytest.approx(1.0) and prof["revenue_share"].sum() == pytest.approx(1.0)


def test_profiles_from_responses_use_each_customers_latest_relationship_score():
    view = pd.DataFrame({"customer_id": ["a", "b", "c"], "revenue": [1.0, 1.0, 1.0], "churned": [False] * 3,
                         "latest_nps": [0, 0, 0], "preferred_channel": ["app"] * 3, "region": ["X"] * 3})
    seg = pd.Series(["S", "S", "S"], index=view.index)
    t = pd.Timestamp("2026-01-01")
    resp = pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", "c"],
        "response_time": [t, t + pd.Timedelta(days=2), t, t, t + pd.Timedelta(days=1)],
        "survey_type": ["relationship", "relationship", "relationship", "relationship", "transactional"],
        "nps": [0, 10, 9, 3, 10],
    })
    p = segments.segment_profiles(view, seg, responses=resp, min_base=2).iloc[0]
    # latest relationship scores: a=10, b=9, c=3 -> 2 promoters, 1 detractor of 3
    assert p["nps_n"] == 3 and p["nps"] == pytest.approx(100 * (2 - 1) / 3)
    assert segments.segment_profiles(view, seg).iloc[0]["nps"] == -100  # the view's scores


def test_profiles_need_aligned_segments(demo):
    _, _, view = demo
    with pytest.raises(ValueError, match="aligned"):
        segments.segment_profiles(view, pd.Series(["x"] * 3))


# --- usefulness ------------------------------------------------------------------------


def hand_case() -> tuple[pd.DataFrame, pd.Series]:
    """Big: 200 customers, 90% of revenue, 10% churn, all prefer app, NPS scores for all.
    Mid: 100 customers, 9% revenue, churn 12%, channels split 3 ways.
    Tiny: 5 customers, 1% revenue: too small to measure."""
    rows = []
    for i in range(200):
        rows.append(("Big", 45.0, i < 20, "app", 10 if i % 2 else 8))
    for i in range(100):
        rows.append(("Mid", 9.0, i < 12, ["app", "web", "store"][i % 3], 10 if i % 2 else 8))
    for i in range(5):
        rows.append(("Tiny", 20.0, False, "web", 9 if i < 3 else None))
    view = pd.DataFrame(rows, columns=["seg", "revenue", "churned", "preferred_channel", "latest_nps"])
    view["customer_id"] = [f"C{i}" for i in range(len(view))]
    view["region"] = "R"
    view["latest_nps"] = view["latest_nps"].astype("Int64")
    return view, segments.assign_segments(view, {"column": "seg"}, seed=0)


def test_usefulness_flags_on_a_hand_built_case():
    view, seg = hand_case()
    prof = segments.segment_profiles(view, seg, min_base=30)
    u = segments.usefulness(prof, view, seg)
    assert list(u.columns) == ["segment", "criterion", "passed", "evidence"]
    assert len(u) == 3 * 4 and u["passed"].dtype == bool
    got = u.set_index(["segment", "criterion"])["passed"]
    assert not got[("Tiny", "measurable")]
    assert got[("Big", "measurable")] and got[("Mid", "measurable")]
    assert got[("Big", "worth its cost")]          # 90% of revenue
    assert got[("Big", "reachable")]                # 100% prefer app
    assert not got[("Mid", "reachable")]            # a third each
    assert all(got[(s, "identifiable")] for s in ("Big", "Mid", "Tiny"))
    ev = u.set_index(["segment", "criterion"])["evidence"]
    assert "NPS base 3 (< 30)" in ev[("Tiny", "measurable")]
    assert "revenue share 90% (>= 10%)" in ev[("Big", "worth its cost")]
    assert "100% prefer app" in ev[("Big", "reachable")]


def test_worth_its_cost_uses_the_churn_z_test():
    view, seg = hand_case()
    # Mid has 9% of revenue and the same NPS mix as Big: only churn can make it worth its cost
    view.loc[view["seg"] == "Mid", "churned"] = [i < 60 for i in range(100)]
    prof = segments.segment_profiles(view, seg)
    u = segments.usefulness(prof, view, seg).set_index(["segment", "criterion"])
    mid = view["seg"] == "Mid"
    p = proportions_ztest([int(view.loc[mid, "churned"].sum()), int(view.loc[~mid, "churned"].sum())],
                          [int(mid.sum()), int((~mid).sum())])[1]
    assert p < 0.05
    assert u.loc[("Mid", "worth its cost"), "passed"]
    assert "p < 0.001" in u.loc[("Mid", "worth its cost"), "evidence"]
    # with Mid's churn like the rest and 9% of revenue it is not worth a separate treatment
    view.loc[mid, "churned"] = [i < 10 for i in range(100)]
    prof = segments.segment_profiles(view, seg)
    u = segments.usefulness(prof, view, seg).set_index(["segment", "criterion"])
    assert not u.loc[("Mid", "worth its cost"), "passed"]


def test_usefulness_for_clusters_reports_silhouette():
    view, _ = blobs()
    view["revenue"], view["churned"] = view["order_value"], False
    view["preferred_channel"], view["region"], view["latest_nps"] = "app", "R", 9
    seg = segments.assign_segments(view, SPEC, seed=11)
    u = segments.usefulness(segments.segment_profiles(view, seg), view, seg)
    ident = u[u["criterion"] == "identifiable"]
    assert ident["passed"].all()
    assert ident["evidence"].str.contains("silhouette").all()


def test_demo_segments_usefulness(demo):
    _, params, view = demo
    seg = segments.assign_segments(view, params.segmentation, seed=params.seed)
    prof = segments.segment_profiles(view, seg)
    u = segments.usefulness(prof, view, seg).set_index(["segment", "criterion"])
    # all demo segments are large and each holds a fifth or more of revenue
    assert u.xs("measurable", level="criterion")["passed"].all()
    assert u.xs("worth its cost", level="criterion")["passed"].all()
    # reachable = a channel with >= 40% of members, from the view
    for name, g in view.groupby("segment"):
        share = g["preferred_channel"].value_counts(normalize=True).iloc[0]
        assert u.loc[(name, "reachable"), "passed"] == (share >= 0.40)

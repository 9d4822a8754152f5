"""Journey: touchpoint performance, importance-performance analysis, the fix-first list."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxlib.data.params import Thresholds, load_params
from cxlib.journey import gaps as journey

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def params():
    return load_params(ROOT / "params" / "demo.yml", check_files=False)


@pytest.fixture
def responses() -> pd.DataFrame:
    rows = (
        [("transactional", "web_search", c, i) for c, i in [(5, 5), (4, 5), (4, 4), (3, None), (5, 5)]]
        + [("transactional", "delivery", c, i) for c, i in [(2, 5), (3, 5), (2, 5), (1, 4), (3, 5), (2, 5), (None, 3)]]
        + [("transactional", "kiosk", 4, 2), ("transactional", "kiosk", 5, 2), ("transactional", "fax", 1, 1)]
        + [("transactional", None, 4, 4)]  # breaks the contract; counted, not silently lost
        + [("relationship", None, None, None)] * 3
    )
    df = pd.DataFrame(rows, columns=["survey_type", "touchpoint", "csat", "importance"])
    df["csat"] = df["csat"].astype("Int64")
    df["importance"] = df["importance"].astype("Int64")
    return df


def test_touchpoint_performance_of_one_survey_without_survey_types(params, responses):
    """Without survey_type every response counts (one survey): the same table as the transactional rows
    alone; before, the missing column raised a KeyError."""
    tx = responses[responses["survey_type"] == "transactional"]
    perf, unmapped = journey.touchpoint_performance(tx.drop(columns="survey_type"), params)
    want, want_unmapped = journey.touchpoint_performance(responses, params)
    pd.testing.assert_frame_equal(perf, want)
    assert unmapped == want_unmapped == ["fax", "kiosk"]


def test_touchpoint_performance_numbers(params, responses):
    perf, unmapped = journey.touchpoint_performance(responses, params)
    assert list(perf.columns) == journey.PERF_COLUMNS
    assert list(perf["touchpoint"]) == [tp.id for tp in params.touchpoints]  # every one, journey order
    assert unmapped == ["fax", "kiosk"]
    assert perf.attrs["n_unmapped_responses"] == 3
    assert perf.attrs["n_without_touchpoint"] == 1

    ws = perf.set_index("touchpoint").loc["web_search"]
    assert (ws["stage"], ws["stage_label"], ws["label"], ws["owner"]) == ("discover", "Discover", "Web search", "Marketing")
    assert ws["target_csat"] == 4.0
    assert ws["n"] == 5 and ws["n_responses"] == 5
    assert ws["performance"] == pytest.approx(4.2)
    lo, hi = stats.t.interval(0.95, df=4, loc=4.2, scale=stats.sem([5, 4, 4, 3, 5]))
    assert (ws["perf_ci_low"], ws["perf_ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert ws["csat_t2b"] == pytest.approx(0.8)
    assert ws["importance"] == pytest.approx(4.75) and ws["importance_n"] == 4

    dl = perf.set_index("touchpoint").loc["delivery"]
    assert (dl["n_responses"], dl["n"]) == (7, 6)  # one response without CSAT: counted, not scored
    assert dl["performance"] == pytest.approx(13 / 6)
    assert dl["csat_t2b"] == 0.0
    assert dl["importance"] == pytest.approx(32 / 7) and dl["importance_n"] == 7

    app = perf.set_index("touchpoint").loc["app"]  # no responses: a row with n = 0
    assert app["n"] == 0 and app["importance_n"] == 0 and np.isnan(app["performance"])
    assert np.isnan(app["perf_ci_low"]) and np.isnan(app["importance"])
    assert perf["small_base"].all()  # min_base 30 in demo.yml


def test_touchpoint_performance_min_base_and_confidence(params, responses):
    p = params.model_copy(update={"thresholds": Thresholds(min_base=6, confidence=0.90)})
    perf, _ = journey.touchpoint_performance(responses, p)
    t = perf.set_index("touchpoint")
    assert not t.loc["delivery", "small_base"] and t.loc["web_search", "small_base"]
    lo, hi = stats.t.interval(0.90, df=5, loc=13 / 6, scale=stats.sem([2, 3, 2, 1, 3, 2]))
    assert (t.loc["delivery", "perf_ci_low"], t.loc["delivery", "perf_ci_high"]) == (pytest.approx(lo), pytest.approx(hi))


@pytest.fixture
def perf() -> pd.DataFrame:
    # mean crosshair over A-D (E small base, F no data): importance 3.85, performance 3.725
    return pd.DataFrame(
        {
            "touchpoint": list("ABCDEF"),
            "label": [f"TP {c}" for c in "ABCDEF"],
            "owner": ["Ops", "Digital", "Ops", "CRM", "Ops", "CRM"],
            "target_csat": [4.0, 4.2, 4.0, 3.8, 4.0, 4.0],
            "n": [120, 80, 60, 45, 10, 0],
            "importance": [4.5, 4.8, 3.6, 2.5, 4.8, np.nan],
            "performance": [3.5, 4.6, 2.8, 4.0, 2.0, np.nan],
            "small_base": [False, False, False, False, True, True],
        }
    )


def test_ipa_mean_crosshair(perf):
    out = journey.ipa(perf, "mean").set_index("touchpoint")
    assert out["crosshair_importance"].iloc[0] == pytest.approx(3.85)
    assert out["crosshair_performance"].iloc[0] == pytest.approx(3.725)
    assert out["quadrant"].iloc[:5].tolist() == [
        "Concentrate here", "Keep up the good work", "Low priority", "Possible overkill", "Concentrate here",
    ]
    assert pd.isna(out.loc["F", "quadrant"])
    assert out["gap"].iloc[:5].tolist() == pytest.approx([25.0, 5.0, 20.0, -37.5, 70.0])
    assert out.loc["A", "importance_scaled"] == pytest.approx(87.5)
    assert out.loc["A", "performance_scaled"] == pytest.approx(62.5)
    # A is the only adequate "Concentrate here"; then C (20), B (5), D (-37.5); E, F never ranked
    assert out["fix_rank"].tolist()[:4] == [1, 3, 2, 4]
    assert out.loc[["E", "F"], "fix_rank"].isna().all()
    assert out.loc["E", "note"] == "small base (n=10): not ranked"
    assert out.loc["F", "note"] == "no data"
    assert out.loc["A", "note"] == ""
    assert {"label", "n", "owner", "target_csat"} <= set(out.columns)


def test_ipa_scale_mid_crosshair(perf):
    out = journey.ipa(perf, crosshair="scale_mid").set_index("touchpoint")
    assert (out["crosshair_importance"] == 3).all() and (out["crosshair_performance"] == 3).all()
    assert out["quadrant"].iloc[:4].tolist() == [
        "Keep up the good work", "Keep up the good work", "Concentrate here", "Possible overkill",
    ]
    assert out["fix_rank"].tolist()[:4] == [2, 3, 1, 4]  # C (only concentrate), then A 25, B 5, D
    with pytest.raises(ValueError, match="crosshair"):
        journey.ipa(perf, crosshair="median")


def test_fix_first_order_and_small_base_exclusion(perf):
    ff = journey.fix_first(journey.ipa(perf), top=3)
    assert list(ff.columns)[:9] == [
        "rank", "touchpoint", "label", "owner", "performance", "target_csat", "gap_to_target", "importance", "quadrant",
    ]
    assert ff["rank"].tolist() == [1, 2, 3]
    assert ff["touchpoint"].tolist() == ["A", "C", "B"]
    assert ff["gap_to_target"].tolist() == pytest.approx([0.5, 1.2, -0.4])
    assert ff["quadrant"].tolist() == ["Concentrate here", "Low priority", "Keep up the good work"]
    everything = journey.fix_first(journey.ipa(perf), top=10)
    assert everything["touchpoint"].tolist() == ["A", "C", "B", "D"]  # E (n=10) and F (no data) left out


def test_pipeline_from_responses(params, responses):
    p = params.model_copy(update={"thresholds": Thresholds(min_base=5)})
    perf, _ = journey.touchpoint_performance(responses, p)
    out = journey.ipa(perf).set_index("touchpoint")
    # two adequate touchpoints: crosshair is their plain mean
    assert out["crosshair_importance"].iloc[0] == pytest.approx((4.75 + 32 / 7) / 2)
    assert out["crosshair_performance"].iloc[0] == pytest.approx((4.2 + 13 / 6) / 2)
    assert out.loc["delivery", "quadrant"] == "Low priority"  # importance 4.57 < 4.66
    assert out.loc["web_search", "quadrant"] == "Keep up the good work"  # 4.75 >= 4.66, 4.2 >= 3.18
    assert out["fix_rank"].notna().sum() == 2 and out.loc["delivery", "fix_rank"] == 1
    assert (out.drop(index=["delivery", "web_search"])["note"] == "no data").all()
    assert journey.fix_first(out.reset_index())["touchpoint"].tolist() == ["delivery", "web_search"]

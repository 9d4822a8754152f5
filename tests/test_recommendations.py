"""Recommendations: impact against effort, touchpoint fixes and churn actions side by side."""

from __future__ import annotations

import pandas as pd
import pytest

from cxlib.data.params import load_params
from cxlib.decide import recommendations as rec
from cxlib.report.i18n import Translator
from tests.helpers import ROOT


@pytest.fixture()
def params():
    return load_params(ROOT / "params" / "demo.yml", check_files=False)


def test_touchpoint_actions_need_an_uplift_interval_above_zero(params):
    uplift = pd.DataFrame({"touchpoint": ["delivery", "checkout", "app"], "label": ["Delivery", "Online checkout", "App"],
                           "owner": ["Logistics", "Digital", "Digital"], "uplift": [40.0, 9.0, 3.0],
                           "uplift_ci_low": [30.0, 1.0, -2.0], "uplift_ci_high": [50.0, 18.0, 8.0],
                           "performance": [2.7, 3.8, 3.7], "target": [4.2, 4.3, 4.2], "small_base": False})
    en = Translator("en")
    a = rec.touchpoint_actions(uplift, params)
    assert [en.say(x) for x in a["action"]] == ["Raise Delivery satisfaction to target",
                                                "Raise Online checkout satisfaction to target"]
    assert a["effort"].tolist() == ["high", "medium"]  # from params (delivery: high; checkout: default)
    assert en.say(a["impact_text"].iloc[0], markdown=False) == "NPS +40.0 points [+30.0, +50.0]"


def test_churn_actions_sum_risk_and_revenue_per_driver(params):
    scored = pd.DataFrame({"customer_id": list("abcdefg"), "risk": [0.5, 0.4, 0.1, 0.2, 0.2, 0.2, 0.2],
                           "main_driver": ["has_unresolved"] * 5 + ["unknown_driver"] * 2,
                           "driver_label": ["Unresolved support issue"] * 5 + ["?"] * 2})
    view = pd.DataFrame({"customer_id": list("abcdefg"), "revenue": [100, 200, 300, 0, 0, 0, 0]})
    a = rec.churn_actions(scored, view, params)
    assert len(a) == 1  # a driver without a params rule is not an action (and too few customers)
    r = a.iloc[0]
    assert r["impact"] == pytest.approx(1.4) and r["effort"] == "low" and r["owner"] == "Customer service"
    assert Translator("en").say(r["impact_text"], markdown=False) == (
        "5 customers with this main risk; 1.4 expected to leave in 90 days (revenue at risk 160 SAR)")  # params currency


def test_rank_scales_each_kind_and_divides_by_effort():
    a = pd.DataFrame({"kind": ["touchpoint", "touchpoint", "churn", "churn"], "action": list("ABCD"),
                      "owner": "x", "impact": [40.0, 10.0, 50.0, 25.0], "impact_text": "",
                      "effort": ["high", "low", "low", "medium"], "evidence": ""})
    r = rec.rank([a])
    # priorities: A 1/3, B 0.25/1, C 1/1, D 0.5/2; the B-D tie goes to the larger raw impact
    assert r["action"].tolist() == ["C", "A", "D", "B"]
    assert r["priority"].tolist() == pytest.approx([1.0, 1 / 3, 0.25, 0.25])
    assert r["rank"].tolist() == [1, 2, 3, 4]
    assert rec.rank([a.iloc[0:0]]).empty

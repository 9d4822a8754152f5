"""The mapping goal orders and marks what is in focus; the method's strings cover every key the code builds."""

from __future__ import annotations

import pandas as pd
import pytest

from cxlib import paths
from cxlib.exceptions import ParameterError
from cxlib.journey.evidence import VERDICTS
from cxlib.journey.goal import MappingGoal, focus_order, focus_touchpoints
from cxlib.journey.questions import QUESTION_IDS, THRESHOLDS
from cxlib.journey.sequences import CHURN_RULES, NO_STEPS, SESSION_RULES
from cxlib.journey.validation import STATUSES
from cxlib.report.i18n import Translator
from tests.helpers import params_for

STRINGS = paths.ASSETS_DIR / "strings" / "journey_method.yml"


@pytest.fixture(scope="module")
def params(demo_dir):
    mp = pytest.MonkeyPatch()
    yield params_for(demo_dir, mp)
    mp.undo()


def test_goal_from_params():
    assert not MappingGoal.from_mapping(None).is_focus
    g = MappingGoal.from_mapping({"statement": "Reduce late-delivery complaints", "touchpoints": ["delivery"],
                                  "themes": "Delivery"})
    assert g.is_focus and g.themes == ("Delivery",) and g.kpis == ()
    with pytest.raises(ParameterError, match="unknown key"):
        MappingGoal.from_mapping({"touchpoint": ["delivery"]})
    with pytest.raises(ParameterError, match="scope"):
        MappingGoal.from_mapping({"scope": "narrow", "touchpoints": ["x"]})
    with pytest.raises(ParameterError, match="must name"):
        MappingGoal.from_mapping({"scope": "focus"})
    with pytest.raises(ParameterError, match="list of names"):
        MappingGoal.from_mapping({"kpis": [3]})


def test_check_names_every_unknown(params):
    g = MappingGoal(scope="focus", touchpoints=("delivery", "drone"), stages=("receive", "dream"),
                    themes=("Delivery", "late_delivery", "Weather"), questions=("efficient", "happy"))
    cb = pd.DataFrame({"code": ["late_delivery"], "theme": ["Delivery"]})
    problems = g.check(params, cb)
    assert len(problems) == 4 and all(any(w in p for p in problems) for w in ("drone", "dream", "Weather", "happy"))


def test_focus_order_leads_with_the_focus():
    g = MappingGoal(scope="focus", touchpoints=("delivery",), themes=("Delivery",), kpis=("late_delivery_rate",))
    df = pd.DataFrame({"touchpoint": ["store", "checkout", "delivery", "app", "chat"],
                       "theme": ["Store", "Digital", "Delivery", "Digital", "delivery"],
                       "kpi": ["csat", "drop_off", "late_delivery_rate", "csat", "csat"]})
    out = focus_order(df, g, kpi="kpi")
    assert out["touchpoint"].tolist() == ["delivery", "chat", "store", "checkout", "app"]  # order kept in each part
    assert out["in_focus"].tolist() == [True, True, False, False, False]
    assert out["focus_reason"].tolist() == ["touchpoint;theme;kpi", "theme", "", "", ""]
    whole = focus_order(df, MappingGoal())
    assert whole["touchpoint"].tolist() == df["touchpoint"].tolist() and whole["in_focus"].all()
    assert focus_order(df[["kpi"]], g)["in_focus"].sum() == 0  # named columns that are absent are ignored


def test_focus_touchpoints_from_stages_and_pain_points(params):
    pains = pd.DataFrame({"touchpoint": ["social_media", "social_media", "website", "chat"], "rank": [1, 2, 1, 1],
                          "code": ["late_delivery", "price_high", "price_high", "late_delivery"]})
    cb = pd.DataFrame({"code": ["late_delivery", "price_high"], "theme": ["Delivery", "Price"]})
    g = MappingGoal(scope="focus", stages=("receive",), themes=("Delivery",))
    assert focus_touchpoints(g, params, pains, cb) == ["social_media", "delivery", "chat"]
    assert focus_touchpoints(MappingGoal(), params) == [tp.id for tp in params.touchpoints]


@pytest.mark.parametrize("language", ["en", "ar"])
def test_every_key_the_code_builds_has_words(language):
    tr = Translator(language, path=STRINGS)
    keys = [f"jq.{q}.{v}" for q in QUESTION_IDS for v in ("question", *VERDICTS, "none")]
    keys += [f"jq.verdict.{v}" for v in (*VERDICTS, "none")]
    keys += [f"jq.metric.{m}" for m in THRESHOLDS if "@" not in m]
    keys += [f"jq.step.{s}" for s in ("contact", "contact_resolved", "contact_unresolved", "order", "order_on_time",
                                      "order_late", "checkout_abandoned", NO_STEPS)]
    keys += [f"jq.rule.{r}" for r in (*CHURN_RULES, *SESSION_RULES)]
    keys += [f"jq.validation.{s}" for s in STATUSES]
    keys += [f"jq.change.{k}" for k in ("touchpoint_added", "touchpoint_removed", "score", "new_top_pain",
                                         "pain_share", "question")]
    values = dict(detail="7", days=7.0, subject="Delivery", measure="CSAT", before=0.5, after=0.25, p=0.001,
                  statement="Reduce late-delivery complaints", touchpoints="Delivery", scopes="checkout",
                  needs="interactions.reason", min_base=30, conf=0.95, steps=2, n=1000, k=200, rate=0.2,
                  as_of="2026-09-30", start="Checkout", end="Purchase", reason="no data", outcome="churn",
                  path="A > B", lift=2.0, scope="order_status", previous="2026Q2", alpha=0.05, n_rows=8, n_roles=7)
    for key in keys:
        text = tr(key, **values)
        assert text.strip() and "{" not in text, key
    if language == "ar":
        assert "لا" in tr("jq.verdict.no")

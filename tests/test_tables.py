"""Reader-facing tables: numbers formatted, flags shown, significance judged as documented."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.report import tables


def test_kpi_table_formats_values_change_and_significance():
    k = pd.DataFrame([
        dict(metric="nps", label="NPS", unit="points", value=15.7, ci_low=9.8, ci_high=21.4, n=740,
             previous_value=25.0, change=-9.3, p_value=0.0231, significant=True, small_base=False),
        dict(metric="ces", label="CES", unit="score", value=4.46, ci_low=4.38, ci_high=4.54, n=20,
             previous_value=4.48, change=-0.02, p_value=0.673, significant=False, small_base=True),
    ])
    t = tables.kpi_table(k)
    assert t.loc[0, "This period"] == "+15.7" and t.loc[0, "Change"] == "-9.3"
    assert t.loc[0, "Significant?"] == "yes (p = 0.023)"
    assert t.loc[1, "This period"] == "4.46" and t.loc[1, "Change"] == "-0.02"
    assert t.loc[1, "Base (n)"] == "20 " + tables.SMALL


def test_change_table_holm_adjusted_flag():
    df = pd.DataFrame({"touchpoint": ["delivery", "store"], "value": [3.8, 4.6], "n": [100, 120],
                       "previous_value": [4.05, 4.5], "n_previous": [110, 118], "change": [-0.25, 0.1],
                       "change_ci_low": [-0.45, -0.1], "change_ci_high": [-0.05, 0.3], "p_value": [0.02, 0.3],
                       "p_holm": [0.22, 0.6], "significant": [True, False], "small_base": [False, False]})
    raw = tables.change_table(df, "touchpoint", "Touchpoint", "CSAT", "score", {"delivery": "Delivery"})
    adj = tables.change_table(df, "touchpoint", "Touchpoint", "CSAT", "score", adjusted=True)
    assert raw.loc[0, "Touchpoint"] == "Delivery" and raw.loc[0, "Significant?"] == "yes (p = 0.020)"
    assert adj.loc[0, "Significant? (Holm)"] == "no (p = 0.220)"  # the raw 0.02 does not survive
    assert raw.loc[0, "Change"] == "-0.25" and raw.loc[0, "CSAT now"] == "3.80"


def test_churn_table_and_note():
    lift = pd.DataFrame({"signal": ["has_unresolved", "is_detractor"], "rate_with": [0.332, 0.14],
                         "customers_with": [596, 425], "rate_without": [0.095, 0.17],
                         "customers_without": [1404, 1408], "risk_ratio": [3.48, 0.85],
                         "rr_ci_low": [2.86, 0.66], "rr_ci_high": [4.24, 1.1], "significant": [True, False],
                         "p_value": [1e-9, 0.21], "missing": [0, 167]})
    names = {"has_unresolved": "Unresolved contact", "is_detractor": "Detractor score"}
    t = tables.churn_table(lift, names)
    assert t.loc[0, "Churn with"] == "33% of 596" and t.loc[0, "Significant?"] == "yes (p < 0.001)"
    assert t.loc[0, "Risk ratio [95% CI]"].startswith("3.48 [2.86,")
    assert tables.churn_note(lift, names) == ("Customers for whom a signal is unknown are left out of that "
                                              "comparison (detractor score: 167).")
    assert tables.churn_note(lift.assign(missing=0)) is None
    # a significant signal that goes with staying is explained, in the report's language
    from cxlib.report.i18n import Translator

    protective = lift.assign(significant=[True, True], missing=0)
    en = tables.churn_note(protective, names, Translator("en"))
    assert en.startswith("A risk ratio below 1 means customers with the signal left less often than those "
                         "without (detractor score).") and "not a reason they stay" in en
    ar = tables.churn_note(protective, names, Translator("ar"))
    assert "نسبة خطر أقل من" in ar and "غادروا أقل من غيرهم" in ar
    assert tables.churn_note(lift.assign(missing=0, significant=[True, False]), names, Translator("en")) is None


def test_swot_table_labels_origin_and_section():
    s = pd.DataFrame({"quadrant": pd.Categorical(["weakness", "strength"]), "text": ["a", "b"],
                      "evidence": ["x", "y"], "origin": ["data", "staff"], "section": ["sec-journey", None]})
    from cxlib.report.i18n import Translator

    t = tables.swot_table(s, Translator("en"))
    assert t["Source"].tolist() == ["Data", "Staff input"]
    assert t["See section"].tolist() == ["Journey and touchpoint gaps", "–"]


def test_label():
    assert tables.label("nps_group") == "NPS group" and tables.label("preferred_channel") == "Preferred channel"
    assert tables.label("region") == "Region"


def test_themes_table_carries_reliability_flags():
    t = pd.DataFrame({"rank": [1, 2], "label": ["Late delivery", "Price high"], "code": ["late_delivery", "price_high"],
                      "theme": ["Delivery", "Price"], "share_detractors": [0.38, 0.16], "share_promoters": [0.03, 0.0],
                      "difference": [35.0, 16.0], "p_value": [1e-9, 0.002]})
    out = tables.themes_table(t, flags={"late_delivery": "reliable"})
    assert out["Coding reliability"].tolist() == ["reliable", "not measured"]
    assert "Coding reliability" not in tables.themes_table(t).columns
    assert out["p (Fisher)"].tolist() == ["< 0.001", "0.002"]


def test_load_notes_name_the_file_when_a_table_has_several():
    from cxlib.report.i18n import Translator

    def note(table, file, kind="language_detected"):
        return {"table": table, "file": file, "column": "language", "kind": kind, "rows": 0, "detail": "",
                "excluded": False}

    notes = pd.DataFrame([note("verbatims", "data/x/reviews.csv"), note("verbatims", "data/x/tweets.csv"),
                          note("survey_responses", "data/x/survey.csv")])
    md = tables.load_notes_markdown(notes, pd.DataFrame(columns=["metric", "blank", "rows"]), [], Translator("en"))
    lines = [ln for ln in md.splitlines() if ln.startswith("- ")]
    assert len(lines) == 3, md
    assert "(reviews\\.csv)" in lines[0] and "(tweets\\.csv)" in lines[1] and "(survey" not in lines[2], md


def test_the_scores_intro_says_which_responses_each_score_counts():
    """Relationship and transactional surveys, or, without survey types, every response of one survey."""
    from cxlib.report.i18n import Translator

    class OneSurvey:  # responses without a survey_type column
        def has(self, name):
            return name == "survey_responses"

        def has_column(self, table, column):
            return False

    en, ar = Translator("en"), Translator("ar")
    assert "relationship survey" in tables.metrics_intro(None, en)
    one = tables.metrics_intro(OneSurvey(), en)
    assert "every response that answers it" in one and "relationship survey)" not in one
    assert "استبيان واحد" in tables.metrics_intro(OneSurvey(), ar)


def test_customers_at_a_glance_groups_numbers_and_the_rest():
    """One row per attribute: the three largest groups with their shares and how many more, or a
    number's median and range written alike (not '11.58 to 199,992'); the words in Arabic."""
    from cxlib.report.i18n import Translator

    summary = pd.DataFrame([
        {"attribute": "region", "kind": "groups", "recorded": 0.9, "groups": 5, "median": np.nan, "low": np.nan,
         "high": np.nan},
        {"attribute": "Salary", "kind": "number", "recorded": 1.0, "groups": 5, "median": 100194.2, "low": 11.58,
         "high": 199992.48},
        {"attribute": "rating", "kind": "number", "recorded": 1.0, "groups": 5, "median": 4.5, "low": 1.25, "high": 5.0},
    ])
    table = pd.DataFrame({"attribute": ["region"] * 6, "level": ["West", "(not recorded)", "East", "North", "South", "Centre"],
                          "customers": [40, 10, 20, 15, 10, 5], "share": [0.4, 0.1, 0.2, 0.15, 0.1, 0.05]})
    t = tables.profile_summary_table(summary, table)
    en = Translator("en").table(t)
    assert en.iloc[0].tolist() == ["Region", "90%", "West (40%) · East (20%) · North (15%) and 2 more"]
    assert en.iloc[1, 2] == "median 100,194, from 12 to 199,992"
    assert en.iloc[2, 2] == "median 4.5, from 1.25 to 5"
    ar = Translator("ar", labels={"ar": {"West": "الغربية"}}).table(t)
    assert "الغربية" in ar.iloc[0, 2] and "غيرها" in ar.iloc[0, 2] and ar.iloc[1, 2].startswith("الوسيط")

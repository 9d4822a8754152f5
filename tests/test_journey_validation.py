"""Map validation: staff feedback against the data finds the demo's planted disagreements."""

from __future__ import annotations

import pandas as pd
import pytest

from cxlib.journey.questions import answer_questions
from cxlib.journey.validation import (
    COVERAGE_COLUMNS,
    DISAGREEMENT_COLUMNS,
    normalise_feedback,
    touchpoint_sightings,
    validate_map,
)
from tests.journey_support import demo_run, read_demo, store_of


@pytest.fixture(scope="module")
def run(demo_dir):
    return demo_run(demo_dir)


@pytest.fixture(scope="module")
def check(run, demo_dir):
    feedback = pd.read_csv(demo_dir / "map_feedback.csv")
    qa = answer_questions(run.store, run.params, run.cur)
    tps = pd.DataFrame({"touchpoint": ["phone_support", "checkout"], "csat_mean": [3.3, 3.6]})
    return validate_map(feedback, run.params, run.store, run.cur, touchpoint_data=tps, evidence=qa.evidence)


def test_statuses_of_the_planted_feedback(check):
    assert check.status == "answered" and list(check.coverage.columns) == COVERAGE_COLUMNS
    status = check.coverage.set_index("touchpoint")["status"]
    assert status["whatsapp"] == "staff_only"                   # staff name it, the data never sees it
    assert status["email"] == "data_contradicts_staff"          # staff say it is not one, the data sees it
    assert status[["phone_support", "checkout"]].eq("disputed").all()
    assert status[["delivery", "store"]].eq("confirmed").all()
    assert status[["website", "app", "chat"]].eq("not_reviewed").all()
    assert not check.coverage.set_index("touchpoint").loc["whatsapp", "in_map"]
    assert check.coverage.set_index("touchpoint").loc["whatsapp", "stage"] == "support"
    assert list(check.coverage["status"].iloc[:2]) == ["data_contradicts_staff", "staff_only"]  # first things first


def test_disagreements_show_the_data_beside(check):
    d = check.disagreements.set_index("touchpoint")
    assert set(DISAGREEMENT_COLUMNS) - {"touchpoint"} <= set(d.columns) and "csat_mean" in d
    assert set(d.index) == {"phone_support", "checkout", "whatsapp", "email"}
    assert "transfer_rate" in d.loc["phone_support", "data_flags"].split(";")
    assert "help_detour_share" in d.loc["checkout", "data_flags"].split(";")
    assert d.loc["phone_support", "csat_mean"] == 3.3 and d.loc["whatsapp", "n_records"] == 0
    assert set(check.evidence["scope"]) == {"phone_support", "checkout", "email"}


def test_sightings_match_pandas(run, demo_dir):
    seen = touchpoint_sightings(run.store, run.params, run.cur)
    email = seen[seen["touchpoint"] == "email"].set_index("source")
    for table, col in (("interactions", "interaction_time"), ("survey_responses", "response_time"),
                       ("verbatims", "verbatim_time")):
        df = read_demo(demo_dir, table)
        mine = df[df["touchpoint"] == "email"]
        in_period = mine[(mine[col] >= run.cur.start) & (mine[col] < run.cur.end)]
        assert (email.loc[table, "n_records"], email.loc[table, "n_period"]) == (len(mine), len(in_period))
    w = read_demo(demo_dir, "web_events")
    checkout = seen[(seen["touchpoint"] == "checkout") & (seen["source"] == "web_events")].iloc[0]
    steps = [s.event for s in run.params.funnel if s.touchpoint == "checkout"]
    assert checkout["n_records"] == w.loc[w["event"].isin(steps), "session_id"].nunique()


@pytest.mark.parametrize("period", [None, "all"])
def test_sightings_of_a_whole_file_report_count_every_record(run, period):
    """Without a reporting period every record is in it (before, the count failed: a literal True
    has no sum)."""
    from cxlib.data import periods

    whole = touchpoint_sightings(run.store, run.params, None if period is None else periods.parse(period))
    assert len(whole) > 5 and (whole["n_period"] == whole["n_records"]).all()
    inside = touchpoint_sightings(run.store, run.params, run.cur)
    key = ["touchpoint", "source"]
    pd.testing.assert_series_equal(whole.set_index(key)["n_records"].sort_index(),
                                   inside.set_index(key)["n_records"].sort_index())


def test_feedback_is_matched_by_label_and_read_in_both_languages(run):
    fb = pd.DataFrame({"touchpoint": ["Phone Support", "phone-support", None, "Live chat", "Kiosk"],
                       "stage": [None, None, "Get support", None, None],
                       "agrees": ["Agree", "disagree", "نعم", "لا", None], "comment": list("abcde")})
    n = normalise_feedback(fb, run.params)
    assert n["touchpoint"].tolist() == ["phone_support", "phone_support", None, "chat", "kiosk"]
    assert n["stage"].tolist() == ["support", "support", "support", "support", None]
    assert n["matched"].tolist() == ["touchpoint", "touchpoint", "stage", "touchpoint", "touchpoint"]
    assert n["agrees"].tolist() == [True, False, True, False, None]
    assert n["item_id"].tolist() == ["r1", "r2", "r3", "r4", "r5"]


def test_without_feedback_or_data(run, demo_dir):
    none = validate_map(None, run.params, run.store, run.cur)
    assert none.status == "not_enough_evidence" and none.disagreements.empty
    assert set(none.coverage["status"]) == {"not_reviewed"} and none.notes
    fb = pd.read_csv(demo_dir / "map_feedback.csv")
    blind = validate_map(fb, run.params, store_of(run.params), run.cur)
    status = blind.coverage.set_index("touchpoint")["status"]
    assert status["web_search"] == "no_data" and status["delivery"] == "staff_only"
    assert blind.coverage["n_records"].eq(0).all()

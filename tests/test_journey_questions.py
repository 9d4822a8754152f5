"""The mapping method's questions: planted evidence found, rates matched by pandas, missing data degrades."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from cxlib.exceptions import ParameterError
from cxlib.journey import evidence as ev
from cxlib.journey.questions import (
    ANSWER_COLUMNS,
    EVIDENCE_COLUMNS,
    QUESTION_IDS,
    QuestionSettings,
    answer_questions,
    code_questions,
    touchpoint_verdicts,
)
from tests.journey_support import demo_run, read_demo, store_of

HELP = ("help_page", "help", "faq", "returns_policy", "contact_page", "contact_us", "support_page")


@pytest.fixture(scope="module")
def run(demo_dir):
    return demo_run(demo_dir)


@pytest.fixture(scope="module")
def answers(run):
    return {p.label: answer_questions(run.store, run.params, p, coded=run.coded, verbatims=run.verbatims)
            for p in (run.prev, run.cur)}


def _row(qa, question, metric, scope):
    e = qa.evidence
    hit = e[(e["question"] == question) & (e["metric"] == metric) & (e["scope"] == scope)]
    assert len(hit) == 1, (question, metric, scope)
    return hit.iloc[0]


def _in(df, col, period):
    return df[(df[col] >= period.start) & (df[col] < period.end)]


def test_shape_and_order(answers, run):
    qa = answers[run.cur.label]
    assert list(qa.answers.columns) == ANSWER_COLUMNS and list(qa.evidence.columns) == EVIDENCE_COLUMNS
    assert list(qa.answers["question"]) == list(QUESTION_IDS)
    assert (qa.answers["status"] == "answered").all()  # the demo holds evidence for every question
    assert qa.answers["answer_key"].str.fullmatch(r"jq\.\w+\.(yes|partly|no)").all()


def test_repeat_contacts_about_order_status_answer_right_information(answers, run, demo_dir):
    qa = answers[run.cur.label]
    a = qa.answers.set_index("question").loc["right_information"]
    assert a["verdict"] == "no" and "order_status" in a["flagged_scopes"].split(";")
    row = _row(qa, "right_information", "repeat_contact_rate", "order_status")
    # independent: the same rate from the file with pandas
    i = read_demo(demo_dir, "interactions").sort_values(["customer_id", "interaction_time", "interaction_id"])
    gap = i.groupby("customer_id")["interaction_time"].shift(-1) - i["interaction_time"]
    observable = i["interaction_time"] <= i["interaction_time"].max() - pd.Timedelta(days=7)
    i = i.assign(obs=observable, rep=observable & (gap <= pd.Timedelta(days=7)))
    mine = _in(i, "interaction_time", run.cur).query("reason == 'order_status'")
    assert (row["k"], row["n"]) == (mine["rep"].sum(), mine["obs"].sum())
    others = _in(i, "interaction_time", run.cur).query("reason != 'order_status'")
    assert row["value"] > 2 * others["rep"].sum() / others["obs"].sum()  # the plant, against other reasons
    assert row["ci_low"] >= row["bad_from"] and row["decisive"]


def test_transfer_heavy_phone_support_answers_whom_to_contact(answers, run, demo_dir):
    now, before = answers[run.cur.label], answers[run.prev.label]
    assert now.answers.set_index("question").loc["knows_whom_to_contact", "verdict"] == "no"
    assert before.answers.set_index("question").loc["knows_whom_to_contact", "verdict"] == "yes"
    assert now.answers.set_index("question").loc["not_confusing", "verdict"] != "yes"
    row = _row(now, "not_confusing", "transfer_rate", "phone_support")
    assert not row["in_verdict"] and row["verdict"] == "no"
    i = _in(read_demo(demo_dir, "interactions"), "interaction_time", run.cur)
    phone = i[i["touchpoint"] == "phone_support"]
    k, n = int((phone["transfers"] > 0).sum()), int(phone["transfers"].notna().sum())
    assert (row["k"], row["n"]) == (k, n)
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    worst = now.evidence.query("metric == 'transfer_rate' and scope_kind == 'touchpoint'")
    assert worst.sort_values("value").iloc[-1]["scope"] == "phone_support"


def test_checkout_gives_too_little_information(answers, run, demo_dir):
    qa = answers[run.cur.label]
    a = qa.answers.set_index("question").loc["right_amount_of_information"]
    assert a["verdict"] == "no" and a["flagged_scopes"] == "checkout"
    row = _row(qa, "right_amount_of_information", "help_detour_share", "checkout")
    w = _in(read_demo(demo_dir, "web_events"), "event_time", run.cur).sort_values(["session_id", "event_time", "event"])
    w = w.assign(nxt=w.groupby("session_id")["event"].shift(-1))
    steps = [s.event for s in run.params.funnel if s.touchpoint == "checkout"]
    reached = set(w.loc[w["event"] == steps[0], "session_id"])
    detour = set(w.loc[w["event"].isin(steps) & w["nxt"].isin(HELP), "session_id"]) & reached
    assert (row["k"], row["n"]) == (len(detour), len(reached))


def test_touchpoint_verdicts_wide(answers, run):
    wide = touchpoint_verdicts(answers[run.cur.label].evidence).set_index("touchpoint")
    assert wide.loc["checkout", "right_amount_of_information"] == "no"
    assert wide.loc["delivery", "easy_to_follow"] != "yes"  # delivery takes the most effort in the demo
    assert wide.loc["store", "easy_to_follow"] == "yes"


def test_thresholds_are_declared_and_overridable(run):
    s = QuestionSettings.from_mapping({"thresholds": {"transfer_rate": [0.5, 0.6]}, "repeat_days": 7})
    qa = answer_questions(run.store, run.params, run.cur, settings=s)
    assert qa.answers.set_index("question").loc["knows_whom_to_contact", "verdict"] == "yes"
    with pytest.raises(ParameterError, match="unknown key"):
        QuestionSettings.from_mapping({"treshold": {}})
    with pytest.raises(ParameterError, match="unknown metric"):
        QuestionSettings.from_mapping({"thresholds": {"nps": [1, 2]}})
    with pytest.raises(ParameterError, match="ok_below <= bad_from"):
        QuestionSettings.from_mapping({"thresholds": {"drop_off": [0.6, 0.5]}})
    with pytest.raises(ParameterError, match="unknown question"):
        QuestionSettings.from_mapping({"code_questions": {"late_delivery": "knows_when"}})


def test_code_tags_from_the_codebook_or_settings():
    cb = pd.DataFrame({"code": ["a", "b", "c", "d"],
                       "question": ["efficient; organised", None, "nonsense", "not_confusing|efficient"]})
    tags = code_questions(cb)
    assert tags == {"a": ("efficient", "organised"), "d": ("not_confusing", "efficient"), "_unknown": ("nonsense",)}
    s = QuestionSettings.from_mapping({"code_questions": {"x": ["organised"]}})
    assert code_questions(cb, s) == {"x": ("organised",)}
    assert code_questions(pd.DataFrame({"code": ["a"]})) == {}


def test_repeat_contacts_worked_example(run):
    """Five contacts counted by hand: one repeat, one contact too recent to judge, one anonymous."""
    t = pd.to_datetime(["2026-01-01", "2026-01-05", "2026-01-20", "2026-01-10", "2026-01-30", "2026-01-12"])
    inter = pd.DataFrame({"interaction_id": list("123456"), "customer_id": ["A", "A", "A", "B", "B", None],
                          "interaction_time": t, "reason": ["order_status", "refund", "refund", "refund",
                                                            "refund", "refund"]})
    store = store_of(run.params, interactions=inter)
    qa = answer_questions(store, run.params, None, settings=QuestionSettings(min_base=1))
    row = _row(qa, "efficient", "repeat_contact_rate", "all")
    # observable: A 1/1, A 5/1, A 20/1, B 10/1 (B 30/1 ends after the data, the anonymous one has no customer)
    assert (row["k"], row["n"]) == (1, 4) and row["value"] == 0.25
    assert _row(qa, "right_information", "repeat_contact_rate", "order_status")[["k", "n"]].tolist() == [1, 1]
    assert any("interactions.resolved" in n for n in qa.answers.attrs["notes"])
    strict = answer_questions(store, run.params, None)  # min_base 30: every rate too small to judge
    assert (strict.answers["status"] == "not_enough_evidence").all()
    assert strict.evidence["small_base"].all() and strict.evidence["verdict"].isna().all()


def test_survey_export_alone_answers_only_what_it_can(run, demo_dir):
    sr = read_demo(demo_dir, "survey_responses")
    qa = answer_questions(store_of(run.params, survey_responses=sr), run.params, run.cur)
    status = qa.answers.set_index("question")["status"]
    assert set(status[status == "answered"].index) == {"easy_to_follow", "not_confusing"}  # CES is there
    assert (qa.evidence["metric"] == "high_effort_share").all()
    none = qa.answers.set_index("question").loc["right_information"]
    assert none["verdict"] is None and none["answer_key"] == "jq.right_information.none"
    assert "interactions.reason" in none["needs"]


@pytest.mark.parametrize("store_kind", ["none", "empty"])
def test_no_data_gives_not_enough_evidence(run, store_kind):
    store = None if store_kind == "none" else store_of(run.params)
    qa = answer_questions(store, run.params, run.cur, coded=None, verbatims=None)
    assert (qa.answers["status"] == "not_enough_evidence").all() and qa.answers["verdict"].isna().all()
    assert qa.evidence.empty and list(qa.evidence.columns) == EVIDENCE_COLUMNS
    assert any(n.startswith("interactions") for n in qa.answers.attrs["notes"])


def test_verdict_rules_worked_examples():
    th = ev.Threshold(0.10, 0.20)
    assert [ev.judge(v, th) for v in (0.05, 0.10, 0.199, 0.20, np.nan)] == ["yes", "partly", "partly", "no", None]
    assert ev.combine(["yes", "yes"]) == "yes"
    assert ev.combine(["no", "yes"]) == "partly"
    assert ev.combine(["no", "partly"]) == "no"
    assert ev.combine(["no", "partly", "partly"]) == "partly"
    assert ev.combine([None, np.nan]) is None
    assert ev.decisive(0.21, 0.30, "no", th) and not ev.decisive(0.18, 0.30, "no", th)
    assert ev.decisive(0.11, 0.19, "partly", th) and not ev.decisive(0.05, 0.15, "partly", th)
    lo, hi = ev.wilson([0, 5, 3], [0, 10, 3])
    ref = proportion_confint(5, 10, method="wilson")
    assert np.isnan(lo[0]) and (lo[1], hi[1]) == pytest.approx(ref) and hi[2] == pytest.approx(1.0)

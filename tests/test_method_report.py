"""The mapping method in the report flow: questions, validation, paths and the living map are planned,
computed once through the registry, find the demo's plants, and degrade to 'not in this report' or
'not enough evidence' for clients without the tables."""

from __future__ import annotations

import pytest
import yaml

import cxlib
from cxlib import paths
from cxlib.decide.words import Message  # noqa: F401
from cxlib.report import method
from cxlib.report.i18n import Translator
from tests.helpers import demo_params_dict


def _ctx(demo_dir, tmp_path, period=None, history=None):
    f = tmp_path / "demo.yml"
    f.write_text(yaml.safe_dump(demo_params_dict() | {"data_dir": str(demo_dir)}))
    ctx = cxlib.open_run(f, period)
    if history is not None:
        ctx._data["_map_history"] = str(history)
    return ctx


@pytest.fixture(scope="module")
def ctx(demo_dir, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setattr(paths, "DATA_DIR", demo_dir.parent)
    yield _ctx(demo_dir, tmp_path_factory.mktemp("p"))
    mp.undo()


def test_questions_answer_the_planted_evidence_in_words(ctx):
    qa = ctx.result("journey_questions")
    a = qa["answers"].set_index("question")
    assert a.loc["right_information", "verdict"] == "no" and "order_status" in a.loc["right_information", "flagged_scopes"]
    assert a.loc["knows_whom_to_contact", "verdict"] == "no"            # the phone transfers plant
    assert "checkout" in a.loc["right_amount_of_information", "flagged_scopes"]  # help detours at checkout
    t = method.questions_table(qa, Translator("en"), ctx.params.touchpoint_labels())
    assert len(t) == 10 and t["Verdict"].isin(["Yes", "Partly", "No", "Not enough evidence"]).all()
    assert t["Evidence"].str.contains(r"\(n\u00a0=\u00a0[\d,]+\)").any()  # every rate with its base


def test_churn_rule_and_map_validation_find_the_plants(ctx):
    rules = ctx.result("churn_paths")["rules"].table.sort_values("rank")
    assert rules.iloc[0]["rule"] == "unresolved_then_late" and rules.iloc[0]["lift"] > 3
    v = ctx.result("map_validation").coverage.set_index("touchpoint")["status"]
    assert v["whatsapp"] == "staff_only" and v["email"] == "data_contradicts_staff"
    t = method.rules_table(ctx.result("churn_paths")["rules"], Translator("ar"))
    assert t.iloc[0, 0].startswith("تواصل") or "لم يُحَل" in t.iloc[0, 0]  # a whole Arabic sentence


def test_the_living_map_shows_what_changed_between_two_consecutive_periods(demo_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "DATA_DIR", demo_dir.parent)
    hist = tmp_path / "history"
    first = _ctx(demo_dir, tmp_path, "2026Q2", hist).result("map_changes")
    assert (hist / "2026Q2").is_dir()
    second = _ctx(demo_dir, tmp_path, "2026Q3", hist).result("map_changes")
    assert second["changes"].previous == "2026Q2" and first["snapshot"].label == "2026Q2"
    moved = second["summary"]
    score = moved[(moved["kind"] == "score") & (moved["subject"] == "phone_support")]
    assert len(score) == 1 and score.iloc[0]["after"] < score.iloc[0]["before"]  # the new phone menu
    text = method.changes_markdown(second, Translator("en"), {"phone_support": "Phone support"}, "2026Q2")
    assert "Phone support" in text and "3.78" in text
    assert set(second["history"].touchpoints["run"]) == {"2026Q2", "2026Q3"}


def test_a_survey_only_client_gets_no_method_part_that_needs_other_tables(tmp_path, monkeypatch):
    from cxlib.demo import examples

    monkeypatch.setattr(paths, "DATA_DIR", tmp_path)
    examples.generate("example-survey", tmp_path / "s")
    raw = yaml.safe_load((paths.PARAMS_DIR / "example-survey.yml").read_text()) | {"data_dir": str(tmp_path / "s")}
    f = tmp_path / "s.yml"
    f.write_text(yaml.safe_dump(raw))
    ctx = cxlib.open_run(f)
    for name in ("map_validation", "churn_paths", "abandonment_paths", "map_changes"):
        assert not ctx.runs(name), name
    qa = ctx.result("journey_questions")  # runs on the comments, says what it lacks for the rest
    statuses = set(qa["answers"]["status"])
    assert "not_enough_evidence" in statuses and qa["answers"]["needs"].fillna("").str.len().gt(0).any()


def test_a_focus_goal_leads_the_fix_first_list_and_the_actions(demo_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "DATA_DIR", demo_dir.parent)
    raw = demo_params_dict() | {"data_dir": str(demo_dir), "goal": {
        "statement": "Fewer calls to phone support", "scope": "focus", "touchpoints": ["phone_support"]}}
    f = tmp_path / "demo.yml"
    f.write_text(yaml.safe_dump(raw))
    ctx = cxlib.open_run(f)
    ff = ctx.result("fix_first")
    assert ff.iloc[0]["touchpoint"] == "phone_support" and ff.iloc[0]["in_focus"]
    assert not ff.iloc[1:]["in_focus"].any()  # the rest follows, ranks kept
    assert ff["rank"].iloc[1:].is_monotonic_increasing

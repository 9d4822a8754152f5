"""The living map: two consecutive demo quarters saved, compared and stacked; tests match scipy/statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from cxlib.journey.history import (
    SNAPSHOT_COLUMNS,
    MapSnapshot,
    compare,
    history,
    load_snapshot,
    map_snapshot,
    previous_snapshot,
    save_snapshot,
    saved_runs,
    touchpoint_scores,
)
from cxlib.journey.operations import pain_points
from cxlib.journey.questions import answer_questions
from tests.journey_support import demo_run, read_demo, store_of


@pytest.fixture(scope="module")
def run(demo_dir):
    return demo_run(demo_dir)


@pytest.fixture(scope="module")
def folder(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("maps")
    for p in (run.prev, run.cur):
        t = pd.to_datetime(run.verbatims["verbatim_time"])
        verb = run.verbatims[(t >= p.start) & (t < p.end)]
        pains = pain_points(run.coded, verb, run.params, top=5)
        qa = answer_questions(run.store, run.params, p, coded=run.coded, verbatims=run.verbatims)
        save_snapshot(map_snapshot(run.store, run.params, p, pains=pains, answers=qa,
                                   created="2026-10-02T06:00:00"), out)
    return out


def test_scores_match_pandas(run, demo_dir):
    s = touchpoint_scores(run.store, run.cur).set_index("touchpoint")
    sr = read_demo(demo_dir, "survey_responses")
    sr = sr[(sr["response_time"] >= run.cur.start) & (sr["response_time"] < run.cur.end)]
    g = sr.groupby("touchpoint")["csat"].agg(["mean", "std", "count"])
    assert s["csat_mean"].to_numpy() == pytest.approx(g["mean"].reindex(s.index).to_numpy())
    assert s["csat_sd"].to_numpy() == pytest.approx(g["std"].reindex(s.index).to_numpy())
    assert (s["csat_n"].to_numpy() == g["count"].reindex(s.index).to_numpy()).all()


def test_saved_runs_and_roundtrip(run, folder):
    runs = saved_runs(folder)
    assert runs["label"].tolist() == [run.prev.label, run.cur.label]
    assert sorted(p.name for p in folder.iterdir()) == [run.prev.label, run.cur.label]  # no temporary folders
    snap = load_snapshot(folder / run.cur.label)
    assert list(snap.touchpoints.columns) == SNAPSHOT_COLUMNS and snap.meta["created"] == "2026-10-02T06:00:00"
    tp = snap.touchpoints.set_index("touchpoint")
    assert tp.loc["checkout", "right_amount_of_information"] == "no"
    assert tp.loc["delivery", "top_pain"] == "late_delivery"
    assert previous_snapshot(folder, run.cur.label).label == run.prev.label
    assert previous_snapshot(folder, run.prev.label) is None


def test_changes_between_two_quarters(run, folder):
    before, now = load_snapshot(folder / run.prev.label), load_snapshot(folder / run.cur.label)
    ch = compare(before, now, alpha=run.params.thresholds.alpha)
    assert ch.touchpoints.empty  # same journey both quarters
    csat = ch.scores[(ch.scores["measure"] == "csat") & ch.scores["significant"]]
    assert csat["touchpoint"].tolist() == ["phone_support"] and csat["change"].iloc[0] < -0.3  # the new phone menu
    a = before.touchpoints.set_index("touchpoint").loc["phone_support"]
    b = now.touchpoints.set_index("touchpoint").loc["phone_support"]
    ref = stats.ttest_ind_from_stats(b["csat_mean"], b["csat_sd"], b["csat_n"], a["csat_mean"], a["csat_sd"],
                                     a["csat_n"], equal_var=False)
    assert csat["p_value"].iloc[0] == pytest.approx(ref.pvalue) and csat["statistic"].iloc[0] == pytest.approx(ref.statistic)
    assert csat["p_adj"].iloc[0] == pytest.approx(min(1.0, ref.pvalue * 11))  # Holm: the smallest of 11 tests
    q = ch.questions.set_index("question")
    assert q.loc["knows_whom_to_contact", ["before", "after", "changed"]].tolist() == ["yes", "no", True]
    assert not q.loc["right_information", "changed"]
    summary = ch.summary()
    assert {("score", "phone_support"), ("question", "knows_whom_to_contact")} <= set(
        zip(summary["kind"], summary["subject"], strict=True))


def test_history_stacks_every_run(run, folder):
    h = history(folder)
    assert h.touchpoints["run"].unique().tolist() == [run.prev.label, run.cur.label]
    assert len(h.touchpoints) == 2 * len(run.params.touchpoints) and len(h.questions) == 20
    assert history(folder / "nothing-here").touchpoints.empty


def _snap(label, rows, pains, questions=None):
    tps = pd.DataFrame(rows).reindex(columns=SNAPSHOT_COLUMNS)
    tps["in_map"] = True
    q = pd.DataFrame(questions or [], columns=["question", "group", "status", "verdict"])
    return MapSnapshot(label, tps, pd.DataFrame(pains, columns=["touchpoint", "rank", "code", "n", "n_texts"]), q,
                       {"label": label})


def test_compare_hand_built_snapshots():
    base = {"stage": "s", "csat_mean": 4.0, "csat_sd": 1.0, "csat_n": 100, "importance_mean": 4.0,
            "importance_sd": 1.0, "importance_n": 100, "pain_n_texts": 200}
    a = _snap("2026Q1", [{**base, "touchpoint": "x", "top_pain": "late", "top_pain_n": 20},
                         {**base, "touchpoint": "gone", "top_pain": None}],
              [("x", 1, "late", 20, 200), ("x", 2, "rude", 10, 200)],
              [{"question": "efficient", "group": "organisation", "status": "answered", "verdict": "yes"}])
    b = _snap("2026Q2", [{**base, "touchpoint": "x", "csat_mean": 3.5, "top_pain": "rude", "top_pain_n": 40},
                         {**base, "touchpoint": "new", "top_pain": None}],
              [("x", 1, "rude", 40, 200), ("x", 2, "late", 15, 200)],
              [{"question": "efficient", "group": "organisation", "status": "not_enough_evidence", "verdict": None}])
    ch = compare(a, b)
    assert set(zip(ch.touchpoints["touchpoint"], ch.touchpoints["change"], strict=True)) == {("new", "added"),
                                                                                              ("gone", "removed")}
    p = ch.pain_points.set_index("touchpoint").loc["x"]
    assert p["new_top"] and (p["before"], p["after"]) == ("late", "rude")
    z, pv = proportions_ztest([40, 10], [200, 200])
    assert (p["statistic"], p["p_value"]) == (pytest.approx(z), pytest.approx(pv)) and p["significant"]
    s = ch.scores.set_index(["touchpoint", "measure"]).loc[("x", "csat")]
    assert s["change"] == pytest.approx(-0.5) and s["significant"]
    q = ch.questions.set_index("question").loc["efficient"]
    assert q["changed"] and q["after"] is None and q["status_after"] == "not_enough_evidence"
    first = compare(None, b)
    assert first.previous is None and first.scores.empty and first.summary().empty


def test_a_client_without_surveys_still_keeps_a_map(run, tmp_path):
    snap = map_snapshot(store_of(run.params), run.params, run.cur)
    assert len(snap.touchpoints) == len(run.params.touchpoints)
    assert snap.touchpoints["csat_mean"].isna().all() and snap.questions.empty and snap.pains.empty
    path = save_snapshot(snap, tmp_path)
    save_snapshot(snap, tmp_path)  # a re-run of the period replaces it
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    back = load_snapshot(path)
    assert back.touchpoints["csat_n"].isna().all() and np.isnan(back.touchpoints["pain_share"]).all()

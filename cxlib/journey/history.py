"""The map as a living document (method step 8): save each run's map, say what changed, keep a history.

::

    snap = map_snapshot(ctx.store, ctx.params, ctx.period, pains=pains, answers=qa)
    save_snapshot(snap, folder)                       # folder/<period label>/...
    before = previous_snapshot(folder, snap.label)    # None on the first run
    changes = compare(before, snap, alpha=ctx.params.thresholds.alpha)
    changes.summary()                                 # one row per change, with its test
    hist = history(folder)                            # every saved run, for the annex

A snapshot holds one row per touchpoint (stage, CSAT mean, standard deviation and n, stated
importance likewise, the top pain point with its count and base, the verdicts of the
touchpoint questions), the question answers, and the pain points it was given (every rank
kept, so a later run can test a code's share). It is written as CSV files and a JSON
manifest in ``folder/<label>/``, through a temporary folder renamed into place, so a run that
fails never leaves half a snapshot; re-running a period replaces its snapshot.

:func:`compare` tests what moved between two snapshots:

- touchpoints added or removed (present in one snapshot only);
- CSAT and importance means: Welch's t-test from the saved means, standard deviations and
  counts (:func:`scipy.stats.ttest_ind_from_stats`, ``equal_var=False``; Welch 1947), Holm-
  adjusted over the touchpoints of each measure, significant when p_adj < alpha and both
  bases reach ``min_base``;
- pain points: a new top pain point (the rank-1 code differs), and the share of the current
  top code among the touchpoint's texts against its share before when the earlier snapshot
  has it, by the two-proportion z-test with pooled variance
  (:func:`statsmodels.stats.proportion.proportions_ztest`), Holm-adjusted over touchpoints;
- questions whose verdict or status changed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from cxlib.data.io import Store
from cxlib.data.params import Params
from cxlib.journey.evidence import as_period, columns_of
from cxlib.journey.questions import QUESTIONS, QuestionAnswers, touchpoint_verdicts
from cxlib.quant.multiple import adjust_pvalues

__all__ = ["SNAPSHOT_COLUMNS", "PAIN_COLUMNS", "QUESTION_COLUMNS", "MapSnapshot", "MapChanges", "MapHistory",
           "touchpoint_scores", "map_snapshot", "save_snapshot", "load_snapshot", "saved_runs",
           "previous_snapshot", "compare", "history"]

_TP_QUESTIONS = [q.id for q in QUESTIONS if q.group == "touchpoint"]
SNAPSHOT_COLUMNS = ["stage", "touchpoint", "label", "in_map", "csat_mean", "csat_sd", "csat_n", "importance_mean",
                    "importance_sd", "importance_n", "top_pain", "top_pain_n", "pain_n_texts", "pain_share",
                    *_TP_QUESTIONS]
PAIN_COLUMNS = ["touchpoint", "rank", "code", "n", "n_texts"]
QUESTION_COLUMNS = ["question", "group", "status", "verdict"]
_FILES = {"touchpoints": "touchpoints.csv", "pains": "pains.csv", "questions": "questions.csv"}
_MANIFEST = "snapshot.json"


@dataclass(frozen=True)
class MapSnapshot:
    """One run's map: ``touchpoints`` (:data:`SNAPSHOT_COLUMNS`), ``pains`` (:data:`PAIN_COLUMNS`),
    ``questions`` (:data:`QUESTION_COLUMNS`) and ``meta`` (label, period_start, period_end,
    created, client)."""

    label: str
    touchpoints: pd.DataFrame
    pains: pd.DataFrame
    questions: pd.DataFrame
    meta: dict = field(default_factory=dict)


class MapChanges(NamedTuple):
    """What changed between two snapshots (see :func:`compare`)."""

    previous: str | None
    current: str
    touchpoints: pd.DataFrame  # touchpoint, change (added / removed)
    scores: pd.DataFrame       # touchpoint, measure, before, after, change, n_before, n_after, statistic, p_value, p_adj, significant
    pain_points: pd.DataFrame  # touchpoint, before, after, new_top, share_before, share_after, n_texts_before, n_texts_after, statistic, p_value, p_adj, significant
    questions: pd.DataFrame    # question, group, before, after, status_before, status_after, changed

    def summary(self) -> pd.DataFrame:
        """One row per change a reader should see: kind (touchpoint_added, touchpoint_removed,
        score, new_top_pain, pain_share, question), subject, measure, before, after, p_adj."""
        rows = [{"kind": f"touchpoint_{r.change}", "subject": r.touchpoint, "measure": None, "before": None,
                 "after": None, "p_adj": None} for r in self.touchpoints.itertuples()]
        for r in self.scores[self.scores["significant"]].itertuples():
            rows.append({"kind": "score", "subject": r.touchpoint, "measure": r.measure, "before": r.before,
                         "after": r.after, "p_adj": r.p_adj})
        for r in self.pain_points.itertuples():
            if r.new_top:
                rows.append({"kind": "new_top_pain", "subject": r.touchpoint, "measure": None, "before": r.before,
                             "after": r.after, "p_adj": None})
            if r.significant:
                rows.append({"kind": "pain_share", "subject": r.touchpoint, "measure": r.after,
                             "before": r.share_before, "after": r.share_after, "p_adj": r.p_adj})
        for r in self.questions[self.questions["changed"]].itertuples():
            rows.append({"kind": "question", "subject": r.question, "measure": None, "before": r.before,
                         "after": r.after, "p_adj": None})
        return pd.DataFrame(rows, columns=["kind", "subject", "measure", "before", "after", "p_adj"])


class MapHistory(NamedTuple):
    """Every saved run: ``touchpoints`` (run, period_start + :data:`SNAPSHOT_COLUMNS`) and
    ``questions`` (run, period_start + :data:`QUESTION_COLUMNS`), oldest run first; ``run`` is
    the snapshot's label (the period)."""

    touchpoints: pd.DataFrame
    questions: pd.DataFrame


# --- building a snapshot -----------------------------------------------------------------------
def touchpoint_scores(store: Store | None, period=None) -> pd.DataFrame:
    """CSAT and stated importance per touchpoint in the period, from the engine.

    Columns: touchpoint, csat_mean, csat_sd (sample standard deviation, n - 1), csat_n,
    importance_mean, importance_sd, importance_n. Empty without survey responses with a
    touchpoint and a CSAT or importance.
    """
    cols = columns_of(store, "survey_responses")
    empty = pd.DataFrame(columns=["touchpoint", "csat_mean", "csat_sd", "csat_n", "importance_mean",
                                  "importance_sd", "importance_n"])
    if cols is None or "touchpoint" not in cols or not ({"csat", "importance"} & cols):
        return empty
    r = store.table("survey_responses").filter(lambda t: t.touchpoint.notnull())
    period = as_period(period)
    if period is not None and getattr(period, "start", None) is not None and "response_time" in cols:
        r = r.filter((r.response_time >= period.start) & (r.response_time < period.end))
    aggs = {}
    for m in ("csat", "importance"):
        if m in cols:
            x = r[m].cast("float64")
            aggs.update({f"{m}_mean": x.mean(), f"{m}_sd": x.std(how="sample"), f"{m}_n": x.count()})
    out = r.group_by("touchpoint").aggregate(**aggs).to_pandas()
    return out.reindex(columns=empty.columns).sort_values("touchpoint").reset_index(drop=True)


def map_snapshot(store: Store | None, params: Params, period, *, pains: pd.DataFrame | None = None,
                 answers: QuestionAnswers | None = None, created: str | None = None) -> MapSnapshot:
    """The map's data for one run.

    Parameters
    ----------
    store, params, period
        The run; ``period`` labels the snapshot (``period.label``; ``"all"`` when None).
    pains : DataFrame, optional
        :func:`cxlib.journey.operations.pain_points` output (touchpoint, rank, code, n,
        n_texts); pass ``top=5`` or more so later runs can test a code's share.
    answers : QuestionAnswers, optional
        :func:`cxlib.journey.questions.answer_questions` output: the question answers and the
        touchpoint verdicts.
    created : str, optional
        The run's timestamp (ISO 8601) for the manifest; default now.

    Returns
    -------
    MapSnapshot
        Every journey touchpoint in journey order, then touchpoints the survey names outside
        the map (``in_map`` False); NaN scores and no pain point where the data has none.
    """
    period = as_period(period)
    label = period.label if period is not None else "all"
    scores = touchpoint_scores(store, period)
    rows = [{"stage": st.id, "touchpoint": tp.id, "label": tp.label, "in_map": True}
            for st in params.journey for tp in st.touchpoints]
    known = {r["touchpoint"] for r in rows}
    rows += [{"stage": None, "touchpoint": t, "label": t, "in_map": False}
             for t in sorted(set(scores["touchpoint"]) - known)]
    tps = pd.DataFrame(rows).merge(scores, on="touchpoint", how="left")
    pain = _pains(pains)
    top = pain[pain["rank"] == 1].drop_duplicates("touchpoint").set_index("touchpoint")
    tps["top_pain"] = tps["touchpoint"].map(top["code"])
    tps["top_pain_n"] = tps["touchpoint"].map(top["n"])
    tps["pain_n_texts"] = tps["touchpoint"].map(pain.groupby("touchpoint")["n_texts"].max())
    tps["pain_share"] = tps["top_pain_n"] / tps["pain_n_texts"].where(tps["pain_n_texts"] > 0)
    verdicts = touchpoint_verdicts(answers.evidence) if answers is not None else pd.DataFrame(columns=["touchpoint"])
    for q in _TP_QUESTIONS:
        tps[q] = tps["touchpoint"].map(verdicts.set_index("touchpoint")[q]) if q in verdicts else None
    for c in ("csat_n", "importance_n", "top_pain_n", "pain_n_texts"):
        tps[c] = pd.to_numeric(tps[c], errors="coerce").astype("Int64")
    questions = (answers.answers[QUESTION_COLUMNS].copy() if answers is not None
                 else pd.DataFrame(columns=QUESTION_COLUMNS))
    meta = {"label": label, "period_start": _iso(getattr(period, "start", None)),
            "period_end": _iso(getattr(period, "end", None)), "client": params.client,
            "created": created or pd.Timestamp.now().isoformat(timespec="seconds")}
    return MapSnapshot(label, tps[SNAPSHOT_COLUMNS], pain, questions, meta)


def _iso(ts) -> str | None:
    return None if ts is None or pd.isna(ts) else pd.Timestamp(ts).isoformat()


def _pains(pains: pd.DataFrame | None) -> pd.DataFrame:
    if pains is None or pains.empty or "code" not in pains:
        return pd.DataFrame(columns=PAIN_COLUMNS)
    p = pains[pains["code"].notna()].copy()
    if "rank" not in p:
        p["rank"] = p.groupby("touchpoint")["n"].rank(method="first", ascending=False).astype(int)
    p = p[PAIN_COLUMNS].sort_values(["touchpoint", "rank"]).reset_index(drop=True)
    return p.astype({"rank": "int64", "n": "int64", "n_texts": "int64"})


# --- saving and loading -----------------------------------------------------------------------
def _folder_name(label: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(label)).strip("._") or "run"
    return name


def save_snapshot(snapshot: MapSnapshot, folder: str | Path) -> Path:
    """Write ``snapshot`` into ``folder/<label>/`` (CSV files and ``snapshot.json``), atomically.

    The files go to a temporary folder beside the target, which then replaces any earlier
    snapshot of the same label, so the folder always holds whole snapshots. Returns the path.
    """
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    target = root / _folder_name(snapshot.label)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=root))
    try:
        for part, name in _FILES.items():
            getattr(snapshot, part).to_csv(tmp / name, index=False, lineterminator="\n")
        manifest = {**snapshot.meta, "label": snapshot.label, "files": _FILES}
        (tmp / _MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        old = None
        if target.exists():
            old = root / f".{target.name}.old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def load_snapshot(path: str | Path) -> MapSnapshot:
    """Read a snapshot folder written by :func:`save_snapshot`."""
    path = Path(path)
    meta = json.loads((path / _MANIFEST).read_text(encoding="utf-8"))
    parts = {}
    for part, name in _FILES.items():
        df = pd.read_csv(path / name, keep_default_na=True)
        parts[part] = df.astype(object).where(df.notna(), None) if part == "questions" else df
    tps = parts["touchpoints"].reindex(columns=SNAPSHOT_COLUMNS)
    for c in ("csat_n", "importance_n", "top_pain_n", "pain_n_texts"):
        tps[c] = pd.to_numeric(tps[c], errors="coerce").astype("Int64")
    for c in ("stage", "top_pain", *_TP_QUESTIONS):
        tps[c] = tps[c].astype(object).where(tps[c].notna(), None)
    return MapSnapshot(str(meta["label"]), tps, parts["pains"].reindex(columns=PAIN_COLUMNS),
                       parts["questions"].reindex(columns=QUESTION_COLUMNS), meta)


def saved_runs(folder: str | Path) -> pd.DataFrame:
    """The snapshots in ``folder``: label, period_start, period_end, created, path; oldest period first."""
    root = Path(folder)
    rows = []
    if root.is_dir():
        for p in sorted(root.iterdir()):
            m = p / _MANIFEST
            if p.is_dir() and not p.name.startswith(".") and m.is_file():
                meta = json.loads(m.read_text(encoding="utf-8"))
                rows.append({"label": str(meta.get("label")), "period_start": meta.get("period_start"),
                             "period_end": meta.get("period_end"), "created": meta.get("created"), "path": str(p)})
    out = pd.DataFrame(rows, columns=["label", "period_start", "period_end", "created", "path"])
    return out.sort_values(["period_start", "label"], na_position="first", kind="stable").reset_index(drop=True)


def previous_snapshot(folder: str | Path, label: str) -> MapSnapshot | None:
    """The latest snapshot in ``folder`` from before the run labelled ``label`` (None if none).

    "Before" is an earlier ``period_start``; runs without one are ordered by label.
    """
    runs = saved_runs(folder)
    if runs.empty:
        return None
    mine = runs[runs["label"] == str(label)]
    if not mine.empty and mine["period_start"].notna().all():
        start = mine["period_start"].iloc[0]
        earlier = runs[runs["period_start"].notna() & (runs["period_start"] < start)]
    else:
        earlier = runs[runs["label"] < str(label)]
    return None if earlier.empty else load_snapshot(earlier["path"].iloc[-1])


# --- what changed -----------------------------------------------------------------------------
def _holm(p: pd.Series) -> pd.Series:
    return pd.Series(adjust_pvalues(p.to_numpy(dtype=float), "holm"), index=p.index)


def compare(previous: MapSnapshot | None, current: MapSnapshot, alpha: float = 0.05,
            min_base: int = 30) -> MapChanges:
    """What changed from ``previous`` to ``current`` (see the module notes for the tests).

    With no previous snapshot every frame is empty (nothing to compare, the first run).
    ``scores`` has one row per touchpoint in both snapshots and measure (csat, importance);
    ``pain_points`` one row per touchpoint in both with a top pain point in either;
    ``questions`` one row per question.
    """
    cols_s = ["touchpoint", "measure", "before", "after", "change", "n_before", "n_after", "statistic",
              "p_value", "p_adj", "significant"]
    cols_p = ["touchpoint", "before", "after", "new_top", "share_before", "share_after", "n_texts_before",
              "n_texts_after", "statistic", "p_value", "p_adj", "significant"]
    cols_q = ["question", "group", "before", "after", "status_before", "status_after", "changed"]
    if previous is None:
        return MapChanges(None, current.label, pd.DataFrame(columns=["touchpoint", "change"]),
                          pd.DataFrame(columns=cols_s), pd.DataFrame(columns=cols_p), pd.DataFrame(columns=cols_q))
    a = previous.touchpoints.set_index("touchpoint")
    b = current.touchpoints.set_index("touchpoint")
    seen_a = set(a.index[a["in_map"].astype(bool) | a["csat_n"].fillna(0).gt(0)])
    seen_b = set(b.index[b["in_map"].astype(bool) | b["csat_n"].fillna(0).gt(0)])
    moved = [{"touchpoint": t, "change": "added"} for t in b.index if t in seen_b - seen_a]
    moved += [{"touchpoint": t, "change": "removed"} for t in a.index if t in seen_a - seen_b]
    both = [t for t in b.index if t in seen_a and t in seen_b]
    rows = []
    for m in ("csat", "importance"):
        for t in both:
            m1, s1, n1 = (a.at[t, f"{m}_{x}"] for x in ("mean", "sd", "n"))
            m2, s2, n2 = (b.at[t, f"{m}_{x}"] for x in ("mean", "sd", "n"))
            ok = all(pd.notna(v) for v in (m1, s1, n1, m2, s2, n2)) and n1 >= 2 and n2 >= 2
            stat, p = stats.ttest_ind_from_stats(m2, s2, n2, m1, s1, n1, equal_var=False) if ok else (np.nan, np.nan)
            rows.append({"touchpoint": t, "measure": m, "before": m1, "after": m2,
                         "change": m2 - m1 if ok else np.nan, "n_before": n1, "n_after": n2,
                         "statistic": float(stat), "p_value": float(p), "_base": ok and min(n1, n2) >= min_base})
    scores = pd.DataFrame(rows, columns=[*cols_s[:-2], "_base"])
    scores["p_adj"] = np.nan
    for _m, g in scores.groupby("measure"):
        scores.loc[g.index, "p_adj"] = _holm(g["p_value"].where(g["_base"]))
    scores["significant"] = scores["_base"].astype(bool) & (scores["p_adj"] < alpha)
    scores = scores[cols_s]
    prow = []
    pa, pb = previous.pains, current.pains
    for t in both:
        top_a, top_b = a.at[t, "top_pain"], b.at[t, "top_pain"]
        if not (isinstance(top_a, str) or isinstance(top_b, str)):
            continue
        share_b = share_a = np.nan
        n_b = b.at[t, "pain_n_texts"]
        n_a = a.at[t, "pain_n_texts"]
        stat = p = np.nan
        if isinstance(top_b, str):
            kb = pb.loc[(pb["touchpoint"] == t) & (pb["code"] == top_b), "n"]
            share_b = kb.iloc[0] / n_b if len(kb) and n_b else np.nan
            ka = pa.loc[(pa["touchpoint"] == t) & (pa["code"] == top_b), "n"]
            if len(ka) and pd.notna(n_a) and n_a:
                share_a = ka.iloc[0] / n_a
                if min(n_a, n_b) >= min_base and 0 < ka.iloc[0] + kb.iloc[0] < n_a + n_b:
                    stat, p = proportions_ztest([kb.iloc[0], ka.iloc[0]], [n_b, n_a])
        prow.append({"touchpoint": t, "before": top_a if isinstance(top_a, str) else None,
                     "after": top_b if isinstance(top_b, str) else None,
                     "new_top": isinstance(top_b, str) and top_b != top_a, "share_before": share_a,
                     "share_after": share_b, "n_texts_before": n_a, "n_texts_after": n_b,
                     "statistic": float(stat), "p_value": float(p)})
    pains = pd.DataFrame(prow, columns=cols_p[:-2])
    pains["p_adj"] = _holm(pains["p_value"]) if len(pains) else pd.Series(dtype=float)
    pains["significant"] = pains["p_adj"] < alpha
    qa, qb = previous.questions.set_index("question"), current.questions.set_index("question")
    qrows = []
    for q in QUESTIONS:
        va = qa["verdict"].get(q.id) if q.id in qa.index else None
        vb = qb["verdict"].get(q.id) if q.id in qb.index else None
        sa = qa["status"].get(q.id) if q.id in qa.index else None
        sb = qb["status"].get(q.id) if q.id in qb.index else None
        va, vb, sa, sb = (None if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in (va, vb, sa, sb))
        if sa is None and sb is None:
            continue
        qrows.append({"question": q.id, "group": q.group, "before": va, "after": vb, "status_before": sa,
                      "status_after": sb, "changed": (va != vb) or (sa != sb)})
    return MapChanges(previous.label, current.label, pd.DataFrame(moved, columns=["touchpoint", "change"]),
                      scores, pains[cols_p], pd.DataFrame(qrows, columns=cols_q))


def history(folder: str | Path) -> MapHistory:
    """Every snapshot saved in ``folder`` stacked, oldest period first (empty frames when none)."""
    runs = saved_runs(folder)
    tps, qs = [], []
    for r in runs.itertuples():
        snap = load_snapshot(r.path)
        tps.append(snap.touchpoints.assign(run=snap.label, period_start=r.period_start))
        qs.append(snap.questions.assign(run=snap.label, period_start=r.period_start))
    lead = ["run", "period_start"]
    if not tps:
        return MapHistory(pd.DataFrame(columns=lead + SNAPSHOT_COLUMNS), pd.DataFrame(columns=lead + QUESTION_COLUMNS))
    t = pd.concat(tps, ignore_index=True)
    q = pd.concat(qs, ignore_index=True)
    return MapHistory(t[lead + SNAPSHOT_COLUMNS], q[lead + QUESTION_COLUMNS])

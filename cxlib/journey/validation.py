"""Validating the map (method step 6): staff and focus-group feedback against the data.

::

    check = validate_map(feedback, ctx.params, ctx.store, ctx.period,
                         touchpoint_data=snapshot.touchpoints, evidence=qa.evidence)
    check.coverage        # every touchpoint the map, the data or the staff name, with a status
    check.disagreements   # feedback that disagrees with the map, with the data beside it

The feedback table (canonical ``map_feedback``: item_id, stage, touchpoint, agrees, comment,
role; optional ``exists``: does the touchpoint exist as a way customers deal with us) is
matched to the journey by touchpoint id or label (case and spaces ignored), or by stage when
it names no touchpoint. A touchpoint is *seen* by the data when any record carries it: a
contact (interactions), a survey response, a verbatim, or a session at a funnel step tied to
it (web events); counted in the engine over all the data and within the period.

Statuses of a touchpoint (first that applies):

``data_contradicts_staff``  staff say it does not exist (``exists`` false); the data sees it
``staff_only``              staff name it; the data never sees it
``disputed``                staff disagree with the map about it
``confirmed``               staff agree with the map about it
``data_only``               the data sees it; it is not in the map and staff do not name it
``not_reviewed``            in the map and in the data; no staff feedback
``no_data``                 in the map only
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from cxlib.data.io import Store
from cxlib.data.params import Params
from cxlib.journey.evidence import ANSWERED, NOT_ENOUGH, Status, as_period, columns_of

__all__ = ["STATUSES", "COVERAGE_COLUMNS", "DISAGREEMENT_COLUMNS", "MapValidation", "normalise_feedback",
           "touchpoint_sightings", "validate_map"]

STATUSES = ("data_contradicts_staff", "staff_only", "disputed", "confirmed", "data_only", "not_reviewed", "no_data")
COVERAGE_COLUMNS = ["touchpoint", "label", "stage", "in_map", "n_records", "n_period", "sources", "staff_rows",
                    "staff_agree", "staff_disagree", "staff_deny", "status"]
DISAGREEMENT_COLUMNS = ["item_id", "stage", "touchpoint", "role", "comment", "status", "n_records", "n_period",
                        "data_flags"]
_TRUE = {"true", "t", "yes", "y", "1", "1.0", "agree", "agrees", "agreed", "exists", "نعم", "موافق"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", "disagree", "disagrees", "disagreed", "لا", "غير موافق"}


@dataclass(frozen=True)
class MapValidation:
    """Feedback against the data: ``coverage`` (:data:`COVERAGE_COLUMNS`, one row per
    touchpoint), ``disagreements`` (:data:`DISAGREEMENT_COLUMNS` plus the columns of
    ``touchpoint_data``), ``feedback`` (normalised, with ``matched``: touchpoint, stage or
    unknown) and ``evidence`` (the question evidence rows at disputed touchpoints)."""

    status: Status
    coverage: pd.DataFrame
    disagreements: pd.DataFrame
    feedback: pd.DataFrame
    evidence: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)


def _key(s) -> str | None:
    if s is None or (isinstance(s, float) and np.isnan(s)) or pd.isna(s):
        return None
    return re.sub(r"[\s_\-]+", " ", str(s)).strip().casefold() or None


def _flag(v):
    """A yes/no cell as True, False or None (bool, 1/0, yes/no, agree/disagree, نعم/لا)."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    text = str(v).strip().casefold()
    return True if text in _TRUE else False if text in _FALSE else None


def normalise_feedback(feedback: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Feedback rows with ``touchpoint`` and ``stage`` mapped to journey ids where they match.

    Adds ``agrees`` and ``exists`` as True/False/None, ``touchpoint_given`` (as written) and
    ``matched`` (``touchpoint`` when the row names a touchpoint, ``stage`` when it names only a
    known stage, ``unknown`` otherwise). A touchpoint not in the map keeps its own name,
    lower-cased with underscores (``WhatsApp`` -> ``whatsapp``).
    """
    fb = feedback.copy().reset_index(drop=True)
    for col in ("item_id", "stage", "touchpoint", "comment", "role"):
        if col not in fb:
            fb[col] = None
    if fb["item_id"].isna().all():
        fb["item_id"] = [f"r{i + 1}" for i in range(len(fb))]
    tp_ids = {}
    for tp in params.touchpoints:
        tp_ids[_key(tp.id)] = tp.id
        tp_ids.setdefault(_key(tp.label), tp.id)
    st_ids = {}
    for st in params.journey:
        st_ids[_key(st.id)] = st.id
        st_ids.setdefault(_key(st.label), st.id)
    stage_of = params.stage_of()
    fb["touchpoint_given"] = fb["touchpoint"]
    keys = [_key(v) for v in fb["touchpoint"]]
    tps = [tp_ids.get(k, k.replace(" ", "_")) if k else None for k in keys]
    given_stage = [st_ids.get(k) if k else None for k in (_key(v) for v in fb["stage"])]
    fb["touchpoint"] = pd.Series(tps, index=fb.index, dtype=object)
    fb["stage"] = pd.Series([stage_of.get(t, s) if t else s for t, s in zip(tps, given_stage, strict=True)],
                            index=fb.index, dtype=object)
    fb["matched"] = np.where(fb["touchpoint"].notna(), "touchpoint", np.where(fb["stage"].notna(), "stage", "unknown"))
    for col in ("agrees", "exists"):
        fb[col] = pd.Series([_flag(v) for v in fb[col]] if col in fb else [None] * len(fb),
                            index=fb.index, dtype=object)
    return fb


def touchpoint_sightings(store: Store | None, params: Params, period=None) -> pd.DataFrame:
    """Records per touchpoint in each table that names touchpoints, counted in the engine.

    Columns: touchpoint, source (interactions, survey_responses, verbatims, web_events),
    n_records (all the data), n_period (within ``period``; equal to n_records without one).
    Web events count sessions reaching a funnel step tied to the touchpoint.
    """
    period = as_period(period)
    has_period = period is not None and getattr(period, "start", None) is not None
    parts = []
    for table, time_col in (("interactions", "interaction_time"), ("survey_responses", "response_time"),
                            ("verbatims", "verbatim_time")):
        cols = columns_of(store, table)
        if not cols or "touchpoint" not in cols:
            continue
        t = store.table(table).filter(lambda x: x.touchpoint.notnull())
        inside = ((t[time_col] >= period.start) & (t[time_col] < period.end)).fill_null(False) \
            if has_period and time_col in cols else ibis.literal(True)
        t = t.mutate(_in=inside.cast("int64"))  # a column even when it is the literal True (no period)
        g = t.group_by("touchpoint").aggregate(n_records=t.count(), n_period=t._in.sum())
        parts.append(g.to_pandas().assign(source=table))
    cols = columns_of(store, "web_events")
    tied = {s.event: s.touchpoint for s in params.funnel if s.touchpoint}
    if cols and {"session_id", "event"} <= cols and tied:
        w = store.table("web_events").filter(lambda x: x.event.isin(list(tied)))
        inside = ((w.event_time >= period.start) & (w.event_time < period.end)).fill_null(False) \
            if has_period and "event_time" in cols else ibis.literal(True)
        tp = ibis.cases(*[(w.event == e, t) for e, t in tied.items()], else_=None)
        w = w.mutate(touchpoint=tp, _in=inside.cast("int64"))
        per = w.group_by(["touchpoint", "session_id"]).aggregate(_in=w._in.max())
        g = per.group_by("touchpoint").aggregate(n_records=per.count(), n_period=per._in.sum())
        parts.append(g.to_pandas().assign(source="web_events"))
    if not parts:
        return pd.DataFrame(columns=["touchpoint", "source", "n_records", "n_period"])
    out = pd.concat(parts, ignore_index=True)[["touchpoint", "source", "n_records", "n_period"]]
    out[["n_records", "n_period"]] = out[["n_records", "n_period"]].fillna(0).astype(int)
    return out


def _status(r) -> str:
    if r["staff_deny"] > 0 and r["n_records"] > 0:
        return "data_contradicts_staff"
    if r["staff_rows"] > 0 and r["n_records"] == 0:
        return "staff_only"
    if r["staff_disagree"] > 0:
        return "disputed"
    if r["staff_agree"] > 0:
        return "confirmed"
    if r["n_records"] > 0:
        return "not_reviewed" if r["in_map"] else "data_only"
    return "no_data"


def validate_map(feedback: pd.DataFrame | None, params: Params, store: Store | None = None, period=None, *,
                 touchpoint_data: pd.DataFrame | None = None, evidence: pd.DataFrame | None = None) -> MapValidation:
    """Compare staff and focus-group feedback on the map with what the data sees.

    Parameters
    ----------
    feedback : DataFrame or None
        The ``map_feedback`` table (see the module notes); None or empty gives
        ``not_enough_evidence`` (the coverage still lists what the data sees).
    params : Params
        The journey (ids, labels, stages) and the funnel (web steps tied to touchpoints).
    store : Store, optional
        The run's data, for the sightings; without it every touchpoint counts as unseen.
    period : Period or str, optional
        Counts ``n_period`` within it.
    touchpoint_data : DataFrame, optional
        One row per touchpoint (a ``touchpoint`` column): its columns are joined onto each
        disagreement (e.g. the map snapshot's CSAT, importance and top pain point).
    evidence : DataFrame, optional
        :func:`cxlib.journey.questions.answer_questions` evidence; ``data_flags`` lists the
        metrics judged *no* at the touchpoint, and ``MapValidation.evidence`` keeps those rows
        for the disputed touchpoints.

    Returns
    -------
    MapValidation
        ``coverage`` ordered by status (:data:`STATUSES`), then journey order, then name.
    """
    notes: list[str] = []
    seen = touchpoint_sightings(store, params, period)
    if seen.empty:
        notes.append("no table names touchpoints, so no touchpoint is seen by the data")
    per_tp = seen.groupby("touchpoint").agg(n_records=("n_records", "sum"), n_period=("n_period", "sum"),
                                            sources=("source", lambda s: ";".join(sorted(set(s)))))
    fb = normalise_feedback(feedback, params) if feedback is not None and len(feedback) else None
    if fb is None:
        notes.append("map_feedback: no staff or focus-group feedback to validate the map with")
    elif (fb["agrees"].isna()).all():
        notes.append("map_feedback.agrees: no readable yes/no values")
    labels = params.touchpoint_labels()
    stage_of = params.stage_of()
    names = list(labels)
    extra = sorted(set(per_tp.index) - set(names))
    staff = sorted(set(fb["touchpoint"].dropna()) - set(names) - set(extra)) if fb is not None else []
    rows = []
    for tp in names + extra + staff:
        mine = fb[fb["touchpoint"] == tp] if fb is not None else pd.DataFrame(columns=["agrees", "exists"])
        rec = per_tp.loc[tp] if tp in per_tp.index else None
        given = mine["touchpoint_given"].dropna() if "touchpoint_given" in mine else pd.Series(dtype=object)
        stages = mine["stage"].dropna() if "stage" in mine else pd.Series(dtype=object)
        rows.append({
            "touchpoint": tp, "label": labels.get(tp, str(given.iloc[0]) if len(given) else tp),
            "stage": stage_of.get(tp, stages.iloc[0] if len(stages) else None), "in_map": tp in labels,
            "n_records": int(rec["n_records"]) if rec is not None else 0,
            "n_period": int(rec["n_period"]) if rec is not None else 0,
            "sources": rec["sources"] if rec is not None else "",
            "staff_rows": len(mine), "staff_agree": int((mine["agrees"] == True).sum()),  # noqa: E712
            "staff_disagree": int((mine["agrees"] == False).sum()),  # noqa: E712
            "staff_deny": int((mine["exists"] == False).sum()),  # noqa: E712
        })
    cov = pd.DataFrame(rows, columns=COVERAGE_COLUMNS[:-1])
    cov["status"] = cov.apply(_status, axis=1) if len(cov) else pd.Series(dtype="str")
    order = {s: i for i, s in enumerate(STATUSES)}
    pos = {t: i for i, t in enumerate(names)}
    cov = cov.assign(_s=cov["status"].map(order), _p=cov["touchpoint"].map(pos).fillna(len(pos)))
    cov = cov.sort_values(["_s", "_p", "touchpoint"], kind="stable").drop(columns=["_s", "_p"]).reset_index(drop=True)
    flags = pd.Series(dtype="str")
    ev_out = pd.DataFrame()
    if evidence is not None and len(evidence):
        at_tp = evidence[(evidence["scope_kind"] == "touchpoint") & (evidence["verdict"] == "no")]
        flags = at_tp.groupby("scope")["metric"].agg(lambda s: ";".join(dict.fromkeys(s)))
    if fb is None:
        dis = pd.DataFrame(columns=DISAGREEMENT_COLUMNS)
        fb_out = pd.DataFrame()
    else:
        fb_out = fb
        dis = fb[fb["agrees"] == False].copy()  # noqa: E712
        status = cov.set_index("touchpoint")["status"]
        dis["status"] = dis["touchpoint"].map(status)
        dis["n_records"] = dis["touchpoint"].map(cov.set_index("touchpoint")["n_records"])
        dis["n_period"] = dis["touchpoint"].map(cov.set_index("touchpoint")["n_period"])
        dis["data_flags"] = dis["touchpoint"].map(flags) if len(flags) else None
        dis = dis[DISAGREEMENT_COLUMNS].reset_index(drop=True)
        if touchpoint_data is not None and "touchpoint" in touchpoint_data:
            extra_cols = [c for c in touchpoint_data.columns if c not in dis.columns or c == "touchpoint"]
            dis = dis.merge(touchpoint_data[extra_cols].drop_duplicates("touchpoint"), on="touchpoint", how="left")
        if evidence is not None and len(evidence):
            disputed = set(cov.loc[cov["status"].isin(["disputed", "data_contradicts_staff"]), "touchpoint"])
            ev_out = evidence[(evidence["scope_kind"] == "touchpoint") & evidence["scope"].isin(disputed)]
            ev_out = ev_out.reset_index(drop=True)
    status = ANSWERED if fb is not None and fb["agrees"].notna().any() else NOT_ENOUGH
    return MapValidation(status, cov, dis, fb_out, ev_out, tuple(notes))

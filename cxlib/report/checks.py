"""Every name in params checked against the data: an error or a stated warning, never silence.

Breakdowns, crosstabs, weighting variables, churn predictors, the delivery touchpoint and the
abandonment steps must name columns or steps that exist (an error names the key, what it names,
and what the data has). Funnel events that never occur, journey touchpoints the data never sees,
brands that no text mentions, a segment column the CRM lacks: the run goes on, and the report
states each one in its data-and-method section.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import pandas as pd

from cxlib.data.io import Store
from cxlib.decide.words import Message, Num


@dataclass
class NameCheck:
    errors: list[str] = field(default_factory=list)
    warnings: list[Message] = field(default_factory=list)


def _hint(name: str, options) -> str:
    close = difflib.get_close_matches(str(name), [str(o) for o in options], n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def _distinct(store: Store, table: str, column: str, limit: int = 5000) -> list:
    if not store.has_column(table, column):
        return []
    t = store.table(table)
    found = t.filter(t[column].notnull()).select(column).distinct().limit(limit)
    return found.to_pyarrow().column(column).to_pylist()


def period_warnings(store: Store, current) -> list[Message]:
    """A default period that leaves most of the data out: the latest complete period, when more rows
    come after it (in a period the data does not yet cover to its end) than lie in it."""
    from cxlib.data import engine, periods

    table = engine.period_source(store)
    if table is None or current.is_all:
        return []
    col = engine.time_column(store, table)
    t = store.table(table)
    inside = engine.rows_in(store, table, current)
    after = int(t.filter(t[col] >= current.end).count().to_pandas())
    if after <= inside:
        return []
    _, hi = engine.time_span(store, table)
    unit = periods.unit_of(current)
    nxt = periods.label_of(pd.Series([hi]), unit).iloc[0]
    return [Message("warn.period_most_after", {"period": current.label, "inside": Num(f"{inside:,}"),
                                               "after": Num(f"{after:,}"), "next": nxt})]


def scope_warnings(store: Store) -> list[Message]:
    """Scores the metrics' scope leaves out: NPS counts relationship responses and CSAT/CES
    transactional ones (cxlib.quant.metrics), so a score given on the other kind of response is
    in the data but in no figure. Named, with how many responses carry it and the fix."""
    if not store.has("survey_responses") or not store.has_column("survey_responses", "survey_type"):
        return []
    from cxlib.data.engine import SCORE_SCOPES

    r = store.table("survey_responses")
    out = []
    for score, scope in SCORE_SCOPES.items():
        if score not in r.columns:
            continue
        n = int(r.filter(r[score].notnull() & (r.survey_type.isnull() | (r.survey_type != scope))).count().to_pandas())
        if n:
            out.append(Message("warn.score_out_of_scope", {"score": score.upper(), "n": Num(f"{n:,}"), "scope": scope}))
    return out


def check_names(store: Store, params) -> NameCheck:
    """Check every name params gives against the loaded data."""
    out = NameCheck()
    src = params.source or "params"
    survey_cols = set(store.columns("survey_responses"))
    customer_cols = set(store.columns("customers"))
    response_cols = survey_cols | (customer_cols if "customer_id" in survey_cols else set()) | {"nps_group", "period"}
    if params.breakdowns is not None:
        for b in params.breakdowns:
            if b not in response_cols:
                out.errors.append(f"breakdowns: {b!r} is not a column of the survey responses or of the customers "
                                  f"they link to{_hint(b, response_cols)}; columns: {', '.join(sorted(response_cols))}")
    for i, ct in enumerate(params.crosstabs, start=1):
        for key in ("row", "banner"):
            name = getattr(ct, key)
            if name not in response_cols:
                out.errors.append(f"crosstabs[{i}].{key}: {name!r} is not a column of the survey responses"
                                  f"{_hint(name, response_cols)}")
    if params.weighting is not None:
        for v in params.weighting.variables:
            if v not in customer_cols:
                out.errors.append(f"weighting.variables: {v!r} is not a customers column{_hint(v, customer_cols)}")
    for key in ("predictors", "exclude"):
        names = getattr(params.churn, key) or []
        for v in names:
            if v not in customer_cols:
                out.errors.append(f"churn.{key}: {v!r} is not a customers column{_hint(v, customer_cols)}")
    out.warnings += scope_warnings(store)
    tp_ids = [tp.id for tp in params.touchpoints]
    if params.delivery_touchpoint and params.delivery_touchpoint not in tp_ids:
        out.errors.append(f"delivery_touchpoint: {params.delivery_touchpoint!r} is not a journey touchpoint"
                          f"{_hint(params.delivery_touchpoint, tp_ids)}")
    events = [s.event for s in params.funnel]
    if params.abandonment is not None:
        for key in ("start", "end"):
            e = getattr(params.abandonment, key)
            if e not in events:
                out.errors.append(f"abandonment.{key}: {e!r} is not a funnel step{_hint(e, events)}")
    for s in params.funnel:
        if s.touchpoint and s.touchpoint not in tp_ids and tp_ids:
            out.errors.append(f"funnel step {s.event!r}: touchpoint {s.touchpoint!r} is not in the journey"
                              f"{_hint(s.touchpoint, tp_ids)}")
    seg = params.segmentation
    if store.has("customers") and seg.method == "rules" and seg.column not in customer_cols:
        if seg.column != "segment":
            out.errors.append(f"segmentation.column: {seg.column!r} is not a customers column"
                              f"{_hint(seg.column, customer_cols)}")
        else:
            out.warnings.append(Message("warn.no_segment", {}))
    # warnings: names the data never shows
    if events and store.has("web_events"):
        seen = set(_distinct(store, "web_events", "event"))
        for e in events:
            if e not in seen:
                out.warnings.append(Message("warn.funnel_unseen", {"event": e}))
    if tp_ids:
        seen = set(_distinct(store, "survey_responses", "touchpoint")) | set(_distinct(store, "interactions", "touchpoint"))
        if seen:
            for tp in params.touchpoints:
                if tp.id not in seen and not any(s.touchpoint == tp.id for s in params.funnel):
                    out.warnings.append(Message("warn.touchpoint_unseen", {"touchpoint": tp.label}))
    named = [b for b in [params.brand, *params.competitors] if b]
    if named and store.has("texts"):
        have = {str(b).lower() for b in _distinct(store, "texts", "brand")}
        if have:
            for b in named:
                if b.lower() not in have:
                    out.warnings.append(Message("warn.brand_unseen", {"brand": b,
                                                                      "seen": ", ".join(sorted(have)[:8])}))
    from cxlib.exceptions import ParameterError
    from cxlib.journey.goal import MappingGoal
    from cxlib.journey.questions import QuestionSettings

    try:
        QuestionSettings.from_mapping(params.journey_questions)
    except (ParameterError, ValueError, TypeError) as e:
        out.errors.append(f"journey_questions: {e}")
    try:
        goal = MappingGoal.from_mapping(params.goal)
        book = store.df("codebook") if store.has("codebook") else None
        for problem in goal.check(params, book):
            out.errors.append(f"goal: {problem}")
    except (ParameterError, ValueError, TypeError) as e:
        out.errors.append(f"goal: {e}")
    unknown = sorted(set(params.journey_paths) - {"steps", "lookback_days", "window_days"})
    if unknown:
        out.errors.append(f"journey_paths: unknown key(s) {unknown}; use steps, lookback_days, window_days")
    if out.errors:
        out.errors = [f"{src}: {e}" for e in out.errors]
    return out

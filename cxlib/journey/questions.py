"""The mapping method's analysis questions (step 7), each answered from the client's evidence.

::

    qa = answer_questions(ctx.store, ctx.params, ctx.period, coded=coded, verbatims=cur_verb)
    qa.answers    # one row per question: status, verdict, flagged scopes, what would answer it
    qa.evidence   # the evidence rows: metric, scope, value, base n, Wilson interval, thresholds

The questions (:data:`QUESTIONS`) ask whether **the customer** knows what to expect and when,
has the right information at the right time, knows whom to contact and where to go for help,
knows where to buy and where to complain; whether **each touchpoint** works as intended, is
logical and easy to follow, gives the right amount of information; whether **the
organisation** is efficient and effective, organised, and does not confuse the customer with
many steps or departments.

Each piece of evidence is a *problem rate* (higher = worse) with its base ``n`` and a Wilson
score interval (Wilson 1927), judged on declared thresholds (:data:`THRESHOLDS`,
:class:`~cxlib.journey.evidence.Threshold`): *yes* below ``ok_below``, *no* from ``bad_from``,
*partly* between; a rate on fewer than ``min_base`` cases gets no verdict. A question's
verdict combines its evidence (:func:`cxlib.journey.evidence.combine`): yes when all say yes,
no when none says yes and at least half say no, partly otherwise. A question without any
judged evidence is ``not_enough_evidence``, with what would answer it (``needs``).

The evidence, from whatever the data holds (everything is aggregated in the engine except the
coded texts, which the caller passes):

``negative_mentions`` (verbatims coded with codes tagged with the question)
    Share of the customer's texts (survey comments, customer turns of transcripts, reviews,
    mentions of the own brand) carrying at least one negative code tagged with the question,
    over all such texts (journey-level questions) or the touchpoint's texts (touchpoint
    questions). Tags: ``settings.code_questions``, else the codebook's ``question`` column
    (several questions separated by ``;``).
``late_delivery_rate`` (orders) -> knows what to expect
    Late deliveries / deliveries ordered in the period (orders with a ``late`` flag and, when
    the column exists, ``delivery_days``).
``repeat_contact_rate`` (interactions) -> efficient; by reason -> the reason's question
    Contacts followed by another contact of the same customer within ``repeat_days`` /
    contacts whose follow-up window ends before the data does (first-contact resolution is
    its complement). By ``reason`` when the column exists: order-status reasons bear on the
    right information at the right time, complaints on knowing where to complain
    (``settings.reason_questions``).
``transfer_rate`` (interactions.transfers or .transferred) -> whom to contact, organised, not confusing
    Contacts transferred between departments at least once / contacts with a known count;
    per touchpoint as detail.
``unresolved_rate`` (interactions.resolved) -> efficient; per touchpoint -> works as intended
    Unresolved contacts / contacts with a known outcome.
``high_effort_share`` (survey_responses.ces, 1-7, higher = easier) -> easy to follow (per touchpoint), not confusing (all)
    Responses with CES at or below ``effort_max`` / responses with a CES.
``drop_off`` (web_events, params funnel steps with a touchpoint) -> works as intended
    Sessions reaching the touchpoint's first step that never reach the step after its last
    one / sessions reaching its first step (sessions are counted at their deepest step, as
    in :func:`cxlib.data.engine.funnel`).
``help_detour_share`` (web_events) -> the right amount of information
    Sessions whose next page after one of the touchpoint's steps is a help or information
    page (``settings.help_events``) / sessions reaching the touchpoint: the step did not tell
    them what they needed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import ibis
import numpy as np
import pandas as pd

from cxlib.data.io import Store
from cxlib.data.params import Params
from cxlib.exceptions import ParameterError
from cxlib.journey import evidence as ev_
from cxlib.journey.evidence import (
    ANSWERED,
    NO,
    NOT_ENOUGH,
    PARTLY,
    YES,
    Threshold,
    as_period,
    columns_of,
)

__all__ = ["Question", "QUESTIONS", "QUESTION_IDS", "THRESHOLDS", "QuestionSettings", "QuestionAnswers",
           "ANSWER_COLUMNS", "EVIDENCE_COLUMNS", "code_questions", "answer_questions", "touchpoint_verdicts"]


class Question(NamedTuple):
    """One of the method's questions: its id, whom it is about, and the data that can answer it."""

    id: str
    group: str  # customer | touchpoint | organisation
    needs: tuple[str, ...]


_CODES = "verbatims coded with codes tagged with the question"
QUESTIONS: tuple[Question, ...] = (
    Question("knows_what_to_expect", "customer", ("orders.late", _CODES)),
    Question("right_information", "customer", ("interactions.reason", _CODES)),
    Question("knows_whom_to_contact", "customer", ("interactions.transfers", _CODES)),
    Question("knows_where_to_buy_and_complain", "customer", ("interactions.reason", _CODES)),
    Question("works_as_intended", "touchpoint",
             ("interactions.resolved", "web_events with funnel touchpoints", _CODES)),
    Question("easy_to_follow", "touchpoint", ("survey_responses.ces", _CODES)),
    Question("right_amount_of_information", "touchpoint", ("web_events with help pages", _CODES)),
    Question("efficient", "organisation", ("interactions.customer_id", "interactions.resolved", _CODES)),
    Question("organised", "organisation", ("interactions.transfers", _CODES)),
    Question("not_confusing", "organisation", ("interactions.transfers", "survey_responses.ces", _CODES)),
)
QUESTION_IDS: tuple[str, ...] = tuple(q.id for q in QUESTIONS)
_GROUP = {q.id: q.group for q in QUESTIONS}

#: declared thresholds of each problem rate: (yes below, no from); ``metric@touchpoint`` applies
#: to the rate within one touchpoint when it differs from the journey-wide one
THRESHOLDS: dict[str, Threshold] = {
    "negative_mentions": Threshold(0.05, 0.10),
    "negative_mentions@touchpoint": Threshold(0.10, 0.20),
    "late_delivery_rate": Threshold(0.10, 0.25),
    "repeat_contact_rate": Threshold(0.10, 0.20),
    "transfer_rate": Threshold(0.10, 0.20),
    "unresolved_rate": Threshold(0.10, 0.25),
    "high_effort_share": Threshold(0.30, 0.45),
    "drop_off": Threshold(0.30, 0.50),
    "help_detour_share": Threshold(0.08, 0.15),
}
#: metric -> the questions it answers at journey level ("all"), per touchpoint (in the
#: verdict), and per touchpoint shown as detail only
_METRIC_QUESTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "late_delivery_rate": {"all": ("knows_what_to_expect",)},
    "repeat_contact_rate": {"all": ("efficient",)},
    "transfer_rate": {"all": ("knows_whom_to_contact", "organised", "not_confusing"),
                      "detail": ("knows_whom_to_contact", "organised", "not_confusing")},
    "unresolved_rate": {"all": ("efficient",), "touchpoint": ("works_as_intended",)},
    "high_effort_share": {"all": ("not_confusing",), "touchpoint": ("easy_to_follow",)},
    "drop_off": {"touchpoint": ("works_as_intended",)},
    "help_detour_share": {"touchpoint": ("right_amount_of_information",)},
}
#: contact reasons (regular expressions, case-insensitive) -> the questions their repeat rate answers
DEFAULT_REASON_QUESTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"order.?status|where.?is.?my.?order|wismo|tracking|delivery.?status|order.?update", ("right_information",)),
    (r"complain", ("knows_where_to_buy_and_complain",)),
)
DEFAULT_HELP_EVENTS = ("help_page", "help", "faq", "returns_policy", "contact_page", "contact_us", "support_page")

ANSWER_COLUMNS = ["question", "group", "status", "verdict", "n_evidence", "n_yes", "n_partly", "n_no",
                  "flagged_metrics", "flagged_scopes", "needs", "question_key", "answer_key"]
EVIDENCE_COLUMNS = ["question", "group", "metric", "scope_kind", "scope", "detail", "value", "k", "n",
                    "ci_low", "ci_high", "ok_below", "bad_from", "verdict", "decisive", "small_base",
                    "in_verdict", "source"]


@dataclass(frozen=True)
class QuestionSettings:
    """How the questions are answered (params key ``journey_questions``; every field optional).

    repeat_days : float
        A contact followed by another within this many days is a repeat contact.
    effort_max : int
        CES (1-7, higher = easier) at or below this is high effort.
    help_events : tuple of str
        Web events that are help or information pages.
    code_questions : mapping code -> questions, or None
        Which codes bear on which question; None reads the codebook's ``question`` column.
    reason_questions : mapping reason -> questions, or None
        Which contact reasons' repeat rate answers which question; None matches the reasons
        against :data:`DEFAULT_REASON_QUESTIONS`.
    thresholds : mapping metric -> (ok_below, bad_from)
        Overrides of :data:`THRESHOLDS`.
    min_base : int or None
        Smallest base judged; None uses ``params.thresholds.min_base``.
    """

    repeat_days: float = 7.0
    effort_max: int = 3
    help_events: tuple[str, ...] = DEFAULT_HELP_EVENTS
    code_questions: Mapping[str, tuple[str, ...]] | None = None
    reason_questions: Mapping[str, tuple[str, ...]] | None = None
    thresholds: Mapping[str, Threshold] = field(default_factory=dict)
    min_base: int | None = None

    @classmethod
    def from_mapping(cls, raw: Mapping | None, source: str = "params journey_questions") -> QuestionSettings:
        """Settings from a params mapping; unknown keys, question ids or metrics raise ParameterError."""
        if not raw:
            return cls()
        raw = dict(raw)
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ParameterError(f"{source}: unknown key(s) {unknown}; known keys are {sorted(known)}.")
        for key in ("code_questions", "reason_questions"):
            if raw.get(key) is not None:
                raw[key] = {str(k): _question_list(v, f"{source}.{key}.{k}") for k, v in raw[key].items()}
        if "thresholds" in raw:
            bad = sorted(set(raw["thresholds"]) - set(THRESHOLDS))
            if bad:
                raise ParameterError(f"{source}.thresholds: unknown metric(s) {bad}; use {sorted(THRESHOLDS)}.")
            th = {}
            for k, v in raw["thresholds"].items():
                if not (isinstance(v, Sequence) and len(v) == 2 and float(v[0]) <= float(v[1])):
                    raise ParameterError(f"{source}.thresholds.{k}: give [ok_below, bad_from] with ok_below <= bad_from.")
                th[k] = Threshold(float(v[0]), float(v[1]))
            raw["thresholds"] = th
        if "help_events" in raw:
            raw["help_events"] = tuple(str(e) for e in raw["help_events"])
        return cls(**raw)

    def threshold(self, metric: str, scope_kind: str = "all") -> Threshold:
        """The thresholds of ``metric`` (``metric@scope_kind`` first, then ``metric``)."""
        for key in (f"{metric}@{scope_kind}", metric):
            if key in self.thresholds:
                return self.thresholds[key]
            if key in THRESHOLDS:
                return THRESHOLDS[key]
        raise KeyError(metric)


class QuestionAnswers(NamedTuple):
    """The answers (one row per question, :data:`ANSWER_COLUMNS`) and their evidence
    (:data:`EVIDENCE_COLUMNS`); ``answers.attrs["notes"]`` says what could not be used and why."""

    answers: pd.DataFrame
    evidence: pd.DataFrame


def _question_list(value, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else list(value or [])
    out = tuple(q.strip() for item in items for q in re.split(r"[;,|]", str(item)) if q.strip())
    bad = [q for q in out if q not in QUESTION_IDS]
    if bad:
        raise ParameterError(f"{where}: unknown question(s) {bad}; use {list(QUESTION_IDS)}.")
    return out


def code_questions(codebook: pd.DataFrame | None, settings: QuestionSettings | None = None) -> dict[str, tuple[str, ...]]:
    """Code -> the questions it bears on: ``settings.code_questions``, else the codebook's
    ``question`` column (questions separated by ``;``, ``,`` or ``|``; unknown ids left out and
    listed in the result's ``"_unknown"`` entry)."""
    settings = settings or QuestionSettings()
    if settings.code_questions is not None:
        return {k: tuple(v) for k, v in settings.code_questions.items()}
    if codebook is None or "question" not in codebook or "code" not in codebook:
        return {}
    out: dict[str, tuple[str, ...]] = {}
    unknown: list[str] = []
    for code, cell in zip(codebook["code"], codebook["question"], strict=True):
        if cell is None or (isinstance(cell, float) and np.isnan(cell)) or pd.isna(cell):
            continue
        qs = [q.strip() for q in re.split(r"[;,|]", str(cell)) if q.strip()]
        unknown += [q for q in qs if q not in QUESTION_IDS]
        if keep := tuple(q for q in qs if q in QUESTION_IDS):
            out[str(code)] = keep
    if unknown:
        out["_unknown"] = tuple(sorted(set(unknown)))
    return out


# --- evidence rows ---------------------------------------------------------------------------
def _rows(question_ids, metric: str, scope_kind: str, scope: str, k, n, *, settings: QuestionSettings,
          min_base: int, confidence: float, in_verdict: bool, source: str, detail: str | None = None) -> list[dict]:
    """Evidence rows of one rate ``k / n`` for each question it bears on."""
    k, n = float(k), float(n)
    value = k / n if n > 0 else np.nan
    lo, hi = (float(x[0]) for x in ev_.wilson(k, n, confidence))
    th = settings.threshold(metric, scope_kind)
    small = n < min_base
    verdict = None if small else ev_.judge(value, th)
    return [{
        "question": q, "group": _GROUP[q], "metric": metric, "scope_kind": scope_kind, "scope": scope,
        "detail": detail, "value": value, "k": int(k), "n": int(n), "ci_low": lo, "ci_high": hi,
        "ok_below": th.ok_below, "bad_from": th.bad_from, "verdict": verdict,
        "decisive": ev_.decisive(lo, hi, verdict, th), "small_base": bool(small), "in_verdict": in_verdict,
        "source": source,
    } for q in question_ids]


def _in_period(t: ibis.Table, col: str, period) -> ibis.Table:
    if period is None or getattr(period, "start", None) is None or col not in t.columns:
        return t
    return t.filter((t[col] >= period.start) & (t[col] < period.end))


def _reason_questions(reasons, settings: QuestionSettings) -> dict[str, tuple[str, ...]]:
    if settings.reason_questions is not None:
        return {r: tuple(settings.reason_questions.get(r, ())) for r in reasons}
    out = {}
    for r in reasons:
        qs: tuple[str, ...] = ()
        for pattern, questions in DEFAULT_REASON_QUESTIONS:
            if re.search(pattern, str(r), re.IGNORECASE):
                qs += tuple(q for q in questions if q not in qs)
        out[r] = qs
    return out


def contact_counts(store: Store, period, repeat_days: float = 7.0) -> pd.DataFrame | None:
    """Per (touchpoint, reason) of the period's contacts, counted in the engine; None without interactions.

    Columns: touchpoint, reason (``"(all)"`` / None when the column is missing), contacts,
    repeat_n (contacts with a customer whose ``repeat_days`` follow-up window ends before the
    data does), repeat_k (those followed by another contact of the customer within
    ``repeat_days``), resolved_n, unresolved_k, transfer_n, transfer_k. A count whose column
    is missing is NA.
    """
    cols = columns_of(store, "interactions")
    if cols is None or "interaction_time" not in cols:
        return None
    period = as_period(period)
    i = store.table("interactions")
    if "customer_id" in cols:
        last = i.aggregate(m=i.interaction_time.max()).to_pandas()["m"].iloc[0]
        order = [i.interaction_time] + ([i.interaction_id] if "interaction_id" in cols else [])
        i = i.mutate(_next=i.interaction_time.lead().over(group_by=i.customer_id, order_by=order))
        secs = int(repeat_days * 86400)
        observable = i.customer_id.notnull() & (
            i.interaction_time.epoch_seconds() <= int(pd.Timestamp(last).timestamp()) - secs)
        repeat = observable & i._next.notnull() & (
            (i._next.epoch_seconds() - i.interaction_time.epoch_seconds()) <= secs)
        i = i.mutate(_obs=observable.cast("int64"), _rep=repeat.fill_null(False).cast("int64"))
    i = _in_period(i, "interaction_time", period)
    tp = i.touchpoint.fill_null("(none)") if "touchpoint" in cols else ibis.literal("(all)")
    reason = i.reason.fill_null("(none)") if "reason" in cols else ibis.literal("(all)")
    i = i.mutate(_tp=tp, _reason=reason)
    aggs = {"contacts": i.count()}
    if "customer_id" in cols:
        aggs.update(repeat_n=i._obs.sum(), repeat_k=i._rep.sum())
    if "resolved" in cols:
        aggs.update(resolved_n=i.resolved.notnull().cast("int64").sum(),
                    unresolved_k=(~i.resolved).cast("int64").sum())
    if "transfers" in cols:
        aggs.update(transfer_n=i.transfers.notnull().cast("int64").sum(),
                    transfer_k=(i.transfers > 0).cast("int64").sum())
    elif "transferred" in cols:
        aggs.update(transfer_n=i.transferred.notnull().cast("int64").sum(),
                    transfer_k=i.transferred.cast("int64").sum())
    out = i.group_by(["_tp", "_reason"]).aggregate(**aggs).to_pandas()
    out = out.rename(columns={"_tp": "touchpoint", "_reason": "reason"})
    for c in ("repeat_n", "repeat_k", "resolved_n", "unresolved_k", "transfer_n", "transfer_k"):
        out[c] = pd.to_numeric(out[c], errors="coerce").fillna(0).astype("Int64") if c in out else pd.NA
    return out


def _contact_evidence(store, period, settings, min_base, conf, notes) -> list[dict]:
    counts = contact_counts(store, period, settings.repeat_days)
    if counts is None:
        notes.append("interactions: not in the data (repeat contacts, transfers, resolution)")
        return []
    if counts.empty:
        notes.append("interactions: no contacts in the period")
        return []
    kw = dict(settings=settings, min_base=min_base, confidence=conf, source="interactions")
    rows: list[dict] = []
    total = counts.sum(numeric_only=True)
    days = f"{settings.repeat_days:g}"
    if counts["repeat_n"].notna().any():
        rows += _rows(_METRIC_QUESTIONS["repeat_contact_rate"]["all"], "repeat_contact_rate", "all", "all",
                      total["repeat_k"], total["repeat_n"], in_verdict=True, detail=days, **kw)
        reasons = [r for r in counts["reason"].unique() if r not in ("(all)", "(none)")]
        by_reason = counts.groupby("reason")[["repeat_k", "repeat_n"]].sum()
        for r, qs in _reason_questions(reasons, settings).items():
            if qs:
                rows += _rows(qs, "repeat_contact_rate", "reason", r, by_reason.loc[r, "repeat_k"],
                              by_reason.loc[r, "repeat_n"], in_verdict=True, detail=days, **kw)
        if not reasons:
            notes.append("interactions.reason: missing, so repeat contacts are not split by reason")
    else:
        notes.append("interactions.customer_id: missing, so repeat contacts cannot be counted")
    by_tp = counts.groupby("touchpoint").sum(numeric_only=True)
    by_tp = by_tp.drop(index=[x for x in ("(all)", "(none)") if x in by_tp.index])
    if counts["resolved_n"].notna().any():
        rows += _rows(_METRIC_QUESTIONS["unresolved_rate"]["all"], "unresolved_rate", "all", "all",
                      total["unresolved_k"], total["resolved_n"], in_verdict=True, **kw)
        for tp, r in by_tp.iterrows():
            rows += _rows(_METRIC_QUESTIONS["unresolved_rate"]["touchpoint"], "unresolved_rate", "touchpoint", tp,
                          r["unresolved_k"], r["resolved_n"], in_verdict=True, **kw)
    else:
        notes.append("interactions.resolved: missing (resolution rates)")
    if counts["transfer_n"].notna().any():
        rows += _rows(_METRIC_QUESTIONS["transfer_rate"]["all"], "transfer_rate", "all", "all",
                      total["transfer_k"], total["transfer_n"], in_verdict=True, **kw)
        for tp, r in by_tp.iterrows():
            rows += _rows(_METRIC_QUESTIONS["transfer_rate"]["detail"], "transfer_rate", "touchpoint", tp,
                          r["transfer_k"], r["transfer_n"], in_verdict=False, **kw)
    else:
        notes.append("interactions.transfers: missing (transfers between departments)")
    return rows


def _late_evidence(store, period, settings, min_base, conf, notes) -> list[dict]:
    cols = columns_of(store, "orders")
    if cols is None or "late" not in cols or "order_time" not in cols:
        notes.append("orders.late: missing (deliveries on time)")
        return []
    o = _in_period(store.table("orders"), "order_time", as_period(period))
    o = o.filter(o.late.notnull())
    if "delivery_days" in cols:
        o = o.filter(o.delivery_days.notnull())
    row = o.aggregate(n=o.count(), k=o.late.cast("int64").sum()).to_pandas().iloc[0]
    if not row["n"]:
        notes.append("orders: no deliveries in the period")
        return []
    return _rows(_METRIC_QUESTIONS["late_delivery_rate"]["all"], "late_delivery_rate", "all", "all",
                 row["k"] or 0, row["n"], settings=settings, min_base=min_base, confidence=conf,
                 in_verdict=True, source="orders")


def _effort_evidence(store, period, settings, min_base, conf, notes) -> list[dict]:
    cols = columns_of(store, "survey_responses")
    if cols is None or "ces" not in cols:
        notes.append("survey_responses.ces: missing (customer effort)")
        return []
    r = _in_period(store.table("survey_responses"), "response_time", as_period(period))
    r = r.filter(r.ces.notnull())
    tp = r.touchpoint.fill_null("(none)") if "touchpoint" in cols else ibis.literal("(none)")
    r = r.mutate(tp=tp, high=(r.ces <= settings.effort_max).cast("int64"))
    g = r.group_by("tp").aggregate(n=r.count(), k=r.high.sum()).to_pandas()
    if g.empty:
        notes.append("survey_responses: no effort scores in the period")
        return []
    kw = dict(settings=settings, min_base=min_base, confidence=conf, source="survey_responses",
              detail=str(settings.effort_max))
    rows = _rows(_METRIC_QUESTIONS["high_effort_share"]["all"], "high_effort_share", "all", "all",
                 g["k"].sum(), g["n"].sum(), in_verdict=True, **kw)
    for t in g.sort_values("tp").itertuples():
        if t.tp != "(none)":
            rows += _rows(_METRIC_QUESTIONS["high_effort_share"]["touchpoint"], "high_effort_share", "touchpoint",
                          t.tp, t.k, t.n, in_verdict=True, **kw)
    return rows


def web_counts(store: Store, params: Params, period, help_events: Sequence[str] = DEFAULT_HELP_EVENTS
               ) -> pd.DataFrame | None:
    """Per funnel touchpoint in the period: sessions reaching it, getting past it, and detouring
    to a help page right after one of its steps; counted in the engine. None without web events
    or funnel touchpoints.

    Columns: touchpoint, steps, sessions, sessions_through (NA when its last step ends the
    funnel), detours.
    """
    cols = columns_of(store, "web_events")
    steps = [s.event for s in params.funnel]
    mapped = list(dict.fromkeys(s.touchpoint for s in params.funnel if s.touchpoint))
    if cols is None or not {"session_id", "event_time", "event"} <= cols or not mapped:
        return None
    w = _in_period(store.table("web_events"), "event_time", as_period(period))
    w = w.mutate(_next=w.event.lead().over(group_by=w.session_id, order_by=[w.event_time, w.event]))
    order = ibis.cases(*[(w.event == e, i + 1) for i, e in enumerate(steps)], else_=0)
    help_next = w._next.isin(list(help_events)).fill_null(False)
    aggs = {"depth": order.max()}
    for j, tp in enumerate(mapped):
        tp_steps = [s.event for s in params.funnel if s.touchpoint == tp]
        aggs[f"d{j}"] = (w.event.isin(tp_steps) & help_next).cast("int64").max()
    per = w.group_by("session_id").aggregate(**aggs)
    out = {}
    for j, tp in enumerate(mapped):
        idx = [i for i, s in enumerate(params.funnel, start=1) if s.touchpoint == tp]
        lo, hi = min(idx), max(idx) + 1
        out[f"s{j}"] = (per.depth >= lo).cast("int64").sum()
        out[f"t{j}"] = (per.depth >= hi).cast("int64").sum()
        out[f"h{j}"] = ((per.depth >= lo) & (per[f"d{j}"] == 1)).cast("int64").sum()
    row = per.aggregate(**out).to_pandas().iloc[0].fillna(0)
    rows = []
    for j, tp in enumerate(mapped):
        idx = [i for i, s in enumerate(params.funnel, start=1) if s.touchpoint == tp]
        last = max(idx) == len(steps)
        rows.append({"touchpoint": tp, "steps": " > ".join(steps[i - 1] for i in idx),
                     "sessions": int(row[f"s{j}"]), "sessions_through": pd.NA if last else int(row[f"t{j}"]),
                     "detours": int(row[f"h{j}"])})
    return pd.DataFrame(rows)


def _web_evidence(store, params, period, settings, min_base, conf, notes) -> list[dict]:
    counts = web_counts(store, params, period, settings.help_events)
    if counts is None:
        notes.append("web_events with funnel steps mapped to touchpoints: missing (drop-off, help detours)")
        return []
    rows: list[dict] = []
    kw = dict(settings=settings, min_base=min_base, confidence=conf, source="web_events", in_verdict=True)
    for r in counts.itertuples():
        if r.sessions == 0:
            continue
        if not pd.isna(r.sessions_through):
            rows += _rows(_METRIC_QUESTIONS["drop_off"]["touchpoint"], "drop_off", "touchpoint", r.touchpoint,
                          r.sessions - r.sessions_through, r.sessions, detail=r.steps, **kw)
        rows += _rows(_METRIC_QUESTIONS["help_detour_share"]["touchpoint"], "help_detour_share", "touchpoint",
                      r.touchpoint, r.detours, r.sessions, detail=r.steps, **kw)
    if not rows:
        notes.append("web_events: no sessions at the funnel touchpoints in the period")
    return rows


def _texts(verbatims: pd.DataFrame, params: Params, period) -> pd.DataFrame:
    """The customer's own texts: non-empty, customer turns only, own brand only, in the period."""
    v = verbatims
    keep = v["text"].notna() & (v["text"].astype("str").str.strip().str.len() > 0) if "text" in v \
        else pd.Series(True, index=v.index)
    if "speaker" in v:
        keep &= v["speaker"].isna() | (v["speaker"].astype("str").str.lower() == "customer")
    if "brand" in v and params.brand:
        keep &= v["brand"].isna() | (v["brand"].astype("str").str.casefold() == params.brand.casefold())
    if period is not None and getattr(period, "start", None) is not None and "verbatim_time" in v:
        t = pd.to_datetime(v["verbatim_time"], errors="coerce")
        keep &= (t >= period.start) & (t < period.end)
    cols = ["verbatim_id"] + (["touchpoint"] if "touchpoint" in v else [])
    out = v.loc[keep, cols].astype({"verbatim_id": "str"})
    if "touchpoint" not in out:
        out["touchpoint"] = None
    return out


def _mention_evidence(coded, verbatims, codebook, params, period, settings, min_base, conf, notes) -> list[dict]:
    if coded is None or verbatims is None:
        notes.append("coded verbatims: not given (mentions of the problems each question is about)")
        return []
    tags = code_questions(codebook, settings)
    if tags.pop("_unknown", None):
        notes.append("codebook.question: unknown question ids left out")
    if not tags:
        notes.append("codebook.question: no code is tagged with a question (give journey_questions.code_questions)")
        return []
    base = _texts(verbatims, params, period)
    if base.empty:
        notes.append("verbatims: no customer texts in the period")
        return []
    neg = coded
    if "valence" in coded:
        neg = coded[coded["valence"].astype("str") == "negative"]
    neg = neg.astype({"verbatim_id": "str"})
    neg = neg[neg["verbatim_id"].isin(base["verbatim_id"])]
    kw = dict(settings=settings, min_base=min_base, confidence=conf, source="verbatims", in_verdict=True)
    rows: list[dict] = []
    for q in QUESTION_IDS:
        codes = sorted(c for c, qs in tags.items() if q in qs)
        if not codes:
            continue
        hit = set(neg.loc[neg["code"].isin(codes), "verbatim_id"])
        flag = base["verbatim_id"].isin(hit)
        detail = ";".join(codes)
        if _GROUP[q] == "touchpoint":
            g = flag.groupby(base["touchpoint"]).agg(["sum", "size"])
            for tp, r in g.iterrows():
                rows += _rows((q,), "negative_mentions", "touchpoint", str(tp), r["sum"], r["size"],
                              detail=detail, **kw)
        else:
            rows += _rows((q,), "negative_mentions", "all", "all", flag.sum(), len(flag), detail=detail, **kw)
    return rows


# --- the answers -----------------------------------------------------------------------------
def answer_questions(store: Store | None, params: Params, period, *, coded: pd.DataFrame | None = None,
                     verbatims: pd.DataFrame | None = None, codebook: pd.DataFrame | None = None,
                     settings: QuestionSettings | None = None) -> QuestionAnswers:
    """Answer the mapping method's questions for one period from whatever evidence the data holds.

    Parameters
    ----------
    store : Store or None
        The run's data; missing tables or columns leave their evidence out (listed in
        ``answers.attrs["notes"]``), never raise.
    params : Params
        The funnel (touchpoints of its steps), the brand, ``thresholds.min_base`` and
        ``thresholds.confidence``.
    period : Period or str or None
        The reporting period; None uses all the data.
    coded, verbatims : DataFrame, optional
        :func:`cxlib.voice.coding.auto_code` output and the verbatims it coded (verbatim_id,
        text, touchpoint, speaker, brand, verbatim_time): the evidence of ``negative_mentions``.
    codebook : DataFrame, optional
        Codes with a ``question`` column; default the store's codebook.
    settings : QuestionSettings, optional
        Thresholds, tags and windows (defaults: :class:`QuestionSettings`).

    Returns
    -------
    QuestionAnswers
        ``answers``: one row per question of :data:`QUESTIONS`, in that order - question,
        group, status (``answered`` / ``not_enough_evidence``), verdict (yes / partly / no,
        None when not answered), n_evidence (judged evidence rows in the verdict), n_yes,
        n_partly, n_no, flagged_metrics and flagged_scopes (the metrics, and the touchpoints or
        reasons, of the rows judged *no*, ``;``-separated), needs (the data that would answer
        it, ``;``-separated), question_key and answer_key (string keys of
        ``assets/strings/journey_method.yml``). ``evidence``: :data:`EVIDENCE_COLUMNS`, one row
        per (question, metric, scope): value = k / n with the Wilson interval at
        ``params.thresholds.confidence``, the thresholds and the row's verdict (None on a base
        below min_base, flagged ``small_base``); ``in_verdict`` False rows are detail shown
        beside the answer (transfers per touchpoint).

    Examples
    --------
    >>> qa = answer_questions(ctx.store, ctx.params, ctx.period, coded=coded, verbatims=verb)  # doctest: +SKIP
    >>> qa.answers.set_index("question").loc["right_information", "verdict"]  # doctest: +SKIP
    'no'
    """
    settings = settings or QuestionSettings()
    period = as_period(period)
    min_base = settings.min_base or params.thresholds.min_base
    conf = params.thresholds.confidence
    if codebook is None and columns_of(store, "codebook") is not None:
        codebook = store.df("codebook")
    notes: list[str] = []
    args = (settings, min_base, conf, notes)
    rows = (_contact_evidence(store, period, *args) + _late_evidence(store, period, *args)
            + _effort_evidence(store, period, *args) + _web_evidence(store, params, period, *args)
            + _mention_evidence(coded, verbatims, codebook, params, period, *args))
    evidence = pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)
    order = {q: i for i, q in enumerate(QUESTION_IDS)}
    evidence = evidence.sort_values(["question", "in_verdict", "metric", "scope_kind", "scope"],
                                    key=lambda s: s.map(order) if s.name == "question" else s,
                                    ascending=[True, False, True, True, True], kind="stable").reset_index(drop=True)
    answers = []
    for q in QUESTIONS:
        ev = evidence[(evidence["question"] == q.id) & evidence["in_verdict"] & evidence["verdict"].notna()]
        verdict = ev_.combine(ev["verdict"])
        bad = ev[ev["verdict"] == NO]
        answers.append({
            "question": q.id, "group": q.group, "status": ANSWERED if verdict else NOT_ENOUGH,
            "verdict": verdict, "n_evidence": len(ev), "n_yes": int((ev["verdict"] == YES).sum()),
            "n_partly": int((ev["verdict"] == PARTLY).sum()), "n_no": int((ev["verdict"] == NO).sum()),
            "flagged_metrics": ";".join(dict.fromkeys(bad["metric"])),
            "flagged_scopes": ";".join(dict.fromkeys(bad.loc[bad["scope_kind"] != "all", "scope"])),
            "needs": ";".join(q.needs),
            "question_key": f"jq.{q.id}.question", "answer_key": f"jq.{q.id}.{verdict or 'none'}",
        })
    out = pd.DataFrame(answers, columns=ANSWER_COLUMNS)
    out["status"] = out["status"].astype("str")
    out["verdict"] = _none_for_missing(out["verdict"])
    evidence["verdict"] = _none_for_missing(evidence["verdict"])
    out.attrs.update(period=None if period is None else period.label, min_base=min_base, confidence=conf,
                     notes=notes)
    return QuestionAnswers(out, evidence)


def _none_for_missing(s: pd.Series) -> pd.Series:
    """An object column holding None (not NaN) where there is no value."""
    return pd.Series([v if isinstance(v, str) else None for v in s], index=s.index, dtype=object)


def touchpoint_verdicts(evidence: pd.DataFrame) -> pd.DataFrame:
    """Per touchpoint, the combined verdict of each touchpoint question (wide: one column per
    question; None where the touchpoint has no judged evidence), from ``answer_questions().evidence``."""
    ev = evidence[(evidence["group"] == "touchpoint") & (evidence["scope_kind"] == "touchpoint")
                  & evidence["in_verdict"] & evidence["verdict"].notna()]
    cols = [q.id for q in QUESTIONS if q.group == "touchpoint"]
    if ev.empty:
        return pd.DataFrame(columns=["touchpoint", *cols])
    wide = ev.groupby(["scope", "question"])["verdict"].agg(ev_.combine).unstack()
    wide = wide.reindex(columns=cols).rename_axis(index="touchpoint", columns=None).reset_index()
    return wide.astype(object).where(wide.notna(), None)

"""The report's analyses: what each needs, and how it is computed from the run's data.

Each entry of :data:`REGISTRY` names an analysis, the report section that shows it, its needs
(:class:`cxlib.report.plan.Needs`, checked against the client's data before anything runs) and a
``compute(ctx)`` function that calls the analysis modules (``quant``, ``voice``, ``journey``,
``decide``) and returns data. Results are computed once per run (:meth:`RunContext.result`);
the SWOT, the recommendations and the summary read them instead of recomputing, and draw only
on the analyses that ran.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxlib.data import engine, periods
from cxlib.report.plan import Needs

__all__ = ["Analysis", "REGISTRY", "available_metrics", "breakdown_columns"]


@dataclass(frozen=True)
class Analysis:
    name: str
    section: str
    needs: Needs
    compute: Callable


REGISTRY: dict[str, Analysis] = {}


def analysis(name: str, section: str, **needs):
    """Register ``compute(ctx)`` as analysis ``name`` of ``section`` with its needs."""
    def wrap(fn):
        REGISTRY[name] = Analysis(name, section, Needs(**needs), fn)
        return fn
    return wrap


# --- shared pulls -----------------------------------------------------------------------------


def _kw(ctx) -> dict:
    th = ctx.params.thresholds
    return {"confidence": th.confidence, "min_base": th.min_base}


def _resp(ctx) -> pd.DataFrame:
    """Survey responses of the reporting and previous periods (``period`` = their labels)."""
    return ctx.data("resp", lambda: engine.responses(ctx.store, ctx.window))


def _cur(ctx) -> pd.DataFrame:
    r = _resp(ctx)
    return r[r["period"] == ctx.period.label]


def _score_counts(ctx, by: tuple[str, ...]) -> pd.DataFrame:
    """Score counts of every dated response per period unit (and ``by``), summed in the engine."""
    unit = periods.unit_of(ctx.period, ctx.params.period_unit)
    return ctx.data(("score_counts", by), lambda: engine.score_counts(ctx.store, by, None, unit))


def _has_scores(counts: pd.DataFrame, metric: str) -> bool:
    """Whether the counts hold any given score for ``metric`` (nps, csat, csat_mean, ces)."""
    col = {"nps": "nps", "csat": "csat", "csat_mean": "csat", "ces": "ces"}[metric]
    return f"{col}_n" in counts and bool(counts[f"{col}_n"].sum() > 0)


def _texts(ctx) -> pd.DataFrame:
    """Customer texts of the reporting period (all texts when the period is the whole file)."""
    return ctx.data("texts", lambda: engine.verbatims(ctx.store, [ctx.period]))


def _texts_all(ctx) -> pd.DataFrame:
    unit = periods.unit_of(ctx.period, ctx.params.period_unit)
    return ctx.data("texts_all", lambda: engine.verbatims(ctx.store, None, unit))


def available_metrics(frame: pd.DataFrame) -> list[str]:
    """The score metrics a survey frame has values for: nps, csat (top-2-box), csat_mean, ces."""
    out = []
    for col, keys in (("nps", ["nps"]), ("csat", ["csat", "csat_mean"]), ("ces", ["ces"])):
        if col in frame and pd.to_numeric(frame[col], errors="coerce").notna().any():
            out += keys
    return out


#: columns never offered as breakdowns (ids, scores, free text, times)
_NOT_ATTRIBUTES = {"response_id", "customer_id", "response_time", "nps", "csat", "ces", "importance",
                   "comment", "language", "period", "nps_group", "recommend", "survey_type", "touchpoint"}


def breakdown_columns(ctx, frame: pd.DataFrame) -> list[str]:
    """The columns to break scores down by: params ``breakdowns`` (checked before the run), or every
    attribute the data has with 2 to 30 groups (mapped or extra columns; not ids, scores or text)."""
    if ctx.params.breakdowns is not None:
        return [b for b in ctx.params.breakdowns if b in frame.columns]
    out = []
    for col in frame.columns:
        if col in _NOT_ATTRIBUTES or col.startswith("_"):
            continue
        s = frame[col]
        if not (s.dtype == object or pd.api.types.is_string_dtype(s)):
            continue
        k = s.nunique(dropna=True)
        if 2 <= k <= 30 and s.notna().mean() >= 0.5:
            out.append(col)
    return out


# --- data and method --------------------------------------------------------------------------


@analysis("sources", "data")
def _sources(ctx):
    """Every input: rows, span, rows left out, link to the CRM; the loader's notes; blank scores."""
    return {"quality": engine.data_quality(ctx.store), "notes": engine.load_notes(ctx.store),
            "blank": engine.blank_scores(ctx.store)}


@analysis("coverage", "data")
def _coverage(ctx):
    """How many responses and texts the period holds (the bases of the report)."""
    out = {"responses": 0, "relationship": 0, "transactional": 0, "texts": 0, "customers": 0}
    if ctx.store.has("customers"):
        out["customers"] = int(ctx.store.table("customers").count().to_pyarrow().as_py())
    if ctx.store.has("survey_responses"):
        cur = _cur(ctx)
        out["responses"] = len(cur)
        from cxlib.quant.metrics import in_scope

        nps = (pd.to_numeric(cur.loc[in_scope(cur, "relationship"), "nps"], errors="coerce").dropna() if "nps" in cur
               else pd.Series(dtype=float))
        if len(nps):
            out["passives"] = (float(nps.between(7, 8).mean()), int(len(nps)))
        if "survey_type" in cur:
            out["relationship"] = int((cur["survey_type"] == "relationship").sum())
            out["transactional"] = int((cur["survey_type"] == "transactional").sum())
    if ctx.store.has("texts"):
        out["texts"] = len(_texts(ctx))
    return out


# --- who the customers are --------------------------------------------------------------------


@analysis("customer_profile", "customers", tables=("customers",))
def _customer_profile(ctx):
    """Customers by each CRM attribute (up to 8 of :func:`breakdown_columns_crm`).

    ``table``, one long frame ``attribute, level, customers, share`` (share of all customers): a
    text attribute's groups largest first; a number's values in order, or with more than 8
    values its quantile bands with edges rounded to two significant digits, in order (the bands
    of churn by attribute, :func:`cxlib.quant.churn_model.numeric_levels`); customers without a
    value in the level ``"(not recorded)"``, last. ``summary``, one row per attribute:
    ``attribute, kind`` (groups: text, or a number with at most 8 values | number), ``recorded``
    (share of customers with a value), ``groups`` (levels with a value), and for numbers the
    ``median, low, high`` of the values.
    """
    from cxlib.quant.churn_model import numeric_levels

    view = engine.customer_view(ctx.store)
    rows, summary = [], []
    for col in breakdown_columns_crm(view)[:8]:
        s = view[col]
        missing = int(s.isna().sum())
        number = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        banded = number and s.nunique() > 8  # else each value is a group
        if number:
            x = pd.to_numeric(s, errors="coerce").astype(float).to_numpy()
            codes, levels, _, _ = numeric_levels(x, 5 if banded else 8)
            counts = np.bincount(codes[codes >= 0], minlength=len(levels)).tolist()
            ok = x[~np.isnan(x)]
            stats = {"median": float(np.median(ok)), "low": float(ok.min()), "high": float(ok.max())}
        else:
            vc = s.dropna().astype(str).value_counts()
            levels, counts = vc.index.tolist(), vc.to_numpy().tolist()
            stats = {"median": np.nan, "low": np.nan, "high": np.nan}
        summary.append({"attribute": col, "kind": "number" if banded else "groups",
                        "recorded": 1 - missing / len(s) if len(s) else np.nan, "groups": len(levels), **stats})
        if missing:
            levels, counts = [*levels, "(not recorded)"], [*counts, missing]
        total = sum(counts)
        rows.append(pd.DataFrame({"attribute": col, "level": levels, "customers": counts,
                                  "share": [c / total for c in counts]}))
    if not rows:
        from cxlib.report.context import NotInReport

        raise NotInReport("customer_profile")
    return {"n": len(view), "table": pd.concat(rows, ignore_index=True), "summary": pd.DataFrame(summary)}


def breakdown_columns_crm(view: pd.DataFrame) -> list[str]:
    """CRM attributes worth profiling: text columns with 2-30 groups, and numeric columns (banded),
    except a numeric identifier (whole numbers, a different one on every row: a row number or an
    account number is no attribute of the customer)."""
    skip = {"customer_id", "churned", "churn_date", "signup_date", "last_order_time", "last_visit_time",
            "latest_nps_time", "nps_group", "is_detractor", "has_unresolved", "has_late_delivery", "language"}
    out = []
    for col in view.columns:
        if col in skip or col.startswith("_"):
            continue
        s = view[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            if 2 <= s.nunique(dropna=True) <= 30:
                out.append(col)
        elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) and s.nunique() > 2 \
                and col in set(ctx_columns_of_customers(view)) and not _identifier(s):
            out.append(col)
    return out


def _identifier(s: pd.Series) -> bool:
    """Whole numbers, one per row and never repeated, over more than 30 rows: an identifier."""
    x = pd.to_numeric(s, errors="coerce").dropna()
    return len(x) > 30 and x.is_unique and bool((x % 1 == 0).all())


def ctx_columns_of_customers(view: pd.DataFrame) -> list[str]:
    """Columns that come from the CRM itself (not the engine's activity aggregates)."""
    derived = {"n_orders", "order_value", "late_orders", "n_sessions", "n_interactions", "unresolved",
               "handling_minutes", "latest_nps", "tenure_days"}
    return [c for c in view.columns if c not in derived]


@analysis("segments", "customers", tables=("customers",))
def _segments(ctx):
    """Segments (the CRM's own or clusters), their profiles and the four usefulness tests."""
    from cxlib.quant import segments

    view = engine.customer_view(ctx.store)
    spec = ctx.params.segmentation
    if spec.method == "rules" and spec.column not in view.columns:
        from cxlib.report.context import NotInReport

        raise NotInReport("segments")
    seg = segments.assign_segments(view, spec, seed=ctx.params.seed)
    resp = _cur(ctx) if ctx.store.has("survey_responses") and "customer_id" in _cur(ctx) else None
    if resp is not None and not resp["customer_id"].notna().any():
        resp = None
    profile = segments.segment_profiles(view, seg, responses=resp, **_kw(ctx))
    use = segments.usefulness(profile, view, seg, responses=resp)
    return {"labels": seg, "profile": profile, "usefulness": use}


@analysis("personas", "customers", results=("segments",))
def _personas(ctx):
    from cxlib.quant import personas

    s = ctx.result("segments")
    view = engine.customer_view(ctx.store, personas.VIEW_COLUMNS)
    coded = ctx.maybe("coding")
    texts = _texts(ctx)
    tp = None
    if ctx.store.has("survey_responses") and ctx.params.journey:
        cur = _cur(ctx)
        if "customer_id" in cur and "touchpoint" in cur:
            tp = personas.touchpoint_performance_by_segment(cur, ctx.params, view, s["labels"])
    influences = None
    if ctx.store.has("web_events") and ctx.store.has_column("web_events", "source") and not ctx.period.is_all:
        influences = personas.traffic_sources(ctx.store, view, s["labels"], as_of=ctx.period.end)
    return personas.build_personas(s["profile"], view, s["labels"],
                                   coded.coded if coded is not None else pd.DataFrame(columns=["verbatim_id", "code"]),
                                   texts, tp, min_base=ctx.params.thresholds.min_base, influences=influences,
                                   touchpoint_labels=ctx.params.touchpoint_labels())


# --- quantitative CX -------------------------------------------------------------------------

_SCORES = (("survey_responses.nps", "survey_responses.csat", "survey_responses.ces"),)


@analysis("kpis", "metrics", tables=("survey_responses",), any_of=_SCORES)
def _kpis(ctx):
    """Headline KPIs of the period with intervals, and the change from the previous period with its test."""
    from cxlib.quant import metrics

    th = ctx.params.thresholds
    resp = _resp(ctx)
    return metrics.kpi_tiles(resp, ctx.period.label, ctx.previous_label, alpha=th.alpha,
                             metrics=tuple(available_metrics(_cur(ctx))), **_kw(ctx))


@analysis("recommend", "metrics", tables=("survey_responses",), columns=("survey_responses.recommend",))
def _recommend(ctx):
    """Share who would recommend (a would-recommend flag), with its interval and change."""
    from cxlib.quant import metrics

    th = ctx.params.thresholds
    return metrics.flag_share(_resp(ctx), "recommend", ctx.period.label, ctx.previous_label, alpha=th.alpha,
                              **_kw(ctx))


@analysis("weighted_kpis", "metrics", tables=("survey_responses", "customers"), params=("weighting",),
          columns=("survey_responses.customer_id",))
def _weighted(ctx):
    from cxlib.quant import weighting

    spec = ctx.params.weighting
    cur = _cur(ctx)
    weights = weighting.survey_weights(cur, engine.population_counts(ctx.store, spec.variables), spec)
    wk = weighting.weighted_kpis(cur, weights, **_kw(ctx))
    return {"weights": weights, "kpis": wk, "spec": spec}


@analysis("crosstabs", "metrics", tables=("survey_responses",), params=("crosstabs",))
def _crosstabs(ctx):
    from cxlib.quant import crosstab

    th = ctx.params.thresholds
    cur = _cur(ctx)
    w = ctx.maybe("weighted_kpis")
    out = []
    for spec in ctx.params.crosstabs:
        keep = cur[spec.row].notna() & cur[spec.banner].notna()
        weights = None if w is None else w["weights"][keep.to_numpy()]
        out.append((spec, crosstab.crosstab(cur[keep], spec.row, spec.banner, alpha=th.alpha,
                                            min_base=th.min_base, weights=weights)))
    return out


@analysis("kpi_trends", "metrics", tables=("survey_responses",), any_of=_SCORES, dated=("survey_responses",),
          periods=2)
def _kpi_trends(ctx):
    from cxlib.quant import metrics

    counts = _score_counts(ctx, ())
    frames = [metrics.from_counts(counts, m, **_kw(ctx)).assign(metric=m)
              for m in ("nps", "csat", "ces") if _has_scores(counts, m)]
    return pd.concat(frames, ignore_index=True)


@analysis("breakdowns", "metrics", tables=("survey_responses",), any_of=_SCORES)
def _breakdowns(ctx):
    """Every score by every attribute of the period (NPS; CSAT share and mean; CES)."""
    from cxlib.quant import metrics

    cur = _cur(ctx)
    out = {}
    for by in breakdown_columns(ctx, cur):
        frames = [metrics.breakdown(cur, by, m, **_kw(ctx)).assign(metric=m) for m in available_metrics(cur)]
        out[by] = pd.concat(frames, ignore_index=True)
    if not out:
        from cxlib.report.context import NotInReport

        raise NotInReport("breakdowns")
    return out


@analysis("segment_change", "metrics", tables=("survey_responses",), columns=("survey_responses.nps",),
          previous=True, results=("kpis",))
def _segment_change(ctx):
    """NPS by segment, this period against the previous one (Holm-adjusted across segments)."""
    from cxlib.quant import metrics

    resp = _resp(ctx)
    if "segment" not in resp or not resp["segment"].notna().any():
        from cxlib.report.context import NotInReport

        raise NotInReport("segment_change")
    th = ctx.params.thresholds
    change = metrics.breakdown_change(resp, "segment", ctx.period.label, ctx.previous_label, alpha=th.alpha,
                                      **_kw(ctx))
    trend = metrics.from_counts(_score_counts(ctx, ("segment",)), "nps", by="segment", **_kw(ctx))
    return {"change": change, "trend": trend}


def primary_metric(frame: pd.DataFrame) -> str | None:
    """The score a client's report leads with: NPS, else CSAT (mean rating), else CES."""
    have = available_metrics(frame)
    return next((m for m in ("nps", "csat_mean", "ces") if m in have), None)


@analysis("group_change", "metrics", tables=("survey_responses",), any_of=_SCORES, previous=True)
def _group_change(ctx):
    """The main score by every attribute (but segment), this period against the previous one; groups
    of an attribute are compared at once, so significance is Holm-adjusted within the attribute."""
    from cxlib.quant import metrics

    th = ctx.params.thresholds
    resp, cur = _resp(ctx), _cur(ctx)
    metric = primary_metric(cur)
    out = {}
    for by in breakdown_columns(ctx, cur):
        if by == "segment":
            continue
        ch = metrics.breakdown_change(resp[resp[by].notna()], by, ctx.period.label, ctx.previous_label, metric,
                                      alpha=th.alpha, **_kw(ctx))
        ch["significant_holm"] = (ch["p_holm"] < th.alpha) & ~ch["small_base"].astype(bool)
        out[by] = ch
    if not out:
        from cxlib.report.context import NotInReport

        raise NotInReport("group_change")
    return {"metric": metric, "by": out}


# --- web funnel --------------------------------------------------------------------------------


@analysis("funnel", "journey", tables=("web_events",), params=("funnel",))
def _funnel(ctx):
    by = "device" if ctx.store.has_column("web_events", "device") else None
    f = engine.funnel(ctx.store, ctx.params, ctx.period, by=by)
    return {"by": by or "group", "funnel": f, "unseen": engine.funnel_unseen(f)}


@analysis("abandonment", "journey", results=("funnel",))
def _abandonment(ctx):
    f = ctx.result("funnel")
    steps = engine.abandonment_steps(ctx.params)
    if steps is None:
        from cxlib.report.context import NotInReport

        raise NotInReport("abandonment")
    ab = engine.abandonment(f["funnel"], *steps, by=f["by"], confidence=ctx.params.thresholds.confidence)
    return {"steps": steps, "by": f["by"], "table": ab}


@analysis("funnel_by_source", "journey", tables=("web_events",), params=("funnel",),
          columns=("web_events.source",))
def _funnel_source(ctx):
    return engine.funnel(ctx.store, ctx.params, ctx.period, by="source")


# --- the journey and touchpoint gaps ---------------------------------------------------------


@analysis("touchpoints", "journey", tables=("survey_responses",), columns=("survey_responses.touchpoint",
                                                                             "survey_responses.csat"))
def _touchpoints(ctx):
    """CSAT and stated importance per touchpoint of the period (IPA when importance is measured)."""
    from cxlib.journey import gaps

    perf, unmapped = gaps.touchpoint_performance(_cur(ctx), ctx.params)
    ipa = gaps.ipa(perf) if perf["importance"].notna().any() else None
    return {"perf": perf, "unmapped": unmapped, "ipa": ipa}


@analysis("touchpoint_change", "journey", results=("touchpoints",), previous=True)
def _touchpoint_change(ctx):
    from cxlib.quant import metrics

    th = ctx.params.thresholds
    resp = _resp(ctx)
    resp = resp[resp["touchpoint"].notna()]
    return metrics.breakdown_change(resp, "touchpoint", ctx.period.label, ctx.previous_label, "csat_mean",
                                    alpha=th.alpha, **_kw(ctx))


@analysis("touchpoint_trends", "journey", results=("touchpoints",), dated=("survey_responses",), periods=2)
def _touchpoint_trends(ctx):
    from cxlib.quant import metrics

    counts = _score_counts(ctx, ("touchpoint",))
    counts = counts[counts["touchpoint"] != metrics.MISSING_GROUP]
    return metrics.from_counts(counts, "csat_mean", by="touchpoint", **_kw(ctx))


@analysis("key_drivers", "journey", results=("touchpoints",),
          columns=("survey_responses.nps", "survey_responses.customer_id"))
def _key_drivers(ctx):
    """Which touchpoints' CSAT explains a customer's NPS (OLS + LMG), and the uplift of each target."""
    from cxlib.journey import drivers

    window = [p.label for p in _trailing(ctx, 4)]
    resp = engine.responses(ctx.store, _trailing(ctx, 4))
    frame = drivers.driver_frame(resp, ctx.params, window=window)
    kd = drivers.key_drivers(frame, frame.attrs["touchpoints"], confidence=ctx.params.thresholds.confidence,
                             seed=ctx.params.seed)
    perf = ctx.result("touchpoints")["perf"]
    uplift = drivers.uplift_table(frame, kd, ctx.params, perf=perf, seed=ctx.params.seed)
    return {"drivers": kd, "uplift": uplift, "n_customers": int(frame["customer_id"].nunique())}


def _trailing(ctx, k: int) -> list[periods.Period]:
    """The reporting period and the k-1 before it (the whole file when undated)."""
    if ctx.period.is_all:
        return [ctx.period]
    out = [ctx.period]
    while len(out) < k and out[0].previous is not None:
        out.insert(0, out[0].previous)
    return out


@analysis("fix_first", "journey", results=("touchpoints",))
def _fix_first(ctx):
    from cxlib.journey import gaps

    t = ctx.result("touchpoints")
    if t["ipa"] is None:
        from cxlib.report.context import NotInReport

        raise NotInReport("fix_first")
    from cxlib.journey.goal import focus_order, focus_touchpoints

    kd = ctx.maybe("key_drivers")
    ff = gaps.fix_first(t["ipa"], uplift=kd["uplift"] if kd else None)
    goal = mapping_goal(ctx)
    if goal.is_focus:  # the goal's touchpoints lead the list (their rank is kept)
        ff = focus_order(ff, goal, stage=None, theme=None, code=None, question=None,
                         touchpoints=focus_touchpoints(goal, ctx.params)).reset_index(drop=True)
    return ff


@analysis("operations", "journey", tables=("interactions",), params=("journey",))
def _operations(ctx):
    from cxlib.journey import operations

    return operations.touchpoint_operations(ctx.store, ctx.params, ctx.period,
                                            delivery_touchpoint=ctx.params.delivery_touchpoint)


@analysis("journey_map", "journey", params=("journey",), results=("touchpoints",))
def _journey_map(ctx):
    """The data the journey map draws: touchpoint scores, operations, pain points, the emotion curve."""
    from cxlib.journey import journey_map, operations

    t = ctx.result("touchpoints")
    ops = ctx.maybe("operations")
    coded = ctx.maybe("coding")
    texts = _texts(ctx)
    pains = operations.pain_points(coded.coded, texts, ctx.params) if coded is not None else None
    emotion = None
    if ctx.maybe("sentiment") is not None:
        customer = texts[texts["speaker"].fillna("customer") == "customer"] if "speaker" in texts else texts
        emotion = journey_map.emotion_by_stage(customer, ctx.params, sentiment_of(ctx, customer))
    if emotion is None:
        emotion = pd.DataFrame(columns=journey_map.EMOTION_COLUMNS)
    return {"ipa": t["ipa"] if t["ipa"] is not None else t["perf"], "ops": ops, "pains": pains, "emotion": emotion}


# --- the mapping method: goal, questions, validation, paths, the living map ---------------------


def mapping_goal(ctx):
    """The params mapping goal (the whole journey when none is given)."""
    from cxlib.journey.goal import MappingGoal

    return ctx.data("goal", lambda: MappingGoal.from_mapping(ctx.params.goal))


def _question_settings(ctx):
    from cxlib.journey.questions import QuestionSettings

    return QuestionSettings.from_mapping(ctx.params.journey_questions)


@analysis("journey_questions", "journey", any_of=(("interactions.interaction_time", "orders.order_time",
                                                  "survey_responses.ces", "web_events.event", "texts.text"),))
def _journey_questions(ctx):
    """The method's ten analysis questions, each answered from the evidence the data holds (or not enough)."""
    from cxlib.journey.goal import focus_order
    from cxlib.journey.questions import answer_questions

    coded = ctx.maybe("coding")
    qa = answer_questions(ctx.store, ctx.params, ctx.period, coded=coded.coded if coded else None,
                          verbatims=coded.texts if coded else None,
                          codebook=coded.book.table if coded else None, settings=_question_settings(ctx))
    answers = focus_order(qa.answers, mapping_goal(ctx), touchpoint=None, stage=None, theme=None, code=None)
    return {"answers": answers, "evidence": qa.evidence, "raw": qa}


@analysis("map_validation", "journey", tables=("map_feedback",), params=("journey",))
def _map_validation(ctx):
    """Staff and focus-group feedback on the map beside the data (method step 6)."""
    from cxlib.journey.validation import validate_map

    qa = ctx.maybe("journey_questions")
    return validate_map(ctx.store.df("map_feedback"), ctx.params, ctx.store, ctx.period,
                        evidence=qa["evidence"] if qa else None)


def _paths_options(ctx) -> dict:
    o = ctx.params.journey_paths
    return {k: o[k] for k in ("lookback_days", "window_days") if k in o}


@analysis("churn_paths", "churn", tables=("customers",), columns=("customers.churned",),
          any_of=(("interactions.interaction_time", "orders.order_time"),))
def _churn_paths(ctx):
    """The touchpoint steps before churn against those of customers who stayed, and behaviours as rules."""
    from cxlib.journey.sequences import churn_paths, churn_rules

    as_of = None if ctx.period.is_all else ctx.period.end
    steps = int(ctx.params.journey_paths.get("steps", 2))
    return {"paths": churn_paths(ctx.store, ctx.params, as_of=as_of, steps=steps, **_paths_options(ctx)),
            "rules": churn_rules(ctx.store, ctx.params, as_of=as_of,
                                 **{k: v for k, v in _paths_options(ctx).items() if k == "lookback_days"})}


@analysis("abandonment_paths", "journey", tables=("web_events",), params=("funnel",))
def _abandonment_paths(ctx):
    """The pages after the abandonment step for sessions that left against those that went on."""
    from cxlib.journey.sequences import abandonment_paths, abandonment_rules

    steps = engine.abandonment_steps(ctx.params)
    kw = {"start_event": steps[0], "end_event": steps[1]} if steps else {}
    return {"paths": abandonment_paths(ctx.store, ctx.params, ctx.period, steps=int(ctx.params.journey_paths.get("steps", 2)), **kw),
            "rules": abandonment_rules(ctx.store, ctx.params, ctx.period, **kw)}


@analysis("map_changes", "journey", params=("journey",), results=("touchpoints",))
def _map_changes(ctx):
    """The living map (method step 8): this run's map saved beside the client's reports, compared with the
    previous run's (or, on a first run, with the previous period computed from the data)."""
    from cxlib.journey import history

    pains = ctx.maybe("journey_map")
    qa = ctx.maybe("journey_questions")
    snap = history.map_snapshot(ctx.store, ctx.params, ctx.period, pains=pains["pains"] if pains else None,
                                answers=qa["raw"] if qa else None)
    folder = ctx.map_history_dir
    previous = history.previous_snapshot(folder, snap.label) if folder else None
    if previous is None and ctx.previous is not None:
        from cxlib.journey.questions import answer_questions

        prev_qa = answer_questions(ctx.store, ctx.params, ctx.previous, settings=_question_settings(ctx))
        previous = history.map_snapshot(ctx.store, ctx.params, ctx.previous, answers=prev_qa)
    if folder:
        history.save_snapshot(snap, folder)
    changes = history.compare(previous, snap, ctx.params.thresholds.alpha, min_base=ctx.params.thresholds.min_base)
    runs = history.history(folder) if folder else None
    return {"changes": changes, "summary": changes.summary(), "history": runs, "snapshot": snap}


# --- voice of the customer ---------------------------------------------------------------------


@dataclass
class Coded:
    """Auto-coded texts of the period: the codebook, the codes found, the texts coded."""

    book: object
    coded: pd.DataFrame
    texts: pd.DataFrame
    generic: bool = False
    flags: dict = field(default_factory=dict)


def codebook(ctx):
    """The client's codebook, or the template's generic bilingual one (labelled as such)."""
    from cxlib.voice import coding

    def make():
        if ctx.store.has("codebook"):
            return coding.compile_codebook(ctx.store.df("codebook"), source=str(ctx.params.table_path("codebook"))), False
        return coding.load_generic_codebook(), True
    return ctx.data("codebook", make)


@analysis("coding", "voice", tables=("texts",), codebook=True)
def _coding(ctx):
    from cxlib.voice import coding

    book, generic = codebook(ctx)
    texts = _texts(ctx)
    return Coded(book, coding.auto_code(texts, book), texts, generic)


@analysis("reliability", "appendix", tables=("manual_codes",), results=("coding",))
def _reliability(ctx):
    from cxlib.voice import reliability

    book, _ = codebook(ctx)
    return reliability.for_run(ctx.store, ctx.params, book)


def _flags(ctx) -> dict:
    rel = ctx.maybe("reliability")
    return rel.flags() if rel is not None else {}


@analysis("themes", "voice", results=("coding",))
def _themes(ctx):
    """Theme shares by source and by segment (when texts link to customers with segments)."""
    from cxlib.voice import coding

    c = ctx.result("coding")
    out = {"by_source": coding.theme_frequency(c.coded, c.texts, by="source", level="theme"),
           "overall": coding.theme_shares(c.coded, c.texts, confidence=ctx.params.thresholds.confidence,
                                          min_base=ctx.params.thresholds.min_base)}
    if "segment" in c.texts and c.texts["segment"].notna().any():
        out["by_segment"] = coding.theme_frequency(c.coded, c.texts, by="segment", level="theme")
    return out


@analysis("detractor_themes", "voice", results=("coding",), columns=("texts.nps",))
def _detractor_themes(ctx):
    """Themes over-represented among detractors' comments (Holm-adjusted), and NPS by mention."""
    from cxlib.voice import coding

    c = ctx.result("coding")
    resp = _cur(ctx)
    themes = coding.detractor_themes(c.coded, c.texts, resp, alpha=ctx.params.thresholds.alpha)
    mention = coding.nps_by_mention(c.coded, c.texts, resp)
    return {"themes": themes, "mention": mention, "flags": _flags(ctx)}


@analysis("cooccurrence", "voice", results=("coding",))
def _cooccurrence(ctx):
    from cxlib.voice import coding

    return coding.cooccurrence(ctx.result("coding").coded, level="theme")


@analysis("theme_trends", "voice", results=("coding",), dated=("texts",), periods=2)
def _theme_trends(ctx):
    from cxlib.voice import coding

    book, _ = codebook(ctx)
    texts = _texts_all(ctx)
    texts = texts[texts["period"].notna()]
    coded = coding.auto_code(texts, book)
    return coding.theme_by_period(coded, texts, level="theme", **_kw(ctx))


@analysis("conversations", "voice", results=("coding",), columns=("texts.conversation_id",))
def _conversations(ctx):
    from cxlib.voice import coding

    c = ctx.result("coding")
    return coding.conversation_themes(c.coded, c.texts)


@analysis("quotes", "voice", results=("coding",))
def _quotes(ctx):
    """Representative quotes (redacted) for the leading codes: detractor themes first, else the most frequent."""
    from cxlib.voice import coding

    c = ctx.result("coding")
    dt = ctx.maybe("detractor_themes")
    if dt is not None and not dt["themes"].empty:
        codes = dt["themes"].sort_values("rank")["code"].head(3).tolist()
    else:
        codes = c.coded["code"].value_counts().head(3).index.tolist()
    return {"codes": codes, "quotes": {code: coding.representative_quotes(c.texts, c.coded, code, n=1)
                                       for code in codes}, "book": c.book}


@analysis("sentiment", "voice", tables=("texts",))
def _sentiment(ctx):
    """Sentiment of every text: calibrated on the client's own scores when it has enough, else the lexicons."""
    from cxlib.voice import sentiment

    texts = _texts_all(ctx) if not ctx.period.is_all else _texts(ctx)
    frame = pd.DataFrame({"text": texts["text"], "language": texts["language"],
                          "target": _sentiment_target(texts)}, index=texts.index)
    strip = [b for b in [ctx.params.brand, *ctx.params.competitors] if b]
    res = sentiment.for_run(frame, seed=ctx.params.seed, strip=strip)
    # the fitted model is left out: the result is pickled for the other kernel, nothing downstream reads the
    # model, and for a big client's texts its TF-IDF vocabulary is large
    return _Sentiment(res.scores, res.method, res.validation, texts["verbatim_id"].to_numpy(), res.info)


@analysis("tone", "voice", results=("sentiment",))
def _tone(ctx):
    """The period's texts by tone (positive, neutral, negative): shares with Wilson intervals."""
    from cxlib.voice import sentiment

    s = ctx.result("sentiment")  # scores every period's texts where the report compares periods
    in_period = pd.Index(s.verbatim_id).isin(_texts(ctx)["verbatim_id"])
    out = sentiment.tone_shares(s.scores[in_period], confidence=ctx.params.thresholds.confidence)
    out.attrs["method"] = s.method
    return out


@dataclass
class _Sentiment:
    """The run's sentiment: per-text scores (aligned on ``verbatim_id``), the route taken, its validation,
    and ``detail``: the counts and reasons of the route (``SentimentResult.info``)."""

    scores: pd.DataFrame
    method: str
    validation: pd.DataFrame
    verbatim_id: object = None
    detail: dict | None = None


def _sentiment_target(texts: pd.DataFrame) -> pd.Series:
    """The score that came with each text, as -1/0/1: NPS 0-6/7-8/9-10, CSAT or stars 1-2/3/4-5,
    a verbatim score already in -1..1."""
    out = pd.Series(np.nan, index=texts.index)
    nps = pd.to_numeric(texts.get("nps"), errors="coerce") if "nps" in texts else None
    csat = pd.to_numeric(texts.get("csat"), errors="coerce") if "csat" in texts else None
    score = pd.to_numeric(texts.get("score"), errors="coerce") if "score" in texts else None
    if score is not None:
        s = score.where(score.between(-1, 1))
        out = out.fillna(np.sign(s))
        stars = score.where(score.between(1, 5) & (score % 1 == 0) & ~score.between(-1, 1))
        out = out.fillna(pd.cut(stars, [0, 2, 3, 5], labels=[-1, 0, 1]).astype(float))
    if csat is not None:
        out = out.fillna(pd.cut(csat, [0, 2, 3, 5], labels=[-1, 0, 1]).astype(float))
    if nps is not None:
        out = out.fillna(pd.cut(nps, [-1, 6, 8, 10], labels=[-1, 0, 1]).astype(float))
    return out


def brands(ctx, texts: pd.DataFrame) -> list[str]:
    """The brands tracked: params ``brand`` and ``competitors``, else the 8 most mentioned in the data."""
    named = [b for b in [ctx.params.brand, *ctx.params.competitors] if b]
    if named:
        return named
    return texts["brand"].dropna().astype(str).value_counts().head(8).index.tolist()


def _social(texts: pd.DataFrame) -> pd.DataFrame:
    return texts[(texts["source"] == "social") & texts["brand"].notna()]


def sentiment_of(ctx, frame: pd.DataFrame) -> pd.Series:
    """The run's sentiment score of each text of ``frame`` (aligned on its index; NaN when unscored)."""
    sent = ctx.result("sentiment")
    by_id = pd.Series(sent.scores["sentiment"].to_numpy(), index=sent.verbatim_id)
    return pd.Series(frame["verbatim_id"].map(by_id).to_numpy(dtype=float), index=frame.index)


@analysis("mention_share", "voice", tables=("texts",), columns=("texts.brand",))
def _mention_share(ctx):
    """Share of voice by brand per period (social mentions with a brand), with Wilson intervals."""
    from cxlib.voice import coding

    social = _social(_texts_all(ctx))
    if social.empty:
        from cxlib.report.context import NotInReport

        raise NotInReport("mention_share")
    return coding.mention_share(social, brands(ctx, social), confidence=ctx.params.thresholds.confidence)


@analysis("mention_sentiment", "voice", results=("mention_share", "sentiment"))
def _mention_sentiment(ctx):
    from cxlib.voice import coding

    social = _social(_texts_all(ctx))
    return coding.mention_sentiment(social, brands(ctx, social), sentiment_of(ctx, social),
                                    confidence=ctx.params.thresholds.confidence,
                                    min_n=ctx.params.thresholds.min_base)


# --- churn ------------------------------------------------------------------------------------

_CHURN = ("customers.churned",)


@analysis("churn_by_period", "churn", tables=("customers",), columns=("customers.churned", "customers.churn_date",
                                                                      "customers.signup_date"),
          dated=("customers",))
def _churn_by_period(ctx):
    from cxlib.quant import retention

    # the periods with dated responses (from the engine's counts; no response row is pulled)
    labels = sorted(_score_counts(ctx, ())["period"].unique()) if ctx.store.has("survey_responses") else None
    return retention.churn_by_period(ctx.store, labels, **_kw(ctx))


@analysis("retention", "churn", results=("churn_by_period",))
def _retention(ctx):
    from cxlib.quant import retention

    as_of = ctx.period.end if not ctx.period.is_all else None
    return retention.retention_curves(ctx.store, as_of, max_months=18,
                                      confidence=ctx.params.thresholds.confidence)


#: customer-view signals tested for churn, and their wording key in the strings
CHURN_SIGNALS = ("has_unresolved", "has_late_delivery", "is_detractor")


@analysis("churn_signals", "churn", tables=("customers",), columns=_CHURN,
          any_of=(("customer_view.has_unresolved", "customer_view.has_late_delivery", "customer_view.is_detractor"),))
def _churn_signals(ctx):
    from cxlib.quant import retention

    view = engine.customer_view(ctx.store, ["churned", *CHURN_SIGNALS])
    signals = [s for s in CHURN_SIGNALS if s in view and view[s].notna().any()]
    return retention.churn_lift(view, signals, confidence=ctx.params.thresholds.confidence)


@analysis("churn_by_attribute", "churn", tables=("customers",), columns=_CHURN)
def _churn_by_attribute(ctx):
    """Churn rate by each CRM attribute's levels (numbers in quantile bands), with Wilson intervals and a
    chi-square test per attribute (one long frame; ``attrs["overall_rate"]``)."""
    from cxlib.quant import churn_model

    view = engine.customer_view(ctx.store)
    cols = breakdown_columns_crm(view)[:10]
    if not cols:
        from cxlib.report.context import NotInReport

        raise NotInReport("churn_by_attribute")
    out = churn_model.churn_rate_by(view, cols, **_kw(ctx))
    known = view["churned"].dropna().astype(bool)
    out.attrs["overall_rate"] = float(known.mean()) if len(known) else float("nan")
    return out


@analysis("churn_model", "churn", tables=("customers",), columns=_CHURN, min_rows=(("customers.churned", 100),))
def _churn_model(ctx):
    """The churn model: windowed on dated CX signals when the data allows it, else on the CRM snapshot's columns."""
    from cxlib.quant import churn_model

    opts = ctx.params.churn
    mode = opts.mode
    view_cols = set(ctx.store.columns("customer_view"))
    can_window = ("churn_date" in view_cols and not ctx.period.is_all
                  and any(ctx.store.has(t) for t in ("orders", "interactions", "survey_responses")))
    if mode == "auto":
        mode = "windowed" if can_window else "snapshot"
    if mode == "windowed":
        train, now = churn_model.churn_datasets(ctx.store, ctx.period.end, horizon_days=opts.horizon_days)
        model = churn_model.fit_churn_model(train, seed=ctx.params.seed)
        return {"mode": "windowed", "model": model, "now": now}
    frame = ctx.store.df("customers")
    model = churn_model.fit_snapshot_model(frame, target="churned", predictors=opts.predictors,
                                           exclude=opts.exclude, model=opts.model, seed=ctx.params.seed,
                                           sample_rows=opts.sample_rows,
                                           confidence=ctx.params.thresholds.confidence)
    return {"mode": "snapshot", "model": model, "now": frame}


@analysis("at_risk", "churn", results=("churn_model",))
def _at_risk(ctx):
    """Current customers ranked by churn risk, with their main driver and the next best action."""
    from cxlib.quant import churn_model
    from cxlib.report.context import pseudonym_salt

    cm = ctx.result("churn_model")
    if cm["mode"] == "windowed":
        scored = churn_model.score_customers(cm["model"], cm["now"])
    else:
        now = cm["now"]
        if "churned" in now:
            now = now[~now["churned"].fillna(False).astype(bool)]
        scored = churn_model.score_frame(cm["model"], now)
    stake, full = churn_model.at_risk(scored, ctx.params, salt=pseudonym_salt(ctx.params.client))
    model = cm["model"]
    known = set(model.kinds) | set(getattr(model, "driver_candidates", []) or [])
    if cm["mode"] == "windowed":  # its drivers carry the CX signal names (churn_model.score_customers)
        known |= {"is_detractor", "is_passive", "no_nps_response", "segment", "has_late_delivery", "short_tenure",
                  "long_tenure", "no_ces_response", "has_unresolved", "low_recency", "high_effort"}
    unknown = [k for k in ctx.params.next_best_actions
               if k.split("=", 1)[0].rsplit(":", 1)[0] not in known and k not in known]
    return {"scored": scored, "stakeholder": stake, "full": full, "unknown_actions": unknown}


# --- decisions: read from the results above ----------------------------------------------------


@analysis("swot", "decide")
def _swot(ctx):
    from cxlib.decide import swot

    ev = swot.Evidence.from_results(ctx.maybe, ctx.period.label, ctx.previous_label)
    inputs = ctx.store.df("swot_inputs") if ctx.store.has("swot_inputs") else None
    return {"items": swot.build(ev, ctx.params, inputs), "evidence": ev}


@analysis("recommendations", "decide")
def _recommendations(ctx):
    from cxlib.decide import recommendations

    actions = []
    kd = ctx.maybe("key_drivers")
    ff = ctx.maybe("fix_first")
    if kd is not None or ff is not None:
        actions.append(recommendations.touchpoint_actions(kd["uplift"] if kd else None, ctx.params, ff))
    ar = ctx.maybe("at_risk")
    if ar is not None:
        view = engine.customer_view(ctx.store, ["revenue"]) if ctx.store.has("customer_view") else None
        actions.append(recommendations.churn_actions(ar["scored"], view, ctx.params))
    ab = ctx.maybe("abandonment")
    if ab is not None:
        actions.append(recommendations.funnel_actions(ab, ctx.params))
    ranked = recommendations.rank(actions)
    goal = mapping_goal(ctx)
    if goal.is_focus and len(ranked):  # actions on the goal's touchpoints lead
        from cxlib.journey.goal import focus_touchpoints

        focus = set(focus_touchpoints(goal, ctx.params))
        owners = {tp.owner for tp in ctx.params.touchpoints if tp.id in focus}
        lead = ranked["kind"].str.startswith("touchpoint") & ranked["owner"].isin(owners)
        ranked = pd.concat([ranked[lead], ranked[~lead]], ignore_index=True)
        ranked["rank"] = range(1, len(ranked) + 1)
    return ranked


@analysis("summary", "decide")
def _summary(ctx):
    """The findings the executive summary leads with: the largest significant ones of every section that ran."""
    from cxlib.decide import summary

    return summary.findings(ctx.maybe, ctx.params, ctx.period.label, ctx.previous_label)


# --- appendix ---------------------------------------------------------------------------------


@analysis("assisted_coding", "appendix", tables=("manual_codes",), results=("coding",))
def _assisted(ctx):
    from cxlib.voice import assist

    book, _ = codebook(ctx)
    return assist.for_run(ctx.store, book)

"""Aggregations that run in the engine (DuckDB or Spark, through Ibis), not in pandas.

Large tables (web events, orders, interactions) never come into pandas whole: each function
here builds an Ibis expression, runs it in the database, and returns a small tidy frame.
Every function copes with the tables a client did not give: it works from what exists, and
says so (an empty frame or ``None``), never inventing the rest. Nothing here names the engine:
the same expressions run on DuckDB or on Spark (params ``engine``, :class:`cxlib.data.io.Store`).
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from cxlib.data import periods
from cxlib.data.io import Store
from cxlib.data.params import Params
from cxlib.data.schemas import TABLES
from cxlib.exceptions import ParameterError, PeriodError

#: customer attributes joined onto survey responses and texts for breakdowns
CUSTOMER_COLUMNS = ["segment", "region", "city", "plan", "preferred_channel", "payment_method", "gender",
                    "age", "income_band"]
#: the table whose dates choose the reporting period, in order of preference
PERIOD_SOURCES = ("survey_responses", "verbatims", "orders", "interactions", "web_events", "customers")


def nps_group(scores: pd.Series) -> pd.Series:
    """promoter (9-10), passive (7-8), detractor (0-6); missing stays missing (Reichheld 2003)."""
    s = pd.to_numeric(scores, errors="coerce")
    out = pd.Series(pd.NA, index=s.index, dtype="object")
    out[s >= 9] = "promoter"
    out[(s >= 7) & (s < 9)] = "passive"
    out[s < 7] = "detractor"
    return out


def unit_label(col: ibis.Column, unit: str = "quarter") -> ibis.Column:
    """The period label of a timestamp column in ``unit`` (``2026Q3``, ``2026-07``, ``2026``), in the engine."""
    year = col.year().cast("string")
    if unit == "quarter":
        return year + "Q" + col.quarter().cast("string")
    if unit == "month":
        return year + "-" + col.month().cast("string").lpad(2, "0")
    return year


def quarter_label(col: ibis.Column) -> ibis.Column:
    """``YYYYQn`` label of a timestamp column, computed in the engine."""
    return unit_label(col, "quarter")


def time_column(store: Store, table: str) -> str | None:
    """The dating column of ``table`` when the client's export has it (None otherwise)."""
    col = TABLES[table].time if table in TABLES else {"texts": "verbatim_time"}.get(table)
    return col if col and store.has_column(table, col) else None


def time_span(store: Store, table: str = "survey_responses", column: str | None = None):
    """(first, last) timestamps of a table, from the engine (NaT, NaT when undated)."""
    column = column or time_column(store, table)
    if not column or not store.has(table):
        return pd.NaT, pd.NaT
    t = store.table(table)
    row = t.aggregate(lo=t[column].min(), hi=t[column].max()).to_pandas().iloc[0]
    return pd.Timestamp(row["lo"]), pd.Timestamp(row["hi"])


def period_source(store: Store) -> str | None:
    """The table whose dates set the reporting period: survey responses, then texts, then
    orders, interactions, web events, customers; the first one with dates."""
    for table in PERIOD_SOURCES:
        if store.has(table) and time_column(store, table):
            lo, _ = time_span(store, table)
            if pd.notna(lo):
                return table
    return None


def rows_in(store: Store, table: str, period: periods.Period) -> int:
    """Rows of ``table`` dated inside ``period`` (all rows for the whole file)."""
    t = store.table(table)
    if period.is_all:
        return int(t.count().to_pyarrow().as_py())
    col = time_column(store, table)
    if col is None:
        return 0
    return int(t.filter((t[col] >= period.start) & (t[col] < period.end)).count().to_pyarrow().as_py())


def resolve_period(store: Store, requested: str | None,
                   unit: str | None = None) -> tuple[periods.Period, periods.Period | None]:
    """Reporting period and the previous one with data (None when there is none).

    The period comes from the dates of :func:`period_source`; with no dated table it is the whole
    file. ``unit`` defaults to the params ``period_unit``.
    """
    unit = unit or store.params.period_unit
    table = period_source(store)
    if table is None:
        return periods.resolve(requested, pd.NaT, pd.NaT, unit=unit)
    lo, hi = time_span(store, table)
    return periods.resolve(requested, lo, hi, unit=unit, has_rows=lambda p: rows_in(store, table, p) > 0)


def _as_periods(window) -> list[periods.Period] | None:
    if window is None:
        return None
    return [w if isinstance(w, periods.Period) else periods.parse(w) for w in window if w is not None]


def _label_periods(t: ibis.Table, col: str, window: list[periods.Period] | None, unit: str) -> ibis.Table:
    """Add ``period``: the window period each row falls in (rows outside are dropped), or the row's
    ``unit`` label when no window is given."""
    if window is None:
        return t.mutate(period=unit_label(t[col], unit) if col else ibis.literal("all"))
    if any(w.is_all for w in window):
        return t.mutate(period=ibis.literal("all"))
    if not col:
        return t.filter(ibis.literal(False)).mutate(period=ibis.literal(""))
    cases = [((t[col] >= w.start) & (t[col] < w.end), w.label) for w in window]
    t = t.mutate(period=ibis.cases(*cases, else_=ibis.null("string")))
    return t.filter(t.period.notnull())


def responses(store: Store, window=None, unit: str | None = None) -> pd.DataFrame:
    """Survey responses with ``period``, NPS group and the customer's attributes.

    ``window`` None: every response, ``period`` = its ``unit`` label (for trends); a list of
    periods (or labels): the responses in them, ``period`` = that period's label. Responses whose
    customer is not in the CRM keep their scores with empty attributes (counted by
    :func:`data_quality`). Attributes the response itself carries are never overwritten.
    """
    unit = unit or store.params.period_unit
    r = store.table("survey_responses")
    r = _label_periods(r, time_column(store, "survey_responses"), _as_periods(window), unit)
    if store.has("customers") and "customer_id" in r.columns:
        c = store.table("customers")
        keep = [col for col in CUSTOMER_COLUMNS if col in c.columns and col not in r.columns]
        if keep:
            c = c.select("customer_id", *keep).rename(_cid="customer_id")
            r = r.left_join(c, r.customer_id == c._cid).drop("_cid")
    out = r.order_by("response_id").to_pandas()
    out["nps_group"] = nps_group(out["nps"]) if "nps" in out else pd.Series(pd.NA, index=out.index, dtype="object")
    return out


#: the score columns counted per group by :func:`score_counts` (metric column -> its scope)
SCORE_SCOPES = {"nps": "relationship", "csat": "transactional", "ces": "transactional"}


def score_counts(store: Store, by: list[str] | tuple[str, ...] = (), window=None,
                 unit: str | None = None) -> pd.DataFrame:
    """Counts from which every score and its interval follow, per ``period`` and ``by`` group, in the engine.

    One row per (period, *by) with, for each score column the export has (``nps``, ``csat``,
    ``ces``), over the rows in its scope (relationship rows for NPS, transactional rows for CSAT
    and CES, when the export has ``survey_type``): ``<col>_rows`` (rows in scope), ``<col>_n``
    (scores given), ``<col>_sum``, ``<col>_sumsq`` and the counts at or above each cut
    (``nps_pro`` 9-10, ``nps_det`` 0-6, ``csat_top`` 4-5, ``ces_easy`` 5-7). A missing group
    value is the group ``"(not recorded)"``. ``window`` and ``unit`` as in :func:`responses`.
    Pair with :func:`cxlib.quant.metrics.from_counts`; no response row leaves the engine.
    """
    unit = unit or store.params.period_unit
    r = store.table("survey_responses")
    col_t, window = time_column(store, "survey_responses"), _as_periods(window)
    by_unit = window is None and col_t is not None
    if by_unit:  # labelled after the sums (from the year and quarter or month): no per-row text
        r = r.filter(r[col_t].notnull())
    else:
        r = _label_periods(r, col_t, window, unit)
        r = r.filter(r.period.notnull())
    missing = [b for b in by if b not in r.columns]
    if missing and store.has("customers") and "customer_id" in r.columns:
        c = store.table("customers")
        keep = [b for b in missing if b in c.columns]
        if keep:
            c = c.select("customer_id", *keep).rename(_cid="customer_id")
            r = r.left_join(c, r.customer_id == c._cid).drop("_cid")
    parts = {"period": r.period} if not by_unit else {"_y": r[col_t].year()}
    if by_unit and unit in ("quarter", "month"):
        parts["_u"] = r[col_t].quarter() if unit == "quarter" else r[col_t].month()
    groups = {**parts, **{b: r[b].cast("string").fill_null("(not recorded)") for b in by}}
    aggs = {}
    for col, scope in SCORE_SCOPES.items():
        if col not in r.columns:
            continue
        # the rows in scope as a FILTER of each sum (None: every row)
        inscope = (r.survey_type == scope) if "survey_type" in r.columns else None
        v = r[col].cast("float64")

        def both(cond, inscope=inscope):
            return cond if inscope is None else inscope & cond

        aggs[f"{col}_rows"] = r.count(where=inscope)
        aggs[f"{col}_n"] = v.count(where=inscope)
        aggs[f"{col}_sum"] = v.sum(where=inscope)
        aggs[f"{col}_sumsq"] = (v * v).sum(where=inscope)
        cuts = {"nps": {"nps_pro": v >= 9, "nps_det": v <= 6}, "csat": {"csat_top": v >= 4},
                "ces": {"ces_easy": v >= 5}}[col]
        for name, cond in cuts.items():
            aggs[name] = r.count(where=both(cond))
    out = r.group_by(**groups).aggregate(**aggs).to_pandas()
    if "period" not in out:
        out.insert(0, "period", _unit_labels(out.pop("_y"), out.pop("_u") if "_u" in out else None, unit))
    sums = [c for c in out.columns if c.endswith(("_sum", "_sumsq"))]
    out[sums] = out[sums].astype(float).fillna(0.0)  # no score given in a group: a sum of nothing
    counts = [c for c in aggs if c not in sums]
    out[counts] = out[counts].fillna(0).astype("int64")  # (Spark counts a FILTER as a sum: NULL over no row)
    keys = ["period", *by]
    return out[keys + list(aggs)].sort_values(keys, kind="stable").reset_index(drop=True)


def _unit_labels(year: pd.Series, part: pd.Series | None, unit: str) -> pd.Series:
    """Period labels (as :func:`unit_label`) from the integer year and quarter or month."""
    y = year.astype("int64").astype(str)
    if unit == "quarter":
        return y + "Q" + part.astype("int64").astype(str)
    if unit == "month":
        return y + "-" + part.astype("int64").astype(str).str.zfill(2)
    return y


#: the columns of the ``texts`` view and their types (one text per row, from either source)
TEXT_COLUMNS = {"verbatim_id": "string", "source": "string", "customer_id": "string",
                "verbatim_time": "timestamp", "touchpoint": "string", "stage": "string", "text": "string",
                "language": "string", "response_id": "string", "conversation_id": "string",
                "speaker": "string", "brand": "string", "score": "float64", "nps": "int64", "csat": "int64"}


def texts_expr(store: Store) -> ibis.Table | None:
    """Every customer text, from verbatims and survey comments, as one Ibis expression (None when
    the client gave no text); :func:`build_texts` saves it as ``texts``."""
    cols = TEXT_COLUMNS
    parts = []
    if store.has("verbatims"):
        v = store.table("verbatims")
        have = set(v.columns)
        link = ("response_id" in have and store.has("survey_responses")
                and store.has_column("survey_responses", "response_id"))
        scores = [c for c in ("nps", "csat") if link and store.has_column("survey_responses", c)]
        add = [c for c in scores if c not in have]
        if add:  # the score of the survey response the comment belongs to
            r = store.table("survey_responses")
            r = r.select(_rid="response_id", **{f"_r_{c}": c for c in add})
            v = v.left_join(r, v.response_id == r._rid)
        sel = {}
        for c, typ in cols.items():
            if c == "source":
                sel[c] = v.source.fill_null("other") if c in have else ibis.literal("other")
            elif c in add:
                sel[c] = v[f"_r_{c}"]
            elif c in have:
                sel[c] = v[c]
            else:
                sel[c] = ibis.null(typ)
        v = v.filter(v.text.notnull())
        parts.append(v.select(**{c: e.cast(cols[c]) for c, e in sel.items()}))
    if store.has("survey_responses") and store.has_column("survey_responses", "comment"):
        r = store.table("survey_responses")
        have = set(r.columns)
        rename = {"verbatim_id": ibis.literal("c") + r.response_id.cast("string"), "source": ibis.literal("survey"),
                  "text": r.comment, "speaker": ibis.literal("customer")}
        if "response_time" in have:
            rename["verbatim_time"] = r.response_time
        sel = {}
        for c, typ in cols.items():
            if c in rename:
                sel[c] = rename[c]
            elif c in have and c not in ("verbatim_id", "source", "verbatim_time", "text", "speaker"):
                sel[c] = r[c]
            else:
                sel[c] = ibis.null(typ)
        keep = r.comment.notnull()
        if store.has("verbatims") and store.has_column("verbatims", "response_id"):
            v = store.table("verbatims")
            linked = v.filter(v.response_id.notnull()).response_id
            keep = keep & ~r.response_id.isin(linked)  # a comment also in verbatims comes once
        parts.append(r.filter(keep).select(**{c: e.cast(cols[c]) for c, e in sel.items()}))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


def build_texts(store: Store) -> None:
    """Create the ``texts`` view: every customer text, from verbatims and survey comments.

    Survey comments already present in verbatims (same ``response_id``) come once. Each text
    keeps the scores that came with it (``nps``, ``csat`` of its response; ``score`` of a
    verbatim) so sentiment can be calibrated on them. Built in Ibis, so it runs on either engine.
    """
    expr = texts_expr(store)
    if expr is not None:
        store.save_view("texts", expr)


def verbatims(store: Store, window=None, unit: str | None = None) -> pd.DataFrame:
    """Customer texts (verbatims and survey comments) with ``period`` and the customer's segment.

    ``window`` as in :func:`responses`. Empty frame (with the columns) when the client gave no text.
    """
    unit = unit or store.params.period_unit
    if not store.has("texts"):
        return pd.DataFrame(columns=["verbatim_id", "source", "customer_id", "verbatim_time", "touchpoint",
                                     "text", "language", "period", "segment"])
    v = store.table("texts")
    v = _label_periods(v, "verbatim_time", _as_periods(window), unit)
    if store.has("customers") and store.has_column("customers", "segment"):
        c = store.table("customers").select("customer_id", "segment").rename(_cid="customer_id")
        v = v.left_join(c, v.customer_id == c._cid).drop("_cid")
    else:
        v = v.mutate(segment=ibis.null("string"))
    return v.order_by("verbatim_id").to_pandas()


def funnel(store: Store, params: Params, period: periods.Period, by: str | None = "device") -> pd.DataFrame:
    """Sessions reaching each funnel step, per ``by`` group, for one period.

    A session's depth is the furthest params funnel step it reached; a step's ``sessions``
    counts sessions at that depth or deeper. ``share_of_start`` = sessions / sessions at the
    first step; ``step_conversion`` = sessions / sessions at the previous step, undefined (NaN)
    when the previous step has no sessions (never drawn as 100 %). ``seen`` says whether the
    step's event occurs at all in the period's events (a step never seen is counted by
    :func:`funnel_unseen` and stated in the report). ``by`` None: one group, ``"all"``.
    """
    steps = [s.event for s in params.funnel]
    if not steps:
        raise ParameterError("the funnel has no steps; declare them in params funnel.")
    w = store.table("web_events")
    if by is None:
        by = "group"
        w = w.mutate(group=ibis.literal("all"))
    if by not in w.columns:
        raise ParameterError(f"web events have no column {by!r} to split the funnel by.")
    if not period.is_all:
        w = w.filter((w.event_time >= period.start) & (w.event_time < period.end))
    # each event's step (0: not a funnel step; the text compared once per event), each session's
    # depth (its furthest step), sessions counted per group and depth
    w = w.select("session_id", by, _step=ibis.cases(*[(w.event == e, i + 1) for i, e in enumerate(steps)],
                                                    else_=0).cast("int64"))
    w = w.filter(w._step > 0)
    # DuckDB: in the same pass, the set of steps each session saw (bit i-1 for step i), whose union
    # is the steps seen at all; Spark (no bit_or in Ibis' PySpark compiler): a second query
    masks = store.backend == "duckdb"
    extra = {"steps": (ibis.literal(1) << (w._step - 1)).bit_or()} if masks else {}
    per_session = w.group_by(["session_id", by]).aggregate(depth=w._step.max(), **extra)
    extra = {"steps": per_session.steps.bit_or()} if masks else {}
    counts = per_session.group_by([by, "depth"]).aggregate(n=per_session.count(), **extra).to_pandas()
    if counts.empty:
        raise PeriodError(f"no web events of the funnel's steps in {period.label}: the funnel cannot be computed.")
    if masks:
        mask = int(np.bitwise_or.reduce(counts["steps"].astype("int64").to_numpy()))
        seen = {steps[i] for i in range(len(steps)) if mask >> i & 1}
    else:
        seen = {steps[int(i) - 1] for i in w.select("_step").distinct().to_pandas()["_step"]}
    rows = []
    counts[by] = counts[by].fillna("(not recorded)")
    for group, g in counts.groupby(by):
        depth = g.set_index("depth")["n"]
        for i, step in enumerate(params.funnel, start=1):
            rows.append({by: group, "step_order": i, "event": step.event, "label": step.label,
                         "sessions": int(depth[depth.index >= i].sum()), "seen": step.event in seen})
    out = pd.DataFrame(rows)
    out.loc[~out["seen"], "sessions"] = 0  # a step nobody reached is not passed through by deeper sessions
    first = out.groupby(by)["sessions"].transform("first")
    prev = out.groupby(by)["sessions"].shift(1)
    out["share_of_start"] = out["sessions"] / first.where(first > 0)
    out["step_conversion"] = (out["sessions"] / prev.where(prev > 0))
    out.loc[out["step_order"] == 1, "step_conversion"] = 1.0
    out["drop_off"] = 1 - out["step_conversion"]
    return out


def funnel_unseen(funnel_df: pd.DataFrame) -> list[str]:
    """Funnel steps whose event never occurs in the period (their conversions are undefined)."""
    return sorted(set(funnel_df.loc[~funnel_df["seen"], "event"])) if "seen" in funnel_df else []


def abandonment_steps(params: Params) -> tuple[str, str] | None:
    """(start, end) events of the abandonment measure: params ``abandonment``, else from the first
    funnel step tied to a touchpoint (or the step before the last) to the last step."""
    if params.abandonment is not None:
        return params.abandonment.start, params.abandonment.end
    steps = params.funnel
    if len(steps) < 2:
        return None
    tied = [s for s in steps[:-1] if s.touchpoint]
    start = tied[0] if tied else steps[-2]
    return start.event, steps[-1].event


def abandonment(funnel_df: pd.DataFrame, start_event: str, end_event: str, by: str = "device",
                confidence: float = 0.95) -> pd.DataFrame:
    """Share of sessions reaching ``start_event`` that never reach ``end_event``, per group.

    Interval: Wilson score interval for a binomial proportion (Wilson 1927), via statsmodels.
    Groups where no session reached ``start_event`` have an undefined rate (NaN), not 0.
    """
    from statsmodels.stats.proportion import proportion_confint  # ~1 s to import: only where used

    s = funnel_df.pivot_table(index=by, columns="event", values="sessions", aggfunc="sum")
    started = s[start_event].astype(int)
    abandoned = (s[start_event] - s[end_event]).astype(int)
    lo, hi = proportion_confint(abandoned, started.clip(lower=1), alpha=1 - confidence, method="wilson")
    rate = (abandoned / started).where(started > 0)
    out = pd.DataFrame({by: s.index, "started": started.values, "abandoned": abandoned.values,
                        "rate": rate.values, "ci_low": lo.where(started > 0).values,
                        "ci_high": hi.where(started > 0).values})
    return out.reset_index(drop=True)


def build_customer_view(store: Store, as_of: pd.Timestamp | None) -> bool:
    """Create the single customer view (one row per customer) as table ``customer_view``.

    Joins CRM attributes with order, web, interaction and latest relationship-survey aggregates,
    each computed in the engine up to ``as_of`` (exclusive) from the tables the client gave.
    Returns False (and creates nothing) when there is no customers table.
    """
    if not store.has("customers"):
        return False
    c = store.table("customers")
    aggs = []

    def before(t, col):
        return t if as_of is None or col not in t.columns else t.filter(t[col] < as_of)

    if store.has("orders"):
        o = before(store.table("orders"), "order_time")
        a = {"n_orders": o.count(), "last_order_time": o.order_time.max()}
        if "amount" in o.columns:
            a["order_value"] = o.amount.sum()
        if "late" in o.columns:
            a["late_orders"] = o.late.cast("int64").sum().cast("int64")  # not DuckDB's 128-bit sum
        aggs.append(o.group_by("customer_id").aggregate(**a))
    if store.has("web_events") and store.has_column("web_events", "customer_id"):
        w = before(store.table("web_events"), "event_time")
        w = w.filter(w.customer_id.notnull())
        aggs.append(w.group_by("customer_id").aggregate(n_sessions=w.session_id.nunique(),
                                                        last_visit_time=w.event_time.max()))
    if store.has("interactions") and store.has_column("interactions", "customer_id"):
        i = before(store.table("interactions"), "interaction_time")
        i = i.filter(i.customer_id.notnull())
        a = {"n_interactions": i.count()}
        if "resolved" in i.columns:
            a["unresolved"] = (~i.resolved.fill_null(True)).cast("int64").sum().cast("int64")
        if "handling_minutes" in i.columns:
            a["handling_minutes"] = i.handling_minutes.mean()
        aggs.append(i.group_by("customer_id").aggregate(**a))
    if store.has("survey_responses") and {"customer_id", "nps"} <= set(store.columns("survey_responses")):
        r = before(store.table("survey_responses"), "response_time")
        r = r.filter(r.nps.notnull() & r.customer_id.notnull())
        if "survey_type" in r.columns:
            r = r.filter(r.survey_type.isnull() | (r.survey_type == "relationship"))
        order = ibis.desc(r.response_time) if "response_time" in r.columns else ibis.desc(r.response_id)
        latest = r.mutate(rn=ibis.row_number().over(group_by=r.customer_id, order_by=order))
        latest = latest.filter(latest.rn == 0)
        extra = {"latest_nps_time": "response_time"} if "response_time" in r.columns else {}
        aggs.append(latest.select("customer_id", latest_nps="nps", **extra))
    view = c
    for agg in aggs:
        agg = agg.rename(_cid="customer_id")
        view = view.left_join(agg, view.customer_id == agg._cid).drop("_cid")
    fill = {k: v for k, v in {"n_orders": 0, "late_orders": 0, "order_value": 0.0, "n_sessions": 0,
                               "n_interactions": 0, "unresolved": 0}.items() if k in view.columns}
    view = view.mutate(**{k: view[k].fill_null(v) for k, v in fill.items()})
    if as_of is not None and "signup_date" in view.columns:
        view = view.mutate(tenure_days=ibis.literal(pd.Timestamp(as_of).date()).delta(
            view.signup_date.cast("date"), unit="day"))
    extra = {}
    if "unresolved" in view.columns:
        extra["has_unresolved"] = view.unresolved > 0
    if "late_orders" in view.columns:
        extra["has_late_delivery"] = view.late_orders > 0
    if "latest_nps" in view.columns:
        extra["nps_group"] = ibis.cases((view.latest_nps >= 9, "promoter"), (view.latest_nps >= 7, "passive"),
                                        (view.latest_nps.notnull(), "detractor"), else_=ibis.null("string"))
    if extra:
        view = view.mutate(**extra)
    if "nps_group" in view.columns:
        view = view.mutate(is_detractor=ibis.cases((view.nps_group.isnull(), ibis.null("boolean")),
                                                   else_=view.nps_group == "detractor"))
    store.save_table("customer_view", view.order_by("customer_id"))
    return True


def customer_view(store: Store) -> pd.DataFrame:
    """The single customer view as pandas (one row per customer, in customer id order)."""
    if store.backend == "pyspark":  # Spark reads a table's files in no set order
        from cxlib.data import spark

        return spark.to_pandas(store.table("customer_view").order_by("customer_id"))
    return duckdb_frame(store, 'SELECT * FROM "customer_view"')


def to_pandas(store: Store, expr: ibis.Table, order_by: str | None = None) -> pd.DataFrame:
    """``expr.order_by(order_by).to_pandas()`` (the same frame), through Arrow on DuckDB.

    Ibis' own conversion of a large result (text columns above all) costs more than the query,
    and a wide result sorts faster as Arrow (the sort key alone, then one take) than in the engine.
    ``order_by`` names a column without missing values (a key, such as ``customer_id``).
    """
    if store.backend != "duckdb":
        return (expr.order_by(order_by) if order_by else expr).to_pandas()
    import pyarrow.compute as pc

    tbl = store.con.to_pyarrow(expr)
    if order_by:  # byte order of the text, as the engine's ORDER BY
        tbl = tbl.take(pc.sort_indices(tbl.column(order_by)))
    return tbl.to_pandas()


def _arrow_kind(typ) -> str | None:
    """How :func:`duckdb_frame` converts an Arrow column type (None: one it leaves to DuckDB)."""
    import pyarrow as pa

    if pa.types.is_integer(typ):
        return "int"
    if pa.types.is_boolean(typ):
        return "bool"
    if pa.types.is_date(typ):
        return "date"
    if pa.types.is_decimal(typ):  # DuckDB's sums of integers (HUGEINT) and decimals
        return "decimal"
    if (pa.types.is_floating(typ) or pa.types.is_string(typ) or pa.types.is_large_string(typ)
            or pa.types.is_timestamp(typ)):
        return "plain"
    return None


def duckdb_frame(store: Store, sql: str) -> pd.DataFrame:
    """A DuckDB query's rows as pandas with the dtypes of DuckDB's own ``.df()``, through Arrow.

    Several times faster than ``.df()`` for wide frames with text columns (one Arrow buffer per
    column instead of a Python object per value). Integer and boolean columns with missing values
    become pandas' nullable ``Int64``/``boolean`` (as ``.df()`` makes them), dates datetimes and
    decimals (DuckDB's sums of integers) floats; a result with any other type (lists, structs...)
    goes through ``.df()`` itself.
    """
    import pyarrow as pa

    tbl = store.db.execute(sql).to_arrow_table()
    kinds = [_arrow_kind(f.type) for f in tbl.schema]
    if any(k is None for k in kinds):
        return store.db.execute(sql).df()
    for i, kind in enumerate(kinds):
        if kind == "decimal":
            tbl = tbl.set_column(i, tbl.field(i).name, tbl.column(i).cast(pa.float64()))
    out = tbl.to_pandas(date_as_object=False)
    for name, kind, col in zip(tbl.column_names, kinds, tbl.columns, strict=True):
        if kind == "date":
            out[name] = out[name].astype("datetime64[us]")
        elif kind in ("int", "bool") and col.null_count:
            out[name] = col.to_pandas(types_mapper=_nullable_dtype)
    return out


def _nullable_dtype(typ):
    import pyarrow as pa

    if pa.types.is_boolean(typ):
        return pd.BooleanDtype()
    return pd.api.types.pandas_dtype(("U" if pa.types.is_unsigned_integer(typ) else "") + f"Int{typ.bit_width}")


def data_quality(store: Store) -> pd.DataFrame:
    """Per input table: rows, columns, date span, rows left out, and links to known customers.

    ``excluded`` counts rows left out at load (future-dated, or invalid with
    ``invalid_rows: exclude``; each reason is in :func:`load_notes`); ``unmatched_customer``
    counts rows naming a customer the CRM does not have (kept).
    """
    rows = []
    has_customers = store.has("customers")
    for info in store.inputs:
        t = store.table(info.table)
        time_col = time_column(store, info.table)
        aggs = {"rows": t.count()}
        if time_col:
            aggs.update(first=t[time_col].min().cast("date").cast("string"),
                        last=t[time_col].max().cast("date").cast("string"))
        if "customer_id" in t.columns and info.table != "customers" and has_customers:
            known = t.customer_id.isin(store.table("customers").customer_id)
            aggs["unmatched_customer"] = (t.customer_id.notnull() & ~known).cast("int64").sum()
            aggs["no_customer"] = t.customer_id.isnull().cast("int64").sum()
        row = t.aggregate(**aggs).to_pandas().iloc[0].to_dict()
        row.update(table=info.table, file=info.path.rsplit("/", 1)[-1], columns=info.columns,
                   excluded=info.excluded)
        rows.append(row)
    out = pd.DataFrame(rows)
    cols = ["table", "file", "rows", "columns", "first", "last", "excluded", "unmatched_customer", "no_customer"]
    return out.reindex(columns=cols)


def load_notes(store: Store) -> pd.DataFrame:
    """What the loader left out or decided, one row per note (table, file, column, kind, rows, detail)."""
    return pd.DataFrame([vars(n) for n in store.notes],
                        columns=["table", "file", "column", "kind", "rows", "detail", "excluded"])


def blank_scores(store: Store) -> pd.DataFrame:
    """Survey rows with no answer for each score the export has (kept; they only shrink the base)."""
    if not store.has("survey_responses"):
        return pd.DataFrame(columns=["metric", "rows", "blank"])
    cols = [c for c in ("nps", "csat", "ces", "importance", "comment") if store.has_column("survey_responses", c)]
    if not cols:
        return pd.DataFrame(columns=["metric", "rows", "blank"])
    t = store.table("survey_responses")
    row = t.aggregate(n=t.count(), **{c: t[c].isnull().cast("int64").sum() for c in cols}).to_pandas().iloc[0]
    return pd.DataFrame([{"metric": c, "rows": int(row["n"]), "blank": int(row[c])} for c in cols])


def population_counts(store: Store, variables: list[str]) -> pd.DataFrame:
    """Customers per cell of ``variables`` (CRM population for weighting), counted in the engine.

    Only customers who have not churned are the population a survey of current customers
    represents; churned customers are kept out. Columns: variables, customers.
    """
    c = store.table("customers")
    missing = [v for v in variables if v not in c.columns]
    if missing:
        raise ParameterError(f"weighting.variables {missing} are not customers columns "
                             f"({', '.join(c.columns)}); fix params weighting.variables.")
    active = c.filter(~c.churned.fill_null(False)) if "churned" in c.columns else c
    return active.group_by(variables).aggregate(customers=active.count()).order_by(variables).to_pandas()

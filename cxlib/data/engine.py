"""Aggregations that run in the engine (DuckDB through Ibis), not in pandas.

Large tables (web events, orders, interactions) never come into pandas whole: each function
here builds an Ibis expression, runs it in the database, and returns a small tidy frame.
The same expressions run unchanged on any Ibis backend (Spark, a warehouse).
"""

from __future__ import annotations

import ibis
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from cxlib.quant import metrics
from cxlib.data import periods
from cxlib.exceptions import PeriodError
from cxlib.data.io import Store
from cxlib.data.params import Params

#: customer attributes joined onto survey responses for breakdowns
CUSTOMER_COLUMNS = ["segment", "region", "city", "plan", "preferred_channel", "payment_method"]


def quarter_label(col: ibis.Column) -> ibis.Column:
    """``YYYYQn`` label of a timestamp column, computed in the engine."""
    return col.year().cast("string") + "Q" + col.quarter().cast("string")


def time_span(store: Store, table: str = "survey_responses", column: str = "response_time"):
    """(first, last) timestamps of a table, from the engine."""
    t = store.table(table)
    row = t.aggregate(lo=t[column].min(), hi=t[column].max()).to_pandas().iloc[0]
    return pd.Timestamp(row["lo"]), pd.Timestamp(row["hi"])


def resolve_period(store: Store, requested: str | None) -> tuple[periods.Period, periods.Period]:
    """Reporting period (latest complete quarter of the survey data unless requested) and the previous one."""
    lo, hi = time_span(store)
    return periods.resolve(requested, lo, hi)


def responses(store: Store, labels: list[str] | None = None) -> pd.DataFrame:
    """Survey responses with their quarter (``period``), NPS group and the customer's attributes.

    Responses whose customer is not in the CRM keep their scores with empty attributes
    (counted by :func:`data_quality` as unmatched).
    """
    r = store.table("survey_responses")
    c = store.table("customers")
    keep = [col for col in CUSTOMER_COLUMNS if col in c.columns]
    r = r.mutate(period=quarter_label(r.response_time))
    if labels is not None:
        r = r.filter(r.period.isin(labels))
    joined = r.left_join(c.select("customer_id", *keep), r.customer_id == c.customer_id)
    joined = joined.select(*r.columns, *keep)
    out = joined.order_by("response_id").to_pandas()
    out["nps_group"] = metrics.nps_group(out["nps"])
    return out


def verbatims(store: Store, labels: list[str] | None = None) -> pd.DataFrame:
    """Verbatims with their quarter (``period``) and the speaking customer's segment."""
    v = store.table("verbatims")
    c = store.table("customers")
    v = v.mutate(period=quarter_label(v.verbatim_time))
    if labels is not None:
        v = v.filter(v.period.isin(labels))
    joined = v.left_join(c.select("customer_id", "segment"), v.customer_id == c.customer_id)
    return joined.select(*v.columns, "segment").order_by("verbatim_id").to_pandas()


def funnel(store: Store, params: Params, period: periods.Period, by: str = "device") -> pd.DataFrame:
    """Sessions reaching each funnel step, per ``by`` group, for one period.

    A session's depth is the furthest params funnel step it reached; a step's ``sessions``
    counts sessions at that depth or deeper. ``share_of_start`` = sessions / sessions at the
    first step; ``step_conversion`` = sessions / sessions at the previous step.
    """
    steps = [s.event for s in params.funnel]
    w = store.table("web_events")
    w = w.filter((w.event_time >= period.start) & (w.event_time < period.end) & w.event.isin(steps))
    order = ibis.cases(*[(w.event == e, i + 1) for i, e in enumerate(steps)], else_=0)
    per_session = w.group_by(["session_id", by]).aggregate(depth=order.max())
    counts = per_session.group_by([by, "depth"]).aggregate(n=per_session.count()).to_pandas()
    if counts.empty:
        raise PeriodError(f"no web events in {period.label}: the funnel cannot be computed.")
    rows = []
    for group, g in counts.groupby(by):
        depth = g.set_index("depth")["n"]
        for i, step in enumerate(params.funnel, start=1):
            rows.append({by: group, "step_order": i, "event": step.event, "label": step.label,
                         "sessions": int(depth[depth.index >= i].sum())})
    out = pd.DataFrame(rows)
    first = out.groupby(by)["sessions"].transform("first")
    prev = out.groupby(by)["sessions"].shift(1)
    out["share_of_start"] = out["sessions"] / first
    out["step_conversion"] = (out["sessions"] / prev).fillna(1.0)
    out["drop_off"] = 1 - out["step_conversion"]
    return out


def abandonment(funnel_df: pd.DataFrame, start_event: str, end_event: str, by: str = "device",
                confidence: float = 0.95) -> pd.DataFrame:
    """Share of sessions reaching ``start_event`` that never reach ``end_event``, per group.

    Interval: Wilson score interval for a binomial proportion (Wilson 1927), via statsmodels.
    """
    s = funnel_df.pivot_table(index=by, columns="event", values="sessions", aggfunc="sum")
    started = s[start_event].astype(int)
    abandoned = (s[start_event] - s[end_event]).astype(int)
    lo, hi = proportion_confint(abandoned, started.clip(lower=1), alpha=1 - confidence, method="wilson")
    out = pd.DataFrame({by: s.index, "started": started.values, "abandoned": abandoned.values,
                        "rate": (abandoned / started.clip(lower=1)).values, "ci_low": lo.values,
                        "ci_high": hi.values})
    return out.reset_index(drop=True)


def build_customer_view(store: Store, as_of: pd.Timestamp) -> None:
    """Create the single customer view (one row per customer) as table ``customer_view``.

    Joins CRM attributes with order, web, interaction and latest relationship-survey
    aggregates, all computed in the engine up to ``as_of`` (exclusive).
    """
    c = store.table("customers")
    o = store.table("orders").filter(lambda t: t.order_time < as_of)
    w = store.table("web_events").filter(lambda t: (t.event_time < as_of) & t.customer_id.notnull())
    i = store.table("interactions").filter(lambda t: t.interaction_time < as_of)
    r = store.table("survey_responses").filter(
        lambda t: (t.response_time < as_of) & (t.survey_type == "relationship") & t.nps.notnull()
    )
    orders = o.group_by("customer_id").aggregate(
        n_orders=o.count(), order_value=o.amount.sum(), late_orders=o.late.cast("int64").sum(),
        last_order_time=o.order_time.max(),
    )
    web = w.group_by("customer_id").aggregate(n_sessions=w.session_id.nunique(),
                                              last_visit_time=w.event_time.max())
    inter = i.group_by("customer_id").aggregate(
        n_interactions=i.count(), unresolved=(~i.resolved).cast("int64").sum(),
        handling_minutes=i.handling_minutes.mean(),
    )
    latest = r.mutate(rn=ibis.row_number().over(group_by=r.customer_id, order_by=ibis.desc(r.response_time)))
    latest = latest.filter(latest.rn == 0).select("customer_id", latest_nps="nps",
                                                  latest_nps_time="response_time")
    view = c
    for agg in (orders, web, inter, latest):
        view = view.left_join(agg, view.customer_id == agg.customer_id).drop("customer_id_right")
    view = view.mutate(
        n_orders=view.n_orders.fill_null(0), late_orders=view.late_orders.fill_null(0),
        order_value=view.order_value.fill_null(0.0), n_sessions=view.n_sessions.fill_null(0),
        n_interactions=view.n_interactions.fill_null(0), unresolved=view.unresolved.fill_null(0),
        tenure_days=ibis.literal(pd.Timestamp(as_of).date()).delta(view.signup_date.cast("date"), unit="day"),
    )
    view = view.mutate(
        has_unresolved=view.unresolved > 0, has_late_delivery=view.late_orders > 0,
        nps_group=ibis.cases(
            (view.latest_nps >= 9, "promoter"), (view.latest_nps >= 7, "passive"),
            (view.latest_nps.notnull(), "detractor"), else_=None,
        ),
    )
    view = view.mutate(is_detractor=ibis.cases((view.nps_group.isnull(), ibis.null("boolean")),
                                               else_=view.nps_group == "detractor"))
    sql = ibis.to_sql(view, dialect="duckdb")
    store.db.execute(f"CREATE OR REPLACE TABLE customer_view AS {sql}")


def customer_view(store: Store) -> pd.DataFrame:
    """The single customer view as pandas (one row per customer)."""
    return store.df("customer_view")


def data_quality(store: Store, now: pd.Timestamp | None = None) -> pd.DataFrame:
    """Per input table: rows, columns, date span, and key completeness checks, from the engine.

    ``future_dated`` counts records dated after ``now`` (default: the run's clock), which
    usually means a wrong time zone or date format in the export; they are kept and reported.
    """
    now = pd.Timestamp.now() if now is None else pd.Timestamp(now)
    from cxlib.data.schemas import TABLES

    rows = []
    cust = store.table("customers")
    for info in store.inputs:
        t = store.table(info.table)
        time_col = TABLES[info.table][2]
        aggs = {"rows": t.count()}
        if time_col:
            aggs.update(first=t[time_col].min().cast("date").cast("string"),
                        last=t[time_col].max().cast("date").cast("string"),
                        future_dated=(t[time_col] > now).cast("int64").sum())
        if "customer_id" in t.columns and info.table != "customers":
            known = t.customer_id.isin(cust.customer_id)
            aggs["unmatched_customer"] = (t.customer_id.notnull() & ~known).cast("int64").sum()
            aggs["no_customer"] = t.customer_id.isnull().cast("int64").sum()
        row = t.aggregate(**aggs).to_pandas().iloc[0].to_dict()
        row.update(table=info.table, file=info.path.rsplit("/", 1)[-1], columns=info.columns)
        rows.append(row)
    out = pd.DataFrame(rows)
    cols = ["table", "file", "rows", "columns", "first", "last", "future_dated", "unmatched_customer",
            "no_customer"]
    return out.reindex(columns=cols)



def population_counts(store: Store, variables: list[str]) -> pd.DataFrame:
    """Customers per cell of ``variables`` (CRM population for weighting), counted in the engine.

    Only customers who have not churned before the data ends are the population a survey of
    current customers represents; churned customers are kept out. Columns: variables, customers.
    """
    c = store.table("customers")
    missing = [v for v in variables if v not in c.columns]
    if missing:
        from cxlib.exceptions import ParameterError

        raise ParameterError(f"weighting.variables {missing} are not customers columns "
                             f"({', '.join(c.columns)}); fix params weighting.variables.")
    active = c.filter(~c.churned)
    return active.group_by(variables).aggregate(customers=active.count()).order_by(variables).to_pandas()

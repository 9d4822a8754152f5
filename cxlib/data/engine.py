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
from cxlib.data.io import Store, quote
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


def with_customer_columns(store: Store, t: ibis.Table, columns) -> ibis.Table:
    """``t`` left-joined on ``customer_id`` with the CRM's ``columns`` that ``t`` lacks.

    A row whose customer is not in the CRM keeps its values with empty attributes; a column the
    table carries itself is never overwritten. ``t`` unchanged when there is nothing to join.
    """
    if not store.has("customers") or "customer_id" not in t.columns:
        return t
    c = store.table("customers")
    keep = [col for col in dict.fromkeys(columns) if col in c.columns and col not in t.columns]
    if not keep:
        return t
    c = c.select("customer_id", *keep).rename(_cid="customer_id")
    return t.left_join(c, t.customer_id == c._cid).drop("_cid")


#: survey responses joined once, at load, with their customers' attributes (:func:`build_responses`)
RESPONSES_TABLE = "responses_enriched"
#: the score columns counted per group by :func:`score_counts` (metric column -> its scope)
SCORE_SCOPES = {"nps": "relationship", "csat": "transactional", "ces": "transactional"}
#: the validated range of each packed column (schemas.SurveyResponses), and the survey types
_KEY_RANGES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
_KEY_TYPES = {"relationship": 1, "transactional": 2}
#: the columns :func:`build_responses` adds for the engine's own use (never in :func:`responses`)
_PRIVATE = ("_year", "_part", "_score_key")


def _score_key(r: ibis.Table) -> ibis.Column:
    """The survey type and the three scores of a response packed into one small integer.

    ``(nps + 1) + 12 * csat + 72 * ces + 576 * type`` with 0 for a missing value (type 1
    relationship, 2 transactional): a group-by on one 16-bit key instead of four columns (the
    score histogram of :func:`score_counts` is 3x faster). Decoded by :func:`_decode_keys`.
    """
    key = ibis.literal(0)
    for col, mult, offset in (("nps", 1, 1), ("csat", 12, 0), ("ces", 72, 0)):
        if col in r.columns:
            key = key + (r[col] + offset).fill_null(0) * mult
    if "survey_type" in r.columns:
        key = key + r.survey_type.cases(*_KEY_TYPES.items(), else_=0) * 576
    return key.cast("int16")


def _decode_keys(keys: pd.Series) -> pd.DataFrame:
    """survey_type, nps, csat, ces (missing as NaN / None) from :func:`_score_key`'s integers."""
    k = keys.to_numpy(dtype="int64")
    out = {"survey_type": pd.Series(k // 576, index=keys.index).map({v: s for s, v in _KEY_TYPES.items()})}
    for col, value in (("nps", k % 12 - 1), ("csat", (k // 12) % 6), ("ces", (k // 72) % 8)):
        missing = value == (-1 if col == "nps" else 0)
        out[col] = np.where(missing, np.nan, value)
    return pd.DataFrame(out, index=keys.index)


def responses_expr(store: Store, *, key: bool = False) -> ibis.Table | None:
    """Survey responses with their customers' attributes (:data:`CUSTOMER_COLUMNS`, a left join:
    see :func:`with_customer_columns`), and the engine's helper columns: ``_year`` and ``_part``
    (quarter or month, by params ``period_unit``) of the response time and, with ``key``,
    ``_score_key`` (:func:`_score_key`, only when every score lies in its validated range: one
    query checks). None without responses."""
    if not store.has("survey_responses"):
        return None
    r = with_customer_columns(store, store.table("survey_responses"), CUSTOMER_COLUMNS)
    extra = {}
    col_t = time_column(store, "survey_responses")
    unit = store.params.period_unit
    if col_t:
        extra["_year"] = r[col_t].year().cast("int16")
        if unit in ("quarter", "month"):
            extra["_part"] = (r[col_t].quarter() if unit == "quarter" else r[col_t].month()).cast("int16")
    scores = [c for c in _KEY_RANGES if c in r.columns]
    if key and (scores or "survey_type" in r.columns):
        aggs = {f"{c}_{f}": getattr(r[c], f)() for c in scores for f in ("min", "max")}
        if "survey_type" in r.columns:
            aggs["other_types"] = (r.survey_type.notnull() & ~r.survey_type.isin(list(_KEY_TYPES))).cast(
                "int64").sum()
        row = r.aggregate(**aggs).to_pandas().iloc[0] if aggs else {}
        inside = all((pd.isna(row[f"{c}_min"]) or row[f"{c}_min"] >= lo) and (pd.isna(row[f"{c}_max"])
                     or row[f"{c}_max"] <= hi) for c, (lo, hi) in _KEY_RANGES.items() if c in scores)
        if inside and not row.get("other_types", 0):
            extra["_score_key"] = _score_key(r)
    return r.mutate(**extra) if extra else r


def build_responses(store: Store) -> None:
    """Create :data:`RESPONSES_TABLE` (:func:`responses_expr`) once, at load: every breakdown of the
    scores then reads one table instead of joining half a million responses with a million
    customers per query. On DuckDB and on Spark (built in Ibis)."""
    expr = responses_expr(store, key=True)
    if expr is not None:
        store.save_table(RESPONSES_TABLE, expr)


def responses_table(store: Store) -> ibis.Table:
    """:data:`RESPONSES_TABLE` when the load built it, else the same join made now, without the
    packed key (a store that :func:`cxlib.data.io.load_store` did not build)."""
    if store.has(RESPONSES_TABLE):
        return store.table(RESPONSES_TABLE)
    return responses_expr(store)


def responses(store: Store, window=None, unit: str | None = None) -> pd.DataFrame:
    """Survey responses with ``period``, NPS group and the customer's attributes.

    ``window`` None: every response, ``period`` = its ``unit`` label (for trends); a list of
    periods (or labels): the responses in them, ``period`` = that period's label. Responses whose
    customer is not in the CRM keep their scores with empty attributes (counted by
    :func:`data_quality`). Attributes the response itself carries are never overwritten.
    """
    unit = unit or store.params.period_unit
    own = store.columns("survey_responses")
    r = responses_table(store)
    r = _label_periods(r, time_column(store, "survey_responses"), _as_periods(window), unit)
    r = r.select(*own, "period", *[c for c in r.columns if c not in own and c != "period" and c not in _PRIVATE])
    out = r.order_by("response_id").to_pandas()
    out["nps_group"] = nps_group(out["nps"]) if "nps" in out else pd.Series(pd.NA, index=out.index, dtype="object")
    return out


def score_counts(store: Store, by: list[str] | tuple[str, ...] = (), window=None,
                 unit: str | None = None) -> pd.DataFrame:
    """Counts from which every score and its interval follow, per ``period`` and ``by`` group, in the engine.

    One row per (period, *by) with, for each score column the export has (``nps``, ``csat``,
    ``ces``), over the rows in its scope (relationship rows for NPS, transactional rows for CSAT
    and CES, when the export has ``survey_type``): ``<col>_rows`` (rows in scope), ``<col>_n``
    (scores given), ``<col>_sum``, ``<col>_sumsq`` and the counts at or above each cut
    (``nps_pro`` 9-10, ``nps_det`` 0-6, ``csat_top`` 4-5, ``ces_easy`` 5-7). A missing group
    value is the group ``"(not recorded)"``. ``window`` and ``unit`` as in :func:`responses`.

    The engine counts the responses per group and distinct (survey type, nps, csat, ces): the
    scores' histogram, a sufficient statistic for all of the above since every score is an
    integer on a short scale (at most 11 x 6 x 8 x 3 cells a group). The sums come from that small
    frame. Pair with :func:`cxlib.quant.metrics.from_counts`; no response row leaves the engine.
    """
    unit = unit or store.params.period_unit
    r = responses_table(store)
    col_t, window = time_column(store, "survey_responses"), _as_periods(window)
    r = with_customer_columns(store, r, [b for b in by if b not in r.columns])
    by_unit = window is None and col_t is not None
    if by_unit:  # labelled after the counts, from the year and quarter or month: no per-row text
        r = r.filter(r[col_t].notnull())
        # the year and part built at load are for params' unit
        own = "_year" in r.columns and unit == store.params.period_unit and (unit == "year" or "_part" in r.columns)
        parts = {"_y": r._year if own else r[col_t].year()}
        if unit in ("quarter", "month"):
            parts["_u"] = r._part if own else (r[col_t].quarter() if unit == "quarter" else r[col_t].month())
    else:
        r = _label_periods(r, col_t, window, unit)
        r = r.filter(r.period.notnull())
        parts = {"period": r.period}
    groups = {**parts, **{b: r[b].cast("string").fill_null("(not recorded)") for b in by}}
    if "_score_key" in r.columns:
        cells = {"_k": r._score_key}
    else:
        cells = {c: r[c] for c in ("survey_type", *SCORE_SCOPES) if c in r.columns}
    hist = r.group_by(**groups, **cells).aggregate(_n=r.count()).to_pandas()
    if "_k" in hist:
        hist = pd.concat([hist.drop(columns="_k"), _decode_keys(hist["_k"])], axis=1)
    if "period" not in hist:
        hist.insert(0, "period", _unit_labels(hist.pop("_y"), hist.pop("_u") if "_u" in hist else None, unit))
    keys = ["period", *by]
    n = hist["_n"].to_numpy(dtype="int64")
    cols = {}
    for col, scope in SCORE_SCOPES.items():
        if col not in r.columns:
            continue
        inscope = (hist["survey_type"] == scope).to_numpy() if "survey_type" in r.columns else np.ones(len(hist), bool)
        v = hist[col].to_numpy(dtype=float)
        given = inscope & ~np.isnan(v)
        vz = np.where(given, v, 0.0)
        cols[f"{col}_rows"] = np.where(inscope, n, 0)
        cols[f"{col}_n"] = np.where(given, n, 0)
        cols[f"{col}_sum"] = vz * n
        cols[f"{col}_sumsq"] = vz * vz * n
        cuts = {"nps": {"nps_pro": vz >= 9, "nps_det": given & (v <= 6)}, "csat": {"csat_top": vz >= 4},
                "ces": {"ces_easy": vz >= 5}}[col]
        for name, cond in cuts.items():
            cols[name] = np.where(given & cond, n, 0)
    out = pd.concat([hist[keys].reset_index(drop=True), pd.DataFrame(cols)], axis=1)
    out = out.groupby(keys, sort=False, as_index=False, dropna=False).sum()
    return out[keys + list(cols)].sort_values(keys, kind="stable").reset_index(drop=True)


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


#: the character references of HTML/XML that social and review exports leave in their texts (a tweet's
#: "AT&amp;T", "&lt;3"), and what the customer typed; "&amp;" last, so that "&amp;lt;" reads "&lt;"
HTML_REFERENCES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"), ("&apos;", "'"), ("&amp;", "&"))


def _typed(text):
    """A text column with the HTML character references of :data:`HTML_REFERENCES` read back into the
    characters the customer typed (Twitter's API writes '&' as '&amp;'); other text unchanged."""
    for ref, char in HTML_REFERENCES:
        text = text.replace(ref, char)
    return text


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
            elif c == "text":
                sel[c] = _typed(v.text)
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
                  "text": _typed(r.comment), "speaker": ibis.literal("customer")}
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
    v = with_customer_columns(store, v, ["segment"])
    if "segment" not in v.columns:
        v = v.mutate(segment=ibis.null("string"))
    return v.order_by("verbatim_id").to_pandas()


def data_end(store: Store) -> pd.Timestamp:
    """Latest event timestamp in the orders, web events, interactions and survey responses given
    (NaT when none of them has one)."""
    parts = [store.table(t).aggregate(hi=store.table(t)[c].max()) for t, c in (
        ("orders", "order_time"), ("web_events", "event_time"),
        ("interactions", "interaction_time"), ("survey_responses", "response_time")) if store.has_column(t, c)]
    if not parts:
        return pd.NaT
    ends = to_pandas(store, ibis.union(*parts, distinct=False))["hi"]  # one query
    return pd.Timestamp(ends.max())


#: customers counted per signup day, churn day and churn flag, once at load (:func:`build_customer_dates`)
CUSTOMER_DATES = "customer_dates"
_DATE_COLUMNS = ("signup_date", "churned", "churn_date")


def _customer_dates_expr(store: Store, by: str | None = None) -> ibis.Table:
    """Customers per ``[by], signup, churn`` (dates) and ``churned`` (the flag): column ``n``."""
    c = store.table("customers")
    keys = {} if by is None else {by: c[by]}
    return c.group_by(**keys, signup=c.signup_date.date(), churn=c.churn_date.date(),
                      churned=c.churned).aggregate(n=c.count().cast("int64"))


def build_customer_dates(store: Store) -> None:
    """Count the customers per signup day, churn day and churn flag once, at load, as
    :data:`CUSTOMER_DATES` (when the customers table has the three columns).

    Retention by signup cohort needs nothing else: at 1M customers these are about 200k rows,
    which :func:`customer_dates` reads in milliseconds for any ``as_of``, instead of grouping the
    customers again on every call.
    """
    if store.has("customers") and set(_DATE_COLUMNS) <= set(store.columns("customers")):
        store.save_table(CUSTOMER_DATES, _customer_dates_expr(store))


def customer_dates(store: Store, by: str | None = None) -> dict[str, np.ndarray]:
    """Customers per signup day, churn day and churn flag (optionally per customers column ``by``),
    as arrays: ``signup`` and ``churn`` (``datetime64[D]``, NaT where empty), ``churned`` (bool; an
    empty flag reads as not churned), ``n`` (int64) and ``by`` (its values as text, empty ones
    None). From :data:`CUSTOMER_DATES` when ``by`` is None and the load made it, else grouped in
    the engine. Raises ``ValueError`` when the customers table lacks a date column.
    """
    have = store.columns("customers")
    if missing := [c for c in _DATE_COLUMNS if c not in have]:
        raise ValueError(f"customers has no column {', '.join(missing)}: retention needs signup and churn dates")
    if by is not None and by not in have:
        raise ValueError(f"customers has no column {by!r} to break churn down by; columns are {have}")
    if by is None and store.has(CUSTOMER_DATES) and store.backend == "duckdb":
        tbl = store.db.execute(f'SELECT signup, churn, churned, n FROM "{CUSTOMER_DATES}"').to_arrow_table()
    else:
        t = store.table(CUSTOMER_DATES) if by is None and store.has(CUSTOMER_DATES) else _customer_dates_expr(store, by)
        tbl = store.con.to_pyarrow(t)
    import pyarrow.compute as pc

    out = {"signup": tbl.column("signup").to_numpy().astype("datetime64[D]"),
           "churn": tbl.column("churn").to_numpy().astype("datetime64[D]"),
           "churned": pc.fill_null(tbl.column("churned"), False).to_numpy(),
           "n": tbl.column("n").to_numpy().astype(np.int64)}
    if by is not None:
        out["by"] = np.asarray(pc.cast(tbl.column(by), "string").to_pylist(), dtype=object)
    return out


#: each web session summarised once at load (:func:`build_sessions`), and what it was built for
SESSIONS_TABLE = "web_sessions"
SESSIONS_META = "web_sessions_meta"


def _step_of(w: ibis.Table, steps: list[str]) -> ibis.Column:
    """Each event's funnel step (1..k; 0: not a funnel step), by a simple CASE on the event."""
    return w.event.cases(*[(e, i + 1) for i, e in enumerate(steps)], else_=0).cast("int64")


def _bit_of(step: ibis.Column) -> ibis.Column:
    """Bit i-1 for funnel step i (0 for no step), as a 64-bit integer: OR-ed, the set of steps seen."""
    return ibis.cases((step > 0, ibis.literal(1, type="int64") << (step - 1)), else_=0)


def build_sessions(store: Store) -> None:
    """Summarise every web session once, at load, as :data:`SESSIONS_TABLE` (DuckDB only).

    One row per ``session_id`` and ``device`` (where the export has devices): first and last
    event time, the furthest params funnel step reached (``_depth``, 0 for none) and the set of
    steps seen (``_steps``, bit i-1 for step i). :data:`SESSIONS_META` records the funnel steps it
    was built for, the device key, and whether every session has one row. :func:`funnel` then
    counts the sessions wholly inside a period from this table (one row per session instead of
    every event) and only the few sessions crossing the period's edges from the events: the same
    counts. On Spark (no ``bit_or`` in Ibis's PySpark compiler) the funnel reads the events.
    """
    steps = [s.event for s in store.params.funnel]
    if store.backend != "duckdb" or not steps or not store.has("web_events"):
        return
    w = store.table("web_events")
    keys = ["session_id"] + (["device"] if "device" in w.columns else [])
    w = w.select(*keys, "event_time", _step=_step_of(w, steps))  # the step computed once per event
    store.save_table(SESSIONS_TABLE, w.group_by(keys).aggregate(
        _first=w.event_time.min(), _last=w.event_time.max(), _depth=w._step.max(), _steps=_bit_of(w._step).bit_or()))
    one = True
    if len(keys) > 1:  # a session seen on two devices has two rows
        t = store.table(SESSIONS_TABLE)
        n = t.aggregate(rows=t.count(), sessions=t.session_id.nunique()).to_pandas().iloc[0]
        one = bool(n["rows"] == n["sessions"])
    store.db.execute(f'CREATE OR REPLACE TABLE "{SESSIONS_META}" AS SELECT ?::VARCHAR AS steps, '
                     '?::VARCHAR AS by, ?::BOOLEAN AS one_row_per_session', ["\x1f".join(steps), ",".join(keys[1:]), one])


def _sessions_for(store: Store, steps: list[str], by: str | None) -> ibis.Table | None:
    """:data:`SESSIONS_TABLE` when it was built for these funnel ``steps`` and serves a split by
    ``by``: its own key (each session and device are one row, as the funnel groups them), or
    None (the whole funnel) when every session has one row; None when it cannot serve."""
    if store.backend != "duckdb" or not store.has(SESSIONS_META):
        return None
    meta = store.df(SESSIONS_META)
    if not {"steps", "by", "one_row_per_session"} <= set(meta.columns):  # built by an earlier version
        return None
    meta = meta.iloc[0]
    if meta["steps"] != "\x1f".join(steps):
        return None
    if (by is None and bool(meta["one_row_per_session"])) or (by is not None and by == meta["by"]):
        return store.table(SESSIONS_TABLE)
    return None


def _funnel_sessions(store: Store, steps: list[str], period: periods.Period, keys: list[str],
                     masks: bool) -> ibis.Table:
    """One row per session (and ``keys[1:]`` group) with a funnel step in ``period``: its ``depth``
    (furthest step) and, when ``masks``, its ``steps`` (bit i-1 for step i).

    From the events of the period; or, when :func:`build_sessions` made a summary for these
    steps, from the summary for the sessions wholly inside the period and from the events for the
    sessions crossing its start or end (their depth in the period may differ from their whole depth).
    """
    by = keys[1] if len(keys) > 1 else None
    summary = _sessions_for(store, steps, by)
    w = store.table("web_events")
    if summary is not None and not period.is_all:
        inside = (summary._first >= period.start) & (summary._last < period.end)
        crossing = summary.filter((summary._first < period.end) & (summary._last >= period.start) & ~inside)
        w = w.filter(w.session_id.isin(crossing.session_id))
    if not period.is_all:
        w = w.filter((w.event_time >= period.start) & (w.event_time < period.end))
    w = w.filter(w.event.isin(steps))
    w = w.select(*keys, _step=_step_of(w, steps))
    extra = {"steps": _bit_of(w._step).bit_or()} if masks else {}
    per_session = w.group_by(keys).aggregate(depth=w._step.max(), **extra)
    if summary is None:
        return per_session
    whole = summary.filter(summary._depth > 0)
    if not period.is_all:
        whole = whole.filter(inside)
    whole = whole.select(*keys, depth=whole._depth, **({"steps": whole._steps} if masks else {}))
    return whole if period.is_all else ibis.union(whole, per_session.cast(whole.schema()), distinct=False)


def funnel(store: Store, params: Params, period: periods.Period, by: str | None = "device") -> pd.DataFrame:
    """Sessions reaching each funnel step, per ``by`` group, for one period.

    A session's depth is the furthest params funnel step it reached; a step's ``sessions``
    counts sessions at that depth or deeper. ``share_of_start`` = sessions / sessions at the
    first step; ``step_conversion`` = sessions / sessions at the previous step, undefined (NaN)
    when the previous step has no sessions (never drawn as 100 %). ``seen`` says whether the
    step's event occurs at all in the period's events (a step never seen is counted by
    :func:`funnel_unseen` and stated in the report). ``by`` None: one group, ``"all"``.
    Sessions come from :func:`_funnel_sessions` (the load's session summary where it serves).
    """
    steps = [s.event for s in params.funnel]
    if not steps:
        raise ParameterError("the funnel has no steps; declare them in params funnel.")
    one = by is None  # one group: sessions grouped by their id alone, the group named after the counts
    by = "group" if one else by
    if not one and by not in store.columns("web_events"):
        raise ParameterError(f"web events have no column {by!r} to split the funnel by.")
    keys = ["session_id"] + ([] if one else [by])
    # DuckDB: in the same pass, the set of steps each session saw (bit i-1 for step i), whose union
    # is the steps seen at all; Spark (no bit_or in Ibis' PySpark compiler): a second query
    masks = store.backend == "duckdb"
    per_session = _funnel_sessions(store, steps, period, keys, masks)
    extra = {"steps": per_session.steps.bit_or()} if masks else {}
    counts = per_session.group_by(keys[1:] + ["depth"]).aggregate(n=per_session.count(), **extra).to_pandas()
    if one:
        counts.insert(0, by, "all")
    if counts.empty:
        raise PeriodError(f"no web events of the funnel's steps in {period.label}: the funnel cannot be computed.")
    if masks:
        mask = int(np.bitwise_or.reduce(counts["steps"].astype("int64").to_numpy()))
        seen = {steps[i] for i in range(len(steps)) if mask >> i & 1}
    else:
        w = store.table("web_events")
        if not period.is_all:
            w = w.filter((w.event_time >= period.start) & (w.event_time < period.end))
        seen = set(w.filter(w.event.isin(steps)).select("event").distinct().to_pandas()["event"])
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
        if "survey_type" in r.columns:  # a blank type is no relationship answer, as for the scores
            r = r.filter(r.survey_type == "relationship")
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


def customer_view(store: Store, columns=None) -> pd.DataFrame:
    """The single customer view as pandas (one row per customer, in customer id order).

    ``columns``: only those of the view's columns and its key ``customer_id`` (in the view's order;
    names it lacks are left out), for an analysis that reads a few of its 30-odd columns (at 1M customers the whole view
    costs about 0.5 GB in a kernel).
    """
    have = store.columns("customer_view")
    cols = have if columns is None else [c for c in have if c in {"customer_id", *columns}]
    if store.backend == "pyspark":  # Spark reads a table's files in no set order
        from cxlib.data import spark

        return spark.to_pandas(store.table("customer_view").order_by("customer_id").select(*cols))
    return duckdb_frame(store, f'SELECT {", ".join(quote(c) for c in cols)} FROM "customer_view"')


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
    files = {}
    for info in store.inputs:
        files[info.table] = files.get(info.table, 0) + 1
    for info in store.inputs:
        if files[info.table] > 1:  # one of several files of a table: its own figures, measured at load
            row = {"rows": info.rows, "first": info.first or None, "last": info.last or None}
            if "customer_id" in store.columns(info.table) and info.table != "customers" and has_customers:
                row |= {"unmatched_customer": info.unmatched_customer, "no_customer": info.no_customer}
            row.update(table=info.table, file=info.path.rsplit("/", 1)[-1], columns=info.columns,
                       excluded=info.excluded)
            rows.append(row)
            continue
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

"""Churn and retention: churn rate per quarter, retention curves by signup cohort, churn lift.

The customer-level work runs in the engine (DuckDB through Ibis): each function groups the
customers table into a small table of counts (e.g. customers per signup quarter and churn
quarter), and only those counts come back to pandas, where the rates, life tables and
intervals are computed. The same expressions run on any Ibis backend.

Definitions
-----------
Churn rate of a quarter ``[start, end)`` (:func:`churn_by_period`):
    ``active_start`` = customers who signed up before ``start`` and had not churned before
    ``start``; ``churned`` = those of them whose ``churn_date`` lies in the quarter;
    ``rate = churned / active_start`` with a Wilson score interval (Wilson 1927).
    Customers who sign up and churn within the same quarter are in ``new_customers`` but not
    in that quarter's rate (they were not active at its start).

Retention curve (:func:`retention_curves`):
    product-limit life table by whole months since signup, with administrative censoring at
    ``as_of`` (see the function).

Data problems are counted in ``DataFrame.attrs``, never dropped silently:
``churned_without_date`` (churned flag set, no churn date: their exit time is unknown, so
they are left out of ``active_start``/``churned`` and of the retention curves),
``churn_date_without_flag`` (a churn date on a customer not flagged churned: treated as not
churned), ``churn_before_signup`` (churn date earlier than the signup date: left out),
``no_signup_date`` (no signup date: never known to be active at a quarter's start or how many
months it was observed, so left out of both).
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from cxlib.data import periods
from cxlib.data.io import Store

__all__ = ["churn_counts", "churn_table", "churn_by_period", "retention_counts",
           "life_table", "retention_curves", "churn_lift"]

_MISSING = "(missing)"


# --------------------------------------------------------------------------------------
# engine helpers
# --------------------------------------------------------------------------------------
def _qindex(col: ibis.Column) -> ibis.Column:
    """Quarter number ``year * 4 + quarter - 1`` of a timestamp (consecutive quarters differ by 1)."""
    return col.year() * 4 + col.quarter() - 1


def _qlabel(i: int) -> str:
    return f"{int(i) // 4}Q{int(i) % 4 + 1}"


def _qparse(label: str) -> int:
    p = periods.parse(label)
    return p.start.year * 4 + (p.start.month - 1) // 3


def _ymd(days: np.ndarray):
    """Year, month, day and whether it is a month's last day, of ``datetime64[D]`` values (NaT
    gives some valid date's parts: the caller masks them). Computed once per calendar day in the
    values' span and looked up: numpy's calendar conversions cost about 5 ms per 200k values each,
    the lookups a tenth of that."""
    days = np.atleast_1d(np.asarray(days, dtype="datetime64[D]"))
    valid = ~np.isnat(days)
    if not valid.any():
        zeros = np.zeros(days.shape, dtype=np.int64)
        return zeros, zeros, zeros, zeros.astype(bool)
    num = days.astype(np.int64)
    lo, hi = num[valid].min(), num[valid].max()
    span = np.arange(lo, hi + 1).astype("datetime64[D]")
    month = span.astype("datetime64[M]")
    table = (month.astype("datetime64[Y]").astype(np.int64) + 1970, month.astype(np.int64) % 12 + 1,
             (span - month.astype("datetime64[D]")).astype(np.int64) + 1,
             (span + np.timedelta64(1, "D")).astype("datetime64[M]") != month)
    at = num - lo
    at[~valid] = 0
    return tuple(col[at] for col in table)


def full_months(start, end) -> np.ndarray:
    """Whole calendar months from ``start`` to ``end`` (``datetime64[D]`` arrays, or one date).

    The largest ``k`` with ``start + k months <= end``, where adding months clamps to the
    end of a shorter month (31 Jan + 1 month = 28/29 Feb), as pandas ``DateOffset`` and
    SQL ``+ INTERVAL`` do. Negative when ``end`` precedes ``start``; meaningless where either is
    NaT (the caller masks those).
    """
    return _months_between(_ymd(start), _ymd(end))


def _months_between(start: tuple, end: tuple) -> np.ndarray:
    """:func:`full_months` from the :func:`_ymd` parts of both ends."""
    sy, sm, sd, _ = start
    ey, em, ed, end_is_month_end = end
    return (ey - sy) * 12 + (em - sm) - np.where((ed >= sd) | end_is_month_end, 0, 1)


def _group_col(c: ibis.Table, by: str | None):
    if by is None:
        return {}
    if by not in c.columns:
        raise ValueError(f"customers has no column {by!r} to break churn down by; "
                         f"columns are {list(c.columns)}")
    return {by: c[by].cast("string").fill_null(_MISSING)}


def check_confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}")
    return 1 - confidence


# --------------------------------------------------------------------------------------
# churn rate per quarter
# --------------------------------------------------------------------------------------
def churn_counts(store: Store, by: str | None = None) -> pd.DataFrame:
    """Customers per signup quarter and churn quarter (engine aggregate).

    Columns: ``[by], signup_q, churn_q`` (quarter numbers ``year*4 + quarter-1``;
    ``churn_q`` empty without a churn date), ``churned`` (the flag), ``before_signup``
    (churn date earlier than signup), ``n``. This is all :func:`churn_table` needs: a
    customer is active at the start of quarter ``q`` iff ``signup_q < q`` and it did not
    churn in a quarter before ``q``.
    """
    c = store.table("customers")
    keys = _group_col(c, by)
    t = c.mutate(
        **keys,
        signup_q=_qindex(c.signup_date),
        churn_q=_qindex(c.churn_date),
        before_signup=(c.churn_date.date() < c.signup_date.date()).fill_null(False),
    )
    cols = [*keys, "signup_q", "churn_q", "churned", "before_signup"]
    out = t.group_by(cols).aggregate(n=t.count()).to_pandas()
    out["churn_q"] = out["churn_q"].astype("Int64")
    out["signup_q"] = out["signup_q"].astype("Int64")  # empty: no signup date
    return out


def churn_table(counts: pd.DataFrame, labels: list[str] | None = None, *, by: str | None = None,
                confidence: float = 0.95, min_base: int = 30) -> pd.DataFrame:
    """Quarterly churn rates from :func:`churn_counts` (the pure pandas half of :func:`churn_by_period`)."""
    alpha = check_confidence(confidence)
    d = counts.copy()
    churned = d["churned"].astype(bool)
    no_date = churned & d["churn_q"].isna()
    date_no_flag = ~churned & d["churn_q"].notna()
    bad_order = churned & d["before_signup"].astype(bool)
    no_signup = d["signup_q"].isna()
    attrs = {"churned_without_date": int(d.loc[no_date, "n"].sum()),
             "no_signup_date": int(d.loc[no_signup, "n"].sum()),
             "churn_date_without_flag": int(d.loc[date_no_flag, "n"].sum()),
             "churn_before_signup": int(d.loc[bad_order, "n"].sum()),
             "confidence": confidence, "interval": "Wilson score", "min_base": min_base}
    d = d[~no_signup].astype({"signup_q": int})  # never known to be active at a quarter's start
    valid = d[~(no_date | bad_order)[~no_signup]].copy()
    valid["exit_q"] = np.where(valid["churned"].astype(bool), valid["churn_q"].fillna(-1).astype(float),
                               np.inf)
    if labels is None:
        qs = pd.concat([d["signup_q"], valid.loc[np.isfinite(valid["exit_q"]), "exit_q"]])
        if qs.empty:
            raise ValueError("churn_by_period: the customers table is empty.")
        quarters = list(range(int(qs.min()), int(qs.max()) + 1))
    else:
        quarters = [_qparse(lbl) for lbl in labels]
    groups = [(None, d, valid)] if by is None else [
        (g, d[d[by] == g], valid[valid[by] == g]) for g in sorted(d[by].unique())]
    rows = []
    for g, all_rows, v in groups:
        for q in quarters:
            before = v["signup_q"] < q
            active = int(v.loc[before & (v["exit_q"] >= q), "n"].sum())
            lost = int(v.loc[before & (v["exit_q"] == q), "n"].sum())
            row = {"period": _qlabel(q)}
            if by is not None:
                row[by] = g
            row.update(active_start=active, churned=lost,
                       new_customers=int(all_rows.loc[all_rows["signup_q"] == q, "n"].sum()))
            rows.append(row)
    out = pd.DataFrame(rows)
    base = out["active_start"].clip(lower=1)
    lo, hi = proportion_confint(out["churned"], base, alpha=alpha, method="wilson")
    empty = out["active_start"] == 0
    out["rate"] = (out["churned"] / base).mask(empty)
    out["ci_low"] = pd.Series(lo, index=out.index).clip(0, 1).mask(empty)
    out["ci_high"] = pd.Series(hi, index=out.index).clip(0, 1).mask(empty)
    out["small_base"] = out["active_start"] < min_base
    cols = ["period", *([by] if by else []), "active_start", "churned", "rate", "ci_low",
            "ci_high", "new_customers", "small_base"]
    out = out[cols]
    out.attrs.update(attrs)
    return out


def churn_by_period(store: Store, labels: list[str] | None = None, *, by: str | None = None,
                    confidence: float = 0.95, min_base: int = 30) -> pd.DataFrame:
    """Churn rate per calendar quarter (optionally per customer group), with Wilson intervals.

    Parameters
    ----------
    store : Store
    labels : list of str, optional
        Quarters like ``"2026Q3"``; default every quarter from the first to the last one
        holding a signup or churn date.
    by : str, optional
        A customers column ("segment", "region", "plan", ...); empty values become
        ``"(missing)"``.
    confidence : float, default 0.95
    min_base : int, default 30
        ``small_base`` marks quarters with fewer customers active at the start.

    Returns
    -------
    DataFrame
        ``period, [by], active_start, churned, rate, ci_low, ci_high, new_customers,
        small_base``. ``rate`` is empty (NaN) when nobody was active at the quarter start.
        ``attrs``: ``churned_without_date``, ``churn_date_without_flag``,
        ``churn_before_signup``, ``no_signup_date`` (see the module notes), ``confidence``.
    """
    return churn_table(churn_counts(store, by), labels, by=by, confidence=confidence,
                       min_base=min_base)


# --------------------------------------------------------------------------------------
# retention curves
# --------------------------------------------------------------------------------------
#: why a customer is left out of the retention curves (``ok``: in them), in the order tested
_STATUSES = ("ok", "no_signup_date", "signed_up_after_as_of", "churned_without_date", "churn_before_signup")


def observation_end(store: Store, dates: dict | None = None) -> pd.Timestamp:
    """The day after the latest date the data knows: signup and churn dates
    (:func:`cxlib.data.engine.customer_dates`) and every event table's timestamps
    (:func:`cxlib.data.engine.data_end`). Retention without a reporting period (a whole-file
    report) is observed through it; NaT when the data has no date at all."""
    from cxlib.data import engine

    d = engine.customer_dates(store) if dates is None else dates
    days = [x.max() for x in (d["signup"], d["churn"]) if (~np.isnat(x)).any()]
    latest = [pd.Timestamp(x) for x in days] + [engine.data_end(store).normalize()]
    latest = [x for x in latest if pd.notna(x)]
    return max(latest) + pd.Timedelta(days=1) if latest else pd.NaT


def _month_counts(store: Store, as_of, cohort: str, max_months: int, by: str | None):
    """The counts of :func:`retention_counts` as arrays: ``(groups, cohorts, counts, as_of)`` where
    ``groups`` are the values of ``by`` (``[None]`` without it), ``cohorts`` the cohort labels
    (None: no signup date) and ``counts`` a dict of equal-length arrays ``group, cohort, status,
    observed, churn_month, n`` (indexes into the first two and into :data:`_STATUSES`) and
    ``as_of`` the observation end used (see :func:`retention_curves`)."""
    from cxlib.data import engine

    if cohort not in ("quarter", "year"):
        raise ValueError(f"cohort must be 'quarter' or 'year', got {cohort!r}")
    d = engine.customer_dates(store, by)
    end = observation_end(store, d) if as_of is None or pd.isna(as_of) else pd.Timestamp(as_of).normalize()
    as_of = np.datetime64(end.date() if pd.notna(end) else "NaT", "D")  # NaT: no dates, nobody has a signup
    signup, churn, churned, n = d["signup"], d["churn"], d["churned"], d["n"]
    beyond = max_months + 1
    no_signup = np.isnat(signup)
    status = np.select([no_signup, signup > as_of, churned & np.isnat(churn), churned & (churn < signup)],
                       [1, 2, 3, 4], 0)
    ok = status == 0
    start = _ymd(signup)  # the calendar parts of the signup days, once
    observed = np.where(ok, np.minimum(_months_between(start, _ymd(as_of)), max_months), 0)
    seen = ok & churned & ~np.isnat(churn)
    churn_month = np.where(seen, np.minimum(_months_between(start, _ymd(churn)) + 1, beyond),
                           np.where(ok, beyond, 0))
    key = start[0] * 4 + (start[1] - 1) // 3 if cohort == "quarter" else start[0]
    if by is None:
        groups, group = np.array([None], dtype=object), np.zeros(len(n), dtype=np.int64)
    else:  # empty values of ``by`` read as "(missing)"
        group, groups = pd.factorize(pd.Series(d["by"], dtype=object).fillna(_MISSING), sort=True)
        groups = np.asarray(groups, dtype=object)
    # cohort index: 0 for no signup date, else 1 + quarters (years) since the first cohort
    first = key[~no_signup].min() if (~no_signup).any() else 0
    cohort_i = key - (first - 1)
    cohort_i[no_signup] = 0
    keys = np.arange(first, first + cohort_i.max(initial=0))
    cohorts = np.array([None, *(f"{k // 4}Q{k % 4 + 1}" if cohort == "quarter" else str(k) for k in keys)],
                       dtype=object)
    dims = (len(groups), len(cohorts), len(_STATUSES), max_months + 1, beyond + 1)
    total = np.bincount(np.ravel_multi_index((group, cohort_i, status, observed, churn_month), dims),
                        weights=n, minlength=int(np.prod(dims)))
    idx = np.flatnonzero(total)
    g, ci, st, ob, cm = np.unravel_index(idx, dims)
    return groups, cohorts, {"group": g, "cohort": ci, "status": st, "observed": ob, "churn_month": cm,
                             "n": total[idx].astype(np.int64)}, end


def retention_counts(store: Store, as_of, *, cohort: str = "quarter", max_months: int = 24,
                     by: str | None = None) -> pd.DataFrame:
    """Customers per cohort, months observed and churn month.

    Columns: ``[by], cohort, status`` (``ok``, ``no_signup_date``, ``signed_up_after_as_of``,
    ``churned_without_date``, ``churn_before_signup``: the first that applies), ``observed``
    (whole months from signup to ``as_of``, capped at ``max_months``), ``churn_month`` (``m``
    such that the churn date falls in month ``m`` after signup, i.e. in ``[signup + (m-1)
    months, signup + m months)``; ``max_months + 1`` for customers not churned, or churned
    later), ``n``. Rows not ``ok`` have ``observed`` and ``churn_month`` 0.

    The engine counts the customers per signup day, churn day and flag
    (:func:`cxlib.data.engine.customer_dates`, prepared at load); the month arithmetic runs on
    those distinct dates here, and one ``bincount`` groups them.
    """
    groups, cohorts, c, _ = _month_counts(store, as_of, cohort, max_months, by)
    out = pd.DataFrame({"cohort": cohorts[c["cohort"]], "status": np.array(_STATUSES, dtype=object)[c["status"]],
                        "observed": c["observed"].astype(np.int64), "churn_month": c["churn_month"].astype(np.int64),
                        "n": c["n"]})
    if by is not None:
        out.insert(0, by, groups[c["group"]])
    return out


def life_table(observed, churn_month, n=None, *, max_months: int = 24,
               confidence: float = 0.95) -> pd.DataFrame:
    """Product-limit (Kaplan-Meier) life table by whole months, from per-customer counts.

    Parameters
    ----------
    observed : array of int
        Whole months each customer (or group of ``n`` customers) can be observed.
    churn_month : array of int
        Month of churn (``m``: churned in ``[m-1, m)`` months after signup); anything above
        ``observed`` means no churn seen.
    n : array of int, optional
        Number of customers per row (default 1 each).

    Returns
    -------
    DataFrame
        ``month`` (k = 0..), ``at_risk`` (n_k), ``churned_in_month`` (d_k), ``censored``
        (at risk in month k, not churned, and not observable in month k+1; on the last row
        everyone still at risk), ``retained`` S(k), ``se`` (Greenwood),
        ``ci_low``, ``ci_high`` (log-log). Rows stop at the last month with anyone at risk.
    """
    out = _life_tables(np.zeros(len(np.asarray(observed)), dtype=np.int64), 1, observed, churn_month, n,
                       max_months=max_months, confidence=confidence)
    return out.drop(columns="_group")


def _life_tables(group, n_groups: int, observed, churn_month, n=None, *, max_months: int = 24,
                 confidence: float = 0.95) -> pd.DataFrame:
    """:func:`life_table` of every group ``0..n_groups-1`` at once (``group``: each row's), stacked
    in group order with the group in column ``_group``; a group without rows has none."""
    alpha = check_confidence(confidence)
    z = stats.norm.ppf(1 - alpha / 2)
    obs = np.minimum(np.asarray(observed, dtype=np.int64), max_months)
    m = np.asarray(churn_month, dtype=np.int64)
    w = np.ones(len(obs), dtype=np.int64) if n is None else np.asarray(n, dtype=np.int64)
    group = np.asarray(group, dtype=np.int64)
    width = max_months + 1
    # n_k = customers with min(obs, m) >= k (k >= 1; everyone at k = 0): a reversed cumulative count;
    # d_k = customers with m == k <= obs. Counted with bincount per (group, month), not a mask per month.
    reach = np.clip(np.minimum(obs, m), 0, max_months)
    at_risk = np.bincount(group * width + reach, weights=w, minlength=n_groups * width).reshape(n_groups, width)
    at_risk = np.cumsum(at_risk[:, ::-1], axis=1)[:, ::-1].astype(np.int64)
    at_risk[:, 0] = np.bincount(group, weights=w, minlength=n_groups).astype(np.int64)
    seen = (m >= 1) & (m <= obs)
    d = np.bincount(group[seen] * width + m[seen], weights=w[seen],
                    minlength=n_groups * width).reshape(n_groups, width).astype(np.int64)
    d[:, 0] = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.cumprod(np.where(at_risk > 0, 1 - d / at_risk, 1.0), axis=1)
        g = np.cumsum(np.where(d > 0, d / (at_risk * (at_risk - d)), 0.0), axis=1)
        se = s * np.sqrt(g)
        inner = (s > 0) & (s < 1)
        se_theta = np.sqrt(g) / np.abs(np.log(s))
        lo = np.where(inner, s ** np.exp(z * se_theta), s)
        hi = np.where(inner, s ** np.exp(-z * se_theta), s)
    se = np.where(s > 0, se, 0.0)
    nxt = np.concatenate([at_risk[:, 1:], np.zeros((n_groups, 1), dtype=np.int64)], axis=1)
    keep = (at_risk > 0).ravel()  # at_risk never grows with k: rows stop at a group's last month with anyone
    months = np.tile(np.arange(width), n_groups)
    return pd.DataFrame({"_group": np.repeat(np.arange(n_groups), width)[keep], "month": months[keep],
                         "at_risk": at_risk.ravel()[keep], "churned_in_month": d.ravel()[keep],
                         "censored": (at_risk - d - nxt).ravel()[keep], "retained": s.ravel()[keep],
                         "se": se.ravel()[keep], "ci_low": lo.ravel()[keep], "ci_high": hi.ravel()[keep]})


def retention_curves(store: Store, as_of, *, cohort: str = "quarter", max_months: int = 24,
                     confidence: float = 0.95, min_cohort: int = 30,
                     by: str | None = None) -> pd.DataFrame:
    """Retention by signup cohort and months since signup: life table with Greenwood intervals.

    Estimator: the product-limit (Kaplan-Meier) estimator on whole months,
    ``S(k) = prod_{j=1..k} (1 - d_j / n_j)``, ``S(0) = 1``, where for month ``j`` (the
    interval ``[signup + (j-1) months, signup + j months)``):

    * ``n_j`` (``at_risk``) = customers of the cohort who are observable for ``j`` whole
      months (``signup + j months <= as_of``) and had not churned before month ``j``;
    * ``d_j`` (``churned_in_month``) = those of them whose churn date falls in month ``j``.

    Censoring rule: a customer who has not reached month ``k`` by ``as_of`` is censored
    (it leaves the at-risk set; it is not counted as retained). A churn after ``as_of`` is
    not seen. Censoring here is administrative (fixed by the signup date), so independent of
    churn. Variance: Greenwood, ``Var S(k) = S(k)^2 sum_j d_j / (n_j (n_j - d_j))``; the
    interval is the log-log one (Kalbfleisch & Prentice 2002; the default of lifelines and
    of R ``survival``): ``S(k) ** exp(+-z * sqrt(sum_j d_j/(n_j(n_j-d_j))) / |log S(k)|)``,
    which stays inside [0, 1]. While ``S(k) = 1`` (no churn yet) the interval is [1, 1].

    Parameters
    ----------
    store : Store
    as_of : date-like or None
        The date through which churn is observed, exclusive; pass the reporting period's
        ``end`` (the day after it). None (a report on the whole file): :func:`observation_end`,
        the day after the latest date in the data; ``attrs["as_of"]`` says which.
    cohort : {"quarter", "year"}
        Signup cohort: ``2025Q3`` or ``2025``.
    max_months : int, default 24
    confidence : float, default 0.95
    min_cohort : int, default 30
        Cohorts with fewer customers (signed up by ``as_of``) are left out and listed in
        ``attrs["small_cohorts"]``; ``small_base`` marks months with ``at_risk < min_cohort``.
    by : str, optional
        A customers column: curves per cohort within each group.

    Returns
    -------
    DataFrame
        ``[by], cohort, month, at_risk, churned_in_month, censored, retained, se, ci_low,
        ci_high, cohort_size, small_base``. ``attrs``: ``small_cohorts`` ({cohort: size}),
        ``churned_without_date``, ``churn_before_signup``, ``signed_up_after_as_of``,
        ``no_signup_date`` (customers left out, counted),
        ``as_of``, ``confidence``, ``interval``.
    """
    groups, cohorts, c, end = _month_counts(store, as_of, cohort, max_months, by)
    ok = c["status"] == 0
    # one life table per (group, cohort) with customers in it, in group then cohort label order
    pair = c["group"] * len(cohorts) + c["cohort"]
    sizes = np.bincount(pair[ok], weights=c["n"][ok], minlength=len(groups) * len(cohorts)).astype(np.int64)
    order = np.flatnonzero(sizes)  # groups come sorted, cohorts in time order: pairs in both orders
    small = {}
    for p in order:
        if sizes[p] < min_cohort:
            name = cohorts[p % len(cohorts)]
            small[name if not by else f"{groups[p // len(cohorts)]} / {name}"] = int(sizes[p])
    kept = np.array([p for p in order if sizes[p] >= min_cohort], dtype=np.int64)
    keys = [by, "cohort"] if by else ["cohort"]
    cols = [*keys, "month", "at_risk", "churned_in_month", "censored", "retained", "se",
            "ci_low", "ci_high", "cohort_size", "small_base"]
    rank = np.full(len(groups) * len(cohorts), -1, dtype=np.int64)
    rank[kept] = np.arange(len(kept))
    use = ok & (rank[pair] >= 0)
    if len(kept):
        out = _life_tables(rank[pair[use]], len(kept), c["observed"][use], c["churn_month"][use], c["n"][use],
                           max_months=max_months, confidence=confidence)
        which = kept[out.pop("_group").to_numpy()]
        if by:
            out.insert(0, by, groups[which // len(cohorts)])
        out.insert(1 if by else 0, "cohort", cohorts[which % len(cohorts)])
        out["cohort_size"] = sizes[which]
        out["small_base"] = out["at_risk"] < min_cohort
    else:
        out = pd.DataFrame(columns=cols)
    out = out[cols]
    excluded = np.bincount(c["status"], weights=c["n"], minlength=len(_STATUSES)).astype(np.int64)
    out.attrs.update(
        small_cohorts=small, as_of=str(end.date()) if pd.notna(end) else None, confidence=confidence,
        interval="log-log (Greenwood variance)", min_cohort=min_cohort,
        **{s: int(excluded[_STATUSES.index(s)]) for s in _STATUSES[1:]},
    )
    return out


# --------------------------------------------------------------------------------------
# churn lift of a signal
# --------------------------------------------------------------------------------------
def _as_flag(s: pd.Series, name: str) -> pd.Series:
    """A boolean-like column as a nullable boolean; other values are an error."""
    missing = s.isna()
    vals = s[~missing]
    ok = vals.map(lambda v: isinstance(v, (bool, np.bool_)) or v in (0, 1))
    if not ok.all():
        bad = list(pd.unique(vals[~ok].astype(str)))[:5]
        raise ValueError(f"churn_lift: column {name!r} must be true/false (or 1/0, or empty); "
                         f"found {bad}")
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[~missing] = vals.astype(bool).to_numpy()
    return out


def churn_lift(view: pd.DataFrame, signals: list[str], *, confidence: float = 0.95,
               churn: str = "churned") -> pd.DataFrame:
    """Churn among customers with and without each signal: rates, risk ratio, difference, test.

    Parameters
    ----------
    view : DataFrame
        One row per customer (the single customer view, :func:`cxlib.data.engine.customer_view`)
        with the boolean ``churn`` column and each signal column.
    signals : list of str
        Boolean columns, e.g. ``has_unresolved``, ``has_late_delivery``, ``is_detractor``.
        Missing values are counted in ``missing`` and left out of both groups (never taken
        as False).
    confidence : float, default 0.95

    Returns
    -------
    DataFrame
        One row per signal: ``signal, customers_with, churned_with, rate_with,
        customers_without, churned_without, rate_without, missing, risk_ratio, rr_ci_low,
        rr_ci_high`` (log method, Katz et al. 1978: ``log RR +- z sqrt(1/a - 1/n1 + 1/c -
        1/n2)``; empty if a group has no churn), ``difference`` (rate_with - rate_without),
        ``diff_ci_low, diff_ci_high`` (Newcombe's hybrid Wilson score interval, 1998),
        ``z, p_value`` (two-sided two-proportion z-test with the pooled variance, as
        statsmodels ``proportions_ztest``), ``significant`` (p < 1 - confidence).
        ``attrs["churn_missing"]``: customers with no churn value (left out).
    """
    alpha = check_confidence(confidence)
    zq = stats.norm.ppf(1 - alpha / 2)
    if churn not in view.columns:
        raise ValueError(f"churn_lift: the frame has no {churn!r} column")
    churned = _as_flag(view[churn], churn)
    rows = []
    for sig in signals:
        if sig not in view.columns:
            raise ValueError(f"churn_lift: no signal column {sig!r}; columns are {list(view.columns)}")
        flag = _as_flag(view[sig], sig)
        known = flag.notna() & churned.notna()
        f, y = flag[known].astype(bool), churned[known].astype(bool)
        n1, a = int(f.sum()), int((f & y).sum())
        n2, c = int((~f).sum()), int((~f & y).sum())
        p1 = a / n1 if n1 else np.nan
        p2 = c / n2 if n2 else np.nan
        row = {"signal": sig, "customers_with": n1, "churned_with": a, "rate_with": p1,
               "customers_without": n2, "churned_without": c, "rate_without": p2,
               "missing": int(flag.isna().sum())}
        rr = lo = hi = np.nan
        if n1 and n2 and c:
            rr = p1 / p2
            if a:
                se = np.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
                lo, hi = np.exp(np.log(rr) - zq * se), np.exp(np.log(rr) + zq * se)
        row.update(risk_ratio=rr, rr_ci_low=lo, rr_ci_high=hi, difference=p1 - p2)
        dlo = dhi = zval = pval = np.nan
        if n1 and n2:
            dlo, dhi = confint_proportions_2indep(a, n1, c, n2, method="newcomb", compare="diff",
                                                  alpha=alpha)
            pool = (a + c) / (n1 + n2)
            sd = np.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
            if sd > 0:
                zval = (p1 - p2) / sd
                pval = 2 * stats.norm.sf(abs(zval))
        row.update(diff_ci_low=dlo, diff_ci_high=dhi, z=zval, p_value=pval,
                   significant=bool(pval < alpha) if np.isfinite(pval) else False)
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs.update(churn_missing=int(churned.isna().sum()), confidence=confidence,
                     risk_ratio_interval="log (Katz 1978)",
                     difference_interval="Newcombe hybrid score")
    return out

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
churned), ``churn_before_signup`` (churn date earlier than the signup date: left out).
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


def full_months(start, end):
    """Whole calendar months from ``start`` to ``end`` (Ibis date/timestamp expressions).

    The largest ``k`` with ``start + k months <= end``, where adding months clamps to the
    end of a shorter month (31 Jan + 1 month = 28/29 Feb), as pandas ``DateOffset`` and
    SQL ``+ INTERVAL`` do; dates only (times of day are ignored). Negative when ``end``
    precedes ``start``.
    """
    months = (end.year() - start.year()) * 12 + (end.month() - start.month())
    end_is_month_end = (end + ibis.interval(days=1)).day() == 1
    reached = (end.day() >= start.day()) | end_is_month_end
    return months - ibis.ifelse(reached, 0, 1)


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
    out["signup_q"] = out["signup_q"].astype(int)
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
    attrs = {"churned_without_date": int(d.loc[no_date, "n"].sum()),
             "churn_date_without_flag": int(d.loc[date_no_flag, "n"].sum()),
             "churn_before_signup": int(d.loc[bad_order, "n"].sum()),
             "confidence": confidence, "interval": "Wilson score", "min_base": min_base}
    valid = d[~no_date & ~bad_order].copy()
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
        ``churn_before_signup`` (see the module notes), ``confidence``.
    """
    return churn_table(churn_counts(store, by), labels, by=by, confidence=confidence,
                       min_base=min_base)


# --------------------------------------------------------------------------------------
# retention curves
# --------------------------------------------------------------------------------------
def retention_counts(store: Store, as_of, *, cohort: str = "quarter", max_months: int = 24,
                     by: str | None = None) -> pd.DataFrame:
    """Customers per cohort, months observed and churn month (engine aggregate).

    Columns: ``[by], cohort, status`` (``ok``, ``churned_without_date``,
    ``churn_before_signup``, ``signed_up_after_as_of``), ``observed`` (whole months from
    signup to ``as_of``, capped at ``max_months``), ``churn_month`` (``m`` such that the
    churn date falls in month ``m`` after signup, i.e. in ``[signup + (m-1) months,
    signup + m months)``; ``max_months + 1`` for customers not churned, or churned later),
    ``n``.
    """
    if cohort not in ("quarter", "year"):
        raise ValueError(f"cohort must be 'quarter' or 'year', got {cohort!r}")
    as_of = pd.Timestamp(as_of).normalize()
    c = store.table("customers")
    keys = _group_col(c, by)
    # customers per (signup day, churn day, flag) first: the month arithmetic then runs on
    # distinct dates (about a fifth of the rows at 1M customers) instead of on every customer
    c = c.group_by(**keys, signup=c.signup_date.date(), churn=c.churn_date.date(),
                   churned=c.churned).aggregate(n=c.count())
    lit = ibis.literal(as_of.date())
    label = c.signup.year().cast("string")
    if cohort == "quarter":
        label = label + "Q" + c.signup.quarter().cast("string")
    beyond = max_months + 1
    churn_month = full_months(c.signup, c.churn) + 1
    status = ibis.cases(
        (c.signup > lit, "signed_up_after_as_of"),
        (c.churned & c.churn.isnull(), "churned_without_date"),
        (c.churned & (c.churn < c.signup), "churn_before_signup"),
        else_="ok",
    )
    t = c.mutate(
        cohort=label, status=status,
        observed=ibis.least(full_months(c.signup, lit), max_months),
        churn_month=ibis.ifelse(c.churned & c.churn.notnull(),
                                ibis.least(churn_month, beyond), beyond),
    )
    cols = [*keys, "cohort", "status", "observed", "churn_month"]
    return t.group_by(cols).aggregate(n=t.n.sum().cast("int64")).to_pandas()


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
    alpha = check_confidence(confidence)
    z = stats.norm.ppf(1 - alpha / 2)
    obs = np.minimum(np.asarray(observed, dtype=int), max_months)
    m = np.asarray(churn_month, dtype=int)
    w = np.ones(len(obs), dtype=int) if n is None else np.asarray(n, dtype=int)
    ks = np.arange(0, max_months + 1)
    # n_k = customers with min(obs, m) >= k (k >= 1; everyone at k = 0): a reversed cumulative count;
    # d_k = customers with m == k <= obs. Counted with bincount, not a mask per month.
    reach = np.clip(np.minimum(obs, m), 0, max_months)
    at_risk = np.cumsum(np.bincount(reach, weights=w, minlength=max_months + 1)[::-1])[::-1].astype(int)
    at_risk[0] = w.sum()
    seen = (m >= 1) & (m <= obs)
    d = np.bincount(m[seen], weights=w[seen], minlength=max_months + 1)[: max_months + 1].astype(int)
    d[0] = 0
    keep = at_risk > 0
    ks, at_risk, d = ks[keep], at_risk[keep], d[keep]
    s = np.cumprod(1 - d / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.cumsum(np.where(d > 0, d / (at_risk * (at_risk - d)), 0.0))
        se = s * np.sqrt(g)
        inner = (s > 0) & (s < 1)
        se_theta = np.sqrt(g) / np.abs(np.log(s))
        lo = np.where(inner, s ** np.exp(z * se_theta), s)
        hi = np.where(inner, s ** np.exp(-z * se_theta), s)
    se = np.where(s > 0, se, 0.0)
    nxt = np.r_[at_risk[1:], 0]
    return pd.DataFrame({"month": ks, "at_risk": at_risk, "churned_in_month": d,
                         "censored": at_risk - d - nxt, "retained": s, "se": se,
                         "ci_low": lo, "ci_high": hi})


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
    as_of : date-like
        The date through which churn is observed, exclusive; pass the reporting period's
        ``end`` (the day after it).
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
        ``as_of``, ``confidence``, ``interval``.
    """
    counts = retention_counts(store, as_of, cohort=cohort, max_months=max_months, by=by)
    ok = counts[counts["status"] == "ok"]
    keys = [by, "cohort"] if by else ["cohort"]
    parts, small = [], {}
    for key, g in ok.groupby(keys, sort=True):
        size = int(g["n"].sum())
        name = key if by else key[0]
        if size < min_cohort:
            small[name if not by else f"{key[0]} / {key[1]}"] = size
            continue
        lt = life_table(g["observed"], g["churn_month"], g["n"], max_months=max_months,
                        confidence=confidence)
        if by:
            lt.insert(0, by, key[0])
        lt.insert(1 if by else 0, "cohort", key[-1])
        lt["cohort_size"] = size
        parts.append(lt)
    cols = [*keys, "month", "at_risk", "churned_in_month", "censored", "retained", "se",
            "ci_low", "ci_high", "cohort_size", "small_base"]
    if parts:
        out = pd.concat(parts, ignore_index=True)
        out["small_base"] = out["at_risk"] < min_cohort
    else:
        out = pd.DataFrame(columns=cols)
    out = out[cols]
    excluded = counts[counts["status"] != "ok"].groupby("status")["n"].sum()
    out.attrs.update(
        small_cohorts=small, as_of=str(pd.Timestamp(as_of).date()), confidence=confidence,
        interval="log-log (Greenwood variance)", min_cohort=min_cohort,
        **{s: int(excluded.get(s, 0)) for s in
           ("churned_without_date", "churn_before_signup", "signed_up_after_as_of")},
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

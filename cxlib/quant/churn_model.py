"""Churn risk on a client's own columns or on dated CX signals: models, checks, risk, drivers, actions.

Two modes answer "which customers are likely to leave, and why?", with one result type
(:class:`ChurnModel`), one scorer (:func:`score_frame`) and one at-risk list (:func:`at_risk`).

**Snapshot mode** (:func:`fit_snapshot_model`): a CRM snapshot with a churned yes/no flag and
no dates (customer id, demographics, contract or plan, tenure, charges, services). Every
usable column is a predictor (or those declared in params); :mod:`cxlib.quant.predictors`
screens them (id-like, name-like, empty, constant, collinear and leaking columns dropped
with a note) and encodes them inside each cross-validation fold. Two models:

* a logistic regression (statsmodels ``Logit``, maximum likelihood) for explanation: odds
  ratios ``exp(b)`` with Wald intervals ``exp(b +- z se)``, the reference level of each
  categorical being its largest;
* gradient boosting (scikit-learn ``HistGradientBoostingClassifier``: learning rate 0.1, at
  most 300 trees of 15 leaves, 40 rows per leaf, early stopping after 15 trees without gain
  on a 10 % validation split)
  for ranking, its scores calibrated by Platt scaling (Platt 1999:
  ``P(churn | f) = 1 / (1 + exp(A f + B))`` fitted by maximum likelihood on the out-of-fold
  scores with targets ``(N+ + 1) / (N+ + 2)`` and ``1 / (N- + 2)``; the same as scikit-learn's
  ``CalibratedClassifierCV(method="sigmoid", ensemble=False)`` on the same folds).

``model="auto"`` keeps the logistic regression unless gradient boosting ranks better with
confidence: the percentile bootstrap interval of the paired difference of their
cross-validated AUCs (same resampled customers) lies above zero.

**Time-windowed mode** (:func:`churn_datasets` + :func:`fit_churn_model`): a client with dated
orders, interactions and surveys (the demo). The model answers "which current customers are
likely to leave in the next ``horizon`` days?" on signals a CX team can act on. It is fitted
on a *past* cut-off, where the outcome has been observed, and applied at the reporting date:

* **training**: features measured before ``cutoff = as_of - horizon``, label = churned in
  ``[cutoff, as_of)``;
* **scoring**: features measured before ``as_of`` for the customers active at ``as_of``.

No information from on or after a cut-off enters its features (no leakage): every signal
is computed in the engine (DuckDB through Ibis) from the raw tables filtered to
``time < cutoff``; only the label looks past it. The logistic model on these signals goes
through the same screening and fold-safe encoding as the snapshot mode (a constant or
collinear signal is dropped with a note, a level missing from a fold is encoded as the
reference level), and a client's own columns may be added to the signals by fitting
:func:`fit_snapshot_model` on the training features joined with them.

Signals (one row per customer active at the cut-off; see :func:`churn_features`)
-------------------------------------------------------------------------------------
``nps_group``
    Group of the customer's latest relationship NPS answer in the ``survey_days`` (365)
    before the cut-off: promoter (9-10), passive (7-8), detractor (0-6), or
    ``"no response"`` (no answer in the window: its own category, never imputed).
``has_unresolved``
    At least one support interaction in the ``window_days`` (180) before the cut-off that
    is not resolved.
``late_deliveries``
    Number of late orders in the ``window_days`` before the cut-off (``orders_window``
    orders in the window, ``late_share`` = late / orders, empty without orders).
``tenure_years``
    Years from signup to the cut-off.
``recency_days`` / ``low_recency``
    Days since the last order or identified web visit before the cut-off;
    ``low_recency`` = more than ``low_recency_days`` (90) days, or no activity at all
    (``recency_days`` empty; counted in ``attrs["no_activity"]``).
``mean_ces`` / ``high_effort`` / ``ces_missing``
    Mean transactional CES (1-7, higher = easier) over the ``survey_days`` before the
    cut-off; ``high_effort`` = mean CES <= 3; customers without a CES answer have
    ``high_effort = 0`` and the indicator ``ces_missing = 1`` (counted in attrs).
``segment``
    The CRM segment (a missing segment becomes ``"(missing)"``).

Label ``churned``: the customer is flagged churned with a churn date in
``[cutoff, cutoff + horizon)``; empty (NA) when that window is not yet over in the data
(scoring). Customers flagged churned without a churn date cannot be placed in time and are
left out (counted in ``attrs["churned_without_date"]``); a churn date on a customer not
flagged churned is ignored (counted in ``attrs["churn_date_without_flag"]``), as in
:mod:`cxlib.quant.retention`.

Checks, with their baselines
----------------------------
Discrimination: stratified K-fold cross-validated AUC (each model refitted per fold; AUC of
the pooled out-of-fold probabilities, ``roc_auc_score``) with a percentile bootstrap
interval, beside the no-skill AUC 0.5 (and, in the time-windowed mode, the AUC on a seeded
30 % held-out split). Calibration on the out-of-fold probabilities: a table by decile of
predicted risk, the Hosmer-Lemeshow statistic (Hosmer & Lemeshow 1980; ``g - 2`` degrees of
freedom), the Brier score ``mean (p - y)^2`` beside the Brier score of the base rate (each
fold predicted by its training part's churn rate). :func:`compare_models` puts models (e.g.
the CX-signal model and the snapshot model of the same client) side by side.

Scale: when there are more than ``sample_rows`` labelled customers the models are fitted on a
stratified sample of that size (``train_test_split(train_size=sample_rows, stratify=y)``);
bootstrap intervals use ``n_boot`` resamples of that sample, each AUC computed from the
sorted scores with the resample counts as weights (no re-sorting). Scoring
(:func:`score_frame`) runs in batches with array operations only.

Drivers: odds ratios (``ChurnModel.odds_ratios``) and, for gradient boosting, permutation
importance (``ChurnModel.importance``: the mean fall of the held-out AUC when a column is
shuffled, Breiman 2001, measured on each fold's held-out rows with that fold's model, five
shuffles each). A customer's **main driver** is the predictor contributing most to their risk: for the
logistic model ``sum over its design columns of b (x - reference)`` (reference: 0 for flags,
missing indicators and levels, i.e. the reference level; the training median for other
numbers), for gradient boosting the fall of the calibrated log-odds when that predictor alone
is set to its reference value (the same references). ``"none"`` when no predictor raises the
risk above the reference customer.

Driver keys (``main_driver``; the keys of params ``next_best_actions``)
-----------------------------------------------------------------------
* ``column=level``: a categorical level (``Contract=Month-to-month``, ``Geography=Germany``,
  ``PaymentMethod=(missing)``, ``City=(other)``);
* ``column:high`` / ``column:low``: a number above / below its reference (the median), e.g.
  ``Age:high``; ``column:missing``: a number the customer has no value for;
* ``column``: a 0/1 flag that is set (``IsActiveMember``, ``has_unresolved``);
* the CX signals of the time-windowed mode keep their names: ``is_detractor``,
  ``is_passive``, ``no_nps_response``, ``has_unresolved``, ``has_late_delivery``,
  ``short_tenure``, ``long_tenure``, ``low_recency``, ``high_effort``, ``no_ces_response``,
  ``segment``.
:func:`at_risk` looks a rule up by the full key, then by the bare column name, then falls
back to "Review manually".

Pseudonyms (:func:`pseudonymise`): the stakeholder at-risk list carries ``customer_ref`` =
the first 10 hex characters of HMAC-SHA256(salt, customer_id), never the id, e-mail or phone.
The runner supplies the salt: the environment variable ``CXLIB_PSEUDONYM_SALT`` when set,
otherwise a random per-client salt kept in the analyst output folder (never in the report),
so the same customer gets the same reference from one run to the next and an analyst can
map a reference back to the customer through the analyst list only.

Churn rate by attribute (:func:`churn_rate_by`): Wilson score intervals (Wilson 1927) per
level and Pearson's chi-square test of independence across levels.
"""

from __future__ import annotations

import hashlib
import hmac
import warnings
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd
from scipy import optimize, stats
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from statsmodels.stats.proportion import proportion_confint
from threadpoolctl import threadpool_limits

from cxlib.data import engine
from cxlib.data.io import Store
from cxlib.data.params import NextAction, Params
from cxlib.quant.predictors import (
    DROP_COLUMNS,
    MISSING,
    DesignEncoder,
    LogitModel,
    as_numbers,
    column_kind,
    screen_predictors,
)

__all__ = ["SIGNALS", "FEATURE_COLUMNS", "CX_PREDICTORS", "ChurnModel", "churn_features",
           "churn_datasets", "fit_churn_model", "fit_snapshot_model", "hosmer_lemeshow",
           "calibration_table", "platt_scaling", "score_frame", "score_customers", "at_risk",
           "pseudonymise", "churn_rate_by", "compare_models", "REVIEW_ACTION"]

NO_RESPONSE = "no response"
MISSING_SEGMENT = "(missing)"
REVIEW_ACTION = NextAction(action="Review manually", owner="CX team")

#: model signal -> readable label (the odds-ratio table and the at-risk lists use these)
SIGNALS: dict[str, str] = {
    "nps_group": "NPS group (vs promoter)",
    "has_unresolved": "Unresolved support issue (last 180 days)",
    "late_deliveries": "Late deliveries (last 180 days, per delivery)",
    "tenure_years": "Tenure (per year)",
    "low_recency": "No order or visit in the last 90 days",
    "high_effort": "High effort (mean CES <= 3)",
    "ces_missing": "No effort (CES) answer",
    "segment": "Segment",
}
#: the time-windowed model's predictors, in design order
CX_PREDICTORS = ["nps_group", "has_unresolved", "late_deliveries", "tenure_years", "low_recency",
                 "high_effort", "ces_missing", "segment"]

#: driver key (as in params ``next_best_actions``) -> readable label
DRIVER_LABELS: dict[str, str] = {
    "is_detractor": "Detractor (NPS 0-6)",
    "is_passive": "Passive (NPS 7-8)",
    "no_nps_response": "No NPS answer",
    "has_unresolved": "Unresolved support issue",
    "has_late_delivery": "Late deliveries",
    "short_tenure": "Short tenure",
    "long_tenure": "Long tenure",
    "low_recency": "No recent order or visit",
    "high_effort": "High effort (low CES)",
    "no_ces_response": "No effort (CES) answer",
    "segment": "Segment",
    "none": "No risk signal above baseline",
}

FEATURE_COLUMNS = ["customer_id", "segment", "nps_group", "latest_nps", "has_unresolved",
                   "unresolved_window", "orders_window", "late_deliveries", "late_share",
                   "tenure_years", "recency_days", "low_recency", "mean_ces", "high_effort",
                   "ces_missing", "churned"]

# --------------------------------------------------------------------------------------
# features (engine)
# --------------------------------------------------------------------------------------
#: signal -> what it is measured from: alternatives, each the table.columns it needs all of (a
#: client with none of them has the signal left out, never imputed)
SIGNAL_SOURCES: dict[str, tuple[tuple[str, ...], ...]] = {
    "segment": (("customers.segment",),),
    "tenure_years": (("customers.signup_date",),),
    "nps_group": (("survey_responses.nps", "survey_responses.customer_id", "survey_responses.response_time"),),
    "has_unresolved": (("interactions.resolved", "interactions.customer_id"),),
    "late_deliveries": (("orders.late",),),
    "low_recency": (("orders.order_time",), ("web_events.customer_id",)),  # orders or identified visits
    "high_effort": (("survey_responses.ces", "survey_responses.customer_id", "survey_responses.response_time"),),
}
_SIGNAL_COLUMNS = {"segment": ["segment"], "tenure_years": ["tenure_years"],
                   "nps_group": ["nps_group", "latest_nps"], "has_unresolved": ["has_unresolved", "unresolved_window"],
                   "late_deliveries": ["orders_window", "late_deliveries", "late_share"],
                   "low_recency": ["recency_days", "low_recency"],
                   "high_effort": ["mean_ces", "high_effort", "ces_missing"]}


def _has(store: Store, ref: str) -> bool:
    table, col = ref.split(".")
    return store.has(table) and store.has_column(table, col)


def _lacking(store: Store, ref: str) -> str:
    table = ref.split(".")[0]
    return f"{table} table" if not store.has(table) else f"{ref} column"


def available_signals(store: Store) -> tuple[list[str], dict[str, str]]:
    """(signals the data can measure, {signal: what it lacks, e.g. "interactions table" or
    "orders.late column"}) per :data:`SIGNAL_SOURCES`."""
    ok, missing = [], {}
    for sig, alternatives in SIGNAL_SOURCES.items():
        lacks = [next((_lacking(store, r) for r in refs if not _has(store, r)), None) for refs in alternatives]
        if None in lacks:
            ok.append(sig)
        else:
            missing[sig] = " or ".join(lacks)
    return ok, missing


def churn_features(store: Store, as_of, *, horizon_days: int = 90, window_days: int = 180,
                   survey_days: int = 365, low_recency_days: int = 90,
                   observed_until=None) -> pd.DataFrame:
    """Churn signals of every customer active at the cut-off ``as_of``, and the label after it.

    Each signal is measured only from the tables and columns the client gave
    (:data:`SIGNAL_SOURCES`): a client with customers and surveys alone has the NPS and effort
    signals, tenure and segment, and no delivery, support or recency signal; what is left out
    is named in ``attrs["unavailable"]`` ({signal: the table.column it lacks}) and its columns
    are absent, never filled with a default.

    Parameters
    ----------
    store : Store
    as_of : date-like
        The cut-off. Signals use events strictly before it; the label is churn in
        ``[as_of, as_of + horizon_days)``. For training pass ``as_of - horizon`` (see
        :func:`churn_datasets`), for scoring the reporting date.
    horizon_days : int, default 90
    window_days : int, default 180
        Look-back window of ``has_unresolved`` and ``late_deliveries``.
    survey_days : int, default 365
        Look-back window of the latest NPS answer and of the mean CES.
    low_recency_days : int, default 90
    observed_until : date-like, optional
        End of the observed data (default: the latest order, visit, interaction or survey
        timestamp). When the outcome window ends after the next midnight following it, the
        label is unknown (NA) for everyone.

    Returns
    -------
    DataFrame
        One row per active customer, the columns of :data:`FEATURE_COLUMNS` the data can
        measure (see the module notes), sorted by ``customer_id``. Flags are 0/1 integers.
        ``attrs``: ``cutoff``, ``horizon_days``, ``outcome_end``, ``outcome_observed``,
        ``customers``, ``events``, ``signed_up_after_cutoff``, ``churned_before_cutoff``,
        ``churned_without_date``, ``churn_date_without_flag``, ``unavailable``, and where
        measured ``no_nps_response``, ``no_ces_response``, ``no_activity``,
        ``no_orders_in_window``, ``missing_segment``.
    """
    cutoff = pd.Timestamp(as_of)
    if horizon_days < 1 or window_days < 1 or survey_days < 1:
        raise ValueError("horizon_days, window_days and survey_days must be positive")
    signals, unavailable = available_signals(store)
    outcome_end = cutoff + pd.Timedelta(days=horizon_days)
    until = engine.data_end(store) if observed_until is None else pd.Timestamp(observed_until)
    observed = bool(pd.notna(until) and outcome_end <= until.normalize() + pd.Timedelta(days=1))
    win = cutoff - pd.Timedelta(days=window_days)
    swin = cutoff - pd.Timedelta(days=survey_days)
    cut_date = ibis.literal(cutoff.date())

    c = store.table("customers")
    later = (c.signup_date >= cutoff) if "signup_date" in c.columns else ibis.literal(False)
    status = ibis.cases(
        (later, "signed_up_after_cutoff"),
        (c.churned & c.churn_date.isnull(), "churned_without_date"),
        (c.churned & (c.churn_date < cutoff), "churned_before_cutoff"),
        else_="active",
    )
    c = c.mutate(status=status, date_no_flag=(~c.churned & c.churn_date.notnull()))
    counts = c.group_by(["status", "date_no_flag"]).aggregate(n=c.count()).to_pandas()
    active = c.filter(c.status == "active")

    aggs = []
    if store.has("orders"):
        o = store.table("orders")
        o = o.filter(o.order_time < cutoff)
        in_win = o.order_time >= win  # one pass over orders: the last one ever, and the window's
        a = {"last_order": o.order_time.max()}
        if "late_deliveries" in signals:
            a["orders_window"] = ibis.cases((in_win, 1), else_=0).sum().cast("int64")
            a["late_deliveries"] = ibis.cases((in_win, o.late.cast("int64")), else_=0).sum().cast("int64")
        aggs.append(o.group_by("customer_id").aggregate(**a))
    if _has(store, "web_events.customer_id"):
        w = store.table("web_events")
        w = w.filter((w.event_time < cutoff) & w.customer_id.notnull())
        aggs.append(w.group_by("customer_id").aggregate(last_visit=w.event_time.max()))
    if "has_unresolved" in signals:
        i = store.table("interactions")
        i = i.filter((i.interaction_time < cutoff) & (i.interaction_time >= win) & i.customer_id.notnull())
        aggs.append(i.group_by("customer_id").aggregate(unresolved_window=(~i.resolved).cast("int64").sum()))
    if "nps_group" in signals or "high_effort" in signals:
        s = store.table("survey_responses")
        s = s.filter((s.response_time < cutoff) & (s.response_time >= swin) & s.customer_id.notnull())
        typed = "survey_type" in s.columns  # without survey types every answer counts
        if "nps_group" in signals:
            rel = s.filter(((s.survey_type == "relationship") if typed else ibis.literal(True)) & s.nps.notnull())
            order = [ibis.desc(rel.response_time)] + ([ibis.desc(rel.response_id)] if "response_id" in rel.columns else [])
            rel = rel.mutate(rn=ibis.row_number().over(group_by=rel.customer_id, order_by=order))
            aggs.append(rel.filter(rel.rn == 0).select("customer_id", latest_nps="nps"))
        if "high_effort" in signals:
            tx = s.filter(((s.survey_type == "transactional") if typed else ibis.literal(True)) & s.ces.notnull())
            aggs.append(tx.group_by("customer_id").aggregate(mean_ces=tx.ces.cast("float64").mean()))

    keep = ["customer_id", "churned", "churn_date"] + [x for x in ("segment", "signup_date") if x in active.columns]
    v = active.select(*keep)
    for agg in aggs:
        v = v.left_join(agg, v.customer_id == agg.customer_id).drop("customer_id_right")
    more = {}
    if "segment" in signals:
        more["segment"] = v.segment.fill_null(MISSING_SEGMENT)
    if "late_deliveries" in signals:
        more["orders_window"] = v.orders_window.fill_null(0)
        more["late_deliveries"] = v.late_deliveries.fill_null(0)
    if "has_unresolved" in signals:
        unresolved = v.unresolved_window.fill_null(0)
        more["unresolved_window"] = unresolved
        more["has_unresolved"] = (unresolved > 0).cast("int64")
    if "tenure_years" in signals:
        more["tenure_years"] = cut_date.delta(v.signup_date.cast("date"), unit="day").cast("float64") / 365.25
    if "low_recency" in signals:
        lo, lv = (v[x] if x in v.columns else ibis.null("timestamp") for x in ("last_order", "last_visit"))
        recency = cut_date.delta(ibis.greatest(lo.coalesce(lv), lv.coalesce(lo)).cast("date"), unit="day")
        more["recency_days"] = recency
        more["low_recency"] = (recency.isnull() | (recency > low_recency_days)).cast("int64")
    if "nps_group" in signals:
        more["nps_group"] = ibis.cases((v.latest_nps >= 9, "promoter"), (v.latest_nps >= 7, "passive"),
                                       (v.latest_nps.notnull(), "detractor"), else_=NO_RESPONSE)
    if "high_effort" in signals:
        more["high_effort"] = (v.mean_ces.notnull() & (v.mean_ces <= 3)).cast("int64")
        more["ces_missing"] = v.mean_ces.isnull().cast("int64")
    v = v.mutate(**more)
    out = engine.to_pandas(store, v, order_by="customer_id")
    label = (out["churned"].astype(bool) & out["churn_date"].notna()
             & (out["churn_date"] >= cutoff) & (out["churn_date"] < outcome_end))
    out["churned"] = (pd.array(label.astype(int).to_numpy(), dtype="Int64") if observed
                      else pd.array([pd.NA] * len(out), dtype="Int64"))
    if "late_deliveries" in signals:
        orders_n = out["orders_window"].astype(float)
        out["late_share"] = (out["late_deliveries"] / orders_n).where(orders_n > 0)
    for col, dtype in (("latest_nps", "Float64"), ("recency_days", "Float64")):
        if col in out:
            out[col] = out[col].astype(dtype)
    for col in ("has_unresolved", "low_recency", "high_effort", "ces_missing", "orders_window",
                "late_deliveries", "unresolved_window"):
        if col in out:
            out[col] = out[col].astype(int)
    measured = {"customer_id", "churned"} | {x for sig in signals for x in _SIGNAL_COLUMNS[sig]}
    out = out[[x for x in FEATURE_COLUMNS if x in measured]].reset_index(drop=True)

    def n_status(st: str) -> int:
        return int(counts.loc[counts["status"] == st, "n"].sum())

    out.attrs.update(
        cutoff=str(cutoff.date()), horizon_days=horizon_days, outcome_end=str(outcome_end.date()),
        outcome_observed=observed, window_days=window_days, survey_days=survey_days,
        customers=len(out), events=int(out["churned"].sum()) if observed else None,
        signed_up_after_cutoff=n_status("signed_up_after_cutoff"),
        churned_before_cutoff=n_status("churned_before_cutoff"),
        churned_without_date=n_status("churned_without_date"),
        churn_date_without_flag=int(counts.loc[counts["date_no_flag"], "n"].sum()),
        unavailable=unavailable,
    )
    for key, col, count in (("no_nps_response", "nps_group", lambda x: (x == NO_RESPONSE).sum()),
                            ("no_ces_response", "ces_missing", lambda x: x.sum()),
                            ("no_activity", "recency_days", lambda x: x.isna().sum()),
                            ("no_orders_in_window", "orders_window", lambda x: (x == 0).sum()),
                            ("missing_segment", "segment", lambda x: (x == MISSING_SEGMENT).sum())):
        if col in out:
            out.attrs[key] = int(count(out[col]))
    return out


def churn_datasets(store: Store, as_of, *, horizon_days: int = 90,
                   **kwargs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training features at ``as_of - horizon`` with the observed label, scoring features at ``as_of``)."""
    as_of = pd.Timestamp(as_of)
    train = churn_features(store, as_of - pd.Timedelta(days=horizon_days),
                           horizon_days=horizon_days, **kwargs)
    now = churn_features(store, as_of, horizon_days=horizon_days, **kwargs)
    return train, now


# --------------------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------------------
def hosmer_lemeshow(y, p, groups: int = 10) -> tuple[float, int, float, pd.DataFrame]:
    """Hosmer-Lemeshow goodness of fit: (statistic, degrees of freedom, p-value, table).

    Customers are split into ``groups`` groups of (nearly) equal size by predicted risk
    (ties kept together by sorting); per group ``H = sum (O - E)^2 / (E (1 - E / n))`` with
    ``O`` observed events, ``E`` the sum of predicted probabilities, ``n`` the group size;
    ``H ~ chi2(g - 2)`` under a well-calibrated model (g = non-empty groups).
    """
    table = calibration_table(y, p, groups)
    e, o, n = table["expected"], table["observed"], table["n"]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (o - e) ** 2 / (e * (1 - e / n))
    h = float(terms[np.isfinite(terms)].sum())
    dof = max(len(table) - 2, 1)
    return h, dof, float(stats.chi2.sf(h, dof)), table


def calibration_table(y, p, groups: int = 10) -> pd.DataFrame:
    """Mean predicted risk vs observed churn by group (decile) of predicted risk.

    Columns: ``group`` (1 = lowest risk), ``n``, ``mean_predicted``, ``observed_rate``,
    ``expected`` (sum of predictions), ``observed`` (events).
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    parts = np.array_split(order, groups)
    rows = []
    for k, ix in enumerate((ix for ix in parts if len(ix)), start=1):
        rows.append({"group": k, "n": len(ix), "mean_predicted": p[ix].mean(),
                     "observed_rate": y[ix].mean(), "expected": p[ix].sum(),
                     "observed": y[ix].sum()})
    return pd.DataFrame(rows)



# --------------------------------------------------------------------------------------
# AUC, bootstrap, Platt scaling
# --------------------------------------------------------------------------------------
def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve by the Mann-Whitney rank formula (ties count one half)."""
    r = stats.rankdata(p)
    pos = y == 1
    n1 = int(pos.sum())
    n0 = len(y) - n1
    return float((r[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


class _SortedScores:
    """One model's scores sorted once, so that the AUC of any resample is O(n).

    A bootstrap resample is a vector of counts ``w`` (how often each customer was drawn); with
    ties grouped, ``AUC = sum_g P_g (N_<g + N_g / 2) / (P N)`` where ``P_g``, ``N_g`` are the
    drawn churners and non-churners of tie group ``g`` and ``N_<g`` the drawn non-churners
    scored lower: the Mann-Whitney AUC of the resampled customers.
    """

    def __init__(self, y: np.ndarray, p: np.ndarray):
        self.order = np.argsort(p, kind="mergesort")
        ps = p[self.order]
        self.ys = y[self.order].astype(float)
        self.starts = np.r_[0, np.flatnonzero(np.diff(ps)) + 1]

    def auc(self, w: np.ndarray) -> float:
        ws = w[self.order]
        pos = np.add.reduceat(ws * self.ys, self.starts)
        neg = np.add.reduceat(ws * (1 - self.ys), self.starts)
        big_p, big_n = pos.sum(), neg.sum()
        if big_p == 0 or big_n == 0:
            return np.nan
        below = np.cumsum(neg) - neg
        return float((pos * (below + 0.5 * neg)).sum() / (big_p * big_n))


def _bootstrap_aucs(y: np.ndarray, scores: list[np.ndarray], rng: np.random.Generator,
                    n_boot: int) -> np.ndarray:
    """AUCs of each score on ``n_boot`` resamples of the customers (with replacement, the same
    resamples for every score); rows with a single class are left out. Shape (resamples, scores)."""
    n = len(y)
    sorted_ = [_SortedScores(y, np.asarray(s, dtype=float)) for s in scores]
    out = []
    for _ in range(n_boot):
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        yb = w[y == 1].sum()
        if yb == 0 or yb == w.sum():
            continue
        out.append([s.auc(w) for s in sorted_])
    return np.asarray(out, dtype=float).reshape(-1, len(scores))


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    a = (1 - confidence) / 2
    if not len(values):
        return (np.nan, np.nan)
    return float(np.quantile(values, a)), float(np.quantile(values, 1 - a))


def platt_scaling(scores, y) -> tuple[float, float]:
    """Platt's sigmoid calibration of scores ``f``: ``(A, B)`` of ``P = 1 / (1 + exp(A f + B))``.

    Maximum likelihood with Platt's (1999) smoothed targets ``(N+ + 1) / (N+ + 2)`` for churners
    and ``1 / (N- + 2)`` for the others (L-BFGS-B from ``A = 0, B = log((N- + 1) / (N+ + 1))``);
    scores larger than 30 in absolute value are scaled first, as in scikit-learn.
    """
    f = np.asarray(scores, dtype=float)
    y = np.asarray(y, dtype=float)
    scale = max(1.0, float(np.abs(f).max())) if np.abs(f).max() >= 30 else 1.0
    f = f / scale
    n_pos = float(y.sum())
    n_neg = len(y) - n_pos
    t = np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def loss(ab):
        z = ab[0] * f + ab[1]  # P = expit(-z)
        # -[t log P + (1 - t) log(1 - P)] = logaddexp(0, z) - (1 - t) z ... written stably
        lz = np.logaddexp(0, z)
        val = float((lz - (1 - t) * z).sum())
        p = 1 / (1 + np.exp(z))
        g = (t - p)  # d loss / d z = (1 - P) - (1 - t) = t - P
        return val, np.array([float(g @ f), float(g.sum())])

    x0 = np.array([0.0, np.log((n_neg + 1) / (n_pos + 1))])
    res = optimize.minimize(loss, x0, jac=True, method="L-BFGS-B",
                            options={"gtol": 1e-6, "ftol": 64 * np.finfo(float).eps})
    return float(res.x[0] / scale), float(res.x[1])


def _platt_logodds(scores, ab) -> np.ndarray:
    return -(ab[0] * np.asarray(scores, dtype=float) + ab[1])


def _expit(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


# --------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------
@dataclass
class ChurnModel:
    """A fitted churn model with its discrimination and calibration checks and their baselines.

    Attributes
    ----------
    mode : ``"snapshot"`` or ``"time-windowed"``
    model : ``"logistic"`` or ``"boosting"``
        The model that gives the risk scores (``selection`` says why).
    target, id_column : str
    kinds : dict
        Predictor -> kind (:func:`cxlib.quant.predictors.column_kind`), the columns used.
    dropped : DataFrame
        ``column, level, reason, statistic, related``: columns left out by the screening, and
        levels left out of the final logistic fit (see :mod:`cxlib.quant.predictors`).
    odds_ratios : DataFrame
        ``term, predictor, level, reference, coef, odds_ratio, ci_low, ci_high, p_value`` of the
        logistic regression on every customer of the sample (no intercept); the time-windowed
        mode adds ``signal`` and ``label``.
    importance : DataFrame or None
        Gradient boosting only: ``predictor, importance`` (mean fall of the held-out AUC when the
        column is shuffled), ``std``, ``rank``.
    comparison : DataFrame
        ``model`` (``"logistic"``, ``"boosting"``, ``"no skill"``), ``auc, ci_low, ci_high,
        brier, chosen``: cross-validated, on the same folds.
    auc_difference : (float, float, float)
        Boosting minus logistic AUC and its paired bootstrap interval (NaN with one model).
    cv_auc, cv_auc_ci : float, (float, float)
        AUC of the chosen model's pooled out-of-fold probabilities; percentile bootstrap interval.
    fold_auc : DataFrame
        ``fold, n, events, auc`` (chosen model) and ``auc_logistic``, ``auc_boosting``.
    oof, fold_of : Series
        Out-of-fold probability of each fitted row (index = the input's index), and its fold.
    calibration : DataFrame
        :func:`calibration_table` of the out-of-fold probabilities (deciles).
    hl_stat, hl_df, hl_p : Hosmer-Lemeshow statistic, degrees of freedom and p-value.
    brier, brier_base : Brier score of the out-of-fold probabilities, and of the base rate.
    n, n_labelled, events, base_rate
        Rows fitted on (the sample), labelled rows before sampling, churners among the fitted
        rows, churn rate among the labelled rows.
    logit, boost : fitted sklearn Pipelines (``design`` + ``logit`` / ``boost``; boost None
        when gradient boosting was not fitted); ``platt`` its calibration ``(A, B)``.
    result : statsmodels ``LogitResults`` of the final logistic fit (None after its ridge
        fallback, see :class:`cxlib.quant.predictors.LogitModel`).
    references : Series
        Reference value of each design column of the logistic fit, for the drivers.
    driver_candidates : list of str
        The predictors a customer's main driver is chosen from: every predictor for the
        logistic model; for gradient boosting those with a positive permutation importance, at
        most the ``max_drivers`` (8) most important (each costs one more prediction per batch).
    holdout_auc, holdout_auc_ci, holdout_n, holdout_events
        Time-windowed mode: AUC on a seeded, stratified 30 % held-out split (NaN otherwise).
    """

    mode: str
    model: str
    selection: str
    target: str
    id_column: str | None
    kinds: dict
    dropped: pd.DataFrame
    univariate: pd.DataFrame
    odds_ratios: pd.DataFrame
    importance: pd.DataFrame | None
    comparison: pd.DataFrame
    auc_difference: tuple[float, float, float]
    cv_auc: float
    cv_auc_ci: tuple[float, float]
    fold_auc: pd.DataFrame
    oof: pd.Series
    fold_of: pd.Series
    calibration: pd.DataFrame
    hl_stat: float
    hl_df: int
    hl_p: float
    brier: float
    brier_base: float
    n: int
    n_labelled: int
    events: int
    base_rate: float
    seed: int
    folds: int
    confidence: float
    logit: Pipeline
    boost: Pipeline | None
    platt: tuple[float, float] | None
    result: object
    references: pd.Series
    holdout_auc: float = np.nan
    holdout_auc_ci: tuple[float, float] = (np.nan, np.nan)
    holdout_n: int = 0
    holdout_events: int = 0
    formula: str = ""
    driver_candidates: list[str] = field(default_factory=list)
    segment_reference: str | None = None
    training_levels: dict[str, list[str]] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)

    @property
    def predictors(self) -> list[str]:
        return list(self.kinds)

    @property
    def drivers(self) -> pd.DataFrame:
        """The drivers of the chosen model: permutation importance (boosting) or odds ratios."""
        return self.importance if self.model == "boosting" else self.odds_ratios

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Churn probability of each row of ``frame`` (the chosen model; no drivers)."""
        x = frame[self.predictors]
        if self.model == "boosting":
            return _expit(_platt_logodds(self.boost.decision_function(x), self.platt))
        return self.logit.predict_proba(x)[:, 1]

    def summary(self) -> pd.DataFrame:
        """One-row-per-check table: sample, base rate, AUCs with their intervals and the no-skill
        AUC, calibration, Brier score beside the base rate's."""
        lo_b, hi_b = proportion_confint(round(self.base_rate * self.n_labelled), self.n_labelled,
                                        alpha=1 - self.confidence, method="wilson")
        rows = [("Customers (training)", self.n_labelled, None, None)]
        if self.n < self.n_labelled:
            rows.append(("Customers in the model sample", self.n, None, None))
        rows += [
            ("Churned within horizon" if self.mode == "time-windowed" else "Churned",
             round(self.base_rate * self.n_labelled), None, None),
            ("Churn rate (base rate)", self.base_rate, lo_b, hi_b),
            (f"AUC, {self.folds}-fold cross-validated", self.cv_auc, *self.cv_auc_ci),
        ]
        if self.mode == "time-windowed":
            rows.append(("AUC, 30 % held-out customers", self.holdout_auc, *self.holdout_auc_ci))
        else:
            for _, r in self.comparison.iterrows():
                if r["model"] in ("logistic", "boosting"):
                    label = {"logistic": "AUC, logistic regression (cross-validated)",
                             "boosting": "AUC, gradient boosting (cross-validated)"}[r["model"]]
                    rows.append((label, r["auc"], r["ci_low"], r["ci_high"]))
        rows += [
            ("AUC, no skill", 0.5, None, None),
            ("Hosmer-Lemeshow chi2", self.hl_stat, None, None),
            ("Hosmer-Lemeshow p-value", self.hl_p, None, None),
            ("Brier score", self.brier, None, None),
            ("Brier score of the base rate", self.brier_base, None, None),
        ]
        return pd.DataFrame(rows, columns=["check", "value", "ci_low", "ci_high"])


# --------------------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------------------
_YES_NO = {"1": 1.0, "true": 1.0, "yes": 1.0, "y": 1.0, "0": 0.0, "false": 0.0, "no": 0.0,
           "n": 0.0}


def _labels(frame: pd.DataFrame, target: str) -> pd.Series:
    """The target as float 0/1 with NaN where unknown: booleans, 0/1 numbers, or yes/no,
    true/false, y/n, 1/0 text (any case)."""
    if target not in frame.columns:
        raise ValueError(f"churn model: the customers table has no target column {target!r}; its "
                         f"columns are {list(frame.columns)}. Set the churn target in params.")
    s = frame[target]
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        y = pd.to_numeric(s.astype("Float64") if pd.api.types.is_bool_dtype(s.dtype) else s)
        y = y.astype(float)
        bad = y.notna() & ~y.isin([0.0, 1.0])
    else:
        words = s.map(lambda v: str(v).strip().lower(), na_action="ignore")
        y = words.map(_YES_NO).astype(float)
        bad = s.notna() & y.isna()
    if bad.any():
        raise ValueError(f"churn model: column {target!r} must be yes/no (true/false, 1/0); rows "
                         f"{list(s.index[bad][:5])} hold {sorted(map(str, s[bad].unique()))[:5]}. "
                         f"Map those values to yes/no in params.")
    return y


def _boost_estimator(kinds: dict, seed: int) -> HistGradientBoostingClassifier:
    mask = [k == "categorical" for k in kinds.values()]
    return HistGradientBoostingClassifier(
        learning_rate=0.1, max_iter=300, max_leaf_nodes=15, min_samples_leaf=40,
        early_stopping=True, validation_fraction=0.1, n_iter_no_change=15,
        categorical_features=mask if any(mask) else None, random_state=seed)


def _pipelines(kinds: dict, references: dict | None, min_level, max_levels: int,
               seed: int) -> tuple[Pipeline, Pipeline]:
    logit = Pipeline([("design", DesignEncoder(kinds, references, min_level, max_levels)),
                      ("logit", LogitModel())])
    boost = Pipeline([("design", DesignEncoder(kinds, references, min_level, max_levels,
                                               output="codes")),
                      ("boost", _boost_estimator(kinds, seed))])
    return logit, boost


def _threads():
    """One BLAS and OpenMP thread for fitting and scoring.

    The report runs notebooks side by side on small machines, where threads that wait by
    spinning cost far more than they bring. Measured on this project's 2-core machine under
    load: one 1,549-row snapshot fit took 172 s with the default threads and 15 s with one;
    the whole snapshot fit at 1M customers (200k-row sample, gradient boosting) 233 s against
    34 s with one thread.
    """
    return threadpool_limits(1)


def _sample(y: np.ndarray, sample_rows: int, seed: int) -> np.ndarray:
    """Row positions of a stratified sample of ``sample_rows`` (all rows when fewer)."""
    n = len(y)
    if n <= sample_rows:
        return np.arange(n)
    ix, _ = train_test_split(np.arange(n), train_size=int(sample_rows), stratify=y,
                             random_state=seed)
    return np.sort(ix)


def _too_few(events: int, n: int, folds: int, where: str) -> None:
    if events < 2 * folds or (n - events) < 2 * folds:
        raise ValueError(f"{where}: {events} churned of {n} labelled customers is too few to fit "
                         f"and cross-validate ({folds} folds); use a longer horizon, an earlier "
                         f"cut-off or more customers.")


def _final_logit(pipe: Pipeline, x: pd.DataFrame, y: np.ndarray,
                 confidence: float) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """(odds ratios, dropped levels, reference values) of the logistic fit on all rows."""
    pipe.fit(x, y)
    enc, lm = pipe.named_steps["design"], pipe.named_steps["logit"]
    info = enc.design_.set_index("name")
    odds = lm.odds_ratios(confidence)
    odds.insert(1, "predictor", info.loc[odds["term"], "predictor"].to_numpy())
    odds.insert(2, "level", info.loc[odds["term"], "level"].to_numpy())
    odds.insert(3, "reference", [enc.reference_[p] if enc.kinds[p] == "categorical" else None
                                 for p in odds["predictor"]])
    dl = lm.dropped_.join(info, on="name")
    dropped = pd.DataFrame({
        "column": dl["predictor"], "level": dl["level"], "reason": dl["reason"],
        "statistic": dl["r2"],
        "related": [", ".join(sorted({info.loc[r.strip(), "predictor"] + (
            "" if pd.isna(info.loc[r.strip(), "level"]) else f"={info.loc[r.strip(), 'level']}")
            for r in rel.split(",") if r.strip()})) for rel in dl["related"]]},
        columns=DROP_COLUMNS)
    refs = pd.Series([enc.reference_[info.loc[c, "predictor"]] if info.loc[c, "part"] == "value"
                      else 0.0 for c in lm.kept_], index=lm.kept_, dtype=float)
    return odds, dropped, refs


def _permutation_drops(pipe: Pipeline, x: pd.DataFrame, y: np.ndarray,
                       rng: np.random.Generator, repeats: int = 5) -> np.ndarray:
    """Permutation importance (Breiman 2001; as sklearn ``permutation_importance`` with
    ``scoring="roc_auc"``): the AUC of ``pipe`` on ``(x, y)`` minus its AUC when one column is
    shuffled, for every column and ``repeats`` shuffles. Shape (columns, repeats).

    The rows are encoded once (the encoder maps each column to one column, so shuffling the
    encoded column is shuffling the raw one) and every shuffled copy is scored in one call.
    """
    codes = pipe.named_steps["design"].transform(x)
    est = pipe.named_steps["boost"]
    m, p = codes.shape
    base = _auc(y, est.decision_function(codes))
    out = np.empty((p, repeats))
    for r in range(repeats):
        stack = np.tile(codes, (p, 1))
        for j in range(p):
            stack[j * m:(j + 1) * m, j] = codes[rng.permutation(m), j]
        scores = est.decision_function(stack).reshape(p, m)
        out[:, r] = [base - _auc(y, scores[j]) for j in range(p)]
    return out


def _cross_validate(x: pd.DataFrame, y: np.ndarray, kinds: dict, references: dict | None, *,
                    boost: bool, seed: int, folds: int, min_level, max_levels: int,
                    importance_rows: int, start: pd.Series | None = None) -> dict:
    """Out-of-fold probabilities of the logistic model (and of calibrated gradient boosting),
    per-fold AUCs, and the held-out permutation importance of gradient boosting. ``start``:
    the logistic fit on all rows, as starting values of the fold refits."""
    n = len(y)
    logit_proto, boost_proto = _pipelines(kinds, references, min_level, max_levels, seed)
    logit_proto.set_params(logit__start=start)
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = list(skf.split(np.zeros(n), y))
    p_logit = np.full(n, np.nan)
    raw = np.full(n, np.nan)
    fold_of = np.full(n, -1)
    boost_models = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for k, (tr, te) in enumerate(splits):
            fold_of[te] = k
            lp = clone(logit_proto).fit(x.iloc[tr], y[tr])
            p_logit[te] = lp.predict_proba(x.iloc[te])[:, 1]
            if boost:
                bp = clone(boost_proto).fit(x.iloc[tr], y[tr])
                raw[te] = bp.decision_function(x.iloc[te])
                boost_models.append(bp)
    out = {"splits": splits, "fold_of": fold_of, "p_logit": p_logit, "p_boost": None,
           "raw": None, "importance": None, "base": np.empty(n)}
    for tr, te in splits:
        out["base"][te] = y[tr].mean()
    if boost:
        p_boost = np.empty(n)
        for tr, te in splits:  # each fold calibrated on the other folds' out-of-fold scores
            p_boost[te] = _expit(_platt_logodds(raw[te], platt_scaling(raw[tr], y[tr])))
        out.update(p_boost=p_boost, raw=raw)
        rng = np.random.default_rng(seed)
        per_fold = max(1, importance_rows // folds)
        drops = []
        for bp, (_, te) in zip(boost_models, splits, strict=True):
            sub = te if len(te) <= per_fold else np.sort(rng.choice(te, per_fold, replace=False))
            if y[sub].min() == y[sub].max():
                continue
            drops.append(_permutation_drops(bp, x.iloc[sub], y[sub], rng, repeats=5))
        if drops:
            allv = np.hstack(drops)
            imp = pd.DataFrame({"predictor": list(kinds), "importance": allv.mean(axis=1),
                                "std": allv.std(axis=1, ddof=1) if allv.shape[1] > 1 else np.nan})
            imp = imp.sort_values(["importance", "predictor"], ascending=[False, True],
                                  kind="stable").reset_index(drop=True)
            imp["rank"] = np.arange(1, len(imp) + 1)
            out["importance"] = imp
    return out


def _fold_table(y, splits, p_logit, p_boost, chosen) -> pd.DataFrame:
    rows = []
    for k, (_, te) in enumerate(splits):
        one = y[te].min() == y[te].max()
        al = np.nan if one else roc_auc_score(y[te], p_logit[te])
        ab = np.nan if (one or p_boost is None) else roc_auc_score(y[te], p_boost[te])
        rows.append({"fold": k, "n": len(te), "events": int(y[te].sum()),
                     "auc": ab if chosen == "boosting" else al, "auc_logistic": al,
                     "auc_boosting": ab})
    return pd.DataFrame(rows)


def _candidates(kinds: dict, importance: pd.DataFrame | None, max_drivers: int) -> list[str]:
    """Predictors a main driver is chosen from (see ``ChurnModel.driver_candidates``)."""
    if importance is None:
        return list(kinds)
    top = importance.loc[importance["importance"] > 0, "predictor"].head(max_drivers)
    return [c for c in kinds if c in set(top)]


def fit_snapshot_model(frame: pd.DataFrame, *, target: str = "churned", predictors=None,
                       exclude=(), categorical=(), id_column: str | None = "customer_id",
                       model: str = "auto", seed: int, folds: int = 5,
                       sample_rows: int = 200_000, n_boot: int = 200, confidence: float = 0.95,
                       min_level: int | None = None, max_levels: int = 50,
                       leak_auc: float = 0.98, importance_rows: int = 20_000,
                       max_drivers: int = 8, references: dict | None = None) -> ChurnModel:
    """Fit churn models on a customers table's own columns and check them against baselines.

    Parameters
    ----------
    frame : DataFrame
        One row per customer, columns already typed (booleans, numbers, text, timestamps), the
        target boolean (or 0/1, yes/no); rows with an unknown target are left out (counted in
        ``attrs["unlabelled"]``).
    target : str, default "churned"
    predictors : list of str, optional
        The columns to use (params); default every column but the target, the id column and
        ``exclude``. Either way each goes through the screening of
        :func:`cxlib.quant.predictors.screen_predictors` (dropped columns are in ``dropped``).
    exclude, categorical : iterables of str
        Columns never used; columns treated as categorical whatever their type.
    id_column : str or None, default "customer_id"
        Never a predictor; :func:`score_frame` returns it.
    model : {"auto", "logistic", "boosting"}
        The model that ranks customers; ``"auto"`` picks gradient boosting only when the
        bootstrap interval of its AUC gain over the logistic regression lies above zero. The
        logistic regression is always fitted (its odds ratios explain).
    seed : int
    folds : int, default 5
        Stratified K-fold cross-validation (``shuffle=True, random_state=seed``).
    sample_rows : int, default 200,000
        Larger tables are fitted on a stratified sample of this many rows.
    n_boot : int, default 200
        Bootstrap resamples for the AUC intervals (and the paired difference).
    confidence : float, default 0.95
    min_level, max_levels, leak_auc, references
        Screening and encoding (see :mod:`cxlib.quant.predictors`).
    importance_rows : int, default 20,000
        Held-out rows (over all folds) on which the permutation importance is measured.
    max_drivers : int, default 8
        Gradient boosting: main drivers are chosen among at most this many predictors (see
        ``ChurnModel.driver_candidates``).

    Returns
    -------
    ChurnModel
        ``mode="snapshot"``; see its attributes.

    Raises
    ------
    ValueError
        A missing or non-binary target, a declared predictor that is not a column, too few
        churners (or stayers) to cross-validate, or no usable predictor left.
    """
    if model not in ("auto", "logistic", "boosting"):
        raise ValueError(f"fit_snapshot_model: model must be 'auto', 'logistic' or 'boosting', "
                         f"not {model!r}")
    if not 0 < confidence < 1:
        raise ValueError("fit_snapshot_model: confidence must be between 0 and 1")
    y_all = _labels(frame, target)
    known = y_all.notna().to_numpy()
    lab = frame.loc[known]
    y_lab = y_all[known].to_numpy(dtype=float)
    events_all = int(y_lab.sum())
    _too_few(events_all, len(y_lab), folds, "fit_snapshot_model")
    pos = _sample(y_lab, sample_rows, seed)
    data = lab.iloc[pos]
    y = y_lab[pos]
    with _threads():
        excl = {target, *exclude} | ({id_column} if id_column else set())
        screen = screen_predictors(data, y, predictors=predictors, exclude=excl,
                                   categorical=categorical, references=references,
                                   min_level=min_level, max_levels=max_levels, leak_auc=leak_auc)
        kinds = screen.kinds
        if not kinds:
            raise ValueError(f"fit_snapshot_model: no usable predictor is left; dropped: "
                             f"{screen.dropped[['column', 'reason']].to_dict('records')}")
        x = data[list(kinds)]
        fit_boost = model in ("auto", "boosting")
        logit_pipe, boost_pipe = _pipelines(kinds, references, min_level, max_levels, seed)
        odds, dropped_levels, refs = _final_logit(logit_pipe, x, y, confidence)
        cv = _cross_validate(x, y, kinds, references, boost=fit_boost, seed=seed, folds=folds,
                             min_level=min_level, max_levels=max_levels,
                             importance_rows=importance_rows,
                             start=logit_pipe.named_steps["logit"].params_)
        rng = np.random.default_rng(seed)
        scores = [cv["p_logit"]] + ([cv["p_boost"]] if fit_boost else [])
        boot = _bootstrap_aucs(y, scores, rng, n_boot)
        auc_l = float(roc_auc_score(y, cv["p_logit"]))
        ci_l = _interval(boot[:, 0], confidence)
        diff = (np.nan, np.nan, np.nan)
        if fit_boost:
            auc_b = float(roc_auc_score(y, cv["p_boost"]))
            ci_b = _interval(boot[:, 1], confidence)
            diff = (auc_b - auc_l, *_interval(boot[:, 1] - boot[:, 0], confidence))
        if model == "auto":
            chosen = "boosting" if diff[1] > 0 else "logistic"
            selection = "boosting ranks better" if chosen == "boosting" else "boosting not better"
        else:
            chosen, selection = model, "asked"
        p = cv["p_boost"] if chosen == "boosting" else cv["p_logit"]
        base = cv["base"]
        comp = [{"model": "logistic", "auc": auc_l, "ci_low": ci_l[0], "ci_high": ci_l[1],
                 "brier": float(np.mean((cv["p_logit"] - y) ** 2))}]
        if fit_boost:
            comp.append({"model": "boosting", "auc": auc_b, "ci_low": ci_b[0], "ci_high": ci_b[1],
                         "brier": float(np.mean((cv["p_boost"] - y) ** 2))})
        comp.append({"model": "no skill", "auc": 0.5, "ci_low": np.nan, "ci_high": np.nan,
                     "brier": float(np.mean((base - y) ** 2))})
        comparison = pd.DataFrame(comp)
        comparison["chosen"] = comparison["model"] == chosen

        platt = None
        if fit_boost:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                boost_pipe.fit(x, y)
            platt = platt_scaling(cv["raw"], y)
        else:
            boost_pipe = None
        hl, dof, hl_p, table = hosmer_lemeshow(y, p, 10)
        enc = logit_pipe.named_steps["design"]
        return ChurnModel(
            mode="snapshot", model=chosen, selection=selection, target=target, id_column=id_column,
            kinds=dict(kinds), dropped=pd.concat([screen.dropped, dropped_levels], ignore_index=True),
            univariate=screen.univariate, odds_ratios=odds, importance=cv["importance"],
            comparison=comparison, auc_difference=diff,
            cv_auc=float(roc_auc_score(y, p)), cv_auc_ci=ci_l if chosen == "logistic" else ci_b,
            fold_auc=_fold_table(y, cv["splits"], cv["p_logit"], cv["p_boost"], chosen),
            oof=pd.Series(p, index=data.index, name="oof"),
            fold_of=pd.Series(cv["fold_of"], index=data.index, name="fold"),
            calibration=table, hl_stat=hl, hl_df=dof, hl_p=hl_p,
            brier=float(np.mean((p - y) ** 2)), brier_base=float(np.mean((base - y) ** 2)),
            n=len(y), n_labelled=len(y_lab), events=int(y.sum()),
            base_rate=events_all / len(y_lab), seed=seed, folds=folds, confidence=confidence,
            logit=logit_pipe, boost=boost_pipe, platt=platt,
            result=logit_pipe.named_steps["logit"].result_, references=refs,
            formula=f"{target} ~ " + " + ".join(refs.index),
            driver_candidates=_candidates(kinds, cv["importance"] if chosen == "boosting"
                                          else None, max_drivers),
            training_levels={c: list(v) for c, v in enc.levels_.items()},
            attrs={"unlabelled": int((~known).sum()), "sampled": len(y) < len(y_lab),
                   "sample_rows": sample_rows, "n_boot": n_boot, "n_boot_valid": len(boot),
                   "interval": "percentile bootstrap", "logit_method":
                   logit_pipe.named_steps["logit"].method_, "min_level": min_level,
                   "max_levels": max_levels, "leak_auc": leak_auc},
        )


def _term_label(predictor: str, level, refs: dict) -> tuple[str, str]:
    """(signal, readable label) of a time-windowed design column."""
    if predictor == "nps_group":
        return "nps_group", f"NPS: {level} (vs {refs.get('nps_group', 'promoter')})"
    if predictor == "segment":
        return "segment", f"Segment: {level} (vs {refs.get('segment')})"
    return predictor, SIGNALS.get(predictor, predictor)


def fit_churn_model(features: pd.DataFrame, *, seed: int, folds: int = 5,
                    test_size: float = 0.3, n_boot: int = 1000, confidence: float = 0.95,
                    sample_rows: int = 200_000) -> ChurnModel:
    """Fit the logistic model on the time-windowed CX signals and check it honestly.

    Predictors :data:`CX_PREDICTORS` (``nps_group`` against ``"promoter"``, ``segment``
    against its largest segment), screened and encoded as in :func:`fit_snapshot_model`: a
    constant or collinear signal is dropped with a note in ``dropped``, a level absent from a
    fold's training part is encoded as the reference level, and the fit never stops on a
    singular matrix. Rows with an unknown label (NA) are left out (``attrs["unlabelled"]``).
    Cross-validation: ``StratifiedKFold(folds, shuffle=True, random_state=seed)``, the model
    refitted on each training part, out-of-fold probabilities pooled, AUC by sklearn
    ``roc_auc_score``; interval = percentile bootstrap (``n_boot`` resamples of customers,
    seeded) of that pooled AUC. Held-out: ``train_test_split(test_size, stratify=label,
    random_state=seed)``. More than ``sample_rows`` customers: a stratified sample.
    """
    if "churned" not in features.columns:
        raise ValueError("fit_churn_model: features need the 'churned' label (churn_features)")
    y_all = _labels(features, "churned")
    known = y_all.notna().to_numpy()
    lab = features.loc[known]
    y_lab = y_all[known].to_numpy(dtype=float)
    events_all = int(y_lab.sum())
    _too_few(events_all, len(y_lab), folds, "fit_churn_model")
    pos = _sample(y_lab, sample_rows, seed)
    data = lab.iloc[pos]
    y = y_lab[pos]
    with _threads():
        refs_in = {"nps_group": "promoter"}
        screen = screen_predictors(data, y, predictors=[c for c in CX_PREDICTORS if c in data],
                                   categorical=("nps_group", "segment"), references=refs_in)
        kinds = screen.kinds
        if not kinds:
            raise ValueError(f"fit_churn_model: no usable signal is left; dropped: "
                             f"{screen.dropped[['column', 'reason']].to_dict('records')}")
        x = data[list(kinds)]
        logit_pipe, _ = _pipelines(kinds, refs_in, None, 50, seed)
        odds, dropped_levels, refs = _final_logit(logit_pipe, x, y, confidence)
        start = logit_pipe.named_steps["logit"].params_
        cv = _cross_validate(x, y, kinds, refs_in, boost=False, seed=seed, folds=folds,
                             min_level=None, max_levels=50, importance_rows=0, start=start)
        p = cv["p_logit"]
        rng = np.random.default_rng(seed)
        cv_auc = float(roc_auc_score(y, p))
        cv_ci = _interval(_bootstrap_aucs(y, [p], rng, n_boot)[:, 0], confidence)

        tr_ix, te_ix = train_test_split(np.arange(len(y)), test_size=test_size, stratify=y,
                                        random_state=seed)
        ho_pipe, _ = _pipelines(kinds, refs_in, None, 50, seed)
        ho_pipe.set_params(logit__start=start)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ho_pipe.fit(x.iloc[tr_ix], y[tr_ix])
        p_ho = ho_pipe.predict_proba(x.iloc[te_ix])[:, 1]
        ho_auc = float(roc_auc_score(y[te_ix], p_ho))
        ho_ci = _interval(_bootstrap_aucs(y[te_ix], [p_ho], rng, n_boot)[:, 0], confidence)

        enc = logit_pipe.named_steps["design"]
        cat_refs = {c: enc.reference_[c] for c in kinds if kinds[c] == "categorical"}
        window = features.attrs.get("window_days", 180)
        labels = [_term_label(pr, lv, cat_refs) for pr, lv in zip(odds["predictor"], odds["level"],
                                                                  strict=True)]
        odds.insert(1, "signal", [s for s, _ in labels])
        odds.insert(2, "label", [lab_.replace("last 180 days", f"last {window} days")
                                 for _, lab_ in labels])
        hl, dof, hl_p, table = hosmer_lemeshow(y, p, 10)
        base = cv["base"]
        comparison = pd.DataFrame([
            {"model": "logistic", "auc": cv_auc, "ci_low": cv_ci[0], "ci_high": cv_ci[1],
             "brier": float(np.mean((p - y) ** 2)), "chosen": True},
            {"model": "no skill", "auc": 0.5, "ci_low": np.nan, "ci_high": np.nan,
             "brier": float(np.mean((base - y) ** 2)), "chosen": False}])
        # the signals the client's data cannot measure (churn_features' attrs), said first
        unmeasured = [{"column": SIGNALS.get(sig, sig), "level": None, "reason": "no_source", "statistic": np.nan,
                       "related": ref}
                      for sig, ref in features.attrs.get("unavailable", {}).items()]
        dropped = pd.concat([screen.dropped, dropped_levels], ignore_index=True)
        if unmeasured:
            dropped = pd.concat([pd.DataFrame(unmeasured), dropped], ignore_index=True)
        return ChurnModel(
            mode="time-windowed", model="logistic", selection="asked", target="churned",
            id_column="customer_id", kinds=dict(kinds), dropped=dropped,
            univariate=screen.univariate, odds_ratios=odds, importance=None, comparison=comparison,
            auc_difference=(np.nan, np.nan, np.nan), cv_auc=cv_auc, cv_auc_ci=cv_ci,
            fold_auc=_fold_table(y, cv["splits"], p, None, "logistic"),
            oof=pd.Series(p, index=data.index, name="oof"),
            fold_of=pd.Series(cv["fold_of"], index=data.index, name="fold"),
            calibration=table, hl_stat=hl, hl_df=dof, hl_p=hl_p,
            brier=float(np.mean((p - y) ** 2)), brier_base=float(np.mean((base - y) ** 2)),
            n=len(y), n_labelled=len(y_lab), events=int(y.sum()), base_rate=events_all / len(y_lab),
            seed=seed, folds=folds, confidence=confidence, logit=logit_pipe, boost=None, platt=None,
            result=logit_pipe.named_steps["logit"].result_, references=refs,
            holdout_auc=ho_auc, holdout_auc_ci=ho_ci, holdout_n=len(te_ix),
            holdout_events=int(y[te_ix].sum()),
            formula="churned ~ " + " + ".join(refs.index), driver_candidates=list(kinds),
            segment_reference=cat_refs.get("segment"),
            training_levels={c: list(v) for c, v in enc.levels_.items()},
            attrs={"unlabelled": int((~known).sum()), "confidence": confidence,
                   "cutoff": features.attrs.get("cutoff"),
                   "horizon_days": features.attrs.get("horizon_days"), "window_days": window,
                   "survey_days": features.attrs.get("survey_days"),
                   "interval": "percentile bootstrap", "n_boot": n_boot,
                   "sampled": len(y) < len(y_lab), "sample_rows": sample_rows,
                   "logit_method": logit_pipe.named_steps["logit"].method_},
        )


def compare_models(models: dict) -> pd.DataFrame:
    """Models side by side (e.g. the CX-signal model and the snapshot model of one client).

    Parameters
    ----------
    models : dict
        name -> :class:`ChurnModel`.

    Returns
    -------
    DataFrame
        ``model, mode, ranking_model, customers, churned, base_rate, auc, ci_low, ci_high,
        brier, brier_base``, one row per model, then a ``"no skill"`` row (AUC 0.5).
    """
    rows = [{"model": name, "mode": m.mode, "ranking_model": m.model, "customers": m.n,
             "churned": m.events, "base_rate": m.base_rate, "auc": m.cv_auc,
             "ci_low": m.cv_auc_ci[0], "ci_high": m.cv_auc_ci[1], "brier": m.brier,
             "brier_base": m.brier_base} for name, m in models.items()]
    rows.append({"model": "no skill", "mode": None, "ranking_model": None, "customers": None,
                 "churned": None, "base_rate": None, "auc": 0.5, "ci_low": np.nan,
                 "ci_high": np.nan, "brier": np.nan, "brier_base": np.nan})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# scores and drivers
# --------------------------------------------------------------------------------------
def _driver_keys(model: ChurnModel, enc: DesignEncoder, x: pd.DataFrame,
                 unseen: dict) -> list[np.ndarray]:
    """Per predictor, the driver key each row would get if that predictor were its main driver."""
    out = []
    for col, kind in model.kinds.items():
        if kind == "categorical":
            codes, n_unseen = enc.level_codes(x, col)
            unseen[col] = unseen.get(col, 0) + n_unseen
            names = np.array([f"{col}={lv}" for lv in enc.levels_[col]], dtype=object)
            out.append(names[codes])
        else:
            v = enc.numbers(x, col)
            miss = np.isnan(v)
            if enc.flag_[col]:
                keys = np.where(v > 0.5, col, f"{col}:false")
            else:
                keys = np.where(v >= enc.reference_[col], f"{col}:high", f"{col}:low")
            out.append(np.where(miss, f"{col}:missing", keys).astype(object))
    return out


def _score_batch(model: ChurnModel, part: pd.DataFrame, unseen: dict,
                 with_contrib: bool) -> tuple[pd.DataFrame, np.ndarray | None]:
    with _threads():
        return _score_rows(model, part, unseen, with_contrib)


def _score_rows(model: ChurnModel, part: pd.DataFrame, unseen: dict,
                with_contrib: bool) -> tuple[pd.DataFrame, np.ndarray | None]:
    x = part[model.predictors]
    preds = model.predictors
    if model.model == "boosting":
        enc = model.boost.named_steps["design"]
        est = model.boost.named_steps["boost"]
        codes = enc.transform(x)
        raw = est.decision_function(codes)
        log_odds = _platt_logodds(raw, model.platt)
        contrib = np.zeros((len(x), len(preds)))
        for j, col in enumerate(preds):
            if col not in model.driver_candidates:
                continue
            ref = enc.reference_[col]
            ref = enc.levels_[col].index(ref) if model.kinds[col] == "categorical" else ref
            need = codes[:, j] != ref  # rows at the reference contribute nothing
            if not need.any():
                continue
            alt = codes[need]
            alt[:, j] = ref
            contrib[need, j] = log_odds[need] - _platt_logodds(est.decision_function(alt),
                                                               model.platt)
    else:
        enc = model.logit.named_steps["design"]
        lm = model.logit.named_steps["logit"]
        design = enc.transform(x)
        a = design[lm.kept_].to_numpy(dtype=float)
        beta = lm.params_.iloc[1:].to_numpy()
        log_odds = lm.params_.iloc[0] + a @ beta
        cols = (a - model.references.reindex(lm.kept_).to_numpy()) * beta
        member = np.zeros((len(lm.kept_), len(preds)))
        owner = enc.design_.set_index("name").loc[lm.kept_, "predictor"]
        member[np.arange(len(lm.kept_)), [preds.index(p) for p in owner]] = 1.0
        contrib = cols @ member
    keys = _driver_keys(model, enc, x, unseen)
    best = contrib.argmax(axis=1) if len(preds) else np.zeros(len(x), dtype=int)
    top = contrib[np.arange(len(x)), best]
    key = np.full(len(x), "none", dtype=object)
    pred = np.full(len(x), "none", dtype=object)
    for j, col in enumerate(preds):
        hit = (best == j) & (top > 0)
        key[hit] = keys[j][hit]
        pred[hit] = col
    ids = (part[model.id_column].to_numpy() if model.id_column and model.id_column in part
           else part.index.to_numpy())
    out = pd.DataFrame({"customer_id": ids, "risk": _expit(log_odds), "log_odds": log_odds,
                        "main_driver": key, "driver_predictor": pred,
                        "driver_contribution": np.clip(top, 0, None)}, index=part.index)
    return out, (contrib if with_contrib else None)


def score_frame(model: ChurnModel, frame: pd.DataFrame, *, batch_size: int = 100_000,
                keep=()) -> pd.DataFrame:
    """Churn risk and main driver of every row of ``frame``, vectorised in batches.

    Parameters
    ----------
    model : ChurnModel
    frame : DataFrame
        The customers to score, with the model's predictors (and its id column).
    batch_size : int, default 100,000
        Rows per batch (memory bound; the result does not depend on it).
    keep : iterable of str
        Columns of ``frame`` to carry into the result (e.g. ``segment``).

    Returns
    -------
    DataFrame
        In ``frame``'s order: ``customer_id`` (the model's id column, else the index),
        ``risk`` (probability, calibrated), ``log_odds``, ``main_driver`` (driver key, see the
        module notes; ``"none"`` when nothing raises the risk), ``driver_predictor``,
        ``driver_contribution`` (its log-odds contribution, >= 0), then ``keep``.
        ``attrs["unseen_levels"]``: rows per categorical whose level was not seen in fitting.
    """
    if batch_size < 1:
        raise ValueError("score_frame: batch_size must be at least 1")
    missing = [c for c in model.predictors if c not in frame.columns]
    if missing:
        raise ValueError(f"score_frame: the frame lacks the model's predictors {missing}")
    unseen: dict = {}
    parts = [_score_batch(model, frame.iloc[i:i + batch_size], unseen, False)[0]
             for i in range(0, len(frame), batch_size)]
    out = (pd.concat(parts) if parts else _score_batch(model, frame, unseen, False)[0])
    for c in keep:
        out[c] = frame[c].to_numpy()
    out = out.reset_index(drop=True)
    out.attrs.update(unseen_levels=unseen, model=model.model, mode=model.mode)
    return out


def _cx_key(key: str) -> str:
    """The time-windowed mode's driver key (params ``next_best_actions``) of a generic key."""
    if key.startswith("nps_group="):
        level = key.split("=", 1)[1]
        return {"detractor": "is_detractor", "passive": "is_passive"}.get(level, "no_nps_response")
    if key.startswith("segment="):
        return "segment"
    if key.startswith("late_deliveries"):
        return "has_late_delivery"
    if key.startswith("tenure_years"):
        return "short_tenure" if key.endswith(":low") else "long_tenure"
    if key.startswith("ces_missing"):
        return "no_ces_response"
    return key.split(":", 1)[0]


def score_customers(model: ChurnModel, features_now: pd.DataFrame, *,
                    batch_size: int = 100_000) -> pd.DataFrame:
    """Churn risk of current customers and the signal that raises it most (time-windowed mode).

    ``contribution`` of a signal = sum over its design columns of ``coef * (value -
    reference)`` (reference: 0 for flags and category dummies, i.e. the reference
    category; the training median for ``late_deliveries`` and ``tenure_years``): its share
    of the customer's log-odds above a baseline customer. ``main_driver`` is the signal
    with the largest positive contribution (``"none"`` when no signal raises the risk),
    as a key of params ``next_best_actions``. A segment (or NPS group) not seen in training is
    scored as the reference category and counted in ``attrs["unseen_levels"]``.

    Returns
    -------
    DataFrame
        ``customer_id, segment, risk, log_odds, main_driver`` (key), ``driver_label``,
        ``driver_contribution``, plus ``contrib_<signal>`` for every signal; sorted by risk,
        highest first. A snapshot model's scores come back the same way with its driver keys
        as labels (:func:`score_frame` is the general scorer).
    """
    unseen: dict = {}
    parts, contribs = [], []
    for i in range(0, max(len(features_now), 1), batch_size):
        o, c = _score_batch(model, features_now.iloc[i:i + batch_size], unseen, True)
        parts.append(o)
        contribs.append(c)
    out = pd.concat(parts)
    contrib = np.vstack(contribs)
    seg = (features_now["segment"].astype(object).to_numpy() if "segment" in features_now
           else np.full(len(out), None, dtype=object))
    if model.mode == "time-windowed":
        keys = [k if k == "none" else _cx_key(k) for k in out["main_driver"]]
        labels = [f"Segment: {s}" if k == "segment" else DRIVER_LABELS.get(k, k)
                  for k, s in zip(keys, seg, strict=True)]
    else:
        keys = list(out["main_driver"])
        labels = keys
    res = pd.DataFrame({"customer_id": out["customer_id"].to_numpy(), "segment": seg,
                        "risk": out["risk"].to_numpy(), "log_odds": out["log_odds"].to_numpy(),
                        "main_driver": keys, "driver_predictor": out["driver_predictor"].to_numpy(),
                        "driver_contribution": out["driver_contribution"].to_numpy(),
                        "driver_label": labels})
    for j, col in enumerate(model.predictors):
        res[f"contrib_{col}"] = contrib[:, j]
    res = res.sort_values(["risk", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    res.attrs.update(unseen_levels=unseen, cutoff=features_now.attrs.get("cutoff"),
                     horizon_days=features_now.attrs.get("horizon_days"))
    return res


# --------------------------------------------------------------------------------------
# at-risk lists
# --------------------------------------------------------------------------------------
def pseudonymise(ids, salt: str) -> pd.Series:
    """Stable pseudonyms: the first 10 hex characters of HMAC-SHA256(salt, id).

    Deterministic for a given salt, unrelated across salts; the id cannot be recovered
    without the salt (keep it out of the report: see the module notes).
    """
    if not isinstance(salt, str) or not salt:
        raise ValueError("pseudonymise: a non-empty salt is required (CXLIB_PSEUDONYM_SALT or "
                         "the client's stored salt)")
    key = salt.encode("utf-8")
    ids = pd.Series(ids)
    refs = [hmac.new(key, str(i).encode("utf-8"), hashlib.sha256).hexdigest()[:10] for i in ids]
    return pd.Series(refs, index=ids.index, name="customer_ref")


def at_risk(scored: pd.DataFrame, params: Params, *, top: int | None = None,
            salt: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The top customers by risk with their main driver and next best action.

    Parameters
    ----------
    scored : DataFrame
        :func:`score_customers` or :func:`score_frame` output (``customer_id, risk,
        main_driver``; ``driver_label``, ``driver_predictor`` and ``segment`` when present).
    params : Params
        ``next_best_actions`` (driver key -> action, owner) and ``at_risk_top``.
    top : int, optional
        Default ``params.at_risk_top``.
    salt : str
        Secret for :func:`pseudonymise`.

    Returns
    -------
    (stakeholder, analyst) : tuple of DataFrame
        stakeholder: ``rank, customer_ref, segment, risk, main_driver`` (readable label, or the
        key), ``next_best_action, owner`` (no customer id, e-mail or phone); analyst: the same
        plus ``customer_id`` and ``driver_key``. The rule is looked up by the driver key, then
        by its column (``driver_predictor``); a driver without a rule (or no driver) gets
        "Review manually" by the CX team; ``attrs["review_manually"]`` counts them and
        ``attrs["drivers_without_rule"]`` lists {driver: customers}.
    """
    n = params.at_risk_top if top is None else int(top)
    if n < 1:
        raise ValueError("at_risk: top must be at least 1")
    s = scored.sort_values(["risk", "customer_id"], ascending=[False, True]).head(n)
    rules = params.next_best_actions
    cols = (s["driver_predictor"] if "driver_predictor" in s
            else pd.Series([None] * len(s), index=s.index))
    found = [rules.get(k) or (rules.get(c) if c is not None else None)
             for k, c in zip(s["main_driver"], cols, strict=True)]
    actions = [a or REVIEW_ACTION for a in found]
    no_rule = s.loc[[a is None for a in found], "main_driver"].value_counts()
    labels = s["driver_label"] if "driver_label" in s else s["main_driver"]
    segment = s["segment"] if "segment" in s else pd.Series([None] * len(s), index=s.index)
    analyst = pd.DataFrame({
        "rank": np.arange(1, len(s) + 1),
        "customer_id": s["customer_id"].to_numpy(),
        "customer_ref": pseudonymise(s["customer_id"], salt).to_numpy(),
        "segment": segment.to_numpy(),
        "risk": s["risk"].to_numpy(),
        "main_driver": labels.to_numpy(),
        "driver_key": s["main_driver"].to_numpy(),
        "next_best_action": [a.action for a in actions],
        "owner": [a.owner for a in actions],
    })
    stakeholder = analyst.drop(columns=["customer_id", "driver_key"])
    attrs = {"top": n, "review_manually": int(no_rule.sum()),
             "drivers_without_rule": {str(k): int(v) for k, v in no_rule.items()},
             "pseudonym": "HMAC-SHA256(salt, customer_id)[:10]"}
    stakeholder.attrs.update(attrs)
    analyst.attrs.update(attrs)
    return stakeholder, analyst


# --------------------------------------------------------------------------------------
# churn rate by attribute
# --------------------------------------------------------------------------------------
def _nice(v: float) -> float:
    """``v`` rounded to two significant digits (a readable band edge)."""
    if v == 0 or not np.isfinite(v):
        return float(v)
    mag = 10.0 ** (np.floor(np.log10(abs(v))) - 1)
    return float(np.round(v / mag) * mag)


def _num_text(v: float) -> str:
    return np.format_float_positional(float(v), trim="-")


def numeric_levels(x: np.ndarray, bands: int) -> tuple[np.ndarray, list, list, list]:
    """(code per row, -1 missing; labels; lows; highs) of the levels of the numbers ``x``: each value
    when there are at most ``bands`` of them, else ``bands`` quantile bands whose edges are rounded to
    two significant digits (``"18–31"`` for whole numbers, ``"[0, 97000)"`` otherwise; the last band
    includes its upper end), in order."""
    ok = ~np.isnan(x)
    codes = np.full(len(x), -1, dtype=np.int64)
    vals = x[ok]
    uniq = np.unique(vals)
    if len(uniq) <= bands:
        codes[ok] = np.searchsorted(uniq, vals)
        return codes, [_num_text(u) for u in uniq], list(uniq), list(uniq)
    lo, hi = float(uniq[0]), float(uniq[-1])
    q = np.quantile(vals, np.linspace(0, 1, bands + 1)[1:-1])
    edges = sorted({_nice(v) for v in q if lo < _nice(v) <= hi})
    codes[ok] = np.searchsorted(np.asarray(edges), vals, side="right")
    bounds = [lo, *edges, hi]
    whole = bool(np.all(uniq == np.round(uniq)))
    labels, lows, highs = [], [], []
    for i in range(len(bounds) - 1):
        a, b = bounds[i], bounds[i + 1]
        last = i == len(bounds) - 2
        if whole and float(a).is_integer() and float(b).is_integer():
            top = b if last else b - 1
            labels.append(f"{_num_text(a)}–{_num_text(top)}" if top > a else _num_text(a))
        else:
            labels.append(f"[{_num_text(a)}, {_num_text(b)}{']' if last else ')'}")
        lows.append(a)
        highs.append(b)
    return codes, labels, lows, highs


def churn_rate_by(frame: pd.DataFrame, by=None, *, target: str = "churned",
                  confidence: float = 0.95, min_base: int = 30, bands: int = 5) -> pd.DataFrame:
    """Churn rate by the levels of one or more attributes, with intervals and a test.

    Parameters
    ----------
    frame : DataFrame
        One row per customer with the boolean (or 0/1, yes/no) ``target``; rows with an
        unknown target are left out (``attrs["unlabelled"]``).
    by : str or list of str, optional
        Attributes; default none (one overall row, attribute ``"(all)"``). Text, booleans and
        categories are taken level by level; numbers with more than ``bands`` distinct values
        are cut into ``bands`` quantile bands whose edges are rounded to two significant
        digits (labels ``"18–31"`` for whole numbers, ``"[0, 97000)"`` otherwise; the last
        band includes its upper end); missing values form the level ``"(missing)"``.
    confidence : float, default 0.95
    min_base : int, default 30
        Levels with fewer customers are flagged ``small_base``.
    bands : int, default 5

    Returns
    -------
    DataFrame
        ``attribute, level, order, low, high`` (band edges; NaN for text levels), ``customers,
        churned, rate`` and its Wilson score interval ``ci_low, ci_high``
        (``(p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``), ``small_base``, and per
        attribute Pearson's chi-square test of independence of churn and level (scipy
        ``chi2_contingency`` without continuity correction, on the levels with customers):
        ``chi2, dof, p_value`` (NaN with fewer than two levels or one outcome only).
    """
    if not 0 < confidence < 1:
        raise ValueError("churn_rate_by: confidence must be between 0 and 1")
    y_all = _labels(frame, target)
    known = y_all.notna().to_numpy()
    y = y_all[known].to_numpy(dtype=float)
    data = frame.loc[known]
    attrs = [] if by is None else ([by] if isinstance(by, str) else list(by))
    missing = [a for a in attrs if a not in frame.columns]
    if missing:
        raise ValueError(f"churn_rate_by: {missing} are not columns; the columns are "
                         f"{list(frame.columns)}")
    rows = []
    for attr in attrs or [None]:
        if attr is None:
            codes = np.zeros(len(y), dtype=np.int64)
            labels, lows, highs = ["(all)"], [np.nan], [np.nan]
        else:
            s = data[attr]
            kind = column_kind(s)
            if kind in ("numeric", "text_number", "date", "duration") and not (
                    pd.api.types.is_bool_dtype(s.dtype)):
                x = as_numbers(s, kind)
                codes, labels, lows, highs = numeric_levels(x, bands)
                if np.unique(x[~np.isnan(x)]).size <= bands:
                    lows = highs = [np.nan] * len(labels)
            else:
                # levels as text, coded once per distinct value (not once per customer)
                first, uniques = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=True)
                text = [str(u) for u in uniques]
                labels = sorted(set(text))
                remap = pd.Index(labels, dtype=object).get_indexer(text).astype(np.int64)
                codes = np.where(first < 0, -1, remap[np.maximum(first, 0)]) if len(text) else first.astype(np.int64)
                lows = highs = [np.nan] * len(labels)
            if (codes < 0).any():
                codes = np.where(codes < 0, len(labels), codes)
                labels = [*labels, MISSING]
                lows, highs = [*lows, np.nan], [*highs, np.nan]
        n_lv = np.bincount(codes, minlength=len(labels))
        k_lv = np.bincount(codes, weights=y, minlength=len(labels))
        lo, hi = proportion_confint(k_lv, np.maximum(n_lv, 1), alpha=1 - confidence,
                                    method="wilson")
        used = n_lv > 0
        chi2 = dof = pval = np.nan
        if used.sum() >= 2 and 0 < k_lv.sum() < n_lv.sum():
            table = np.column_stack([n_lv[used] - k_lv[used], k_lv[used]])
            chi2, pval, dof, _ = stats.chi2_contingency(table, correction=False)
        for i, label in enumerate(labels):
            if not used[i]:
                continue
            rows.append({"attribute": attr or "(all)", "level": label, "order": i,
                         "low": lows[i], "high": highs[i], "customers": int(n_lv[i]),
                         "churned": int(k_lv[i]), "rate": k_lv[i] / n_lv[i],
                         "ci_low": float(lo[i]), "ci_high": float(hi[i]),
                         "small_base": bool(n_lv[i] < min_base), "chi2": float(chi2),
                         "dof": float(dof), "p_value": float(pval)})
    out = pd.DataFrame(rows)
    out.attrs.update(unlabelled=int((~known).sum()), confidence=confidence, min_base=min_base,
                     interval="Wilson score", test="Pearson chi-square")
    return out

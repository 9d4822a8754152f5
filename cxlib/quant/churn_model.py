"""Churn risk: an interpretable logistic model, risk scores, main drivers and next best actions.

The model answers "which current customers are likely to leave in the next ``horizon`` days,
and why?" on signals a CX team can act on. It is fitted on a *past* cut-off, where the
outcome has been observed, and applied at the reporting date:

* **training**: features measured before ``cutoff = as_of - horizon``, label = churned in
  ``[cutoff, as_of)``;
* **scoring**: features measured before ``as_of`` for the customers active at ``as_of``.

No information from on or after a cut-off enters its features (no leakage): every signal
is computed in the engine (DuckDB through Ibis) from the raw tables filtered to
``time < cutoff``; only the label looks past it.

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

Model (:func:`fit_churn_model`): statsmodels ``Logit`` through the formula API,
``churned ~ C(nps_group, Treatment("promoter")) + has_unresolved + late_deliveries +
tenure_years + low_recency + high_effort + ces_missing + C(segment, Treatment(<largest>))``;
odds ratios ``exp(beta)`` with Wald 95 % intervals ``exp(beta +- 1.96 se)``. Discrimination:
stratified K-fold cross-validated AUC (refit per fold, AUC of the pooled out-of-fold
probabilities, percentile bootstrap interval), and the AUC on a seeded 30 % held-out split.
Calibration on the out-of-fold probabilities: a table by decile of predicted risk, the
Hosmer-Lemeshow statistic (Hosmer & Lemeshow 1980; ``g - 2`` degrees of freedom) and the
Brier score.

Pseudonyms (:func:`pseudonymise`): the stakeholder at-risk list carries ``customer_ref`` =
the first 10 hex characters of HMAC-SHA256(salt, customer_id), never the id, e-mail or phone.
The runner supplies the salt: the environment variable ``CXLIB_PSEUDONYM_SALT`` when set,
otherwise a random per-client salt kept in the analyst output folder (never in the report),
so the same customer gets the same reference from one run to the next and an analyst can
map a reference back to the customer through the analyst list only.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from patsy import build_design_matrices
from scipy import stats
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from cxlib.data import engine
from cxlib.data.io import Store
from cxlib.data.params import NextAction, Params

__all__ = ["SIGNALS", "FEATURE_COLUMNS", "ChurnModel", "churn_features", "churn_datasets",
           "fit_churn_model", "hosmer_lemeshow", "calibration_table", "score_customers",
           "at_risk", "pseudonymise", "REVIEW_ACTION"]

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

_NPS_TERM = 'C(nps_group, Treatment("promoter"))'


# --------------------------------------------------------------------------------------
# features (engine)
# --------------------------------------------------------------------------------------
def _data_end(store: Store) -> pd.Timestamp:
    """Latest event timestamp in orders, web events, interactions and survey responses."""
    ends = [engine.time_span(store, t, c)[1] for t, c in (
        ("orders", "order_time"), ("web_events", "event_time"),
        ("interactions", "interaction_time"), ("survey_responses", "response_time"))]
    return max(e for e in ends if pd.notna(e))


def churn_features(store: Store, as_of, *, horizon_days: int = 90, window_days: int = 180,
                   survey_days: int = 365, low_recency_days: int = 90,
                   observed_until=None) -> pd.DataFrame:
    """Churn signals of every customer active at the cut-off ``as_of``, and the label after it.

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
        One row per active customer, columns :data:`FEATURE_COLUMNS` (see the module notes),
        sorted by ``customer_id``. Flags are 0/1 integers. ``attrs``: ``cutoff``,
        ``horizon_days``, ``outcome_end``, ``outcome_observed``, ``customers``, ``events``,
        ``signed_up_after_cutoff``, ``churned_before_cutoff``, ``churned_without_date``,
        ``churn_date_without_flag``, ``no_nps_response``, ``no_ces_response``,
        ``no_activity``, ``no_orders_in_window``, ``missing_segment``.
    """
    cutoff = pd.Timestamp(as_of)
    if horizon_days < 1 or window_days < 1 or survey_days < 1:
        raise ValueError("horizon_days, window_days and survey_days must be positive")
    outcome_end = cutoff + pd.Timedelta(days=horizon_days)
    until = _data_end(store) if observed_until is None else pd.Timestamp(observed_until)
    observed = bool(outcome_end <= until.normalize() + pd.Timedelta(days=1))
    win = cutoff - pd.Timedelta(days=window_days)
    swin = cutoff - pd.Timedelta(days=survey_days)
    cut_date = ibis.literal(cutoff.date())

    c = store.table("customers")
    status = ibis.cases(
        (c.signup_date >= cutoff, "signed_up_after_cutoff"),
        (c.churned & c.churn_date.isnull(), "churned_without_date"),
        (c.churned & (c.churn_date < cutoff), "churned_before_cutoff"),
        else_="active",
    )
    c = c.mutate(status=status, date_no_flag=(~c.churned & c.churn_date.notnull()))
    counts = c.group_by(["status", "date_no_flag"]).aggregate(n=c.count()).to_pandas()
    active = c.filter(c.status == "active")

    o = store.table("orders")
    o_all = o.filter(o.order_time < cutoff)
    o_win = o_all.filter(o_all.order_time >= win)
    orders_win = o_win.group_by("customer_id").aggregate(
        orders_window=o_win.count(), late_deliveries=o_win.late.cast("int64").sum())
    last_order = o_all.group_by("customer_id").aggregate(last_order=o_all.order_time.max())
    w = store.table("web_events")
    w = w.filter((w.event_time < cutoff) & w.customer_id.notnull())
    last_visit = w.group_by("customer_id").aggregate(last_visit=w.event_time.max())
    i = store.table("interactions")
    i = i.filter((i.interaction_time < cutoff) & (i.interaction_time >= win))
    inter = i.group_by("customer_id").aggregate(unresolved_window=(~i.resolved).cast("int64").sum())
    s = store.table("survey_responses")
    s = s.filter((s.response_time < cutoff) & (s.response_time >= swin))
    rel = s.filter((s.survey_type == "relationship") & s.nps.notnull())
    rel = rel.mutate(rn=ibis.row_number().over(group_by=rel.customer_id,
                                               order_by=[ibis.desc(rel.response_time),
                                                         ibis.desc(rel.response_id)]))
    latest = rel.filter(rel.rn == 0).select("customer_id", latest_nps="nps")
    tx = s.filter((s.survey_type == "transactional") & s.ces.notnull())
    ces = tx.group_by("customer_id").aggregate(mean_ces=tx.ces.cast("float64").mean())

    v = active.select("customer_id", "segment", "signup_date")
    for agg in (orders_win, last_order, last_visit, inter, latest, ces):
        v = v.left_join(agg, v.customer_id == agg.customer_id).drop("customer_id_right")
    last = ibis.greatest(v.last_order.coalesce(v.last_visit), v.last_visit.coalesce(v.last_order))
    recency = cut_date.delta(last.cast("date"), unit="day")
    unresolved = v.unresolved_window.fill_null(0)
    v = v.mutate(
        segment=v.segment.fill_null(MISSING_SEGMENT),
        orders_window=v.orders_window.fill_null(0),
        late_deliveries=v.late_deliveries.fill_null(0),
        unresolved_window=unresolved,
        has_unresolved=(unresolved > 0).cast("int64"),
        tenure_years=cut_date.delta(v.signup_date.cast("date"), unit="day").cast("float64") / 365.25,
        recency_days=recency,
        low_recency=(recency.isnull() | (recency > low_recency_days)).cast("int64"),
        nps_group=ibis.cases((v.latest_nps >= 9, "promoter"), (v.latest_nps >= 7, "passive"),
                             (v.latest_nps.notnull(), "detractor"), else_=NO_RESPONSE),
        high_effort=(v.mean_ces.notnull() & (v.mean_ces <= 3)).cast("int64"),
        ces_missing=v.mean_ces.isnull().cast("int64"),
    )
    out = v.order_by("customer_id").to_pandas()
    out = out.merge(active.select("customer_id", "churned", "churn_date").to_pandas(),
                    on="customer_id", how="left")
    label = (out["churned"].astype(bool) & out["churn_date"].notna()
             & (out["churn_date"] >= cutoff) & (out["churn_date"] < outcome_end))
    out["churned"] = (pd.array(label.astype(int).to_numpy(), dtype="Int64") if observed
                      else pd.array([pd.NA] * len(out), dtype="Int64"))
    orders_n = out["orders_window"].astype(float)
    out["late_share"] = (out["late_deliveries"] / orders_n).where(orders_n > 0)
    out["latest_nps"] = out["latest_nps"].astype("Float64")
    out["recency_days"] = out["recency_days"].astype("Float64")
    for col in ("has_unresolved", "low_recency", "high_effort", "ces_missing", "orders_window",
                "late_deliveries", "unresolved_window"):
        out[col] = out[col].astype(int)
    out = out[FEATURE_COLUMNS].reset_index(drop=True)

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
        no_nps_response=int((out["nps_group"] == NO_RESPONSE).sum()),
        no_ces_response=int(out["ces_missing"].sum()),
        no_activity=int(out["recency_days"].isna().sum()),
        no_orders_in_window=int((out["orders_window"] == 0).sum()),
        missing_segment=int((out["segment"] == MISSING_SEGMENT).sum()),
    )
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


def _formula(data: pd.DataFrame) -> tuple[str, str]:
    """The model formula, with the most common segment as the segment reference."""
    seg_ref = data["segment"].value_counts().sort_index().idxmax()
    seg_ref_q = seg_ref.replace("\\", "\\\\").replace('"', '\\"')
    rhs = [_NPS_TERM, "has_unresolved", "late_deliveries", "tenure_years", "low_recency",
           "high_effort", "ces_missing", f'C(segment, Treatment("{seg_ref_q}"))']
    return "churned ~ " + " + ".join(rhs), seg_ref


def _fit(formula: str, data: pd.DataFrame):
    return smf.logit(formula, data=data).fit(disp=0, maxiter=200)


def _prepare(features: pd.DataFrame) -> pd.DataFrame:
    d = features.copy()
    d["churned"] = d["churned"].astype(float)
    for col in ("nps_group", "segment"):
        d[col] = d[col].astype(object)
    return d


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve by the Mann-Whitney rank formula (ties count one half)."""
    r = stats.rankdata(p)
    pos = y == 1
    n1 = int(pos.sum())
    n0 = len(y) - n1
    return float((r[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _bootstrap_auc(y: np.ndarray, p: np.ndarray, rng: np.random.Generator, n_boot: int,
                   confidence: float) -> tuple[float, float]:
    """Percentile bootstrap interval of the AUC (customers resampled with replacement)."""
    values = []
    n = len(y)
    for _ in range(n_boot):
        ix = rng.integers(0, n, n)
        yb = y[ix]
        if yb.min() == yb.max():
            continue
        values.append(_auc(yb, p[ix]))
    a = (1 - confidence) / 2
    return float(np.quantile(values, a)), float(np.quantile(values, 1 - a))


def _term_label(term: str, seg_ref: str) -> tuple[str, str]:
    """(signal, readable label) of a design-matrix column name."""
    if term.startswith(_NPS_TERM):
        level = term.split("[T.", 1)[1].rstrip("]")
        return "nps_group", f"NPS: {level} (vs promoter)"
    if term.startswith("C(segment"):
        level = term.split("[T.", 1)[1][:-1]
        return "segment", f"Segment: {level} (vs {seg_ref})"
    return term, SIGNALS.get(term, term)


@dataclass
class ChurnModel:
    """A fitted churn model with its discrimination and calibration checks.

    Attributes
    ----------
    formula : str
    result : statsmodels ``LogitResults`` on all training customers
    odds_ratios : DataFrame
        ``term, signal, label, coef, odds_ratio, ci_low, ci_high, p_value`` (no intercept).
    cv_auc, cv_auc_ci : float, (float, float)
        AUC of the pooled out-of-fold probabilities; percentile bootstrap interval.
    fold_auc : DataFrame
        ``fold, n, events, auc`` per fold.
    oof : Series
        Out-of-fold probability of each training row (index = the features' index).
    fold_of : Series
        The fold (0..folds-1) each row was held out in.
    holdout_auc, holdout_auc_ci : AUC of a model fitted on 70 % and scored on a seeded,
        stratified 30 % test split, and its bootstrap interval; ``holdout_n``,
        ``holdout_events``.
    calibration : DataFrame
        :func:`calibration_table` of the out-of-fold probabilities (deciles).
    hl_stat, hl_df, hl_p : Hosmer-Lemeshow statistic, degrees of freedom and p-value.
    brier : float
        Mean squared error of the out-of-fold probabilities.
    references : Series
        Reference value of each design column for the drivers (median for continuous
        columns, 0 for flags and dummies).
    """

    formula: str
    result: object
    odds_ratios: pd.DataFrame
    cv_auc: float
    cv_auc_ci: tuple[float, float]
    fold_auc: pd.DataFrame
    oof: pd.Series
    fold_of: pd.Series
    holdout_auc: float
    holdout_auc_ci: tuple[float, float]
    holdout_n: int
    holdout_events: int
    calibration: pd.DataFrame
    hl_stat: float
    hl_df: int
    hl_p: float
    brier: float
    n: int
    events: int
    seed: int
    folds: int
    segment_reference: str
    references: pd.Series
    training_levels: dict[str, list[str]] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """One-row-per-check table for the report: AUCs, calibration and sample size."""
        rows = [
            ("Customers (training)", self.n, None, None),
            ("Churned within horizon", self.events, None, None),
            (f"AUC, {self.folds}-fold cross-validated", self.cv_auc, *self.cv_auc_ci),
            ("AUC, 30 % held-out customers", self.holdout_auc, *self.holdout_auc_ci),
            ("Hosmer-Lemeshow chi2", self.hl_stat, None, None),
            ("Hosmer-Lemeshow p-value", self.hl_p, None, None),
            ("Brier score", self.brier, None, None),
        ]
        return pd.DataFrame(rows, columns=["check", "value", "ci_low", "ci_high"])


def fit_churn_model(features: pd.DataFrame, *, seed: int, folds: int = 5,
                    test_size: float = 0.3, n_boot: int = 1000,
                    confidence: float = 0.95) -> ChurnModel:
    """Fit the logistic churn model on training features and check it honestly.

    Rows with an unknown label (NA) are left out (counted in ``attrs["unlabelled"]``).
    Cross-validation: ``StratifiedKFold(folds, shuffle=True, random_state=seed)``, the model
    refitted on each training part, out-of-fold probabilities pooled, AUC by sklearn
    ``roc_auc_score``; interval = percentile bootstrap (``n_boot`` resamples of customers,
    seeded) of that pooled AUC. Held-out: ``train_test_split(test_size, stratify=label,
    random_state=seed)``.
    """
    if "churned" not in features.columns:
        raise ValueError("fit_churn_model: features need the 'churned' label (churn_features)")
    known = features["churned"].notna()
    data = _prepare(features[known])
    y = data["churned"].to_numpy(dtype=int)
    events = int(y.sum())
    if events < 2 * folds or (len(y) - events) < 2 * folds:
        raise ValueError(f"fit_churn_model: {events} churned of {len(y)} labelled customers is "
                         f"too few to fit and cross-validate ({folds} folds); use a longer "
                         f"horizon or an earlier cut-off.")
    formula, seg_ref = _formula(data)
    window = features.attrs.get("window_days", 180)
    res = _fit(formula, data)
    ci = res.conf_int(alpha=1 - confidence)
    rows = []
    for term in res.params.index:
        if term == "Intercept":
            continue
        sig, lab = _term_label(term, seg_ref)
        lab = lab.replace("last 180 days", f"last {window} days")
        rows.append({"term": term, "signal": sig, "label": lab, "coef": res.params[term],
                     "odds_ratio": np.exp(res.params[term]), "ci_low": np.exp(ci.loc[term, 0]),
                     "ci_high": np.exp(ci.loc[term, 1]), "p_value": res.pvalues[term]})
    odds = pd.DataFrame(rows)

    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    oof = np.full(len(y), np.nan)
    fold_of = np.full(len(y), -1)
    fold_rows = []
    for k, (tr, te) in enumerate(skf.split(np.zeros(len(y)), y)):
        r = _fit(formula, data.iloc[tr])
        oof[te] = np.asarray(r.predict(data.iloc[te]))
        fold_of[te] = k
        fold_rows.append({"fold": k, "n": len(te), "events": int(y[te].sum()),
                          "auc": roc_auc_score(y[te], oof[te])})
    rng = np.random.default_rng(seed)
    cv_auc = float(roc_auc_score(y, oof))
    cv_ci = _bootstrap_auc(y, oof, rng, n_boot, confidence)

    tr_ix, te_ix = train_test_split(np.arange(len(y)), test_size=test_size, stratify=y,
                                    random_state=seed)
    r_ho = _fit(formula, data.iloc[tr_ix])
    p_ho = np.asarray(r_ho.predict(data.iloc[te_ix]))
    ho_auc = float(roc_auc_score(y[te_ix], p_ho))
    ho_ci = _bootstrap_auc(y[te_ix], p_ho, rng, n_boot, confidence)

    hl, dof, hl_p, table = hosmer_lemeshow(y, oof, 10)
    x = pd.DataFrame(res.model.exog, columns=res.model.exog_names)
    refs = pd.Series(0.0, index=res.model.exog_names)
    for col in ("late_deliveries", "tenure_years"):
        refs[col] = float(x[col].median())
    return ChurnModel(
        formula=formula, result=res, odds_ratios=odds, cv_auc=cv_auc, cv_auc_ci=cv_ci,
        fold_auc=pd.DataFrame(fold_rows), oof=pd.Series(oof, index=data.index, name="oof"),
        fold_of=pd.Series(fold_of, index=data.index, name="fold"),
        holdout_auc=ho_auc, holdout_auc_ci=ho_ci, holdout_n=len(te_ix),
        holdout_events=int(y[te_ix].sum()), calibration=table, hl_stat=hl, hl_df=dof,
        hl_p=hl_p, brier=float(np.mean((oof - y) ** 2)), n=len(y), events=events, seed=seed,
        folds=folds, segment_reference=seg_ref, references=refs,
        training_levels={"segment": sorted(data["segment"].unique()),
                         "nps_group": sorted(data["nps_group"].unique())},
        attrs={"unlabelled": int((~known).sum()), "confidence": confidence,
               "cutoff": features.attrs.get("cutoff"),
               "horizon_days": features.attrs.get("horizon_days"), "window_days": window,
               "survey_days": features.attrs.get("survey_days"),
               "interval": "percentile bootstrap", "n_boot": n_boot},
    )


# --------------------------------------------------------------------------------------
# scores and drivers
# --------------------------------------------------------------------------------------
def _driver_key(column: str, value: float, ref: float, seg_ref: str) -> str:
    if column.startswith(_NPS_TERM):
        level = column.split("[T.", 1)[1].rstrip("]")
        return {"detractor": "is_detractor", "passive": "is_passive"}.get(level, "no_nps_response")
    if column.startswith("C(segment"):
        return "segment"
    if column == "late_deliveries":
        return "has_late_delivery"
    if column == "tenure_years":
        return "short_tenure" if value < ref else "long_tenure"
    if column == "ces_missing":
        return "no_ces_response"
    return column


def score_customers(model: ChurnModel, features_now: pd.DataFrame) -> pd.DataFrame:
    """Churn risk of current customers and the signal that raises it most.

    ``contribution`` of a signal = sum over its design columns of ``coef * (value -
    reference)`` (reference: 0 for flags and category dummies, i.e. the reference
    category; the training median for ``late_deliveries`` and ``tenure_years``): its share
    of the customer's log-odds above a baseline customer. ``main_driver`` is the signal
    with the largest positive contribution (``"none"`` when no signal raises the risk).
    A segment (or NPS group) not seen in training is scored as the reference category
    and counted in ``attrs["unseen_levels"]``.

    Returns
    -------
    DataFrame
        ``customer_id, segment, risk, log_odds, main_driver`` (key, as in params
        ``next_best_actions``), ``driver_label``, ``driver_contribution``, plus
        ``contrib_<signal>`` for every signal; sorted by risk, highest first.
    """
    d = _prepare(features_now)
    unseen = {}
    scored_seg = d["segment"].copy()
    for col, ref in (("segment", model.segment_reference), ("nps_group", "promoter")):
        bad = ~d[col].isin(model.training_levels[col])
        unseen[col] = int(bad.sum())
        d.loc[bad, col] = ref
    data_ = model.result.model.data
    info = getattr(data_, "model_spec", None) or data_.design_info
    (x,) = build_design_matrices([info], d, return_type="dataframe")
    x = x.reindex(index=d.index)
    beta = model.result.params
    log_odds = x.to_numpy() @ beta.to_numpy()
    contrib_cols = (x - model.references) * beta
    contrib_cols = contrib_cols.drop(columns="Intercept")
    signals = {c: _term_label(c, model.segment_reference)[0] for c in contrib_cols.columns}
    contrib = contrib_cols.T.groupby(pd.Series(signals)).sum().T
    contrib = contrib.reindex(columns=[s for s in SIGNALS if s in contrib.columns])
    best_sig = contrib.idxmax(axis=1)
    best_val = contrib.max(axis=1)
    keys = []
    for ix in d.index:
        sig, val = best_sig[ix], best_val[ix]
        if not val > 0:
            keys.append("none")
            continue
        cols = [c for c in contrib_cols.columns if signals[c] == sig]
        col = max(cols, key=lambda c: contrib_cols.at[ix, c])
        keys.append(_driver_key(col, x.at[ix, col], model.references[col],
                                model.segment_reference))
    out = pd.DataFrame({
        "customer_id": d["customer_id"].to_numpy(), "segment": scored_seg.to_numpy(),
        "risk": 1 / (1 + np.exp(-log_odds)), "log_odds": log_odds,
        "main_driver": keys, "driver_contribution": best_val.clip(lower=0).to_numpy(),
    }, index=d.index)
    out["driver_label"] = [
        f"Segment: {s}" if k == "segment" else DRIVER_LABELS.get(k, k)
        for k, s in zip(out["main_driver"], out["segment"], strict=True)]
    for s in contrib.columns:
        out[f"contrib_{s}"] = contrib[s].to_numpy()
    out = out.sort_values(["risk", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    out.attrs.update(unseen_levels=unseen, cutoff=features_now.attrs.get("cutoff"),
                     horizon_days=features_now.attrs.get("horizon_days"))
    return out


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
        :func:`score_customers` output.
    params : Params
        ``next_best_actions`` (driver key -> action, owner) and ``at_risk_top``.
    top : int, optional
        Default ``params.at_risk_top``.
    salt : str
        Secret for :func:`pseudonymise`.

    Returns
    -------
    (stakeholder, analyst) : tuple of DataFrame
        stakeholder: ``rank, customer_ref, segment, risk, main_driver`` (readable label),
        ``next_best_action, owner`` (no customer id, e-mail or phone); analyst: the same
        plus ``customer_id`` and ``driver_key``. A driver without a rule in params (or no
        driver) gets "Review manually" by the CX team; ``attrs["review_manually"]`` counts
        them and ``attrs["drivers_without_rule"]`` lists {driver: customers}.
    """
    n = params.at_risk_top if top is None else int(top)
    if n < 1:
        raise ValueError("at_risk: top must be at least 1")
    s = scored.sort_values(["risk", "customer_id"], ascending=[False, True]).head(n)
    rules = params.next_best_actions
    actions = [rules.get(k, REVIEW_ACTION) for k in s["main_driver"]]
    no_rule = s.loc[~s["main_driver"].isin(list(rules)), "main_driver"].value_counts()
    analyst = pd.DataFrame({
        "rank": np.arange(1, len(s) + 1),
        "customer_id": s["customer_id"].to_numpy(),
        "customer_ref": pseudonymise(s["customer_id"], salt).to_numpy(),
        "segment": s["segment"].to_numpy(),
        "risk": s["risk"].to_numpy(),
        "main_driver": s["driver_label"].to_numpy(),
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

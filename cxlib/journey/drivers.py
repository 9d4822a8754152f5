"""Key-driver analysis: what moves relationship NPS, and the NPS uplift from fixing each touchpoint.

::

    window = drivers.trailing_window(ctx.period.label, 4)            # the last 4 quarters
    frame = drivers.driver_frame(responses, params, window=window)   # one row per customer
    kd = drivers.key_drivers(frame, frame.attrs["touchpoints"], seed=params.seed)
    kd.table                                                         # beta, share of R^2, intervals
    drivers.uplift_table(frame, kd, params, perf=perf)               # the NPS uplift list
    drivers.importance_comparison(perf, kd)                          # stated vs derived

Method
------
**Customer-level frame** (:func:`driver_frame`). The outcome is each customer's relationship
likelihood to recommend (LTR, 0-10): their latest relationship response in the last period of
the window. The predictors are the customer's mean transactional CSAT (1-5) per journey
touchpoint over the whole window.

**Missing ratings: mean imputation with a missing indicator.** Transactional surveys sample
touchpoints, so each customer rates only a few of them (demo, 4 quarters: median 2 of 11;
no customer rates all). Complete cases would leave almost nobody, and keeping only touchpoints
rated by most customers would leave almost no touchpoints, so:

* a touchpoint enters the model only if at least ``max(min_coverage * n, min_base)`` of the
  customers rated it; the others are listed in ``attrs["touchpoints_dropped"]``;
* customers who rated fewer than ``min_touchpoints`` of the kept touchpoints are excluded
  and counted in ``attrs["n_too_few_touchpoints"]``;
* a missing touchpoint mean is set to the mean over the customers who rated it, and the
  column ``<touchpoint>_missing`` (1 = imputed) enters the model beside it (the
  missing-indicator method, Cohen & Cohen 1983). Imputed values are constant, so the CSAT
  slope is learnt from the customers who rated the touchpoint, while the indicator absorbs
  any difference in level of those who did not (e.g. customers who never use delivery).
  With missingness unrelated to the scores (the demo) the slopes are unbiased; when it is
  related to other predictors the method can bias them (Jones 1996), so read the
  coefficients as a ranking of drivers, not exact causal effects.

Every exclusion is counted in ``frame.attrs`` (see :func:`driver_frame`).

**Driver model** (:func:`key_drivers`). OLS of LTR on the touchpoint CSAT columns (plus
their missing indicators), with heteroskedasticity-robust HC3 standard errors (MacKinnon &
White 1985) via statsmodels. ``beta`` = LTR points per CSAT point, other touchpoints held
constant.

**Relative importance: LMG / Shapley decomposition of R^2** (Lindeman, Merenda & Gold 1980;
Grömping 2006). A touchpoint's share is its increase in R^2 when it joins the model,
averaged over all orderings of the touchpoints; shares are non-negative and sum exactly to
the model's R^2, however correlated the touchpoints are. A touchpoint and its missing
indicator join together (one "player"). Computed exactly over all ``2^p`` subsets, with
each subset's R^2 from the correlation matrix (``R^2(S) = r_yS' R_SS^-1 r_yS``), batched in
numpy; percentile intervals by resampling customers (``n_boot`` times, seeded).

**Uplift** (:func:`uplift`). If touchpoint ``t`` were raised to its target for every
customer below it, customer ``i``'s LTR would become
``s_i' = clip(ltr_i + beta_t * max(0, target - csat_it), 0, 10)`` (continuous; customers
without a rating have the imputed mean, i.e. are assumed to experience ``t`` like the
average rater; ``rated_only=True`` shifts only customers who rated it). A continuous score
is classified by **linear interpolation between its two neighbouring whole scores**: with
``s' = k + f`` (``k`` whole, ``0 <= f < 1``) the customer counts as score ``k`` with weight
``1 - f`` and score ``k + 1`` with weight ``f`` - e.g. 8.75 counts as 0.75 promoter and
0.25 passive, 6.4 as 0.6 detractor and 0.4 passive. This is the expected NPS if a fraction
``f`` of such customers moved up a whole point, it is smooth in ``beta`` (small
improvements are not rounded away, nor rounded up into promoters), and a zero shift gives
back the observed NPS exactly. ``uplift = NPS_after - NPS_before`` in points, with a
percentile bootstrap interval (customers resampled, the model refitted each time).

References
----------
Lindeman, R. H., Merenda, P. F., & Gold, R. Z. (1980). *Introduction to Bivariate and
Multivariate Analysis*. Scott, Foresman. · Grömping, U. (2006). Relative importance for
linear regression in R: the package relaimpo. *Journal of Statistical Software*, 17(1).
· Cohen, J., & Cohen, P. (1983). *Applied Multiple Regression/Correlation Analysis for the
Behavioral Sciences* (2nd ed.). · Jones, M. P. (1996). Indicator and stratification methods
for missing explanatory variables in multiple linear regression. *JASA*, 91(433), 222-230.
· MacKinnon, J. G., & White, H. (1985). Some heteroskedasticity-consistent covariance
matrix estimators with improved finite sample properties. *J. Econometrics*, 29(3), 305-325.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from math import factorial
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.regression.linear_model import OLS  # not statsmodels.api: 0.3 s more to import
from statsmodels.tools.tools import add_constant

from cxlib.data.params import Params
from cxlib.exceptions import ParameterError, PeriodError
from cxlib.quant.metrics import in_scope

__all__ = [
    "DriverResult",
    "UpliftResult",
    "trailing_window",
    "driver_frame",
    "key_drivers",
    "lmg",
    "uplift",
    "uplift_table",
    "importance_comparison",
    "MAX_EXACT_TOUCHPOINTS",
]

#: the exact LMG decomposition visits 2^p subsets; beyond this many touchpoints it refuses
MAX_EXACT_TOUCHPOINTS = 14
_RESERVED = {"customer_id", "segment", "ltr", "n_touchpoints"}


def _missing_col(tp: str) -> str:
    return f"{tp}_missing"


# --------------------------------------------------------------------------------------
# the customer-level frame
# --------------------------------------------------------------------------------------
def trailing_window(label: str, quarters: int = 4) -> list[str]:
    """The ``quarters`` quarter labels ending with ``label``, oldest first.

    ``trailing_window("2026Q3", 4) == ["2025Q4", "2026Q1", "2026Q2", "2026Q3"]``.
    """
    if quarters < 1:
        raise ValueError(f"quarters must be at least 1, got {quarters!r}")
    end = pd.Period(label, freq="Q")
    return [str(end - k) for k in range(quarters - 1, -1, -1)]


def driver_frame(responses: pd.DataFrame, params: Params, *, window: list[str],
                 min_touchpoints: int = 1, min_coverage: float = 0.05) -> pd.DataFrame:
    """One row per customer: relationship LTR and mean transactional CSAT per touchpoint.

    Parameters
    ----------
    responses : DataFrame
        Survey responses with ``period`` (e.g. :func:`cxlib.data.engine.responses`): response_id,
        customer_id, response_time, survey_type, touchpoint, nps, csat (segment optional).
    params : Params
        The journey (which touchpoints, in which order) and ``thresholds.min_base``.
    window : list of str
        Period labels. LTR comes from the **last** label (each customer's latest relationship
        response in it); CSAT is averaged per customer and touchpoint over **all** labels.
    min_touchpoints : int, default 1
        Customers who rated fewer of the kept touchpoints are excluded (and counted).
    min_coverage : float, default 0.05
        A touchpoint is kept if rated by at least ``max(min_coverage * n, min_base)`` of
        the ``n`` customers with an LTR; otherwise it is dropped (and listed).

    Returns
    -------
    DataFrame
        customer_id, segment (if in ``responses``), ltr (0-10), n_touchpoints (kept
        touchpoints the customer rated), then per kept touchpoint ``<tp>`` (mean CSAT,
        imputed with the raters' mean where missing) and ``<tp>_missing`` (1.0 = imputed),
        in journey order; sorted by customer_id.

        ``attrs``: window, period, touchpoints (kept, journey order), touchpoints_dropped
        ({tp: customers who rated it}), n_rated ({tp: n}), imputed_mean ({tp: value}),
        min_rated (the coverage threshold), n_relationship (relationship responses in the
        last period), n_relationship_no_nps, n_relationship_no_customer,
        n_relationship_superseded (earlier responses of a customer in the same period),
        n_ltr_customers, n_too_few_touchpoints, n_customers (rows), n_transactional (in the
        window), n_transactional_no_csat, n_transactional_no_customer,
        n_transactional_unmapped (touchpoint not in the journey or missing),
        n_transactional_no_ltr (rating customers with no LTR in the last period),
        n_transactional_dropped_touchpoint, n_transactional_too_few_touchpoints,
        n_transactional_used. Every response is accounted for exactly once:
        ``n_relationship = no_nps + no_customer + superseded + n_ltr_customers``,
        ``n_ltr_customers = n_too_few_touchpoints + n_customers`` and ``n_transactional =
        no_csat + no_customer + unmapped + no_ltr + dropped_touchpoint + too_few_touchpoints
        + used`` (in that order of precedence).
    """
    if not window:
        raise ValueError("window must name at least one period label, e.g. ['2026Q2', '2026Q3']")
    if min_touchpoints < 0:
        raise ValueError(f"min_touchpoints must be >= 0, got {min_touchpoints!r}")
    journey_tps = [tp.id for tp in params.touchpoints]
    clash = sorted(set(journey_tps) & _RESERVED
                   | {t for t in journey_tps if t.endswith("_missing")})
    if clash:
        raise ParameterError(f"touchpoint id(s) {clash} clash with driver-frame column names; "
                             "rename them in the params file's journey.")
    period = window[-1]
    in_window = responses["period"].isin(window)

    # --- outcome: latest relationship LTR per customer in the last period ---------------
    rel = responses.loc[in_scope(responses, "relationship") & (responses["period"] == period)]
    if rel.empty:
        raise PeriodError(f"no relationship survey responses in {period} (the last period of the "
                          f"window {window}); choose a window that ends in a surveyed quarter.")
    ltr = pd.to_numeric(rel["nps"], errors="coerce")
    no_nps = ltr.isna()
    no_cust = ~no_nps & rel["customer_id"].isna()
    ok = rel.loc[~no_nps & ~no_cust].assign(ltr=ltr[~no_nps & ~no_cust].astype(float))
    sort_cols = ["customer_id", "response_time"] + (["response_id"] if "response_id" in ok else [])
    latest = ok.sort_values(sort_cols, kind="stable").groupby("customer_id", sort=True).tail(1)
    keep_cols = ["customer_id", "ltr"] + (["segment"] if "segment" in latest else [])
    out = latest[keep_cols].set_index("customer_id")
    n_ltr = len(out)

    # --- predictors: mean CSAT per customer x touchpoint over the window ----------------
    tx = responses.loc[in_window & in_scope(responses, "transactional")]
    csat = pd.to_numeric(tx["csat"], errors="coerce")
    t_no_csat = csat.isna()
    t_no_cust = ~t_no_csat & tx["customer_id"].isna()
    t_unmapped = ~t_no_csat & ~t_no_cust & ~tx["touchpoint"].isin(journey_tps)
    t_no_ltr = ~t_no_csat & ~t_no_cust & ~t_unmapped & ~tx["customer_id"].isin(out.index)
    usable = ~(t_no_csat | t_no_cust | t_unmapped | t_no_ltr)
    t = pd.DataFrame({"customer_id": tx.loc[usable, "customer_id"].to_numpy(),
                      "touchpoint": tx.loc[usable, "touchpoint"].to_numpy(),
                      "csat": csat[usable].to_numpy(dtype=float)})
    means = t.groupby(["customer_id", "touchpoint"])["csat"].mean().unstack("touchpoint")
    means = means.reindex(index=out.index, columns=journey_tps)

    n_rated_all = means.notna().sum(axis=0).astype(int)
    min_rated = max(int(np.ceil(min_coverage * n_ltr)), params.thresholds.min_base)
    kept = [tp for tp in journey_tps if n_rated_all[tp] >= min_rated]
    dropped = {tp: int(n_rated_all[tp]) for tp in journey_tps if tp not in kept}
    if not kept:
        raise PeriodError(f"no touchpoint was rated by at least {min_rated} of the {n_ltr} customers "
                          f"with an LTR in {period}; widen the window or lower min_coverage.")
    n_dropped_tp_rows = int(t["touchpoint"].isin(list(dropped)).sum())
    means = means[kept]
    n_tps = means.notna().sum(axis=1).astype(int)
    enough = n_tps >= min_touchpoints
    n_used = int((t["touchpoint"].isin(kept) & t["customer_id"].isin(means.index[enough])).sum())
    n_few_rows = int((t["touchpoint"].isin(kept) & ~t["customer_id"].isin(means.index[enough])).sum())
    means = means.loc[enough]
    out = out.loc[enough]

    frame = out.copy()
    frame["n_touchpoints"] = n_tps[enough]
    imputed_mean = {}
    for tp in kept:
        col = means[tp]
        imputed_mean[tp] = float(col.mean())
        frame[tp] = col.fillna(imputed_mean[tp])
    for tp in kept:
        frame[_missing_col(tp)] = means[tp].isna().astype(float)
    frame = frame.reset_index()
    frame.attrs = {
        "window": list(window), "period": period, "touchpoints": kept,
        "touchpoints_dropped": dropped,
        "n_rated": {tp: int(means[tp].notna().sum()) for tp in kept},
        "imputed_mean": imputed_mean, "min_rated": min_rated, "min_touchpoints": min_touchpoints,
        "n_relationship": len(rel), "n_relationship_no_nps": int(no_nps.sum()),
        "n_relationship_no_customer": int(no_cust.sum()),
        "n_relationship_superseded": int(len(ok) - n_ltr), "n_ltr_customers": n_ltr,
        "n_too_few_touchpoints": int((~enough).sum()), "n_customers": len(frame),
        "n_transactional": len(tx), "n_transactional_no_csat": int(t_no_csat.sum()),
        "n_transactional_no_customer": int(t_no_cust.sum()),
        "n_transactional_unmapped": int(t_unmapped.sum()),
        "n_transactional_no_ltr": int(t_no_ltr.sum()),
        "n_transactional_dropped_touchpoint": n_dropped_tp_rows,
        "n_transactional_too_few_touchpoints": n_few_rows,
        "n_transactional_used": n_used,
    }
    return frame


# --------------------------------------------------------------------------------------
# LMG / Shapley decomposition of R^2
# --------------------------------------------------------------------------------------
def _corr(data: np.ndarray) -> np.ndarray:
    """Correlation matrix of the columns; a constant column gets an identity row/column
    (it explains nothing beyond the intercept)."""
    c = np.cov(data, rowvar=False)
    sd = np.sqrt(np.clip(np.diag(c), 0, None))
    const = sd <= 1e-12 * max(1.0, float(sd.max(initial=0.0)))
    sd_safe = np.where(const, 1.0, sd)
    r = c / np.outer(sd_safe, sd_safe)
    r[const, :] = 0.0
    r[:, const] = 0.0
    r[const, const] = 1.0
    return r


class _Lmg:
    """Exact LMG over ``p`` groups of ``k`` predictor columns, planned once, applied to any
    correlation matrix of [predictors..., outcome] (outcome last).

    Every subset's R^2 is ``r_yS' R_SS^-1 r_yS``: the subsets are batched by their number of
    columns, each batch gathered into compact (m, c, c) matrices and solved at once.
    """

    def __init__(self, k: int, groups: list[np.ndarray]):
        p = len(groups)
        if p > MAX_EXACT_TOUCHPOINTS:
            raise ValueError(f"the exact LMG decomposition visits 2^{p} subsets; use at most "
                             f"{MAX_EXACT_TOUCHPOINTS} touchpoints (drop or merge some).")
        self.k, self.p = k, p
        member = np.zeros((p, k), dtype=bool)
        for j, cols in enumerate(groups):
            member[j, cols] = True
        masks = np.arange(2**p)
        bits = ((masks[:, None] >> np.arange(p)) & 1).astype(bool)  # (2^p, p)
        inc = bits @ member  # (2^p, k): the columns of each subset
        n_cols = inc.sum(axis=1)
        first = np.argsort(~inc, axis=1, kind="stable")  # included columns first, in order
        self.plan = [(np.flatnonzero(n_cols == c), first[n_cols == c, :c])
                     for c in np.unique(n_cols) if c > 0]
        size = bits.sum(axis=1)
        weight = np.array([factorial(s) * factorial(p - s - 1) / factorial(p) for s in range(p)])
        self.pairs = []  # per group: subsets without it, the same with it, their weights
        for j in range(p):
            without = masks[(masks & (1 << j)) == 0]
            self.pairs.append((without, without | (1 << j), weight[size[without]]))

    def subset_r2(self, r: np.ndarray) -> np.ndarray:
        rxx, rxy = r[:self.k, :self.k], r[:self.k, self.k]
        out = np.zeros(2**self.p)
        for sel, idx in self.plan:
            a = rxx[idx[:, :, None], idx[:, None, :]]
            b = rxy[idx]
            try:
                sol = np.linalg.solve(a, b[..., None])[..., 0]
            except np.linalg.LinAlgError:  # perfectly collinear columns: minimum-norm solution
                sol = np.einsum("mij,mj->mi", np.linalg.pinv(a, hermitian=True), b)
            out[sel] = np.einsum("mi,mi->m", b, sol)
        return out

    def shares(self, r: np.ndarray) -> np.ndarray:
        """Shapley values of the R^2 game: each group's R^2 gain averaged over all orderings."""
        r2 = self.subset_r2(r)
        return np.array([float(np.sum(w * (r2[with_] - r2[without]))) for without, with_, w in self.pairs])


def lmg(data: np.ndarray, groups: list[np.ndarray] | None = None) -> np.ndarray:
    """LMG (Shapley) shares of R^2 for the columns of ``data`` (outcome in the last column).

    ``groups`` lists the predictor columns that join the model together (default: each
    predictor alone). Returns one share per group; they sum to the full model's R^2.
    """
    data = np.asarray(data, dtype=float)
    k = data.shape[1] - 1
    groups = [np.array([j]) for j in range(k)] if groups is None else [np.atleast_1d(g) for g in groups]
    return _Lmg(k, groups).shares(_corr(data))


# --------------------------------------------------------------------------------------
# the driver model
# --------------------------------------------------------------------------------------
@dataclass
class DriverResult:
    """A key-driver model of LTR on touchpoint CSAT.

    Attributes
    ----------
    table : DataFrame
        One row per touchpoint (model order): touchpoint, beta (LTR points per CSAT
        point), std_err (HC3), beta_ci_low, beta_ci_high, p_value, share_of_r2 (LMG),
        share_ci_low, share_ci_high (bootstrap percentile), pct_of_r2 (share / R^2 * 100),
        share_rank (1 = largest share), n_rated (customers with a rating).
    coefficients : DataFrame
        Every model term (const, touchpoints, missing indicators): term, coef, std_err,
        ci_low, ci_high, p_value.
    r_squared, adj_r_squared : float
    n : int
        Customers in the model.
    touchpoints : list of str
    indicators : list of str
        Missing-indicator columns in the model (those that vary).
    outcome : str
    confidence : float
    n_boot, seed : int
    model : statsmodels RegressionResults
        The HC3 fit, for anything else.
    boot_shares : ndarray
        (n_boot, p) bootstrap LMG shares (rows with a degenerate resample are NaN).
    """

    table: pd.DataFrame
    coefficients: pd.DataFrame
    r_squared: float
    adj_r_squared: float
    n: int
    touchpoints: list[str]
    indicators: list[str]
    outcome: str
    confidence: float
    n_boot: int
    seed: int
    model: object = field(repr=False)
    boot_shares: np.ndarray = field(repr=False)

    def beta(self, touchpoint: str) -> float:
        return float(self.table.set_index("touchpoint").loc[touchpoint, "beta"])


def _design(frame: pd.DataFrame, touchpoints: list[str], indicators: bool) -> tuple[list[str], list[np.ndarray]]:
    """Model columns (touchpoints, then varying indicators) and the LMG groups over them."""
    ind = []
    if indicators:
        for tp in touchpoints:
            col = _missing_col(tp)
            if col in frame and frame[col].nunique(dropna=False) > 1:
                ind.append(col)
    cols = list(touchpoints) + ind
    groups = [np.array([j] + ([cols.index(_missing_col(tp))] if _missing_col(tp) in ind else []))
              for j, tp in enumerate(touchpoints)]
    return cols, groups


def key_drivers(frame: pd.DataFrame, touchpoints: list[str], *, confidence: float = 0.95,
                n_boot: int = 200, seed: int = 0, indicators: bool = True,
                outcome: str = "ltr") -> DriverResult:
    """OLS of likelihood to recommend on touchpoint CSAT, with LMG shares of R^2.

    Parameters
    ----------
    frame : DataFrame
        From :func:`driver_frame` (or any frame with ``outcome`` and the touchpoint
        columns, no missing values).
    touchpoints : list of str
        Predictor columns (e.g. ``frame.attrs["touchpoints"]``); at most
        :data:`MAX_EXACT_TOUCHPOINTS`.
    confidence : float, default 0.95
        Level of the coefficient (HC3) and share (bootstrap percentile) intervals.
    n_boot : int, default 200
        Bootstrap resamples of customers for the share intervals (0 = none).
    seed : int, default 0
        Seed of the bootstrap (same seed, same intervals).
    indicators : bool, default True
        Include the ``<tp>_missing`` columns that exist and vary; each joins its touchpoint
        as one LMG player, so a touchpoint's share includes what its indicator explains.

    Returns
    -------
    DriverResult
    """
    touchpoints = list(touchpoints)
    if not touchpoints:
        raise ValueError("key_drivers needs at least one touchpoint column")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    if len(touchpoints) > MAX_EXACT_TOUCHPOINTS:
        raise ValueError(f"{len(touchpoints)} touchpoints: the exact LMG decomposition handles at most "
                         f"{MAX_EXACT_TOUCHPOINTS}; drop or merge touchpoints.")
    cols, groups = _design(frame, touchpoints, indicators)
    missing = [c for c in [outcome, *cols] if c not in frame]
    if missing:
        raise ValueError(f"frame has no column(s) {missing}; build it with driver_frame().")
    data = frame[cols + [outcome]].astype(float)
    if data.isna().any().any():
        bad = data.columns[data.isna().any()].tolist()
        raise ValueError(f"column(s) {bad} have missing values; driver_frame() imputes them.")
    arr = data.to_numpy()
    n = len(arr)
    if n <= len(cols) + 1:
        raise ValueError(f"{n} customers cannot fit a model with {len(cols)} predictors.")

    fit = OLS(data[outcome], add_constant(data[cols], has_constant="add")).fit(cov_type="HC3")
    ci = fit.conf_int(alpha=1 - confidence)
    coef = pd.DataFrame({"term": fit.params.index, "coef": fit.params.to_numpy(),
                         "std_err": fit.bse.to_numpy(), "ci_low": ci[0].to_numpy(),
                         "ci_high": ci[1].to_numpy(), "p_value": fit.pvalues.to_numpy()})

    game = _Lmg(len(cols), groups)
    shares = game.shares(_corr(arr))
    rng = np.random.default_rng(seed)
    boot = np.full((n_boot, len(groups)), np.nan)
    for b in range(n_boot):
        sample = arr[rng.integers(0, n, n)]
        if np.ptp(sample[:, -1]) == 0:
            continue
        boot[b] = game.shares(_corr(sample))
    a = (1 - confidence) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = (np.nanquantile(boot, q, axis=0) if n_boot else np.full(len(groups), np.nan)
                  for q in (a, 1 - a))
    c = coef.set_index("term")
    table = pd.DataFrame({
        "touchpoint": touchpoints,
        "beta": c.loc[touchpoints, "coef"].to_numpy(),
        "std_err": c.loc[touchpoints, "std_err"].to_numpy(),
        "beta_ci_low": c.loc[touchpoints, "ci_low"].to_numpy(),
        "beta_ci_high": c.loc[touchpoints, "ci_high"].to_numpy(),
        "p_value": c.loc[touchpoints, "p_value"].to_numpy(),
        "share_of_r2": shares, "share_ci_low": lo, "share_ci_high": hi,
        "pct_of_r2": 100 * shares / fit.rsquared if fit.rsquared > 0 else np.nan,
    })
    table["share_rank"] = table["share_of_r2"].rank(ascending=False, method="min").astype(int)
    table["n_rated"] = [
        int((frame[_missing_col(tp)] == 0).sum()) if _missing_col(tp) in frame else n for tp in touchpoints
    ]
    return DriverResult(table=table, coefficients=coef, r_squared=float(fit.rsquared),
                        adj_r_squared=float(fit.rsquared_adj), n=n, touchpoints=touchpoints,
                        indicators=[col for col in cols if col not in touchpoints], outcome=outcome,
                        confidence=confidence, n_boot=n_boot, seed=seed, model=fit, boot_shares=boot)


# --------------------------------------------------------------------------------------
# uplift
# --------------------------------------------------------------------------------------
class UpliftResult(NamedTuple):
    """Estimated NPS change from raising one touchpoint's CSAT to its target.

    Attributes
    ----------
    touchpoint : str
    target : float
        Target CSAT (1-5).
    beta : float
        LTR points per CSAT point (the driver model's coefficient).
    nps_before, nps_after : float
        NPS (points) of the frame's customers, observed and with shifted scores.
    uplift : float
        ``nps_after - nps_before`` in points.
    ci_low, ci_high : float
        Bootstrap percentile interval of ``uplift``.
    n : int
        Customers.
    n_shifted : int
        Customers whose CSAT is below target (and, with rated_only, who rated it).
    n_boot : int
    confidence : float
    """

    touchpoint: str
    target: float
    beta: float
    nps_before: float
    nps_after: float
    uplift: float
    ci_low: float
    ci_high: float
    n: int
    n_shifted: int
    n_boot: int
    confidence: float


def _nps_weight(scores: np.ndarray) -> np.ndarray:
    """NPS contribution (+1 promoter, 0 passive, -1 detractor) of continuous 0-10 scores,
    interpolated linearly between the two neighbouring whole scores."""
    s = np.clip(scores, 0.0, 10.0)
    k = np.floor(s)
    f = s - k
    g = lambda x: np.where(x >= 9, 1.0, np.where(x <= 6, -1.0, 0.0))  # noqa: E731
    return (1 - f) * g(k) + f * g(np.minimum(k + 1, 10))


def _uplifts(y: np.ndarray, x: np.ndarray, rated: np.ndarray, betas: np.ndarray,
             targets: np.ndarray, rated_only: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """(uplift per touchpoint, n shifted, NPS before) for outcome ``y`` and CSAT ``x`` (n, t)."""
    gap = np.clip(targets[None, :] - x, 0, None)
    if rated_only:
        gap = np.where(rated, gap, 0.0)
    before = 100 * float(np.mean(_nps_weight(y)))
    after = 100 * np.mean(_nps_weight(y[:, None] + betas[None, :] * gap), axis=0)
    return after - before, (gap > 0).sum(axis=0), before


def _boot_uplifts(frame: pd.DataFrame, drivers: DriverResult, tps: list[str], targets: np.ndarray,
                  n_boot: int, seed: int, rated_only: bool) -> np.ndarray:
    """(n_boot, len(tps)) bootstrap uplifts: customers resampled, the OLS refitted each time."""
    cols = list(drivers.touchpoints) + list(drivers.indicators)
    X = np.column_stack([np.ones(len(frame)), frame[cols].to_numpy(dtype=float)])
    y = frame[drivers.outcome].to_numpy(dtype=float)
    pos = [1 + cols.index(tp) for tp in tps]
    x = frame[tps].to_numpy(dtype=float)
    rated = _rated(frame, tps)
    n = len(frame)
    rng = np.random.default_rng(seed)
    out = np.full((n_boot, len(tps)), np.nan)
    for b in range(n_boot):
        ix = rng.integers(0, n, n)
        xs = X[ix]
        xtx = xs.T @ xs
        if np.linalg.cond(xtx) > 1e12:  # a degenerate resample (e.g. a constant column): skipped
            continue
        coef = np.linalg.solve(xtx, xs.T @ y[ix])
        out[b], _, _ = _uplifts(y[ix], x[ix], rated[ix], coef[pos], targets, rated_only)
    return out


def _rated(frame: pd.DataFrame, tps: list[str]) -> np.ndarray:
    return np.column_stack([
        (frame[_missing_col(tp)] == 0).to_numpy() if _missing_col(tp) in frame else np.ones(len(frame), bool)
        for tp in tps
    ])


def _targets(params: Params, tps: list[str], target: float | None = None) -> np.ndarray:
    by_id = {tp.id: tp for tp in params.touchpoints}
    unknown = [tp for tp in tps if tp not in by_id and target is None]
    if unknown:
        raise ParameterError(f"touchpoint(s) {unknown} are not in the params file's journey, so they "
                             "have no target_csat; add them or pass target=.")
    return np.array([float(target) if target is not None else by_id[tp].target_csat for tp in tps])


def uplift(frame: pd.DataFrame, drivers: DriverResult, params: Params, touchpoint: str, *,
           target: float | None = None, n_boot: int = 200, seed: int = 0,
           rated_only: bool = False) -> UpliftResult:
    """NPS uplift (points) if ``touchpoint``'s CSAT were raised to ``target`` where below it.

    Each customer's score becomes ``clip(ltr + beta * max(0, target - csat), 0, 10)`` on
    the continuous scale, classified by linear interpolation between neighbouring whole
    scores (module docstring); ``csat`` is the customer's mean rating, or the imputed mean
    for customers who did not rate it (``rated_only=True``: those are not shifted).

    Parameters
    ----------
    frame : DataFrame
        The frame ``drivers`` was fitted on (:func:`driver_frame`).
    drivers : DriverResult
        From :func:`key_drivers`; ``beta`` is its coefficient for ``touchpoint``.
    params : Params
        For the touchpoint's ``target_csat`` (unless ``target`` is given).
    target : float, optional
        Target CSAT (1-5); default ``target_csat`` from params.
    n_boot, seed : int
        Bootstrap resamples of customers (model refitted each time) and their seed; the
        interval is at ``drivers.confidence``.

    Returns
    -------
    UpliftResult
    """
    if touchpoint not in drivers.touchpoints:
        raise ValueError(f"{touchpoint!r} is not in the driver model (touchpoints: {drivers.touchpoints})")
    tgt = _targets(params, [touchpoint], target)
    beta = np.array([drivers.beta(touchpoint)])
    y = frame[drivers.outcome].to_numpy(dtype=float)
    up, shifted, before = _uplifts(y, frame[[touchpoint]].to_numpy(dtype=float),
                                   _rated(frame, [touchpoint]), beta, tgt, rated_only)
    boot = _boot_uplifts(frame, drivers, [touchpoint], tgt, n_boot, seed, rated_only)
    lo, hi = _percentiles(boot, drivers.confidence)
    return UpliftResult(touchpoint, float(tgt[0]), float(beta[0]), before, before + float(up[0]),
                        float(up[0]), float(lo[0]), float(hi[0]), len(frame), int(shifted[0]),
                        n_boot, drivers.confidence)


def _percentiles(boot: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    a = (1 - confidence) / 2
    if boot.shape[0] == 0 or np.isnan(boot).all():
        nan = np.full(boot.shape[1], np.nan)
        return nan, nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanquantile(boot, a, axis=0), np.nanquantile(boot, 1 - a, axis=0)


UPLIFT_COLUMNS = [
    "rank", "touchpoint", "label", "owner", "performance", "target", "n_rated", "n_below_target",
    "beta", "beta_ci_low", "beta_ci_high", "p_value", "share_of_r2", "share_ci_low", "share_ci_high",
    "nps_before", "nps_after", "uplift", "uplift_ci_low", "uplift_ci_high", "small_base",
]


def uplift_table(frame: pd.DataFrame, drivers: DriverResult, params: Params, *,
                 perf: pd.DataFrame | None = None, n_boot: int = 200, seed: int = 0,
                 rated_only: bool = False) -> pd.DataFrame:
    """The uplift list: one row per driver-model touchpoint, largest NPS uplift first.

    One bootstrap serves every touchpoint (same resamples as :func:`uplift` with the same
    seed, so each row's interval equals that touchpoint's :func:`uplift` interval).

    Parameters
    ----------
    perf : DataFrame, optional
        :func:`cxlib.journey.gaps.touchpoint_performance` output: ``performance`` (response-level
        mean CSAT) is taken from it, as in the fix-first list. Without it, performance is the
        mean of the raters' customer-level means in ``frame``.

    Returns
    -------
    DataFrame
        rank (1 = largest uplift; NA for a small base), touchpoint, label, owner,
        performance, target, n_rated, n_below_target, beta, beta_ci_low, beta_ci_high,
        p_value, share_of_r2, share_ci_low, share_ci_high, nps_before, nps_after, uplift,
        uplift_ci_low, uplift_ci_high, small_base (n_rated < min_base). Ranked touchpoints
        first by uplift (largest first), then small bases.
    """
    tps = list(drivers.touchpoints)
    tgt = _targets(params, tps)
    tab = drivers.table.set_index("touchpoint").loc[tps]
    betas = tab["beta"].to_numpy(dtype=float)
    y = frame[drivers.outcome].to_numpy(dtype=float)
    rated = _rated(frame, tps)
    x = frame[tps].to_numpy(dtype=float)
    up, shifted, before = _uplifts(y, x, rated, betas, tgt, rated_only)
    lo, hi = _percentiles(_boot_uplifts(frame, drivers, tps, tgt, n_boot, seed, rated_only), drivers.confidence)
    by_id = {tp.id: tp for tp in params.touchpoints}
    if perf is not None:
        performance = perf.set_index("touchpoint")["performance"].reindex(tps).to_numpy(dtype=float)
    else:
        performance = np.array([np.nanmean(np.where(rated[:, j], x[:, j], np.nan)) for j in range(len(tps))])
    out = pd.DataFrame({
        "touchpoint": tps,
        "label": [by_id[tp].label for tp in tps],
        "owner": [by_id[tp].owner for tp in tps],
        "performance": performance, "target": tgt,
        "n_rated": tab["n_rated"].to_numpy(), "n_below_target": shifted,
        "beta": betas, "beta_ci_low": tab["beta_ci_low"].to_numpy(),
        "beta_ci_high": tab["beta_ci_high"].to_numpy(), "p_value": tab["p_value"].to_numpy(),
        "share_of_r2": tab["share_of_r2"].to_numpy(), "share_ci_low": tab["share_ci_low"].to_numpy(),
        "share_ci_high": tab["share_ci_high"].to_numpy(),
        "nps_before": before, "nps_after": before + up, "uplift": up,
        "uplift_ci_low": lo, "uplift_ci_high": hi,
    })
    out["small_base"] = out["n_rated"] < params.thresholds.min_base
    out = out.sort_values(["small_base", "uplift"], ascending=[True, False], kind="stable").reset_index(drop=True)
    out["rank"] = pd.array([i + 1 if not s else pd.NA for i, s in enumerate(out["small_base"])], dtype="Int64")
    return out[UPLIFT_COLUMNS]


# --------------------------------------------------------------------------------------
# stated vs derived importance
# --------------------------------------------------------------------------------------
def importance_comparison(perf: pd.DataFrame, drivers: DriverResult) -> pd.DataFrame:
    """Stated importance (survey ratings) beside derived importance (share of R^2), with ranks.

    Parameters
    ----------
    perf : DataFrame
        :func:`cxlib.journey.gaps.touchpoint_performance` output (touchpoint, label, importance,
        importance_n).
    drivers : DriverResult

    Returns
    -------
    DataFrame
        One row per ``perf`` touchpoint (journey order): touchpoint, label,
        stated_importance (mean 1-5), importance_n, stated_rank (1 = most important),
        share_of_r2, share_ci_low, share_ci_high, pct_of_r2, derived_rank, rank_diff
        (stated_rank - derived_rank: positive = matters more to NPS than customers say),
        beta (a share has no sign: a negative beta means higher CSAT went with lower LTR,
        which is noise or confounding, not a driver to push).
        Touchpoints not in the driver model have no derived values.
        ``attrs["spearman_rho"]``, ``attrs["spearman_p"]``: rank agreement over the
        touchpoints with both (NaN for fewer than 3).
    """
    d = drivers.table.set_index("touchpoint")
    out = pd.DataFrame({
        "touchpoint": perf["touchpoint"].to_numpy(),
        "label": perf["label"].to_numpy() if "label" in perf else perf["touchpoint"].to_numpy(),
        "stated_importance": perf["importance"].to_numpy(dtype=float),
        "importance_n": perf["importance_n"].to_numpy() if "importance_n" in perf else np.nan,
    })
    for col in ("share_of_r2", "share_ci_low", "share_ci_high", "pct_of_r2", "beta"):
        out[col] = out["touchpoint"].map(d[col]).astype(float)
    both = out["stated_importance"].notna() & out["share_of_r2"].notna()
    out["stated_rank"] = out["stated_importance"].where(both).rank(ascending=False, method="min").astype("Int64")
    out["derived_rank"] = out["share_of_r2"].where(both).rank(ascending=False, method="min").astype("Int64")
    out["rank_diff"] = out["stated_rank"] - out["derived_rank"]
    out = out[["touchpoint", "label", "stated_importance", "importance_n", "stated_rank", "share_of_r2",
               "share_ci_low", "share_ci_high", "pct_of_r2", "derived_rank", "rank_diff", "beta"]]
    if both.sum() >= 3:
        rho, p = stats.spearmanr(out.loc[both, "stated_importance"], out.loc[both, "share_of_r2"])
        out.attrs.update(spearman_rho=float(rho), spearman_p=float(p), n_compared=int(both.sum()))
    else:
        out.attrs.update(spearman_rho=np.nan, spearman_p=np.nan, n_compared=int(both.sum()))
    return out

"""Survey weighting to the CRM population, and weighted KPIs that use the effective n.

Survey respondents are rarely a random sample of the customer base: some segments answer
more than others. This module weights respondents so that their distribution over
params-named variables (e.g. ``segment``, ``region``) matches the CRM population, and
computes KPIs, intervals and tests from the weighted responses.

Every function is pure: tidy DataFrames (or arrays) in, a weight Series, a tidy DataFrame
or a small typed result (:class:`WeightedScore`, :class:`~cxlib.quant.metrics.ChangeResult`) out.

Conventions
-----------
* **Weights** are a float Series aligned with the sample's index, normalised to mean 1 over
  the weighted rows, so the weighted base equals the unweighted base ``n``. A row that
  cannot be weighted (a missing weighting variable, or a category absent from the
  population) gets weight NaN; it is excluded from weighted statistics and counted, in the
  weight Series' ``attrs`` and in the ``excluded`` of every weighted result.
* **Effective sample size.** Unequal weights cost precision. Every weighted interval and
  test uses Kish's effective sample size ``n_eff = (sum w)^2 / sum w^2`` in place of ``n``
  (Kish 1965, section 11.7); the design effect of weighting is ``deff = n / n_eff``. This
  is the standard approximation for weights unrelated to the outcome within cells; it does
  not model clustering or stratified-design variance gains.
* **Units** are as in :mod:`cxlib.quant.metrics`: NPS in points, shares in percent, means on the
  survey scale. Scores are validated exactly as there (range, integers, numbers).
* With all weights equal, every weighted function returns exactly what its unweighted
  counterpart in :mod:`cxlib.quant.metrics` returns (the tests check this).

References
----------
Deming, W. E. & Stephan, F. F. (1940). On a least squares adjustment of a sampled frequency
table when the expected marginal totals are known. *Ann. Math. Statist.*, 11(4), 427-444.

Kish, L. (1965). *Survey Sampling*. New York: Wiley.

Holt, D. & Smith, T. M. F. (1979). Post stratification. *JRSS A*, 142(1), 33-46.

Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with small
expected number of positive counts estimated from survey data. *Survey Methodology*, 24(2).

Rocks, B. (2016). Interval estimation for the "net promoter score". *The American
Statistician*, 70(4), 365-372.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from cxlib.exceptions import DataValidationError
from cxlib.quant.metrics import (
    METRICS,
    ChangeResult,
    check_confidence,
    clean_scores,
    metric_info,
    row_list,
    scoped_scores,
    share_change,
    z_change,
)

__all__ = [
    "WeightedScore",
    "post_stratify",
    "rake",
    "kish_effective_n",
    "design_effect",
    "weighted_nps",
    "weighted_share",
    "weighted_mean",
    "weighted_score",
    "weighted_kpis",
    "weighted_change",
]

_NAN = float("nan")


class WeightedScore(NamedTuple):
    """One weighted KPI with its confidence interval.

    Attributes
    ----------
    metric : str
        Metric key (``"nps"``, ``"csat"``, ``"ces"`` ... or ``"share"``/``"mean"``).
    value : float
        Weighted point estimate (NPS in points, shares in percent, means on the scale).
    ci_low, ci_high : float
        Confidence interval computed on the effective sample size (NaN when undefined).
    n : int
        Unweighted base: rows with a valid score and a (non-NaN) weight.
    n_effective : float
        Kish effective sample size ``(sum w)^2 / sum w^2`` of those rows.
    excluded : int
        Rows excluded: missing score or missing (NaN) weight.
    """

    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    n_effective: float
    excluded: int


# --------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------
def _check_variables(variables) -> list[str]:
    if isinstance(variables, str):
        variables = [variables]
    variables = list(variables or [])
    if not variables:
        raise ValueError(
            "name at least one weighting variable (e.g. variables=['segment', 'region'])"
        )
    dup = sorted({v for v in variables if variables.count(v) > 1})
    if dup:
        raise ValueError(f"weighting variables {dup} are listed more than once; list each once")
    return variables


def _check_frame(df, cols, what: str, role: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} needs the {role} as a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"{what}: the {role} has no column(s) {missing}; available columns are "
            f"{list(df.columns)}. Join or derive the weighting variables first (e.g. join "
            "`segment` from customers onto the survey responses), or change the params."
        )


def _cell(variables: list[str], key: tuple) -> str:
    return ", ".join(f"{v}={k!r}" for v, k in zip(variables, key, strict=True))


def _keys(df: pd.DataFrame, variables: list[str]) -> list[tuple]:
    cols = [df[v].astype(object).to_numpy() for v in variables]
    return list(zip(*cols, strict=True)) if cols else []


def _population_counts(population: pd.DataFrame, variables: list[str], count: str | None,
                       what: str) -> tuple[dict, int]:
    """Population size per joint cell of ``variables`` (zero cells dropped) and the number
    of population rows with a missing variable (excluded from the targets)."""
    _check_frame(population, variables + ([count] if count else []), what, "population")
    miss = population[variables].isna().any(axis=1)
    pop = population.loc[~miss]
    if count is None:
        sizes = np.ones(len(pop))
    else:
        sizes = clean_scores(pop[count], count, None, None).to_numpy()
        bad = np.isnan(sizes) | (sizes < 0)
        if bad.any():
            raise DataValidationError(
                f"{what}: population column {count!r} has {int(bad.sum())} missing or negative "
                f"count(s) in row(s) {row_list(pop.index[bad])}; counts must be numbers >= 0."
            )
    totals: dict = {}
    for key, size in zip(_keys(pop, variables), sizes, strict=True):
        totals[key] = totals.get(key, 0.0) + float(size)
    totals = {k: v for k, v in totals.items() if v > 0}
    if not totals:
        raise DataValidationError(
            f"{what}: the population has no rows with all of {variables} recorded; check the "
            "CRM extract and the column mapping."
        )
    return totals, int(miss.sum())


def _finish(w: np.ndarray, sample: pd.DataFrame, attrs: dict) -> pd.Series:
    ok = ~np.isnan(w)
    if ok.any():
        w[ok] = w[ok] / w[ok].mean()
    out = pd.Series(w, index=sample.index, name="weight", dtype="float64")
    n_eff = kish_effective_n(out)
    attrs.update(n=int(ok.sum()), n_effective=n_eff,
                 design_effect=float(ok.sum() / n_eff) if n_eff > 0 else _NAN,
                 max_weight=float(np.nanmax(w)) if ok.any() else _NAN,
                 min_weight=float(np.nanmin(w)) if ok.any() else _NAN)
    out.attrs.update(attrs)
    return out


# --------------------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------------------
def post_stratify(sample: pd.DataFrame, population: pd.DataFrame, variables, *,
                  count: str | None = None) -> pd.Series:
    """Post-stratification weights matching the population's joint distribution.

    For each joint cell ``c`` of ``variables`` (e.g. segment x region), with ``N_c`` of the
    ``N`` population members and ``n_c`` of the ``n`` weighted respondents::

        w_c = (N_c / N) / (n_c / n)

    so the weighted sample share of every cell equals its population share, and the mean
    weight over the ``n`` respondents is exactly 1 (Holt & Smith 1979).

    Parameters
    ----------
    sample : DataFrame
        Survey respondents, one row each, with the ``variables`` columns.
    population : DataFrame
        The CRM population: one row per customer, or one row per cell with a ``count``
        column (e.g. counts aggregated in the engine).
    variables : list of str
        Weighting variables (a single name is accepted).
    count : str, optional
        Population column holding the number of customers per row; default one per row.

    Returns
    -------
    Series
        ``weight`` aligned with ``sample.index``; NaN for rows excluded from weighting.
        ``attrs``: ``method``, ``variables``, ``cells`` (number of population cells),
        ``n`` (weighted rows), ``excluded``, ``excluded_missing`` (a variable missing),
        ``excluded_not_in_population`` (cell absent from the population),
        ``population_total``, ``population_excluded_missing`` (population rows with a
        variable missing, left out of the targets), ``n_effective``, ``design_effect``,
        ``max_weight``, ``min_weight``.

    Raises
    ------
    DataValidationError
        A population cell has no respondents (no weight can represent it): the message
        names the cell and suggests fewer variables, collapsed categories or :func:`rake`.
    """
    what = "post_stratify"
    variables = _check_variables(variables)
    _check_frame(sample, variables, what, "sample")
    totals, pop_missing = _population_counts(population, variables, count, what)
    miss = sample[variables].isna().any(axis=1).to_numpy()
    keys = _keys(sample, variables)
    ok = np.array([(not m) and (k in totals) for k, m in zip(keys, miss, strict=True)],
                  dtype=bool)
    counts = Counter(k for k, good in zip(keys, ok, strict=True) if good)
    empty = [k for k in totals if counts.get(k, 0) == 0]
    big_n = sum(totals.values())
    if empty:
        shown = "; ".join(f"{_cell(variables, k)} ({totals[k]:,.0f} customers, "
                          f"{totals[k] / big_n:.1%} of the population)" for k in empty[:5])
        more = f" and {len(empty) - 5} more" if len(empty) > 5 else ""
        raise DataValidationError(
            f"{what}: {len(empty)} population cell(s) have no survey respondents: {shown}{more}. "
            "No weight can represent them. Post-stratify on fewer variables, collapse small "
            "categories, or rake on the margins instead (cxlib.quant.weighting.rake)."
        )
    n = int(ok.sum())
    w = np.full(len(sample), np.nan)
    for i in np.flatnonzero(ok):
        k = keys[i]
        w[i] = (totals[k] / big_n) / (counts[k] / n)
    attrs = dict(method="post-stratification", variables=list(variables), cells=len(totals),
                 excluded=int((~ok).sum()), excluded_missing=int(miss.sum()),
                 excluded_not_in_population=int((~ok & ~miss).sum()),
                 population_total=float(big_n), population_excluded_missing=pop_missing)
    return _finish(w, sample, attrs)


def _capped_scale(u: np.ndarray, total: float, cap: float) -> np.ndarray:
    """``min(cap, f * u)`` with ``f`` chosen so that the result sums to ``total``.

    The largest weights are set to ``cap`` one at a time and the rest scaled (water
    filling); if even all-at-cap falls short, every weight is set to ``cap`` (the margin
    then stays off target and raking reports non-convergence).
    """
    if u.size * cap <= total:
        return np.full(u.size, float(cap))
    order = np.argsort(-u)
    su = u[order]
    rest = np.cumsum(su[::-1])[::-1]  # rest[k] = sum of su[k:]
    for k in range(u.size):
        f = (total - k * cap) / rest[k]
        if f * su[k] <= cap:
            out = np.empty_like(u)
            out[order] = np.minimum(f * su, cap)
            out[order[:k]] = cap
            return out
    return np.full(u.size, float(cap))  # pragma: no cover - excluded by the first test


def rake(sample: pd.DataFrame, population: pd.DataFrame, variables, *, max_iter: int = 100,
         tol: float = 1e-8, cap: float | None = None, count: str | None = None) -> pd.Series:
    """Raking (iterative proportional fitting) weights matching each variable's margin.

    Deming & Stephan (1940): starting from ``w = 1``, each iteration adjusts the weights to
    every variable ``v`` in turn, ``w_i <- w_i * T_vc / S_vc`` for the category ``c`` of
    row ``i``, where ``T_vc`` is the population share of ``c`` and ``S_vc`` the current
    weighted sample share (the weights keep mean 1 throughout). It stops when, after a
    full sweep, every margin is within ``tol`` of its target (largest absolute difference
    of shares).

    With ``cap``, each adjustment is trimmed: inside a category the largest weights are set
    to ``cap`` and the others scaled up so that the category still hits its target
    (``w_i <- min(cap, f * w_i)``, ``f`` solved exactly), i.e. trimming followed by
    re-raking at every step, so the converged weights satisfy every margin *and* the cap.
    If no such weights exist (a category needs more than ``cap`` times its respondents'
    share) the margins cannot converge and an error says so.

    Parameters
    ----------
    sample : DataFrame
        Survey respondents with the ``variables`` columns.
    population : DataFrame
        The CRM population, one row per customer (or per cell with ``count``). A
        population row with a variable missing is left out of that variable's margin only.
    variables : list of str
        Variables whose margins are matched.
    max_iter : int, default 100
        Maximum number of sweeps.
    tol : float, default 1e-8
        Convergence tolerance on the margins (shares, 0-1).
    cap : float, optional
        Largest allowed weight (relative to mean 1, so > 1; e.g. 5). Weights above it are
        trimmed and the rest re-raked.
    count : str, optional
        Population column with the number of customers per row.

    Returns
    -------
    Series
        ``weight`` aligned with ``sample.index``, mean 1, NaN for excluded rows. ``attrs``:
        ``method``, ``variables``, ``iterations``, ``max_margin_error``, ``margin_errors``
        (per variable), ``cap``, ``trimmed`` (weights at the cap), ``n``, ``excluded``,
        ``excluded_missing``, ``excluded_not_in_population``,
        ``population_excluded_missing`` (per variable), ``n_effective``,
        ``design_effect``, ``max_weight``, ``min_weight``.

    Raises
    ------
    DataValidationError
        A population category has no respondents, or the weights do not converge in
        ``max_iter`` sweeps (the message names the variable with the largest margin
        error and how to fix it).
    """
    what = "rake"
    variables = _check_variables(variables)
    if cap is not None and not (np.isfinite(cap) and cap > 1):
        raise ValueError(f"cap must be a number above 1 (weights have mean 1), got {cap!r}")
    if int(max_iter) < 1 or not (tol > 0):
        raise ValueError(f"max_iter must be >= 1 and tol > 0, got {max_iter!r} and {tol!r}")
    _check_frame(sample, variables, what, "sample")
    _check_frame(population, variables + ([count] if count else []), what, "population")
    margins, pop_missing = {}, {}
    for v in variables:
        totals, pop_missing[v] = _population_counts(population, [v], count, what)
        total = sum(totals.values())
        margins[v] = {k[0]: t / total for k, t in totals.items()}
    miss = sample[variables].isna().any(axis=1).to_numpy()
    ok = ~miss
    for v in variables:
        ok &= sample[v].astype(object).map(lambda x, m=margins[v]: x in m).to_numpy(dtype=bool)
    codes, targets, cats = {}, {}, {}
    for v in variables:
        cats[v] = list(margins[v])
        pos = {c: i for i, c in enumerate(cats[v])}
        codes[v] = np.array([pos[x] for x in sample.loc[ok, v].astype(object)], dtype=int)
        targets[v] = np.array([margins[v][c] for c in cats[v]])
        have = np.bincount(codes[v], minlength=len(cats[v]))
        empty = [c for c, h in zip(cats[v], have, strict=True) if h == 0]
        if empty:
            shown = ", ".join(f"{v}={c!r} ({margins[v][c]:.1%} of the population)"
                              for c in empty[:5])
            raise DataValidationError(
                f"{what}: population category {shown} has no survey respondents, so its "
                "margin cannot be matched. Collapse it into a neighbouring category or drop "
                f"{v!r} from the weighting variables."
            )
    w = np.ones(int(ok.sum()))
    errors: dict[str, float] = {}
    iterations = 0
    for it in range(1, int(max_iter) + 1):
        iterations = it
        for v in variables:
            if cap is None:
                tot = np.bincount(codes[v], weights=w, minlength=len(cats[v]))
                w = w * (targets[v] * w.size / tot)[codes[v]]
            else:
                for j in range(len(cats[v])):
                    sel = codes[v] == j
                    w[sel] = _capped_scale(w[sel], targets[v][j] * w.size, cap)
        errors = {v: float(np.abs(np.bincount(codes[v], weights=w, minlength=len(cats[v]))
                                  / w.sum() - targets[v]).max()) for v in variables}
        if max(errors.values()) < tol:
            break
    else:
        worst = max(errors, key=errors.get)
        share = np.bincount(codes[worst], weights=w, minlength=len(cats[worst])) / w.sum()
        j = int(np.argmax(np.abs(share - targets[worst])))
        raise DataValidationError(
            f"{what} did not converge in {max_iter} iterations: the largest margin error is "
            f"{errors[worst]:.2g} on variable {worst!r} (weighted share of "
            f"{cats[worst][j]!r} {share[j]:.2%} vs population {targets[worst][j]:.2%}). The "
            "margins may be incompatible with the sample (combinations of categories with no "
            "respondents)"
            + (f" or cap={cap:g} too tight" if cap is not None else "")
            + ". Collapse categories, drop a variable, raise max_iter"
            + (" or the cap." if cap is not None else ".")
        )
    full = np.full(len(sample), np.nan)
    full[ok] = w
    attrs = dict(method="raking", variables=list(variables), iterations=iterations,
                 max_margin_error=max(errors.values()), margin_errors=errors, converged=True,
                 cap=cap, trimmed=int((w >= cap * (1 - 1e-12)).sum()) if cap else 0,
                 excluded=int((~ok).sum()), excluded_missing=int(miss.sum()),
                 excluded_not_in_population=int((~ok & ~miss).sum()),
                 population_excluded_missing=pop_missing)
    return _finish(full, sample, attrs)


def _weight_array(weights, what: str = "weights") -> np.ndarray:
    s = weights if isinstance(weights, pd.Series) else pd.Series(np.asarray(weights, dtype=object))
    arr = clean_scores(s, what, None, None).to_numpy()
    bad = arr < 0
    if bad.any():
        raise DataValidationError(
            f"{what} has {int(bad.sum())} negative weight(s) in row(s) {row_list(s.index[bad])}; "
            "survey weights must be >= 0 (NaN = row excluded)."
        )
    return arr


def kish_effective_n(weights) -> float:
    """Kish's effective sample size of a set of weights.

    ``n_eff = (sum w)^2 / sum w^2`` (Kish 1965, eq. 11.7.6), over the non-missing weights;
    equals ``n`` when all weights are equal and shrinks as they become more unequal.

    Parameters
    ----------
    weights : array-like or Series
        Non-negative weights; NaN (rows excluded from weighting) are ignored.

    Returns
    -------
    float
        0.0 when there are no (or only zero) weights.
    """
    w = _weight_array(weights)
    w = w[~np.isnan(w)]
    s2 = float((w**2).sum())
    return float(w.sum() ** 2 / s2) if s2 > 0 else 0.0


def design_effect(weights) -> float:
    """Kish's design effect of weighting, ``deff = n / n_eff = n * sum w^2 / (sum w)^2``.

    ``n`` counts the non-missing weights; ``deff = 1 + CV(w)^2`` (population CV). A
    weighted interval is about ``sqrt(deff)`` times as wide as an unweighted one of the
    same base.

    Parameters
    ----------
    weights : array-like or Series
        Non-negative weights; NaN ignored.

    Returns
    -------
    float
        NaN when there are no usable weights.
    """
    w = _weight_array(weights)
    n = int((~np.isnan(w)).sum())
    n_eff = kish_effective_n(w)
    return float(n / n_eff) if n_eff > 0 else _NAN


# --------------------------------------------------------------------------------------
# weighted single-sample scores
# --------------------------------------------------------------------------------------
def _align(values, weights, what: str) -> tuple[pd.Series, np.ndarray]:
    """``values`` as a Series and the weights as a float array in the same row order."""
    v = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(weights, pd.Series) and isinstance(values, pd.Series):
        if not weights.index.equals(v.index):
            if weights.index.is_unique and v.index.isin(weights.index).all():
                weights = weights.reindex(v.index)
            else:
                raise ValueError(
                    f"{what}: the weights' index does not cover the scores' rows; pass the "
                    "weights returned by post_stratify/rake for these responses (same index)."
                )
    w = _weight_array(weights)
    if w.size != len(v):
        raise ValueError(
            f"{what}: {len(v)} score(s) but {w.size} weight(s); pass one weight per response."
        )
    return v, w


def _valid(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    ok = ~np.isnan(x) & ~np.isnan(w)
    return x[ok], w[ok], int((~ok).sum())


def _n_eff(w: np.ndarray) -> float:
    s2 = float((w**2).sum())
    return float(w.sum() ** 2 / s2) if s2 > 0 else 0.0


def _wnps(x, w, excluded, confidence) -> WeightedScore:
    n, big_w = x.size, float(w.sum())
    if n == 0 or big_w == 0:
        return WeightedScore("nps", _NAN, _NAN, _NAN, n, _n_eff(w), excluded)
    p_pro, p_det = float(w[x >= 9].sum()) / big_w, float(w[x <= 6].sum()) / big_w
    n_eff = _n_eff(w)
    # adjusted Wald on the effective n: effective counts n_eff * P, n_eff * D, plus 3/4 each
    n_adj = n_eff + 3.0
    pp, pd_ = (n_eff * p_pro + 0.75) / n_adj, (n_eff * p_det + 0.75) / n_adj
    nps_adj = pp - pd_
    half = stats.norm.ppf(0.5 + confidence / 2) * np.sqrt((pp + pd_ - nps_adj**2) / n_adj)
    lo, hi = max(nps_adj - half, -1.0), min(nps_adj + half, 1.0)
    return WeightedScore("nps", 100 * (p_pro - p_det), 100 * float(lo), 100 * float(hi), n,
                         n_eff, excluded)


def _wilson(p: float, n: float, confidence: float) -> tuple[float, float]:
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def _wshare(x, w, excluded, confidence, metric) -> WeightedScore:
    n, big_w = x.size, float(w.sum())
    n_eff = _n_eff(w)
    if n == 0 or big_w == 0:
        return WeightedScore(metric, _NAN, _NAN, _NAN, n, n_eff, excluded)
    p = float(w[x > 0].sum()) / big_w
    lo, hi = _wilson(p, n_eff, confidence)
    return WeightedScore(metric, 100 * p, 100 * lo, 100 * hi, n, n_eff, excluded)


def _wmoments(x, w) -> tuple[float, float, float]:
    """Weighted mean, variance (Bessel-type correction on n_eff) and n_eff."""
    big_w = float(w.sum())
    m = float((w * x).sum() / big_w)
    n_eff = _n_eff(w)
    if n_eff <= 1:
        return m, _NAN, n_eff
    var = float((w * (x - m) ** 2).sum() / big_w) * n_eff / (n_eff - 1)
    return m, var, n_eff


def _wmean(x, w, excluded, confidence, metric) -> WeightedScore:
    n = x.size
    if n == 0 or float(w.sum()) == 0:
        return WeightedScore(metric, _NAN, _NAN, _NAN, n, _n_eff(w), excluded)
    m, var, n_eff = _wmoments(x, w)
    if not np.isfinite(var):
        return WeightedScore(metric, m, _NAN, _NAN, n, n_eff, excluded)
    se = np.sqrt(var / n_eff)
    if se == 0:
        return WeightedScore(metric, m, m, m, n, n_eff, excluded)
    lo, hi = stats.t.interval(confidence, n_eff - 1, loc=m, scale=se)
    return WeightedScore(metric, m, float(lo), float(hi), n, n_eff, excluded)


def _wscore_arr(metric: str, x, w, excluded, confidence) -> WeightedScore:
    info = metric_info(metric)
    if info["kind"] == "nps":
        return _wnps(x, w, excluded, confidence)
    if info["kind"] == "share":
        return _wshare(np.where(np.isnan(x), np.nan, (x >= info["top"]).astype(float)), w,
                       excluded, confidence, metric)
    return _wmean(x, w, excluded, confidence, metric)


def weighted_nps(scores, weights, confidence: float = 0.95) -> WeightedScore:
    """Weighted Net Promoter Score with an adjusted-Wald interval on the effective n.

    ``NPS_w = 100 * (sum w[9-10] - sum w[0-6]) / sum w`` (weighted promoter share ``P``
    minus weighted detractor share ``D``).

    Interval: the adjusted Wald interval of :func:`cxlib.quant.metrics.nps` (Rocks 2016) with the
    Kish effective sample size ``n_eff = (sum w)^2 / sum w^2`` in place of ``n`` and the
    *effective counts* ``n_eff * P`` and ``n_eff * D`` in place of the promoter and
    detractor counts::

        n' = n_eff + 3,  P' = (n_eff * P + 3/4) / n',  D' = (n_eff * D + 3/4) / n'
        var = (P' + D' - (P' - D')^2) / n'
        CI  = 100 * clip(P' - D' +/- z_{1-alpha/2} * sqrt(var), -1, 1)

    With equal weights ``n_eff = n`` and this is exactly :func:`cxlib.quant.metrics.nps`. Rocks
    (2016) derives the adjustment for simple random samples; applying it on the effective
    n follows the usual effective-sample-size practice for survey proportions (Korn &
    Graubard 1998) and is checked for coverage by simulation in the tests.

    Parameters
    ----------
    scores : array-like or Series
        0-10 scores; NaN excluded and counted.
    weights : array-like or Series
        One weight per score (a Series is aligned on the scores' index); NaN = excluded.
    confidence : float, default 0.95

    Returns
    -------
    WeightedScore
    """
    confidence = check_confidence(confidence)
    v, w = _align(scores, weights, "weighted_nps")
    name = str(v.name) if v.name is not None else "nps"
    x = clean_scores(v, name, 0, 10).to_numpy()
    return _wnps(*_valid(x, w), confidence)


def _successes(values, name: str) -> np.ndarray:
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_bool_dtype(s.dtype) or (
        s.dtype == object and s.dropna().map(lambda x: isinstance(x, bool | np.bool_)).all()
    ):
        return s.astype("boolean").astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    return clean_scores(s, name, 0, 1).to_numpy()


def weighted_share(successes, weights, confidence: float = 0.95, *,
                   metric: str = "share") -> WeightedScore:
    """Weighted share (percent) with a Wilson interval on the effective sample size.

    ``p_w = sum w * y / sum w`` for ``y`` in {0, 1}. The interval is Wilson's score
    interval (see :func:`cxlib.quant.metrics.csat`) with ``n = n_eff = (sum w)^2 / sum w^2``::

        (p + z^2/2n +/- z * sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)

    the effective-sample-size Wilson interval (Kish 1965; Korn & Graubard 1998 use the
    same substitution). With equal weights it is statsmodels'
    ``proportion_confint(x, n, method="wilson")``.

    Parameters
    ----------
    successes : array-like or Series
        Booleans or 0/1; missing (NA/NaN) excluded and counted.
    weights : array-like or Series
        One weight per row; NaN = excluded.
    confidence : float, default 0.95
    metric : str, default "share"
        Label stored in the result.

    Returns
    -------
    WeightedScore
        ``value`` and interval in percent.
    """
    confidence = check_confidence(confidence)
    v, w = _align(successes, weights, "weighted_share")
    x = _successes(v, str(v.name) if v.name is not None else "successes")
    return _wshare(*_valid(x, w), confidence, metric)


def weighted_mean(values, weights, confidence: float = 0.95, *, lo: float | None = None,
                  hi: float | None = None, metric: str = "mean") -> WeightedScore:
    """Weighted mean with a Student t interval on the effective sample size.

    ``m_w = sum w x / sum w``; ``s_w^2 = [sum w (x - m_w)^2 / sum w] * n_eff / (n_eff - 1)``;
    ``CI = m_w +/- t_{1-alpha/2, n_eff-1} * sqrt(s_w^2 / n_eff)``. With equal weights this
    is the ordinary mean, SD (ddof=1) and t interval of :func:`cxlib.quant.metrics.ces`.

    Parameters
    ----------
    values : array-like or Series
        Numbers; NaN excluded and counted.
    weights : array-like or Series
        One weight per value; NaN = excluded.
    confidence : float, default 0.95
    lo, hi : float, optional
        Valid scale (integers lo..hi); out-of-range values raise DataValidationError.
    metric : str, default "mean"
        Label stored in the result.

    Returns
    -------
    WeightedScore
        Interval NaN when ``n_eff <= 1``.
    """
    confidence = check_confidence(confidence)
    v, w = _align(values, weights, "weighted_mean")
    x = clean_scores(v, str(v.name) if v.name is not None else "values", lo, hi).to_numpy()
    return _wmean(*_valid(x, w), confidence, metric)


def weighted_score(scores, weights, metric: str = "nps",
                   confidence: float = 0.95) -> WeightedScore:
    """Any metric of :data:`cxlib.quant.metrics.METRICS` from raw scores and weights.

    Dispatches to the formulas of :func:`weighted_nps` (NPS), :func:`weighted_share`
    (CSAT top-2-box, CES easy; in percent) or :func:`weighted_mean` (CSAT, CES means).

    Returns
    -------
    WeightedScore
    """
    info = metric_info(metric)
    confidence = check_confidence(confidence)
    v, w = _align(scores, weights, "weighted_score")
    x = clean_scores(v, str(v.name) if v.name is not None else info["column"], info["lo"],
               info["hi"]).to_numpy()
    return _wscore_arr(metric, *_valid(x, w), confidence)


# --------------------------------------------------------------------------------------
# frame-level: KPIs and change
# --------------------------------------------------------------------------------------
def _frame_weights(responses: pd.DataFrame, weights, what: str) -> pd.Series:
    if not isinstance(responses, pd.DataFrame):
        raise TypeError(f"{what} needs a pandas DataFrame of survey responses, got "
                        f"{type(responses).__name__}")
    if isinstance(weights, pd.Series):
        if not (weights.index.is_unique and responses.index.isin(weights.index).all()):
            raise ValueError(
                f"{what}: the weights' index does not cover the responses' rows; pass the "
                "Series returned by post_stratify/rake on these responses (same index)."
            )
        w = weights.reindex(responses.index)
    else:
        arr = np.asarray(weights, dtype=object)
        if arr.ndim != 1 or len(arr) != len(responses):
            raise ValueError(f"{what}: {len(responses)} responses but {arr.size} weights; pass "
                             "one weight per response (or the Series from post_stratify/rake).")
        w = pd.Series(arr, index=responses.index)
    return pd.Series(_weight_array(w), index=responses.index, name="weight")


def weighted_kpis(responses: pd.DataFrame, weights, *, confidence: float = 0.95,
                  min_base: int = 30,
                  metrics: tuple[str, ...] = ("nps", "csat", "ces")) -> pd.DataFrame:
    """Headline KPIs weighted to the population, beside their unweighted values.

    As :func:`cxlib.quant.metrics.score_summary`: NPS on relationship rows, CSAT and CES on
    transactional rows (when a ``survey_type`` column exists). Weighted values and
    intervals follow :func:`weighted_nps`, :func:`weighted_share` and
    :func:`weighted_mean` (all on the Kish effective n).

    Because relationship and transactional rows are different samples, weights should be
    computed for the rows each KPI uses (e.g. ``rake`` the relationship rows for NPS); rows
    with NaN weight are excluded and counted.

    Parameters
    ----------
    responses : DataFrame
        survey_responses rows (``nps``, ``csat``, ``ces``, ``survey_type``).
    weights : Series
        Weights indexed like ``responses`` (as :func:`post_stratify` / :func:`rake` return).
    confidence : float, default 0.95
    min_base : int, default 30
        ``small_base`` when the *effective* base ``n_effective < min_base``.
    metrics : tuple of str, default ("nps", "csat", "ces")
        Any of :data:`cxlib.quant.metrics.METRICS`.

    Returns
    -------
    DataFrame
        One row per metric: ``metric, label, unit, weighted_value, ci_low, ci_high,
        unweighted_value, n, n_effective, design_effect, excluded, small_base``.
        ``unweighted_value`` is the plain metric on the same ``n`` rows; ``excluded``
        counts in-scope rows with no score or no weight; ``design_effect = n / n_eff``.
    """
    confidence = check_confidence(confidence)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; use some of {list(METRICS)}")
    wall = _frame_weights(responses, weights, "weighted_kpis")
    rows = []
    for metric in metrics:
        info = metric_info(metric)
        df, vals = scoped_scores(responses, metric, "weighted_kpis")
        x, w, excl = _valid(vals.to_numpy(), wall.reindex(df.index).to_numpy())
        r = _wscore_arr(metric, x, w, excl, confidence)
        u = _wscore_arr(metric, x, np.ones_like(x), excl, confidence)
        rows.append(dict(metric=metric, label=info["label"], unit=info["unit"],
                         weighted_value=r.value, ci_low=r.ci_low, ci_high=r.ci_high,
                         unweighted_value=u.value, n=r.n, n_effective=r.n_effective,
                         design_effect=(r.n / r.n_effective) if r.n_effective > 0 else _NAN,
                         excluded=r.excluded, small_base=bool(r.n_effective < min_base)))
    return pd.DataFrame(rows)


def _wchange_arr(metric, a, wa, b, wb, confidence) -> ChangeResult:
    info = metric_info(metric)
    n1, n2 = a.size, b.size
    if n1 == 0 or n2 == 0 or wa.sum() == 0 or wb.sum() == 0:
        return ChangeResult(_NAN, _NAN, _NAN, _NAN, _NAN, False, n1, n2)
    e1, e2 = _n_eff(wa), _n_eff(wb)
    if info["kind"] == "nps":
        parts = []
        for x, w, e in ((a, wa, e1), (b, wb, e2)):
            pp, pd_ = w[x >= 9].sum() / w.sum(), w[x <= 6].sum() / w.sum()
            parts.append((pp - pd_, (pp + pd_ - (pp - pd_) ** 2) / e))
        return z_change(parts[0][0] - parts[1][0], np.sqrt(parts[0][1] + parts[1][1]),
                         confidence, n1, n2, scale=100.0)
    if info["kind"] == "share":
        p1 = float(wa[a >= info["top"]].sum() / wa.sum())
        p2 = float(wb[b >= info["top"]].sum() / wb.sum())
        return share_change(p1, e1, p2, e2, confidence, n1, n2)
    m1, v1, e1 = _wmoments(a, wa)
    m2, v2, e2 = _wmoments(b, wb)
    diff = m1 - m2
    if not (np.isfinite(v1) and np.isfinite(v2)) or v1 + v2 == 0:
        return ChangeResult(float(diff), _NAN, _NAN, _NAN, _NAN, False, n1, n2)
    s1, s2 = v1 / e1, v2 / e2
    se = np.sqrt(s1 + s2)
    df = (s1 + s2) ** 2 / (s1**2 / (e1 - 1) + s2**2 / (e2 - 1))
    t = diff / se
    p = float(2 * stats.t.sf(abs(t), df))
    half = float(stats.t.ppf(0.5 + confidence / 2, df) * se)
    return ChangeResult(float(diff), float(diff - half), float(diff + half), float(t), p,
                        bool(p < 1 - confidence), n1, n2)


def weighted_change(current_scores, current_weights, previous_scores, previous_weights,
                    metric: str = "nps", confidence: float = 0.95) -> ChangeResult:
    """Change of a weighted metric between two periods, tested on the effective n.

    Each period's weights give its Kish effective size ``e_i = (sum w)^2 / sum w^2``.

    * **NPS** (as :func:`cxlib.quant.metrics.nps_change`): weighted shares ``P_i``, ``D_i``,
      ``var_i = (P_i + D_i - (P_i - D_i)^2) / e_i``, ``z = (NPS_1 - NPS_2) /
      sqrt(var_1 + var_2)``, two-sided normal p, ``CI = diff +/- z_{1-alpha/2} se``.
    * **Shares** (as :func:`cxlib.quant.metrics.proportion_change`): pooled z-test with
      ``p = (e_1 p_1 + e_2 p_2) / (e_1 + e_2)``, ``z = (p_1 - p_2) / sqrt(p(1-p)(1/e_1 +
      1/e_2))``; unpooled Wald interval on ``e_i``.
    * **Means** (as :func:`cxlib.quant.metrics.mean_change`): Welch's t with the weighted
      variances of :func:`weighted_mean`, ``se = sqrt(s_1^2/e_1 + s_2^2/e_2)`` and
      Welch-Satterthwaite degrees of freedom on ``e_i``.

    With equal weights each equals its unweighted counterpart in :mod:`cxlib.quant.metrics`.

    Parameters
    ----------
    current_scores, previous_scores : array-like or Series
        Raw scores of the two periods; NaN excluded.
    current_weights, previous_weights : array-like or Series
        Their weights (each period weighted on its own); NaN excluded.
    metric : str, default "nps"
        One of :data:`cxlib.quant.metrics.METRICS`.
    confidence : float, default 0.95
        ``significant`` is ``p < 1 - confidence``.

    Returns
    -------
    ChangeResult
        ``n_current``/``n_previous`` are the unweighted bases; ``z`` holds Welch's t for
        means.
    """
    info = metric_info(metric)
    confidence = check_confidence(confidence)
    arrays = []
    for label, s, wts in (("current", current_scores, current_weights),
                          ("previous", previous_scores, previous_weights)):
        v, w = _align(s, wts, f"weighted_change ({label})")
        x = clean_scores(v, f"{info['column']} ({label})", info["lo"], info["hi"]).to_numpy()
        x, w, _ = _valid(x, w)
        arrays += [x, w]
    return _wchange_arr(metric, *arrays, confidence)


def survey_weights(responses: pd.DataFrame, population: pd.DataFrame, spec, *,
                   count: str = "customers") -> pd.Series:
    """Weights for a period's responses, each survey type weighted separately to the population.

    Relationship and transactional respondents are different samples, so each gets its own
    raking (or post-stratification) to the same CRM population (``population``: one row per
    cell with ``count`` members, e.g. from :func:`cxlib.data.engine.population_counts`).
    ``spec`` is the params ``weighting`` block (``variables``, ``method``, ``cap``).
    ``attrs["by_survey_type"]`` holds each group's diagnostics (n_effective, design effect,
    iterations, excluded).
    """
    parts, diag = [], {}
    groups = responses.groupby("survey_type") if "survey_type" in responses else [("all", responses)]
    for kind, rows in groups:
        if spec.method == "rake":
            w = rake(rows, population, spec.variables, cap=spec.cap, count=count)
        else:
            w = post_stratify(rows, population, spec.variables, count=count)
        diag[str(kind)] = {k: v for k, v in w.attrs.items() if not isinstance(v, (dict, list))}
        parts.append(w)
    out = pd.concat(parts).reindex(responses.index) if parts else pd.Series(dtype=float)
    out.attrs = {"by_survey_type": diag, "method": spec.method, "variables": list(spec.variables)}
    return out

"""Survey KPIs with honest intervals: NPS, CSAT, CES, their breakdowns, trends and changes.

Every function is pure: a tidy DataFrame (or an array of scores) in, a tidy DataFrame or a
small typed result (:class:`ScoreResult`, :class:`ChangeResult`) out.

Conventions
-----------
* **Units.** NPS is in points (-100..100). Shares (CSAT top-two-box, CES "easy") are in
  percent (0..100); their changes are in percentage points. Means are on the survey scale
  (CSAT 1-5, CES 1-7 where higher = easier).
* **Missing scores** (NaN / NA) are excluded and counted in ``excluded``; nothing else is
  dropped. A non-numeric, non-integer or out-of-range score raises
  :class:`~cxlib.exceptions.DataValidationError` naming the column, the rows and the fix.
* **Scope.** NPS is computed on relationship-survey rows, CSAT and CES on transactional
  rows (the contract in :mod:`cxlib.data.schemas`), whenever the frame has a ``survey_type``
  column; without it every row is used. ``excluded`` counts rows in scope with no score.
* **Small bases.** A base ``n < min_base`` is flagged (``small_base``), never ranked and
  never called significant.
* **"Better" is higher** for every metric here (CES is coded so that higher = easier).

Metric keys: ``"nps"``, ``"csat"`` (top-two-box %), ``"csat_mean"``, ``"ces"`` (mean),
``"ces_easy"`` (share 5-7 %).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from cxlib.exceptions import DataValidationError, PeriodError
from cxlib.quant.multiple import holm

__all__ = [
    "METRICS",
    "ScoreResult",
    "ChangeResult",
    "metric_info",
    "nps",
    "csat",
    "csat_mean",
    "ces",
    "ces_easy",
    "score",
    "score_summary",
    "breakdown",
    "nps_change",
    "proportion_change",
    "mean_change",
    "change",
    "kpi_tiles",
    "trend",
    "breakdown_change",
]

#: the metric keys understood by :func:`score`, :func:`breakdown`, :func:`trend` ...
METRICS: tuple[str, ...] = ("nps", "csat", "csat_mean", "ces", "ces_easy")


class ScoreResult(NamedTuple):
    """One KPI with its confidence interval.

    Attributes
    ----------
    metric : str
        Metric key (``"nps"``, ``"csat"``, ``"csat_mean"``, ``"ces"``, ``"ces_easy"``).
    value : float
        Point estimate (NPS in points, shares in percent, means on the survey scale).
    ci_low, ci_high : float
        Confidence interval bounds, same unit as ``value`` (NaN when undefined, e.g. n < 2
        for a mean, n = 0 for a share).
    n : int
        Number of valid scores used.
    excluded : int
        Number of missing (NaN) scores excluded.
    p_promoters, p_detractors : float
        NPS only: unadjusted shares (0..1) of promoters (9-10) and detractors (0-6).
    sd : float
        Means only: sample standard deviation (ddof=1).
    """

    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    excluded: int
    p_promoters: float = float("nan")
    p_detractors: float = float("nan")
    sd: float = float("nan")


class ChangeResult(NamedTuple):
    """A change between two samples (current minus previous) with its test.

    Attributes
    ----------
    diff : float
        current - previous, in points (NPS), percentage points (shares) or scale units (means).
    ci_low, ci_high : float
        Confidence interval of ``diff``.
    z : float
        Test statistic (a z statistic; Welch's t statistic for :func:`mean_change`).
    p_value : float
        Two-sided p-value.
    significant : bool
        ``p_value < 1 - confidence``.
    n_current, n_previous : int
        Valid bases of the two samples.
    """

    diff: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    significant: bool
    n_current: int
    n_previous: int


_NAN = float("nan")


# --------------------------------------------------------------------------------------
# metric registry (a function, not a mutable global)
# --------------------------------------------------------------------------------------
def metric_info(metric: str) -> dict:
    """Describe a metric key.

    Parameters
    ----------
    metric : str
        One of :data:`METRICS`.

    Returns
    -------
    dict
        ``column`` (score column), ``lo``/``hi`` (valid scale), ``scope`` (survey_type
        whose rows are used), ``label`` (human label), ``unit`` and ``kind``
        (``"nps"``, ``"share"`` or ``"mean"``).
    """
    info = {
        "nps": dict(column="nps", lo=0, hi=10, scope="relationship", label="NPS",
                    unit="points", kind="nps"),
        "csat": dict(column="csat", lo=1, hi=5, scope="transactional",
                     label="CSAT (top-2-box %)", unit="%", kind="share", top=4),
        "csat_mean": dict(column="csat", lo=1, hi=5, scope="transactional",
                          label="CSAT (mean, 1-5)", unit="score", kind="mean"),
        "ces": dict(column="ces", lo=1, hi=7, scope="transactional",
                    label="CES (mean, 1-7, higher = easier)", unit="score", kind="mean"),
        "ces_easy": dict(column="ces", lo=1, hi=7, scope="transactional",
                         label="CES easy (5-7 %)", unit="%", kind="share", top=5),
    }
    if metric not in info:
        raise ValueError(f"unknown metric {metric!r}; use one of {list(METRICS)}")
    return {"metric": metric, **info[metric]}


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
def row_list(index: pd.Index, limit: int = 5) -> str:
    """Row labels for a message: '3, 7, 9 and 12 more'."""
    shown = ", ".join(str(i) for i in list(index[:limit]))
    more = f" and {len(index) - limit} more" if len(index) > limit else ""
    return f"{shown}{more}"


def clean_scores(values, name: str, lo: float | None, hi: float | None) -> pd.Series:
    """Validate scores; return a float Series (NaN = missing) on the input's index.

    Raises DataValidationError for non-numeric, non-integer (when a scale is given) or
    out-of-range values, naming the column, the offending rows and the fix.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_bool_dtype(s.dtype):
        raise DataValidationError(
            f"column {name!r} holds booleans, not scores; map it to the {lo}-{hi} scale first."
        )
    if pd.api.types.is_numeric_dtype(s.dtype):
        num = s
    else:
        num = pd.to_numeric(s, errors="coerce")
        bad = num.isna() & s.notna()
        if bad.any():
            examples = ", ".join(repr(v) for v in s[bad].unique()[:5])
            raise DataValidationError(
                f"column {name!r} has {int(bad.sum())} non-numeric value(s) ({examples}) in "
                f"row(s) {row_list(s.index[bad])}; scores must be numbers"
                + (f" {lo:g}-{hi:g}" if lo is not None else "")
                + ". Fix the export or its column mapping (blank = missing)."
            )
    arr = pd.Series(
        np.asarray(num.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)),
        index=s.index,
        name=name,
    )
    if np.isinf(arr).any():
        bad = np.isinf(arr)
        raise DataValidationError(
            f"column {name!r} has infinite value(s) in row(s) {row_list(arr.index[bad])}; fix the export."
        )
    if lo is not None and hi is not None:
        out = (arr < lo) | (arr > hi)
        if out.any():
            examples = ", ".join(f"{v:g}" for v in arr[out].unique()[:5])
            raise DataValidationError(
                f"column {name!r} has {int(out.sum())} value(s) outside {lo:g}-{hi:g} ({examples}) "
                f"in row(s) {row_list(arr.index[out])}; fix the export, or map the client's scale "
                f"onto {lo:g}-{hi:g} before analysis."
            )
        frac = arr.notna() & (arr != np.round(arr))
        if frac.any():
            examples = ", ".join(f"{v:g}" for v in arr[frac].unique()[:5])
            raise DataValidationError(
                f"column {name!r} has {int(frac.sum())} non-integer score(s) ({examples}) in "
                f"row(s) {row_list(arr.index[frac])}; survey scores are whole points "
                f"{lo:g}-{hi:g}. Fix the export."
            )
    return arr


def check_confidence(confidence: float) -> float:
    if not (0 < float(confidence) < 1):
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}")
    return float(confidence)


def _split(values: pd.Series) -> tuple[np.ndarray, int]:
    """Valid scores as a float array and the number of missing ones."""
    mask = values.notna().to_numpy()
    return values.to_numpy(dtype="float64")[mask], int((~mask).sum())


# --------------------------------------------------------------------------------------
# single-sample scores (from validated float arrays)
# --------------------------------------------------------------------------------------
def _nps(arr: np.ndarray, excluded: int, confidence: float) -> ScoreResult:
    n = arr.size
    if n == 0:
        return ScoreResult("nps", _NAN, _NAN, _NAN, 0, excluded)
    pro = float((arr >= 9).sum())
    det = float((arr <= 6).sum())
    p_pro, p_det = pro / n, det / n
    value = 100.0 * (p_pro - p_det)
    # adjusted Wald (Rocks 2016): add 3/4 promoter, 3/4 detractor, 3 responses overall
    n_adj = n + 3.0
    pp, pd_ = (pro + 0.75) / n_adj, (det + 0.75) / n_adj
    nps_adj = pp - pd_
    var = (pp + pd_ - nps_adj**2) / n_adj
    z = stats.norm.ppf(0.5 + confidence / 2)
    half = z * np.sqrt(var)
    lo, hi = float(max(nps_adj - half, -1.0)), float(min(nps_adj + half, 1.0))
    return ScoreResult("nps", value, 100 * lo, 100 * hi, n, excluded, p_pro, p_det)


def _share(arr: np.ndarray, excluded: int, confidence: float, top: float, metric: str):
    n = arr.size
    if n == 0:
        return ScoreResult(metric, _NAN, _NAN, _NAN, 0, excluded)
    x = int((arr >= top).sum())
    lo, hi = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
    return ScoreResult(metric, 100.0 * x / n, 100.0 * float(lo), 100.0 * float(hi), n, excluded)


def _mean(arr: np.ndarray, excluded: int, confidence: float, metric: str) -> ScoreResult:
    n = arr.size
    if n == 0:
        return ScoreResult(metric, _NAN, _NAN, _NAN, 0, excluded)
    m = float(arr.mean())
    if n < 2:
        return ScoreResult(metric, m, _NAN, _NAN, n, excluded)
    sd = float(arr.std(ddof=1))
    se = sd / np.sqrt(n)
    if se == 0:
        return ScoreResult(metric, m, m, m, n, excluded, sd=sd)
    lo, hi = stats.t.interval(confidence, n - 1, loc=m, scale=se)
    return ScoreResult(metric, m, float(lo), float(hi), n, excluded, sd=sd)


def _score_arr(metric: str, arr: np.ndarray, excluded: int, confidence: float) -> ScoreResult:
    info = metric_info(metric)
    if info["kind"] == "nps":
        return _nps(arr, excluded, confidence)
    if info["kind"] == "share":
        return _share(arr, excluded, confidence, info["top"], metric)
    return _mean(arr, excluded, confidence, metric)


def score(scores, metric: str = "nps", confidence: float = 0.95, *, name: str | None = None):
    """Compute any metric of :data:`METRICS` from raw scores.

    Parameters
    ----------
    scores : array-like or Series
        Raw scores on the metric's scale; NaN/NA are excluded and counted.
    metric : str
        Metric key.
    confidence : float
        Confidence level of the interval.
    name : str, optional
        Column name used in error messages (defaults to the metric's score column).

    Returns
    -------
    ScoreResult
    """
    info = metric_info(metric)
    confidence = check_confidence(confidence)
    col = name or (scores.name if isinstance(scores, pd.Series) and scores.name else info["column"])
    arr, excluded = _split(clean_scores(scores, str(col), info["lo"], info["hi"]))
    return _score_arr(metric, arr, excluded, confidence)


def nps(scores, confidence: float = 0.95) -> ScoreResult:
    """Net Promoter Score with an adjusted-Wald confidence interval.

    ``NPS = 100 * (P - D)`` where ``P`` is the share of 9-10 scores (promoters) and ``D``
    the share of 0-6 scores (detractors) among the ``n`` valid 0-10 scores.

    Interval (adjusted Wald, Rocks 2016): with ``n' = n + 3``, ``P' = (promoters + 3/4)/n'``,
    ``D' = (detractors + 3/4)/n'`` and ``NPS' = P' - D'``::

        var = (P' + D' - NPS'**2) / n'
        CI  = 100 * clip(NPS' +/- z_{1-alpha/2} * sqrt(var), -1, 1)

    The point estimate is the unadjusted NPS. Because the interval is centred on the
    adjusted NPS', for very small bases (all promoters, n < ~5) the point estimate can lie
    just outside it; such bases are flagged as small anyway.

    Parameters
    ----------
    scores : array-like or Series
        Likelihood-to-recommend scores, integers 0-10; NaN excluded and counted.
    confidence : float, default 0.95
        Confidence level.

    Returns
    -------
    ScoreResult
        ``value``, ``ci_low``, ``ci_high`` in points; ``p_promoters``, ``p_detractors`` 0-1.

    References
    ----------
    Rocks, B. (2016). Interval estimation for the "net promoter score". *The American
    Statistician*, 70(4), 365-372. doi:10.1080/00031305.2016.1158124
    """
    return score(scores, "nps", confidence)


def csat(scores, confidence: float = 0.95) -> ScoreResult:
    """CSAT top-two-box: percent of 1-5 scores that are 4 or 5, with a Wilson interval.

    ``value = 100 * x / n`` with ``x`` = count of scores >= 4. The interval is Wilson's
    score interval, ``(p + z^2/2n +/- z*sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``
    (statsmodels ``proportion_confint(method="wilson")``), in percent.

    Parameters
    ----------
    scores : array-like or Series
        CSAT scores, integers 1-5; NaN excluded and counted.
    confidence : float, default 0.95

    Returns
    -------
    ScoreResult

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. *JASA*, 22(158), 209-212.
    """
    return score(scores, "csat", confidence)


def csat_mean(scores, confidence: float = 0.95) -> ScoreResult:
    """Mean CSAT (1-5) with a Student t interval.

    ``mean +/- t_{1-alpha/2, n-1} * s / sqrt(n)`` (``s`` the sample SD, ddof=1); the
    interval is NaN for n < 2.

    Parameters
    ----------
    scores : array-like or Series
        CSAT scores, integers 1-5; NaN excluded and counted.
    confidence : float, default 0.95

    Returns
    -------
    ScoreResult
    """
    return score(scores, "csat_mean", confidence)


def ces(scores, confidence: float = 0.95) -> ScoreResult:
    """Mean Customer Effort Score (1-7, higher = easier) with a Student t interval.

    ``mean +/- t_{1-alpha/2, n-1} * s / sqrt(n)`` (``s`` the sample SD, ddof=1).

    Parameters
    ----------
    scores : array-like or Series
        CES scores, integers 1-7 where 7 = very easy; NaN excluded and counted.
    confidence : float, default 0.95

    Returns
    -------
    ScoreResult
    """
    return score(scores, "ces", confidence)


def ces_easy(scores, confidence: float = 0.95) -> ScoreResult:
    """Percent of CES scores 5-7 ("easy") with a Wilson interval (see :func:`csat`).

    Parameters
    ----------
    scores : array-like or Series
        CES scores, integers 1-7 (higher = easier); NaN excluded and counted.
    confidence : float, default 0.95

    Returns
    -------
    ScoreResult
    """
    return score(scores, "ces_easy", confidence)


# --------------------------------------------------------------------------------------
# changes between two samples
# --------------------------------------------------------------------------------------
def z_change(diff, se, confidence, n1, n2, scale=1.0) -> ChangeResult:
    diff, se = float(diff), float(se)
    if not (se > 0) or not np.isfinite(diff):
        return ChangeResult(scale * diff if np.isfinite(diff) else _NAN, _NAN, _NAN, _NAN, _NAN,
                            False, n1, n2)
    z = diff / se
    p = float(2 * stats.norm.sf(abs(z)))
    q = float(stats.norm.ppf(0.5 + confidence / 2))
    return ChangeResult(scale * diff, scale * (diff - q * se), scale * (diff + q * se), float(z), p,
                        bool(p < 1 - confidence), n1, n2)


def _nps_change_arr(a: np.ndarray, b: np.ndarray, confidence: float) -> ChangeResult:
    n1, n2 = a.size, b.size
    if n1 == 0 or n2 == 0:
        return ChangeResult(_NAN, _NAN, _NAN, _NAN, _NAN, False, n1, n2)
    parts = []
    for arr in (a, b):
        pp, pd_ = (arr >= 9).mean(), (arr <= 6).mean()
        parts.append((pp - pd_, (pp + pd_ - (pp - pd_) ** 2) / arr.size))
    diff = parts[0][0] - parts[1][0]
    se = np.sqrt(parts[0][1] + parts[1][1])
    return z_change(diff, se, confidence, n1, n2, scale=100.0)


def nps_change(current_scores, previous_scores, confidence: float = 0.95) -> ChangeResult:
    """Difference of two independent NPS values with a z-test.

    ``diff = NPS_1 - NPS_2`` (points). With unadjusted shares per sample,
    ``var_i = (P_i + D_i - (P_i - D_i)^2) / n_i``, ``se = sqrt(var_1 + var_2)``,
    ``z = diff / se``, two-sided ``p = 2 * (1 - Phi(|z|))`` and
    ``CI = diff +/- z_{1-alpha/2} * se`` (times 100 for points).

    Parameters
    ----------
    current_scores, previous_scores : array-like or Series
        0-10 scores of the two samples; NaN excluded.
    confidence : float, default 0.95
        Confidence level; ``significant`` is ``p < 1 - confidence``.

    Returns
    -------
    ChangeResult
        z and p are NaN when a sample is empty or both variances are zero.

    References
    ----------
    Rocks, B. (2016), *The American Statistician* 70(4) (variance of the NPS estimator).
    """
    confidence = check_confidence(confidence)
    a, _ = _split(clean_scores(current_scores, "nps (current)", 0, 10))
    b, _ = _split(clean_scores(previous_scores, "nps (previous)", 0, 10))
    return _nps_change_arr(a, b, confidence)


def proportion_change(x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95) -> ChangeResult:
    """Two-proportion z-test and Wald interval of ``p1 - p2`` (percentage points).

    Test (pooled, as statsmodels ``proportions_ztest([x1, x2], [n1, n2])``):
    ``p = (x1 + x2)/(n1 + n2)``, ``z = (p1 - p2) / sqrt(p(1-p)(1/n1 + 1/n2))``.
    Interval (unpooled Wald): ``p1 - p2 +/- z_{1-alpha/2} sqrt(p1(1-p1)/n1 + p2(1-p2)/n2)``.

    Parameters
    ----------
    x1, n1 : int
        Successes and trials of the current sample.
    x2, n2 : int
        Successes and trials of the previous sample.
    confidence : float, default 0.95

    Returns
    -------
    ChangeResult
        ``diff`` and its interval in percentage points (100 * (p1 - p2)).
    """
    confidence = check_confidence(confidence)
    for name, x, n in (("x1", x1, n1), ("x2", x2, n2)):
        if n < 0 or x < 0 or x > n:
            raise ValueError(f"{name}={x} must be between 0 and its trials n={n}")
    n1, n2 = int(n1), int(n2)
    if n1 == 0 or n2 == 0:
        return ChangeResult(_NAN, _NAN, _NAN, _NAN, _NAN, False, n1, n2)
    return share_change(x1 / n1, n1, x2 / n2, n2, confidence, n1, n2)


def share_change(p1: float, e1: float, p2: float, e2: float, confidence: float,
                  n1: int, n2: int) -> ChangeResult:
    """Two-proportion z-test (pooled) and Wald interval (unpooled) on bases ``e1``, ``e2``
    (the sample sizes, or the Kish effective sizes for weighted shares); in points."""
    diff = p1 - p2
    pool = (e1 * p1 + e2 * p2) / (e1 + e2)
    se_pool = np.sqrt(pool * (1 - pool) * (1 / e1 + 1 / e2))
    se_wald = float(np.sqrt(p1 * (1 - p1) / e1 + p2 * (1 - p2) / e2))
    q = float(stats.norm.ppf(0.5 + confidence / 2))
    diff = float(diff)
    if se_pool > 0:
        z = diff / se_pool
        p = float(2 * stats.norm.sf(abs(z)))
    else:
        z, p = _NAN, _NAN
    return ChangeResult(100 * diff, 100 * (diff - q * se_wald), 100 * (diff + q * se_wald),
                        float(z), p, bool(p < 1 - confidence), n1, n2)


def _mean_change_arr(a: np.ndarray, b: np.ndarray, confidence: float) -> ChangeResult:
    n1, n2 = a.size, b.size
    if n1 < 2 or n2 < 2:
        diff = a.mean() - b.mean() if n1 and n2 else _NAN
        return ChangeResult(float(diff), _NAN, _NAN, _NAN, _NAN, False, n1, n2)
    if a.var(ddof=1) == 0 and b.var(ddof=1) == 0:
        return ChangeResult(float(a.mean() - b.mean()), _NAN, _NAN, _NAN, _NAN, False, n1, n2)
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(confidence_level=confidence)
    p = float(res.pvalue)
    return ChangeResult(float(a.mean() - b.mean()), float(ci.low), float(ci.high),
                        float(res.statistic), p, bool(p < 1 - confidence), n1, n2)


def mean_change(a, b, confidence: float = 0.95, *, lo: float | None = None,
                hi: float | None = None) -> ChangeResult:
    """Difference of two means with Welch's unequal-variance t-test.

    ``t = (mean_a - mean_b) / sqrt(s_a^2/n_a + s_b^2/n_b)`` with Welch-Satterthwaite degrees
    of freedom; interval ``diff +/- t_{1-alpha/2, df} * se`` (scipy ``ttest_ind(...,
    equal_var=False)``).

    Parameters
    ----------
    a, b : array-like or Series
        Current and previous scores; NaN excluded.
    confidence : float, default 0.95
    lo, hi : float, optional
        Valid scale; when given, out-of-range values raise DataValidationError.

    Returns
    -------
    ChangeResult
        ``z`` holds Welch's t statistic.

    References
    ----------
    Welch, B. L. (1947). The generalization of "Student's" problem when several different
    population variances are involved. *Biometrika*, 34(1-2), 28-35.
    """
    confidence = check_confidence(confidence)
    x, _ = _split(clean_scores(a, "a", lo, hi))
    y, _ = _split(clean_scores(b, "b", lo, hi))
    return _mean_change_arr(x, y, confidence)


def _change_arr(metric: str, a: np.ndarray, b: np.ndarray, confidence: float) -> ChangeResult:
    info = metric_info(metric)
    if info["kind"] == "nps":
        return _nps_change_arr(a, b, confidence)
    if info["kind"] == "share":
        return proportion_change(int((a >= info["top"]).sum()), a.size,
                                 int((b >= info["top"]).sum()), b.size, confidence)
    return _mean_change_arr(a, b, confidence)


def change(current_scores, previous_scores, metric: str = "nps", confidence: float = 0.95):
    """Change of any metric between two samples of raw scores.

    Dispatches to :func:`nps_change` (NPS), :func:`proportion_change` (shares, from the
    counts of top-box scores) or :func:`mean_change` (means).

    Returns
    -------
    ChangeResult
    """
    info = metric_info(metric)
    confidence = check_confidence(confidence)
    a, _ = _split(clean_scores(current_scores, f"{info['column']} (current)", info["lo"], info["hi"]))
    b, _ = _split(clean_scores(previous_scores, f"{info['column']} (previous)", info["lo"], info["hi"]))
    return _change_arr(metric, a, b, confidence)


# --------------------------------------------------------------------------------------
# frame helpers
# --------------------------------------------------------------------------------------
def _require(df: pd.DataFrame, cols, what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} needs a pandas DataFrame of survey responses, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"{what}: the responses have no column(s) {missing}; available columns are "
            f"{list(df.columns)}. Join/derive them first (e.g. add `period` from response_time)."
        )


def _check_by(df: pd.DataFrame, by: str) -> None:
    if by not in df.columns:
        raise ValueError(
            f"cannot break down by {by!r}: no such column. Available columns are "
            f"{list(df.columns)}."
        )


def in_scope(df: pd.DataFrame, scope: str) -> pd.Series:
    """Which rows of survey responses are of survey type ``scope`` ("relationship" or
    "transactional"): every row when the responses have no ``survey_type`` (one survey whose every
    answer counts for every measure, as the module notes state)."""
    if "survey_type" not in df.columns:
        return pd.Series(True, index=df.index)
    return df["survey_type"] == scope


def scoped_scores(df: pd.DataFrame, metric: str, what: str) -> tuple[pd.DataFrame, pd.Series]:
    """Rows in the metric's scope and their validated scores (NaN = missing)."""
    info = metric_info(metric)
    _require(df, [info["column"]], what)
    df = df[in_scope(df, info["scope"])]
    return df, clean_scores(df[info["column"]], info["column"], info["lo"], info["hi"])


#: the label of a group whose value is missing (kept and shown, never dropped)
MISSING_GROUP = "(not recorded)"


def group_keys(s: pd.Series) -> pd.Series:
    """Group labels with missing values made explicit (never silently dropped)."""
    if s.isna().any():
        s = s.astype(object).where(s.notna(), MISSING_GROUP)
    return s


def _scores_by(df: pd.DataFrame, vals: pd.Series, keys: list[str]) -> dict:
    """Map group key (tuple) -> (valid scores array, excluded count)."""
    out = {}
    frame = pd.DataFrame({k: group_keys(df[k]) for k in keys}, index=df.index)
    frame["_v"] = vals
    for key, g in frame.groupby(keys, sort=False, dropna=False, observed=True):
        out[key if isinstance(key, tuple) else (key,)] = _split(g["_v"])
    return out


def _small(n, min_base: int) -> bool:
    return bool(n < min_base)


# --------------------------------------------------------------------------------------
# frame-level analyses
# --------------------------------------------------------------------------------------
def score_summary(responses: pd.DataFrame, *, confidence: float = 0.95,
                  min_base: int = 30) -> pd.DataFrame:
    """All headline KPIs of a set of responses, one row per metric.

    Metrics: NPS (relationship rows, points, adjusted-Wald CI), CSAT top-2-box % (Wilson),
    CSAT mean (t), CES mean (t), CES easy % (Wilson); see the single-metric functions for
    the formulas.

    Parameters
    ----------
    responses : DataFrame
        survey_responses rows (``nps``, ``csat``, ``ces`` and ``survey_type`` columns).
    confidence : float, default 0.95
    min_base : int, default 30
        Bases below this are flagged ``small_base``.

    Returns
    -------
    DataFrame
        Columns ``metric, label, unit, value, ci_low, ci_high, n, excluded, small_base``.
    """
    confidence = check_confidence(confidence)
    rows = []
    for metric in METRICS:
        info = metric_info(metric)
        _, vals = scoped_scores(responses, metric, "score_summary")
        r = _score_arr(metric, *_split(vals), confidence)
        rows.append(dict(metric=metric, label=info["label"], unit=info["unit"], value=r.value,
                         ci_low=r.ci_low, ci_high=r.ci_high, n=r.n, excluded=r.excluded,
                         small_base=_small(r.n, min_base)))
    return pd.DataFrame(rows)


def _rank(df: pd.DataFrame) -> pd.DataFrame:
    ok = ~df["small_base"] & df["value"].notna()
    df["rank"] = df["value"].where(ok).rank(ascending=False, method="min")
    return df


def breakdown(responses: pd.DataFrame, by: str, metric: str = "nps", *,
              confidence: float = 0.95, min_base: int = 30) -> pd.DataFrame:
    """A metric per group of ``by``, with intervals, small-base flags and a rank.

    Parameters
    ----------
    responses : DataFrame
        survey_responses rows with the ``by`` column (e.g. joined ``segment``).
    by : str
        Grouping column; missing values form the group ``"(not recorded)"``.
    metric : str, default "nps"
        One of :data:`METRICS`.
    confidence : float, default 0.95
    min_base : int, default 30
        Groups with ``n < min_base`` are flagged, get rank NaN and sort last.

    Returns
    -------
    DataFrame
        Columns ``[by], metric, value, ci_low, ci_high, n, excluded, small_base, rank``;
        rank 1 = best (highest value), ties share the lowest rank; sorted by rank.
    """
    confidence = check_confidence(confidence)
    _check_by(responses, by)
    df, vals = scoped_scores(responses, metric, "breakdown")
    rows = []
    for (key,), (arr, excl) in _scores_by(df, vals, [by]).items():
        r = _score_arr(metric, arr, excl, confidence)
        rows.append({by: key, "metric": metric, "value": r.value, "ci_low": r.ci_low,
                     "ci_high": r.ci_high, "n": r.n, "excluded": r.excluded,
                     "small_base": _small(r.n, min_base)})
    cols = [by, "metric", "value", "ci_low", "ci_high", "n", "excluded", "small_base", "rank"]
    if not rows:
        return pd.DataFrame(columns=cols)
    out = _rank(pd.DataFrame(rows))
    out = out.sort_values(["rank", "value"], ascending=[True, False], na_position="last",
                          kind="stable")
    return out[cols].reset_index(drop=True)


def _period_rows(df: pd.DataFrame, period, what: str) -> pd.DataFrame:
    _require(df, ["period"], what)
    sel = df[df["period"].astype(str) == str(period)]
    if sel.empty:
        available = sorted(df["period"].dropna().astype(str).unique())
        raise PeriodError(
            f"period {period!r} has no survey responses; periods in the data are {available}. "
            "Choose one of them (or pass previous_period=None when there is no earlier period)."
        )
    return sel


def kpi_tiles(responses: pd.DataFrame, period, previous_period, *, confidence: float = 0.95,
              alpha: float = 0.05, min_base: int = 30,
              metrics: tuple[str, ...] = ("nps", "csat", "ces")) -> pd.DataFrame:
    """Executive-summary KPI tiles: this period, last period, the change and its test.

    Changes use :func:`nps_change` (NPS), :func:`proportion_change` (CSAT top-2-box %) and
    :func:`mean_change` (CES mean, Welch).

    Parameters
    ----------
    responses : DataFrame
        survey_responses rows with a ``period`` column.
    period : str
        Current period (e.g. ``"2026Q3"``); no rows -> :class:`PeriodError`.
    previous_period : str or None
        Comparison period; ``None`` leaves the previous/change columns empty. A period given
        but without rows -> :class:`PeriodError`.
    confidence : float, default 0.95
        Level of the value and change intervals.
    alpha : float, default 0.05
        Significance level.
    min_base : int, default 30
    metrics : tuple of str, default ("nps", "csat", "ces")

    Returns
    -------
    DataFrame
        One row per metric: ``metric, label, unit, value, ci_low, ci_high, n, excluded,
        out_of_scope, previous_value, n_previous, change, change_ci_low, change_ci_high, p_value,
        significant, direction, small_base``. ``out_of_scope``: scores given on responses of
        the other survey type (counted in no figure). ``significant`` = ``p < alpha`` and neither
        base small; ``direction`` is ``"up"``/``"down"`` for a significant change and
        ``"flat"`` otherwise (a non-significant move is not read as a move).
    """
    confidence = check_confidence(confidence)
    if not (0 < alpha < 1):
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    cur = _period_rows(responses, period, "kpi_tiles")
    prev = _period_rows(responses, previous_period, "kpi_tiles") if previous_period is not None else None
    rows = []
    for metric in metrics:
        info = metric_info(metric)
        _, v = scoped_scores(cur, metric, "kpi_tiles")
        a, excl = _split(v)
        r = _score_arr(metric, a, excl, confidence)
        # scores given on responses outside the metric's scope: in the data, in no figure
        outside = (int((cur[info["column"]].notna() & (cur["survey_type"] != info["scope"])).sum())
                   if "survey_type" in cur.columns and info["column"] in cur.columns else 0)
        row = dict(metric=metric, label=info["label"], unit=info["unit"], value=r.value,
                   ci_low=r.ci_low, ci_high=r.ci_high, n=r.n, excluded=r.excluded, out_of_scope=outside,
                   previous_value=_NAN, n_previous=0, change=_NAN, change_ci_low=_NAN,
                   change_ci_high=_NAN, p_value=_NAN, significant=False, direction="flat",
                   small_base=_small(r.n, min_base))
        if prev is not None:
            _, pv = scoped_scores(prev, metric, "kpi_tiles")
            b, pexcl = _split(pv)
            rp = _score_arr(metric, b, pexcl, confidence)
            c = _change_arr(metric, a, b, confidence)
            sig = bool(c.p_value < alpha) and not (r.n < min_base or rp.n < min_base)
            row.update(previous_value=rp.value, n_previous=rp.n, change=c.diff,
                       change_ci_low=c.ci_low, change_ci_high=c.ci_high, p_value=c.p_value,
                       significant=sig,
                       direction=("up" if c.diff > 0 else "down") if sig else "flat")
        rows.append(row)
    return pd.DataFrame(rows)


def trend(responses: pd.DataFrame, metric: str = "nps", by: str | None = None, *,
          confidence: float = 0.95, min_base: int = 30) -> pd.DataFrame:
    """A metric per period (and per ``by`` group), with intervals and small-base flags.

    Parameters
    ----------
    responses : DataFrame
        survey_responses rows with a ``period`` column.
    metric : str, default "nps"
    by : str, optional
        Grouping column (missing values form ``"(not recorded)"``).
    confidence : float, default 0.95
    min_base : int, default 30

    Returns
    -------
    DataFrame
        Columns ``period, [by], metric, value, ci_low, ci_high, n, excluded, small_base``,
        sorted by period (then group).
    """
    confidence = check_confidence(confidence)
    _require(responses, ["period"], "trend")
    if by is not None:
        _check_by(responses, by)
    df, vals = scoped_scores(responses, metric, "trend")
    keys = ["period"] + ([by] if by else [])
    rows = []
    for key, (arr, excl) in _scores_by(df, vals, keys).items():
        r = _score_arr(metric, arr, excl, confidence)
        rows.append({**dict(zip(keys, key, strict=True)), "metric": metric, "value": r.value,
                     "ci_low": r.ci_low, "ci_high": r.ci_high, "n": r.n,
                     "excluded": r.excluded, "small_base": _small(r.n, min_base)})
    cols = keys + ["metric", "value", "ci_low", "ci_high", "n", "excluded", "small_base"]
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(rows)[cols]
    # periods as text sort chronologically ("2026Q2" < "2026Q3"); "(not recorded)" goes last
    return out.sort_values(
        keys, kind="stable", key=lambda s: s.astype(str).replace(MISSING_GROUP, "\uffff")
    ).reset_index(drop=True)


def from_counts(counts: pd.DataFrame, metric: str = "nps", by: str | None = None, *,
                confidence: float = 0.95, min_base: int = 30) -> pd.DataFrame:
    """:func:`trend` from the engine's counts (:func:`cxlib.data.engine.score_counts`), vectorised.

    Same columns, formulas and order as :func:`trend` on the rows the counts came from: NPS with
    the adjusted-Wald interval, shares with Wilson's, means with Student's t (the standard
    deviation from the sum of squares).
    """
    confidence = check_confidence(confidence)
    info = metric_info(metric)
    col = info["column"]
    keys = ["period"] + ([by] if by else [])
    cols = keys + ["metric", "value", "ci_low", "ci_high", "n", "excluded", "small_base"]
    if f"{col}_rows" not in counts:
        raise DataValidationError(f"the survey export has no {col!r} column for {metric}.")
    if counts.duplicated(keys).any():  # counts with more groups than asked for: summed (a small frame)
        counts = counts.groupby(keys, sort=False, as_index=False).sum(numeric_only=True)
    c = counts[counts[f"{col}_rows"] > 0]
    n = c[f"{col}_n"].to_numpy(dtype=float)
    z = stats.norm.ppf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        if info["kind"] == "nps":
            pro, det = c["nps_pro"].to_numpy(dtype=float), c["nps_det"].to_numpy(dtype=float)
            value = 100 * (pro - det) / n
            na = n + 3.0
            pp, pdt = (pro + 0.75) / na, (det + 0.75) / na
            adj = pp - pdt
            half = z * np.sqrt((pp + pdt - adj ** 2) / na)
            lo, hi = 100 * np.maximum(adj - half, -1.0), 100 * np.minimum(adj + half, 1.0)
        elif info["kind"] == "share":
            x = c[{"csat": "csat_top", "ces": "ces_easy"}[col]].to_numpy(dtype=float)
            lo, hi = proportion_confint(x, np.maximum(n, 1), alpha=1 - confidence, method="wilson")
            value, lo, hi = 100 * x / n, 100 * np.asarray(lo, float), 100 * np.asarray(hi, float)
        else:
            s, ss = c[f"{col}_sum"].to_numpy(dtype=float), c[f"{col}_sumsq"].to_numpy(dtype=float)
            value = s / n
            sd = np.sqrt(np.maximum(ss - s * s / n, 0) / (n - 1))
            half = stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
            lo, hi = np.where(n >= 2, value - half, np.nan), np.where(n >= 2, value + half, np.nan)
        value = np.where(n > 0, value, np.nan)
        lo, hi = np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)
    out = pd.DataFrame({**{k: c[k].to_numpy() for k in keys}, "metric": metric, "value": value, "ci_low": lo,
                        "ci_high": hi, "n": n.astype(int),
                        "excluded": (c[f"{col}_rows"] - c[f"{col}_n"]).astype(int).to_numpy(),
                        "small_base": n < min_base}, columns=cols)
    # periods as text sort chronologically ("2026Q2" < "2026Q3"); "(not recorded)" goes last
    order = np.lexsort([out[k].astype(str).replace(MISSING_GROUP, "\uffff").to_numpy() for k in reversed(keys)])
    return out.take(order).reset_index(drop=True)


def breakdown_change(responses: pd.DataFrame, by: str, period, previous_period,
                     metric: str = "nps", *, confidence: float = 0.95, alpha: float = 0.05,
                     min_base: int = 30) -> pd.DataFrame:
    """Per group of ``by``: the metric now and last period, the change and its test.

    The test per group is the one of :func:`kpi_tiles` (NPS z-test, two-proportion z-test
    or Welch t-test). Because many groups are tested at once, ``p_holm`` gives the Holm
    (1979) step-down adjusted p-value across the tested groups (statsmodels
    ``multipletests(method="holm")``); ``significant`` uses the raw p-value, as in the
    tiles, so read it together with ``p_holm`` when there are many groups.

    Parameters
    ----------
    responses : DataFrame
        survey_responses rows with ``period`` and ``by`` columns.
    by : str
        Grouping column (e.g. ``"segment"``).
    period, previous_period : str
        The two periods; either without rows -> :class:`PeriodError`.
    metric : str, default "nps"
    confidence : float, default 0.95
    alpha : float, default 0.05
    min_base : int, default 30

    Returns
    -------
    DataFrame
        Columns ``[by], metric, value, n, previous_value, n_previous, change,
        change_ci_low, change_ci_high, p_value, p_holm, significant, small_base``;
        ``significant`` = ``p < alpha`` and neither base small; ``small_base`` = either
        base small. Sorted by change, largest fall first.
    """
    confidence = check_confidence(confidence)
    _check_by(responses, by)
    cur = _period_rows(responses, period, "breakdown_change")
    prev = _period_rows(responses, previous_period, "breakdown_change")
    dc, vc = scoped_scores(cur, metric, "breakdown_change")
    dp, vp = scoped_scores(prev, metric, "breakdown_change")
    now, before = _scores_by(dc, vc, [by]), _scores_by(dp, vp, [by])
    empty = (np.array([], dtype=float), 0)
    rows = []
    for key in list(now) + [k for k in before if k not in now]:
        a, ea = now.get(key, empty)
        b, eb = before.get(key, empty)
        r, rp = _score_arr(metric, a, ea, confidence), _score_arr(metric, b, eb, confidence)
        c = _change_arr(metric, a, b, confidence)
        small = r.n < min_base or rp.n < min_base
        rows.append({by: key[0], "metric": metric, "value": r.value, "n": r.n,
                     "previous_value": rp.value, "n_previous": rp.n, "change": c.diff,
                     "change_ci_low": c.ci_low, "change_ci_high": c.ci_high,
                     "p_value": c.p_value, "significant": bool(c.p_value < alpha) and not small,
                     "small_base": bool(small)})
    cols = [by, "metric", "value", "n", "previous_value", "n_previous", "change",
            "change_ci_low", "change_ci_high", "p_value", "p_holm", "significant", "small_base"]
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(rows)
    tested = out["p_value"].notna()
    out["p_holm"] = np.nan
    if tested.any():
        out.loc[tested, "p_holm"] = holm(out.loc[tested, "p_value"])
    out = out.sort_values("change", na_position="last", kind="stable")
    return out[cols].reset_index(drop=True)



def nps_group(scores) -> pd.Series:
    """NPS group of each 0-10 score: ``promoter`` (9-10), ``passive`` (7-8), ``detractor``
    (0-6), as an ordered categorical in that order (missing stays missing).

    Validated as :func:`nps` (range, integers). Use it as a crosstab row:
    ``crosstab(df.assign(nps_group=nps_group(df["nps"])), "nps_group", "segment")``.
    """
    s = scores if isinstance(scores, pd.Series) else pd.Series(scores)
    x = clean_scores(s, str(s.name) if s.name is not None else "nps", 0, 10)
    labels = np.where(x >= 9, "promoter", np.where(x >= 7, "passive", "detractor"))
    cat = pd.Categorical(np.where(x.isna(), None, labels),
                         categories=["promoter", "passive", "detractor"], ordered=True)
    return pd.Series(cat, index=s.index, name="nps_group")


def flag_share(responses: pd.DataFrame, column: str, period, previous_period, *, confidence: float = 0.95,
               alpha: float = 0.05, min_base: int = 30) -> pd.DataFrame:
    """Share of rows where a yes/no flag (e.g. "would recommend") is true, with its change.

    ``value`` = 100 * yes / answered (rows with the flag missing are excluded and counted); the
    interval is Wilson's score interval (Wilson 1927; statsmodels ``proportion_confint``,
    ``method="wilson"``); the change from ``previous_period`` is :func:`proportion_change`
    (pooled two-proportion z-test, Wald interval, percentage points).

    Returns
    -------
    DataFrame
        One row: ``metric, value, ci_low, ci_high, n, excluded, previous_value, n_previous, change,
        change_ci_low, change_ci_high, p_value, significant, small_base``.
    """
    confidence = check_confidence(confidence)
    _require(responses, [column, "period"], "flag_share")

    def counts(rows):
        flag = rows[column]
        answered = flag.dropna().astype(bool)
        return int(answered.sum()), int(answered.size), int(flag.isna().sum())

    cur = _period_rows(responses, period, "flag_share")
    x, n, excl = counts(cur)
    lo, hi = proportion_confint(x, max(n, 1), alpha=1 - confidence, method="wilson") if n else (_NAN, _NAN)
    row = dict(metric=column, value=100 * x / n if n else _NAN, ci_low=100 * lo, ci_high=100 * hi, n=n,
               excluded=excl, previous_value=_NAN, n_previous=0, change=_NAN, change_ci_low=_NAN,
               change_ci_high=_NAN, p_value=_NAN, significant=False, small_base=_small(n, min_base))
    if previous_period is not None:
        x2, n2, _ = counts(_period_rows(responses, previous_period, "flag_share"))
        c = proportion_change(x, n, x2, n2, confidence)
        row.update(previous_value=100 * x2 / n2 if n2 else _NAN, n_previous=n2, change=c.diff,
                   change_ci_low=c.ci_low, change_ci_high=c.ci_high, p_value=c.p_value,
                   significant=bool(c.p_value < alpha) and not (n < min_base or n2 < min_base))
    return pd.DataFrame([row])

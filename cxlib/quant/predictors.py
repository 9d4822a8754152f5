"""Predictors from a client's own columns: screening, fold-safe encoding and a logit that never breaks.

A CRM snapshot arrives with columns nobody chose for a model: ids, surnames, constant flags,
duplicated fields, a churn reason recorded after the churn. This module turns such a table
into model inputs and keeps a note of everything it leaves out, with the reason and the
statistic behind it (:func:`screen_predictors`); encodes the kept columns inside each
cross-validation fold (:class:`DesignEncoder`, an sklearn transformer, so levels seen in one
fold only never break another); and fits a maximum-likelihood logistic regression with
statsmodels that drops constant, collinear and separated design columns instead of failing
(:class:`LogitModel`).

Kinds of column (:func:`column_kind`)
-------------------------------------
``numeric``
    numbers, booleans (0/1), timestamps (days since 1970-01-01, so a coefficient is per day),
    and text whose every non-blank value reads as a number (a blank is missing).
    A numeric column whose values are only 0 and 1 is a *flag*: its reference is 0.
``categorical``
    any other text, or a pandas category, or a column declared categorical.

Screening (:func:`screen_predictors`), per candidate column, in this order
---------------------------------------------------------------------------
``empty``      no value at all.
``constant``   a single value and no missing values (one value *with* missing values keeps
               its missing indicator).
``id_like``    text or whole numbers different on every row (ids, row numbers);
               statistic = share of distinct values (1.0).
``rare_levels`` text whose every level has fewer than ``min_level`` rows (all would be pooled
               into one); statistic = the number of distinct values.
``name_like``  text with more than ``max_levels`` distinct values whose ``max_levels - 1``
               most common levels (each with at least ``min_level`` rows) cover less than half
               of the rows (surnames, free text); statistic = that coverage.
``leakage``    the column alone separates the target almost perfectly, which a real predictor
               measured before the outcome does not (a churn reason, a churn date): AUC of the
               in-sample churn rate of the customer's level (categorical) or decile band
               (numeric; missing values a band of their own), used as a score, at least
               ``leak_auc`` (0.98); statistic = that AUC.
``collinear``  every design column of it is a linear combination of the design columns of
               the columns before it: ``1 - R^2 < tol`` (1e-7) when regressing its centred
               column on theirs (a duplicate, a total of others, a recoding); statistic = R^2,
               ``related`` = the columns in the combination.
Levels (noted by :class:`LogitModel` with their ``level``): a level dummy that is collinear
with earlier columns, or whose rows all have the same outcome (``separated``: no finite
maximum-likelihood odds ratio exists), is left out of the logit, which merges that level
with the reference level.

Encoding (:class:`DesignEncoder`, fitted on the training part of each fold)
---------------------------------------------------------------------------
Categorical: levels with fewer than ``min_level`` rows, and any beyond the ``max_levels - 1``
most common, are pooled into ``"(other)"``; missing values form ``"(missing)"`` (pooled too
when rarer than ``min_level``); the reference level is the largest real level (or a declared
one); dummy coding against it. A level not seen in fitting is encoded as ``"(other)"`` when
that level exists, else as the reference. Numeric: the value with missing values set to the
training median, plus a 0/1 indicator ``column=(missing)`` when the training part had missing
values. ``output="codes"`` gives instead a float array with one column per predictor: a categorical
as the index of its level in ``levels_``, a number with its missing values kept (for
:class:`sklearn.ensemble.HistGradientBoostingClassifier` with those columns declared
categorical; it handles both natively).

Design column names: ``column`` (a numeric value), ``column=(missing)`` (its indicator) and
``column=level`` (a categorical level).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from statsmodels.discrete.discrete_model import Logit  # not statsmodels.api: 0.3 s more to import
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationWarning,
)

__all__ = ["MISSING", "OTHER", "DROP_COLUMNS", "Screen", "column_kind", "as_numbers", "as_text",
           "default_min_level", "screen_predictors", "dependent_columns", "DesignEncoder",
           "LogitModel"]

MISSING = "(missing)"
OTHER = "(other)"
#: columns of every ``dropped`` table
DROP_COLUMNS = ["column", "level", "reason", "statistic", "related"]
_EPOCH = pd.Timestamp("1970-01-01")


# --------------------------------------------------------------------------------------
# column kinds and conversions
# --------------------------------------------------------------------------------------
def column_kind(s: pd.Series) -> str:
    """``"numeric"``, ``"date"``, ``"text_number"`` or ``"categorical"`` (see the module notes)."""
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt) or (pd.api.types.is_numeric_dtype(dt)
                                          and not isinstance(dt, pd.CategoricalDtype)):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "date"
    if pd.api.types.is_timedelta64_dtype(dt):
        return "duration"
    if isinstance(dt, pd.CategoricalDtype):
        return "categorical"
    vals = s.dropna()
    if vals.empty:
        return "categorical"
    # the kind is a property of the distinct values: a million customers hold a handful of levels
    vals = pd.Series(pd.unique(vals.to_numpy(dtype=object)), dtype=object)
    if vals.map(type).isin([bool, np.bool_]).all():
        return "numeric"
    txt = vals.astype(str).str.strip()
    txt = txt[txt != ""]
    if len(txt) and pd.to_numeric(txt, errors="coerce").notna().all():
        return "text_number"
    return "categorical"


def as_numbers(s: pd.Series, kind: str = "numeric") -> np.ndarray:
    """A column as float64 with NaN for missing: numbers and booleans as they are (True = 1),
    dates as days since 1970-01-01, durations in days, numeric text parsed (blank = missing);
    an infinite number counts as missing."""
    if kind == "date":
        t = pd.to_datetime(s, errors="coerce")
        if getattr(t.dt, "tz", None) is not None:
            t = t.dt.tz_convert("UTC").dt.tz_localize(None)
        return ((t - _EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)
    if kind == "duration":
        return (pd.to_timedelta(s, errors="coerce") / pd.Timedelta(days=1)).to_numpy(
            dtype=float, na_value=np.nan)
    if kind == "text_number":
        s = s.astype("string").str.strip().replace("", pd.NA)
    elif s.dtype == object:
        s = s.map(lambda v: float(v) if isinstance(v, (bool, np.bool_)) else v)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    x = pd.to_numeric(s, errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    x[np.isinf(x)] = np.nan
    return x


def as_text(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(values as an object array of ``str``, missing mask) of a categorical column."""
    na = s.isna().to_numpy()
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    return s.astype(str).to_numpy(dtype=object), na


def default_min_level(n: int) -> int:
    """Smallest level kept apart: ``min(30, max(10, n // 100))`` rows (10 on small tables,
    30 from 3,000 rows on)."""
    return int(min(30, max(10, n // 100)))


def _is_flag(x: np.ndarray) -> bool:
    v = x[~np.isnan(x)]
    return bool(len(v)) and bool(np.isin(v, (0.0, 1.0)).all())


# --------------------------------------------------------------------------------------
# the encoder
# --------------------------------------------------------------------------------------
class DesignEncoder(TransformerMixin, BaseEstimator):
    """Fold-safe model inputs from declared predictors (see the module notes).

    Parameters
    ----------
    kinds : dict
        predictor -> ``"numeric"``, ``"date"``, ``"duration"``, ``"text_number"`` or
        ``"categorical"`` (:func:`column_kind`); the order is the design order.
    references : dict, optional
        categorical predictor -> declared reference level (used when it is a kept level).
    min_level : int, optional
        Rarer levels are pooled into ``"(other)"``; default :func:`default_min_level` of the
        fitted rows.
    max_levels : int, default 50
        At most this many levels per categorical (including the pooled one).
    output : {"dummies", "codes"}

    Attributes (after ``fit``)
    --------------------------
    levels_ : dict
        categorical -> its levels, largest first (``"(other)"`` and ``"(missing)"`` last).
    reference_ : dict
        categorical -> reference level; numeric -> reference value (0 for a flag, else the
        training median) used by the drivers.
    medians_, has_missing_, flag_ : dict
        numeric -> median (imputation), whether the fitted rows had missing values, 0/1 only.
    design_ : DataFrame
        ``name, predictor, level, part`` (``"value"``, ``"missing"`` or ``"level"``) of every
        design column, in order (``output="dummies"``).
    """

    def __init__(self, kinds: dict, references: dict | None = None, min_level: int | None = None,
                 max_levels: int = 50, output: str = "dummies"):
        self.kinds = kinds
        self.references = references
        self.min_level = min_level
        self.max_levels = max_levels
        self.output = output

    def fit(self, X: pd.DataFrame, y=None):
        if self.output not in ("dummies", "codes"):
            raise ValueError(f"DesignEncoder: output must be 'dummies' or 'codes', not {self.output!r}")
        n = len(X)
        min_level = default_min_level(n) if self.min_level is None else int(self.min_level)
        refs = self.references or {}
        self.levels_, self.reference_, self.medians_ = {}, {}, {}
        self.has_missing_, self.flag_, self.pooled_ = {}, {}, {}
        rows = []
        for col, kind in self.kinds.items():
            if kind == "categorical":
                txt, na = as_text(X[col])
                counts = pd.Series(txt[~na]).value_counts()
                counts = counts.rename_axis("level").reset_index(name="n").sort_values(
                    ["n", "level"], ascending=[False, True], kind="stable")
                big = counts[counts["n"] >= min_level].head(self.max_levels - 1)
                kept = list(big["level"])
                pooled = int(counts["n"].sum() - big["n"].sum())
                sizes = dict(zip(big["level"], big["n"], strict=True))
                n_na = int(na.sum())
                if n_na >= min_level:
                    sizes[MISSING] = n_na
                else:
                    pooled += n_na
                if pooled:
                    sizes[OTHER] = pooled
                ref = refs.get(col)
                if ref not in sizes:
                    ref = kept[0] if kept else max(sizes, key=sizes.get) if sizes else OTHER
                order = sorted(sizes, key=lambda lv: ((lv == OTHER) + 2 * (lv == MISSING), -sizes[lv], lv))
                self.levels_[col] = order
                self.reference_[col] = ref
                self.pooled_[col] = set(counts.loc[~counts["level"].isin(kept), "level"])
                rows += [{"name": f"{col}={lv}", "predictor": col, "level": lv, "part": "level"}
                         for lv in order if lv != ref]
            else:
                x = as_numbers(X[col], kind)
                miss = bool(np.isnan(x).any())
                med = float(np.nanmedian(x)) if (~np.isnan(x)).any() else 0.0
                self.medians_[col] = med
                self.has_missing_[col] = miss
                self.flag_[col] = _is_flag(x)
                self.reference_[col] = 0.0 if self.flag_[col] else med
                rows.append({"name": col, "predictor": col, "level": None, "part": "value"})
                if miss:
                    rows.append({"name": f"{col}={MISSING}", "predictor": col, "level": MISSING,
                                 "part": "missing"})
        self.design_ = pd.DataFrame(rows, columns=["name", "predictor", "level", "part"])
        self.n_features_in_ = len(self.kinds)
        return self

    # ---- helpers used by transform and by the drivers ---------------------------------
    def level_codes(self, X: pd.DataFrame, col: str, *,
                    count_unseen: bool = True) -> tuple[np.ndarray, int]:
        """(index into ``levels_[col]`` of every row, rows whose value was not seen in fitting;
        0 unless ``count_unseen``)."""
        levels = self.levels_[col]
        txt, na = as_text(X[col])
        real = [lv for lv in levels if lv not in (OTHER, MISSING)]
        codes = pd.Index(real, dtype=object).get_indexer(txt).astype(np.int64)
        unknown = (codes < 0) & ~na
        unseen = (int((unknown & ~pd.Series(txt).isin(self.pooled_[col]).to_numpy()).sum())
                  if count_unseen and unknown.any() else 0)
        fallback = levels.index(OTHER) if OTHER in levels else levels.index(self.reference_[col])
        miss_code = levels.index(MISSING) if MISSING in levels else fallback
        codes[unknown] = fallback
        codes[na] = miss_code
        return codes, unseen

    def numbers(self, X: pd.DataFrame, col: str) -> np.ndarray:
        """The numeric predictor ``col`` as floats (missing as NaN)."""
        return as_numbers(X[col], self.kinds[col])

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        if self.output == "codes":
            return np.asarray(list(self.kinds), dtype=object)
        return self.design_["name"].to_numpy(dtype=object)

    def transform(self, X: pd.DataFrame):
        """The design as a DataFrame (``output="dummies"``) or the codes as a float array."""
        n = len(X)
        if self.output == "codes":
            out = np.empty((n, len(self.kinds)))
            for j, (col, kind) in enumerate(self.kinds.items()):
                out[:, j] = (self.level_codes(X, col, count_unseen=False)[0]
                             if kind == "categorical" else self.numbers(X, col))
            return out
        data = np.zeros((n, len(self.design_)))
        at = 0
        for col, kind in self.kinds.items():
            if kind == "categorical":
                levels = self.levels_[col]
                codes, _ = self.level_codes(X, col, count_unseen=False)
                ref = levels.index(self.reference_[col])
                pos = np.full(len(levels), -1)
                keep = [i for i in range(len(levels)) if i != ref]
                pos[keep] = at + np.arange(len(keep))
                p = pos[codes]
                hit = p >= 0
                data[np.flatnonzero(hit), p[hit]] = 1.0
                at += len(keep)
            else:
                x = self.numbers(X, col)
                miss = np.isnan(x)
                data[:, at] = np.where(miss, self.medians_[col], x)
                at += 1
                if self.has_missing_[col]:
                    data[:, at] = miss
                    at += 1
        return pd.DataFrame(data, columns=self.design_["name"].tolist(), index=X.index, copy=False)


# --------------------------------------------------------------------------------------
# collinearity
# --------------------------------------------------------------------------------------
def dependent_columns(X, names=None, *, tol: float = 1e-7) -> pd.DataFrame:
    """Design columns that are constant or linear combinations of the columns before them.

    Columns are centred (the intercept is implied) and scaled to unit length, then taken in
    order by a greedy Cholesky factorisation of their Gram matrix: column ``j`` is kept when
    ``1 - R_j^2 >= tol``, where ``R_j^2`` is the share of its variance explained by the kept
    columns before it (``1 - R_j^2 = g_jj - z'z`` with ``L z = g_{S,j}``, ``L`` the Cholesky
    factor of the kept columns' Gram matrix). A column with zero variance is ``constant``.

    Returns
    -------
    DataFrame
        ``name, reason`` (``"constant"`` or ``"collinear"``), ``r2``, ``related`` (names of the
        kept columns in the combination, comma-separated), one row per dropped column.
    """
    if isinstance(X, pd.DataFrame):
        names = list(X.columns) if names is None else list(names)
        X = X.to_numpy(dtype=float)
    X = np.asarray(X, dtype=float)
    names = [f"x{i}" for i in range(X.shape[1])] if names is None else list(names)
    xc = X - X.mean(axis=0)
    ss = (xc ** 2).sum(axis=0)
    scale = (X ** 2).sum(axis=0)
    const = ss <= 1e-12 * np.maximum(scale, 1e-300)
    z = xc / np.sqrt(np.where(const, 1.0, ss))
    gram = z.T @ z
    kept: list[int] = []
    chol = np.zeros((0, 0))
    rows = []
    for j in range(X.shape[1]):
        if const[j]:
            rows.append({"name": names[j], "reason": "constant", "r2": np.nan, "related": ""})
            continue
        if kept:
            g = gram[kept, j]
            w = linalg.solve_triangular(chol, g, lower=True)
            resid = gram[j, j] - float(w @ w)
        else:
            w = np.zeros(0)
            resid = gram[j, j]
        if resid < tol:
            b = linalg.solve_triangular(chol.T, w, lower=False)
            big = np.abs(b) > 1e-6 * max(np.abs(b).max(), 1e-300)
            rows.append({"name": names[j], "reason": "collinear", "r2": float(1 - resid),
                         "related": ", ".join(names[kept[i]] for i in np.flatnonzero(big))})
            continue
        new = np.zeros((len(kept) + 1, len(kept) + 1))
        new[:-1, :-1] = chol
        new[-1, :-1] = w
        new[-1, -1] = np.sqrt(resid)
        chol = new
        kept.append(j)
    return pd.DataFrame(rows, columns=["name", "reason", "r2", "related"])


# --------------------------------------------------------------------------------------
# screening
# --------------------------------------------------------------------------------------
@dataclass
class Screen:
    """The predictors kept from a table, and the notes on what was left out.

    Attributes
    ----------
    kinds : dict
        kept predictor -> kind (:func:`column_kind`), in the table's order.
    dropped : DataFrame
        :data:`DROP_COLUMNS`: ``column, level`` (empty for a whole column), ``reason``,
        ``statistic`` (see the module notes), ``related``.
    univariate : DataFrame
        Every candidate: ``column, kind, distinct, missing, auc_alone`` (the leakage
        statistic; NaN where not computed) and ``kept``.
    """

    kinds: dict
    dropped: pd.DataFrame
    univariate: pd.DataFrame

    @property
    def categorical(self) -> list[str]:
        return [c for c, k in self.kinds.items() if k == "categorical"]

    @property
    def numeric(self) -> list[str]:
        return [c for c, k in self.kinds.items() if k != "categorical"]


def _alone_auc(codes: np.ndarray, y: np.ndarray) -> float:
    """In-sample AUC of the outcome rate of each code used as a score."""
    _, inv = np.unique(codes, return_inverse=True)
    rate = np.bincount(inv, weights=y) / np.bincount(inv)
    return float(roc_auc_score(y, rate[inv]))


def _bands(x: np.ndarray, k: int = 10) -> np.ndarray:
    """Decile band codes of ``x`` (-1 for missing; its distinct values when there are few)."""
    out = np.full(len(x), -1, dtype=np.int64)
    ok = ~np.isnan(x)
    if not ok.any():
        return out
    vals = x[ok]
    uniq, inv = np.unique(vals, return_inverse=True)
    if len(uniq) <= k:
        out[ok] = inv
    else:
        edges = np.unique(np.quantile(vals, np.linspace(0, 1, k + 1)[1:-1]))
        out[ok] = np.searchsorted(edges, vals, side="right")
    return out


def screen_predictors(frame: pd.DataFrame, y, *, predictors=None, exclude=(), categorical=(),
                      references: dict | None = None, min_level: int | None = None,
                      max_levels: int = 50, leak_auc: float = 0.98, tol: float = 1e-7) -> Screen:
    """Keep the usable predictors of ``frame`` for the 0/1 outcome ``y`` (see the module notes).

    Parameters
    ----------
    frame : DataFrame
        One row per customer (the labelled rows the model will be fitted on).
    y : array-like of 0/1
    predictors : list of str, optional
        Declared predictors (each must be a column); default every column not in ``exclude``.
    exclude : iterable of str
        Columns never used (the target, the id column, anything the analyst names).
    categorical : iterable of str
        Columns to treat as categorical whatever their type (a region code stored as a number).
    references, min_level, max_levels
        As :class:`DesignEncoder`.
    leak_auc : float, default 0.98
    tol : float, default 1e-7
        Collinearity tolerance on ``1 - R^2`` (:func:`dependent_columns`).

    Raises
    ------
    ValueError
        A declared predictor that is not a column of ``frame`` (the message lists the columns).
    """
    y = np.asarray(y, dtype=float)
    n = len(frame)
    exclude = set(exclude)
    if predictors is None:
        cands = [c for c in frame.columns if c not in exclude]
    else:
        cands = list(dict.fromkeys(predictors))
        missing = [c for c in cands if c not in frame.columns]
        if missing:
            raise ValueError(f"churn predictors {missing} are not columns of the customers table; "
                             f"its columns are {list(frame.columns)}. Fix the predictors in params.")
        cands = [c for c in cands if c not in exclude]
    min_level = default_min_level(n) if min_level is None else int(min_level)
    forced = set(categorical)
    dropped, uni = [], []
    kinds: dict[str, str] = {}

    def drop(col, reason, stat=np.nan, related="", level=None):
        dropped.append({"column": col, "level": level, "reason": reason, "statistic": stat,
                        "related": related})

    for col in cands:
        s = frame[col]
        kind = "categorical" if col in forced else column_kind(s)
        n_na = int(s.isna().sum())
        row = {"column": col, "kind": kind, "distinct": int(s.nunique(dropna=True)),
               "missing": n_na, "auc_alone": np.nan, "kept": False}
        uni.append(row)
        if n_na == n:
            drop(col, "empty")
            continue
        if kind == "categorical":
            txt, na = as_text(s)
            counts = pd.Series(txt[~na]).value_counts()
            distinct = len(counts)
            if distinct == 1 and n_na == 0:
                drop(col, "constant")
                continue
            if distinct == n - n_na and n >= 20 and n_na == 0:
                drop(col, "id_like", 1.0)
                continue
            big = counts[counts >= min_level].head(max_levels - 1)
            cover = float((big.sum() + (n_na if n_na >= min_level else 0)) / n)
            if distinct > max_levels and cover < 0.5:
                drop(col, "name_like", cover)
                continue
            if not len(big) and n_na < min_level:
                drop(col, "rare_levels", float(distinct))  # one pooled level: nothing to compare
                continue
            codes = pd.Index(list(big.index), dtype=object).get_indexer(txt).astype(np.int64)
            codes = np.where(na, len(big) + 1, np.where(codes < 0, len(big), codes))
        else:
            x = as_numbers(s, kind)
            ok = ~np.isnan(x)
            uniq = np.unique(x[ok])
            if not ok.any():
                drop(col, "empty")
                continue
            if len(uniq) == 1 and ok.all():
                drop(col, "constant")
                continue
            whole = bool(np.all(uniq == np.round(uniq)))
            if (kind in ("numeric", "text_number") and whole and ok.all() and len(uniq) == n
                    and n >= 20 and not pd.api.types.is_bool_dtype(s.dtype)):
                drop(col, "id_like", 1.0)
                continue
            codes = _bands(x)
        auc = _alone_auc(codes, y) if 0 < y.sum() < len(y) else np.nan
        row["auc_alone"] = auc
        if auc >= leak_auc:
            drop(col, "leakage", auc)
            continue
        kinds[col] = kind

    # whole columns that are constant or collinear in the design
    if kinds:
        enc = DesignEncoder(kinds, references, min_level, max_levels).fit(frame)
        design = enc.transform(frame)
        dep = dependent_columns(design, tol=tol)
        if len(dep):
            info = enc.design_.set_index("name")
            dep = dep.join(info, on="name")
            for col in list(kinds):
                cols = info.index[info["predictor"] == col]
                gone = dep[dep["predictor"] == col]
                if len(gone) == len(cols):
                    rel = sorted({info.loc[r.strip(), "predictor"] for r in
                                  ",".join(gone["related"]).split(",") if r.strip()})
                    reason = "constant" if (gone["reason"] == "constant").all() else "collinear"
                    drop(col, reason, float(gone["r2"].max()) if reason == "collinear" else np.nan,
                         ", ".join(rel))
                    del kinds[col]
    for row in uni:
        row["kept"] = row["column"] in kinds
    return Screen(kinds=kinds, dropped=pd.DataFrame(dropped, columns=DROP_COLUMNS),
                  univariate=pd.DataFrame(uni))


# --------------------------------------------------------------------------------------
# logistic regression (statsmodels), robust to what real columns do
# --------------------------------------------------------------------------------------
class LogitModel(ClassifierMixin, BaseEstimator):
    """Maximum-likelihood logistic regression (statsmodels ``Logit``, Newton) as an sklearn
    classifier, for a :class:`DesignEncoder` output.

    Before fitting it leaves out (and records in ``dropped_``) design columns that are
    constant or collinear in the rows it is given (:func:`dependent_columns`), and 0/1 columns
    whose rows all have the same outcome (``separated``). When the maximum-likelihood fit still
    fails (quasi-separation by a numeric column, a singular Hessian), it falls back to an
    L2-penalised fit (sklearn ``LogisticRegression``, ``C = 1`` on standardised columns) and
    says so in ``method_ = "ridge"``; its odds ratios then have no intervals.

    Parameters
    ----------
    tol : float, default 1e-7
        Collinearity tolerance (:func:`dependent_columns`).
    maxiter : int, default 100
        Newton iterations.
    start : Series, optional
        Starting values by column name (e.g. the fit on all rows, to refit folds in a few
        iterations; the maximum-likelihood estimate does not depend on them).

    Attributes
    ----------
    result_ : statsmodels ``LogitResults`` (None after the fallback)
    params_ : Series
        Coefficients by design column name, ``"Intercept"`` first (kept columns only).
    kept_ : list of str
    dropped_ : DataFrame
        ``name, reason, r2, related`` (``reason``: constant, collinear or separated; ``r2``
        holds the number of rows of a separated column).
    method_ : ``"mle"`` or ``"ridge"``
    """

    def __init__(self, tol: float = 1e-7, maxiter: int = 100, start: pd.Series | None = None):
        self.tol = tol
        self.maxiter = maxiter
        self.start = start

    def fit(self, X, y):
        names = list(X.columns) if isinstance(X, pd.DataFrame) else [f"x{i}" for i in range(X.shape[1])]
        a = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        self.classes_ = np.array([0, 1])
        self.feature_names_ = names
        dep = dependent_columns(a, names, tol=self.tol)
        gone = set(dep["name"])
        sep_rows = []
        for j, name in enumerate(names):
            if name in gone:
                continue
            col = a[:, j]
            if np.isin(col, (0.0, 1.0)).all():
                for v in (1.0, 0.0):
                    hit = col == v
                    if hit.any() and (y[hit].min() == y[hit].max()):
                        sep_rows.append({"name": name, "reason": "separated", "r2": float(hit.sum()),
                                         "related": ""})
                        gone.add(name)
                        break
        self.dropped_ = pd.concat([dep, pd.DataFrame(sep_rows, columns=dep.columns)],
                                  ignore_index=True) if sep_rows else dep
        self.kept_ = [c for c in names if c not in gone]
        self.kept_index_ = [names.index(c) for c in self.kept_]
        exog = pd.DataFrame(a[:, self.kept_index_], columns=self.kept_)
        exog.insert(0, "Intercept", 1.0)
        self.method_ = "mle"
        self.result_ = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", ConvergenceWarning)
                warnings.simplefilter("error", PerfectSeparationWarning)
                warnings.simplefilter("error", HessianInversionWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                start = (None if self.start is None else
                         self.start.reindex(exog.columns).fillna(0.0).to_numpy())
                # full rank is ensured above, so statsmodels' own rank check (a QR of the
                # whole design) is skipped
                res = Logit(y, exog, check_rank=False).fit(disp=0, maxiter=self.maxiter,
                                                              start_params=start)
            if not (res.mle_retvals.get("converged", True) and np.all(np.isfinite(res.bse))):
                raise np.linalg.LinAlgError("not converged")
            self.result_ = res
            self.params_ = res.params.copy()
        except (np.linalg.LinAlgError, ConvergenceWarning, PerfectSeparationWarning,
                HessianInversionWarning, ValueError):
            self.method_ = "ridge"
            xs = exog.drop(columns="Intercept").to_numpy()
            mu, sd = xs.mean(axis=0), xs.std(axis=0)
            sd[sd == 0] = 1.0
            lr = LogisticRegression(C=1.0, max_iter=1000).fit((xs - mu) / sd, y)
            beta = lr.coef_[0] / sd
            self.params_ = pd.Series(np.r_[lr.intercept_[0] - float(beta @ mu), beta],
                                     index=exog.columns)
        return self

    def decision_function(self, X) -> np.ndarray:
        """Log-odds ``b0 + x'b`` of each row."""
        a = np.asarray(X, dtype=float)[:, self.kept_index_]
        return self.params_.iloc[0] + a @ self.params_.iloc[1:].to_numpy()

    def predict_proba(self, X) -> np.ndarray:
        p = 1 / (1 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def odds_ratios(self, confidence: float = 0.95) -> pd.DataFrame:
        """``term, coef, odds_ratio, ci_low, ci_high, p_value``: ``exp(b)`` with the Wald interval
        ``exp(b +- z se)`` (NaN intervals after the ridge fallback); no intercept."""
        b = self.params_.drop("Intercept")
        if self.result_ is not None:
            ci = self.result_.conf_int(alpha=1 - confidence).drop(index="Intercept")
            lo, hi = np.exp(ci[0].to_numpy()), np.exp(ci[1].to_numpy())
            p = self.result_.pvalues.drop("Intercept").to_numpy()
        else:
            lo = hi = p = np.full(len(b), np.nan)
        return pd.DataFrame({"term": b.index, "coef": b.to_numpy(), "odds_ratio": np.exp(b.to_numpy()),
                             "ci_low": lo, "ci_high": hi, "p_value": p})

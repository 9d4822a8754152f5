"""Reliability of qualitative coding: coder vs coder, and machine vs human.

An analyst trusts a code only when independent people apply it consistently, and trusts the
auto-coder only when it agrees with them. This module measures both, per code::

    rep = reliability_report(manual_codes, auto_code(verbatims, book), truth, codebook=book)
    rep.per_code          # code, kappa, alpha, flag, precision/recall/F1 of the auto-coder ...
    rep.overall           # pooled binary Krippendorff's alpha over every (unit, code) decision

Input convention ("codings")
----------------------------
A long frame with one row per (unit, coder, code): ``verbatim_id`` (or ``unit_id``),
``coder``, ``code``, as in ``manual_codes.csv`` (:class:`cxlib.data.schemas.ManualCodes`). A
(unit, coder) pair that appears means *that coder coded that unit*; a row with an empty code
means "coded, no code applies". A code absent for a (unit, coder) pair that appears is a
0 (absent), a (unit, coder) pair that does not appear is *missing* (not coded). Each code is
a binary present/absent variable on the units, so multi-label coding is measured code by
code (and pooled over codes in :func:`alpha_overall`).

Statistics
----------
* Cohen's kappa (Cohen 1960), two coders, per code: ``kappa = (p_o - p_e) / (1 - p_e)``.
* Krippendorff's alpha (Krippendorff 2011), any number of coders, missing data allowed:
  ``alpha = 1 - D_o / D_e`` from the coincidence matrix (:func:`krippendorff_alpha`).
* Precision, recall and F1 of the auto-coder against a human reference (a coder, the
  coders' consensus, or the demo's true codes).
* Flags after Krippendorff (2004) and Hayes & Krippendorff (2007): alpha >= 0.800
  *reliable*, 0.667 <= alpha < 0.800 *tentative* (draw only tentative conclusions),
  alpha < 0.667 *unreliable*; NaN alpha (no variation to measure) *undefined*.

References
----------
Cohen, J. (1960). A coefficient of agreement for nominal scales. *Educational and
Psychological Measurement* 20(1), 37-46.
Krippendorff, K. (2004). *Content Analysis: An Introduction to Its Methodology* (2nd ed.),
ch. 11. Sage.
Hayes, A. F. & Krippendorff, K. (2007). Answering the call for a standard reliability measure
for coding data. *Communication Methods and Measures* 1(1), 77-89.
Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School for
Communication, University of Pennsylvania. https://repository.upenn.edu/asc_papers/43
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from cxlib.exceptions import DataValidationError

__all__ = [
    "RELIABLE",
    "TENTATIVE",
    "AlphaResult",
    "ReliabilityReport",
    "alpha_by_code",
    "alpha_overall",
    "auto_vs_human",
    "cohen_kappa_by_code",
    "krippendorff_alpha",
    "reliability_flag",
    "reliability_report",
    "to_matrix",
]

#: default thresholds (Krippendorff 2004, p. 241; Hayes & Krippendorff 2007)
RELIABLE: float = 0.800
TENTATIVE: float = 0.667

LEVELS = ("nominal", "ordinal", "interval", "ratio")


# --- input handling ----------------------------------------------------------------------


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype("str").str.strip() == "")


def _prepare(codings: pd.DataFrame, name: str = "codings", default_coder: str | None = None) -> pd.DataFrame:
    """Validate a codings frame; return columns unit, coder, code (code NA = no code), str."""
    if not isinstance(codings, pd.DataFrame):
        raise TypeError(f"{name} must be a DataFrame with columns verbatim_id, coder, code.")
    unit_col = "verbatim_id" if "verbatim_id" in codings.columns else "unit_id"
    missing = [c for c in (unit_col, "code") if c not in codings.columns]
    if "coder" not in codings.columns and default_coder is None:
        missing.append("coder")
    if missing:
        raise DataValidationError(
            f"{name}: column(s) {missing} are missing; codings need verbatim_id (or unit_id), "
            "coder and code (one row per verbatim, coder and code; an empty code = no code applies)."
        )
    coder = codings["coder"] if "coder" in codings.columns else pd.Series(default_coder, index=codings.index)
    for col, s in ((unit_col, codings[unit_col]), ("coder", coder)):
        bad = np.flatnonzero(_blank(s).to_numpy())
        if len(bad):
            rows = ", ".join(str(r + 2) for r in bad[:10]) + (" ..." if len(bad) > 10 else "")
            raise DataValidationError(
                f"{name}: column {col!r} is empty on {len(bad)} row(s) (file rows {rows}); "
                f"every row needs a {col}: fill it in or delete the row."
            )
    code = codings["code"].astype("str").str.strip()
    code = code.where(~_blank(codings["code"]))
    return pd.DataFrame(
        {
            "unit": codings[unit_col].astype("str").str.strip().to_numpy(),
            "coder": coder.astype("str").str.strip().to_numpy(),
            "code": code.to_numpy(),
        }
    ).astype({"unit": "str", "coder": "str", "code": "str"})


def _code_list(prepared: Sequence[pd.DataFrame], codes: Sequence[str] | None, name: str) -> list[str]:
    """The codes to measure: ``codes`` as given (checked), else the sorted codes used."""
    used: set[str] = set()
    for p in prepared:
        used |= set(p["code"].dropna())
    if codes is None:
        return sorted(used)
    codes = [str(c).strip() for c in codes]
    unknown = sorted(used - set(codes))
    if unknown:
        raise DataValidationError(
            f"{name}: code(s) {unknown} are not in the code list; valid codes: {codes}. "
            "Fix the codings (or the codebook), or pass codes=None to measure every code used."
        )
    return codes


def _indicator(p: pd.DataFrame, units: pd.Index, codes: list[str]) -> pd.DataFrame:
    """Binary units x codes matrix of one coder's (or one source's) codes on ``units``."""
    pos = p.dropna(subset=["code"])
    pos = pos[pos["unit"].isin(units)]
    m = pd.crosstab(pos["unit"], pos["code"]).clip(upper=1) if len(pos) else pd.DataFrame()
    m = m.reindex(index=units, columns=codes, fill_value=0).astype("int64")
    m.index.name, m.columns.name = "verbatim_id", "code"
    return m


def _units_by_coder(p: pd.DataFrame) -> dict[str, pd.Index]:
    return {c: pd.Index(sorted(g["unit"].unique()), dtype="str") for c, g in p.groupby("coder", sort=True)}


def to_matrix(
    codings: pd.DataFrame,
    codes: Sequence[str] | None = None,
    *,
    coders: Sequence[str] | None = None,
    common: bool = True,
) -> dict[str, pd.DataFrame]:
    """Binary units x codes matrix per coder.

    Parameters
    ----------
    codings : DataFrame
        Long codings (verbatim_id or unit_id, coder, code); see the module docstring.
    codes : sequence of str, optional
        Columns, in this order (e.g. ``codebook.codes``); codes never used get a column of
        zeros. A code in ``codings`` outside this list raises DataValidationError.
        Default: the sorted codes used.
    coders : sequence of str, optional
        Coders to include (default: all, sorted).
    common : bool
        True (default): rows are the units coded by *every* included coder, identical across
        the matrices (units coded by only some are left out and counted). False: each
        coder's own units.

    Returns
    -------
    dict[str, DataFrame]
        coder -> 0/1 int frame, index ``verbatim_id`` (sorted), columns ``codes``. Each
        frame's ``attrs``: n_units (rows), n_units_any (units coded by any included coder),
        n_units_left_out (coded by some but not all; 0 when ``common=False``).
    """
    p = _prepare(codings)
    codes = _code_list([p], codes, "codings")
    by = _units_by_coder(p)
    if coders is not None:
        absent = [c for c in coders if c not in by]
        if absent:
            raise DataValidationError(f"codings: coder(s) {absent} not found; coders present: {sorted(by)}.")
        by = {c: by[c] for c in coders}
    any_units = set().union(*by.values()) if by else set()
    if common and by:
        shared = set.intersection(*(set(u) for u in by.values()))
        idx = pd.Index(sorted(shared), dtype="str")
        by = dict.fromkeys(by, idx)
    out = {}
    for c, units in by.items():
        m = _indicator(p[p["coder"] == c], units, codes)
        m.attrs.update(n_units=len(units), n_units_any=len(any_units),
                       n_units_left_out=len(any_units) - len(units) if common else 0)
        out[c] = m
    return out


# --- Cohen's kappa -----------------------------------------------------------------------


def cohen_kappa_by_code(
    codings: pd.DataFrame, coder_a: str, coder_b: str, codes: Sequence[str] | None = None
) -> pd.DataFrame:
    """Cohen's kappa per code between two coders, on the units both coded.

    For one code, with ``a_i, b_i`` in {0, 1} the two coders' decisions on unit i of n:

    * ``p_o = mean(a_i == b_i)`` (observed agreement),
    * ``p_e = p_a p_b + (1 - p_a)(1 - p_b)`` with ``p_a = mean(a)``, ``p_b = mean(b)``
      (chance agreement from each coder's own marginals),
    * ``kappa = (p_o - p_e) / (1 - p_e)`` (Cohen 1960).

    Identical to ``sklearn.metrics.cohen_kappa_score(a, b)``. When ``p_e = 1`` (both
    coders gave every unit the same value: the code never, or always, applies) kappa is
    0/0: it is NaN and ``note`` says why.

    Parameters
    ----------
    codings : DataFrame
        Long codings (verbatim_id, coder, code).
    coder_a, coder_b : str
        The two coders to compare.
    codes : sequence of str, optional
        Codes (rows) in order; default the sorted codes used.

    Returns
    -------
    DataFrame
        code, n_units, n_a (units coder_a gave the code), n_b, n_both (both gave it),
        agreement (p_o), expected (p_e), kappa, prevalence (``(n_a + n_b) / (2 n)``), note.
        ``attrs``: coder_a, coder_b, n_units (coded by both), n_only_a, n_only_b (coded by
        one of them only: left out).
    """
    p = _prepare(codings)
    codes = _code_list([p], codes, "codings")
    by = _units_by_coder(p)
    for c in (coder_a, coder_b):
        if c not in by:
            raise DataValidationError(f"codings: coder {c!r} not found; coders present: {sorted(by)}.")
    if coder_a == coder_b:
        raise ValueError("coder_a and coder_b are the same coder; pass two different coders.")
    mats = to_matrix(codings, codes, coders=[coder_a, coder_b])
    a, b = mats[coder_a].to_numpy(float), mats[coder_b].to_numpy(float)
    n = a.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        p_o = (a == b).mean(axis=0) if n else np.full(len(codes), np.nan)
        pa, pb = (a.mean(axis=0), b.mean(axis=0)) if n else (np.full(len(codes), np.nan),) * 2
        p_e = pa * pb + (1 - pa) * (1 - pb)
        undefined = np.isclose(p_e, 1.0) | (n == 0)
        kappa = np.where(undefined, np.nan, (p_o - p_e) / np.where(undefined, 1.0, 1 - p_e))
    note = np.where(
        n == 0, "no unit coded by both coders",
        np.where(undefined, "kappa undefined: both coders gave every unit the same value (p_e = 1)", ""),
    )
    out = pd.DataFrame(
        {
            "code": pd.Series(codes, dtype="str"),
            "n_units": n,
            "n_a": a.sum(axis=0).astype(int),
            "n_b": b.sum(axis=0).astype(int),
            "n_both": (a * b).sum(axis=0).astype(int),
            "agreement": p_o,
            "expected": p_e,
            "kappa": kappa,
            "prevalence": (a.sum(axis=0) + b.sum(axis=0)) / (2 * n) if n else np.nan,
            "note": pd.Series(note, dtype="str"),
        }
    )
    ua, ub = set(by[coder_a]), set(by[coder_b])
    out.attrs.update(coder_a=coder_a, coder_b=coder_b, n_units=n,
                     n_only_a=len(ua - ub), n_only_b=len(ub - ua))
    return out


# --- Krippendorff's alpha ----------------------------------------------------------------


def _delta2(values: np.ndarray, n_c: np.ndarray, level: str) -> np.ndarray:
    """Squared difference function delta^2(c, k) of Krippendorff (2011), per level."""
    c, k = values[:, None], values[None, :]
    if level == "nominal":
        return (c != k).astype(float)
    if level == "interval":
        return (c - k) ** 2
    if level == "ratio":
        with np.errstate(invalid="ignore", divide="ignore"):
            d = ((c - k) / (c + k)) ** 2
        return np.nan_to_num(d, nan=0.0)  # c = k = 0
    # ordinal: (sum_{g=c}^{k} n_g - (n_c + n_k) / 2)^2, values sorted ascending
    cum = np.concatenate([[0.0], np.cumsum(n_c)])
    i, j = np.meshgrid(np.arange(len(values)), np.arange(len(values)), indexing="ij")
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    return (cum[hi + 1] - cum[lo] - (n_c[i] + n_c[j]) / 2) ** 2


def _coincidences(data) -> tuple[np.ndarray, np.ndarray, int]:
    """Values, coincidence matrix o_ck and the number of pairable units of a coders x units matrix."""
    df = pd.DataFrame(data)
    long = df.stack(future_stack=True).dropna()  # (coder, unit) -> value; NaN = missing
    long = long[long.astype("str").str.strip() != ""] if long.dtype == object or long.dtype == "str" else long
    if long.empty:
        return np.array([]), np.zeros((0, 0)), 0
    units = long.index.get_level_values(1)
    counts = pd.crosstab(units, long.to_numpy())  # units x values: n_uc
    m_u = counts.sum(axis=1).to_numpy(float)
    keep = m_u >= 2  # a unit with one value has no pair: it drops out
    n_uc = counts.to_numpy(float)[keep]
    m_u = m_u[keep]
    # o_ck = sum_u (n_uc n_uk - [c = k] n_uc) / (m_u - 1)
    w = n_uc / (m_u - 1)[:, None]
    o = w.T @ n_uc - np.diag(w.sum(axis=0))
    return counts.columns.to_numpy(), o, int(keep.sum())


def krippendorff_alpha(data, level: str = "nominal") -> float:
    """Krippendorff's alpha of a reliability data matrix (coders x units; NaN = missing).

    Computed through the coincidence matrix (Krippendorff 2011):

    1. Units with fewer than two values are not pairable and drop out; ``m_u`` is the
       number of values in unit u.
    2. Coincidences: ``o_ck = sum_u (number of ordered c-k pairs in u from different
       coders) / (m_u - 1)``; ``n_c = sum_k o_ck``, ``n = sum_c n_c`` (pairable values).
    3. ``alpha = 1 - D_o / D_e = 1 - (n - 1) * sum_ck o_ck delta2_ck /
       sum_ck n_c n_k delta2_ck``, with ``delta2`` the level's difference function:
       nominal ``[c != k]``; ordinal ``(sum_{g=c..k} n_g - (n_c + n_k)/2)^2``;
       interval ``(c - k)^2``; ratio ``((c - k)/(c + k))^2``.

    Parameters
    ----------
    data : array-like or DataFrame
        Rows are coders (observers), columns are units; NaN/None marks a missing value.
        Nominal values may be any hashable labels; other levels need numbers.
    level : {"nominal", "ordinal", "interval", "ratio"}
        Metric of the values.

    Returns
    -------
    float
        Alpha (1 = perfect agreement, 0 = chance, < 0 = systematic disagreement). NaN when
        fewer than two pairable values exist or when all pairable values are equal
        (``D_e = 0``: no variation, reliability cannot be assessed).

    Examples
    --------
    Krippendorff (2011), section C (4 observers x 12 units, nominal, missing values):

    >>> nan = float("nan")
    >>> data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    ...         [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    ...         [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    ...         [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
    >>> round(krippendorff_alpha(data), 3)
    0.743
    """
    if level not in LEVELS:
        raise ValueError(f"level {level!r} is not supported; use one of {LEVELS}.")
    values, o, _ = _coincidences(data)
    if len(values) and level != "nominal":
        try:
            values = values.astype(float)
        except (TypeError, ValueError) as e:
            raise ValueError(f"level {level!r} needs numeric values; got {values[:5].tolist()}") from e
        order = np.argsort(values)
        values, o = values[order], o[np.ix_(order, order)]
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if n < 2:
        return float("nan")
    d2 = _delta2(values, n_c, level)
    d_o = (o * d2).sum()
    d_e = (np.outer(n_c, n_c) * d2).sum() / (n - 1)
    if d_e <= 0:
        return float("nan")
    return float(1 - d_o / d_e)


def reliability_flag(alpha, reliable: float = RELIABLE, tentative: float = TENTATIVE):
    """Flag an alpha (a number or an array/Series) after Krippendorff (2004).

    ``alpha >= reliable`` -> "reliable"; ``tentative <= alpha < reliable`` -> "tentative";
    ``alpha < tentative`` -> "unreliable"; NaN -> "undefined". Defaults 0.800 / 0.667
    (Hayes & Krippendorff 2007); pass the client's params to change them.
    """
    if not tentative <= reliable:
        raise ValueError(f"tentative ({tentative}) must not exceed reliable ({reliable}).")
    a = np.asarray(alpha, dtype=float)
    flag = np.select([np.isnan(a), a >= reliable, a >= tentative],
                     ["undefined", "reliable", "tentative"], "unreliable")
    if np.ndim(alpha) == 0:
        return str(flag)
    if isinstance(alpha, pd.Series):
        return pd.Series(flag, index=alpha.index, dtype="str", name="flag")
    return flag


def _reliability_data(p: pd.DataFrame, codes: list[str]) -> tuple[list[str], pd.Index, np.ndarray]:
    """coders x units x codes array: 1/0 where the coder coded the unit, NaN where not."""
    by = _units_by_coder(p)
    coders = sorted(by)
    units = pd.Index(sorted(set().union(*by.values())), dtype="str") if by else pd.Index([], dtype="str")
    arr = np.full((len(coders), len(units), len(codes)), np.nan)
    for i, c in enumerate(coders):
        m = _indicator(p[p["coder"] == c], by[c], codes)
        arr[i, units.get_indexer(m.index), :] = m.to_numpy(float)
    return coders, units, arr


def alpha_by_code(
    codings: pd.DataFrame,
    codes: Sequence[str] | None = None,
    *,
    reliable: float = RELIABLE,
    tentative: float = TENTATIVE,
) -> pd.DataFrame:
    """Krippendorff's alpha (nominal) per code on present/absent data across all coders.

    For each code the reliability data are coders x units with 1 (coder gave the code),
    0 (coded the unit, not this code) or missing (did not code the unit); units coded by a
    single coder are not pairable and drop out (:func:`krippendorff_alpha`).

    Returns
    -------
    DataFrame
        code, alpha, flag (:func:`reliability_flag`), n_units (pairable: coded by >= 2
        coders), n_values (pairable values = sum of m_u), n_present (values that are 1),
        note. ``attrs``: coders, n_units_any, n_units_single (coded by one coder: left out),
        reliable, tentative.
    """
    p = _prepare(codings)
    codes = _code_list([p], codes, "codings")
    coders, units, arr = _reliability_data(p, codes)
    m_u = (~np.isnan(arr[:, :, 0])).sum(axis=0) if len(codes) else np.zeros(len(units), int)
    pair = m_u >= 2
    rows = []
    for j, code in enumerate(codes):
        x = arr[:, :, j]
        a = krippendorff_alpha(x)
        n_present = int(np.nansum(x[:, pair]))
        note = ""
        if np.isnan(a):
            note = ("no unit coded by two coders" if not pair.any() else
                    "alpha undefined: every pairable value is the same (the code is never, or always, used)")
        rows.append((code, a, int(pair.sum()), int(m_u[pair].sum()), n_present, note))
    out = pd.DataFrame(rows, columns=["code", "alpha", "n_units", "n_values", "n_present", "note"])
    out = out.astype({"code": "str", "alpha": float, "note": "str"})
    out.insert(2, "flag", reliability_flag(out["alpha"], reliable, tentative))
    out.attrs.update(coders=coders, n_units_any=len(units), n_units_single=int((~pair).sum()),
                     reliable=reliable, tentative=tentative)
    return out


class AlphaResult(NamedTuple):
    """Pooled binary Krippendorff's alpha over every (unit, code) decision.

    Attributes
    ----------
    alpha : float
        Nominal alpha where each (unit, code) pair is one recording unit with the value
        present/absent. Dominated by the frequent "absent" decisions on rare codes less than
        percent agreement would be, but still a summary: read per-code alpha for decisions.
    flag : str
        "reliable", "tentative", "unreliable" or "undefined" (:func:`reliability_flag`).
    n_units : int
        Verbatims coded by at least two coders (pairable).
    n_decisions : int
        Pairable (unit, code) recording units = n_units x number of codes.
    n_codes : int
    coders : list[str]
    n_units_single : int
        Verbatims coded by one coder only: left out.
    method : str
        Plain-language statement of what was pooled.
    """

    alpha: float
    flag: str
    n_units: int
    n_decisions: int
    n_codes: int
    coders: list
    n_units_single: int
    method: str


def alpha_overall(
    codings: pd.DataFrame,
    codes: Sequence[str] | None = None,
    *,
    reliable: float = RELIABLE,
    tentative: float = TENTATIVE,
) -> AlphaResult:
    """Pooled binary Krippendorff's alpha: all (verbatim, code) decisions as one variable.

    Each (verbatim, code) pair is a recording unit with a nominal value present (1) or
    absent (0) per coder; :func:`krippendorff_alpha` is applied to the coders x (verbatims
    x codes) matrix. This is the *pooled binary alpha* over codes (not a multi-valued
    alpha on code sets), the usual single number for multi-label coding; its flag uses the
    same thresholds as per code.
    """
    p = _prepare(codings)
    codes = _code_list([p], codes, "codings")
    coders, units, arr = _reliability_data(p, codes)
    flat = arr.reshape(len(coders), -1)
    a = krippendorff_alpha(flat)
    m_u = (~np.isnan(arr[:, :, 0])).sum(axis=0) if len(codes) else np.zeros(len(units), int)
    pair = int((m_u >= 2).sum())
    method = (f"Krippendorff's alpha (nominal), pooled binary: each of {pair} verbatim(s) coded by "
              f"two or more of {len(coders)} coder(s) x {len(codes)} code(s) is one present/absent "
              "decision; units coded by one coder only are left out.")
    return AlphaResult(a, reliability_flag(a, reliable, tentative), pair, pair * len(codes),
                       len(codes), coders, len(units) - pair, method)


# --- auto-coding vs human ----------------------------------------------------------------


def _consensus(p: pd.DataFrame, codes: list[str], coder: str | None) -> tuple[pd.DataFrame, dict]:
    """Reference matrix (units x codes; 1/0, NaN = excluded decision) and counts."""
    coders, units, arr = _reliability_data(p, codes)
    if coder is not None:
        if coder not in coders:
            raise DataValidationError(f"human codings: coder {coder!r} not found; coders present: {coders}.")
        i = coders.index(coder)
        keep = ~np.isnan(arr[i, :, 0]) if len(codes) else np.zeros(len(units), bool)
        ref = arr[i][keep]
        info = {"reference": f"coder {coder}", "n_units_single": 0, "n_excluded": 0}
        return pd.DataFrame(ref, index=units[keep], columns=codes), info
    if len(coders) == 1:
        info = {"reference": f"coder {coders[0]}", "n_units_single": 0, "n_excluded": 0}
        return pd.DataFrame(arr[0], index=units, columns=codes), info
    n_coded = (~np.isnan(arr)).sum(axis=0)  # units x codes
    n_yes = np.nansum(arr, axis=0)
    multi = n_coded[:, 0] >= 2 if len(codes) else np.zeros(len(units), bool)
    ref = np.where(2 * n_yes > n_coded, 1.0, np.where(2 * n_yes < n_coded, 0.0, np.nan))
    ref = ref[multi]
    info = {
        "reference": f"consensus of {', '.join(coders)} (strict majority per verbatim and code; ties excluded)",
        "n_units_single": int((~multi).sum()),
        "n_excluded": int(np.isnan(ref).sum()),
    }
    return pd.DataFrame(ref, index=units[multi], columns=codes), info


def auto_vs_human(
    auto_coded: pd.DataFrame,
    human_codings: pd.DataFrame,
    coder: str | None = None,
    codes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Precision, recall and F1 of the auto-coder per code against human coding.

    Evaluated on the verbatims the human reference coded (auto-coded verbatims outside
    them are not judged). The reference is:

    * ``coder`` given: that coder's codes on the verbatims they coded;
    * one coder (or a truth table without a ``coder`` column, e.g. ``verbatim_truth.csv``):
      that coder;
    * several coders and no ``coder``: the consensus, per (verbatim, code) decision, on
      verbatims coded by two or more coders: present when a strict majority gave the code,
      absent when a strict majority did not; ties (with two coders: any disagreement) are
      excluded from that code's evaluation and counted in ``n_excluded``.

    Per code, with tp = reference 1 and auto 1, fp = reference 0 and auto 1, fn = reference
    1 and auto 0: ``precision = tp / (tp + fp)``, ``recall = tp / (tp + fn)``,
    ``F1 = 2 tp / (2 tp + fp + fn)``; a 0/0 is NaN (sklearn ``zero_division=np.nan``).
    The ``micro`` row pools tp, fp, fn over codes. Identical to
    ``sklearn.metrics.precision_recall_fscore_support`` (binary per code; ``average="micro"``
    on the indicator matrices).

    Parameters
    ----------
    auto_coded : DataFrame
        Output of :func:`cxlib.voice.coding.auto_code` (verbatim_id, code, ...): a row per code
        found; a verbatim without rows got no code.
    human_codings : DataFrame
        Long codings (verbatim_id, coder, code; empty code = no code). A frame without a
        ``coder`` column is one reference coder named "truth".
    coder : str, optional
        Use this coder as the reference instead of the consensus.
    codes : sequence of str, optional
        Codes in order (e.g. ``codebook.codes``); default the sorted codes used by either.

    Returns
    -------
    DataFrame
        code, n_units (decisions evaluated), support (reference positives), predicted (auto
        positives), tp, fp, fn, precision, recall, f1, n_excluded (tied decisions left out),
        note; then a row with code "micro". ``attrs``: reference, n_units_reference,
        n_units_single (coded by one of several coders: left out), n_excluded,
        n_auto_outside (auto-coded verbatims the reference did not code).
    """
    h = _prepare(human_codings, "human codings", default_coder="truth")
    if not isinstance(auto_coded, pd.DataFrame) or not {"verbatim_id", "code"} <= set(auto_coded.columns):
        raise DataValidationError("auto-coded: needs columns verbatim_id and code (the output of coding.auto_code).")
    a = _prepare(pd.DataFrame({"verbatim_id": auto_coded["verbatim_id"], "coder": "auto",
                               "code": auto_coded["code"]}), "auto-coded")
    codes = _code_list([h, a], codes, "codings")
    ref, info = _consensus(h, codes, coder)
    pred = _indicator(a, ref.index, codes).to_numpy(float)
    r = ref.to_numpy(float)
    ok = ~np.isnan(r)
    tp = ((r == 1) & (pred == 1)).sum(axis=0)
    fp = ((r == 0) & (pred == 1)).sum(axis=0)
    fn = ((r == 1) & (pred == 0)).sum(axis=0)
    rows = pd.DataFrame(
        {
            "code": pd.Series(codes, dtype="str"),
            "n_units": ok.sum(axis=0),
            "support": tp + fn,
            "predicted": tp + fp,
            "tp": tp, "fp": fp, "fn": fn,
            "n_excluded": (~ok).sum(axis=0),
        }
    )
    micro = rows[["n_units", "support", "predicted", "tp", "fp", "fn", "n_excluded"]].sum()
    rows = pd.concat([rows, pd.DataFrame([{"code": "micro", **micro.to_dict()}])], ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        t, f_p, f_n = (rows[c].to_numpy(float) for c in ("tp", "fp", "fn"))
        rows["precision"] = np.where(t + f_p > 0, t / np.where(t + f_p > 0, t + f_p, 1), np.nan)
        rows["recall"] = np.where(t + f_n > 0, t / np.where(t + f_n > 0, t + f_n, 1), np.nan)
        den = 2 * t + f_p + f_n
        rows["f1"] = np.where(den > 0, 2 * t / np.where(den > 0, den, 1), np.nan)
    rows["note"] = np.select(
        [rows["n_units"] == 0, (rows["support"] == 0) & (rows["predicted"] == 0),
         rows["support"] == 0, rows["predicted"] == 0],
        ["no decision to evaluate", "code absent in both reference and auto-coding",
         "the reference never gives this code (recall undefined)",
         "the auto-coder never gives this code (precision undefined)"], "")
    rows["note"] = rows["note"].astype("str")
    cols = ["code", "n_units", "support", "predicted", "tp", "fp", "fn", "precision", "recall",
            "f1", "n_excluded", "note"]
    out = rows[cols].astype({c: "int64" for c in ("n_units", "support", "predicted", "tp", "fp", "fn", "n_excluded")})
    out.attrs.update(
        reference=info["reference"], n_units_reference=len(ref),
        n_units_single=info["n_units_single"], n_excluded=info["n_excluded"],
        n_auto_outside=int((~a["unit"].drop_duplicates().isin(ref.index)).sum()),
    )
    return out


# --- the report --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReliabilityReport:
    """Everything the method appendix says about coding reliability.

    Attributes
    ----------
    per_code : DataFrame
        code, theme, n_units (verbatims both kappa coders coded), prevalence, kappa,
        agreement, alpha, flag, small_base, n_present (present values among the pairable
        human decisions), precision, recall, f1, support (auto vs human consensus),
        and, with a truth table, precision_truth, recall_truth, f1_truth, support_truth;
        note (why a statistic is missing). One row per code in codebook order.
    overall : AlphaResult
        Pooled binary alpha over every (verbatim, code) decision.
    auto_micro : dict
        Micro-averaged precision, recall, f1 (and tp, fp, fn) of the auto-coder vs the
        human consensus; ``auto_micro_truth`` the same vs truth (empty without truth).
    counts : dict
        n_units_manual, coders, coder_a, coder_b, n_units_both (kappa), n_units_one_coder,
        n_excluded_decisions (ties left out of the consensus), n_units_truth, reliable,
        tentative, min_present.
    """

    per_code: pd.DataFrame
    overall: AlphaResult
    auto_micro: dict
    auto_micro_truth: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)

    @property
    def unreliable_codes(self) -> list[str]:
        """Codes whose alpha is below the tentative threshold (or undefined)."""
        return self.per_code.loc[self.per_code["flag"].isin(["unreliable", "undefined"]), "code"].tolist()

    def flags(self) -> dict[str, str]:
        """code -> flag, to carry each code's reliability wherever its results are used."""
        return dict(zip(self.per_code["code"], self.per_code["flag"], strict=True))

    def method_text(self) -> str:
        """One plain-language paragraph for the report's method appendix."""
        c, o = self.counts, self.overall
        txt = (
            f"{c['n_units_manual']} verbatims were coded by hand by {len(c['coders'])} coder(s) "
            f"({', '.join(c['coders'])}). Agreement between {c['coder_a']} and {c['coder_b']} "
            f"is measured per code with Cohen's kappa on the {c['n_units_both']} verbatims both "
            f"coded, and across coders with Krippendorff's alpha (nominal, present/absent per code). "
            f"Pooled over all verbatim-code decisions, alpha = {o.alpha:.3f} ({o.flag}). "
            f"Codes with alpha of {c['reliable']:.3f} or more are reliable, from {c['tentative']:.3f} "
            f"tentative, below it unreliable (Krippendorff 2004; Hayes and Krippendorff 2007). "
            f"The automatic codes are compared with the coders' consensus (decisions where they "
            f"disagree, {c['n_excluded_decisions']}, are left out): micro-averaged precision "
            f"{self.auto_micro['precision']:.2f}, recall {self.auto_micro['recall']:.2f}, "
            f"F1 {self.auto_micro['f1']:.2f}."
        )
        if self.auto_micro_truth:
            t = self.auto_micro_truth
            txt += (f" Against the known true codes of {c['n_units_truth']} verbatims: precision "
                    f"{t['precision']:.2f}, recall {t['recall']:.2f}, F1 {t['f1']:.2f}.")
        return txt


def _micro(table: pd.DataFrame) -> dict:
    r = table.loc[table["code"] == "micro"].iloc[0]
    return {k: (int(r[k]) if k in ("tp", "fp", "fn", "support") else float(r[k]))
            for k in ("precision", "recall", "f1", "tp", "fp", "fn", "support")}


def reliability_report(
    manual_codes: pd.DataFrame,
    auto_coded: pd.DataFrame,
    truth: pd.DataFrame | None = None,
    *,
    codebook=None,
    coder_a: str | None = None,
    coder_b: str | None = None,
    reliable: float = RELIABLE,
    tentative: float = TENTATIVE,
    min_present: int = 10,
) -> ReliabilityReport:
    """Kappa, alpha and auto-coding accuracy per code, with reliability flags.

    Parameters
    ----------
    manual_codes : DataFrame
        Long human codings (verbatim_id, coder, code), e.g. ``manual_codes.csv``.
    auto_coded : DataFrame
        Output of :func:`cxlib.voice.coding.auto_code` on (at least) the manually coded verbatims.
    truth : DataFrame, optional
        True codes (verbatim_id, code; empty = none), e.g. the demo's ``verbatim_truth.csv``.
    codebook : CompiledCodebook or DataFrame, optional
        Gives the code list (codes never used still get a row) and themes. Default: the
        codes used, themes from ``auto_coded``.
    coder_a, coder_b : str, optional
        The pair for Cohen's kappa; default the two coders present (required when there
        are more than two).
    reliable, tentative : float
        Flag thresholds for alpha (params ``reliable``/``tentative``).
    min_present : int
        A code whose pairable human decisions contain fewer than this many "present" values
        is marked ``small_base``: its kappa and alpha rest on a handful of uses and move a
        lot with one decision (the flag is still reported, but should not be over-read).

    Returns
    -------
    ReliabilityReport
        See :class:`ReliabilityReport`.
    """
    m = _prepare(manual_codes, "manual_codes")
    coders = sorted(m["coder"].unique())
    if coder_a is None or coder_b is None:
        if len(coders) != 2:
            raise DataValidationError(
                f"manual_codes: {len(coders)} coder(s) found ({coders}); kappa compares two. "
                "Pass coder_a= and coder_b= to choose the pair (alpha still uses every coder)."
            )
        coder_a, coder_b = coder_a or coders[0], coder_b or coders[1]
    if codebook is not None:
        tab = codebook.table if hasattr(codebook, "table") else pd.DataFrame(codebook)
        codes = [str(c).strip() for c in tab["code"]]
        themes = dict(zip(codes, tab["theme"].astype("str"), strict=True)) if "theme" in tab else {}
    else:
        a = _prepare(auto_coded.assign(coder="auto"), "auto-coded") if len(auto_coded) else m.iloc[:0]
        extra = [_prepare(truth, "truth", default_coder="truth")] if truth is not None else []
        codes = _code_list([m, a, *extra], None, "codings")
        themes = (dict(zip(auto_coded["code"].astype("str"), auto_coded["theme"].astype("str"), strict=True))
                  if "theme" in auto_coded.columns else {})
    kap = cohen_kappa_by_code(manual_codes, coder_a, coder_b, codes)
    alp = alpha_by_code(manual_codes, codes, reliable=reliable, tentative=tentative)
    avh = auto_vs_human(auto_coded, manual_codes, codes=codes)
    per = pd.DataFrame({"code": pd.Series(codes, dtype="str")})
    per["theme"] = per["code"].map(themes).astype("str") if themes else pd.Series(pd.NA, dtype="str")
    per = per.merge(kap[["code", "n_units", "prevalence", "kappa", "agreement", "note"]].rename(
        columns={"note": "note_kappa"}), on="code", how="left")
    per = per.merge(alp[["code", "alpha", "flag", "n_present", "note"]].rename(
        columns={"note": "note_alpha"}), on="code", how="left")
    per.insert(per.columns.get_loc("flag") + 1, "small_base", per["n_present"] < min_present)
    per = per.merge(avh[["code", "precision", "recall", "f1", "support"]], on="code", how="left")
    micro_truth: dict = {}
    n_truth = 0
    if truth is not None:
        avt = auto_vs_human(auto_coded, truth, codes=codes)
        per = per.merge(avt[["code", "precision", "recall", "f1", "support"]].add_suffix("_truth")
                        .rename(columns={"code_truth": "code"}), on="code", how="left")
        micro_truth = _micro(avt)
        n_truth = avt.attrs["n_units_reference"]
    per["note_small"] = np.where(
        per["small_base"], "small base: " + per["n_present"].astype("str")
        + f" present value(s) among the human decisions (< {min_present}); read kappa and alpha with care", "")
    notes = per[["note_kappa", "note_alpha", "note_small"]].fillna("").agg(
        lambda r: "; ".join(x for x in dict.fromkeys(r) if x), axis=1)
    per = per.drop(columns=["note_kappa", "note_alpha", "note_small"]).assign(note=notes.astype("str"))
    overall = alpha_overall(manual_codes, codes, reliable=reliable, tentative=tentative)
    counts = {
        "n_units_manual": int(m["unit"].nunique()),
        "coders": coders,
        "coder_a": coder_a,
        "coder_b": coder_b,
        "n_units_both": int(kap.attrs["n_units"]),
        "n_units_one_coder": int(alp.attrs["n_units_single"]),
        "n_excluded_decisions": int(avh.attrs["n_excluded"]),
        "n_units_truth": int(n_truth),
        "reliable": reliable,
        "tentative": tentative,
        "min_present": min_present,
    }
    return ReliabilityReport(per, overall, _micro(avh), micro_truth, counts)


def for_run(store, params, codebook) -> ReliabilityReport | None:
    """The reliability report of a run: manual codes vs each other and vs the auto-coder.

    Uses the store's ``manual_codes`` (None when the client has none), auto-codes the
    verbatims the coders (and the optional ``coding.truth_file`` answer key) cover, and
    applies the params' reliability thresholds.
    """
    from cxlib.data import engine
    from cxlib.data.io import read_small
    from cxlib.voice import coding

    if not store.has("manual_codes"):
        return None
    manual = store.df("manual_codes")
    truth = None
    if params.coding.truth_file:
        from cxlib import paths

        path = paths.inside(params.data_path, params.data_path / params.coding.truth_file, "coding.truth_file")
        truth = read_small(path)
    ids = set(manual["verbatim_id"]) | (set(truth["verbatim_id"]) if truth is not None else set())
    verb = engine.verbatims(store)
    coded = coding.auto_code(verb[verb["verbatim_id"].isin(ids)], codebook)
    return reliability_report(manual, coded, truth, codebook=codebook, reliable=params.coding.reliable,
                              tentative=params.coding.tentative)

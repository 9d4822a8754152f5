"""Market-research crosstabs: a question by a banner of groups, with significance letters.

A crosstab shows, for each group of a *banner* (e.g. segment, region), the column
percentage of each answer to a *question* (the row variable, e.g. NPS group, CSAT
top-2-box, any categorical column). Each banner column gets a letter (A, B, C ...); a cell
carries the letters of the columns it is *significantly higher than*, so "45% BD" reads
"45%, significantly higher than columns B and D".

Method
------
* **Column percentage** ``100 * count / column total`` (weighted counts when weights are
  given). The base is the column's unweighted number of respondents who answered the
  question; rows with no answer (or NaN weight) are excluded and counted per column.
* **Pairwise tests**: for every answer and every pair of tested columns, the pooled
  two-proportion z-test (as statsmodels ``proportions_ztest``)::

      p = (n_i p_i + n_j p_j) / (n_i + n_j)
      z = (p_i - p_j) / sqrt(p (1 - p) (1/n_i + 1/n_j)),   two-sided p-value

  With weights, ``p_i`` is the weighted column share and ``n_i`` the column's Kish
  effective base ``(sum w)^2 / sum w^2`` (Kish 1965), so weighting never overstates
  significance.
* **Multiple comparisons**: the p-values of all tests in the table form one family,
  corrected by Benjamini-Hochberg (1995) false-discovery rate (default), Holm (1979), or
  not at all (statsmodels ``multipletests``). A letter appears when the adjusted p-value is
  below ``alpha`` and the cell's share is the higher one.
* **Small bases**: a column whose effective base (the base when unweighted) is below
  ``min_base`` is shown and flagged but never tested: no letters to or from it.

References
----------
Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. *JRSS B*,
57(1), 289-300.  Holm, S. (1979). A simple sequentially rejective multiple test
procedure. *Scand. J. Statist.*, 6(2), 65-70.  Kish, L. (1965). *Survey Sampling*. Wiley.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from cxlib.exceptions import DataValidationError
from cxlib.quant.metrics import MISSING_GROUP, clean_scores, group_keys, nps_group, row_list  # noqa: F401 (re-exported)
from cxlib.quant.multiple import adjust_pvalues

__all__ = ["Crosstab", "crosstab", "crosstab_note", "nps_group"]

#: multiple-comparison corrections accepted by :func:`crosstab` and how notes name them
CORRECTIONS: dict[str | None, str] = {
    "fdr_bh": "Benjamini-Hochberg corrected",
    "holm": "Holm corrected",
    None: "no multiple-comparison correction",
}

_CELL_COLS = ["row_value", "banner_value", "letter", "count", "column_pct", "base",
              "base_effective", "higher_than", "small_base"]
_TEST_COLS = ["row_value", "col_i", "col_j", "banner_i", "banner_j", "p_i", "p_j", "n_i",
              "n_j", "z", "p_value", "p_adjusted", "significant", "higher"]
_BASE_COLS = ["banner_value", "letter", "base", "base_effective", "weighted_base", "excluded",
              "small_base"]


@dataclass(frozen=True)
class Crosstab:
    """A computed crosstab (tidy frames plus the settings needed to read it).

    Attributes
    ----------
    cells : DataFrame
        One row per answer x banner column: ``row_value, banner_value, letter, count``
        (weighted when weighted), ``column_pct`` (0-100), ``base`` (unweighted column
        base), ``base_effective`` (Kish; = base unweighted), ``higher_than`` (letters of
        the columns this cell is significantly higher than, e.g. ``"BD"``), ``small_base``.
    tests : DataFrame
        Every pairwise test: ``row_value, col_i, col_j`` (letters), ``banner_i, banner_j``,
        ``p_i, p_j`` (shares 0-1), ``n_i, n_j`` (bases used: effective when weighted),
        ``z, p_value, p_adjusted, significant, higher`` (letter of the significantly
        higher column, else ""). ``attrs`` holds ``correction`` and ``alpha``.
    bases : DataFrame
        One row per banner column: ``banner_value, letter, base, base_effective,
        weighted_base, excluded`` (rows without an answer or weight), ``small_base``.
    row, banner : str
        The question and banner columns.
    alpha : float
        Significance level.
    correction : str or None
        ``"fdr_bh"``, ``"holm"`` or None.
    weighted : bool
        Whether weights were used.
    min_base : int
        Columns with an effective base below it are flagged and not tested.
    excluded : int
        Total rows excluded (no answer or NaN weight).
    """

    cells: pd.DataFrame
    tests: pd.DataFrame
    bases: pd.DataFrame
    row: str
    banner: str
    alpha: float
    correction: str | None
    weighted: bool
    min_base: int
    excluded: int

    @property
    def note(self) -> str:
        """The reader's note explaining the letters (see :func:`crosstab_note`)."""
        return crosstab_note(self)


def _letters(k: int) -> list[str]:
    """Column letters A..Z, then AA, AB, ... (spreadsheet style)."""
    out = []
    for i in range(k):
        s, j = "", i
        while True:
            s = chr(ord("A") + j % 26) + s
            j = j // 26 - 1
            if j < 0:
                break
        out.append(s)
    return out


def _order(values: pd.Series, given) -> list:
    """Display order: ``given`` first, then categorical order or sorted, missing last."""
    present = list(pd.unique(values.dropna()))
    if given is not None:
        given = list(given)
        return given + [v for v in present if v not in given]
    if isinstance(values.dtype, pd.CategoricalDtype):
        return list(values.cat.categories)
    try:
        ordered = sorted(present)
    except TypeError:
        ordered = present
    if MISSING_GROUP in ordered:
        ordered = [v for v in ordered if v != MISSING_GROUP] + [MISSING_GROUP]
    return ordered


def _weights(df: pd.DataFrame, weights) -> np.ndarray:
    if isinstance(weights, pd.Series):
        if not (weights.index.is_unique and df.index.isin(weights.index).all()):
            raise ValueError(
                "crosstab: the weights' index does not cover the table's rows; pass the Series "
                "returned by weighting.post_stratify/rake on these rows (same index)."
            )
        weights = weights.reindex(df.index)
    else:
        weights = pd.Series(np.asarray(weights, dtype=object))
        if len(weights) != len(df):
            raise ValueError(f"crosstab: {len(df)} rows but {len(weights)} weights; pass one "
                             "weight per row.")
    w = clean_scores(weights.reset_index(drop=True), "weights", None, None).to_numpy()
    bad = w < 0
    if bad.any():
        raise DataValidationError(
            f"crosstab: weights has {int(bad.sum())} negative value(s) in row(s) "
            f"{row_list(df.index[bad])}; weights must be >= 0 (NaN = row excluded)."
        )
    return w


def _ztest(p1: float, n1: float, p2: float, n2: float) -> tuple[float, float]:
    pool = (n1 * p1 + n2 * p2) / (n1 + n2)
    var = pool * (1 - pool) * (1 / n1 + 1 / n2)
    if not var > 0:
        return float("nan"), float("nan")
    z = (p1 - p2) / np.sqrt(var)
    return float(z), float(2 * stats.norm.sf(abs(z)))


def crosstab(df: pd.DataFrame, row: str, banner: str, *, weights=None, alpha: float = 0.05,
             correction: str | None = "fdr_bh", min_base: int = 30, row_order=None,
             banner_order=None) -> Crosstab:
    """Crosstab of ``row`` (the question) by ``banner`` with significance letters.

    See the module docstring for the method (column percentages, pooled two-proportion
    z-tests on the effective base, one correction across the whole table).

    Parameters
    ----------
    df : DataFrame
        One row per respondent with the ``row`` and ``banner`` columns.
    row : str
        Question column (any categorical: e.g. :func:`nps_group` of the NPS scores, a
        boolean top-2-box flag, a channel). Missing answers are excluded and counted.
    banner : str
        Banner column (e.g. ``"segment"``); missing values form ``"(not recorded)"``.
    weights : Series or array-like, optional
        Respondent weights (e.g. from :func:`cxlib.quant.weighting.rake`), aligned on ``df``'s
        index; NaN = excluded and counted.
    alpha : float, default 0.05
        Significance level applied to the adjusted p-values.
    correction : {"fdr_bh", "holm", None}, default "fdr_bh"
        Multiple-comparison correction across every test of the table.
    min_base : int, default 30
        Columns whose (effective) base is below this are flagged and not tested.
    row_order, banner_order : list, optional
        Display order; values not listed follow, listed values absent from the data are
        shown with zero counts. Default: categorical order, else sorted.

    Returns
    -------
    Crosstab
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"crosstab needs a pandas DataFrame, got {type(df).__name__}")
    for what, col in (("row", row), ("banner", banner)):
        if col not in df.columns:
            raise ValueError(f"crosstab {what} {col!r}: no such column. Available columns are "
                             f"{list(df.columns)}.")
    if row == banner:
        raise ValueError(f"crosstab row and banner are both {row!r}; choose two columns")
    if not (0 < alpha < 1):
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {list(CORRECTIONS)}, got {correction!r}")
    w = np.ones(len(df)) if weights is None else _weights(df, weights)
    answers = df[row]
    groups = group_keys(df[banner])
    rows_order = _order(answers, row_order)
    cols_order = _order(groups, banner_order)
    letters = _letters(len(cols_order))
    ok = answers.notna().to_numpy() & ~np.isnan(w)
    ans = answers.astype(object).to_numpy()
    grp = groups.astype(object).to_numpy()

    bases, stats_by_col = [], {}
    for col, letter in zip(cols_order, letters, strict=True):
        in_col = grp == col
        sel = in_col & ok
        wc = w[sel]
        total = float(wc.sum())
        s2 = float((wc**2).sum())
        n_eff = total**2 / s2 if s2 > 0 else 0.0
        base = int(sel.sum())
        counts = {r: float(wc[ans[sel] == r].sum()) for r in rows_order}
        small = bool(n_eff < min_base)
        stats_by_col[col] = (letter, counts, total, n_eff, small, base)
        bases.append(dict(banner_value=col, letter=letter, base=base, base_effective=n_eff,
                          weighted_base=total, excluded=int((in_col & ~ok).sum()),
                          small_base=small))

    tested = [c for c in cols_order if not stats_by_col[c][4] and stats_by_col[c][3] > 0]
    tests = []
    for r in rows_order:
        for ci, cj in combinations(tested, 2):
            li, cnt_i, tot_i, ne_i, _, _ = stats_by_col[ci]
            lj, cnt_j, tot_j, ne_j, _, _ = stats_by_col[cj]
            p_i, p_j = cnt_i[r] / tot_i, cnt_j[r] / tot_j
            z, p = _ztest(p_i, ne_i, p_j, ne_j)
            tests.append(dict(row_value=r, col_i=li, col_j=lj, banner_i=ci, banner_j=cj,
                              p_i=p_i, p_j=p_j, n_i=ne_i, n_j=ne_j, z=z, p_value=p))
    tests = pd.DataFrame(tests, columns=_TEST_COLS[:11])
    tests["p_adjusted"] = np.nan
    has_p = tests["p_value"].notna()
    if has_p.any():
        p = tests.loc[has_p, "p_value"].to_numpy(dtype=float)
        tests.loc[has_p, "p_adjusted"] = adjust_pvalues(p, correction)
    tests["significant"] = (tests["p_adjusted"] < alpha).astype(bool)
    tests["higher"] = np.where(tests["significant"],
                               np.where(tests["p_i"] > tests["p_j"], tests["col_i"],
                                        tests["col_j"]), "")
    tests = tests[_TEST_COLS]
    tests.attrs.update(correction=correction, alpha=alpha)

    beats: dict[tuple, set] = {}
    for t in tests[tests["significant"]].itertuples(index=False):
        hi, lo = (t.banner_i, t.col_j) if t.p_i > t.p_j else (t.banner_j, t.col_i)
        beats.setdefault((t.row_value, hi), set()).add(lo)
    cells = []
    for r in rows_order:
        for col in cols_order:
            letter, counts, total, n_eff, small, base = stats_by_col[col]
            cells.append(dict(row_value=r, banner_value=col, letter=letter, count=counts[r],
                              column_pct=100 * counts[r] / total if total > 0 else np.nan,
                              base=base, base_effective=n_eff,
                              higher_than="".join(sorted(beats.get((r, col), set()),
                                                         key=letters.index)),
                              small_base=small))
    cells = pd.DataFrame(cells, columns=_CELL_COLS)
    cells.attrs.update(correction=correction, alpha=alpha, row=row, banner=banner)
    return Crosstab(cells=cells, tests=tests, bases=pd.DataFrame(bases, columns=_BASE_COLS),
                    row=row, banner=banner, alpha=float(alpha), correction=correction,
                    weighted=weights is not None, min_base=int(min_base),
                    excluded=int((~ok).sum()))


def crosstab_note(ct: Crosstab) -> str:
    """The sentence(s) a reader needs under a formatted crosstab.

    E.g. "Letters mark a column percentage significantly higher than the lettered column
    (two-proportion z-test, Benjamini-Hochberg corrected, alpha 0.05)." plus, when they
    apply, how weighting enters the tests and what the small-base mark means.
    """
    text = ("Letters mark a column percentage significantly higher than the lettered column "
            f"(two-proportion z-test, {CORRECTIONS[ct.correction]}, alpha {ct.alpha:g}).")
    if ct.weighted:
        text += (" Percentages are weighted to the customer population; tests use each "
                 "column's effective base (Kish).")
    if bool(ct.bases["small_base"].any()):
        text += f" ⚠ marks a base below {ct.min_base}: shown but not tested."
    return text

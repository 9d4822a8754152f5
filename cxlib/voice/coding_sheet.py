"""Human coding round-trip: sample verbatims, export a coding sheet, import the codes back.

::

    sample = sample_for_coding(verbatims, n=200, seed=params.seed)
    export_sheet(sample, book, "coding/round1.xlsx")     # or .csv (+ round1.codebook.csv)
    # ... coders fill the "codes" and "coder" columns ...
    manual = import_sheet("coding/round1.xlsx", book)   # verbatim_id, coder, code (long)

The imported frame has the shape of ``manual_codes.csv`` (:class:`cxlib.data.schemas.ManualCodes`)
and goes straight into :mod:`cxlib.voice.reliability`. Sheet rules for coders:

* ``codes``: the codebook's code names separated by ``;`` or ``,`` (case and spaces do not
  matter: ``Late delivery`` = ``late_delivery``); leave it empty when no code applies.
* ``coder``: your name on every row you have coded, including rows with no code.
* A row with both ``codes`` and ``coder`` empty is *not coded yet*: it is left out and
  counted (``attrs["n_not_coded"]``), so a half-finished sheet can be imported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cxlib.exceptions import DataValidationError
from cxlib.voice.coding import redact_series

__all__ = ["SHEET_COLUMNS", "CODEBOOK_COLUMNS", "sample_for_coding", "export_sheet", "import_sheet"]

#: columns of the coding sheet, in order
SHEET_COLUMNS = ["verbatim_id", "source", "language", "touchpoint", "text", "codes", "coder", "notes"]
#: columns of the codebook shown next to it
CODEBOOK_COLUMNS = ["code", "theme", "description", "valence"]

_SPLIT_RE = re.compile(r"[;,،؛]")  # also the Arabic comma and semicolon
#: characters that make a spreadsheet treat a CSV cell as a formula (CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --- sampling ----------------------------------------------------------------------------


def _allocate(sizes: np.ndarray, n: int, min_per_stratum: int) -> np.ndarray:
    """Sample size per stratum: a floor of ``min(min_per_stratum, N_h)``, the rest proportional.

    The remainder ``n - sum(floor)`` is shared in proportion to the stratum sizes ``N_h`` by
    the largest-remainder (Hamilton) method, capped at ``N_h``; what a capped stratum cannot
    take is shared again among the others.
    """
    alloc = np.minimum(sizes, min_per_stratum)
    if alloc.sum() > n:
        raise ValueError(
            f"n={n} is smaller than {int(alloc.sum())}, the minimum of {min_per_stratum} per stratum "
            f"over {len(sizes)} strata; raise n or lower min_per_stratum."
        )
    left = n - int(alloc.sum())
    while left > 0:
        room = sizes - alloc
        open_ = room > 0
        if not open_.any():
            break
        quota = left * np.where(open_, sizes, 0) / sizes[open_].sum()
        add = np.minimum(np.floor(quota).astype(int), room)
        rest = left - int(add.sum())
        if rest > 0:  # largest remainders first; ties to the larger stratum, then the first
            frac = np.where(open_ & (add < room), quota - np.floor(quota), -1.0)
            order = np.lexsort((np.arange(len(sizes)), -sizes, -frac))
            for i in order[:rest]:
                if frac[i] >= 0:
                    add[i] += 1
        if add.sum() == 0:
            break
        alloc = alloc + add
        left = n - int(alloc.sum())
    return alloc


def sample_for_coding(
    verbatims: pd.DataFrame,
    n: int = 200,
    *,
    by: Sequence[str] = ("source", "language"),
    seed: int = 20261122,
    exclude_ids: Sequence[str] = (),
    min_per_stratum: int = 5,
    text_col: str = "text",
) -> pd.DataFrame:
    """A stratified random sample of verbatims for human coding, redacted.

    Eligible verbatims have non-empty text, are not agent turns of a transcript
    (``speaker != "agent"``; rows without a speaker are customer text) and are not in
    ``exclude_ids`` (e.g. verbatims coded in an earlier round). Strata are the combinations
    of ``by`` (a missing value is its own stratum). Each stratum h of size ``N_h`` gets
    ``min(min_per_stratum, N_h)``, and the remaining ``n - sum`` is allocated in proportion
    to ``N_h`` (largest remainder, capped at ``N_h``), so small strata (Arabic reviews, say)
    are still coded and large ones dominate in proportion. Within a stratum units are drawn
    without replacement with ``numpy.random.default_rng(seed)``: the same data and seed give
    the same sample. Fewer eligible verbatims than ``n``: all are taken.

    Parameters
    ----------
    verbatims : DataFrame
        The verbatims table (verbatim_id, text and the ``by`` columns; speaker, touchpoint
        optional).
    n : int
        Total sample size.
    by : sequence of str
        Stratification columns.
    seed : int
        Random seed (record it in the run manifest).
    exclude_ids : sequence of str
        Verbatim ids never to sample.
    min_per_stratum : int
        Floor per stratum (smaller strata are taken whole).

    Returns
    -------
    DataFrame
        verbatim_id, source, language, touchpoint, text (redacted with
        :func:`cxlib.voice.coding.redact_series`) and any other ``by`` column, in a random
        (seeded) order so that coders do not meet the strata in blocks. ``attrs``:
        n_verbatims, n_empty_text, n_agent_turns, n_excluded_ids, n_eligible, n_sampled,
        seed, and ``allocation``: {stratum label: [eligible, sampled]} with labels
        like ``"survey|en"``.

    Raises
    ------
    DataValidationError
        A required column is missing.
    ValueError
        ``n`` cannot give every stratum its floor.
    """
    by = list(by)
    need = ["verbatim_id", text_col, *by]
    missing = [c for c in need if c not in verbatims.columns]
    if missing:
        raise DataValidationError(
            f"verbatims: column(s) {missing} are missing; sampling needs verbatim_id, {text_col} "
            f"and the stratification columns {by} (change by= to stratify on others)."
        )
    if n < 1:
        raise ValueError(f"n must be at least 1; got {n}.")
    text = verbatims[text_col]
    has_text = text.notna() & (text.astype("str").str.strip() != "")
    agent = (verbatims["speaker"].astype("str").str.strip().str.lower() == "agent").fillna(False) \
        if "speaker" in verbatims.columns else pd.Series(False, index=verbatims.index)
    excluded = verbatims["verbatim_id"].astype("str").isin([str(x) for x in exclude_ids])
    ok = has_text & ~agent & ~excluded
    pool = verbatims[ok].copy()
    pool["_stratum"] = (pool[by].astype("str").fillna("<missing>").agg("|".join, axis=1)
                        if by else pd.Series("all", index=pool.index))
    # a stable order (by id) before drawing makes the draw independent of the row order
    pool = pool.sort_values("verbatim_id", kind="stable")
    sizes = pool.groupby("_stratum", sort=True).size()
    alloc = _allocate(sizes.to_numpy(), min(n, len(pool)), min_per_stratum) if len(pool) else np.array([], int)
    rng = np.random.default_rng(seed)
    picks = []
    for (label, size), k in zip(sizes.items(), alloc, strict=True):
        idx = np.flatnonzero((pool["_stratum"] == label).to_numpy())
        picks.append(idx[rng.choice(size, size=int(k), replace=False)])
    chosen = np.concatenate(picks) if picks else np.array([], int)
    sample = pool.iloc[rng.permutation(chosen)] if len(chosen) else pool.iloc[:0]
    cols = ["verbatim_id", "source", "language", "touchpoint", text_col]
    cols = [c for c in cols if c in sample.columns] + [c for c in by if c not in cols]
    out = sample[cols].reset_index(drop=True)
    for c in ("source", "language", "touchpoint"):
        if c not in out.columns:
            out[c] = pd.Series(pd.NA, index=out.index, dtype="str")
    out = out.rename(columns={text_col: "text"})
    out["text"] = redact_series(out["text"])
    out["verbatim_id"] = out["verbatim_id"].astype("str")
    out = out[["verbatim_id", "source", "language", "touchpoint", "text"]
              + [c for c in out.columns if c not in ("verbatim_id", "source", "language", "touchpoint", "text")]]
    out.attrs.update(
        n_verbatims=len(verbatims),
        n_empty_text=int((~has_text).sum()),
        n_agent_turns=int((agent & has_text).sum()),
        n_excluded_ids=int((excluded & has_text & ~agent).sum()),
        n_eligible=len(pool),
        n_sampled=len(out),
        seed=seed,
        allocation={str(label): [int(size), int(k)] for (label, size), k in zip(sizes.items(), alloc, strict=True)},
    )
    return out


# --- export ------------------------------------------------------------------------------


def _codebook_table(codebook) -> pd.DataFrame:
    tab = codebook.table if hasattr(codebook, "table") else pd.DataFrame(codebook)
    if "code" not in tab.columns:
        raise DataValidationError("codebook: column 'code' is missing; pass the compiled codebook or the codebook table.")
    out = pd.DataFrame({c: (tab[c] if c in tab.columns else pd.NA) for c in CODEBOOK_COLUMNS})
    out["code"] = out["code"].astype("str").str.strip()
    return out


def _sheet_frame(sample: pd.DataFrame) -> pd.DataFrame:
    if "verbatim_id" not in sample.columns or "text" not in sample.columns:
        raise DataValidationError("sample: needs verbatim_id and text (use sample_for_coding).")
    out = pd.DataFrame(index=sample.index)
    for c in SHEET_COLUMNS:
        out[c] = sample[c].astype("str") if c in sample.columns else pd.Series("", index=sample.index, dtype="str")
    for c in ("codes", "coder", "notes"):  # to be filled by the coder: blank even if given
        out[c] = ""
    return out.fillna("").reset_index(drop=True)


def export_sheet(sample: pd.DataFrame, codebook, path: str | Path) -> Path:
    """Write a coding sheet for ``sample`` with the codebook alongside; format by suffix.

    Parameters
    ----------
    sample : DataFrame
        Rows to code (from :func:`sample_for_coding`; its text should already be redacted).
    codebook : CompiledCodebook or DataFrame
        Codes to offer (code, theme, description, valence).
    path : str or Path
        ``.xlsx``: one workbook with sheet ``coding`` (columns :data:`SHEET_COLUMNS`, header
        row frozen, widths set, text wrapped and right-to-left for Arabic rows) and sheet
        ``codebook`` (:data:`CODEBOOK_COLUMNS`). ``.csv``: the coding sheet as UTF-8 with a
        byte-order mark (so spreadsheet programs read Arabic correctly), and the codebook in
        ``<stem>.codebook.csv`` next to it.

    Returns
    -------
    Path
        The coding sheet written.

    Notes
    -----
    Customer text is data, never a formula: in XLSX every text cell is stored as a string
    (a comment starting with ``=`` stays text); in CSV a text cell starting with ``=``,
    ``+``, ``-``, ``@``, tab or carriage return is prefixed with an apostrophe (the usual
    CSV-injection guard). :func:`import_sheet` reads only verbatim_id, codes, coder.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValueError(f"{path}: unsupported suffix {path.suffix!r}; use .csv or .xlsx.")
    sheet = _sheet_frame(sample)
    book = _codebook_table(codebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        safe = sheet.copy()
        risky = safe["text"].str.startswith(_FORMULA_START)
        safe.loc[risky, "text"] = "'" + safe.loc[risky, "text"]
        safe.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")
        book.to_csv(path.with_name(path.stem + ".codebook.csv"), index=False, encoding="utf-8-sig",
                    lineterminator="\n")
        return path
    from openpyxl.styles import Alignment, Font

    widths = {"verbatim_id": 12, "source": 9, "language": 9, "touchpoint": 12, "text": 70,
              "codes": 30, "coder": 12, "notes": 30, "code": 22, "theme": 14,
              "description": 60, "valence": 10}
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        sheet.to_excel(xw, sheet_name="coding", index=False, freeze_panes=(1, 0))
        book.to_excel(xw, sheet_name="codebook", index=False, freeze_panes=(1, 0))
        for name, frame in (("coding", sheet), ("codebook", book)):
            ws = xw.sheets[name]
            for j, col in enumerate(frame.columns, start=1):
                letter = ws.cell(row=1, column=j).column_letter
                ws.column_dimensions[letter].width = widths.get(col, 14)
                ws.cell(row=1, column=j).font = Font(bold=True)
            for row in ws.iter_rows(min_row=2):
                for cell in row:
                    if isinstance(cell.value, str) and cell.value.startswith("="):
                        cell.data_type = "s"  # openpyxl took it for a formula: keep it text
        ws = xw.sheets["coding"]
        tcol = SHEET_COLUMNS.index("text") + 1
        for i, lang in enumerate(sheet["language"], start=2):
            ws.cell(row=i, column=tcol).alignment = Alignment(
                wrap_text=True, vertical="top", readingOrder=2 if lang == "ar" else 1,
                horizontal="right" if lang == "ar" else "left")
        dcol = CODEBOOK_COLUMNS.index("description") + 1
        for i in range(2, len(book) + 2):
            xw.sheets["codebook"].cell(row=i, column=dcol).alignment = Alignment(wrap_text=True, vertical="top")
    return path


# --- import ------------------------------------------------------------------------------


def _key(code: str) -> str:
    """Matching key of a code name: case-folded, runs of spaces/hyphens/underscores -> _."""
    return re.sub(r"[\s\-_]+", "_", str(code).strip().casefold())


def import_sheet(path: str | Path, codebook, coder: str | None = None) -> pd.DataFrame:
    """Read a filled coding sheet back as long codings (verbatim_id, coder, code).

    Parameters
    ----------
    path : str or Path
        A sheet written by :func:`export_sheet` and filled in (``.csv`` or ``.xlsx``; for
        XLSX the ``coding`` sheet, else the first sheet).
    codebook : CompiledCodebook or DataFrame
        The valid codes.
    coder : str, optional
        Coder name for rows whose ``coder`` cell is empty (a filled cell wins). Without it,
        a row with codes but no coder is an error.

    Returns
    -------
    DataFrame
        verbatim_id, coder, code (canonical codebook spelling), one row per code given; a
        coded row with an empty ``codes`` cell gives one row with code missing ("coded, no
        code applies"), as in ``manual_codes.csv``. Rows in sheet order, codes in the order
        written (repeats dropped). ``attrs``: file, n_rows, n_coded, n_no_code,
        n_not_coded (rows with ``codes`` and ``coder`` both empty: left out).

    Raises
    ------
    DataValidationError
        Missing columns; an empty verbatim_id; codes without a coder; an unknown code; the
        same verbatim twice for one coder. Every problem is listed at once with the file,
        the spreadsheet row number (header = row 1), the value and the fix, and
        ``err.failures`` holds them as a frame.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise FileNotFoundError(f"{path}: coding sheet not found.")
    if suffix == ".csv":
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    elif suffix in (".xlsx", ".xlsm"):
        sheets = pd.ExcelFile(path, engine="openpyxl").sheet_names
        raw = pd.read_excel(path, sheet_name="coding" if "coding" in sheets else 0, dtype=str,
                            engine="openpyxl")
    else:
        raise ValueError(f"{path}: unsupported suffix {path.suffix!r}; use .csv or .xlsx.")
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    need = ["verbatim_id", "codes"] + ([] if coder is not None else ["coder"])
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise DataValidationError(
            f"{path}: column(s) {missing} are missing from the coding sheet; it needs verbatim_id, "
            "codes and coder (export a fresh sheet with export_sheet, or keep the header row as written)."
        )
    raw = raw.fillna("")
    valid = _codebook_table(codebook)["code"].tolist()
    canon = {_key(c): c for c in valid}
    cell_coder = raw["coder"].astype("str").str.strip() if "coder" in raw.columns else pd.Series("", index=raw.index)
    problems: list[dict] = []
    rows: list[dict] = []
    seen: dict[tuple[str, str], int] = {}
    n_not_coded = n_no_code = 0

    def fail(r, column, value, check, fix):
        problems.append({"file": str(path), "row": r, "column": column, "value": value, "check": check, "fix": fix})

    for i, (vid, codes_cell, who) in enumerate(zip(raw["verbatim_id"].astype("str").str.strip(),
                                                   raw["codes"].astype("str").str.strip(), cell_coder,
                                                   strict=True)):
        r = i + 2  # spreadsheet row: header is row 1
        if not codes_cell and not who:
            n_not_coded += 1
            continue
        who = who or (coder or "")
        if not who:
            fail(r, "coder", "", "codes are filled but the coder is empty",
                 "write the coder's name in the coder column (or pass coder= to import_sheet)")
            continue
        if not vid:
            fail(r, "verbatim_id", "", "verbatim_id is empty", "restore the id from the exported sheet")
            continue
        if (vid, who) in seen:
            fail(r, "verbatim_id", vid, f"verbatim {vid} coded twice by {who} (first on row {seen[vid, who]})",
                 "keep one row per verbatim and coder")
            continue
        seen[vid, who] = r
        tokens = [t.strip() for t in _SPLIT_RE.split(codes_cell) if t.strip()]
        good: list[str] = []
        for t in tokens:
            c = canon.get(_key(t))
            if c is None:
                fail(r, "codes", t, f"unknown code {t!r}",
                     f"use codes from the codebook ({', '.join(valid)}), separated by ; or , "
                     "and leave the cell empty when no code applies")
            elif c not in good:
                good.append(c)
        if good:
            rows.extend({"verbatim_id": vid, "coder": who, "code": c} for c in good)
        else:
            n_no_code += 1
            rows.append({"verbatim_id": vid, "coder": who, "code": None})
    if problems:
        lines = [f"{path}: {len(problems)} problem(s) in the coding sheet:"]
        lines += [f"  - row {p['row']}, {p['column']}: {p['check']}; {p['fix']}." for p in problems[:20]]
        if len(problems) > 20:
            lines.append(f"  ... and {len(problems) - 20} more (see err.failures).")
        raise DataValidationError("\n".join(lines), failures=pd.DataFrame(problems))
    out = pd.DataFrame(rows, columns=["verbatim_id", "coder", "code"]).astype("str")
    out.attrs.update(file=str(path), n_rows=len(raw), n_coded=len(seen), n_no_code=n_no_code,
                     n_not_coded=n_not_coded)
    return out

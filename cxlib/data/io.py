"""Load a client's exports, validate them against their contracts, and hold them in DuckDB.

Each input (CSV, Parquet or Excel) is read, renamed through the params column mapping,
checked against its pandera schema with every problem collected at once, and written into
one embedded DuckDB database for the run. Large tables stay in the engine: analyses reach
them through Ibis expressions (:mod:`cxlib.data.engine`) and pull only aggregates into pandas.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pandera.errors as pa_errors

from cxlib.exceptions import DataValidationError, ParameterError
from cxlib.data.params import Params
from cxlib.data.schemas import TABLES

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}

_FIXES = {
    "missing": "add the column to the export, or map your column onto it in params "
    "(tables.{table}.columns: {{your_name: {column}}})",
    "number": "the value must be a number; correct it or leave the cell empty",
    "date": "the value must be a date such as 2026-07-31 (ISO 8601); correct it or leave it empty",
    "boolean": "use true/false (or yes/no, 1/0)",
    "unique": "ids must be unique; remove or renumber the duplicate rows",
    "range": "the value is outside the allowed range; correct it or leave the cell empty",
    "isin": "use one of the allowed values",
    "nullable": "the column must have a value in every row; fill it in",
    "row": "fix the row so it meets the rule",
}


@dataclass(frozen=True)
class InputFile:
    """One input file as loaded: where it came from, its hash and its size."""

    table: str
    path: str
    sha256: str
    rows: int
    columns: int


@dataclass
class Store:
    """The run's data: a DuckDB database with every validated table, reachable through Ibis."""

    db: duckdb.DuckDBPyConnection
    params: Params
    inputs: list[InputFile] = field(default_factory=list)

    @property
    def con(self) -> ibis.BaseBackend:
        """An Ibis DuckDB backend on the same database (expressions run in the engine)."""
        if not hasattr(self, "_ibis"):
            self._ibis = ibis.duckdb.from_connection(self.db)
        return self._ibis

    def table(self, name: str) -> ibis.Table:
        """The Ibis table ``name`` (a canonical table or a derived view)."""
        return self.con.table(name)

    def has(self, name: str) -> bool:
        return name in self.db.execute("SELECT table_name FROM information_schema.tables").df()[
            "table_name"
        ].tolist()

    def df(self, name: str) -> pd.DataFrame:
        """A whole table as pandas (for the small tables only: codebook, swot inputs...)."""
        return self.db.execute(f'SELECT * FROM "{name}"').df()

    def close(self) -> None:
        self.db.close()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (for the run manifest)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_raw(path: Path, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a CSV, Parquet or Excel file as it is (CSV cells as text; parsing comes later)."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=True, encoding="utf-8-sig")
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".xlsx", ".xlsm", ".xls"):
            return pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=object)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise DataValidationError(f"{path}: could not be read ({e}).") from None
    raise ParameterError(
        f"{path}: unsupported file type {suffix!r}; use .csv, .parquet or .xlsx."
    )


def _row_label(path: Path, index: list) -> str:
    """Rows as the user sees them: data row numbers, and file lines for CSV/Excel."""
    idx = sorted({int(i) for i in index if pd.notna(i)})
    shown = idx[:8]
    more = f" and {len(idx) - len(shown)} more" if len(idx) > len(shown) else ""
    if path.suffix.lower() in (".csv", ".txt", ".xlsx", ".xlsm", ".xls"):
        lines = ", ".join(str(i + 2) for i in shown)
        return f"line{'s' if len(idx) > 1 else ''} {lines}{more}"
    return f"row{'s' if len(idx) > 1 else ''} {', '.join(str(i + 1) for i in shown)}{more}"


def _precoerce(df: pd.DataFrame, schema, table: str) -> tuple[pd.DataFrame, list[dict]]:
    """Parse numbers, dates and booleans ourselves so every bad cell is reported with its row.

    pandera's own coercion stops at the first bad cell of a column and then cannot check
    ranges; here unparseable cells become failures and the rest of the column is checked.
    """
    failures: list[dict] = []
    out = df.copy()
    for name, col in schema.columns.items():
        if name not in out.columns:
            continue
        dtype = str(col.dtype)
        s = out[name]
        if isinstance(s.dtype, pd.StringDtype) or s.dtype == object:
            s = s.where(~s.astype("string").str.strip().isin(["", "NA", "N/A", "null", "None"]))
        if dtype.startswith(("Int", "int", "float", "Float")):
            parsed = pd.to_numeric(s, errors="coerce")
            bad = s.notna() & parsed.isna()
            kind = "number"
            if dtype.startswith(("Int", "int")):
                frac = parsed.notna() & (parsed % 1 != 0)
                bad = bad | frac
                parsed = parsed.where(~frac)
        elif dtype.startswith("datetime"):
            parsed = pd.to_datetime(s, errors="coerce", format="mixed") if s.dtype == object or isinstance(
                s.dtype, pd.StringDtype
            ) else pd.to_datetime(s, errors="coerce")
            if getattr(parsed.dt, "tz", None) is not None:
                parsed = parsed.dt.tz_convert(None)
            bad = s.notna() & parsed.isna()
            kind = "date"
        elif dtype == "bool":
            if s.dtype == bool:
                continue
            text = s.astype("string").str.strip().str.lower()
            parsed = pd.Series(pd.NA, index=s.index, dtype="boolean")
            parsed[text.isin(_TRUE).fillna(False)] = True
            parsed[text.isin(_FALSE).fillna(False)] = False
            bad = s.notna() & parsed.isna()
            kind = "boolean"
        else:
            out[name] = s.astype("string").str.strip() if s.notna().any() else s.astype("string")
            continue
        if bad.any():
            failures.append(
                {"column": name, "check": f"not a {kind}", "kind": kind,
                 "index": list(s.index[bad]), "examples": list(s[bad].astype(str).unique()[:3])}
            )
        out[name] = parsed
    return out, failures


def _classify(check: str) -> str:
    check = str(check)
    if check.startswith("greater_than") or check.startswith("less_than") or check.startswith("in_range"):
        return "range"
    if check.startswith("isin"):
        return "isin"
    if check == "field_uniqueness" or check.startswith("unique"):
        return "unique"
    if check == "not_nullable":
        return "nullable"
    if check == "column_in_dataframe":
        return "missing"
    if check.startswith(("coerce_dtype", "dtype")):
        return "number"
    return "row"


def validate_table(df: pd.DataFrame, table: str, path: Path) -> pd.DataFrame:
    """Validate one table against its contract; return it typed, or raise with every problem.

    The message names the file, each failing column and check, the file lines, example bad
    values and the fix. ``DataValidationError.failures`` holds the same as a tidy frame.
    """
    model = TABLES[table][0]
    schema = model.to_schema()
    df = df.reset_index(drop=True)
    typed, failures = _precoerce(df, schema, table)
    try:
        typed = model.validate(typed, lazy=True)
    except pa_errors.SchemaErrors as err:
        fc = err.failure_cases
        for (column, check), grp in fc.groupby(["column", "check"], dropna=False, sort=False):
            kind = _classify(check)
            if str(grp["schema_context"].iloc[0]) == "DataFrameSchema" and kind == "row":
                # a row-level rule reports every column of each failing row; say it once
                if any(f["check"] == check for f in failures):
                    continue
                column = "(row)"
            if kind == "missing":
                column = str(grp["failure_case"].iloc[0])
            failures.append(
                {"column": column, "check": str(check), "kind": kind,
                 "index": [i for i in grp["index"].tolist() if pd.notna(i)],
                 "examples": [str(v) for v in grp["failure_case"].dropna().unique()[:3]]}
            )
    except pa_errors.SchemaError as err:  # pragma: no cover - lazy=True collects instead
        failures.append({"column": "?", "check": str(err), "kind": "row", "index": [], "examples": []})
    if failures:
        lines = [f"{path}: the {table} table breaks its contract ({len(failures)} problem(s)):"]
        rows = []
        for f in failures:
            fix = _FIXES[f["kind"]].format(table=table, column=f["column"])
            if f["kind"] == "missing":
                where = f"columns found: {', '.join(map(str, df.columns[:12]))}"
                lines.append(f"  - column '{f['column']}' is missing ({where}). Fix: {fix}.")
            else:
                ex = ", ".join(repr(e) for e in f["examples"])
                lines.append(
                    f"  - column '{f['column']}', {_row_label(path, f['index'])}: {f['check']}"
                    f" (e.g. {ex}). Fix: {fix}."
                )
            rows.append({"table": table, "file": str(path), "column": f["column"],
                         "check": f["check"], "rows": [int(i) + 1 for i in f["index"]], "fix": fix})
        raise DataValidationError("\n".join(lines), failures=pd.DataFrame(rows))
    return typed


def load_table(params: Params, table: str) -> tuple[pd.DataFrame, InputFile]:
    """Read, rename (params column mapping) and validate one table."""
    source = params.tables[table]
    path = params.table_path(table)
    raw = read_raw(path, source.sheet)
    raw.columns = [str(c).strip() for c in raw.columns]
    if source.columns:
        unknown = [c for c in source.columns if c not in raw.columns]
        if unknown:
            raise DataValidationError(
                f"{path}: params tables.{table}.columns maps {unknown}, which the file does not have "
                f"(columns found: {', '.join(raw.columns[:15])}). Fix the mapping in {params.source}."
            )
        raw = raw.rename(columns=source.columns)
    typed = validate_table(raw, table, path)
    info = InputFile(table, str(path), sha256_file(path), len(typed), typed.shape[1])
    return typed, info


def load_store(params: Params, db_path: Path | str | None = None) -> Store:
    """Load and validate every table named in params into a DuckDB database.

    All tables are validated before anything fails, so the error lists every bad file at once.
    ``db_path`` None keeps the database in memory.
    """
    db = duckdb.connect(str(db_path) if db_path else ":memory:")
    store = Store(db=db, params=params)
    errors: list[DataValidationError] = []
    for table in TABLES:
        if table not in params.tables:
            continue
        try:
            frame, info = load_table(params, table)
        except DataValidationError as e:
            errors.append(e)
            continue
        db.register("_incoming", frame)
        db.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM _incoming')
        db.unregister("_incoming")
        store.inputs.append(info)
    if not errors:
        db.register("_inputs_df", pd.DataFrame([vars(i) for i in store.inputs]))
        db.execute("CREATE OR REPLACE TABLE _inputs AS SELECT * FROM _inputs_df")
        db.unregister("_inputs_df")
    if errors:
        db.close()
        failures = [e.failures for e in errors if e.failures is not None]
        raise DataValidationError(
            "\n\n".join(str(e) for e in errors),
            failures=pd.concat(failures, ignore_index=True) if failures else None,
        )
    return store


def open_store(params: Params, db_path: Path | str) -> Store:
    """Open a database that :func:`load_store` already built (read-only)."""
    db = duckdb.connect(str(db_path), read_only=True)
    rows = db.execute("SELECT * FROM _inputs").df().to_dict("records")
    return Store(db=db, params=params, inputs=[InputFile(**r) for r in rows])

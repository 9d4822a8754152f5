"""Load a client's exports as delivered into the engine, validate them, and hold them there.

Each input (CSV, Parquet or Excel) is read by DuckDB itself: no input table ever exists whole in
pandas. The read settings of the params file (:class:`cxlib.data.params.TableSource`) are applied
as one query per table: the column mapping (one export column may fill several canonical ones),
constants, value labels (``Yes`` -> true), date formats (day-first, month-first or explicit;
an ambiguous column is refused, never guessed), encodings (detected or declared; anything DuckDB
cannot read natively is transcoded to UTF-8 in a streaming pass). The checks of the data contracts
(:mod:`cxlib.data.schemas`: types, ranges, allowed values, uniqueness, required values) run as
queries in the engine, and every problem of every table is reported at once with the file, the
column, the lines, example values and the fix.

What the loader leaves out is counted, never silent: future-dated rows (excluded before the
period is chosen), rows breaking the contract when ``invalid_rows: exclude`` is set. What it
decides is stated: dates read day-first because a value above 12 shows it, an encoding detected,
time-zone offsets converted to UTC, languages detected from the script. These notes and counts
are kept in the database (``_load_notes``) for the data-and-method section and the manifest.
"""

from __future__ import annotations

import codecs
import difflib
import hashlib
import os
import re
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import duckdb
import ibis
import pandas as pd

from cxlib import paths
from cxlib.data.params import DateFormat, Params, TableSource
from cxlib.data.schemas import TABLES, column_checks, column_kind
from cxlib.exceptions import DataValidationError, ParameterError

#: cell texts that mean "no value" (compared after trimming, ignoring case)
NA_TOKENS = ("", "na", "n/a", "null", "nan", "#n/a", "-", "—", "none")
_TRUE = ("true", "t", "yes", "y", "1", "1.0", "نعم")
_FALSE = ("false", "f", "no", "n", "0", "0.0", "لا")
#: common spellings of the canonical language codes
_LANGUAGE_SYNONYMS = {"english": "en", "eng": "en", "e": "en", "arabic": "ar", "ara": "ar", "a": "ar",
                      "عربي": "ar", "العربية": "ar", "انجليزي": "en", "both": "mixed", "mix": "mixed",
                      "ar-en": "mixed", "en-ar": "mixed", "ar_en": "mixed", "code-switched": "mixed"}
_DIGITS = ("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫", "01234567890123456789.")
_SEPS = ("/", "-", ".")
_TIMES = (" %H:%M:%S", " %H:%M", " %I:%M %p", " %I:%M:%S %p", "")
# Dates written with an English month name cannot be read two ways (31-Jul-18, Jul 31, 2018,
# 31 July 2018 10:30): read without being declared, wherever the ISO reading fails. Two-digit
# years first (%Y reads 18 as the year 18; %y refuses 2018). Twitter's zoned stamp comes in UTC.
_NAMED_MONTH_FORMATS = tuple(d + t for d in (
    "%d-%b-%y", "%d %b %y", "%d-%b-%Y", "%d %b %Y", "%d/%b/%Y", "%d-%B-%Y", "%d %B %Y",
    "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%B %d %Y", "%a, %d %b %Y", "%A, %d %B %Y",
) for t in (" %H:%M:%S", " %H:%M", ""))
_ZONED_FORMATS = ("%a %b %d %H:%M:%S %z %Y", "%a, %d %b %Y %H:%M:%S %z")

#: a number written with a decimal comma (12,5; 1.234,56; not 1,234: a thousands comma)
_DECIMAL_COMMA = re.compile(r"-?(\d{1,3}(\.\d{3})+|\d+),\d+")
_FIXES = {
    "missing": "add the column to the export, or map your column onto it in params "
    "(tables.{table}.columns: {{your_name: {column}}})",
    "number": "the value must be a number; correct it or leave the cell empty, or, where the export writes "
    "labels, map them onto numbers in params (tables.{table}.values: {{{column}: {{'10 - Extremely likely': 10}}}})",
    "integer": "the value must be a whole number; correct it or leave the cell empty, or, where the export writes "
    "labels, map them onto numbers in params (tables.{table}.values: {{{column}: {{'10 - Extremely likely': 10}}}})",
    "finite": "the value must be a finite number (not inf or nan); correct it or leave the cell empty",
    "date": "the value must be a date; correct it, or declare the column's format in params "
    "(tables.{table}.dates: {{{column}: dayfirst}} or {{{column}: '%d/%m/%Y %H:%M'}})",
    "year": "a date before 1900 is a misread: a two-digit year read as four digits ('%Y' on 31/12/18 gives "
    "the year 18). Declare '%y' for two-digit years (tables.{table}.dates: {{{column}: '%d/%m/%y'}}), "
    "or correct the cell",
    "boolean": "use true/false, yes/no or 1/0, or map your labels in params "
    "(tables.{table}.values: {{{column}: {{'Churned': true, 'Stayed': false}}}})",
    "unique": "ids must be unique; remove or renumber the duplicate rows",
    "range": "the value is outside the allowed range; correct it or leave the cell empty",
    "isin": "use one of the allowed values, or map your labels onto them in params "
    "(tables.{table}.values: {{{column}: {{'your label': allowed value}}}})",
    "nullable": "the column must have a value in every row; fill it in",
    "row": "fix the row so it meets the rule",
}


@dataclass(frozen=True)
class InputFile:
    """One input file as loaded: where it came from, its hash, its size and what was left out."""

    table: str
    path: str          # relative to the project root when inside it
    sha256: str
    rows: int          # rows loaded
    columns: int
    encoding: str = ""
    excluded: int = 0  # rows left out (future-dated, or invalid with invalid_rows: exclude)
    # one file of several stacked into one table: its own date span and customer links (measured on
    # the file's rows at load; the table's are those of all its files)
    first: str = ""
    last: str = ""
    unmatched_customer: int = 0
    no_customer: int = 0


@dataclass(frozen=True)
class LoadNote:
    """Something the loader did that the report must state (an exclusion, a detection)."""

    table: str
    file: str
    column: str
    kind: str     # future_dated | invalid_excluded | dates_dayfirst | dates_monthfirst | encoding |
    #               timezone_utc | language_detected | key_generated | undated | blank | header_rows |
    #               answer_type_row | empty_rows | summary_rows
    rows: int
    detail: str = ""
    excluded: bool = False


@dataclass
class Store:
    """The run's data, every validated table reachable through Ibis, on the engine params chose.

    ``engine.backend: duckdb`` (the default): ``db`` is the DuckDB database the loader validated
    into, and ``con`` the Ibis DuckDB backend on it. ``engine.backend: pyspark``: ``db`` is None
    (validation is over) and ``con`` is an Ibis PySpark backend on the validated tables as
    Parquet in ``parquet_dir`` (:mod:`cxlib.data.spark`); the Spark session starts on the first
    use of ``con``, so a process that only reads computed results never starts one. Everything
    here goes through ``con``, so the engine steps never need to know which engine runs them.
    """

    db: duckdb.DuckDBPyConnection | None
    params: Params
    inputs: list[InputFile] = field(default_factory=list)
    notes: list[LoadNote] = field(default_factory=list)
    #: pyspark: the folder of Parquet files Spark reads (one per table)
    parquet_dir: Path | None = None
    #: pyspark: remove ``parquet_dir`` on close (a temporary folder of an in-memory load)
    owns_dir: bool = False
    _ibis: ibis.BaseBackend | None = field(default=None, init=False, repr=False)
    _tables: dict[str, ibis.Table] = field(default_factory=dict, init=False, repr=False)

    @property
    def backend(self) -> str:
        """``duckdb`` or ``pyspark`` (params ``engine.backend``)."""
        return self.params.engine.backend

    @property
    def con(self) -> ibis.BaseBackend:
        """The Ibis backend every expression runs on (DuckDB, or Spark started on first use)."""
        if self._ibis is None:
            if self.backend == "pyspark":
                from cxlib.data import spark

                self._ibis = spark.connect(self.params.engine, self.parquet_dir)
            else:
                self._ibis = ibis.duckdb.from_connection(self.db)
        return self._ibis

    def table(self, name: str) -> ibis.Table:
        """The Ibis table ``name`` (a canonical table or a derived view).

        On DuckDB the expression is kept (Ibis reads the table's schema each time it makes one), and
        forgotten when this store replaces the table (:meth:`save_view`, :meth:`save_table`).
        """
        if self.backend == "pyspark":
            return self.con.table(name)
        if name not in self._tables:
            self._tables[name] = self.con.table(name)
        return self._tables[name]

    def has(self, name: str) -> bool:
        """Whether the table or view ``name`` exists (a table the client gave, or a derived one)."""
        if self.backend == "pyspark":
            from cxlib.data import spark

            return name in spark.tables_in(self.parquet_dir)
        # the catalog asked directly: what Ibis's list_tables() lists (tables and views of the current
        # schema, temporary ones included), without compiling its query on every call (a report asks a
        # few hundred times)
        return bool(self.db.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_catalog IN (current_database(), 'temp') "
            "AND table_schema = current_schema() AND table_name = ?", [name]).fetchone()[0])

    def columns(self, name: str) -> list[str]:
        """Column names of a table ([] when it does not exist)."""
        if not self.has(name):
            return []
        if self.backend == "pyspark":
            return list(self.table(name).columns)
        return [d[0] for d in self.db.execute(f"SELECT * FROM {quote(name)} LIMIT 0").description]

    def has_column(self, name: str, column: str) -> bool:
        return column in self.columns(name)

    def df(self, name: str) -> pd.DataFrame:
        """A whole table as pandas (for the small tables only: codebook, swot inputs...), in the
        table's order and with the same dtypes on either engine."""
        if self.backend == "pyspark":
            from cxlib.data import spark

            return spark.to_pandas(self.table(name))
        return self.db.execute(f"SELECT * FROM {quote(name)}").df()

    def save_view(self, name: str, expr: ibis.Table) -> None:
        """Make ``expr`` available as ``name``: a view in DuckDB (computed when read), a Parquet
        table written by Spark (so every process opening the folder sees it)."""
        self._tables.pop(name, None)
        if self.backend == "pyspark":
            from cxlib.data import spark

            spark.save(self.con, name, expr, self.parquet_dir)
        else:
            self.db.execute(f"CREATE OR REPLACE VIEW {quote(name)} AS {ibis.to_sql(expr, dialect='duckdb')}")

    def save_table(self, name: str, expr: ibis.Table) -> None:
        """Compute ``expr`` once into the table ``name`` (DuckDB table, or Parquet through Spark)."""
        self._tables.pop(name, None)
        if self.backend == "pyspark":
            from cxlib.data import spark

            spark.save(self.con, name, expr, self.parquet_dir)
        else:  # the expression's SQL (Ibis 12 with sqlglot 30 writes DROP/RENAME that DuckDB refuses)
            self.db.execute(f"CREATE OR REPLACE TABLE {quote(name)} AS {ibis.to_sql(expr, dialect='duckdb')}")

    def release_memory(self, above_mb: float = 64) -> None:
        """Drop the table blocks DuckDB keeps cached after its queries when they pass ``above_mb``,
        where the database is a file they are read again from (an in-memory database has nowhere
        to put them).

        DuckDB keeps every block it reads until its memory limit presses, so a kernel running one
        analysis after another kept up to 0.8 GB of blocks at 1M customers; lowering the limit
        for a moment evicts them (a few ms to tens of ms) and the next query reads what it needs.
        A small client's blocks stay: reading them again would cost more than they weigh.
        """
        if self.db is None:
            return
        path, limit, cached = self.db.execute(
            "SELECT (SELECT path FROM duckdb_databases() WHERE database_name = current_database()), "
            "current_setting('memory_limit'), (SELECT sum(memory_usage_bytes) FROM duckdb_memory())").fetchone()
        if not path or (cached or 0) <= above_mb * 2 ** 20:
            return
        try:
            self.db.execute("SET memory_limit = '1MB'")
        except duckdb.Error:  # more is pinned (a query's state): evicted as far as it could
            pass
        finally:
            self.db.execute(f"SET memory_limit = {literal(self.params.engine.memory_limit or limit)}")

    def close(self) -> None:
        """Close the database; with Spark, stop the session this store started."""
        if self.db is not None:
            self.db.close()
        if self._ibis is not None and self.backend == "pyspark":
            self._ibis.disconnect()
        self._ibis = None
        self._tables.clear()
        if self.owns_dir and self.parquet_dir is not None:
            shutil.rmtree(self.parquet_dir, ignore_errors=True)


# --- SQL helpers ---------------------------------------------------------------------------


def quote(name: str) -> str:
    """A DuckDB identifier, quoted."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(value) -> str:
    """A DuckDB literal for a Python scalar."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _display(path: Path) -> str:
    """A path as messages and the manifest show it: relative to the project root when inside."""
    try:
        return str(Path(path).resolve().relative_to(paths.ROOT))
    except ValueError:
        return str(path)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks (for the run manifest)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- reading files -------------------------------------------------------------------------

_ENCODING_HINT = ("cp1256 for Arabic Windows exports, latin-1 or cp1252 for Western European ones, "
                  "utf-16 for Excel's 'Unicode text'")


def _line_of_offset(path: Path, offset: int) -> int:
    with open(path, "rb") as f:
        return f.read(offset).count(b"\n") + 1


def detect_encoding(path: Path, declared: str = "auto") -> tuple[str, str]:
    """The text encoding of a CSV export and how it was decided (``declared``, ``bom``, ``utf-8``,
    ``detected``).

    A byte-order mark decides (UTF-8, UTF-16); otherwise the whole file is checked as UTF-8 in a
    streaming pass; a file that is not UTF-8 is identified by ``charset_normalizer`` on its first
    megabyte. A zip archive or workbook saved as ``.csv`` is refused with the fix.
    """
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    if head.startswith(b"PK\x03\x04"):
        raise DataValidationError(
            f"{_display(path)}: this is a zip archive (an Excel workbook or a zipped export) saved with a "
            f"{path.suffix} name. Fix: unzip it, or save the sheet as CSV, or rename it .xlsx and point "
            "params at it.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataValidationError(
            f"{_display(path)}: this is an old Excel (.xls) workbook saved with a {path.suffix} name. "
            "Fix: save it as .xlsx or CSV (UTF-8).")
    declared = (declared or "auto").lower()
    if declared != "auto":
        try:
            codecs.lookup(declared)
        except LookupError:
            raise ParameterError(f"encoding {declared!r} is not known; use e.g. {_ENCODING_HINT}.") from None
        if codecs.lookup(declared).name not in ("utf-8", "utf-8-sig"):
            return declared, "declared"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "bom"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "bom"
    if declared == "auto" and head[:2000].count(b"\x00") > 100:  # UTF-16 without a byte-order mark
        return ("utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"), "detected"
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                decoder.decode(chunk)
                offset += len(chunk)
            decoder.decode(b"", final=True)
        return ("utf-8", "declared") if declared != "auto" else ("utf-8", "utf-8")
    except UnicodeDecodeError as e:
        bad = offset + e.start
    guess = guess_single_byte(head)
    line = _line_of_offset(path, bad)
    if declared != "auto":
        raise DataValidationError(
            f"{_display(path)}: line {line} is not valid {declared} (byte offset {bad}); the file looks like "
            f"{guess or 'another encoding'}. Fix: declare the file's encoding in params "
            f"(tables.<table>.encoding: {guess or '...'}; {_ENCODING_HINT}), or save it as CSV UTF-8.")
    if guess is None:
        raise DataValidationError(
            f"{_display(path)}: line {line} is not valid UTF-8 (byte offset {bad}) and the encoding could not be "
            f"identified. Fix: save the file as CSV UTF-8, or declare its encoding in params "
            f"(tables.<table>.encoding: ...; {_ENCODING_HINT}).")
    return guess, "detected"


def guess_single_byte(sample: bytes) -> str | None:
    """The single-byte encoding a non-UTF-8 sample is most likely written in.

    Arabic Windows (cp1256) when most of its non-ASCII bytes decode to Arabic letters; else
    cp1252 (Western European, a superset of Latin-1's printable characters); the report says the
    encoding was detected, so that an analyst can declare another (cp1250, iso-8859-6...).
    """
    high = [b for b in sample if b >= 0x80]
    if not high:
        return None
    text = sample.decode("cp1256", errors="replace")
    non_ascii = [ch for ch in text if ord(ch) >= 0x80]
    arabic = sum(1 for ch in non_ascii if "\u0600" <= ch <= "\u06ff")
    if non_ascii and arabic / len(non_ascii) >= 0.6:
        return "cp1256"
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _transcode(path: Path, encoding: str, tmp_dir: Path) -> Path:
    """Stream ``path`` from ``encoding`` into a UTF-8 temporary file (1 MiB at a time)."""
    fd, out = tempfile.mkstemp(suffix=".csv", dir=tmp_dir)
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    try:
        with open(path, "rb") as src, os.fdopen(fd, "w", encoding="utf-8", newline="") as dst:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                dst.write(decoder.decode(chunk))
                offset += len(chunk)
            dst.write(decoder.decode(b"", final=True))
    except UnicodeDecodeError as e:
        Path(out).unlink(missing_ok=True)
        bad = offset + e.start
        raise DataValidationError(
            f"{_display(path)}: line {_line_of_offset(path, bad)} cannot be read as {encoding} (byte offset {bad}). "
            f"Fix: declare the file's real encoding in params (tables.<table>.encoding: ...; {_ENCODING_HINT}), "
            "or save it as CSV UTF-8.") from None
    return Path(out)


def _excel_to_parquet(path: Path, sheet, tmp_dir: Path, header_line: int = 1) -> Path:
    """Stream a workbook sheet (openpyxl, read-only) into a Parquet file of text columns; the column
    names are on row ``header_line`` (the rows above it, a title, are not read)."""
    import openpyxl
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable workbook
        raise DataValidationError(f"{_display(path)}: could not be opened as an Excel workbook ({e}).") from None
    try:
        ws = wb[sheet] if isinstance(sheet, str) else wb.worksheets[sheet or 0]
    except (KeyError, IndexError):
        raise ParameterError(f"{_display(path)}: sheet {sheet!r} not found; sheets are {wb.sheetnames}.") from None
    rows = ws.iter_rows(values_only=True)
    for _ in range(header_line - 1):  # a title above the column names
        next(rows, None)
    header = next(rows, None)
    if header is None:
        raise DataValidationError(f"{_display(path)}: the sheet is empty.")
    names = [str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(header)]

    def cell(v):
        if v is None:
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        if hasattr(v, "isoformat"):
            return v.isoformat(sep=" ") if hasattr(v, "hour") else v.isoformat()
        return str(v)

    fd, out = tempfile.mkstemp(suffix=".parquet", dir=tmp_dir)
    os.close(fd)
    schema = pa.schema([(n, pa.string()) for n in ["_line", *names]])
    line = header_line
    blank: list[int] = []  # lines of empty rows not yet known to lie between records
    with pq.ParquetWriter(out, schema) as writer:
        batch: list[list] = []
        for values in rows:
            line += 1
            if values is None or all(v is None for v in values):
                blank.append(line)
                continue
            # an empty row between records stays, as in a CSV, so that the loader counts it and
            # leaves it out (empty_rows); empty rows after the last record are the sheet's unused,
            # formatted rows, not records, and are not read
            batch.extend([str(b), *[None] * len(names)] for b in blank)
            blank = []
            batch.append([str(line), *[cell(v) for v in list(values)[:len(names)]]
                          + [None] * (len(names) - len(values))])
            if len(batch) >= 50_000:
                writer.write_table(pa.Table.from_pylist([dict(zip(schema.names, r, strict=True)) for r in batch],
                                                        schema=schema))
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist([dict(zip(schema.names, r, strict=True)) for r in batch],
                                                    schema=schema))
    wb.close()
    return Path(out)


def _read_error(path: Path, e: duckdb.Error) -> DataValidationError:
    """The message for an export DuckDB cannot read, with the fix."""
    msg = str(e).split("\n")[0]
    return DataValidationError(
        f"{_display(path)}: could not be read as {path.suffix.lower()[1:].upper()} ({msg}). Fix: check that every "
        "line has the same number of columns and that quotes are closed, or declare the delimiter/encoding in "
        "params (tables.<table>.delimiter / encoding).")


#: a Qualtrics export's third line: each column's import id as JSON ({"ImportId":"QID1"})
_IMPORT_ID = re.compile(r'^\s*\{\s*"ImportId"\s*:')
#: where read_raw keeps the lines under the header it left out (question texts, import ids)
HEADER_ROWS = "_header_rows_"
#: a SurveyMonkey export's second header line names each column's answer type
_ANSWER_TYPES = {"Response", "Open-Ended Response"}


def _header_lines(top: list[tuple]) -> int:
    """How many lines under the header are more header, from the first two: 2 for Qualtrics (question
    texts, then import ids as JSON), 1 for SurveyMonkey (answer types: 'Response', 'Open-Ended
    Response', under an empty respondent id), else 0."""
    if len(top) == 2 and any(_IMPORT_ID.match(str(v or "")) for v in top[1]):
        return 2
    if top and not (top[0][0] or "").strip() and any(str(v or "").strip() in _ANSWER_TYPES for v in top[0]):
        return 1
    return 0


#: where read_raw keeps the lines it left out as no record: (_line, kind) with kind ``empty`` or ``summary``
LEFT_ROWS = "_left_rows_"
#: how many lines of an export :func:`detect_header_line` reads
_HEAD_LINES = 30


def _header_among(rows: list[list]) -> int:
    """The 1-based position of the column names among an export's first ``rows`` (cells as text or
    None): the first row of two or more filled cells that the next filled rows (up to five) match in
    width (a CSV line's fields; an Excel row is always as wide as the sheet), most with two or more
    values and none with more values than it, and above which every row has fewer filled cells (a
    title, a 'generated on' line, blank rows). 1 when the rows open with their names, or when no row
    fits that rule."""
    def filled(r):
        return sum(1 for v in r if v is not None and str(v).strip())

    for j, r in enumerate(rows):
        k = filled(r)
        if k < 2 or any(filled(x) >= k for x in rows[:j]):
            continue
        below = [x for x in rows[j + 1:] if filled(x)][:5]
        if below and all(len(x) == len(r) and filled(x) <= k for x in below) \
                and 2 * sum(filled(x) >= 2 for x in below) > len(below):
            return j + 1
    return 1


def detect_header_line(path: Path, sheet=None, encoding: str = "auto") -> int:
    """The line (CSV) or row (Excel) of an export's column names, when a title stands above them
    (see :func:`_header_among`); 1 otherwise, and for Parquet. CSV lines are split on the one of
    , ; tab | that gives the widest header."""
    import csv as _csv

    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            ws = wb[sheet] if isinstance(sheet, str) else wb.worksheets[sheet or 0]
            rows = [list(r) for _, r in zip(range(_HEAD_LINES), ws.iter_rows(values_only=True), strict=False)]
            wb.close()
        except Exception:  # noqa: BLE001 - an unreadable workbook is reported by the reader itself
            return 1
        return _header_among(rows)
    if suffix not in (".csv", ".txt", ".tsv"):
        return 1
    try:
        enc, _ = detect_encoding(path, encoding)
        with open(path, encoding="utf-8-sig" if enc in ("utf-8", "ascii") else enc, errors="replace", newline="") as f:
            lines = [f.readline() for _ in range(_HEAD_LINES)]
    except (OSError, ParameterError, DataValidationError, LookupError):
        return 1
    lines = [ln.rstrip("\r\n") for ln in lines if ln]
    best = 1
    for delim in (",", ";", "\t", "|"):
        rows = [next(_csv.reader([ln], delimiter=delim), []) if ln else [] for ln in lines]
        at = _header_among(rows)
        if at > 1 and (best == 1 or len(rows[at - 1]) > len(rows[best - 1])):
            best = at
    return best


#: temp table of one export's columns that no header names: fields beyond the header's on some lines
OVERFLOW = "_overflow_"


def _note_overflow(db: duckdb.DuckDBPyConnection, table: str, src: Path, reader: str, opts: list[str],
                   source: TableSource, suffix: str) -> None:
    """Keep aside (table ``_overflow_<table>``) the columns DuckDB made for fields beyond the header's:
    lines with more fields than the header, from a delimiter misread (a one-column export of texts
    holding ';') or texts holding the delimiter unquoted. Read as they are, those fields would be an
    unnamed column no mapping takes: text cut short without a word."""
    import csv as _csv

    db.execute(f"DROP TABLE IF EXISTS {quote(OVERFLOW + table)}")
    cols = [d[0] for d in db.execute(f"SELECT * FROM {reader} LIMIT 0").description]
    if source.delimiter or suffix == ".tsv":
        delim, quote_char = source.delimiter or "\t", '"'
    else:
        # the reader's own options, so that the sniffer decides as it did for the reader
        delim, quote_char = db.execute(f"SELECT Delimiter, Quote FROM sniff_csv({literal(str(src))}, "
                                       f"{', '.join(opts)})").fetchone()
    if len(delim) != 1:  # a delimiter of several characters: no reading of the header here
        return
    with open(src, encoding="utf-8-sig", errors="replace", newline="") as f:
        # the sniffer says "(empty)" where the sample has no quotes: the header is read with the usual '"'
        quote_char = quote_char if quote_char and len(quote_char) == 1 else '"'
        for _ in range(source.header_line - 1):  # the lines above the column names
            f.readline()
        header = next(_csv.reader(f, delimiter=delim, quotechar=quote_char), [])
    extra = cols[len(header):] if header and len(cols) > len(header) else []
    if extra:
        db.execute(f"CREATE OR REPLACE TEMP TABLE {quote(OVERFLOW + table)} AS SELECT * FROM "
                   f"(VALUES {', '.join(f'({literal(c)}, {literal(delim)}, {len(header)})' for c in extra)}) "
                   "t(name, delim, fields)")
#: the first cell of a totals row an analyst's export ends with (compared trimmed, in lower case)
SUMMARY_LABELS = ("total", "totals", "grand total", "sum", "average", "mean", "count", "overall",
                  "المجموع", "مجموع", "الإجمالي", "الاجمالي", "إجمالي", "اجمالي", "المتوسط", "المعدل")


def _filler_rows(db, rel: str, na: list[str]) -> list[tuple[int, str]]:
    """The lines of ``rel`` that hold no record: every cell empty or a no-value token such as 'n/a'
    (``na``: the table's own tokens; a spreadsheet's blank or formatted-only rows), and a totals row
    closing the export (its first filled cell is a :data:`SUMMARY_LABELS` label and no record comes
    after it). One pass over the file."""
    cols = [d[0] for d in db.execute(f"SELECT * FROM {quote(rel)} LIMIT 0").description if d[0] != "_line"]
    if not cols:
        return []
    return _filler_lines(db, rel, "_line", *_filler_predicates([_clean_text(quote(c), na) for c in cols]))


def _filler_lines(db, rel: str, line: str, empty: str, summary: str) -> list[tuple[int, str]]:
    """(line, ``empty`` | ``summary``) of the rows of ``rel`` where ``empty`` holds, and of the rows
    where ``summary`` holds with no other record after them; ``line`` numbers the rows. One query."""
    empties, summaries, last = db.execute(
        f"SELECT list({line}) FILTER (WHERE {empty}), list({line}) FILTER (WHERE {summary} AND NOT ({empty})), "
        f"max({line}) FILTER (WHERE NOT ({empty}) AND NOT coalesce({summary}, false)) FROM {quote(rel)}").fetchone()
    return sorted([(int(x), "empty") for x in empties or []]
                  + [(int(x), "summary") for x in summaries or [] if x > (last or 0)])


def _comma_decimal(expr: str) -> str:
    """A number written with a decimal comma (1.234,56) as the engine reads numbers (1234.56)."""
    return f"replace(replace({expr}, '.', ''), ',', '.')"


def _filler_predicates(cells: list[str]) -> tuple[str, str]:
    """(every cell empty, first filled cell a totals label) over a row's cells as text, in file order
    (each expression NULL for an empty cell)."""
    first = "coalesce(" + ", ".join(cells) + ")"
    return f"{first} IS NULL", _one_of(f"lower({first})", SUMMARY_LABELS)


def _leave_out_filler(db, table: str, rel: str, na: list[str]) -> None:
    """Keep the lines :func:`_filler_rows` finds in :data:`LEFT_ROWS` ``+ table`` (the loader
    states them) and delete them from the table ``rel``. (A CSV the loader reads as a view is not
    passed here: :meth:`_TableLoader.create` marks the same rows while it reads the file.)"""
    left = _filler_rows(db, rel, na)
    if not left:
        return
    name = quote(LEFT_ROWS + table)
    db.execute(f"CREATE OR REPLACE TEMP TABLE {name} (_line BIGINT, kind VARCHAR)")
    db.executemany(f"INSERT INTO {name} VALUES (?, ?)", left)
    db.execute(f"DELETE FROM {quote(rel)} WHERE _line IN (SELECT _line FROM {name})")


def read_raw(db: duckdb.DuckDBPyConnection, table: str, path: Path, source: TableSource,
             tmp_dir: Path, *, materialize: bool = True) -> tuple[str, str, str]:
    """Read one export into the raw relation ``_raw_<table>`` with a ``_line`` column.

    Returns (relation name, encoding used, how the encoding was decided). CSV cells stay text
    (typing comes next, with every bad cell reported); Parquet keeps its own types.
    ``materialize=False`` (the loader): a CSV export stays a view on the file (read again by each
    query; a transcoded copy stays in ``tmp_dir`` until the caller removes it), so a file that
    cannot be parsed fails on the first query that reads it, not here.
    """
    rel = f"_raw_{table}"
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            encoding, how = detect_encoding(path, source.encoding)
            src = path if encoding in ("utf-8", "ascii") else _transcode(path, encoding, tmp_dir)
            # one reader thread: DuckDB's parallel CSV scanner refuses null_padding (short rows) together
            # with a quoted new line (a multi-line comment, common in survey and social exports); with
            # every cell read as text it is no slower here (130 MB of customers: 1.05 s vs 1.10 s)
            opts = ["header = true", "all_varchar = true", "null_padding = true", "parallel = false"]
            above = source.header_line - 1  # lines above the column names (a title): not read
            if above:
                opts.append(f"skip = {above}")
            if source.delimiter:
                opts.append(f"delim = {literal(source.delimiter)}")
            elif suffix == ".tsv":
                opts.append("delim = '\t'")
            what = "TABLE" if materialize else "VIEW"
            reader = f"read_csv({literal(str(src))}, {', '.join(opts)})"
            # a Qualtrics export: the question texts and import ids fill the two lines under the header
            # a survey platform's lines under the header (question texts, import ids, answer types)
            skip = _header_lines(db.execute(f"SELECT * FROM {reader} LIMIT 2").fetchall())
            first = 1 + above  # the line of the column names
            if skip:  # kept aside (the draft reads the question texts), left out of the data
                db.execute(f"CREATE OR REPLACE TEMP TABLE {quote(HEADER_ROWS + table)} AS SELECT row_number() "
                           f"OVER () + {first} AS _line, * FROM (SELECT * FROM {reader} LIMIT {skip})")
            body = (f"SELECT * FROM (SELECT row_number() OVER () + {first} AS _line, * FROM {reader})"
                    + (f" WHERE _line > {first + skip}" if skip else ""))
            db.execute(f"CREATE OR REPLACE {what} {quote(rel)} AS {body}")
            _note_overflow(db, table, src, reader, opts, source, suffix)
            if materialize:  # the loader finds them in the pass that creates its table (no pass of its own)
                _leave_out_filler(db, table, rel, source.na_values)
            if src != path and materialize:
                src.unlink(missing_ok=True)
            return rel, encoding, how
        if suffix in (".parquet", ".pq"):
            db.execute(f"CREATE OR REPLACE VIEW {quote(rel)} AS SELECT file_row_number + 1 AS _line, * EXCLUDE (file_row_number) "
                       f"FROM read_parquet({literal(str(path))}, file_row_number = true)")
            return rel, "parquet", "binary"
        if suffix in (".xlsx", ".xlsm"):
            pq_path = _excel_to_parquet(path, source.sheet, tmp_dir, source.header_line)
            db.execute(f"CREATE OR REPLACE TABLE {quote(rel)} AS SELECT CAST(_line AS BIGINT) AS _line, * EXCLUDE (_line) "
                       f"FROM read_parquet({literal(str(pq_path))})")
            pq_path.unlink(missing_ok=True)
            skip = _header_lines(db.execute(f"SELECT * EXCLUDE (_line) FROM {quote(rel)} ORDER BY _line LIMIT 2").fetchall())
            if skip:  # a survey platform's workbook: the lines under the header are not answers
                first = f"(SELECT _line FROM {quote(rel)} ORDER BY _line LIMIT {skip})"
                db.execute(f"CREATE OR REPLACE TEMP TABLE {quote(HEADER_ROWS + table)} AS SELECT * FROM {quote(rel)} "
                           f"WHERE _line IN {first}")
                db.execute(f"DELETE FROM {quote(rel)} WHERE _line IN (SELECT _line FROM {quote(HEADER_ROWS + table)})")
            _leave_out_filler(db, table, rel, source.na_values)
            return rel, "xlsx", "binary"
    except duckdb.Error as e:
        raise _read_error(path, e) from None
    raise ParameterError(f"{_display(path)}: unsupported file type {suffix!r}; use .csv, .parquet or .xlsx.")


# --- mapping, typing and checking ----------------------------------------------------------


@dataclass
class _Problem:
    column: str
    check: str
    kind: str
    count: int = 0
    lines: list[int] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    message: str | None = None  # a whole message (mapping problems)


def _lines_label(lines: list[int], count: int, binary: bool) -> str:
    word = "row" if binary else "line"
    shown = ", ".join(str(i) for i in lines[:8])
    count = max(count, len(lines))
    more = f" and {count - min(len(lines), 8):,} more" if count > min(len(lines), 8) else ""
    return f"{word}{'s' if count > 1 else ''} {shown}{more}"


def _one_of(expr: str, values) -> str:
    """Whether ``expr`` is one of the texts ``values`` (NULL when it is NULL), as a function call:
    DuckDB turns an ``IN`` list of five or more values into a join, which every query reading the
    expression then computes for all rows, even when it does not use the result."""
    return f"list_contains([{', '.join(literal(str(v)) for v in values)}], {expr})"


def _clean_text(expr: str, na: list[str]) -> str:
    """Trimmed text, with the 'no value' tokens as NULL (compared in lower case only when the
    text is no longer than the longest token: lower-casing keeps the number of characters)."""
    tokens = sorted(set(NA_TOKENS) | {x.strip().lower() for x in na})
    t = f"TRIM(CAST({expr} AS VARCHAR))"
    return f"(CASE WHEN length({t}) <= {max(map(len, tokens))} AND {_one_of(f'lower({t})', tokens)} THEN NULL ELSE {t} END)"


def _as_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _sql_list(items) -> str:
    """A SQL list of text literals."""
    return "[" + ", ".join(literal(i) for i in items) + "]"


def _date_formats(dayfirst: bool) -> list[str]:
    out = []
    for sep in _SEPS:
        for year in ("%y", "%Y"):  # %Y would read 18 as the year 18; %y refuses 2018
            d = f"%d{sep}%m{sep}{year}" if dayfirst else f"%m{sep}%d{sep}{year}"
            out += [d + t for t in _TIMES]
    return out


class _TableLoader:
    """Load one table: map, type, check, exclude, and create it in the database.

    The export is read by the queries that need it, never copied first: a CSV stays a view on the
    file (re-parsing it is cheaper than writing it), a Parquet file is scanned where it lies. One
    aggregate query gathers what typing must decide from the data (day-first or month-first dates,
    time-zone offsets, numeric extra columns); one ``CREATE TABLE .. AS`` then writes the typed
    table with, for each column that can fail to type, a small failure code; one aggregate query
    over that table counts every problem (type failures, ranges, allowed values, required values,
    duplicates, future dates). Only a problem found costs more queries (its lines and examples).
    Left-out rows are deleted, which keeps the file order; the failure codes are dropped.
    """

    def __init__(self, db, params: Params, table: str, now: pd.Timestamp, tmp_dir: Path,
                 digest: Future | None = None, part: tuple[int, TableSource, Path] | None = None):
        self.db, self.params, self.table, self.now, self.tmp_dir = db, params, table, now, tmp_dir
        # one of several files of the table (``part``: its number from 1, settings and path) is loaded
        # into a table of its own, stacked into ``table`` by load_store once every file passed
        self.part = part[0] if part else None
        self.source, self.path = (part[1], part[2]) if part else params.table_parts(table)[0]
        self.name = f"{table}__part{self.part}" if part else table
        self.contract = TABLES[table]
        self.shown = _display(self.path)
        self.problems: list[_Problem] = []
        self.notes: list[LoadNote] = []
        self._left_lines: list[int] = []  # lines read as no record (blank, a closing total): left out
        self._filler_cells: list[str] = []
        self.digest = digest  # the file's SHA-256, computed beside the load (load_store)

    # -- steps ----------------------------------------------------------------------------
    def load(self) -> InputFile | None:
        rel, encoding, how = read_raw(self.db, self.name, self.path, self.source, self.tmp_dir, materialize=False)
        suffix = self.path.suffix.lower()
        self.binary = suffix in (".parquet", ".pq")
        self.csv = suffix in (".csv", ".txt", ".tsv")
        # the line (CSV) or row (Parquet) of a row of the new table: its position, or the workbook line
        self.line = "_line" if suffix in (".xlsx", ".xlsm") else f"(rowid + {2 if self.csv else 1})"
        header_rows = HEADER_ROWS + self.name
        if self.db.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [header_rows]).fetchone()[0]:
            # a Qualtrics export: its question-text and import-id lines are not responses
            lines = [r[0] for r in self.db.execute(f"SELECT _line FROM {quote(header_rows)} ORDER BY 1").fetchall()]
            self.db.execute(f"DROP TABLE {quote(header_rows)}")
            if len(lines) == 2:
                self.note("", "header_rows", 2, f"lines {lines[0]}, {lines[1]}: question texts and import ids under "
                          "the column names (a Qualtrics export), not responses")
            else:
                self.note("", "answer_type_row", 1, f"line {lines[0]}: answer types under the column names "
                          "(a SurveyMonkey export), not a response")
            self.line = "_line"  # the rows left are numbered by their own lines, not their position
        overflow = OVERFLOW + self.name
        if self.db.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [overflow]).fetchone()[0]:
            extra = self.db.execute(f"SELECT name, delim, fields FROM {quote(overflow)}").fetchall()
            self.db.execute(f"DROP TABLE {quote(overflow)}")
            if not self._title_above():
                self._overflow(rel, extra)
            return None
        left_rows = LEFT_ROWS + self.name
        if self.db.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [left_rows]).fetchone()[0]:
            self.note_left(self.db.execute(f"SELECT _line, kind FROM {quote(left_rows)}").fetchall())
            self.line = "_line"  # the rows left are numbered by their own lines, not their position
        if how == "detected" and encoding not in ("utf-8",):
            self.note("", "encoding", 0, f"read as {encoding} (detected; declare tables.{self.table}.encoding to be sure)")
        raw_types = dict(self.db.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position", [rel]).fetchall())
        raw_types.pop("_line", None)
        sources = self.map_columns(list(raw_types))
        if any(p.message for p in self.problems):
            if self._title_above():  # the names the params map are further down: that is the problem
                self.problems = self.problems[-1:]
            return None
        exprs = self.text_exprs(sources, raw_types)
        mapped = f"_mapped_{self.name}"
        select = ", ".join(["_line"] + [f"{e} AS {quote(c)}" for c, e in exprs.items()])
        self.db.execute(f"CREATE OR REPLACE TEMP VIEW {quote(mapped)} AS SELECT {select} FROM {quote(rel)}")
        try:
            pre, values, typed, fails = self.typed_exprs(mapped, exprs, raw_types, sources)
        except duckdb.Error as e:  # the first query that parses the whole file
            if self.csv:
                raise _read_error(self.path, e) from None
            raise
        if any(p.message for p in self.problems):
            return None
        # two layers, so that DuckDB computes each parsed value once (an expression used twice in
        # one projection is computed for every row, even inside a CASE branch that few rows take)
        parsed = f"_values_{self.name}"
        first = "".join(f", {e} AS {quote('__s__' + c)}" for c, e in pre.items())
        extra = "".join(f", {e} AS {quote('__v__' + c)}" for c, e in values.items())
        self.db.execute(f"CREATE OR REPLACE TEMP VIEW {quote(parsed)} AS SELECT *{extra} "
                        f"FROM (SELECT *{first} FROM {quote(mapped)})")
        self._typed_fails = list(fails)  # the columns with a failure code
        cols = list(typed)
        order = {name: i for i, name in enumerate(raw_types)}
        raw = sorted((order[ref], c) for c, (kind, ref) in sources.items() if kind == "raw")  # in file order
        self._filler_cells = [quote(c) for _, c in raw] if self.csv and not self._left_lines else []
        self.create(parsed, typed, fails)
        if self._filler_cells:
            self.leave_out_filler()
        total = self.check(parsed, cols, fails)
        self.exclusions(cols, total)
        if self.problems:
            self._drop(self.name, parsed, mapped, rel, LEFT_ROWS + self.name)
            return None
        self.create_notes(cols)
        rows = self.db.execute(f"SELECT count(*) FROM {quote(self.name)}").fetchone()[0]
        if rows == 0:
            why = (f"all {total:,} of its rows were left out (see the notes above: future dates or invalid rows)"
                   if total else "it has a header but no data rows")
            raise DataValidationError(
                f"{self.shown}: the {self.table} table is empty: {why}. Fix: export the data again, or remove "
                f"tables.{self.table} from params if the client has no such data.")
        for c in fails:
            self.db.execute(f"ALTER TABLE {quote(self.name)} DROP COLUMN {quote('__bad__' + c)}")
        if self.line == "_line":
            self.db.execute(f"ALTER TABLE {quote(self.name)} DROP COLUMN _line")
        self._drop(parsed, mapped, rel, LEFT_ROWS + self.name)  # the raw view reads the left-out lines
        ncols = len(self.db.execute(f"SELECT * FROM {quote(self.name)} LIMIT 0").description)
        sha = self.digest.result() if self.digest is not None else sha256_file(self.path)
        # rows left out: future-dated or invalid ones, and the file's rows that hold no record
        return InputFile(self.table, self.shown, sha, int(rows), ncols, encoding,
                         int(total - rows) + len(self._left_lines))

    def note_left(self, left: list[tuple[int, str]]) -> None:
        """State the lines left out as no record (every cell empty; a closing totals row)."""
        self._left_lines = sorted(int(x) for x, _ in left)
        for kind in ("empty", "summary"):
            lines = sorted(int(x) for x, k in left if k == kind)
            if not lines:
                continue
            what = "every cell empty" if kind == "empty" else "a totals row closing the export, not a record"
            shown = ", ".join(map(str, lines[:8])) + (f" and {len(lines) - 8:,} more" if len(lines) > 8 else "")
            self.note("", f"{kind}_rows", len(lines), f"line{'s' if len(lines) > 1 else ''} {shown}: {what}, left out",
                      excluded=True)

    def leave_out_filler(self) -> None:
        """Delete the rows :meth:`create` marked as no record (every cell empty, or a totals row with no
        record after it), numbering the rows left by their file lines, and state them."""
        t = quote(self.name)
        left = _filler_lines(self.db, self.name, self.line, "__empty__", "__total__")
        if left:
            if self.line != "_line":  # deleting rows would renumber positions: keep each row's line
                self.db.execute(f"ALTER TABLE {t} ADD COLUMN _line BIGINT")
                self.db.execute(f"UPDATE {t} SET _line = {self.line}")
                self.line = "_line"
            self.db.execute(f"DELETE FROM {t} WHERE list_contains({[int(x) for x, _ in left]}, _line)")
            self.note_left(left)
        self.db.execute(f"ALTER TABLE {t} DROP COLUMN __empty__")
        self.db.execute(f"ALTER TABLE {t} DROP COLUMN __total__")

    def _drop(self, *names: str) -> None:
        kinds = dict(self.db.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall())
        for name in names:
            if name in kinds:
                what = "VIEW" if kinds[name] == "VIEW" else "TABLE"
                self.db.execute(f"DROP {what} IF EXISTS {quote(name)}")

    def note(self, column: str, kind: str, rows: int, detail: str = "", excluded: bool = False) -> None:
        self.notes.append(LoadNote(self.table, self.shown, column, kind, int(rows), detail, excluded))

    def _title_above(self) -> bool:
        """With the column names read from line 1 and a title found above the real ones
        (:func:`detect_header_line`): record that as the file's problem (the fix names the line) and
        say True."""
        if self.source.header_line != 1 or self.binary:
            return False
        at = detect_header_line(self.path, self.source.sheet, self.source.encoding)
        if at == 1:
            return False
        word = "line"  # as every problem names it (an Excel row is its line)
        self.problem(column="(header)", check="title above the column names", kind="row", message=(
            f"  - the column names are on {word} {at}, under {at - 1} {word}{'s' if at > 2 else ''} of title "
            f"(a report's heading, a 'generated on' line), and were read from {word} 1. Fix: declare "
            f"tables.{self.table}.header_line: {at} in params (or delete the {word}s above the names)."))
        return True

    def _overflow(self, rel: str, extra: list[tuple]) -> None:
        """The problem of lines with more fields than the header (see :func:`_note_overflow`)."""
        delim, fields = extra[0][1], extra[0][2]
        filled = " OR ".join(f"{quote(name)} IS NOT NULL" for name, *_ in extra)
        n = self.db.execute(f"SELECT count(*) FROM {quote(rel)} WHERE {filled}").fetchone()[0]
        lines = [r[0] for r in self.db.execute(f"SELECT _line FROM {quote(rel)} WHERE {filled} "
                                               "ORDER BY 1 LIMIT 8").fetchall()]
        said = "a tab" if delim == "\t" else repr(delim)
        self.problem(column="(row)", check="more fields than the header", kind="row", count=int(n), lines=lines,
                     message=(f"  - {_lines_label(lines, n, False)}: more fields than the header's {fields} when "
                              f"read with the delimiter {said}; the fields beyond it belong to no column and would "
                              f"be lost (a text cut short). Fix: declare the delimiter the export really uses in "
                              f"params (tables.{self.table}.delimiter: ',' or ';' or '\\t'), or have the export "
                              "quote its texts, so that a text holding the delimiter stays one field."))

    def problem(self, **kw) -> None:
        self.problems.append(_Problem(**kw))

    def map_columns(self, raw: list[str]) -> dict[str, tuple[str, str]]:
        """Canonical or extra column -> ("raw", export column) or ("const", value)."""
        src = self.source
        canonical = list(self.contract.schema.columns)
        out: dict[str, tuple[str, str]] = {}
        targets = src.targets()
        unknown = [c for c in targets if c not in raw]
        for c in unknown:
            close = difflib.get_close_matches(c, raw, n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(repr(x) for x in close)}?)" if close else ""
            self.problem(column=c, check="mapping", kind="missing", message=(
                f"  - params tables.{self.table}.columns maps {c!r}, which the file does not have{hint}. "
                f"Columns found: {', '.join(raw[:25])}{' ...' if len(raw) > 25 else ''}."))
        for export, names in targets.items():
            if export not in raw:
                continue
            for name in names:
                if name in out:
                    self.problem(column=name, check="mapping", kind="missing", message=(
                        f"  - column {name!r} is filled twice (from {out[name][1]!r} and {export!r}) in params "
                        f"tables.{self.table}.columns; keep one."))
                out[name] = ("raw", export)
        for name, value in src.constants.items():
            if name in out:
                self.problem(column=name, check="mapping", kind="missing", message=(
                    f"  - column {name!r} is both mapped from the file and set as a constant in params "
                    f"tables.{self.table}; keep one."))
            out[name] = ("const", value)
        mapped_exports = set(targets)
        lower_canon = {c.lower(): c for c in canonical}
        for col in raw:
            if col in mapped_exports:
                continue
            name = lower_canon.get(col.strip().lower(), col.strip())
            if name in out:
                if name in canonical and out[name][1] != col:
                    continue  # the params mapping wins over a same-named export column
                name = f"{name} (export)"
            out[name] = ("raw", col)
        for col in src.values:
            if col not in out:
                self.problem(column=col, check="mapping", kind="missing", message=(
                    f"  - params tables.{self.table}.values names column {col!r}, which this table does not have "
                    f"after mapping ({', '.join(list(out)[:20])})."))
        for col in src.dates:
            if col not in out:
                self.problem(column=col, check="mapping", kind="missing", message=(
                    f"  - params tables.{self.table}.dates names column {col!r}, which this table does not have "
                    f"after mapping ({', '.join(list(out)[:20])})."))
        seen: dict[str, str] = {}
        for name in out:
            if name.lower() in seen:
                self.problem(column=name, check="mapping", kind="missing", message=(
                    f"  - columns {seen[name.lower()]!r} and {name!r} differ only in case; rename one in params "
                    f"tables.{self.table}.columns."))
            seen[name.lower()] = name
        missing = [c for c in self.contract.required if c not in out]
        for c in missing:
            self.problem(column=c, check="column_in_dataframe", kind="missing")
        if self.contract.one_of and not any(c in out for c in self.contract.one_of):
            self.problem(column=" / ".join(self.contract.one_of), check="one_of", kind="missing", message=(
                f"  - the {self.table} table needs at least one of the columns {list(self.contract.one_of)}; "
                f"none is mapped (columns found: {', '.join(raw[:20])}). Fix: map your columns in params "
                f"tables.{self.table}.columns."))
        return out

    def text_exprs(self, sources, raw_types) -> dict[str, str]:
        """Each column as cleaned text (or its native value for typed Parquet columns)."""
        exprs = {}
        for name, (kind, ref) in sources.items():
            if kind == "const":
                exprs[name] = f"CAST({literal(_as_text(ref))} AS VARCHAR)"
                continue
            rtype = raw_types[ref].upper()
            if rtype != "VARCHAR" and name not in self.source.values:
                exprs[name] = quote(ref)  # typed Parquet column: kept as it is, cast later
                continue
            e = _clean_text(quote(ref), self.source.na_values)
            mapping = self.source.values.get(name)
            if mapping:
                cases = " ".join(f"WHEN {literal(str(k).strip().lower())} THEN {literal(_as_text(v))}"
                                 for k, v in mapping.items())
                e = f"(CASE lower({e}) {cases} ELSE {e} END)"
            exprs[name] = e
        return exprs

    _DATE_RX = r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})"
    _TZ_RX = r"(Z|[+-]\d\d:?\d\d)$"

    def survey(self, mapped: str, date_cols: list[str], tz_cols: list[str], text_extras: list[str]) -> dict:
        """What typing must learn from the data, in one pass over the export: for each undeclared
        text date column, how many cells look nn/nn/yyyy and how many can only be day-first or
        month-first; for each text timestamp column, how many carry a time-zone offset; for each
        text extra column, how many cells are numbers and whole numbers. For a CSV this pass is
        also where a file that cannot be parsed is found (``count(*)`` reads every line)."""
        parts, aggs, keys = [], ["count(*)"], [("rows", None)]
        for i, col in enumerate(date_cols):
            c, d = quote(col), quote(f"__d{i}")
            parts.append(f"regexp_extract({c}, {literal(self._DATE_RX)}, ['a', 'b']) AS {d}")
            p1, p2 = f"TRY_CAST({d}.a AS INT)", f"TRY_CAST({d}.b AS INT)"
            aggs += [f"count(*) FILTER (WHERE {d}.a <> '')",
                     f"count(*) FILTER (WHERE {p1} BETWEEN 13 AND 31 AND {p2} BETWEEN 1 AND 12)",
                     f"count(*) FILTER (WHERE {p2} BETWEEN 13 AND 31 AND {p1} BETWEEN 1 AND 12)",
                     f"count(*) FILTER (WHERE {p1} BETWEEN 1 AND 12 AND {p2} BETWEEN 1 AND 12)"]
            keys += [(("date", col), k) for k in ("slashed", "day_first", "month_first", "either")]
        for col in tz_cols:
            c = quote(col)
            aggs.append(f"count(*) FILTER (WHERE CASE WHEN contains({c}, ':') THEN regexp_matches({c}, "
                        f"{literal(self._TZ_RX)}) AND regexp_matches({c}, '\\d:\\d\\d') END)")
            keys.append((("tz", col), None))
        for col in text_extras:
            c = quote(col)
            if self.source.decimal == ",":  # 1.234,56 read as typing reads it
                c = _comma_decimal(c)
            aggs += [f"count({quote(col)})", f"count(TRY_CAST({c} AS DOUBLE))",
                     f"count(*) FILTER (WHERE TRY_CAST({c} AS DOUBLE) = round(TRY_CAST({c} AS DOUBLE)))"]
            keys += [(("extra", col), k) for k in ("n", "num", "whole")]
        if len(aggs) == 1 and not self.csv:
            return {}
        inner = ", ".join(["*", *parts])
        row = self.db.execute(f"SELECT {', '.join(aggs)} FROM (SELECT {inner} FROM {quote(mapped)})").fetchone()
        out: dict = {}
        for (key, sub), v in zip(keys, row, strict=True):
            if sub is None:
                out[key] = v
            else:
                out.setdefault(key, {})[sub] = v
        return out

    def _date_spec(self, mapped: str, col: str, stats: dict) -> tuple[str, list[str] | None]:
        """('iso'|'dayfirst'|'monthfirst'|'format', formats) for a text date column, detecting
        day-first/month-first from the data (``stats``: :meth:`survey`) when undeclared; refuses
        an ambiguous column."""
        spec = self.source.dates.get(col)
        if isinstance(spec, DateFormat) and spec.format:
            fmts = [spec.format] if isinstance(spec.format, str) else list(spec.format)
            return "format", fmts
        if isinstance(spec, DateFormat) and spec.dayfirst is not None:
            return ("dayfirst" if spec.dayfirst else "monthfirst"), _date_formats(bool(spec.dayfirst))
        c = quote(col)
        rx = self._DATE_RX
        s = stats[("date", col)]
        slashed, day_first, month_first, either = s["slashed"], s["day_first"], s["month_first"], s["either"]
        if not slashed:
            return "iso", None
        if day_first and month_first:
            p1 = f"TRY_CAST(regexp_extract({c}, {literal(rx)}, 1) AS INT)"
            p2 = f"TRY_CAST(regexp_extract({c}, {literal(rx)}, 2) AS INT)"
            first_d, first_m = self.db.execute(
                f"SELECT min(_line) FILTER (WHERE {p1} BETWEEN 13 AND 31 AND {p2} BETWEEN 1 AND 12), "
                f"min(_line) FILTER (WHERE {p2} BETWEEN 13 AND 31 AND {p1} BETWEEN 1 AND 12) "
                f"FROM {quote(mapped)}").fetchone()
            self.problem(column=col, check="mixed date formats", kind="date", message=(
                f"  - column {col!r}: some dates put the day first ({_lines_label([first_d], 1, self.binary)}) and "
                f"others the month first ({_lines_label([first_m], 1, self.binary)}). Fix: export one format, or "
                f"declare it in params (tables.{self.table}.dates: {{{col}: '%d/%m/%Y'}})."))
            return "iso", None
        if day_first:
            self.note(col, "dates_dayfirst", slashed, "day before month (a day above 12 appears first)")
            return "dayfirst", _date_formats(True)
        if month_first:
            self.note(col, "dates_monthfirst", slashed, "month before day (a day above 12 appears second)")
            return "monthfirst", _date_formats(False)
        if not either:
            return "iso", None  # no readable nn/nn/yyyy date: those cells fail as "not a date"
        ex = self.db.execute(f"SELECT {c} FROM {quote(mapped)} WHERE regexp_matches({c}, {literal(rx)}) "
                             f"ORDER BY _line LIMIT 3").fetchall()
        self.problem(column=col, check="ambiguous dates", kind="date", message=(
            f"  - column {col!r}: {slashed:,} dates such as {', '.join(repr(r[0]) for r in ex)} could be day-first or "
            f"month-first (day and month are both 12 or less in every row), so they are not guessed. Fix: say which "
            f"in params: tables.{self.table}.dates: {{{col}: dayfirst}} (31/01/2026) or {{{col}: monthfirst}} "
            f"(01/31/2026)."))
        return "iso", None

    def _native(self, col, raw_types, sources) -> str | None:
        """The export's own type of a column read as it is (typed Parquet), else None (text)."""
        kind, ref = sources[col]
        if kind != "raw" or col in self.source.values:
            return None
        rtype = raw_types[ref].upper()
        return None if rtype == "VARCHAR" else rtype

    def typed_exprs(self, mapped, exprs, raw_types, sources):
        """For each column: the value parsed from its cell where typing parses (numbers, dates and
        booleans read from text; over the mapped view, each computed once), its typed expression
        (over the mapped columns and the parsed values ``__v__<column>``), and its failure
        predicates, (kind, predicate) in order, at most one true per cell."""
        pre, values, typed, fails = {}, {}, {}, {}
        extras = [c for c in exprs if column_kind(self.table, c) is None]
        extra_kinds, text_extras = self._extra_kinds(extras, raw_types, sources)
        kinds = {c: column_kind(self.table, c) or extra_kinds.get(c) for c in exprs}
        text_dates = [c for c in exprs if kinds[c] == "timestamp"
                      and not (self._native(c, raw_types, sources) or "").startswith(("TIMESTAMP", "DATE"))]
        undeclared = [c for c in text_dates if not (isinstance(self.source.dates.get(c), DateFormat)
                                                     and (self.source.dates[c].format
                                                          or self.source.dates[c].dayfirst is not None))]
        stats = self.survey(mapped, undeclared, text_dates, text_extras)
        for col in text_extras:
            s = stats[("extra", col)]
            n, num, whole = s["n"], s["num"], s["whole"]
            kinds[col] = ("int" if whole == n else "float") if n and num == n else "string"
        for col in exprs:
            kind = kinds[col]
            c, v = quote(col), quote("__v__" + col)
            native = self._native(col, raw_types, sources)
            if kind == "string":
                expr = f"CAST({c} AS VARCHAR)" if native else c
                checks = column_checks(self.table, col) if column_kind(self.table, col) else {}
                if "isin" in checks:
                    low = f"lower({expr})"
                    if col == "language":
                        cases = " ".join(f"WHEN {literal(k)} THEN {literal(val)}" for k, val in _LANGUAGE_SYNONYMS.items())
                        low = f"(CASE {low} {cases} ELSE {low} END)"
                    expr = low
                typed[col] = expr
            elif kind in ("int", "float"):
                if native:
                    values[col] = f"TRY_CAST({c} AS DOUBLE)"
                elif self.source.decimal == ",":  # 1.234,56: thousands dots out, then the comma a point
                    latin = f"translate({c}, {literal(_DIGITS[0][:-1])}, {literal(_DIGITS[1][:-1])})"
                    values[col] = f"TRY_CAST({_comma_decimal(latin)} AS DOUBLE)"
                else:
                    # a cell DuckDB reads as a number has no Arabic-Indic digit to translate: the
                    # translation (costly) is made, in the layer below, for the other cells only
                    pre[col] = (f"CASE WHEN TRY_CAST({c} AS DOUBLE) IS NULL THEN "
                                f"translate({c}, {literal(_DIGITS[0])}, {literal(_DIGITS[1])}) END")
                    s = quote("__s__" + col)
                    grouped = (f"CASE WHEN regexp_full_match({s}, '[+-]?\\d{{1,3}}(,\\d{{3}})+(\\.\\d+)?') "
                               f"THEN TRY_CAST(replace({s}, ',', '') AS DOUBLE) END")
                    values[col] = f"COALESCE(TRY_CAST({c} AS DOUBLE), TRY_CAST({s} AS DOUBLE), {grouped})"
                fails[col] = [("number", f"{c} IS NOT NULL AND {v} IS NULL"),
                              ("finite", f"{v} IS NOT NULL AND (isinf({v}) OR isnan({v}))")]
                fin = f"CASE WHEN isinf({v}) OR isnan({v}) THEN NULL ELSE {v} END"
                if kind == "int":
                    fails[col].append(("integer", f"({fin}) IS NOT NULL AND (({fin}) <> round({fin}) OR abs({fin}) >= 9e15)"))
                    typed[col] = f"CAST(CASE WHEN ({fin}) = round({fin}) AND abs({fin}) < 9e15 THEN {fin} END AS BIGINT)"
                else:
                    typed[col] = f"CAST({fin} AS DOUBLE)"
            elif kind == "bool":
                if native == "BOOLEAN":
                    typed[col] = c
                else:
                    low = f"lower(CAST({c} AS VARCHAR))"
                    values[col] = (f"CASE WHEN {_one_of(low, _TRUE)} THEN TRUE "
                                   f"WHEN {_one_of(low, _FALSE)} THEN FALSE END")
                    typed[col] = v
                    fails[col] = [("boolean", f"{c} IS NOT NULL AND {v} IS NULL")]
            elif kind == "timestamp":
                if col not in text_dates:
                    typed[col] = (f"CAST(timezone('UTC', {c}) AS TIMESTAMP)" if "TIME ZONE" in native
                                  else f"CAST({c} AS TIMESTAMP)")
                    continue
                how, fmts = self._date_spec(mapped, col, stats)
                # evaluated left to right, each reading only the cells the ones before it left empty
                iso = (f"COALESCE(CAST(timezone('UTC', TRY_CAST({c} AS TIMESTAMPTZ)) AS TIMESTAMP), "
                       f"try_strptime({c}, {_sql_list(_NAMED_MONTH_FORMATS)}), "
                       f"CAST(timezone('UTC', try_strptime({c}, {_sql_list(_ZONED_FORMATS)})) AS TIMESTAMP))")
                if fmts:
                    parsed = f"try_strptime({c}, {_sql_list(fmts)})"
                    if any("%z" in f or "%Z" in f for f in fmts):  # a zoned time (Twitter's +0000): in UTC, as ISO
                        parsed = f"CAST(timezone('UTC', {parsed}) AS TIMESTAMP)"
                    expr = f"COALESCE({parsed}, {iso})" if how != "format" else parsed
                else:
                    expr = iso
                values[col] = expr
                typed[col] = v
                fails[col] = [("date", f"{c} IS NOT NULL AND {v} IS NULL"),
                              # a year before 1900 is a misread, most often a two-digit year under %Y
                              ("year", f"{v} IS NOT NULL AND year({v}) < 1900")]
                tz = stats[("tz", col)]
                if tz:
                    offsets = self.db.execute(
                        f"SELECT DISTINCT regexp_extract({c}, {literal(self._TZ_RX)}) FROM {quote(mapped)} "
                        f"WHERE regexp_matches({c}, {literal(self._TZ_RX)}) LIMIT 5").fetchall()
                    self.note(col, "timezone_utc", tz, "time-zone offsets " + ", ".join(o[0] for o in offsets)
                              + " converted to UTC")
        return pre, values, typed, fails

    def _extra_kinds(self, extras, raw_types, sources) -> tuple[dict[str, str], list[str]]:
        """Extra (non-canonical) columns: their kind from the export's own type, and the text
        columns, which are numbers when every value is a number (counted by :meth:`survey`)."""
        out = {}
        text_cols = []
        for col in extras:
            kind, ref = sources[col]
            rtype = raw_types.get(ref, "VARCHAR").upper() if kind == "raw" else "VARCHAR"
            if rtype in ("BOOLEAN",):
                out[col] = "bool"
            elif rtype.startswith(("TIMESTAMP", "DATE")):
                out[col] = "timestamp"
            elif rtype != "VARCHAR":
                out[col] = "float" if rtype in ("DOUBLE", "FLOAT", "REAL") or rtype.startswith("DECIMAL") else "int"
            else:
                text_cols.append(col)
        return out, text_cols

    @property
    def text_col(self) -> str | None:
        """The table's free-text column, whose script gives each row's language (None: no text)."""
        return {"survey_responses": "comment", "verbatims": "text"}.get(self.table)

    def _select(self, cols) -> list[str]:
        """The canonical table's columns: generated key, typed columns, detected language."""
        select = []
        key = self.contract.key
        prefix = {"response_id": "r", "verbatim_id": "v", "order_id": "o", "interaction_id": "i",
                  "item_id": "s"}.get(key or "", "")
        if key and key not in cols:
            part = f"{self.part}-" if self.part else ""  # r2-15: line 15 of the table's second file
            select.append(f"'{prefix}{part}' || CAST(_line AS VARCHAR) AS {quote(key)}")
        text_col = self.text_col
        for col in cols:
            c = quote(col)
            if col == "language" and text_col in cols:
                select.append(f"COALESCE({c}, {_language_sql(quote(text_col))}) AS {c}")
            else:
                select.append(c)
        if text_col in cols and "language" not in cols:
            select.append(f"{_language_sql(quote(text_col))} AS language")
        return select

    def create(self, parsed, typed, fails) -> None:
        """Create the canonical table in one pass over the export: generated keys, typed columns,
        detected languages, and per column that can fail to type its failure code
        (``__bad__<column>``: 1 + the index of the failed check, NULL when the cell typed)."""
        key = self.contract.key
        # the line only when a key is made from it or the workbook gives it (on a CSV, numbering
        # the rows would make the read single-threaded)
        needs_line = (key and key not in typed) or self.line == "_line"
        inner = ["_line"] * bool(needs_line) + [f"{e} AS {quote(c)}" for c, e in typed.items()]
        for c, lst in fails.items():
            cases = " ".join(f"WHEN {p} THEN {i + 1}" for i, (_, p) in enumerate(lst))
            inner.append(f"CAST(CASE {cases} END AS UTINYINT) AS {quote('__bad__' + c)}")
        outer = self._select(list(typed)) + [quote("__bad__" + c) for c in fails]
        if self._filler_cells:  # a CSV: rows holding no record, marked in this same pass
            empty, summary = _filler_predicates(self._filler_cells)
            inner += [f"{empty} AS __empty__", f"{summary} AS __total__"]
            outer += ["__empty__", "__total__"]
        if self.line == "_line":
            outer.append("_line")
        self.db.execute(f"CREATE OR REPLACE TABLE {quote(self.name)} AS SELECT {', '.join(outer)} "
                        f"FROM (SELECT {', '.join(inner)} FROM {quote(parsed)})")

    def create_notes(self, cols) -> None:
        key = self.contract.key
        if key and key not in cols:
            self.note(key, "key_generated", 0, f"the export has no {key}: each row is identified by its line")
        text_col = self.text_col
        if text_col in cols and "language" not in cols:
            self.note("language", "language_detected", 0, "language of each text detected from its script "
                      "(Arabic letters: ar; Latin letters: en; both: mixed; neither: none)")

    def value_checks(self, cols) -> list[tuple[str, str, str, str]]:
        """Ranges, allowed values and required values (the contract's checks) as
        (column, check text, kind, predicate over the canonical table)."""
        preds: list[tuple[str, str, str, str]] = []
        for col in cols:
            if column_kind(self.table, col) is None:
                continue
            ch = column_checks(self.table, col)
            c = quote(col)
            if "min" in ch:
                preds.append((col, f"greater_than_or_equal_to({ch['min']})", "range", f"{c} < {ch['min']}"))
            if "max" in ch:
                preds.append((col, f"less_than_or_equal_to({ch['max']})", "range", f"{c} > {ch['max']}"))
            if "isin" in ch:
                preds.append((col, f"isin({ch['isin']})", "isin", f"{c} IS NOT NULL AND NOT {_one_of(c, ch['isin'])}"))
            if not ch["nullable"]:
                bad = f" AND {quote('__bad__' + col)} IS NULL" if col in self._typed_fails else ""
                preds.append((col, "not_nullable", "nullable", f"{c} IS NULL{bad}"))
        if self.table == "survey_responses" and {"survey_type", "touchpoint"} <= set(cols):
            preds.append(("(row)", "a transactional response needs a touchpoint", "row",
                          "survey_type = 'transactional' AND touchpoint IS NULL"))
        return preds

    def check(self, parsed, cols, fails) -> int:
        """Every check of the table in one aggregate query over it: cells that could not be typed,
        the contract's value checks, duplicate ids, future-dated and undated rows. Each problem
        found is then shown with its first lines and examples. Returns the number of rows."""
        t = quote(self.name)
        type_checks = [(col, i, kind, pred) for col, lst in fails.items() for i, (kind, pred) in enumerate(lst)]
        value_checks = self.value_checks(cols)
        unique = [c for c in cols if column_kind(self.table, c) and column_checks(self.table, c)["unique"]]
        time = self.contract.time if self.contract.time in cols else None
        now = literal(pd.Timestamp(self.now).strftime("%Y-%m-%d %H:%M:%S"))
        aggs = ["count(*)"]
        aggs += [f"count(*) FILTER (WHERE {quote('__bad__' + col)} = {i + 1})" for col, i, _, _ in type_checks]
        aggs += [f"count(*) FILTER (WHERE {p})" for *_, p in value_checks]
        aggs += [f"count({quote(c)}) - count(DISTINCT {quote(c)})" for c in unique]
        if time:
            tc = quote(time)
            aggs += [f"count(*) FILTER (WHERE {tc} > TIMESTAMP {now})", f"count(*) FILTER (WHERE {tc} IS NULL)",
                     f"min({tc}) FILTER (WHERE {tc} > TIMESTAMP {now})"]
        row = list(self.db.execute(f"SELECT {', '.join(aggs)} FROM {t}").fetchone())
        total = row.pop(0)
        type_counts = [row.pop(0) for _ in type_checks]
        value_counts = [row.pop(0) for _ in value_checks]
        dup_counts = [row.pop(0) for _ in unique]
        for (col, _, kind, pred), n in zip(type_checks, type_counts, strict=True):
            if not n:
                continue
            kept = f" AND NOT list_contains({self._left_lines}, _line)" if self._left_lines else ""
            rows = self.db.execute(f"SELECT _line, CAST({quote(col)} AS VARCHAR) FROM {quote(parsed)} "
                                   f"WHERE {pred}{kept} ORDER BY _line LIMIT 8").fetchall()
            check = {"number": "not a number", "finite": "not a finite number", "integer": "not a whole number",
                     "boolean": "not true/false", "date": "not a date", "year": "a year before 1900"}[kind]
            self.problem(column=col, check=check, kind=kind, count=int(n), lines=[r[0] for r in rows],
                         examples=list(dict.fromkeys(str(r[1]) for r in rows))[:3])
        self._value_preds = [p for *_, p in value_checks]
        for (col, check, kind, pred), n in zip(value_checks, value_counts, strict=True):
            if not n:
                continue
            shown = f"CAST({quote(col)} AS VARCHAR)" if col != "(row)" else "NULL"
            rows = self.db.execute(f"SELECT {self.line}, {shown} FROM {t} WHERE {pred} "
                                   f"ORDER BY 1 LIMIT 8").fetchall()
            self.problem(column=col, check=check, kind=kind, count=int(n), lines=[r[0] for r in rows],
                         examples=[str(r[1]) for r in rows if r[1] is not None][:3])
        for col, dups in zip(unique, dup_counts, strict=True):
            if not dups:
                continue
            c = quote(col)
            dup = f"{c} IN (SELECT {c} FROM {t} GROUP BY {c} HAVING count(*) > 1)"
            n = self.db.execute(f"SELECT count(*) FROM {t} WHERE {dup}").fetchone()[0]
            rows = self.db.execute(f"SELECT {self.line}, {c} FROM {t} WHERE {dup} ORDER BY 1 LIMIT 8").fetchall()
            self.problem(column=col, check="field_uniqueness", kind="unique", count=int(n),
                         lines=[r[0] for r in rows], examples=list(dict.fromkeys(str(r[1]) for r in rows))[:3])
        self._future = None
        if time:
            n, undated, first = row
            if n:
                self.note(time, "future_dated", n, f"dated after the run ({pd.Timestamp(first):%Y-%m-%d} or later)",
                          excluded=True)
                self._future = f"{quote(time)} > TIMESTAMP {now}"
            if undated and (self.table != "customers"):
                self.note(time, "undated", undated, "no date: kept, but left out of period comparisons")
        return int(total)

    def exclusions(self, cols, total) -> None:
        """Delete the rows left out: future-dated rows always (counted); rows with problems too
        when ``invalid_rows: exclude`` (counted per problem). Deleting keeps the file order."""
        out = [self._future] if self._future else []
        if self.source.invalid_rows == "exclude" and self.problems:
            fatal = [p for p in self.problems if p.message or p.kind in ("missing", "unique")]
            if not fatal:
                out += [f"{quote('__bad__' + c)} IS NOT NULL" for c in self._typed_fails]
                out += self._value_preds
                for p in self.problems:
                    self.note(p.column, "invalid_excluded", p.count, f"{p.check}: left out (invalid_rows: exclude)",
                              excluded=True)
                self.problems = []
        if out and not self.problems:
            self.db.execute(f"DELETE FROM {quote(self.name)} WHERE " + " OR ".join(f"({p})" for p in out))

    def message(self) -> str:
        lines = [f"{self.shown}: the {self.table} table breaks its contract ({len(self.problems)} problem(s)):"]
        for p in self.problems:
            if p.message:
                lines.append(p.message)
                continue
            fix = _FIXES[p.kind].format(table=self.table, column=p.column)
            if p.kind == "number" and self.source.decimal == "." and any(_DECIMAL_COMMA.fullmatch(e.strip())
                                                                          for e in p.examples):
                fix = (f"the export writes decimal commas (e.g. {p.examples[0]!r}): declare "
                       f"tables.{self.table}.decimal: \",\" in params, or correct the values")
            if p.kind == "missing":
                lines.append(f"  - column '{p.column}' is missing. Fix: {fix}.")
            else:
                ex = ", ".join(repr(e) for e in p.examples)
                lines.append(f"  - column '{p.column}', {_lines_label(p.lines, p.count, self.binary)}: {p.check}"
                             f"{f' (e.g. {ex})' if ex else ''}. Fix: {fix}.")
        return "\n".join(lines)

    def failures(self) -> pd.DataFrame:
        return pd.DataFrame([{"table": self.table, "file": self.shown, "column": p.column, "check": p.check,
                              "rows": p.count or None, "lines": p.lines,
                              "fix": p.message.strip() if p.message else
                              _FIXES[p.kind].format(table=self.table, column=p.column)} for p in self.problems])


def _language_sql(text: str) -> str:
    """The language of a text from its script: ar, en, mixed, none (NULL when there is no text)."""
    ar = f"regexp_matches({text}, '[\\x{{0600}}-\\x{{06FF}}\\x{{0750}}-\\x{{077F}}]')"
    la = f"regexp_matches({text}, '[A-Za-z]')"
    return (f"(CASE WHEN {text} IS NULL THEN NULL WHEN {ar} AND {la} THEN 'mixed' WHEN {ar} THEN 'ar' "
            f"WHEN {la} THEN 'en' ELSE 'none' END)")


def connect(db_path: Path | str | None, memory_limit: str | None = None, *,
            read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in UTC; ``memory_limit`` (params ``engine.memory_limit``) caps its
    memory, beyond which DuckDB spills to a temporary folder beside the database."""
    db = duckdb.connect(str(db_path) if db_path else ":memory:", read_only=read_only)
    db.execute("SET TimeZone = 'UTC'")
    if memory_limit:
        db.execute(f"SET memory_limit = {literal(memory_limit)}")
    return db


def load_store(params: Params, db_path: Path | str | None = None, *, now: pd.Timestamp | None = None) -> Store:
    """Load, map and validate every table named in params into a DuckDB database.

    Every table is checked before anything fails, so the error lists every problem of every
    file at once. ``now`` (default: the clock) is the date after which records are future-dated
    and left out. ``db_path`` None keeps the database in memory.
    """
    now = pd.Timestamp.now() if now is None else pd.Timestamp(now)
    if params.engine.backend == "pyspark":
        from cxlib.data import spark

        if why := spark.unavailable():  # say so before reading anything
            raise ParameterError(f"engine.backend pyspark cannot run: {why}; or set engine.backend: duckdb.")
    db = connect(db_path, params.engine.memory_limit)
    store = Store(db=db, params=params)
    messages: list[str] = []
    failures: list[pd.DataFrame] = []
    tmp_dir = Path(tempfile.mkdtemp(prefix="cxlib-load-", dir=Path(db_path).parent if db_path else None))
    # the inputs' hashes (for the manifest) are computed in a thread while DuckDB reads: hashlib
    # releases the GIL, so the files are hashed in the time the load leaves a core idle
    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cxlib-sha256")
    tables = [t for t in TABLES if t in params.tables]
    parts = {t: params.table_parts(t) for t in tables}
    digests = {(t, i): hasher.submit(sha256_file, path) for t in tables for i, (_, path) in enumerate(parts[t])}
    try:
        for table in tables:
            several = len(parts[table]) > 1
            loaded: list[_TableLoader] = []
            for i, (src, path) in enumerate(parts[table]):
                loader = _TableLoader(db, params, table, now, tmp_dir, digests[(table, i)],
                                      part=(i + 1, src, path) if several else None)
                try:
                    info = loader.load()
                except DataValidationError as e:
                    messages.append(str(e))
                    continue
                finally:
                    for f in tmp_dir.glob("*"):  # a transcoded copy, read by this file's queries only
                        f.unlink(missing_ok=True)
                if loader.problems:
                    messages.append(loader.message())
                    failures.append(loader.failures())
                    continue
                if several:
                    info = replace(info, **_part_stats(db, table, loader.name))
                store.inputs.append(info)
                store.notes.extend(loader.notes)
                loaded.append(loader)
            if several and len(loaded) == len(parts[table]):
                try:
                    _stack_parts(db, table, loaded)
                except DataValidationError as e:
                    messages.append(str(e))
    finally:
        hasher.shutdown(wait=False, cancel_futures=True)
        for f in tmp_dir.glob("*"):
            f.unlink(missing_ok=True)
        tmp_dir.rmdir()
    if messages:
        db.close()
        raise DataValidationError("\n\n".join(messages),
                                  failures=pd.concat(failures, ignore_index=True) if failures else None)
    _save_meta(store)
    if params.engine.backend == "pyspark":
        _to_spark(store, db_path)
    from cxlib.data import engine

    engine.build_texts(store)
    engine.build_responses(store)  # responses with their customers' attributes, joined once
    engine.build_sessions(store)   # each web session summarised once (DuckDB)
    engine.build_customer_dates(store)  # customers per signup and churn day, for retention
    return store


def _part_stats(db, table: str, name: str) -> dict:
    """One file's own date span and links to known customers (the customers table loads first),
    for the sources table of the report when several files make one table."""
    cols = {r[0] for r in db.execute(f"DESCRIBE {quote(name)}").fetchall()}
    time = TABLES[table].time
    aggs = {}
    if time in cols:
        aggs |= {"first": f"CAST(CAST(min({quote(time)}) AS DATE) AS VARCHAR)",
                 "last": f"CAST(CAST(max({quote(time)}) AS DATE) AS VARCHAR)"}
    customers = db.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'customers'").fetchone()[0]
    if "customer_id" in cols and table != "customers" and customers:
        aggs |= {"unmatched_customer": "count(*) FILTER (WHERE customer_id IS NOT NULL AND customer_id NOT IN "
                                       "(SELECT customer_id FROM customers WHERE customer_id IS NOT NULL))",
                 "no_customer": "count(*) FILTER (WHERE customer_id IS NULL)"}
    if not aggs:
        return {}
    row = db.execute(f"SELECT {', '.join(f'{e} AS {k}' for k, e in aggs.items())} FROM {quote(name)}").fetchone()
    return {k: (v if v is not None else ("" if k in ("first", "last") else 0)) for k, v in zip(aggs, row, strict=True)}


def _stack_parts(db, table: str, loaded: list[_TableLoader]) -> None:
    """Stack the files of one table (each loaded and checked on its own) into ``table``, in the
    order given, matching columns by name (a column one file lacks is empty in its rows). Ids the
    files give must stay unique across them."""
    names = [ld.name for ld in loaded]
    key = TABLES[table].key
    try:
        db.execute(f"CREATE OR REPLACE TABLE {quote(table)} AS "
                   + " UNION ALL BY NAME ".join(f"SELECT * FROM {quote(n)}" for n in names))
    except duckdb.Error as e:
        raise DataValidationError(
            f"the files of the {table} table cannot be stacked: {', '.join(ld.shown for ld in loaded)}: "
            f"{str(e).splitlines()[0]}. Fix: give a column the same kind of values in every file, or map it "
            f"to another name in one of them.") from None
    finally:
        for n in names:
            db.execute(f"DROP TABLE IF EXISTS {quote(n)}")
    if key and db.execute(f"SELECT count(*) - count(DISTINCT {quote(key)}) FROM {quote(table)}").fetchone()[0]:
        dup = db.execute(f"SELECT {quote(key)} FROM {quote(table)} GROUP BY 1 HAVING count(*) > 1 "
                         f"ORDER BY 1 LIMIT 3").fetchall()
        n = db.execute(f"SELECT count(*) FROM (SELECT 1 FROM {quote(table)} GROUP BY {quote(key)} "
                       f"HAVING count(*) > 1)").fetchone()[0]
        db.execute(f"DROP TABLE {quote(table)}")
        raise DataValidationError(
            f"the files of the {table} table ({', '.join(ld.shown for ld in loaded)}) share {n:,} {key} "
            f"value(s), such as {', '.join(repr(d[0]) for d in dup)}: each {key} must be unique across them. "
            f"Fix: remove the rows exported twice, or leave {key} unmapped so that rows are numbered by file "
            f"and line.")


def parquet_dir(db_path: Path | str) -> Path:
    """Where the validated tables go as Parquet for Spark: ``<db_path without suffix>.parquet/``."""
    return Path(db_path).with_suffix(".parquet")


def _to_spark(store: Store, db_path: Path | str | None) -> None:
    """Hand the validated tables to Spark: write them as Parquet (beside the DuckDB file, or in a
    temporary folder for an in-memory load) and close DuckDB, whose work ends with validation."""
    from cxlib.data import spark

    folder = parquet_dir(db_path) if db_path else Path(tempfile.mkdtemp(prefix="cxlib-spark-"))
    shutil.rmtree(folder, ignore_errors=True)
    spark.export(store.db, list(dict.fromkeys(i.table for i in store.inputs)) + ["_inputs", "_load_notes"], folder)
    store.db.close()
    store.db, store.parquet_dir, store.owns_dir = None, folder, db_path is None


def _save_meta(store: Store) -> None:
    db = store.db
    inputs = pd.DataFrame([asdict(i) for i in store.inputs],
                          columns=list(InputFile.__dataclass_fields__))
    notes = pd.DataFrame([asdict(n) for n in store.notes], columns=list(LoadNote.__dataclass_fields__))
    sql_types = {"str": "VARCHAR", "int": "BIGINT", "bool": "BOOLEAN"}
    for name, frame, cls in (("_inputs", inputs, InputFile), ("_load_notes", notes, LoadNote)):
        # typed columns even when there are no rows (an untyped empty column cannot go to Parquet)
        cols = ", ".join(f"CAST({quote(f.name)} AS {sql_types[str(f.type)]}) AS {quote(f.name)}"
                         for f in cls.__dataclass_fields__.values())
        db.register("_frame", frame.astype({c: "object" for c in frame.columns if frame[c].dtype == object}))
        db.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {cols} FROM _frame")
        db.unregister("_frame")


def open_store(params: Params, db_path: Path | str) -> Store:
    """Open a database that :func:`load_store` already built (read-only).

    With ``engine.backend: pyspark`` the store reads the Parquet folder beside ``db_path``; its
    inputs and notes come from Parquet directly, and Spark starts only if an engine step runs.
    """
    if params.engine.backend == "pyspark":
        from cxlib.data.spark import path_of

        folder = parquet_dir(db_path)
        inputs = [InputFile(**r) for r in pd.read_parquet(path_of(folder, "_inputs")).to_dict("records")]
        notes = [LoadNote(**r) for r in pd.read_parquet(path_of(folder, "_load_notes")).to_dict("records")]
        return Store(db=None, params=params, inputs=inputs, notes=notes, parquet_dir=folder)
    db = connect(db_path, params.engine.memory_limit, read_only=True)
    inputs = [InputFile(**r) for r in db.execute("SELECT * FROM _inputs").df().to_dict("records")]
    notes = [LoadNote(**r) for r in db.execute("SELECT * FROM _load_notes").df().to_dict("records")]
    return Store(db=db, params=params, inputs=inputs, notes=notes)


def read_small(path: Path, source: TableSource | None = None) -> pd.DataFrame:
    """A small side file (an answer key, a coding sheet) as text columns, read through the engine."""
    db = connect(None)
    tmp = Path(tempfile.mkdtemp(prefix="cxlib-small-"))
    try:
        rel, _, _ = read_raw(db, "small", Path(path), source or TableSource(file=Path(path).name), tmp)
        return db.execute(f"SELECT * EXCLUDE (_line) FROM {quote(rel)} ORDER BY _line").df()
    finally:
        db.close()
        for f in tmp.glob("*"):
            f.unlink(missing_ok=True)
        tmp.rmdir()


__all__ = ["InputFile", "LoadNote", "Store", "detect_encoding", "literal", "load_store", "open_store",
           "parquet_dir", "quote", "read_raw", "read_small", "sha256_file"]

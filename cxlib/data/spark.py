"""The Spark engine: the validated tables handed to Spark as Parquet, reached through Ibis.

With ``engine: {backend: pyspark}`` in params, loading and validation still run in DuckDB (they
stream from the files and report every problem with its file, column and lines; one validation
path, not two). What they leave, the canonical tables plus ``_inputs`` and ``_load_notes``, is
written as one Parquet file per table into the run's Parquet folder (:func:`export`), and every
engine step after that (derived texts, customer view, responses, funnel, operations, cohorts,
models' pulls) runs in Spark on those files through Ibis's PySpark backend (:func:`connect`).
Derived tables are written back into the same folder (:func:`save`), so any process that opens
the folder sees them. Results come back from Spark as Parquet files in that folder, read as Arrow
(:func:`collect`), and become pandas the way Ibis's DuckDB backend makes them, so an analysis
sees the same frame on either engine.

The folder must be readable at the same path by the driver and by every executor: on this
machine (``local[...]``) that is always true; on a cluster the run's work folder has to live on
storage the executors mount (see the README, "Spark").
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pandas as pd

from cxlib.exceptions import ParameterError

#: Spark settings used unless params ``engine.conf`` sets them (small shuffles suit report data)
DEFAULT_CONF = {"spark.sql.session.timeZone": "UTC", "spark.ui.showConsoleProgress": "false",
                "spark.sql.shuffle.partitions": "8", "spark.sql.adaptive.enabled": "true",
                "spark.sql.execution.arrow.pyspark.enabled": "true",
                # Parquet as Arrow reads it (results come back through Parquet, see collect):
                # microsecond timestamps, and dates/times written as they are (proleptic
                # Gregorian, like Arrow and DuckDB) instead of refused before 1582 / 1900
                "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
                "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
                "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED"}
#: settings that only make sense on this machine (a cluster keeps its own)
LOCAL_CONF = {"spark.ui.enabled": "false", "spark.driver.host": "127.0.0.1",
              "spark.driver.bindAddress": "127.0.0.1"}


def unavailable() -> str | None:
    """Why Spark cannot run here (pyspark not installed, no Java), or None when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "the pyspark package is not installed (pip install 'cxlib[spark]', or pyspark==4.0.5)"
    java = Path(os.environ["JAVA_HOME"]) / "bin" / "java" if os.environ.get("JAVA_HOME") else shutil.which("java")
    if not java or not Path(java).exists():
        return "no Java runtime (install Java 17, e.g. apt-get install openjdk-17-jre-headless, or set JAVA_HOME)"
    return None


def session(options):
    """The process's SparkSession for params ``engine`` (``master``, ``conf``), started if needed.

    The session time zone is UTC (the loader converts every offset to UTC, as DuckDB does).
    Raises :class:`ParameterError` with the fix when pyspark or Java is missing.
    """
    why = unavailable()
    if why:
        raise ParameterError(f"engine.backend pyspark cannot run: {why}; or set engine.backend: duckdb.")
    from pyspark.sql import SparkSession

    conf = dict(DEFAULT_CONF)
    if options.master.startswith("local"):
        conf.update(LOCAL_CONF)
    conf.update({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in options.conf.items()})
    builder = SparkSession.builder.master(options.master).appName("cxlib")
    for k, v in conf.items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    return spark


def path_of(folder: Path, name: str) -> Path:
    """The Parquet file (or Spark's directory of files) of table ``name``: ``<name>.parquet``, and
    ``meta_x.parquet`` for ``_x`` (Spark skips files whose names start with ``_`` or ``.``)."""
    return folder / (f"meta{name}.parquet" if name.startswith("_") else f"{name}.parquet")


def export(db, tables: list[str], folder: Path) -> None:
    """Write each DuckDB table of ``tables`` to its Parquet file in ``folder`` (streamed by DuckDB)."""
    from cxlib.data.io import literal, quote

    folder.mkdir(parents=True, exist_ok=True)
    for name in tables:
        db.execute(f"COPY (SELECT * FROM {quote(name)}) TO {literal(str(path_of(folder, name)))} (FORMAT parquet)")


def tables_in(folder: Path) -> list[str]:
    """The tables a Parquet folder holds (one file or directory each, see :func:`path_of`)."""
    if folder is None or not folder.exists():
        return []
    names = [p.name[: -len(".parquet")] for p in folder.glob("*.parquet")]
    return sorted(n[len("meta"):] if n.startswith("meta_") else n for n in names)


#: where :func:`collect` writes a result in the Parquet folder (one directory per result, removed
#: once read); not a table (:func:`tables_in` reads ``*.parquet`` only)
RESULTS = ".results"


def collect(df, folder: Path | None = None):
    """The rows of the Spark DataFrame ``df`` as an Arrow table, through Parquet: Spark writes them
    into a new directory under ``folder`` (the run's Parquet folder, which driver and executors
    share), and they are read back with ``pyarrow.parquet`` and the directory removed.

    The table equals what ``df.toArrow()`` gives (same schema: pyspark's own Spark-to-Arrow types,
    timestamps in microseconds and UTC; same rows in the same order: part files are read in the
    order of the partitions that wrote them). ``toArrow`` (like ``collect``) hands the rows over a
    one-off local socket that the JVM serves (``SocketAuthServer``) and then waits, with no time
    limit, for that socket's serving thread; if the handshake is missed (the JVM stops accepting
    after ``spark.python.authenticate.socketTimeout``), nothing ever completes that wait and the
    run hangs. Writing files needs no such socket: it is one call through the py4j gateway that
    returns when the Spark job ends, with its error if it fails.

    Columns are written under positional names (``c0``, ``c1``...) and renamed back, so names that
    Spark would refuse to write (two that differ only in case, say) still come back. Without
    ``folder`` a temporary directory is used (right only for ``local[...]`` masters).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import to_arrow_schema

    schema = to_arrow_schema(df.schema, error_on_duplicated_field_names_in_struct=True,
                             prefers_large_types=df.sparkSession._jconf.arrowUseLargeVarTypes())
    if folder is None:
        base = Path(tempfile.mkdtemp(prefix="cx-spark-"))
        out = base / "result"
    else:
        base, out = None, Path(folder) / RESULTS / uuid.uuid4().hex
    # Parquet has no type for a column of bare NULLs (Spark's void): written as integers, read as nulls
    void = {i for i, f in enumerate(df.schema.fields) if f.dataType.typeName() == "void"}
    names = [f"c{i}" for i in range(len(schema))]
    written = df.toDF(*names).select(*(F.col(n).cast("int") if i in void else F.col(n) for i, n in enumerate(names)))
    try:
        written.write.parquet(str(out))
        parts = sorted((p for p in out.iterdir() if p.name.startswith("part-")),
                       key=lambda p: (int(p.name.split("-")[1]), p.name))  # part-<partition>-<uuid>-c<n>
        tables = [pq.read_table(p, coerce_int96_timestamp_unit="us", partitioning=None) for p in parts]
    finally:
        shutil.rmtree(base or out, ignore_errors=True)
    if not tables:
        return schema.empty_table()
    table = pa.concat_tables(tables)
    for i in sorted(void):
        table = table.set_column(i, names[i], pa.nulls(len(table)))
    return table.rename_columns(schema.names).cast(schema)


def _backend_class():
    """Ibis's PySpark backend, fetching results as Arrow (through Parquet, :func:`collect`) and
    turning them into pandas exactly as Ibis's DuckDB backend does, so an expression gives the
    same frame (dtypes, missing values, timestamp resolution) on either engine; stock Ibis goes
    through Spark's ``toPandas``, where an empty integer column comes back as floats and
    timestamps in nanoseconds."""
    import ibis
    from ibis.backends.pyspark import Backend

    assert ibis.pyspark is not None  # reaching the backend through ibis registers its options

    class ArrowBackend(Backend):
        #: the Parquet folder results are written to (set by :func:`connect`)
        results_folder: Path | None = None

        def _arrow(self, expr, params=None, limit=None, **kwargs):
            self._run_pre_execute_hooks(expr)
            table = expr.as_table()
            sql = self.compile(table, params=params, limit=limit, **kwargs)
            with self._safe_raw_sql(sql) as query:
                return collect(query, self.results_folder), table.schema()

        def execute(self, expr, /, *, params=None, limit=None, **kwargs):
            """Execute an expression into pandas (the DuckDB backend's conversion of the Arrow result)."""
            import pyarrow.types as pat
            from ibis.backends.duckdb.converter import DuckDBPandasData

            arrow, schema = self._arrow(expr, params, limit, **kwargs)
            df = pd.DataFrame({name: (col.to_pylist() if pat.is_nested(col.type) or pat.is_dictionary(col.type)
                                      or col.null_count else col.to_pandas())
                               for name, col in zip(arrow.column_names, arrow.columns, strict=True)})
            return expr.__pandas_result__(DuckDBPandasData.convert_table(df, schema))

        def to_pyarrow(self, expr, /, *, params=None, limit=None, **kwargs):
            """Execute an expression into Arrow, straight from Spark."""
            from ibis.formats.pyarrow import PyArrowData

            arrow, schema = self._arrow(expr, params, limit, **kwargs)
            return expr.__pyarrow_result__(PyArrowData.convert_table(arrow, schema))

    return ArrowBackend


def connect(options, folder: Path):
    """An Ibis PySpark backend with every table of ``folder`` registered under its name."""
    con = _backend_class()().connect(session(options))
    con.results_folder = folder
    for name in tables_in(folder):
        con.read_parquet(str(path_of(folder, name)), table_name=name)
    return con


def save(con, name: str, expr, folder: Path) -> None:
    """Compute ``expr`` in Spark into the Parquet of ``name`` (replacing it) and register it as ``name``."""
    path = path_of(folder, name)
    tmp = folder / f".{name}.parquet.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    con.to_parquet(expr, str(tmp))
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    tmp.rename(path)
    con.read_parquet(str(path), table_name=name)


def to_pandas(expr):
    """A small Spark result as pandas with the dtypes DuckDB's ``.df()`` gives (nullable
    integers and booleans as ``Int64``/``boolean``, text as ``object``), so a table reads the same
    on either engine. The rows come through Arrow; DuckDB only converts them, it computes nothing."""
    import duckdb

    arrow = expr.to_pyarrow()
    with duckdb.connect() as db:
        return db.from_arrow(arrow).df()


__all__ = ["collect", "connect", "export", "path_of", "save", "session", "tables_in", "to_pandas", "unavailable"]

"""The demo report on Spark equals the demo report on DuckDB, table for table (issue 14, part 7).

``engine: {backend: pyspark, master: local[2]}``: the inputs are validated in DuckDB, handed to
Spark as Parquet, and every engine step (texts, customer view, period, catalog, every analysis)
runs in Spark through Ibis; the notebooks run unchanged. The Arabic demo is rendered on Spark
and every CSV of its ``tables/`` folder (the report's and the annex's) is compared with the same
report rendered on DuckDB (the shared ``demo_ar_run`` render): the same files, columns and rows
in the same order, text equal and numbers equal up to a relative 1e-9.

Part of ``make test`` (``make test-spark`` runs this file alone). Every Spark step of this file
runs in one child process (``python -m tests.test_spark``, paths in its environment), one JVM for all of them: the
collect check, the store's engine steps, then the demo render; the tests read what the child
recorded. The child has a time limit (``CX_SPARK_TIMEOUT``, 600 s; the whole child takes about
3 minutes here). On reaching it, the child's Python stacks (faulthandler) and its JVM's threads
(jstack) are dumped, the child and its JVM are killed and the child runs once more; a second
timeout fails the tests with both dumps. A hang costs CI at most twice the limit, never its
whole budget. (Spark results no longer come back through pyspark's ``toArrow``, whose socket
handshake once hung a CI run for good: see :func:`cxlib.data.spark.collect`.)

Skipped, with the reason, where pyspark or Java is missing.
"""

from __future__ import annotations

import datetime as dt
import faulthandler
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from cxlib.data import spark

pytestmark = pytest.mark.slow

CLIENT = "demo-ar"
RTOL = 1e-9
ROOT = Path(__file__).resolve().parent.parent
#: seconds one run of the child may take before it is dumped, killed and run again (once)
TIMEOUT = float(os.environ.get("CX_SPARK_TIMEOUT", "600"))


# --- the child process: every Spark step of this file ---------------------------------------


def _collect_stage(out: Path, demo_dir: Path) -> dict:
    """:func:`spark.collect` gives pyspark's own Arrow schema (what ``toArrow`` gives) and the rows
    in order across several part files, including names Spark would not write and bare NULLs."""
    import pyarrow as pa
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import to_arrow_schema

    from cxlib.data.params import EngineOptions

    session = spark.session(EngineOptions(backend="pyspark", master="local[2]"))
    folder = out / "collect"
    df = session.sql("""
        SELECT id, CAST(id AS INT) AS `Count`, CAST(id AS INT) AS `count`, id * 0.5D AS `half, 1/2`,
               CAST(id / 4 AS DECIMAL(12, 2)) AS amount, CASE WHEN id % 2 = 0 THEN concat('نص ', id) END AS text,
               id % 3 = 0 AS flag, date_add(DATE'2026-07-01', CAST(id % 90 AS INT)) AS day,
               timestamp_seconds(1782864000 + id * 60) AS at, TIMESTAMP'1500-01-01 00:00:00' AS ancient,
               array(id, id + 1) AS pair, NULL AS nothing
        FROM range(0, 2000)""")
    # four partitions, each sorted: four part files, in order only if read in partition order
    df = df.repartitionByRange(4, F.col("id").desc()).sortWithinPartitions(F.col("id").desc())
    got = spark.collect(df, folder)
    schema = to_arrow_schema(df.schema, error_on_duplicated_field_names_in_struct=True)
    assert got.schema == schema, f"{got.schema} != {schema}"
    utc = dt.UTC
    expected = [{"id": i, "Count": i, "count": i, "half, 1/2": i * 0.5,
                 "amount": Decimal(f"{i / 4:.2f}"),
                 "text": f"نص {i}" if i % 2 == 0 else None, "flag": i % 3 == 0,
                 "day": dt.date(2026, 7, 1) + dt.timedelta(days=i % 90),
                 "at": dt.datetime.fromtimestamp(1782864000 + i * 60, utc),
                 "ancient": dt.datetime(1500, 1, 1, tzinfo=utc), "pair": [i, i + 1], "nothing": None}
                for i in range(1999, -1, -1)]
    rows = got.to_pylist()
    assert len(rows) == len(expected)
    bad = [i for i, (a, b) in enumerate(zip(rows, expected, strict=True)) if a != b]
    assert not bad, f"{len(bad)} rows differ, first: {rows[bad[0]]} != {expected[bad[0]]}"
    empty = spark.collect(df.limit(0), folder)
    assert empty.num_rows == 0 and empty.schema == schema
    assert spark.collect(session.sql("SELECT NULL AS a FROM range(3)"), folder).to_pydict() == {"a": [None] * 3}
    assert isinstance(got, pa.Table)
    assert not any((folder / spark.RESULTS).iterdir()), "collect left result files behind"
    return {"rows": len(rows), "rows_differing": len(bad), "schema_is_toarrow": got.schema == schema,
            "files_left": sum(1 for _ in (folder / spark.RESULTS).iterdir())}


def _store_stage(out: Path, demo_dir: Path) -> dict:
    """The store's engine steps on Spark (texts, customer view, catalog, names, customer ids) give
    DuckDB's results; the validated tables reach Spark as Parquet and DuckDB is closed; reopening the
    run's store (what a notebook kernel does) starts no Spark session until an engine step runs."""
    from cxlib.data import engine
    from cxlib.data.io import load_store, open_store, parquet_dir
    from cxlib.report import checks, plan, runner
    from tests.helpers import params_for

    tmp_path = out / "store"
    tmp_path.mkdir()
    mp = pytest.MonkeyPatch()
    try:
        duck = params_for(demo_dir, mp)
        on_spark = params_for(demo_dir, mp, engine={"backend": "pyspark", "master": "local[2]"})
        d, s = load_store(duck), load_store(on_spark, tmp_path / "cx.duckdb")
    finally:
        mp.undo()
    try:
        assert s.db is None and s.backend == "pyspark"
        assert (parquet_dir(tmp_path / "cx.duckdb") / "customers.parquet").is_file()
        for name in ("customers", "survey_responses", "texts", "codebook"):
            assert s.has(name) and s.columns(name) == d.columns(name), name
        assert not s.has("customer_view") and not s.has("no_such_table")
        texts = [x.df("texts").sort_values("verbatim_id", ignore_index=True) for x in (d, s)]
        pd.testing.assert_frame_equal(*texts)
        pd.testing.assert_frame_equal(d.df("codebook"), s.df("codebook"))
        facts = []
        for store in (d, s):
            cur, prev = engine.resolve_period(store, None)
            assert engine.build_customer_view(store, cur.end)
            facts.append((cur, prev, plan.catalog(store, cur, prev).to_json(), runner.customer_ids(store),
                          checks.check_names(store, store.params)))
        assert facts[0] == facts[1]
        views = [engine.customer_view(x) for x in (d, s)]
        assert views[0]["customer_id"].is_monotonic_increasing
        pd.testing.assert_frame_equal(*views, check_dtype=False)  # DuckDB sums to 128-bit integers: floats
        reopened = open_store(on_spark, tmp_path / "cx.duckdb")
        assert reopened._ibis is None and reopened.inputs == s.inputs and reopened.notes == s.notes
        assert reopened.has("customer_view")  # saved as Parquet: every process sees it
        assert reopened.table("customer_view").count().execute() == len(views[1])  # Spark on first use
        started = reopened._ibis is not None
        assert started
        reopened.close()
        return {"backend": s.backend, "customers_in_view": len(views[1]), "facts_equal": facts[0] == facts[1],
                "reopened_started_spark": started}
    finally:
        d.close()
        s.close()


def _render_stage(out: Path, demo_dir: Path) -> dict:
    """The Arabic demo rendered with ``engine.backend: pyspark`` on ``local[2]``."""
    from cxlib import paths
    from cxlib.report import runner

    raw = yaml.safe_load((paths.PARAMS_DIR / f"{CLIENT}.yml").read_text(encoding="utf-8"))
    raw["engine"] = {"backend": "pyspark", "master": "local[2]"}
    (out / "params").mkdir()
    (out / "params" / f"{CLIENT}.yml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    paths.PARAMS_DIR = out / "params"  # this process only
    result = runner.run_report(CLIENT, renderer="offline", reports_dir=out / "reports", quiet=True)
    return {"output_dir": str(result.output_dir), "period": result.period, "timings": result.timings,
            "failed": result.failed}


STAGES = {"collect": _collect_stage, "store": _store_stage, "render": _render_stage}


def _child(out: Path, demo_dir: Path) -> None:
    """Run every stage (a failing stage does not stop the next) into ``out/result.json``."""
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # the parent's request for our stacks
    results = {}
    for name, stage in STAGES.items():
        t = time.perf_counter()
        try:
            results[name] = {"ok": True, "value": stage(out, demo_dir)}
        except Exception:
            results[name] = {"ok": False, "error": traceback.format_exc()}
        results[name]["seconds"] = round(time.perf_counter() - t, 1)
        print(f"[spark child] {name}: {'ok' if results[name]['ok'] else 'FAILED'} in {results[name]['seconds']}s",
              file=sys.stderr, flush=True)
    (out / "result.json").write_text(json.dumps(results, ensure_ascii=False, default=str), encoding="utf-8")


# --- running it with a time limit -----------------------------------------------------------


def _tail(text: str, chars: int = 12000) -> str:
    return text if len(text) <= chars else "[...]\n" + text[-chars:]


def _java_pids(pgid: int) -> list[int]:
    """The Java processes of process group ``pgid`` (the child's JVM)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm, rest = text[text.find("(") + 1: text.rfind(")")], text[text.rfind(")") + 2:].split()
        if comm == "java" and int(rest[2]) == pgid:
            pids.append(int(stat.parent.name))
    return pids


def _jstack(pgid: int, log: Path) -> str:
    """The JVM threads of the child (``jstack``), written to ``log`` too; a note when unavailable."""
    jstack = shutil.which("jstack")
    if not jstack:
        return "(no jstack on PATH)"
    dumps = []
    for pid in _java_pids(pgid):
        try:
            run = subprocess.run([jstack, str(pid)], capture_output=True, text=True, timeout=30)
            dumps.append(f"jstack {pid}:\n{run.stdout}{run.stderr}")
        except (OSError, subprocess.TimeoutExpired) as e:
            dumps.append(f"jstack {pid}: {e}")
    text = "\n".join(dumps) or "(no Java process in the child's process group)"
    log.write_text(text, encoding="utf-8")
    return text


def _kill(proc: subprocess.Popen) -> None:
    """Kill the child's whole process group (the child, its JVM, its notebook kernels)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _run_guarded(cmd: list[str], workdir: Path, *, timeout: float, attempts: int = 2, what: str = "child",
                 **popen) -> str:
    """Run ``cmd`` in its own process group with a time limit; return its output (stdout and stderr)
    when it exits 0. A run that fails fails the test with its output; a run that reaches the limit
    is dumped (its Python stacks: SIGUSR1 to a faulthandler; its JVM's: jstack), killed with its
    process group and run again, up to ``attempts`` runs; then the test fails with every dump."""
    dumps = []
    for attempt in range(1, attempts + 1):
        log = workdir / f"{what}-{attempt}.log"
        with open(log, "wb") as f:
            proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, **popen)
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                code = None
                os.kill(proc.pid, signal.SIGUSR1)
                time.sleep(1)  # time to write the stacks
                jvm = _jstack(proc.pid, workdir / f"{what}-{attempt}.jstack.txt")
            finally:
                _kill(proc)
        output = log.read_text(encoding="utf-8", errors="replace")
        if code == 0:
            return output
        if code is not None:
            pytest.fail(f"the {what} process failed (exit code {code}); its output:\n{_tail(output)}", pytrace=False)
        dumps.append(f"--- run {attempt}: no end after {timeout:.0f}s; its output, then its Python threads' stacks "
                     f"(full log: {log}):\n{_tail(output)}\n--- its JVM's threads (jstack):\n{_tail(jvm, 8000)}")
        print(f"{what}: run {attempt} timed out after {timeout:.0f}s", file=sys.stderr)
    pytest.fail(f"the {what} process reached its {timeout:.0f}s limit {attempts} times (a hang, or a machine far "
                "slower than usual; CX_SPARK_TIMEOUT raises the limit):\n" + "\n".join(dumps), pytrace=False)


@pytest.fixture(scope="module")
def spark_child(tmp_path_factory, demo_dir):
    """What the child process recorded for each stage, and its wall seconds."""
    if (why := spark.unavailable()) is not None:
        pytest.skip(f"Spark cannot run here: {why}")
    out = tmp_path_factory.mktemp("spark")
    env = dict(os.environ)  # the child imports the cxlib and tests this process imports
    cx_root = str(Path(spark.__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([cx_root, str(ROOT), *filter(None, [env.get("PYTHONPATH")])]))
    t = time.perf_counter()
    env.update(CX_SPARK_CHILD_OUT=str(out), CX_SPARK_CHILD_DEMO=str(demo_dir))  # not argv: the manifest shows it
    _run_guarded([sys.executable, "-m", "tests.test_spark"], out, timeout=TIMEOUT, what="Spark child", cwd=ROOT,
                 env=env)
    results = json.loads((out / "result.json").read_text(encoding="utf-8"))
    return results, time.perf_counter() - t


def _stage(spark_child, name: str):
    results, _ = spark_child
    stage = results[name]
    if not stage["ok"]:
        pytest.fail(f"{name} on Spark failed (in the child process):\n{stage['error']}", pytrace=False)
    return stage["value"]


@pytest.fixture(scope="module")
def spark_run(spark_child):
    """The Spark render: the runner's result (output folder, period, timings, failures)."""
    value = _stage(spark_child, "render")
    return SimpleNamespace(**{**value, "output_dir": Path(value["output_dir"])})


# --- the tests ------------------------------------------------------------------------------


def _tables(folder) -> dict[str, pd.DataFrame]:
    """Every CSV under ``folder`` (``tables/`` of the report and of the annex), by relative path."""
    return {str(p.relative_to(folder)): pd.read_csv(p, dtype=str, keep_default_na=False)
            for p in sorted(folder.rglob("*.csv")) if "tables" in p.relative_to(folder).parts}


def _same_cell(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    if math.isnan(x) and math.isnan(y):
        return True
    return math.isclose(x, y, rel_tol=RTOL, abs_tol=0.0)


def _differences(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    if list(a.columns) != list(b.columns):
        return [f"columns {list(a.columns)} != {list(b.columns)}"]
    if len(a) != len(b):
        return [f"{len(a)} rows != {len(b)} rows"]
    out = []
    for col in a.columns:
        for i, (x, y) in enumerate(zip(a[col], b[col], strict=True)):
            if not _same_cell(x, y):
                out.append(f"row {i}, {col}: {x!r} (DuckDB) != {y!r} (Spark)")
    return out


def test_collect_through_parquet(spark_child):
    """Results come back from Spark through Parquet with toArrow's schema and the rows in order
    (:func:`_collect_stage`, run in the child)."""
    checked = _stage(spark_child, "collect")
    assert checked == {"rows": 2000, "rows_differing": 0, "schema_is_toarrow": True, "files_left": 0}


def test_store_on_spark_matches_duckdb(spark_child):
    """The store's engine steps on Spark give DuckDB's results (:func:`_store_stage`, in the child)."""
    checked = _stage(spark_child, "store")
    assert checked["backend"] == "pyspark" and checked["facts_equal"] and checked["reopened_started_spark"]
    assert checked["customers_in_view"] > 0


def test_spark_run_used_spark(spark_child, spark_run):
    """The run really went through Spark: the analyses were computed by the runner on pyspark."""
    result = spark_run
    log = (result.output_dir.parent / "analyst" / result.period / "run.log").read_text(encoding="utf-8")
    assert "analyses computed on pyspark (local[2])" in log
    assert "analyses" in result.timings
    manifest = json.loads((result.output_dir / "manifest.json").read_text(encoding="utf-8"))
    engine = manifest["params"]["engine"]
    assert {k: engine[k] for k in ("backend", "master", "conf")} == {"backend": "pyspark", "master": "local[2]", "conf": {}}
    assert "pyspark" in manifest["versions"]
    results, secs = spark_child
    print(f"Spark child: {secs:.0f}s (" + ", ".join(f"{k} {v['seconds']:.0f}s" for k, v in results.items()) + ")")


def test_every_table_equals_duckdb(spark_run, demo_ar_run):
    """Every CSV table of the report and the annex: same files, same rows in the same order, equal
    values (numbers up to a relative 1e-9)."""
    result = spark_run
    duck, spk = _tables(demo_ar_run.output_dir), _tables(result.output_dir)
    assert len(duck) > 20, "the DuckDB demo render has too few tables to compare"
    assert sorted(spk) == sorted(duck)
    assert [f["analysis"] for f in result.failed] == [f["analysis"] for f in demo_ar_run.failed]
    problems = {name: d[:5] for name in duck if (d := _differences(duck[name], spk[name]))}
    assert not problems, "tables differ between DuckDB and Spark:\n" + "\n".join(
        f"{name}:\n  " + "\n  ".join(d) for name, d in problems.items())


def test_cell_comparison_is_strict():
    """The comparison itself: text must match exactly, numbers within 1e-9 relative, nothing else."""
    assert _same_cell("0.1234567890123", "0.12345678901230001")
    assert not _same_cell("0.5", "0.5001")
    assert not _same_cell("Delivery", "delivery")
    assert _same_cell("nan", "NaN") and _same_cell("", "")
    a = pd.DataFrame({"x": ["1", "2"]})
    assert _differences(a, a.iloc[::-1].reset_index(drop=True)) == ["row 0, x: '1' (DuckDB) != '2' (Spark)",
                                                                     "row 1, x: '2' (DuckDB) != '1' (Spark)"]


def test_time_limit_dumps_and_retries(tmp_path):
    """The guard itself: a child that never ends is dumped (its Python stacks), killed and run once
    more, then the test fails naming the limit; a child that fails fails at once with its output."""
    hang = [sys.executable, "-c", "import faulthandler, signal, time\n"
            "faulthandler.register(signal.SIGUSR1, all_threads=True)\nprint('started', flush=True)\n"
            "def stuck_here():\n    time.sleep(600)\nstuck_here()"]
    t = time.perf_counter()
    with pytest.raises(pytest.fail.Exception) as failed:
        _run_guarded(hang, tmp_path, timeout=6, what="sleeper")
    assert time.perf_counter() - t < 60
    message = str(failed.value)
    assert "reached its 6s limit 2 times" in message
    assert message.count("no end after 6s") == 2 and "stuck_here" in message and "started" in message
    assert sorted(p.name for p in tmp_path.glob("sleeper-*.log")) == ["sleeper-1.log", "sleeper-2.log"]
    with pytest.raises(pytest.fail.Exception) as failed:
        _run_guarded([sys.executable, "-c", "raise SystemExit('no good')"], tmp_path, timeout=30, what="quitter")
    assert "exit code 1" in str(failed.value) and "no good" in str(failed.value)
    assert _run_guarded([sys.executable, "-c", "print('fine')"], tmp_path, timeout=30).strip() == "fine"


if __name__ == "__main__":  # the child process (python -m tests.test_spark), started by spark_child
    _child(Path(os.environ["CX_SPARK_CHILD_OUT"]), Path(os.environ["CX_SPARK_CHILD_DEMO"]))

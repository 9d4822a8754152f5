"""The demo report on Spark equals the demo report on DuckDB, table for table (issue 14, part 7).

``engine: {backend: pyspark, master: local[2]}``: the inputs are validated in DuckDB, handed to
Spark as Parquet, and every engine step (texts, customer view, period, catalog, every analysis)
runs in Spark through Ibis; the notebooks run unchanged. The Arabic demo is rendered on Spark
and every CSV of its ``tables/`` folder (the report's and the annex's) is compared with the same
report rendered on DuckDB (the shared ``demo_ar_run`` render): the same files, columns and rows
in the same order, text equal and numbers equal up to a relative 1e-9.

Opt-in (``make test-spark``, i.e. ``CX_SPARK_TESTS=1``): one CI run in three on a clean clone
hung in pyspark 4.0.5's Arrow collect (the JVM waiting in ``SocketAuthServer.getResult`` with no
job running, the Python side in ``toArrow``), which would hold CI until its time limit. Skipped,
with the reason, also where pyspark or Java is missing.
"""

from __future__ import annotations

import json
import math
import os
import time

import pandas as pd
import pytest
import yaml

from cxlib import paths
from cxlib.data import spark

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.environ.get("CX_SPARK_TESTS") != "1",
                                 reason="opt-in: make test-spark (an intermittent hang in pyspark's Arrow collect)"),
              pytest.mark.skipif(spark.unavailable() is not None,
                                 reason=f"Spark cannot run here: {spark.unavailable()}")]

CLIENT = "demo-ar"
RTOL = 1e-9


@pytest.fixture(scope="module")
def spark_run(tmp_path_factory):
    """The Arabic demo rendered with ``engine.backend: pyspark`` on ``local[2]`` (and its seconds)."""
    from cxlib.report import runner

    tmp = tmp_path_factory.mktemp("spark")
    raw = yaml.safe_load((paths.PARAMS_DIR / f"{CLIENT}.yml").read_text(encoding="utf-8"))
    raw["engine"] = {"backend": "pyspark", "master": "local[2]"}
    (tmp / "params").mkdir()
    (tmp / "params" / f"{CLIENT}.yml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setattr(paths, "PARAMS_DIR", tmp / "params")
    t = time.perf_counter()
    try:
        result = runner.run_report(CLIENT, renderer="offline", reports_dir=tmp / "reports", quiet=True)
    finally:
        mp.undo()
    return result, time.perf_counter() - t


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


def test_store_on_spark_matches_duckdb(demo_dir, tmp_path):
    """The store's engine steps on Spark (texts, customer view, catalog, names, customer ids) give
    DuckDB's results; the validated tables reach Spark as Parquet and DuckDB is closed; reopening the
    run's store (what a notebook kernel does) starts no Spark session until an engine step runs."""
    from cxlib.data import engine
    from cxlib.data.io import load_store, open_store, parquet_dir
    from cxlib.report import checks, plan, runner
    from tests.helpers import params_for

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
        assert reopened._ibis is not None
        reopened.close()
    finally:
        d.close()
        s.close()


def test_spark_run_used_spark(spark_run):
    """The run really went through Spark: the analyses were computed by the runner on pyspark."""
    result, secs = spark_run
    log = (result.output_dir.parent / "analyst" / result.period / "run.log").read_text(encoding="utf-8")
    assert "analyses computed on pyspark (local[2])" in log
    assert "analyses" in result.timings
    manifest = json.loads((result.output_dir / "manifest.json").read_text(encoding="utf-8"))
    engine = manifest["params"]["engine"]
    assert {k: engine[k] for k in ("backend", "master", "conf")} == {"backend": "pyspark", "master": "local[2]", "conf": {}}
    assert "pyspark" in manifest["versions"]
    print(f"Spark render of {CLIENT}: {secs:.0f}s")


def test_every_table_equals_duckdb(spark_run, demo_ar_run):
    """Every CSV table of the report and the annex: same files, same rows in the same order, equal
    values (numbers up to a relative 1e-9)."""
    result, _ = spark_run
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

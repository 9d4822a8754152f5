"""The benchmark script still runs, and cxlib and its plain baselines give the same answers.

Its numbers are printed by ``make bench``, never asserted: this test runs the same code on the
scale client at a tiny size and checks only the agreement of every pair and that the process-tree
measurement sees a child's memory.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from cxlib import paths
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("cxlib_bench", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["cxlib_bench"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def loaded(bench, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    data = tmp_path_factory.mktemp("data")
    mp.setattr(paths, "DATA_DIR", data)
    bench.ensure_data(data / "scale", 0.01, seed=5)
    params = bench.scale_params(data / "scale")
    row, store = bench.bench_load(params, "0.01", tmp_path_factory.mktemp("work"))
    yield bench, params, store, row
    store.close()
    mp.undo()


def test_loading_agrees_with_duckdb_reading_the_files(loaded):
    _, _, store, row = loaded
    assert row.agree and row.rows > 200_000 and row.cxlib_s > 0 and row.baseline_s > 0
    assert row.detail["rows"]["web_events"] > 200_000


def test_every_aggregation_agrees_with_plain_pandas(loaded):
    bench, params, store, _ = loaded
    rows = bench.bench_aggregations(store, params, "0.01")
    steps = {r.step for r in rows}
    assert {"scores by quarter x segment (+CI)", "funnel by device (one quarter)", "customer view (built in engine)",
            "retention by signup cohort (life tables)",
            "operations by touchpoint (one quarter)", "churn features (one cut-off)"} <= steps
    assert [r.step for r in rows if r.agree is False] == []
    assert all(r.cxlib_s > 0 and r.rows > 0 for r in rows)
    assert bench.bench_coding(store, "0.01", limit=2_000).agree


def test_process_tree_peak_includes_children(bench, tmp_path):
    child = "import time; b = bytearray(150 * 2**20); time.sleep(1.5)"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}])"
    m = bench.measure_tree([sys.executable, "-c", parent], poll_s=0.05, log=tmp_path / "out.log")
    assert m["exit_code"] == 0 and not m["stopped"]
    assert m["peak_gb"] > 0.14  # the child's 150 MiB counted with the parent's


def test_process_tree_stops_at_the_limit(bench):
    m = bench.measure_tree([sys.executable, "-c", "import time; time.sleep(30)"], limit_s=0.5, poll_s=0.05)
    assert m["stopped"] and m["exit_code"] != 0

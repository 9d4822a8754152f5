"""The benchmark script still runs (its numbers are printed, never asserted)."""

from __future__ import annotations

import importlib.util

from tests.helpers import ROOT


def test_benchmarks_run_and_agree_with_baselines(demo_dir):
    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    # each benchmark asserts that cxlib and its plain baseline give the same answer
    for fn in (bench.bench_coding, bench.bench_funnel):
        r = fn(demo_dir, 1)
        assert r["rows"] > 10_000 and r["cxlib_s"] > 0 and r["baseline_s"] > 0

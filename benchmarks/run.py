"""Benchmarks: cxlib against a plain baseline, printed as ratios (never asserted in tests).

    .venv/bin/python benchmarks/run.py [--scale 10] [--quick]

1. Auto-coding: ``coding.auto_code`` (one vectorised regex pass per code, negation off so
   both do the same work) against a plain per-verbatim Python loop over the same patterns.
2. Funnel: ``engine.funnel`` (DuckDB through Ibis, only the aggregate comes back) against
   the same computation in pandas on the whole event table.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd


def _timed(fn, repeat: int = 3):
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def bench_coding(demo: Path, scale: int) -> dict:
    from cxlib.voice import coding

    verb = pd.read_csv(demo / "verbatims.csv", dtype=str)
    # each copy's texts made distinct, so auto_code's de-duplication cannot flatter it
    big = pd.concat([verb.assign(verbatim_id=verb["verbatim_id"] + f"-{i}", text=verb["text"] + f" #{i}")
                     for i in range(scale)], ignore_index=True)
    book = coding.compile_codebook(pd.read_csv(demo / "codebook.csv", dtype=str))

    def baseline():
        rows = []
        for vid, text in zip(big["verbatim_id"], big["text"], strict=True):
            if not isinstance(text, str) or not text.strip():
                continue
            norm = coding.normalize_text(text)
            for code, rx in book.regexes.items():
                if rx.search(norm):
                    rows.append((vid, code))
        return rows

    # the baseline is a plain regex loop: compare like with like (no negation, every speaker)
    t_lib, coded = _timed(lambda: coding.auto_code(big, book, negation=False, speakers=None), repeat=2)
    t_base, rows = _timed(baseline, repeat=1)
    assert len(coded) == len(rows), "auto_code and the baseline disagree"
    return {"benchmark": "auto-coding", "rows": len(big), "cxlib_s": t_lib, "baseline_s": t_base,
            "throughput_per_s": len(big) / t_lib}


def bench_funnel(demo: Path, scale: int) -> dict:
    import yaml

    from cxlib import paths
    from cxlib.data import engine, periods
    from cxlib.data.io import load_store
    from cxlib.data.params import Params

    events = pd.read_parquet(demo / "web_events.parquet")
    big = pd.concat([events.assign(session_id=events["session_id"] + f"-{i}") for i in range(scale)],
                    ignore_index=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "bench"
        data.mkdir()
        for f in demo.iterdir():
            if f.is_file() and f.name != "web_events.parquet":
                shutil.copy(f, data / f.name)
        big.to_parquet(data / "web_events.parquet")
        raw = yaml.safe_load((paths.PARAMS_DIR / "demo.yml").read_text())
        saved, paths.DATA_DIR = paths.DATA_DIR, Path(tmp)  # the copy lives outside data/
        try:
            params = Params.model_validate(raw | {"data_dir": str(data), "client": "bench"})
            store = load_store(params)
        finally:
            paths.DATA_DIR = saved
        period = periods.parse("2026Q3")
        steps = [s.event for s in params.funnel]

        def baseline():
            w = big[(big["event_time"] >= period.start) & (big["event_time"] < period.end)
                     & big["event"].isin(steps)]
            depth = w["event"].map({e: i + 1 for i, e in enumerate(steps)})
            per = depth.groupby([w["session_id"], w["device"]]).max().reset_index(name="depth")
            return per.groupby(["device", "depth"]).size()

        t_lib, f = _timed(lambda: engine.funnel(store, params, period))
        t_base, b = _timed(baseline)
        reached = {d: int(b.loc[d].sum()) for d in b.index.get_level_values(0).unique()}
        assert all(f[(f["device"] == d) & (f["step_order"] == 1)]["sessions"].iloc[0] == n
                   for d, n in reached.items()), "engine and pandas funnels disagree"
        store.close()
    return {"benchmark": "funnel (engine vs pandas)", "rows": len(big), "cxlib_s": t_lib, "baseline_s": t_base,
            "throughput_per_s": len(big) / t_lib}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=10, help="copies of the demo data (default 10)")
    ap.add_argument("--quick", action="store_true", help="scale 1, for a smoke run")
    args = ap.parse_args(argv)
    scale = 1 if args.quick else args.scale
    from cxlib import demo, paths

    demo_dir = paths.DATA_DIR / "demo"
    if not (demo_dir / "verbatims.csv").exists():
        demo.generate(demo_dir)
    results = [bench_coding(demo_dir, scale), bench_funnel(demo_dir, scale)]
    print(f"{'benchmark':28} {'rows':>11} {'cxlib s':>9} {'baseline s':>11} {'speed-up':>9} {'rows/s':>12}")
    for r in results:
        print(f"{r['benchmark']:28} {r['rows']:>11,} {r['cxlib_s']:>9.3f} {r['baseline_s']:>11.3f} "
              f"{r['baseline_s'] / r['cxlib_s']:>8.1f}x {r['throughput_per_s']:>12,.0f}")


if __name__ == "__main__":
    main()

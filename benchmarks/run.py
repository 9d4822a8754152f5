"""Benchmarks: cxlib against a plain baseline measured in the same run, printed as ratios.

    .venv/bin/python benchmarks/run.py [--scale 0.1] [--steps load,aggregations,text,report]
                                       [--clients demo,scale] [--repeat 3] [--json out.json]

The data is the scale client (:mod:`cxlib.demo.scale`, ``params/scale.yml``) at ``--scale``
(1 = 1M customers, ~21M web events), generated into ``data/scale`` when it is missing or was
written at another scale. Steps:

``load``          ``cxlib.data.io.load_store`` (read, map, type, validate, hash; into a DuckDB file)
                  against DuckDB reading the same files into tables (``read_csv``/``read_parquet``),
                  in this process: ratio = cxlib / DuckDB (the issue's target: <= 2).
``aggregations``  each main aggregation through cxlib (the calls the report's analyses make)
                  against a plain-pandas version of the same work on frames already in memory:
                  scores (NPS, CSAT, CES by quarter and segment with intervals), funnel, customer
                  view (built, and built + pulled into pandas), retention by signup cohort,
                  operations, churn features.
                  Every pair is checked to give the same numbers. Ratio = pandas / cxlib (target
                  >= 10 at full size).
``text``          auto-coding (``coding.auto_code``) against a per-text regex loop.
``report``        ``python -m cxlib report --client X`` for each of ``--clients``: wall time and
                  peak memory of the whole process tree (the sum of the RSS of the runner and
                  every descendant: kernels, renderers), polled every 0.2 s; the slowest analyses
                  (``work/timings.jsonl``) and notebooks (``run.log``). The demo runs twice; the
                  second run is the warm one.

Benchmarks print; the tests run the same code at a tiny scale and check only that cxlib and the
baselines agree (``tests/test_benchmarks.py``), never a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: report runs longer than this are stopped (the measurement says so)
REPORT_LIMIT_S = 20 * 60


@dataclass
class Row:
    """One measurement: cxlib's time, the baseline's, and whether both gave the same answer."""

    size: str
    step: str
    rows: int
    cxlib_s: float
    baseline_s: float | None = None
    agree: bool | None = None
    note: str = ""
    peak_gb: float | None = None
    detail: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline_s is None or not self.cxlib_s:
            return None
        # loading: how many times slower than DuckDB reading the files; otherwise the speed-up
        return self.cxlib_s / self.baseline_s if self.step.startswith("load") else self.baseline_s / self.cxlib_s


def timed(fn: Callable, repeat: int = 1):
    """(best wall seconds of ``repeat`` runs, the last result)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def max_rss_gb() -> float:
    """Peak resident memory of this process so far (GB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


# --- data --------------------------------------------------------------------------------------


def ensure_data(data_dir: Path, scale: float, seed: int | None = None) -> dict:
    """The scale client's files at ``scale`` in ``data_dir`` (generated unless already there)."""
    import yaml

    from cxlib.demo import scale as gen

    truth_file = data_dir / "truth.yml"
    if truth_file.exists():
        truth = yaml.safe_load(truth_file.read_text())
        if (float(truth.get("scale", -1)) == float(scale) and truth.get("version") == gen.VERSION
                and (seed is None or truth.get("seed") == seed)):
            return truth
    t = time.perf_counter()
    truth = gen.generate(data_dir, scale=scale, **({"seed": seed} if seed is not None else {}))
    print(f"generated scale {scale:g} in {data_dir} in {time.perf_counter() - t:.1f}s", flush=True)
    return truth


def scale_params(data_dir: Path):
    """``params/scale.yml`` pointed at ``data_dir`` (which must lie inside ``paths.DATA_DIR``)."""
    import yaml

    from cxlib import paths
    from cxlib.data.params import Params

    raw = yaml.safe_load((paths.PARAMS_DIR / "scale.yml").read_text())
    rel = os.path.relpath(data_dir, paths.ROOT)
    return Params.model_validate(raw | {"data_dir": rel})


def _pandas_read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, low_memory=False)


class Frames:
    """The same input files read whole into pandas, as a plain-pandas analyst would (the baselines' data)."""

    DATES = {"customers": ["signup_date", "churn_date"], "survey_responses": ["response_time"],
             "orders": ["order_time"], "interactions": ["interaction_time"]}

    def __init__(self, params):
        self.params, self._frames, self.read_s = params, {}, {}

    def __getitem__(self, table: str) -> pd.DataFrame:
        if table not in self._frames:
            t = time.perf_counter()
            df = _pandas_read(self.params.table_path(table))
            for col in self.DATES.get(table, []):
                if col in df and not pd.api.types.is_datetime64_any_dtype(df[col]):
                    df[col] = pd.to_datetime(df[col])
            self._frames[table] = df
            self.read_s[table] = time.perf_counter() - t
        return self._frames[table]

    def drop(self, *tables: str) -> None:
        for t in tables:
            self._frames.pop(t, None)


# --- 1. loading ----------------------------------------------------------------------------------


def bench_load(params, size: str, work: Path) -> tuple[Row, object]:
    """load_store into a DuckDB file, against DuckDB reading the same files into tables."""
    import duckdb

    from cxlib.data.io import load_store, quote

    files = {t: params.table_path(t) for t in params.tables}

    def direct():
        db_path = work / "direct.duckdb"
        db_path.unlink(missing_ok=True)
        db = duckdb.connect(str(db_path))
        for table, path in files.items():
            reader = (f"read_parquet('{path}')" if path.suffix == ".parquet"
                      else f"read_csv('{path}', header = true)")
            db.execute(f"CREATE TABLE {quote(table)} AS SELECT * FROM {reader}")
        counts = {t: db.execute(f"SELECT count(*) FROM {quote(t)}").fetchone()[0] for t in files}
        db.close()
        db_path.unlink(missing_ok=True)
        return counts

    def cxlib_load():
        db_path = work / "cx.duckdb"
        db_path.unlink(missing_ok=True)
        return load_store(params, db_path)

    t_base, counts = timed(direct)
    t_lib, store = timed(cxlib_load)
    loaded = {i.table: i.rows + i.excluded for i in store.inputs}
    rows = sum(counts.values())
    per_table = {i.table: i.rows for i in store.inputs}
    return Row(size, "load (load_store vs DuckDB read)", rows, t_lib, t_base, loaded == counts,
               detail={"rows": per_table}), store


# --- 2. aggregations: cxlib and plain pandas ----------------------------------------------------


def _close(a, b, tol: float = 1e-6) -> bool:
    a = np.asarray(pd.to_numeric(pd.Series(a), errors="coerce"), dtype=float)
    b = np.asarray(pd.to_numeric(pd.Series(b), errors="coerce"), dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True))


def _quarter_labels(ts: pd.Series) -> pd.Series:
    code = ts.dt.year * 10 + ts.dt.quarter
    labels = {c: f"{c // 10}Q{c % 10}" for c in code.dropna().unique().astype(int)}
    return code.map(labels)


def scores_pandas(f: Frames, confidence: float) -> pd.DataFrame:
    """NPS (adjusted Wald), CSAT top-2-box (Wilson) and CES mean (t) by quarter and segment, in pandas."""
    from scipy import stats

    r = f["survey_responses"]
    seg = f["customers"][["customer_id", "segment"]]
    r = r[["customer_id", "response_time", "survey_type", "nps", "csat", "ces"]].merge(seg, on="customer_id", how="left")
    r["period"] = _quarter_labels(r["response_time"])
    r = r[r["period"].notna()]
    r["segment"] = r["segment"].astype(object).where(r["segment"].notna(), "(not recorded)")
    z = stats.norm.ppf(0.5 + confidence / 2)
    out = []
    rel = r[r["survey_type"] == "relationship"]
    g = rel.assign(pro=rel["nps"] >= 9, det=rel["nps"] <= 6, has=rel["nps"].notna()).groupby(
        ["period", "segment"])[["pro", "det", "has"]].sum()
    n = g["has"]
    excl = rel.groupby(["period", "segment"]).size() - n
    na = n + 3.0
    pp, pdt = (g["pro"] + 0.75) / na, (g["det"] + 0.75) / na
    adj = pp - pdt
    half = z * np.sqrt((pp + pdt - adj ** 2) / na)
    out.append(pd.DataFrame({"metric": "nps", "value": 100 * (g["pro"] - g["det"]) / n,
                             "ci_low": 100 * (adj - half).clip(lower=-1), "ci_high": 100 * (adj + half).clip(upper=1),
                             "n": n, "excluded": excl}))
    tx = r[r["survey_type"] == "transactional"]
    gx = tx.assign(top=tx["csat"] >= 4, has=tx["csat"].notna()).groupby(["period", "segment"])[["top", "has"]].sum()
    n, x = gx["has"], gx["top"]
    p = x / n
    denom = 1 + z ** 2 / n
    centre = (p + z ** 2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z ** 2 / (4 * n ** 2)) / denom
    out.append(pd.DataFrame({"metric": "csat", "value": 100 * p, "ci_low": 100 * (centre - half),
                             "ci_high": 100 * (centre + half), "n": n,
                             "excluded": tx.groupby(["period", "segment"]).size() - n}))
    gc = tx.groupby(["period", "segment"])["ces"].agg(["mean", "std", "count", "size"])
    se = gc["std"] / np.sqrt(gc["count"])
    t = stats.t.ppf(0.5 + confidence / 2, gc["count"] - 1)
    out.append(pd.DataFrame({"metric": "ces", "value": gc["mean"], "ci_low": gc["mean"] - t * se,
                             "ci_high": gc["mean"] + t * se, "n": gc["count"], "excluded": gc["size"] - gc["count"]}))
    return pd.concat(out).reset_index().sort_values(["metric", "period", "segment"]).reset_index(drop=True)


def scores_cxlib(store, confidence: float) -> pd.DataFrame:
    """What the report does for the same table (analysis ``segment_change``'s trend, and ``kpi_trends``
    without the split): counts summed in the engine per quarter and segment
    (``engine.score_counts``), then each score and its interval from the counts (``metrics.from_counts``)."""
    from cxlib.data import engine
    from cxlib.quant import metrics

    counts = engine.score_counts(store, ("segment",), None, "quarter")
    frames = [metrics.from_counts(counts, m, by="segment", confidence=confidence) for m in ("nps", "csat", "ces")]
    out = pd.concat(frames, ignore_index=True)
    return out[["period", "segment", "metric", "value", "ci_low", "ci_high", "n", "excluded"]]


def bench_scores(store, f: Frames, size: str, repeat: int = 1) -> Row:
    conf = store.params.thresholds.confidence
    t_base, b = timed(lambda: scores_pandas(f, conf), repeat)
    t_lib, a = timed(lambda: scores_cxlib(store, conf), repeat)
    a = a.sort_values(["metric", "period", "segment"]).reset_index(drop=True)
    agree = (len(a) == len(b) and (a[["metric", "period", "segment"]].astype(str).values
                                   == b[["metric", "period", "segment"]].astype(str).values).all()
             and all(_close(a[c], b[c]) for c in ("value", "ci_low", "ci_high", "n", "excluded")))
    return Row(size, "scores by quarter x segment (+CI)", len(f["survey_responses"]), t_lib, t_base, bool(agree))


def funnel_pandas(f: Frames, params, period) -> pd.DataFrame:
    steps = [s.event for s in params.funnel]
    w = f["web_events"]
    w = w[(w["event_time"] >= period.start) & (w["event_time"] < period.end) & w["event"].isin(steps)]
    depth = w["event"].map({e: i + 1 for i, e in enumerate(steps)})
    per = depth.groupby([w["session_id"], w["device"]]).max()
    counts = per.groupby(level="device").value_counts().unstack(fill_value=0)
    reached = counts.iloc[:, ::-1].cumsum(axis=1).iloc[:, ::-1]  # sessions at depth >= i
    return reached.reindex(columns=range(1, len(steps) + 1), fill_value=0)


def bench_funnel(store, f: Frames, period, size: str, repeat: int = 1) -> Row:
    from cxlib.data import engine

    params = store.params
    t_base, b = timed(lambda: funnel_pandas(f, params, period), repeat)
    t_lib, a = timed(lambda: engine.funnel(store, params, period, by="device"), repeat)
    got = a.pivot(index="device", columns="step_order", values="sessions").sort_index()
    agree = got.shape == b.shape and bool((got.to_numpy() == b.sort_index().to_numpy()).all())
    return Row(size, "funnel by device (one quarter)", len(f["web_events"]), t_lib, t_base, agree)


def customer_view_pandas(f: Frames, as_of) -> pd.DataFrame:
    """The single customer view of cxlib.data.engine.build_customer_view, in pandas."""
    c = f["customers"]
    o = f["orders"]
    o = o[o["order_time"] < as_of]
    oa = o.groupby("customer_id").agg(n_orders=("order_id", "size"), last_order_time=("order_time", "max"),
                                      order_value=("amount", "sum"), late_orders=("late", "sum"))
    w = f["web_events"]
    w = w[(w["event_time"] < as_of) & w["customer_id"].notna()]
    wa = w.groupby("customer_id").agg(n_sessions=("session_id", "nunique"), last_visit_time=("event_time", "max"))
    i = f["interactions"]
    i = i[(i["interaction_time"] < as_of) & i["customer_id"].notna()]
    ia = i.assign(unres=~i["resolved"].fillna(True).astype(bool)).groupby("customer_id").agg(
        n_interactions=("interaction_id", "size"), unresolved=("unres", "sum"),
        handling_minutes=("handling_minutes", "mean"))
    r = f["survey_responses"]
    r = r[(r["response_time"] < as_of) & r["nps"].notna() & r["customer_id"].notna()
          & (r["survey_type"] == "relationship")]
    latest = r.sort_values("response_time").groupby("customer_id").tail(1).set_index("customer_id")
    latest = latest[["nps", "response_time"]].rename(columns={"nps": "latest_nps", "response_time": "latest_nps_time"})
    view = c.set_index("customer_id").join([oa, wa, ia, latest], how="left")
    for col, v in {"n_orders": 0, "late_orders": 0, "order_value": 0.0, "n_sessions": 0, "n_interactions": 0,
                   "unresolved": 0}.items():
        view[col] = view[col].fillna(v)
    view["tenure_days"] = (pd.Timestamp(as_of).normalize() - view["signup_date"].dt.normalize()).dt.days
    view["has_unresolved"] = view["unresolved"] > 0
    view["has_late_delivery"] = view["late_orders"] > 0
    nps = view["latest_nps"]
    view["nps_group"] = np.select([nps >= 9, nps >= 7, nps.notna()], ["promoter", "passive", "detractor"], None)
    view["is_detractor"] = (view["nps_group"] == "detractor").where(nps.notna())
    return view.reset_index()


_VIEW_CHECK = ["n_orders", "order_value", "late_orders", "n_sessions", "n_interactions", "unresolved",
               "handling_minutes", "latest_nps", "tenure_days"]


def bench_customer_view(store, f: Frames, as_of, size: str, repeat: int = 1) -> list[Row]:
    from cxlib.data import engine

    t_base, b = timed(lambda: customer_view_pandas(f, as_of), repeat)
    t_build, _ = timed(lambda: engine.build_customer_view(store, as_of), repeat)
    t_pull, a = timed(lambda: engine.customer_view(store), repeat)
    a = a.sort_values("customer_id").reset_index(drop=True)
    b = b.sort_values("customer_id").reset_index(drop=True)
    agree = (len(a) == len(b) and (a["customer_id"].to_numpy() == b["customer_id"].to_numpy()).all()
             and all(_close(a[c], b[c]) for c in _VIEW_CHECK))
    n = len(f["customers"])
    return [Row(size, "customer view (built in engine)", n, t_build, t_base, bool(agree)),
            Row(size, "customer view (built + to pandas)", n, t_build + t_pull, t_base, bool(agree),
                note=f"pull {t_pull:.2f}s")]


def operations_pandas(f: Frames, params, period) -> pd.DataFrame:
    """Contacts, resolution, handling time per touchpoint; deliveries and lateness; checkout drop-off."""
    i = f["interactions"]
    i = i[(i["interaction_time"] >= period.start) & (i["interaction_time"] < period.end)]
    out = i.groupby("touchpoint").agg(contacts=("touchpoint", "size"), resolved=("resolved", "sum"),
                                      handling_minutes=("handling_minutes", "mean"))
    o = f["orders"]
    o = o[(o["order_time"] >= period.start) & (o["order_time"] < period.end) & o["delivery_days"].notna()]
    tp = params.delivery_touchpoint
    out.loc[tp, "orders"] = len(o)
    out.loc[tp, "delivery_days"] = o["delivery_days"].mean()
    out.loc[tp, "late"] = o["late"].sum()
    reached = funnel_pandas(f, params, period).sum()
    steps = params.funnel
    for t in dict.fromkeys(s.touchpoint for s in steps if s.touchpoint):
        idx = [k for k, s in enumerate(steps, start=1) if s.touchpoint == t]
        out.loc[t, "sessions"] = reached[min(idx)]
        out.loc[t, "sessions_through"] = reached[max(idx) + 1] if max(idx) < len(steps) else np.nan
    return out


_OPS_CHECK = ["contacts", "resolved", "handling_minutes", "orders", "delivery_days", "late", "sessions",
              "sessions_through"]


def bench_operations(store, f: Frames, period, size: str, repeat: int = 1) -> Row:
    from cxlib.journey import operations

    params = store.params
    t_base, b = timed(lambda: operations_pandas(f, params, period), repeat)
    t_lib, a = timed(lambda: operations.touchpoint_operations(store, params, period,
                                                              delivery_touchpoint=params.delivery_touchpoint),
                     repeat)
    a = a.set_index("touchpoint")
    b = b.reindex(a.index)
    agree = all(_close(a[c], b[c]) for c in _OPS_CHECK)
    rows = len(f["interactions"]) + len(f["orders"]) + len(f["web_events"])
    return Row(size, "operations by touchpoint (one quarter)", rows, t_lib, t_base, bool(agree))


def churn_features_pandas(f: Frames, as_of, *, horizon_days: int = 90, window_days: int = 180,
                          survey_days: int = 365, low_recency_days: int = 90) -> pd.DataFrame:
    """cxlib.quant.churn_model.churn_features in pandas (same definitions, same columns)."""
    from cxlib.quant.churn_model import FEATURE_COLUMNS, MISSING_SEGMENT, NO_RESPONSE

    cutoff = pd.Timestamp(as_of)
    outcome_end = cutoff + pd.Timedelta(days=horizon_days)
    win = cutoff - pd.Timedelta(days=window_days)
    swin = cutoff - pd.Timedelta(days=survey_days)
    ends = [f[t][c].max() for t, c in (("orders", "order_time"), ("web_events", "event_time"),
                                         ("interactions", "interaction_time"), ("survey_responses", "response_time"))]
    observed = outcome_end <= max(ends).normalize() + pd.Timedelta(days=1)
    c = f["customers"]
    churned = c["churned"].astype("boolean")
    active = c[~((c["signup_date"] >= cutoff).fillna(False)
                 | (churned & c["churn_date"].isna()).fillna(False)
                 | (churned & (c["churn_date"] < cutoff)).fillna(False))]
    o = f["orders"]
    o_all = o[o["order_time"] < cutoff]
    o_win = o_all[o_all["order_time"] >= win]
    ow = o_win.groupby("customer_id").agg(orders_window=("order_time", "size"), late_deliveries=("late", "sum"))
    last_order = o_all.groupby("customer_id")["order_time"].max().rename("last_order")
    w = f["web_events"]
    w = w[(w["event_time"] < cutoff) & w["customer_id"].notna()]
    last_visit = w.groupby("customer_id")["event_time"].max().rename("last_visit")
    i = f["interactions"]
    i = i[(i["interaction_time"] < cutoff) & (i["interaction_time"] >= win)]
    unres = (~i["resolved"].astype(bool)).groupby(i["customer_id"]).sum().rename("unresolved_window")
    s = f["survey_responses"]
    s = s[(s["response_time"] < cutoff) & (s["response_time"] >= swin)]
    rel = s[(s["survey_type"] == "relationship") & s["nps"].notna()]
    latest = (rel.sort_values(["response_time", "response_id"]).groupby("customer_id").tail(1)
              .set_index("customer_id")["nps"].rename("latest_nps"))
    tx = s[(s["survey_type"] == "transactional") & s["ces"].notna()]
    mean_ces = tx.groupby("customer_id")["ces"].mean().rename("mean_ces")
    v = active[["customer_id", "segment", "signup_date", "churned", "churn_date"]].set_index("customer_id").join(
        [ow, last_order, last_visit, unres, latest, mean_ces], how="left")
    last = v[["last_order", "last_visit"]].max(axis=1)
    recency = (cutoff.normalize() - last.dt.normalize()).dt.days
    v["segment"] = v["segment"].fillna(MISSING_SEGMENT)
    for col in ("orders_window", "late_deliveries", "unresolved_window"):
        v[col] = v[col].fillna(0).astype(int)
    v["has_unresolved"] = (v["unresolved_window"] > 0).astype(int)
    v["tenure_years"] = (cutoff.normalize() - v["signup_date"].dt.normalize()).dt.days / 365.25
    v["recency_days"] = recency.astype("Float64")
    v["low_recency"] = (recency.isna() | (recency > low_recency_days)).astype(int)
    nps = v["latest_nps"]
    v["nps_group"] = np.select([nps >= 9, nps >= 7, nps.notna()], ["promoter", "passive", "detractor"], NO_RESPONSE)
    v["high_effort"] = (v["mean_ces"].notna() & (v["mean_ces"] <= 3)).astype(int)
    v["ces_missing"] = v["mean_ces"].isna().astype(int)
    label = (v["churned"].astype(bool) & v["churn_date"].notna() & (v["churn_date"] >= cutoff)
             & (v["churn_date"] < outcome_end))
    v["churned"] = pd.array(label.astype(int), dtype="Int64") if observed else pd.array([pd.NA] * len(v), dtype="Int64")
    n = v["orders_window"].astype(float)
    v["late_share"] = (v["late_deliveries"] / n).where(n > 0)
    return v.reset_index().sort_values("customer_id")[FEATURE_COLUMNS].reset_index(drop=True)


def bench_churn_features(store, f: Frames, as_of, size: str, repeat: int = 1) -> Row:
    from cxlib.quant import churn_model

    t_base, b = timed(lambda: churn_features_pandas(f, as_of), repeat)
    t_lib, a = timed(lambda: churn_model.churn_features(store, as_of), repeat)
    num = [c for c in a.columns if c not in ("customer_id", "segment", "nps_group")]
    agree = (len(a) == len(b) and (a["customer_id"].to_numpy() == b["customer_id"].to_numpy()).all()
             and (a["nps_group"].astype(str).to_numpy() == b["nps_group"].astype(str).to_numpy()).all()
             and all(_close(a[c], b[c]) for c in num))
    rows = sum(len(f[t]) for t in ("customers", "orders", "web_events", "interactions", "survey_responses"))
    return Row(size, "churn features (one cut-off)", rows, t_lib, t_base, bool(agree))


def retention_pandas(f: Frames, as_of, *, max_months: int = 24, min_cohort: int = 30) -> pd.DataFrame:
    """cxlib.quant.retention.retention_curves (quarterly signup cohorts) in pandas: the per-customer
    months (same whole-month rule) and counts in pandas, then the same product-limit life table."""
    from cxlib.quant.retention import life_table

    c = f["customers"]
    as_of = pd.Timestamp(as_of).normalize()
    start, end = c["signup_date"].dt.normalize(), c["churn_date"].dt.normalize()

    def months(a, b):  # whole months from a to b (b a Series or a Timestamp)
        by, bm, bd = (b.year, b.month, b.day) if isinstance(b, pd.Timestamp) else (b.dt.year, b.dt.month, b.dt.day)
        month_end = ((b + pd.Timedelta(days=1)).day if isinstance(b, pd.Timestamp)
                     else (b + pd.Timedelta(days=1)).dt.day) == 1
        k = (by - a.dt.year) * 12 + (bm - a.dt.month)
        return k - ((bd < a.dt.day) & ~month_end).astype(int)

    churned = c["churned"].astype("boolean").fillna(False).astype(bool)
    ok = (start <= as_of) & ~(churned & end.isna()) & ~(churned & (end < start)).fillna(False)
    d = pd.DataFrame({"cohort": start.dt.year.astype("Int64").astype(str) + "Q" + start.dt.quarter.astype("Int64").astype(str),
                      "observed": months(start, as_of).clip(upper=max_months),
                      "churn_month": (months(start, end) + 1).clip(upper=max_months + 1)
                      .where(churned & end.notna(), max_months + 1)})[ok]
    counts = d.groupby(["cohort", "observed", "churn_month"]).size().rename("n").reset_index()
    parts = []
    for cohort, g in counts.groupby("cohort", sort=True):
        if g["n"].sum() >= min_cohort:
            parts.append(life_table(g["observed"], g["churn_month"], g["n"], max_months=max_months)
                         .assign(cohort=cohort))
    return pd.concat(parts, ignore_index=True)


def bench_retention(store, f: Frames, as_of, size: str, repeat: int = 1) -> Row:
    from cxlib.quant import retention

    t_base, b = timed(lambda: retention_pandas(f, as_of), repeat)
    t_lib, a = timed(lambda: retention.retention_curves(store, as_of), repeat)
    keys = ["cohort", "month"]
    a, b = a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True)
    agree = (len(a) == len(b) and (a[keys].to_numpy() == b[keys].to_numpy()).all()
             and (a["at_risk"].to_numpy() == b["at_risk"].to_numpy()).all() and _close(a["retained"], b["retained"]))
    return Row(size, "retention by signup cohort (life tables)", len(f["customers"]), t_lib, t_base, bool(agree))


def bench_aggregations(store, params, size: str, repeat: int = 1) -> list[Row]:
    """Every main aggregation through cxlib and in plain pandas (frames read once, not timed); each
    side timed as the best of ``repeat`` runs (as ``timeit`` advises: the minimum is the run least
    disturbed by the rest of the machine, and first-run costs count once for neither side)."""
    from cxlib.data import engine

    period, _ = engine.resolve_period(store, None)
    f = Frames(params)
    t = time.perf_counter()
    for table in ("customers", "orders", "web_events", "interactions", "survey_responses"):
        f[table]
    read = Row(size, "pandas read of the inputs (reference)", sum(len(f[x]) for x in f._frames),
               time.perf_counter() - t, note=", ".join(f"{k} {v:.1f}s" for k, v in f.read_s.items()))
    rows = [read, bench_scores(store, f, size, repeat), bench_funnel(store, f, period, size, repeat)]
    rows += bench_customer_view(store, f, period.end, size, repeat)
    rows.append(bench_retention(store, f, period.end, size, repeat))
    rows.append(bench_operations(store, f, period, size, repeat))
    # the training cut-off (a horizon before the period's end), where the churn label is observed
    rows.append(bench_churn_features(store, f, period.end - pd.Timedelta(days=90), size, repeat))
    f.drop(*list(f._frames))
    return rows


# --- 3. text --------------------------------------------------------------------------------------


def bench_coding(store, size: str, limit: int = 100_000) -> Row:
    """auto_code (vectorised, de-duplicated) against a plain per-text regex loop, same codebook."""
    from cxlib.data import engine
    from cxlib.voice import coding

    texts = engine.verbatims(store).head(limit)
    book = coding.compile_codebook(store.df("codebook"))

    def baseline():
        rows = []
        for vid, text in zip(texts["verbatim_id"], texts["text"], strict=True):
            if not isinstance(text, str) or not text.strip():
                continue
            norm = coding.normalize_text(text)
            for code, rx in book.regexes.items():
                if rx.search(norm):
                    rows.append((vid, code))
        return rows

    t_lib, coded = timed(lambda: coding.auto_code(texts, book, negation=False, speakers=None))
    t_base, rows = timed(baseline)
    return Row(size, "auto-coding (texts)", len(texts), t_lib, t_base, len(coded) == len(rows))


# --- 4. whole report: time and peak memory of the process tree ------------------------------------


def measure_tree(cmd: list[str], *, cwd: Path = ROOT, limit_s: float = REPORT_LIMIT_S, poll_s: float = 0.2,
                 log: Path | None = None, watch: Callable[[int], None] | None = None) -> dict:
    """Run ``cmd``; its wall time, exit code and the peak of the summed RSS of it and all descendants.

    Stopped (its whole process group) after ``limit_s``. ``watch(pid)`` is called at every poll
    (to copy files the run deletes at its end).
    """
    import psutil

    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    root = psutil.Process(proc.pid)
    peak, peak_at, peak_procs, stopped = 0, 0.0, {}, False
    try:
        while proc.poll() is None:
            procs = [root]
            try:
                procs += root.children(recursive=True)
            except psutil.Error:
                pass
            total, per = 0, {}
            for p in procs:
                try:
                    rss = p.memory_info().rss
                    name = " ".join(p.cmdline()[1:4])[:60] or p.name()
                except psutil.Error:
                    continue
                total += rss
                per[f"{p.pid} {name}"] = rss
            if total > peak:
                peak, peak_at, peak_procs = total, time.perf_counter() - t0, per
            if watch:
                watch(proc.pid)
            if time.perf_counter() - t0 > limit_s:
                os.killpg(proc.pid, 9)
                stopped = True
                break
            time.sleep(poll_s)
        code = proc.wait()
    finally:
        if log:
            out.close()
    top = sorted(peak_procs.items(), key=lambda kv: -kv[1])[:6]
    return {"seconds": time.perf_counter() - t0, "exit_code": code, "stopped": stopped,
            "peak_gb": peak / 1024 ** 3, "peak_at_s": peak_at,
            "peak_processes": {k: round(v / 1024 ** 3, 2) for k, v in top}}


def _notebook_times(run_log: Path) -> dict[str, float]:
    if not run_log.exists():
        return {}
    found = re.findall(r"(\d\d_\w+)\.ipynb done in ([\d.]+)s", run_log.read_text(errors="replace"))
    return {name: float(s) for name, s in found}


def bench_report(client: str, size: str, *, label: str = "", limit_s: float = REPORT_LIMIT_S) -> Row:
    """``python -m cxlib report --client <client>`` in a subprocess, measured as a whole."""
    from cxlib import paths

    client_dir = paths.REPORTS_DIR / client
    timings: dict[str, str] = {}

    def watch(pid: int) -> None:  # the run's work folder (with timings.jsonl) is removed at its end
        for f in client_dir.glob(f".runs/run-*-{pid}/work/timings.jsonl"):
            try:
                timings["text"] = f.read_text()
            except OSError:
                pass

    log = Path(tempfile.gettempdir()) / f"cxlib-bench-{client}.log"
    m = measure_tree([sys.executable, "-m", "cxlib", "report", "--client", client], log=log, watch=watch,
                     limit_s=limit_s)
    if timings.get("text"):  # kept for a closer look (memory per analysis and kernel)
        (Path(tempfile.gettempdir()) / f"cxlib-bench-{client}-timings.jsonl").write_text(timings["text"])
    analyses, memory, last_peak = {}, {}, {}
    for line in timings.get("text", "").splitlines():
        try:
            r = json.loads(line)
            analyses[r["analysis"]] = r["seconds"]
        except (ValueError, KeyError):
            continue
        if r.get("peak_gb") is not None:  # what raised its kernel's peak memory, and to what
            pid = r.get("pid")
            if r["peak_gb"] > last_peak.get(pid, 0.0) + 0.05:
                memory[r["analysis"]] = (round(r["peak_gb"] - last_peak.get(pid, 0.0), 2), r["peak_gb"])
            last_peak[pid] = max(last_peak.get(pid, 0.0), r["peak_gb"])
    ok_log = sorted(client_dir.glob("analyst/*/run.log"), key=lambda p: p.stat().st_mtime)
    failed_log = client_dir / "last-failed-run" / "analyst" / "run.log"
    logs = [p for p in [*ok_log[-1:], failed_log] if p.exists()]
    run_log = max(logs, key=lambda p: p.stat().st_mtime) if logs else Path("/nonexistent")
    note = f"exit {m['exit_code']}" + (" (stopped at the time limit)" if m["stopped"] else "")
    top = dict(sorted(analyses.items(), key=lambda kv: -kv[1])[:8])
    return Row(size, f"report {client}{label}", 0, m["seconds"], note=note, peak_gb=m["peak_gb"],
               detail={**m, "analyses_top": top, "analyses": analyses, "notebooks": _notebook_times(run_log),
                       "memory_top": dict(sorted(memory.items(), key=lambda kv: -kv[1][0])[:8]),
                       "run_log": str(run_log),
                       "output": str(log)})


# --- printing --------------------------------------------------------------------------------------


def print_rows(rows: list[Row]) -> None:
    print(f"\n{'size':>9}  {'step':42} {'rows':>12} {'cxlib s':>9} {'base s':>9} {'ratio':>8} {'agree':>6} "
          f"{'peak GB':>8}  note")
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:7.1f}x"
        base = "" if r.baseline_s is None else f"{r.baseline_s:9.2f}"
        agree = "" if r.agree is None else ("yes" if r.agree else "NO")
        peak = "" if r.peak_gb is None else f"{r.peak_gb:8.2f}"
        print(f"{r.size:>9}  {r.step:42} {r.rows:>12,} {r.cxlib_s:9.2f} {base:>9} {ratio:>8} {agree:>6} {peak:>8}  "
              f"{r.note}", flush=True)


def main(argv=None) -> list[Row]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1, help="size of the scale client (1 = 1M customers; default 0.1)")
    ap.add_argument("--steps", default="load,aggregations,text,report",
                    help="comma-separated: load, aggregations, text, report")
    ap.add_argument("--clients", default="demo,scale", help="clients whose whole report is measured")
    ap.add_argument("--repeat", type=int, default=3,
                    help="aggregations: each side timed as the best of this many runs (default 3)")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = ap.parse_args(argv)
    steps = set(args.steps.split(","))
    from cxlib import paths

    size = f"{args.scale:g}"
    rows: list[Row] = []
    data_dir = paths.DATA_DIR / "scale"
    truth = ensure_data(data_dir, args.scale)
    print(f"scale client {size}: " + ", ".join(f"{k} {v:,}" for k, v in truth["counts"].items()), flush=True)
    if steps & {"load", "aggregations", "text"}:
        params = scale_params(data_dir)
        with tempfile.TemporaryDirectory(prefix="cxlib-bench-") as tmp:
            load_row, store = bench_load(params, size, Path(tmp))
            load_row.peak_gb = max_rss_gb()
            rows.append(load_row)
            print_rows(rows[-1:])
            try:
                if "aggregations" in steps:
                    rows += bench_aggregations(store, params, size, args.repeat)
                    rows[-1].peak_gb = max_rss_gb()
                    print_rows(rows[-7:])
                if "text" in steps:
                    rows.append(bench_coding(store, size))
                    print_rows(rows[-1:])
            finally:
                store.close()
    if "report" in steps:
        for client in args.clients.split(","):
            runs = 2 if client == "demo" else 1
            for k in range(runs):
                label = " (warm)" if runs > 1 and k == runs - 1 else (" (first)" if runs > 1 else "")
                r = bench_report(client, size if client == "scale" else "demo", label=label)
                rows.append(r)
                print_rows([r])
                d = r.detail
                print(f"           peak at {d['peak_at_s']:.0f}s in: {d['peak_processes']}\n"
                      f"           notebooks: {d['notebooks']}\n           slowest analyses: {d['analyses_top']}\n"
                      f"           raised a kernel's peak (GB added, peak after): {d['memory_top']}",
                      flush=True)
    print("\nratio: load = cxlib / DuckDB reading the files (target <= 2); others = pandas / cxlib "
          "(speed-up, target >= 10 at full size). peak GB: this process (in-process steps) or the "
          "whole process tree (reports).")
    print_rows(rows)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) | {"ratio": r.ratio} for r in rows], indent=2, default=str))
    return rows


if __name__ == "__main__":
    main()

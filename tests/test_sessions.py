"""The load's web session summary: the funnel over all sessions counted from it equals the funnel
counted from the events (and a pandas count of the export), sessions crossing a period's edges
included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.data import engine, periods
from cxlib.data.io import load_store
from tests.test_io import client

STEPS = ["landing", "view", "cart", "checkout", "pay", "buy", "review", "share", "reorder"]  # 9: bit 8 > int8


def _events(seed: int = 5) -> pd.DataFrame:
    """Sessions of 1-12 events over 2025, some crossing a quarter's start or end, one lasting
    half a year, some with no funnel event; events in no order within the file."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(900):
        start = pd.Timestamp("2025-01-01") + pd.Timedelta(minutes=int(rng.integers(0, 365 * 24 * 60)))
        if s % 97 == 0:  # planted: a session that starts at the end of a quarter and goes on a day
            q = periods.parse(f"2025Q{1 + s % 3}")
            start = q.end - pd.Timedelta(hours=2)
        n = int(rng.integers(1, 13))
        depth = int(rng.integers(0, len(STEPS) + 1))
        for k in range(n):
            event = STEPS[int(rng.integers(0, depth))] if depth and rng.random() < .8 else "faq"
            step = pd.Timedelta(hours=3) if s % 97 == 0 else pd.Timedelta(minutes=int(rng.integers(1, 30)))
            rows.append({"session_id": f"s{s:04d}", "event_time": start + k * step, "event": event,
                         "device": "mobile" if s % 3 else "desktop"})
    rows += [{"session_id": "long", "event_time": pd.Timestamp("2025-02-01") + pd.Timedelta(days=d),
              "event": STEPS[min(d // 20, len(STEPS) - 1)], "device": "desktop"} for d in range(0, 180, 10)]
    df = pd.DataFrame(rows).sample(frac=1, random_state=seed).reset_index(drop=True)
    df["event_time"] = df["event_time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return df


def _pandas_funnel(ev: pd.DataFrame, period) -> pd.Series:
    """Sessions at depth >= i for each step i, counted from the export's rows in pandas."""
    w = ev[ev["event"].isin(STEPS) & _in(ev, period)]
    depth = w["event"].map({e: i + 1 for i, e in enumerate(STEPS)}).groupby(w["session_id"]).max()
    return pd.Series({i: int((depth >= i).sum()) for i in range(1, len(STEPS) + 1)})


def _in(ev: pd.DataFrame, period) -> pd.Series:
    t = pd.to_datetime(ev["event_time"])
    return pd.Series(True, index=ev.index) if period.is_all else (t >= period.start) & (t < period.end)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    ev = _events()
    funnel = [{"event": e, "label": e.title()} for e in STEPS]
    p = client(tmp_path_factory.mktemp("sessions"), mp, {"web_events": (ev, "w.csv", {})}, funnel=funnel)
    store = load_store(p, now=pd.Timestamp("2026-11-22"))
    yield ev, p, store
    mp.undo()


@pytest.mark.parametrize("label", ["2025Q1", "2025Q2", "2025Q3", "2025-03", "2025", "all"])
def test_the_funnel_from_the_session_summary_equals_the_events(loaded, label):
    ev, p, store = loaded
    period = periods.parse(label)
    assert store.has(engine.SESSIONS_TABLE) and engine._sessions_for(store, STEPS, None) is not None
    got = engine.funnel(store, p, period, by=None)
    want = _pandas_funnel(ev, period)
    assert got["sessions"].tolist() == [want[i] if got["seen"].iloc[i - 1] else 0 for i in want.index]
    seen = set(ev.loc[ev["event"].isin(STEPS) & _in(ev, period), "event"])
    assert set(got.loc[got["seen"], "event"]) == seen
    # the crossing sessions are really there: the summary alone (every session by its whole depth) differs
    if label in ("2025Q1", "2025Q2"):
        s = store.df(engine.SESSIONS_TABLE)
        crossing = s[(s["_first"] < period.end) & (s["_last"] >= period.start)
                     & ~((s["_first"] >= period.start) & (s["_last"] < period.end))]
        assert len(crossing) >= 2
    # the same frame from the events alone (the path of a store without the summary)
    split = engine.funnel(store, p, period, by="device").groupby("step_order")["sessions"].sum()
    assert got["sessions"].tolist() == split.tolist()


def test_a_funnel_other_than_the_loads_reads_the_events(loaded):
    ev, p, store = loaded
    other = p.model_copy(update={"funnel": p.funnel[:4]})
    assert engine._sessions_for(store, [s.event for s in other.funnel], None) is None
    got = engine.funnel(store, other, periods.parse("2025Q2"), by=None)
    t = pd.to_datetime(ev["event_time"])
    w = ev[ev["event"].isin(STEPS[:4]) & (t >= pd.Timestamp("2025-04-01")) & (t < pd.Timestamp("2025-07-01"))]
    depth = w["event"].map({e: i + 1 for i, e in enumerate(STEPS[:4])}).groupby(w["session_id"]).max()
    assert got["sessions"].tolist() == [int((depth >= i).sum()) for i in range(1, 5)]

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


def _events(seed: int = 5, two_devices: bool = False) -> pd.DataFrame:
    """Sessions of 1-12 events over 2025, some crossing a quarter's start or end, one lasting
    half a year, some with no funnel event; events in no order within the file. ``two_devices``:
    one session goes on from a phone to a computer (two rows of the summary)."""
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
    if two_devices:
        rows += [{"session_id": "two", "event_time": pd.Timestamp("2025-05-05 10:00") + pd.Timedelta(minutes=k),
                  "event": STEPS[k], "device": "mobile" if k < 3 else "desktop"} for k in range(6)]
    df = pd.DataFrame(rows).sample(frac=1, random_state=seed).reset_index(drop=True)
    df["event_time"] = df["event_time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return df


def _pandas_funnel(ev: pd.DataFrame, period, by: str | None = None) -> pd.Series:
    """Sessions (per ``by`` group) at depth >= i for each step i, counted from the export's rows in pandas."""
    w = ev[ev["event"].isin(STEPS) & _in(ev, period)]
    keys = [w["session_id"]] + ([w[by]] if by else [])
    depth = w["event"].map({e: i + 1 for i, e in enumerate(STEPS)}).groupby(keys).max()
    return pd.Series({i: int((depth >= i).sum()) for i in range(1, len(STEPS) + 1)})


def _in(ev: pd.DataFrame, period) -> pd.Series:
    t = pd.to_datetime(ev["event_time"])
    return pd.Series(True, index=ev.index) if period.is_all else (t >= period.start) & (t < period.end)


@pytest.fixture(scope="module", params=[False, True], ids=["one-device", "two-devices"])
def loaded(tmp_path_factory, request):
    mp = pytest.MonkeyPatch()
    ev = _events(two_devices=request.param)
    funnel = [{"event": e, "label": e.title()} for e in STEPS]
    p = client(tmp_path_factory.mktemp("sessions"), mp, {"web_events": (ev, "w.csv", {})}, funnel=funnel)
    store = load_store(p, now=pd.Timestamp("2026-11-22"))
    yield ev, p, store
    mp.undo()


@pytest.mark.parametrize("label", ["2025Q1", "2025Q2", "2025Q3", "2025-03", "2025", "all"])
def test_the_funnel_from_the_session_summary_equals_the_events(loaded, label):
    ev, p, store = loaded
    period = periods.parse(label)
    two = (ev["session_id"] == "two").any()
    assert store.has(engine.SESSIONS_TABLE)
    # by device: the summary's own key, always; the whole funnel: only when each session is one row
    assert engine._sessions_for(store, STEPS, "device") is not None
    assert (engine._sessions_for(store, STEPS, None) is None) == two
    assert engine._sessions_for(store, STEPS, "source") is None
    seen = set(ev.loc[ev["event"].isin(STEPS) & _in(ev, period), "event"])
    for by in (None, "device"):
        got = engine.funnel(store, p, period, by=by)
        assert set(got.loc[got["seen"], "event"]) == seen
        want = _pandas_funnel(ev, period, by)
        counted = got.groupby("step_order")["sessions"].sum()
        assert counted.tolist() == [want[i] if got["seen"].iloc[i - 1] else 0 for i in want.index], by
    split = engine.funnel(store, p, period, by="device")
    for dev in ("mobile", "desktop"):  # each device's own funnel (a step nobody reached in the period is 0)
        want = _pandas_funnel(ev[ev["device"] == dev], period)
        assert split.loc[split["device"] == dev, "sessions"].tolist() == [
            want[i] if STEPS[i - 1] in seen else 0 for i in want.index], dev
    # the crossing sessions are really there: counted by their whole depth, the funnel would differ
    if label in ("2025Q1", "2025Q2"):
        s = store.df(engine.SESSIONS_TABLE)
        crossing = s[(s["_first"] < period.end) & (s["_last"] >= period.start)
                     & ~((s["_first"] >= period.start) & (s["_last"] < period.end))]
        assert len(crossing) >= 2


def test_a_funnel_other_than_the_loads_reads_the_events(loaded):
    ev, p, store = loaded
    other = p.model_copy(update={"funnel": p.funnel[:4]})
    assert engine._sessions_for(store, [s.event for s in other.funnel], None) is None
    got = engine.funnel(store, other, periods.parse("2025Q2"), by=None)
    t = pd.to_datetime(ev["event_time"])
    w = ev[ev["event"].isin(STEPS[:4]) & (t >= pd.Timestamp("2025-04-01")) & (t < pd.Timestamp("2025-07-01"))]
    depth = w["event"].map({e: i + 1 for i, e in enumerate(STEPS[:4])}).groupby(w["session_id"]).max()
    assert got["sessions"].tolist() == [int((depth >= i).sum()) for i in range(1, 5)]


def test_a_summary_from_an_earlier_version_is_not_read(tmp_path, monkeypatch):
    """A database whose session summary was built by an earlier cxlib (another meta layout): the
    funnel reads the events, and counts the same."""
    ev = _events(seed=9)
    funnel = [{"event": e, "label": e.title()} for e in STEPS]
    p = client(tmp_path, monkeypatch, {"web_events": (ev, "w.csv", {})}, funnel=funnel)
    store = load_store(p, now=pd.Timestamp("2026-11-22"))
    period = periods.parse("2025Q2")
    before = engine.funnel(store, p, period, by=None)
    store.db.execute(f'CREATE OR REPLACE TABLE "{engine.SESSIONS_META}" AS SELECT ? AS steps',
                     ["\x1f".join(STEPS)])
    store._tables.clear()
    assert engine._sessions_for(store, STEPS, None) is None
    pd.testing.assert_frame_equal(engine.funnel(store, p, period, by=None), before)

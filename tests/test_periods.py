"""Periods that fit the data: quarter, month, year, a custom range and the whole file."""

from __future__ import annotations

import pandas as pd
import pytest

from cxlib.data import periods
from cxlib.exceptions import PeriodError


def test_parse_and_previous_of_every_kind():
    p = periods.parse("2026q1")
    assert p.label == "2026Q1" and p.start == pd.Timestamp("2026-01-01") and p.end == pd.Timestamp("2026-04-01")
    assert p.previous.label == "2025Q4"
    m = periods.parse("2026-03")
    assert (m.kind, m.start, m.end, m.previous.label) == ("month", pd.Timestamp("2026-03-01"),
                                                          pd.Timestamp("2026-04-01"), "2026-02")
    y = periods.parse("2025")
    assert (y.kind, y.end, y.previous.label) == ("year", pd.Timestamp("2026-01-01"), "2024")
    r = periods.parse("2018-01-01..2018-03-31")
    assert (r.kind, r.start, r.end) == ("range", pd.Timestamp("2018-01-01"), pd.Timestamp("2018-04-01"))
    # the previous range has the same length (90 days) and ends the day before
    assert r.previous.label == "2017-10-03..2017-12-31"
    assert periods.parse("ALL").is_all and periods.parse("all").previous is None


@pytest.mark.parametrize("bad", ["2026Q5", "Q3-2026", "2026-13", "", "2026-03-01..2026-02-01", "last year"])
def test_bad_label(bad):
    with pytest.raises(PeriodError):
        periods.parse(bad)


def test_latest_complete_by_unit():
    assert periods.latest_complete(pd.Timestamp("2026-09-30 10:00")).label == "2026Q3"
    assert periods.latest_complete(pd.Timestamp("2026-11-20")).label == "2026Q3"
    assert periods.latest_complete(pd.Timestamp("2026-09-29")).label == "2026Q2"
    assert periods.latest_complete(pd.Timestamp("2026-11-20"), "month").label == "2026-10"
    assert periods.latest_complete(pd.Timestamp("2026-12-31"), "year").label == "2026"


def test_resolve_default_outside_and_previous_without_data():
    cur, prev = periods.resolve(None, pd.Timestamp("2025-01-03"), pd.Timestamp("2026-09-30"))
    assert (cur.label, prev.label) == ("2026Q3", "2026Q2")
    with pytest.raises(PeriodError, match=r"2027Q1 is outside the data, which runs from 2025-01-03 to 2026-09-30"):
        periods.resolve("2027Q1", pd.Timestamp("2025-01-03"), pd.Timestamp("2026-09-30"))
    # one quarter of data: the period works, its comparison is absent
    cur, prev = periods.resolve(None, pd.Timestamp("2018-01-02"), pd.Timestamp("2018-03-31"))
    assert cur.label == "2018Q1" and prev is None
    # a previous period inside the span but without rows is absent too
    cur, prev = periods.resolve("2018Q3", pd.Timestamp("2018-01-02"), pd.Timestamp("2018-09-30"),
                                has_rows=lambda p: p.label != "2018Q2")
    assert cur.label == "2018Q3" and prev is None


def test_undated_data_is_the_whole_file():
    cur, prev = periods.resolve(None, pd.NaT, pd.NaT)
    assert cur.is_all and prev is None
    with pytest.raises(PeriodError, match="no dates"):
        periods.resolve("2026Q1", pd.NaT, pd.NaT)
    # data shorter than one complete quarter: the whole file
    cur, _ = periods.resolve(None, pd.Timestamp("2026-10-02"), pd.Timestamp("2026-11-20"))
    assert cur.is_all


def test_label_of_units():
    ts = pd.Series(pd.to_datetime(["2026-01-31", "2026-08-01", None]))
    assert periods.label_of(ts).tolist()[:2] == ["2026Q1", "2026Q3"]
    assert periods.label_of(ts, "month").tolist()[:2] == ["2026-01", "2026-08"]
    assert pd.isna(periods.label_of(ts, "year").iloc[2])

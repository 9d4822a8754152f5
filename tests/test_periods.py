from __future__ import annotations

import pandas as pd
import pytest

from cxlib.data import periods
from cxlib.exceptions import PeriodError


def test_parse_and_previous():
    p = periods.parse("2026q1")
    assert p.label == "2026Q1" and p.start == pd.Timestamp("2026-01-01") and p.end == pd.Timestamp("2026-04-01")
    assert p.previous.label == "2025Q4"


@pytest.mark.parametrize("bad", ["2026Q5", "Q3-2026", "2026-07", ""])
def test_bad_label(bad):
    with pytest.raises(PeriodError, match="not a quarter"):
        periods.parse(bad)


def test_latest_complete_quarter():
    assert periods.latest_complete(pd.Timestamp("2026-09-30 10:00")).label == "2026Q3"
    assert periods.latest_complete(pd.Timestamp("2026-11-20")).label == "2026Q3"
    assert periods.latest_complete(pd.Timestamp("2026-09-29")).label == "2026Q2"


def test_resolve_default_and_outside():
    cur, prev = periods.resolve(None, pd.Timestamp("2025-01-03"), pd.Timestamp("2026-09-30"))
    assert (cur.label, prev.label) == ("2026Q3", "2026Q2")
    with pytest.raises(PeriodError, match=r"2027Q1 is outside the data .*2025Q1, .*2026Q3"):
        periods.resolve("2027Q1", pd.Timestamp("2025-01-03"), pd.Timestamp("2026-09-30"))

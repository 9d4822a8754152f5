"""Reporting periods: calendar quarters labelled like ``2026Q3``."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from cxlib.exceptions import PeriodError

_RE = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True)
class Period:
    """One calendar quarter; ``start`` inclusive, ``end`` exclusive."""

    label: str
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def span(self) -> str:
        """Human dates, e.g. '1 Jul 2026 to 30 Sep 2026'."""
        last = self.end - pd.Timedelta(days=1)
        return f"{self.start.day} {self.start:%b %Y} to {last.day} {last:%b %Y}"

    @property
    def iso_span(self) -> str:
        """ISO dates, e.g. '2026-07-01 – 2026-09-30' (for any language)."""
        return f"{self.start:%Y-%m-%d} – {self.end - pd.Timedelta(days=1):%Y-%m-%d}"

    @property
    def previous(self) -> Period:
        return parse((self.start - pd.Timedelta(days=1)).to_period("Q").strftime("%YQ%q"))


def parse(label: str) -> Period:
    """Parse ``YYYYQn`` into a :class:`Period`."""
    m = _RE.match(str(label).strip().upper())
    if not m:
        raise PeriodError(f"period {label!r} is not a quarter like 2026Q3 (year, 'Q', 1-4).")
    q = pd.Period(f"{m.group(1)}Q{m.group(2)}", freq="Q")
    return Period(q.strftime("%YQ%q"), q.start_time.normalize(), (q + 1).start_time.normalize())


def label_of(ts: pd.Series) -> pd.Series:
    """Quarter labels for a datetime Series."""
    return ts.dt.to_period("Q").dt.strftime("%YQ%q")


def latest_complete(max_time: pd.Timestamp) -> Period:
    """The latest quarter that ``max_time`` (the newest record) shows to be complete.

    A quarter is complete when the data reaches its last day; otherwise the one before it.
    """
    if pd.isna(max_time):
        raise PeriodError("the data has no dated records, so no reporting period can be chosen.")
    current = parse(pd.Timestamp(max_time).to_period("Q").strftime("%YQ%q"))
    if pd.Timestamp(max_time).normalize() >= current.end - pd.Timedelta(days=1):
        return current
    return current.previous


def resolve(requested: str | None, min_time: pd.Timestamp, max_time: pd.Timestamp) -> tuple[Period, Period]:
    """The reporting period and the one it is compared with.

    ``requested`` None picks the latest complete quarter. A requested quarter must lie in the
    data (the error lists the quarters available).
    """
    period = latest_complete(max_time) if requested is None else parse(requested)
    first = parse(pd.Timestamp(min_time).to_period("Q").strftime("%YQ%q"))
    last = latest_complete(max_time)
    if period.start < first.start or period.start > last.start:
        available = pd.period_range(first.start, last.start, freq="Q").strftime("%YQ%q")
        raise PeriodError(
            f"period {period.label} is outside the data (complete quarters: "
            f"{', '.join(available)}); choose one of them with PERIOD=."
        )
    return period, period.previous

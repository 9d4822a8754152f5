"""Reporting periods that fit the data: a quarter, a month, a year, a custom range or the whole file.

Labels: ``2026Q3`` (quarter), ``2026-07`` (month), ``2026`` (year),
``2026-01-01..2026-03-31`` (a range, both days included) and ``all`` (the whole file, the
default for undated data). Every period has a ``start`` (inclusive) and an ``end``
(exclusive); the whole file has neither. A period is compared with the one before it of the
same length (:attr:`Period.previous`) when that one has data; the whole file has no previous
period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from cxlib.exceptions import PeriodError

UNITS = ("quarter", "month", "year")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
_FREQ = {"quarter": "Q", "month": "M", "year": "Y"}


@dataclass(frozen=True)
class Period:
    """One reporting period; ``start`` inclusive, ``end`` exclusive (both None for ``all``)."""

    label: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    kind: str = "quarter"  # quarter | month | year | range | all

    @property
    def is_all(self) -> bool:
        return self.kind == "all"

    @property
    def span(self) -> str:
        """Human dates, e.g. '1 Jul 2026 to 30 Sep 2026' ('the whole file' for all)."""
        if self.is_all:
            return "the whole file"
        last = self.end - pd.Timedelta(days=1)
        return f"{self.start.day} {self.start:%b %Y} to {last.day} {last:%b %Y}"

    @property
    def iso_span(self) -> str:
        """ISO dates, e.g. '2026-07-01 – 2026-09-30' (for any language)."""
        if self.is_all:
            return "all"
        return f"{self.start:%Y-%m-%d} – {self.end - pd.Timedelta(days=1):%Y-%m-%d}"

    @property
    def previous(self) -> Period | None:
        """The period of the same length just before (None for the whole file)."""
        if self.is_all:
            return None
        if self.kind in _FREQ:
            p = pd.Period(self.start, freq=_FREQ[self.kind]) - 1
            return _from_pandas(p, self.kind)
        length = self.end - self.start
        start = self.start - length
        return parse(f"{start:%Y-%m-%d}..{self.start - pd.Timedelta(days=1):%Y-%m-%d}")

    def contains(self, ts: pd.Series) -> pd.Series:
        """Whether each timestamp lies in the period (always True for the whole file, except
        missing dates, which lie in no dated period)."""
        if self.is_all:
            return pd.Series(True, index=ts.index)
        return (ts >= self.start) & (ts < self.end)


ALL = Period("all", None, None, "all")


def _from_pandas(p: pd.Period, kind: str) -> Period:
    label = {"quarter": p.strftime("%YQ%q"), "month": p.strftime("%Y-%m"), "year": p.strftime("%Y")}[kind]
    return Period(label, p.start_time.normalize(), (p + 1).start_time.normalize(), kind)


def parse(label: str) -> Period:
    """Parse a period label (``2026Q3``, ``2026-07``, ``2026``, ``2026-01-01..2026-03-31``, ``all``)."""
    text = str(label).strip()
    if text.lower() == "all":
        return ALL
    if m := _QUARTER.match(text.upper()):
        return _from_pandas(pd.Period(f"{m.group(1)}Q{m.group(2)}", freq="Q"), "quarter")
    if m := _MONTH.match(text):
        if not 1 <= int(m.group(2)) <= 12:
            raise PeriodError(f"period {label!r}: month {m.group(2)} does not exist.")
        return _from_pandas(pd.Period(text, freq="M"), "month")
    if _YEAR.match(text):
        return _from_pandas(pd.Period(text, freq="Y"), "year")
    if m := _RANGE.match(text):
        try:
            start, last = pd.Timestamp(m.group(1)), pd.Timestamp(m.group(2))
        except ValueError:
            raise PeriodError(f"period {label!r}: not a real date.") from None
        if last < start:
            raise PeriodError(f"period {label!r} ends before it starts.")
        return Period(text, start, last + pd.Timedelta(days=1), "range")
    raise PeriodError(
        f"period {label!r} is not one of: a quarter (2026Q3), a month (2026-07), a year (2026), a range "
        f"(2026-01-01..2026-03-31) or all."
    )


def label_of(ts: pd.Series, unit: str = "quarter") -> pd.Series:
    """Period labels of a datetime Series in ``unit`` (quarter, month or year); NaT stays missing."""
    fmt = {"quarter": "%YQ%q", "month": "%Y-%m", "year": "%Y"}[unit]
    return ts.dt.to_period(_FREQ[unit]).dt.strftime(fmt)


def unit_of(period: Period, default: str = "quarter") -> str:
    """The unit trends use with this period: its own unit, else ``default``."""
    return period.kind if period.kind in UNITS else default


def latest_complete(max_time: pd.Timestamp, unit: str = "quarter") -> Period:
    """The latest ``unit`` that ``max_time`` (the newest record) shows to be complete.

    A period is complete when the data reaches its last day; otherwise the one before it.
    """
    if pd.isna(max_time):
        raise PeriodError("the data has no dated records, so no dated period can be chosen; use PERIOD=all.")
    current = _from_pandas(pd.Period(pd.Timestamp(max_time), freq=_FREQ[unit]), unit)
    if pd.Timestamp(max_time).normalize() >= current.end - pd.Timedelta(days=1):
        return current
    return current.previous


def resolve(requested: str | None, min_time, max_time, *, unit: str = "quarter",
            has_rows=None) -> tuple[Period, Period | None]:
    """The reporting period and the one it is compared with (None when there is none with data).

    ``requested`` None: the latest complete ``unit`` of the data, or the whole file when the data
    has no dates or no complete period. A requested dated period must overlap the data (the error
    names the span of the data). ``has_rows(period) -> bool`` says whether a period holds data;
    the previous period is returned only when it does.
    """
    dated = not (pd.isna(min_time) or pd.isna(max_time))
    if requested is None or str(requested).strip() == "":
        if not dated:
            return ALL, None
        period = latest_complete(max_time, unit)
        if period.end <= pd.Timestamp(min_time) or (has_rows is not None and not has_rows(period)):
            return ALL, None
    else:
        period = parse(requested)
    if period.is_all:
        return period, None
    if not dated:
        raise PeriodError(f"period {period.label} was asked for, but the data has no dates; use PERIOD=all "
                          "(or map the export's date column in params).")
    lo, hi = pd.Timestamp(min_time), pd.Timestamp(max_time)
    if period.end <= lo or period.start > hi:
        raise PeriodError(
            f"period {period.label} is outside the data, which runs from {lo:%Y-%m-%d} to {hi:%Y-%m-%d}; choose a "
            f"period inside it with PERIOD= (e.g. {latest_complete(hi, unit).label if hi >= lo else 'all'}) or "
            f"PERIOD=all."
        )
    prev = period.previous
    if prev is not None and (prev.end <= lo or (has_rows is not None and not has_rows(prev))):
        prev = None
    return period, prev

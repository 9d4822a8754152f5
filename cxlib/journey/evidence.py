"""What the journey method's analyses share: the evidence status, table checks and verdicts.

Every analysis of the mapping method (the questions, the validation, the paths to churn, the
map's history) answers only from the tables and columns the client gave. When what it needs
is missing, or the base is too small, it returns :data:`NOT_ENOUGH` with the reason instead
of raising, so a report on a survey export alone still renders and says what is missing.

A problem rate is judged against two declared thresholds (:class:`Threshold`): below
``ok_below`` the answer is *yes*, at or above ``bad_from`` it is *no*, and *partly* between.
A question's verdict combines the verdicts of its evidence (:func:`combine`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import NamedTuple

import numpy as np
import pandas as pd

from cxlib.data import periods
from cxlib.data.io import Store

__all__ = ["Status", "ANSWERED", "NOT_ENOUGH", "YES", "PARTLY", "NO", "VERDICTS", "Threshold",
           "as_period", "columns_of", "missing", "wilson", "judge", "decisive", "combine"]


class Status(StrEnum):
    """Whether an analysis could answer from the client's data."""

    ANSWERED = "answered"
    NOT_ENOUGH = "not_enough_evidence"


ANSWERED = Status.ANSWERED
NOT_ENOUGH = Status.NOT_ENOUGH
YES, PARTLY, NO = "yes", "partly", "no"
VERDICTS = (YES, PARTLY, NO)


class Threshold(NamedTuple):
    """Declared limits of a problem rate (higher = worse): yes below ``ok_below``, no from ``bad_from``."""

    ok_below: float
    bad_from: float


def as_period(period) -> periods.Period | None:
    """A :class:`~cxlib.data.periods.Period` from a Period or a label such as ``"2026Q3"`` (None stays None)."""
    if period is None or isinstance(period, periods.Period):
        return period
    return periods.parse(str(period))


def columns_of(store: Store | None, table: str) -> set[str] | None:
    """The columns of ``table`` in the store, or None when the store does not hold it."""
    if store is None or not store.has(table):
        return None
    return set(store.table(table).columns)


def missing(store: Store | None, needs: Mapping[str, Sequence[str]]) -> list[str]:
    """What the store lacks of ``needs`` (``{table: [columns]}``): ``["orders", "interactions.reason"]``."""
    out: list[str] = []
    for table, cols in needs.items():
        have = columns_of(store, table)
        if have is None:
            out.append(table)
        else:
            out.extend(f"{table}.{c}" for c in cols if c not in have)
    return out


def wilson(k, n, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``k`` successes in ``n`` trials (Wilson 1927), NaN where n = 0.

    ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``, ``z = Φ⁻¹((1+c)/2)``; computed by
    :func:`statsmodels.stats.proportion.proportion_confint` (``method="wilson"``).
    """
    # imported here: the runner imports this module to check names, and needs no statistics
    from statsmodels.stats.proportion import proportion_confint

    k = np.atleast_1d(np.asarray(k, dtype=float))
    n = np.atleast_1d(np.asarray(n, dtype=float))
    lo = np.full(np.broadcast(k, n).shape, np.nan)
    hi = lo.copy()
    ok = np.broadcast_to(n > 0, lo.shape)
    if ok.any():
        kk, nn = np.broadcast_to(k, lo.shape)[ok], np.broadcast_to(n, lo.shape)[ok]
        lo[ok], hi[ok] = proportion_confint(kk, nn, alpha=1 - confidence, method="wilson")
    return lo, hi


def judge(value: float, threshold: Threshold) -> str | None:
    """*yes* below ``ok_below``, *no* at or above ``bad_from``, *partly* between (None for NaN)."""
    if value is None or pd.isna(value):
        return None
    if value < threshold.ok_below:
        return YES
    if value >= threshold.bad_from:
        return NO
    return PARTLY


def decisive(ci_low: float, ci_high: float, verdict: str | None, threshold: Threshold) -> bool | None:
    """Whether the interval lies wholly inside the band of its verdict (the verdict is not an
    accident of sampling): yes needs ``ci_high < ok_below``, no needs ``ci_low >= bad_from``,
    partly needs both ends between the thresholds."""
    if verdict is None or pd.isna(ci_low) or pd.isna(ci_high):
        return None
    if verdict == YES:
        return bool(ci_high < threshold.ok_below)
    if verdict == NO:
        return bool(ci_low >= threshold.bad_from)
    return bool(ci_low >= threshold.ok_below and ci_high < threshold.bad_from)


def combine(verdicts: Iterable[str | None]) -> str | None:
    """One verdict from the verdicts of a question's evidence (None entries are left out).

    *yes* when every piece says yes; *no* when none says yes and at least half say no;
    *partly* otherwise; None when there is no verdict at all.
    """
    vs = [v for v in verdicts if v is not None and not (isinstance(v, float) and np.isnan(v))]
    if not vs:
        return None
    if all(v == YES for v in vs):
        return YES
    if YES not in vs and 2 * vs.count(NO) >= len(vs):
        return NO
    return PARTLY

"""Operational view of the journey: what the operations data says about each touchpoint.

::

    ops = touchpoint_operations(ctx.store, ctx.params, ctx.period)  # every journey touchpoint
    pains = pain_points(coded, cur_verb, ctx.params)                # top negative code per touchpoint

Operational metrics sit beside the customer scores (:mod:`cxlib.journey.gaps`) so a reader sees
cause and effect together: a touchpoint with a low CSAT *and* a low resolution rate, or a
high late-delivery rate, or many sessions leaving at its funnel steps.

Every aggregation runs in the engine (DuckDB through Ibis); only one row per touchpoint
comes back to pandas. Proportions carry a Wilson score interval (Wilson 1927) at
``params.thresholds.confidence``.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from cxlib.data import engine, periods
from cxlib.data.io import Store
from cxlib.data.params import Params
from cxlib.exceptions import PeriodError
from cxlib.voice.coding import code_label

__all__ = ["OPS_COLUMNS", "PAIN_COLUMNS", "wilson_interval", "touchpoint_operations", "pain_points"]

OPS_COLUMNS = [
    "stage", "stage_label", "touchpoint", "label", "owner",
    "contacts", "resolved", "resolution_rate", "resolution_ci_low", "resolution_ci_high",
    "handling_minutes",
    "orders", "delivery_days", "late", "late_rate", "late_ci_low", "late_ci_high",
    "funnel_steps", "sessions", "sessions_through", "drop_off", "drop_off_ci_low", "drop_off_ci_high",
    "sources",
]

PAIN_COLUMNS = ["stage", "touchpoint", "touchpoint_label", "rank", "code", "label", "theme", "n",
                "n_texts", "share"]


def wilson_interval(k, n, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``k`` successes in ``n`` trials (vectorized; NaN where n = 0).

    ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` with ``z = Φ⁻¹((1+c)/2)``
    (Wilson 1927; Agresti & Coull 1998). Unlike the Wald interval it stays inside [0, 1] and
    keeps its coverage for rates near 0 or 1 and for small n.
    """
    k, n = (np.asarray(pd.to_numeric(x, errors="coerce"), dtype=float) for x in (k, n))
    z = stats.norm.ppf((1 + confidence) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        n = np.where(n > 0, n, np.nan)
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def _period(period) -> periods.Period:
    return period if isinstance(period, periods.Period) else periods.parse(str(period))


def _journey_frame(params: Params) -> pd.DataFrame:
    return pd.DataFrame([
        {"stage": st.id, "stage_label": st.label, "touchpoint": tp.id, "label": tp.label,
         "owner": tp.owner}
        for st in params.journey for tp in st.touchpoints
    ])


# --- the three operational sources, each aggregated in the engine ----------------------------
def _interaction_stats(store: Store, period: periods.Period) -> pd.DataFrame:
    """Per touchpoint in the period: contacts, resolved contacts, mean handling minutes."""
    if not store.has("interactions") or "touchpoint" not in store.columns("interactions"):
        return pd.DataFrame(columns=["contacts", "resolved", "handling_minutes"])
    i = store.table("interactions")
    if not period.is_all:
        i = i.filter((i.interaction_time >= period.start) & (i.interaction_time < period.end))
    aggs = {"contacts": i.count()}
    aggs["resolved"] = i.resolved.cast("int64").sum() if "resolved" in i.columns else ibis.null("int64")
    aggs["handling_minutes"] = (i.handling_minutes.mean() if "handling_minutes" in i.columns
                                else ibis.null("float64"))
    agg = i.group_by("touchpoint").aggregate(**aggs)
    return agg.to_pandas().set_index("touchpoint")


def _delivery_stats(store: Store, period: periods.Period) -> dict:
    """Orders delivered in the period (with delivery_days): count, mean days, late count."""
    o = store.table("orders")
    if not {"delivery_days", "late"} <= set(o.columns):
        return {"orders": 0, "delivery_days": float("nan"), "late": 0}
    if not period.is_all:
        o = o.filter((o.order_time >= period.start) & (o.order_time < period.end))
    o = o.filter(o.delivery_days.notnull())
    row = o.aggregate(orders=o.count(), delivery_days=o.delivery_days.mean(),
                      late=o.late.cast("int64").sum()).to_pandas().iloc[0]
    return {k: row[k] for k in ("orders", "delivery_days", "late")}


def _funnel_stats(store: Store, params: Params, period: periods.Period) -> pd.DataFrame:
    """Per touchpoint named in the funnel: sessions reaching its first step and getting past its last.

    From :func:`cxlib.data.engine.funnel` (computed per device, summed over devices here).
    ``sessions_through`` = sessions reaching the step after the touchpoint's last step (NaN
    when its last step ends the funnel).
    """
    steps = params.funnel
    mapped = [s.touchpoint for s in steps if s.touchpoint]
    if not mapped or not store.has("web_events"):
        return pd.DataFrame()
    f = engine.funnel(store, params, period, by=None)
    sessions = f.groupby("step_order")["sessions"].sum()
    rows = {}
    for tp in dict.fromkeys(mapped):
        idx = [i for i, s in enumerate(steps, start=1) if s.touchpoint == tp]
        nxt = max(idx) + 1
        rows[tp] = {
            "funnel_steps": " > ".join(steps[i - 1].label for i in idx),
            "sessions": sessions.get(min(idx), 0),
            "sessions_through": sessions.get(nxt, np.nan) if nxt <= len(steps) else np.nan,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _with_rate(out: pd.DataFrame, k: str, n: str, name: str, confidence: float) -> None:
    """Add ``name`` = k/n and its Wilson interval ``{prefix}_ci_low/high`` in place."""
    prefix = name.removesuffix("_rate")
    kk, nn = (pd.to_numeric(out[c], errors="coerce").astype(float) for c in (k, n))
    out[name] = (kk / nn).where(nn > 0)
    out[f"{prefix}_ci_low"], out[f"{prefix}_ci_high"] = wilson_interval(kk, nn, confidence)


def _sources(out: pd.DataFrame) -> pd.Series:
    parts = [out["contacts"].notna().map({True: "interactions", False: ""}),
             out["orders"].notna().map({True: "orders", False: ""}),
             out["sessions"].notna().map({True: "web_events", False: ""})]
    joined = pd.concat(parts, axis=1).apply(lambda r: ", ".join(x for x in r if x), axis=1)
    return joined.astype("str")


def touchpoint_operations(store: Store, params: Params, period, *,
                          delivery_touchpoint: str | None = None) -> pd.DataFrame:
    """Operational metrics of every journey touchpoint for one period, computed in the engine.

    Sources and definitions (a metric that does not apply to a touchpoint, or that the data
    has nothing for in the period, is NaN/NA, never 0):

    interactions (rows whose ``touchpoint`` is the touchpoint, ``interaction_time`` in the period)
        ``contacts`` = interactions; ``resolved`` = those with ``resolved`` true;
        ``resolution_rate`` = resolved / contacts with its Wilson interval
        (``resolution_ci_low``, ``resolution_ci_high``); ``handling_minutes`` = mean
        handling time over the interactions that record one.
    orders (only for ``delivery_touchpoint``; orders placed in the period with ``delivery_days``)
        ``orders`` = delivered orders; ``delivery_days`` = mean days to deliver; ``late`` =
        those flagged late; ``late_rate`` = late / orders with its Wilson interval
        (``late_ci_low``, ``late_ci_high``). Orders without delivery days (e.g. bought in
        store) are not deliveries and are left out.
    web_events (touchpoints named by ``params.funnel`` steps' ``touchpoint``)
        From :func:`cxlib.data.engine.funnel` summed over devices: ``funnel_steps`` = the
        touchpoint's steps; ``sessions`` = sessions reaching its first step;
        ``sessions_through`` = sessions reaching the step after its last step;
        ``drop_off`` = 1 - sessions_through / sessions, the share of sessions that reached
        the touchpoint and left the funnel there, with its Wilson interval
        (``drop_off_ci_low``, ``drop_off_ci_high``). NaN when the touchpoint's last step
        ends the funnel.
    ``sources``
        The tables the row's metrics came from, e.g. ``"interactions, orders"``; ``""`` when none.

    Parameters
    ----------
    store : Store
        The run's data (:func:`cxlib.data.io.load_store`).
    params : Params
        The journey, the funnel steps and ``thresholds.confidence``.
    period : Period or str
        The reporting quarter (e.g. ``ctx.period`` or ``"2026Q3"``).
    delivery_touchpoint : str or None, default None (params ``delivery_touchpoint``)
        The journey touchpoint that order deliveries describe; None for no delivery metrics.

    Returns
    -------
    DataFrame
        One row per journey touchpoint, in journey order; columns :data:`OPS_COLUMNS`
        (counts are nullable integers). ``attrs``: period, confidence,
        ``unmapped_interactions`` (``{touchpoint: contacts}`` for interaction touchpoints not
        in the journey: add them to the params journey), ``notes`` (list of str: what could
        not be computed and why).
    """
    period = _period(period)
    conf = params.thresholds.confidence
    out = _journey_frame(params).set_index("touchpoint", drop=False)
    notes: list[str] = []
    inter = _interaction_stats(store, period)
    out = out.join(inter)
    for col in ("orders", "delivery_days", "late", "sessions", "sessions_through"):
        out[col] = np.nan
    out["funnel_steps"] = pd.Series(None, index=out.index, dtype="object")
    if delivery_touchpoint in out.index and store.has("orders"):
        d = _delivery_stats(store, period)
        if d["orders"] > 0:
            out.loc[delivery_touchpoint, ["orders", "delivery_days", "late"]] = [
                float(d["orders"]), float(d["delivery_days"]), float(d["late"])]
    elif delivery_touchpoint:
        notes.append(f"delivery touchpoint {delivery_touchpoint!r} is not in the journey: no delivery metrics")
    try:
        fun = _funnel_stats(store, params, period)
    except PeriodError as e:
        fun = pd.DataFrame()
        notes.append(str(e))
    for tp, row in fun.iterrows():
        if tp in out.index:
            out.at[tp, "funnel_steps"] = row["funnel_steps"]
            out.loc[tp, ["sessions", "sessions_through"]] = [float(row["sessions"]),
                                                             float(row["sessions_through"])]
        else:
            notes.append(f"funnel touchpoint {tp!r} is not in the journey")
    _with_rate(out, "resolved", "contacts", "resolution_rate", conf)
    _with_rate(out, "late", "orders", "late_rate", conf)
    out["drop_off_k"] = out["sessions"].astype(float) - out["sessions_through"].astype(float)
    _with_rate(out, "drop_off_k", "sessions", "drop_off", conf)
    for col in ("contacts", "resolved", "orders", "late", "sessions", "sessions_through"):
        out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
    out["handling_minutes"] = out["handling_minutes"].astype(float)
    out["delivery_days"] = out["delivery_days"].astype(float)
    out["sources"] = _sources(out)
    out = out[OPS_COLUMNS].reset_index(drop=True)
    unmapped = inter.loc[~inter.index.isin(out["touchpoint"]), "contacts"]
    out.attrs.update(period=period.label, confidence=conf, notes=notes,
                     unmapped_interactions={str(k): int(v) for k, v in unmapped.items()})
    return out


# --- pain points -------------------------------------------------------------------------------
def _text_base(verbatims: pd.DataFrame, speakers: Sequence[str] | None) -> pd.DataFrame:
    """Verbatims that carry text (and, in transcripts, are spoken by ``speakers``)."""
    text = verbatims["text"] if "text" in verbatims else pd.Series("x", index=verbatims.index)
    keep = text.notna() & (text.astype("str").str.strip().str.len() > 0)
    if speakers is not None and "speaker" in verbatims:
        sp = verbatims["speaker"]
        keep &= sp.isna() | sp.astype("str").str.strip().str.lower().isin([s.lower() for s in speakers])
    return verbatims.loc[keep, ["verbatim_id", "touchpoint"]].astype({"verbatim_id": "str"})


def pain_points(coded: pd.DataFrame, verbatims: pd.DataFrame, params: Params, *, top: int = 1,
                speakers: Sequence[str] | None = ("customer",)) -> pd.DataFrame:
    """The most frequent negative codes among each journey touchpoint's verbatims.

    Pass the verbatims of the period and their :func:`cxlib.voice.coding.auto_code` output. A
    touchpoint's texts are its verbatims with text (in call/chat transcripts only the
    ``speakers``' turns, as ``auto_code`` codes them). For each negative-valence code,
    ``n`` = that touchpoint's texts carrying it and ``share = n / n_texts``; codes are
    ranked by n (ties: code name), the first ``top`` kept.

    Returns
    -------
    DataFrame
        Columns :data:`PAIN_COLUMNS`, journey order then rank: stage, touchpoint,
        touchpoint_label, rank, code, label (reader-facing code name), theme, n, n_texts,
        share. A touchpoint without any negative code gets one row with code NaN and n 0
        (share NaN when it has no texts at all). ``attrs``: n_without_touchpoint,
        n_unmapped (texts at touchpoints outside the journey).
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, not {top}")
    base = _text_base(verbatims, speakers)
    n_texts = base.groupby("touchpoint").size()
    neg = coded.loc[coded["valence"].astype("str") == "negative", ["verbatim_id", "code", "theme"]]
    neg = neg.astype({"verbatim_id": "str"}).drop_duplicates(["verbatim_id", "code"])
    neg = neg.merge(base, on="verbatim_id", how="inner")
    counts = (neg.groupby(["touchpoint", "code", "theme"]).size().rename("n").reset_index()
              .sort_values(["touchpoint", "n", "code"], ascending=[True, False, True]))
    counts["rank"] = counts.groupby("touchpoint").cumcount() + 1
    counts = counts[counts["rank"] <= top]
    rows = []
    for st in params.journey:
        for tp in st.touchpoints:
            mine = counts[counts["touchpoint"] == tp.id]
            total = int(n_texts.get(tp.id, 0))
            head = {"stage": st.id, "touchpoint": tp.id, "touchpoint_label": tp.label, "n_texts": total}
            if mine.empty:
                rows.append({**head, "rank": 1, "code": np.nan, "label": np.nan, "theme": np.nan, "n": 0})
            for r in mine.itertuples():
                rows.append({**head, "rank": r.rank, "code": r.code, "label": code_label(r.code),
                             "theme": r.theme, "n": int(r.n)})
    out = pd.DataFrame(rows)
    out["share"] = (out["n"] / out["n_texts"]).where(out["n_texts"] > 0)
    known = {tp.id for tp in params.touchpoints}
    tps = base["touchpoint"]
    out = out[PAIN_COLUMNS].reset_index(drop=True)
    out.attrs.update(n_without_touchpoint=int(tps.isna().sum()),
                     n_unmapped=int((tps.notna() & ~tps.isin(known)).sum()))
    return out

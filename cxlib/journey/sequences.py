"""Paths that end in churn or abandonment, and the behaviour that signals it.

::

    churn = churn_paths(ctx.store, ctx.params, as_of=ctx.period.end)     # last steps before churn
    signals = churn_rules(ctx.store, ctx.params, as_of=ctx.period.end)   # behaviours as rules
    exits = abandonment_paths(ctx.store, ctx.params, ctx.period)         # steps after checkout starts
    detours = abandonment_rules(ctx.store, ctx.params, ctx.period)

**Customers** (churn). Each customer's *steps* are their contacts (``contact_resolved``,
``contact_unresolved``, or ``contact`` when the outcome is not recorded), their orders
(``order_late``, ``order_on_time``, or ``order`` for a store purchase or an unknown delivery)
and, when web events carry customer ids, their abandoned checkouts (``checkout_abandoned``),
in time order. A customer who churned in the ``window_days`` before ``as_of`` is compared with
the customers still there at ``as_of``; each one's steps are read in the ``lookback_days``
before their *anchor* (the churn date, or ``as_of`` for those who stayed). Without churn
dates every step up to ``as_of`` counts (``anchored`` False in the result).

**Sessions** (abandonment). A session that reaches the start event (params ``abandonment``,
else the first funnel step tied to a touchpoint) converts when it reaches the end event (the
last funnel step) afterwards, and is abandoned otherwise. Its path is its first ``steps``
events from the start event on, before the end event.

For each path (:func:`churn_paths`, :func:`abandonment_paths`) and each behaviour
(:func:`churn_rules`, :func:`abandonment_rules`), with ``A`` the path or behaviour and ``B``
the outcome (churn, abandonment), over the ``N`` customers or sessions compared:

- ``support`` = n(A and B) / N, ``coverage`` = n(A) / N;
- ``confidence`` (``rate``) = n(A and B) / n(A), with its Wilson interval (Wilson 1927);
- ``lift`` = confidence / (n(B) / N) (Brin et al. 1997), its interval the Wilson interval
  divided by the base rate (the base rate's own error, from all N, is left out);
- ``p_value``: Fisher's exact test of A against not-A (two-sided, scipy), ``p_adj`` its Holm
  adjustment over the rows with a base of at least ``min_base`` (statsmodels); ``significant``
  = p_adj < alpha. Rows under ``min_base`` are shown, flagged ``small_base``, never ranked.

All per-customer and per-session work runs in the engine (DuckDB through Ibis); only one row
per distinct path or behaviour comes back to pandas, so 21 million web events never do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from cxlib.data.io import Store
from cxlib.data.params import Params
from cxlib.journey.evidence import ANSWERED, NOT_ENOUGH, Status, as_period, columns_of, wilson
from cxlib.quant.multiple import holm

__all__ = ["PATH_COLUMNS", "RULE_COLUMNS", "CHURN_RULES", "SESSION_RULES", "PathResult", "funnel_ends",
           "churn_paths", "churn_rules", "abandonment_paths", "abandonment_rules", "rank_table"]

PATH_COLUMNS = ["rank", "sequence", "steps", "length", "n", "outcome_n", "other_n", "rate", "ci_low",
                "ci_high", "lift", "lift_ci_low", "lift_ci_high", "support", "share_of_outcome",
                "share_of_other", "p_value", "p_adj", "significant", "small_base"]
RULE_COLUMNS = ["rank", "rule", "days", "n", "outcome_n", "coverage", "support", "rate", "ci_low", "ci_high",
                "lift", "lift_ci_low", "lift_ci_high", "rate_without", "p_value", "p_adj", "significant",
                "small_base"]
#: customer behaviours tested as churn rules (``days`` fills the rule's sentence)
CHURN_RULES = ("repeat_contact", "unresolved_contact", "transferred_contact", "late_delivery",
               "unresolved_then_late", "checkout_abandoned", "no_recent_order")
#: session behaviours tested as abandonment rules
SESSION_RULES = ("help_detour", "went_back")
NO_STEPS = "no_steps"
HELP_EVENTS = ("help_page", "help", "faq", "returns_policy", "contact_page", "contact_us", "support_page")


@dataclass(frozen=True)
class PathResult:
    """Paths or rules for one outcome, or why there are none.

    ``table`` has :data:`PATH_COLUMNS` or :data:`RULE_COLUMNS` (empty when ``status`` is
    not enough evidence); ``n`` customers or sessions compared, ``n_outcome`` of them churned
    or abandoned, ``rate`` = n_outcome / n; ``notes`` say what was left out and why.
    """

    status: Status
    outcome: str  # churn | abandonment
    table: pd.DataFrame
    n: int = 0
    n_outcome: int = 0
    rate: float = float("nan")
    anchored: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)
    as_of: str | None = None  # the end of the window read (ISO date), where one was chosen


def _empty(outcome: str, columns: list[str], notes: list[str], n: int = 0, k: int = 0) -> PathResult:
    return PathResult(NOT_ENOUGH, outcome, pd.DataFrame(columns=columns), n, k,
                      k / n if n else float("nan"), True, tuple(notes))


def rank_table(counts: pd.DataFrame, n_total: int, k_total: int, *, min_base: int, alpha: float,
               confidence: float) -> pd.DataFrame:
    """Rates, lift, intervals and Fisher/Holm tests of groups against the rest.

    ``counts`` has ``n`` (members of the group) and ``outcome_n`` (of them with the outcome);
    ``n_total`` and ``k_total`` are the whole base. Adds rate, ci_low, ci_high (Wilson), lift,
    lift_ci_low, lift_ci_high, support, coverage, rate_without, share_of_outcome,
    share_of_other, p_value (Fisher exact, two-sided), p_adj (Holm over rows with n >= min_base),
    significant, small_base and rank (by lift among significant, adequate rows; NA otherwise).
    """
    out = counts.copy()
    n, k = out["n"].astype(float), out["outcome_n"].astype(float)
    base = k_total / n_total if n_total else np.nan
    out["other_n"] = (n - k).astype(int)
    out["rate"] = (k / n).where(n > 0)
    out["ci_low"], out["ci_high"] = wilson(k, n, confidence)
    out["lift"] = out["rate"] / base
    out["lift_ci_low"], out["lift_ci_high"] = out["ci_low"] / base, out["ci_high"] / base
    out["support"] = k / n_total
    out["coverage"] = n / n_total
    rest_n, rest_k = n_total - n, k_total - k
    out["rate_without"] = (rest_k / rest_n).where(rest_n > 0)
    out["share_of_outcome"] = k / k_total if k_total else np.nan
    out["share_of_other"] = (n - k) / (n_total - k_total) if n_total > k_total else np.nan
    out["p_value"] = [stats.fisher_exact([[a, b - a], [c, d - c]])[1] if 0 < b < n_total else np.nan
                      for a, b, c, d in zip(k, n, rest_k, rest_n, strict=True)]
    out["small_base"] = n < min_base
    ok = ~out["small_base"] & out["p_value"].notna()
    out["p_adj"] = np.nan
    if ok.any():
        out.loc[ok, "p_adj"] = holm(out.loc[ok, "p_value"])
    out["significant"] = ok & (out["p_adj"] < alpha)
    ranked = out[out["significant"]].sort_values(["lift", "n"], ascending=[False, False])
    out["rank"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out.loc[ranked.index, "rank"] = np.arange(1, len(ranked) + 1)
    return out


def funnel_ends(params: Params, start_event: str | None = None, end_event: str | None = None
                ) -> tuple[str, str] | None:
    """(start, end) events of abandonment: the arguments, params ``abandonment``, else the first
    funnel step tied to a touchpoint (or the step before the last) and the last step."""
    if start_event and end_event:
        return start_event, end_event
    declared = getattr(params, "abandonment", None)
    if declared is not None:
        return start_event or declared.start, end_event or declared.end
    steps = params.funnel
    if len(steps) < 2:
        return None
    tied = [s for s in steps[:-1] if s.touchpoint]
    return start_event or (tied[0] if tied else steps[-2]).event, end_event or steps[-1].event


# --- customers -------------------------------------------------------------------------------
def _anchors(store: Store, as_of, window_days: float, lookback_days: float, notes: list[str]):
    """(table customer_id, churned, anchor, since; anchored?, as_of) or None when churn cannot be read."""
    cols = columns_of(store, "customers")
    if cols is None or not {"customer_id", "churned"} <= cols:
        notes.append("customers.churned: missing (who churned)")
        return None
    c = store.table("customers").filter(lambda t: t.churned.notnull())
    if as_of is None:
        as_of = _last_time(store)
    anchored = "churn_date" in cols and as_of is not None
    if not anchored:
        notes.append("customers.churn_date or dated activity: missing, so steps are not read before churn")
        a = c.select("customer_id", churned=c.churned.cast("boolean"),
                     anchor=ibis.null("timestamp"), since=ibis.null("timestamp"))
        return a, False, as_of
    as_of = pd.Timestamp(as_of)
    lo = as_of - pd.Timedelta(days=window_days)
    churn_t = c.churn_date.cast("timestamp")
    gone_before = c.churned & churn_t.notnull() & (churn_t < lo)
    c = c.filter(~gone_before)
    if "signup_date" in cols:
        c = c.filter(c.signup_date.isnull() | (c.signup_date.cast("timestamp") < as_of))
    churned = c.churned & churn_t.notnull() & (churn_t < ibis.literal(as_of))
    # a churner without a churn date cannot be anchored: left out and counted
    undated = int(c.filter(c.churned & churn_t.isnull()).count().to_pandas())
    if undated:
        notes.append(f"customers: {undated} churned customers without a churn date left out")
        c = c.filter(~(c.churned & churn_t.isnull()))
    anchor = ibis.cases((churned, churn_t), else_=ibis.literal(as_of).cast("timestamp"))
    a = c.select("customer_id", churned=churned.cast("boolean"), anchor=anchor)
    a = a.mutate(since=a.anchor - ibis.interval(seconds=int(lookback_days * 86400)))
    return a, True, as_of


def _last_time(store: Store):
    last = []
    for table, col in (("interactions", "interaction_time"), ("orders", "order_time")):
        cols = columns_of(store, table)
        if cols and col in cols:
            t = store.table(table)
            last.append(t.aggregate(m=t[col].max()).to_pandas()["m"].iloc[0])
    last = [x for x in last if x is not None and not pd.isna(x)]
    return max(last) if last else None


def _steps(store: Store, params: Params, detail: str, notes: list[str]) -> ibis.Table | None:
    """Every customer step (customer_id, t, step) from contacts, orders and abandoned checkouts."""
    parts = []
    cols = columns_of(store, "interactions")
    if cols and {"customer_id", "interaction_time"} <= cols:
        i = store.table("interactions").filter(lambda t: t.customer_id.notnull())
        step = (ibis.cases((i.resolved.isnull(), "contact"), (i.resolved, "contact_resolved"),
                           else_="contact_unresolved") if "resolved" in cols else ibis.literal("contact"))
        if detail == "touchpoint" and "touchpoint" in cols:
            step = step + ":" + i.touchpoint.fill_null("?")
        parts.append(i.select(customer_id=i.customer_id.cast("string"), t=i.interaction_time.cast("timestamp"),
                              step=step.cast("string")))
    else:
        notes.append("interactions: missing (contacts as steps)")
    cols = columns_of(store, "orders")
    if cols and {"customer_id", "order_time"} <= cols:
        o = store.table("orders").filter(lambda t: t.customer_id.notnull())
        if "late" in cols:
            delivered = o.late.notnull()
            if "delivery_days" in cols:
                delivered = delivered & o.delivery_days.notnull()
            step = ibis.cases((delivered & o.late, "order_late"), (delivered, "order_on_time"), else_="order")
        else:
            step = ibis.literal("order")
        parts.append(o.select(customer_id=o.customer_id.cast("string"), t=o.order_time.cast("timestamp"),
                              step=step.cast("string")))
    else:
        notes.append("orders: missing (orders as steps)")
    ends = funnel_ends(params)
    cols = columns_of(store, "web_events")
    if ends and cols and {"customer_id", "session_id", "event_time", "event"} <= cols:
        start, end = ends
        w = store.table("web_events").filter(lambda t: t.customer_id.notnull())
        s = w.group_by(["session_id", "customer_id"]).aggregate(
            t=w.event_time.min(where=w.event == start),
            bought=(w.event == end).cast("int64").max())
        s = s.filter(s.t.notnull() & (s.bought == 0))
        parts.append(s.select(customer_id=s.customer_id.cast("string"), t=s.t.cast("timestamp"),
                              step=ibis.literal("checkout_abandoned")))
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    return out


def churn_paths(store: Store | None, params: Params, *, as_of=None, steps: int = 2, lookback_days: float = 180,
                window_days: float = 365, detail: str = "outcome", min_base: int | None = None) -> PathResult:
    """The last ``steps`` steps of churned customers before they left, against those who stayed.

    One row per distinct path (steps in time order, ``no_steps`` for a customer with none in
    the lookback), sorted by how many churners it precedes (``outcome_n``), with the churn
    rate among the customers on it, its lift over the base churn rate and the tests described
    in the module notes. ``detail="touchpoint"`` names the touchpoint of each contact
    (``contact_unresolved:phone_support``).

    Parameters
    ----------
    as_of : timestamp, optional
        Churn is counted up to here (default: the last dated contact or order).
    steps : int, default 2
        Path length (the last 1-5 steps).
    lookback_days, window_days : float
        Steps are read this long before each anchor; churners are those who left in the
        ``window_days`` before ``as_of``.
    min_base : int, optional
        Smallest path base ranked (default ``params.thresholds.min_base``).
    """
    notes: list[str] = []
    if not 1 <= steps <= 5:
        raise ValueError(f"steps must be 1 to 5, not {steps}")
    min_base = min_base or params.thresholds.min_base
    anchors = _anchors(store, as_of, window_days, lookback_days, notes) if store is not None else None
    ev = _steps(store, params, detail, notes) if anchors is not None else None
    if anchors is None or ev is None:
        return _empty("churn", PATH_COLUMNS, notes or ["no customer data"])
    a, anchored, as_of = anchors
    j = ev.inner_join(a, ev.customer_id == a.customer_id)
    if anchored:
        j = j.filter((j.t < j.anchor) & (j.t >= j.since))
    elif as_of is not None:
        j = j.filter(j.t < ibis.literal(pd.Timestamp(as_of)))
    j = j.mutate(rn=ibis.row_number().over(group_by=j.customer_id, order_by=[ibis.desc(j.t), ibis.desc(j.step)]))
    j = j.filter(j.rn < steps)
    piv = j.group_by("customer_id").aggregate(**{f"s{i}": j.step.max(where=j.rn == i) for i in range(steps)})
    per = a.left_join(piv, a.customer_id == piv.customer_id)
    keys = [f"s{i}" for i in range(steps)]
    counts = per.group_by(keys).aggregate(n=per.count(), outcome_n=per.churned.cast("int64").sum()).to_pandas()
    out = _paths_result("churn", counts, keys, params, min_base, anchored, notes, reverse=True)
    return replace(out, as_of=str(pd.Timestamp(as_of).date())) if as_of is not None else out


def _paths_result(outcome, counts, keys, params, min_base, anchored, notes, reverse) -> PathResult:
    n_total, k_total = int(counts["n"].sum()), int(counts["outcome_n"].sum())
    if n_total == 0 or k_total == 0 or k_total == n_total:
        notes.append(f"no {outcome} to compare" if k_total == 0 else f"no customers or sessions without {outcome}"
                     if n_total else "nothing to compare")
        return _empty(outcome, PATH_COLUMNS, notes, n_total, k_total)

    def seq(row) -> tuple[str, ...]:
        parts = [row[k] for k in keys if isinstance(row[k], str)]
        return tuple(reversed(parts)) if reverse else tuple(parts)

    counts["steps"] = counts.apply(seq, axis=1)
    counts.loc[counts["steps"].map(len) == 0, "steps"] = pd.Series([(NO_STEPS,)] * len(counts), index=counts.index)
    counts = counts.groupby("steps", as_index=False)[["n", "outcome_n"]].sum()
    counts["sequence"] = counts["steps"].map(" > ".join)
    counts["length"] = counts["steps"].map(lambda s: 0 if s == (NO_STEPS,) else len(s))
    out = rank_table(counts, n_total, k_total, min_base=min_base, alpha=params.thresholds.alpha,
                     confidence=params.thresholds.confidence)
    out = out.sort_values(["outcome_n", "n", "sequence"], ascending=[False, False, True]).reset_index(drop=True)
    return PathResult(ANSWERED, outcome, out[PATH_COLUMNS], n_total, k_total, k_total / n_total, anchored,
                      tuple(notes))


def churn_rules(store: Store | None, params: Params, *, as_of=None, lookback_days: float = 180,
                window_days: float = 365, repeat_days: float = 7, late_after_days: float = 30,
                quiet_days: float = 60, min_base: int | None = None) -> PathResult:
    """Behaviours in the ``lookback_days`` before each anchor, stated as churn rules.

    ``repeat_contact``: a contact followed by another within ``repeat_days``;
    ``unresolved_contact``: an unresolved contact; ``transferred_contact``: a contact transferred
    between departments (``transfers`` > 0 or ``transferred``); ``late_delivery``: a late
    delivery; ``unresolved_then_late``: an unresolved contact followed by a late delivery within
    ``late_after_days``; ``checkout_abandoned``: an abandoned checkout (identified web
    sessions); ``no_recent_order``: a customer with orders who placed none in the last
    ``quiet_days`` before the anchor. A behaviour whose data is missing is left out (noted).
    Rows in :data:`CHURN_RULES` order; ``days`` is the rule's window.
    """
    notes: list[str] = []
    min_base = min_base or params.thresholds.min_base
    anchors = _anchors(store, as_of, window_days, lookback_days, notes) if store is not None else None
    if anchors is None:
        return _empty("churn", RULE_COLUMNS, notes or ["no customer data"])
    a, anchored, as_of = anchors
    flags: dict[str, tuple[ibis.Table, float | None]] = {}

    def in_window(t: ibis.Table, col: str) -> ibis.Table:
        r = a.select(_cid="customer_id", _anchor="anchor", _since="since")
        j = t.inner_join(r, t.customer_id == r._cid)
        if anchored:
            return j.filter((j[col] < j._anchor) & (j[col] >= j._since))
        return j if as_of is None else j.filter(j[col] < ibis.literal(pd.Timestamp(as_of)))

    icols = columns_of(store, "interactions") or set()
    if {"customer_id", "interaction_time"} <= icols:
        i = in_window(store.table("interactions").filter(lambda t: t.customer_id.notnull()), "interaction_time")
        nxt = i.interaction_time.lead().over(group_by=i.customer_id, order_by=[i.interaction_time])
        i = i.mutate(_gap=nxt.epoch_seconds() - i.interaction_time.epoch_seconds())
        aggs = {"repeat_contact": (i._gap <= int(repeat_days * 86400)).fill_null(False).cast("int64").max()}
        if "resolved" in icols:
            aggs["unresolved_contact"] = (i.resolved == False).fill_null(False).cast("int64").max()  # noqa: E712
        if "transfers" in icols:
            aggs["transferred_contact"] = (i.transfers > 0).fill_null(False).cast("int64").max()
        elif "transferred" in icols:
            aggs["transferred_contact"] = i.transferred.fill_null(False).cast("int64").max()
        g = i.group_by("customer_id").aggregate(**aggs)
        days = {"repeat_contact": repeat_days, "unresolved_contact": None, "transferred_contact": None}
        flags.update({k: (g, days[k]) for k in aggs})
    else:
        notes.append("interactions: missing (contact behaviours)")
    ocols = columns_of(store, "orders") or set()
    if {"customer_id", "order_time"} <= ocols:
        o = in_window(store.table("orders").filter(lambda t: t.customer_id.notnull()), "order_time")
        aggs = {}
        if "late" in ocols:
            aggs["late_delivery"] = o.late.fill_null(False).cast("int64").max()
        if anchored:
            quiet = o.order_time >= (o._anchor - ibis.interval(seconds=int(quiet_days * 86400)))
            aggs["_recent"] = quiet.cast("int64").max()
        g = o.group_by("customer_id").aggregate(**aggs) if aggs else None
        if g is not None and "late_delivery" in aggs:
            flags["late_delivery"] = (g, None)
        if g is not None and "_recent" in aggs:
            flags["no_recent_order"] = (g.mutate(no_recent_order=1 - g._recent).drop("_recent"), quiet_days)
        if "late" in ocols and "resolved" in icols and {"customer_id", "interaction_time"} <= icols:
            u = in_window(store.table("interactions").filter(lambda t: t.customer_id.notnull() & (t.resolved == False)),  # noqa: E712
                          "interaction_time").select("customer_id", tu="interaction_time")
            late = o.filter(o.late).select(_c="customer_id", tl="order_time")
            pair = u.inner_join(late, u.customer_id == late._c)
            secs = int(late_after_days * 86400)
            pair = pair.filter((pair.tl > pair.tu) & (pair.tl.epoch_seconds() - pair.tu.epoch_seconds() <= secs))
            g2 = pair.select("customer_id").distinct().mutate(unresolved_then_late=ibis.literal(1))
            flags["unresolved_then_late"] = (g2, late_after_days)
    else:
        notes.append("orders: missing (delivery behaviours)")
    ends = funnel_ends(params)
    wcols = columns_of(store, "web_events") or set()
    if ends and {"customer_id", "session_id", "event_time", "event"} <= wcols:
        start, end = ends
        w = store.table("web_events").filter(lambda t: t.customer_id.notnull())
        s = w.group_by(["session_id", "customer_id"]).aggregate(
            t=w.event_time.min(where=w.event == start), bought=(w.event == end).cast("int64").max())
        s = in_window(s.filter(s.t.notnull()), "t")
        flags["checkout_abandoned"] = (s.group_by("customer_id").aggregate(
            checkout_abandoned=(s.bought == 0).cast("int64").max()), None)
    if not flags:
        return _empty("churn", RULE_COLUMNS, notes)
    per = a
    for name in CHURN_RULES:
        if name not in flags:
            continue
        g, _ = flags[name]
        g = g.select(_k="customer_id", **{name: g[name]})
        per = per.left_join(g, per.customer_id == g._k).drop("_k")
        per = per.mutate(**{name: per[name].fill_null(0)})
    names = [r for r in CHURN_RULES if r in flags]
    aggs = {"_n": per.count(), "_k": per.churned.cast("int64").sum()}
    for r in names:
        aggs[f"{r}__n"] = per[r].sum()
        aggs[f"{r}__k"] = (per[r] * per.churned.cast("int64")).sum()
    row = per.aggregate(**aggs).to_pandas().iloc[0].fillna(0)
    n_total, k_total = int(row["_n"]), int(row["_k"])
    if n_total == 0 or k_total == 0 or k_total == n_total:
        notes.append("no churn to compare" if k_total == 0 else "no customers who stayed to compare with")
        return _empty("churn", RULE_COLUMNS, notes, n_total, k_total)
    counts = pd.DataFrame({"rule": names, "days": [flags[r][1] for r in names],
                           "n": [int(row[f"{r}__n"]) for r in names],
                           "outcome_n": [int(row[f"{r}__k"]) for r in names]})
    out = rank_table(counts, n_total, k_total, min_base=min_base, alpha=params.thresholds.alpha,
                     confidence=params.thresholds.confidence)
    return PathResult(ANSWERED, "churn", out[RULE_COLUMNS], n_total, k_total, k_total / n_total, anchored,
                      tuple(notes))


# --- sessions --------------------------------------------------------------------------------
def _sessions(store, params, period, start_event, end_event, notes):
    """(events from the start event on, before the end event; per-session outcome) or None."""
    cols = columns_of(store, "web_events")
    ends = funnel_ends(params, start_event, end_event)
    if cols is None or not {"session_id", "event_time", "event"} <= cols:
        notes.append("web_events: missing (sessions)")
        return None
    if ends is None:
        notes.append("params funnel: fewer than two steps, so abandonment has no start and end")
        return None
    start, end = ends
    period = as_period(period)
    w = store.table("web_events")
    if period is not None and getattr(period, "start", None) is not None:
        w = w.filter((w.event_time >= period.start) & (w.event_time < period.end))
    s = w.group_by("session_id").aggregate(t0=w.event_time.min(where=w.event == start))
    s = s.filter(s.t0.notnull())
    e = w.inner_join(s, w.session_id == s.session_id).filter(lambda t: t.event_time >= t.t0)
    t_end = e.group_by("session_id").aggregate(t1=e.event_time.min(where=e.event == end)).rename(_s="session_id")
    e = e.left_join(t_end, e.session_id == t_end._s).drop("_s")
    outcome = e.group_by("session_id").aggregate(abandoned=e.t1.isnull().max().cast("int64"))
    path = e.filter(e.t1.isnull() | (e.event_time < e.t1))
    return path, outcome, start, end


def abandonment_paths(store: Store | None, params: Params, period=None, *, steps: int = 2,
                      start_event: str | None = None, end_event: str | None = None,
                      min_base: int | None = None) -> PathResult:
    """The first ``steps`` events of each session from the start event on, abandoned against converting.

    A path starts with the start event itself (``checkout_start > help_page``); the end event
    never appears in a path. Rows sorted by how many abandoned sessions take the path.
    """
    notes: list[str] = []
    if not 1 <= steps <= 5:
        raise ValueError(f"steps must be 1 to 5, not {steps}")
    min_base = min_base or params.thresholds.min_base
    got = _sessions(store, params, period, start_event, end_event, notes) if store is not None else None
    if got is None:
        return _empty("abandonment", PATH_COLUMNS, notes or ["no web events"])
    path, outcome, _, _ = got
    path = path.mutate(rn=ibis.row_number().over(group_by=path.session_id, order_by=[path.event_time, path.event]))
    path = path.filter(path.rn < steps)
    piv = path.group_by("session_id").aggregate(**{f"s{i}": path.event.max(where=path.rn == i) for i in range(steps)})
    per = outcome.inner_join(piv, outcome.session_id == piv.session_id)
    keys = [f"s{i}" for i in range(steps)]
    counts = per.group_by(keys).aggregate(n=per.count(), outcome_n=per.abandoned.sum()).to_pandas()
    return _paths_result("abandonment", counts, keys, params, min_base, True, notes, reverse=False)


def abandonment_rules(store: Store | None, params: Params, period=None, *,
                      help_events: Sequence[str] = HELP_EVENTS, start_event: str | None = None,
                      end_event: str | None = None, min_base: int | None = None) -> PathResult:
    """Session behaviours after the start event, stated as abandonment rules.

    ``help_detour``: a help or information page (``help_events``) after the start event;
    ``went_back``: a funnel step before the start event visited again after it.
    """
    notes: list[str] = []
    min_base = min_base or params.thresholds.min_base
    got = _sessions(store, params, period, start_event, end_event, notes) if store is not None else None
    if got is None:
        return _empty("abandonment", RULE_COLUMNS, notes or ["no web events"])
    path, outcome, start, _ = got
    funnel = [s.event for s in params.funnel]
    earlier = funnel[:funnel.index(start)] if start in funnel else []
    g = path.group_by("session_id").aggregate(
        help_detour=path.event.isin(list(help_events)).cast("int64").max(),
        went_back=(path.event.isin(earlier) if earlier else ibis.literal(False)).cast("int64").max())
    g = g.rename(_s="session_id")
    per = outcome.inner_join(g, outcome.session_id == g._s)
    aggs = {"_n": per.count(), "_k": per.abandoned.sum()}
    for r in SESSION_RULES:
        aggs[f"{r}__n"] = per[r].sum()
        aggs[f"{r}__k"] = (per[r] * per.abandoned).sum()
    row = per.aggregate(**aggs).to_pandas().iloc[0].fillna(0)
    n_total, k_total = int(row["_n"]), int(row["_k"])
    if n_total == 0 or k_total in (0, n_total):
        notes.append("no sessions reached the start event" if n_total == 0 else "no contrast between outcomes")
        return _empty("abandonment", RULE_COLUMNS, notes, n_total, k_total)
    counts = pd.DataFrame({"rule": list(SESSION_RULES), "days": [None] * len(SESSION_RULES),
                           "n": [int(row[f"{r}__n"]) for r in SESSION_RULES],
                           "outcome_n": [int(row[f"{r}__k"]) for r in SESSION_RULES]})
    out = rank_table(counts, n_total, k_total, min_base=min_base, alpha=params.thresholds.alpha,
                     confidence=params.thresholds.confidence)
    return PathResult(ANSWERED, "abandonment", out[RULE_COLUMNS], n_total, k_total, k_total / n_total, True,
                      tuple(notes))

"""The executive summary's findings: the largest significant findings of every section that ran.

Each rule reads one result of the run (never recomputing it) and proposes a finding with its
test; findings are ranked by the strength of their evidence, ``z`` = the standard normal quantile
of the two-sided p-value (``z = Phi^-1(1 - p/2)``, capped at 8), so a large effect on a small base
and a small effect on a huge base are weighed as a reader would weigh them. Only significant
findings on adequate bases compete; a change that is not significant is never described as one.
The headline (the NPS, or the client's main score) always comes first, with its base and
interval, and says plainly when there is no previous period to compare with; the touchpoint to
fix first (importance-performance, a description rather than a test) follows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from scipy import stats

from cxlib.decide.swot import Evidence, by_attribute, churn_group
from cxlib.decide.words import Message, Num, Term, p_value
from cxlib.quant import metrics


@dataclass(frozen=True)
class Finding:
    """One finding: what it says, where the evidence is, how strong it is, on what base."""

    section: str
    kind: str
    message: object          # Message or Messages
    z: float                 # strength of evidence (0 for the headline)
    n: int
    p: float | None = None


def _z(p: float) -> float:
    return float(min(8.0, stats.norm.isf(max(p, 1e-300) / 2))) if p is not None and p == p else 0.0


def headline(ev: Evidence) -> Finding | None:
    """The client's main score in words: value, interval, base, and the change only if significant."""
    k = ev.kpis
    if k is None or k.empty:
        if ev.recommend is not None:
            r = ev.recommend.iloc[0]
            return Finding("metrics", "headline", Message("sum.recommend", {
                "value": r["value"], "lo": r["ci_low"], "hi": r["ci_high"], "n": int(r["n"]),
                "period": ev.period}), 0.0, int(r["n"]))
        return None
    k = k.set_index("metric")
    metric = next(m for m in ("nps", "csat", "csat_mean", "ces") if m in k.index)
    r = k.loc[metric]
    signed = metric == "nps"

    def f(x):
        return Num(f"{x:+.0f}" if signed else f"{x:.1f}")

    head = Message("sum.kpi.head", {"label": Term(r["label"]), "value": f(r["value"]), "period": ev.period,
                                    "lo": f(r["ci_low"]), "hi": f(r["ci_high"]), "n": int(r["n"])})
    unit = Message("sum.points") if metric == "nps" else Term(r["unit"])
    if ev.previous is None or pd.isna(r["change"]):
        tail = Message("sum.kpi.noprev", {})
    elif r["significant"]:
        tail = Message("sum.kpi.up" if r["change"] > 0 else "sum.kpi.down", {
            "abs": abs(r["change"]), "unit": unit, "prev": f(r["previous_value"]), "previous": ev.previous,
            "p": p_value(r["p_value"])})
    else:
        tail = Message("sum.kpi.flat", {"prev": f(r["previous_value"]), "previous": ev.previous,
                                        "chg": r["change"], "unit": unit, "p": p_value(r["p_value"])})
    return Finding("metrics", "headline", head + tail, 0.0, int(r["n"]), None)


def _fix_first(ev: Evidence) -> list[Finding]:
    ff = ev.fix_first
    if ff is None or ff.empty:
        return []
    f = ff.iloc[0]
    msg = Message("sum.fix", {"label": f["label"], "imp": f["importance"], "perf": f["performance"],
                              "target": f["target_csat"], "owner": f["owner"], "n": int(f["n"])})
    if "uplift" in f and pd.notna(f.get("uplift")) and f["uplift_ci_low"] > 0 and ev.drivers:
        kd = ev.drivers["drivers"]
        msg = msg + Message("sum.uplift", {"u": f["uplift"], "lo": f["uplift_ci_low"], "hi": f["uplift_ci_high"],
                                           "n": int(ev.drivers["n_customers"]), "r2": float(kd.r_squared)})
    # descriptive (importance-performance), not a test: it answers the method's question and always
    # follows the headline rather than competing on z
    return [Finding("journey", "fix_first", msg, 0.0, int(f["n"]))]


def _themes(ev: Evidence) -> list[Finding]:
    t = ev.themes
    if t is None or t.empty:
        return []
    t = t[(t["difference"] > 0) & t["significant"].astype(bool)]
    if t.empty:
        return []
    r = t.sort_values("difference", ascending=False).iloc[0]
    return [Finding("voice", "theme", Message("sum.theme", {
        "label": Term(r["label"]), "det": r["share_detractors"], "pro": r["share_promoters"],
        "nd": int(r["n_detractors"]), "npro": int(r["n_promoters"]), "p": p_value(r["p_value"])}),
        _z(r["p_value"]), int(r["n_detractors"] + r["n_promoters"]), float(r["p_value"]))]


def _segments(ev: Evidence) -> list[Finding]:
    s = ev.segments
    if s is None or ev.previous is None:
        return []
    out = []
    for _, r in s[s["significant"].astype(bool)].iterrows():
        key = "sum.segfall" if r["change"] < 0 else "sum.segrise"
        out.append(Finding("metrics", "segment", Message(key, {
            "seg": r["segment"], "before": r["previous_value"], "now": r["value"], "chg": r["change"],
            "p": p_value(r["p_value"]), "n": int(r["n"]), "n0": int(r["n_previous"]), "period": ev.period,
            "previous": ev.previous}), _z(r["p_value"]), int(r["n"]), float(r["p_value"])))
    return out


def _groups(ev: Evidence) -> list[Finding]:
    from cxlib.decide.swot import METRIC_LABELS, group_changes

    out = []
    for attr, ch, metric in group_changes(ev):
        for _, r in ch[ch["significant_holm"]].iterrows():
            out.append(Finding("metrics", "group", Message("sum.group", {
                "attr": Term(attr), "group": r[attr], "metric": Term(METRIC_LABELS[metric]),
                "before": r["previous_value"], "now": r["value"], "previous": ev.previous, "period": ev.period,
                "n": int(r["n"]), "p": p_value(r["p_holm"])}), _z(r["p_holm"]), int(r["n"]), float(r["p_holm"])))
    return out


def _abandonment(ev: Evidence, alpha: float, min_base: int) -> list[Finding]:
    ab = ev.abandonment
    if ab is None:
        return []
    t = ab["table"].dropna(subset=["rate"])
    t = t[t["started"] >= min_base].sort_values("rate")
    if len(t) < 2:
        return []
    best, worst = t.iloc[0], t.iloc[-1]
    c = metrics.proportion_change(int(worst["abandoned"]), int(worst["started"]), int(best["abandoned"]),
                                  int(best["started"]))
    if not (c.p_value < alpha and c.diff > 0):
        return []
    by = ab["by"]
    return [Finding("journey", "abandonment", Message("sum.abandon", {
        "group": worst[by], "best": best[by], "w": worst["rate"], "b": best["rate"], "nw": int(worst["started"]),
        "nb": int(best["started"]), "p": p_value(c.p_value)}), _z(c.p_value), int(worst["started"]), c.p_value)]


def _competitors(ev: Evidence, params, alpha: float) -> list[Finding]:
    s = ev.share
    if s is None or ev.previous is None:
        return []
    out = []
    own = (params.brand or "").lower()
    for brand in s["brand"].unique():
        b = s[(s["brand"] == brand) & s["period"].isin([ev.previous, ev.period])].set_index("period")
        if len(b) < 2:
            continue
        now, before = b.loc[ev.period], b.loc[ev.previous]
        c = metrics.proportion_change(int(now["mentions"]), int(now["total"]), int(before["mentions"]),
                                      int(before["total"]))
        if c.p_value < alpha and (c.diff > 0) != (str(brand).lower() == own):
            out.append(Finding("voice", "share", Message("sum.share", {
                "brand": brand, "now": now["share"], "before": before["share"], "period": ev.period,
                "previous": ev.previous, "n": int(now["total"]), "p": p_value(c.p_value)}),
                _z(c.p_value), int(now["total"]), c.p_value))
    return out


def _churn(ev: Evidence, alpha: float) -> list[Finding]:
    out = []
    if ev.churn is not None and not ev.churn.empty:
        c = ev.churn[(ev.churn["p_value"] < alpha) & (ev.churn["risk_ratio"] > 1)]
        if not c.empty:
            r = c.sort_values("risk_ratio", ascending=False).iloc[0]
            from cxlib.decide.swot import CHURN_SIGNALS

            out.append(Finding("churn", "churn_signal", Message("sum.churn", {
                "signal": Term(CHURN_SIGNALS.get(r["signal"], r["signal"])), "w": r["rate_with"],
                "wo": r["rate_without"], "rr": r["risk_ratio"], "nw": int(r["customers_with"]),
                "nwo": int(r["customers_without"]), "p": p_value(r["p_value"])}),
                _z(r["p_value"]), int(r["customers_with"]), float(r["p_value"])))
    best = None
    for attr, table in by_attribute(ev.churn_by):
        top = churn_group(table, attr, alpha)
        if top is not None and (best is None or top["p_value"] < best[1]["p_value"]):
            best = (attr, top)
    if best is not None:
        attr, top = best
        out.append(Finding("churn", "churn_group", Message("sum.churn_group", {
            "attr": Term(attr), "group": top["group"], "rate": top["rate"], "overall": top["overall"],
            "n": top["n"], "p": p_value(top["p_value"])}), _z(top["p_value"]), top["n"], top["p_value"]))
    return out


def _other_kpis(ev: Evidence) -> list[Finding]:
    k = ev.kpis
    if k is None or ev.previous is None:
        return []
    first = next((m for m in ("nps", "csat", "csat_mean", "ces") if m in set(k["metric"])), None)
    out = []
    for _, r in k[k["significant"].astype(bool) & (k["metric"] != first)].iterrows():
        out.append(Finding("metrics", "kpi", Message("sum.kpi_change", {
            "label": Term(r["label"]), "now": r["value"], "before": r["previous_value"], "previous": ev.previous,
            "n": int(r["n"]), "p": p_value(r["p_value"])}), _z(r["p_value"]), int(r["n"]), float(r["p_value"])))
    return out


#: sections a reader expects to hear from separately in the summary (share of voice is not a theme)
_SPREAD = {"share": "social"}


def findings(get: Callable[[str], object], params, period: str, previous: str | None, *,
             top: int = 4) -> list[Finding]:
    """The headline, the touchpoint to fix first, then the ``top`` strongest significant findings.

    The ``top`` are chosen to reach every section that ran: first the strongest finding of each
    section the headline and fix-first do not already speak for (voice, social share of voice,
    churn...), then the strongest of the covered sections (metrics, journey), then the rest by
    strength; they are listed by strength. ``get(name)`` returns an analysis result of the run
    or None (analyses that did not run give no finding: a survey-only client never reads a
    churn sentence).
    """
    ev = Evidence.from_results(get, period, previous)
    th = params.thresholds
    candidates = (_themes(ev) + _segments(ev) + _groups(ev) + _abandonment(ev, th.alpha, th.min_base)
                  + _competitors(ev, params, th.alpha) + _churn(ev, th.alpha) + _other_kpis(ev))
    candidates.sort(key=lambda f: -f.z)
    head = headline(ev)
    fix = _fix_first(ev)
    covered = {f.section for f in ([head] if head else []) + fix}

    def spread(f: Finding) -> str:
        return _SPREAD.get(f.kind, f.section)

    chosen: list[Finding] = []
    for wanted in (lambda k: k not in covered, lambda k: k in covered):  # uncovered sections first
        seen = {spread(f) for f in chosen}
        for f in candidates:
            k = spread(f)
            if len(chosen) < top and wanted(k) and k not in seen:
                chosen.append(f)
                seen.add(k)
    chosen += [f for f in candidates if f not in chosen][:max(0, top - len(chosen))]
    chosen.sort(key=lambda f: -f.z)
    return ([head] if head else []) + fix + chosen

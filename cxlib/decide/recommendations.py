"""Recommendations ranked by estimated impact against effort, each with its owner.

Three kinds of action compete for attention, each from a result the report already shows:

* **fix a touchpoint**: bring it to its CSAT target; impact = the estimated NPS uplift among the
  customers of the driver model (:func:`cxlib.journey.drivers.uplift_table`, with its bootstrap
  interval); a touchpoint the importance-performance analysis ranks among the first to fix but
  whose uplift is not measurable still gets an action, its impact being its gap (importance minus
  performance, 0-100 points), ranked among its own kind;
* **act on a churn driver**: the next best action (params ``next_best_actions``) for at-risk
  customers whose main risk driver it is; impact = the churn exposure, the expected number of
  customers lost among them (the sum of their predicted risks);
* **fix a funnel step**: where abandonment differs significantly between groups (devices,
  sources); impact = the sessions that would not be lost if the worst group abandoned at the
  best group's rate.

Impacts in different units are made comparable by scaling each kind to its largest action
(1 = the biggest of its kind); priority = scaled impact / effort weight (low 1, medium 2,
high 3, from params). Only actions whose impact is credibly positive are listed.
"""

from __future__ import annotations

import pandas as pd

from cxlib.decide.words import Message, Term

EFFORT_WEIGHT = {"low": 1.0, "medium": 2.0, "high": 3.0}
COLUMNS = ["rank", "kind", "action", "owner", "impact", "impact_text", "effort", "priority", "evidence"]
_ACTION = ["kind", "action", "owner", "impact", "impact_text", "effort", "evidence"]


def touchpoint_actions(uplift: pd.DataFrame | None, params, fix_first: pd.DataFrame | None = None) -> pd.DataFrame:
    """One action per touchpoint whose NPS uplift interval lies above zero; then the fix-first
    touchpoints without a measurable uplift, by gap (their own kind)."""
    effort = {tp.id: tp.effort for tp in params.touchpoints}
    rows = []
    done = set()
    if uplift is not None and not uplift.empty:
        u = uplift[(uplift["uplift_ci_low"] > 0) & ~uplift["small_base"].astype(bool)]
        for _, r in u.iterrows():
            done.add(r["touchpoint"])
            rows.append({"kind": "touchpoint", "action": Message("sum.action", {"label": r["label"]}),
                         "owner": r["owner"], "impact": float(r["uplift"]),
                         "impact_text": Message("rec.uplift", {"u": r["uplift"], "lo": r["uplift_ci_low"],
                                                               "hi": r["uplift_ci_high"]}),
                         "effort": effort.get(r["touchpoint"], "medium"),
                         "evidence": Message("rec.tp_evidence", {"perf": r["performance"], "target": r["target"]})})
    if fix_first is not None and not fix_first.empty:
        for _, r in fix_first.head(3).iterrows():
            if r["touchpoint"] in done or not r["gap"] > 0:
                continue
            rows.append({"kind": "touchpoint_gap", "action": Message("sum.action", {"label": r["label"]}),
                         "owner": r["owner"], "impact": float(r["gap"]),
                         "impact_text": Message("rec.gap", {"gap": r["gap"]}),
                         "effort": effort.get(r["touchpoint"], "medium"),
                         "evidence": Message("rec.tp_evidence", {"perf": r["performance"], "target": r["target_csat"]})})
    return pd.DataFrame(rows, columns=_ACTION)


def churn_actions(scored: pd.DataFrame, view: pd.DataFrame | None, params, *, min_customers: int = 5) -> pd.DataFrame:
    """One action per churn driver with a params rule: exposure among current customers.

    ``scored`` holds one row per current customer with ``risk`` and ``main_driver``
    (:mod:`cxlib.quant.churn_model`); revenue comes from the single customer view when it has one.
    """
    rev = view.set_index("customer_id")["revenue"] if view is not None and "revenue" in view else None
    rows = []
    for key, g in scored.groupby("main_driver"):
        rule = params.next_best_actions.get(str(key))
        if rule is None or len(g) < min_customers:
            continue
        expected = float(g["risk"].sum())
        revenue = float((g["risk"] * g["customer_id"].map(rev).fillna(0)).sum()) if rev is not None else None
        rows.append({"kind": "churn", "action": rule.action, "owner": rule.owner, "impact": expected,
                     "impact_text": Message(("rec.churn" if params.currency else "rec.churn_nocur")
                                            if revenue is not None else "rec.churn_norev",
                                            {"n": len(g), "lost": expected, "revenue": revenue or 0.0,
                                             "currency": Term(params.currency or "")}),
                     "effort": rule.effort,
                     "evidence": Term(str(g["driver_label"].iloc[0])) if "driver_label" in g else Term(str(key))})
    return pd.DataFrame(rows, columns=_ACTION)


def funnel_actions(abandonment: dict, params, *, alpha: float | None = None) -> pd.DataFrame:
    """Fix the funnel for the group that abandons most, when it abandons significantly more than the best."""
    from cxlib.quant import metrics

    alpha = params.thresholds.alpha if alpha is None else alpha
    t = abandonment["table"].dropna(subset=["rate"])
    t = t[t["started"] >= params.thresholds.min_base]
    if len(t) < 2:
        return pd.DataFrame(columns=_ACTION)
    t = t.sort_values("rate")
    best, worst = t.iloc[0], t.iloc[-1]
    c = metrics.proportion_change(int(worst["abandoned"]), int(worst["started"]), int(best["abandoned"]),
                                  int(best["started"]))
    if not (c.p_value < alpha and c.diff > 0):
        return pd.DataFrame(columns=_ACTION)
    start = abandonment["steps"][0]
    step = next((s for s in params.funnel if s.event == start), None)
    tp = next((t_ for t_ in params.touchpoints if step is not None and t_.id == step.touchpoint), None)
    saved = float((worst["rate"] - best["rate"]) * worst["started"])
    by = abandonment["by"]
    return pd.DataFrame([{
        "kind": "funnel", "action": Message("rec.funnel", {"step": step.label if step else start, "group": worst[by]}),
        "owner": tp.owner if tp else Term("Digital team"), "impact": saved,
        "impact_text": Message("rec.funnel_impact", {"n": saved, "w": worst["rate"], "b": best["rate"]}),
        "effort": tp.effort if tp else "medium",
        "evidence": Message("rec.funnel_evidence", {"group": worst[by], "best": best[by], "w": worst["rate"],
                                                    "b": best["rate"], "n": int(worst["started"])}),
    }], columns=_ACTION)


def rank(actions: list[pd.DataFrame], top: int = 8) -> pd.DataFrame:
    """All actions, ranked by scaled impact / effort weight (highest priority first; ties go
    to the larger raw impact)."""
    frames = [a for a in actions if a is not None and not a.empty]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    scaled = out["impact"] / out.groupby("kind")["impact"].transform("max")
    out["priority"] = scaled / out["effort"].map(EFFORT_WEIGHT)
    out = out.sort_values(["priority", "impact"], ascending=False, kind="stable").head(top).reset_index(drop=True)
    out.insert(0, "rank", range(1, len(out) + 1))
    return out[COLUMNS]

"""Recommendations ranked by estimated impact against effort, each with its owner.

Two kinds of action compete for attention:

* **fix a touchpoint**: bring it to its CSAT target; impact = the estimated NPS uplift
  (:func:`cxlib.journey.drivers.uplift_table`, with its bootstrap interval);
* **act on a churn driver**: the next best action for at-risk customers whose main risk
  driver it is; impact = the churn exposure, the expected number of customers lost in the
  next 90 days among them (the sum of their predicted risks, :mod:`cxlib.quant.churn_model`), and
  the revenue those customers bring.

Impacts in different units are made comparable by scaling each kind to its largest action
(1 = the biggest of its kind); priority = scaled impact / effort weight (low 1, medium 2,
high 3, from params). Only actions whose impact is credibly positive are listed: an uplift
whose interval lies above zero, a driver that raises risk.
"""

from __future__ import annotations

import pandas as pd

EFFORT_WEIGHT = {"low": 1.0, "medium": 2.0, "high": 3.0}
COLUMNS = ["rank", "kind", "action", "owner", "impact", "impact_text", "effort", "priority", "evidence"]


def touchpoint_actions(uplift: pd.DataFrame, params, tr) -> pd.DataFrame:
    """One action per touchpoint whose NPS uplift interval lies above zero."""
    effort = {tp.id: tp.effort for tp in params.touchpoints}
    u = uplift[(uplift["uplift_ci_low"] > 0) & ~uplift["small_base"].astype(bool)]
    return pd.DataFrame({
        "kind": "touchpoint",
        "action": [tr("sum.action", label=lbl) for lbl in u["label"]],
        "owner": u["owner"].values,
        "impact": u["uplift"].values,
        "impact_text": [tr("rec.uplift", u=v, lo=lo, hi=hi) for v, lo, hi in
                        zip(u["uplift"], u["uplift_ci_low"], u["uplift_ci_high"], strict=True)],
        "effort": [effort.get(t, "medium") for t in u["touchpoint"]],
        "evidence": [tr("rec.tp_evidence", perf=p, target=t) for p, t in zip(u["performance"], u["target"], strict=True)],
    })


def churn_actions(scored: pd.DataFrame, view: pd.DataFrame, params, tr, *, min_customers: int = 5) -> pd.DataFrame:
    """One action per churn driver with a params rule: exposure among current customers.

    ``scored`` is :func:`cxlib.quant.churn_model.score_customers` output (risk and main driver per
    current customer); revenue comes from the single customer view.
    """
    rev = view.set_index("customer_id")["revenue"] if "revenue" in view else None
    rows = []
    for key, g in scored.groupby("main_driver"):
        rule = params.next_best_actions.get(key)
        if rule is None or len(g) < min_customers:
            continue
        expected = float(g["risk"].sum())
        revenue = float((g["risk"] * g["customer_id"].map(rev).fillna(0)).sum()) if rev is not None else float("nan")
        rows.append({"kind": "churn", "action": rule.action, "owner": rule.owner, "impact": expected,
                     "impact_text": tr("rec.churn", n=len(g), lost=expected, revenue=revenue),
                     "effort": rule.effort, "evidence": g["driver_label"].iloc[0] if "driver_label" in g else key})
    return pd.DataFrame(rows, columns=["kind", "action", "owner", "impact", "impact_text", "effort", "evidence"])


def rank(actions: list[pd.DataFrame], top: int = 8) -> pd.DataFrame:
    """All actions, ranked by scaled impact / effort weight (highest priority first; ties go
    to the larger raw impact)."""
    frames = [a for a in actions if not a.empty]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    scaled = out["impact"] / out.groupby("kind")["impact"].transform("max")
    out["priority"] = scaled / out["effort"].map(EFFORT_WEIGHT)
    out = out.sort_values(["priority", "impact"], ascending=False, kind="stable").head(top).reset_index(drop=True)
    out.insert(0, "rank", range(1, len(out) + 1))
    return out[COLUMNS]

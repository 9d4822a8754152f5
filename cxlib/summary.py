"""Executive-summary sentences generated from the results, never claiming an unsupported change."""

from __future__ import annotations

import pandas as pd

from .display import md_escape
from .swot import Evidence


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def change_sentence(label: str, value: float, ci_low: float, ci_high: float, n: int, previous: float,
                    change: float, p_value: float, significant: bool, period: str, previous_label: str,
                    unit: str = "points", signed: bool = True) -> str:
    """One KPI in words: value, interval, base, and the change only if it is significant.

    A change whose test is not significant is described as "no significant change", with the
    p-value, whatever its size; a significant one gives direction, size and p-value.
    """
    f = (lambda x: f"{x:+.0f}") if signed else (lambda x: f"{x:.1f}")
    head = f"{label} is {f(value)} in {period} (95% CI {f(ci_low)} to {f(ci_high)}, n = {n:,})"
    if pd.isna(change) or pd.isna(p_value):
        return head + f"; there is no {previous_label} figure to compare with."
    if significant:
        word = "up" if change > 0 else "down"
        return head + (f", {word} {abs(change):.1f} {unit} from {f(previous)} in {previous_label}: "
                       f"a significant change ({_p(p_value)}).")
    return head + (f": no significant change from {f(previous)} in {previous_label} "
                   f"({change:+.1f} {unit}, {_p(p_value)}).")


def findings(ev: Evidence, top: int = 5) -> list[str]:
    """The top findings as plain sentences (Markdown, customer-facing names escaped)."""
    out = []
    k = ev.kpis.set_index("metric")
    if "nps" in k.index:
        r = k.loc["nps"]
        out.append(change_sentence("Net Promoter Score", r["value"], r["ci_low"], r["ci_high"], int(r["n"]),
                                   r["previous_value"], r["change"], r["p_value"], bool(r["significant"]),
                                   ev.period, ev.previous))
    if not ev.fix_first.empty:
        f = ev.fix_first.iloc[0]
        sentence = (f"**{md_escape(f['label'])}** is the touchpoint to fix first: customers rate it "
                    f"{f['importance']:.1f}/5 for importance but {f['performance']:.2f}/5 for satisfaction "
                    f"(target {f['target_csat']:.1f}; owner {md_escape(f['owner'])}).")
        if "uplift" in f and pd.notna(f["uplift"]) and f["uplift_ci_low"] > 0:
            sentence += (f" Reaching the target would add an estimated {f['uplift']:.0f} NPS points "
                         f"(95% CI {f['uplift_ci_low']:.0f} to {f['uplift_ci_high']:.0f}) among the customers "
                         "in the driver model.")
        out.append(sentence)
    t = ev.themes[(ev.themes["difference"] > 0) & ev.themes["significant"].astype(bool)]
    if not t.empty:
        r = t.sort_values("difference", ascending=False).iloc[0]
        out.append(f"The theme that most sets detractors apart is **{md_escape(r['label'])}**: "
                   f"{r['share_detractors']:.0%} of detractor comments mention it against "
                   f"{r['share_promoters']:.0%} of promoter comments ({_p(r['p_value'])}).")
    falls = ev.segments[ev.segments["significant"].astype(bool) & (ev.segments["change"] < 0)]
    for _, r in falls.iterrows():
        out.append(f"NPS among **{md_escape(r['segment'])}** fell from {r['previous_value']:+.0f} to "
                   f"{r['value']:+.0f} ({r['change']:+.0f} points, {_p(r['p_value'])}, n = {int(r['n'])}).")
    if falls.empty:
        out.append(f"No segment's NPS changed significantly between {ev.previous} and {ev.period}.")
    return out[:top]


def actions(ev: Evidence, top: int = 3) -> pd.DataFrame:
    """Top actions: the fix-first touchpoints with owner and the gap to close."""
    f = ev.fix_first.head(top)
    return pd.DataFrame({
        "Action": [f"Raise {lbl} satisfaction to target" for lbl in f["label"]],
        "Owner": f["owner"].values,
        "Now (CSAT)": f["performance"].round(2).values,
        "Target": f["target_csat"].values,
        "Quadrant": f["quadrant"].values,
        "NPS uplift": ([("–" if pd.isna(u) else f"{u:+.0f} [{lo:+.0f}, {hi:+.0f}]") for u, lo, hi in
                        zip(f["uplift"], f["uplift_ci_low"], f["uplift_ci_high"], strict=True)]
                       if "uplift" in f else "–"),
    })

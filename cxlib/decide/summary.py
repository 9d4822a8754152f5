"""Executive-summary sentences generated from the results, never claiming an unsupported change.

Every sentence comes from a template of ``assets/strings/`` in the report's language.
"""

from __future__ import annotations

import pandas as pd

from cxlib.decide.swot import Evidence, _fmt_p
from cxlib.report.display import md_escape
from cxlib.report.i18n import Translator


def change_sentence(label: str, value: float, ci_low: float, ci_high: float, n: int, previous: float,
                    change: float, p_value: float, significant: bool, period: str, previous_label: str,
                    unit: str = "points", signed: bool = True, tr: Translator | None = None) -> str:
    """One KPI in words: value, interval, base, and the change only if it is significant.

    A change whose test is not significant is described as "no significant change", with the
    p-value, whatever its size; a significant one gives direction, size and p-value.
    """
    tr = tr or Translator("en")
    f = (lambda x: f"{x:+.0f}") if signed else (lambda x: f"{x:.1f}")
    unit = tr("sum.points") if unit == "points" else unit
    head = tr("sum.kpi.head", label=label, value=f(value), period=period, lo=f(ci_low), hi=f(ci_high), n=n)
    if pd.isna(change) or pd.isna(p_value):
        return head + tr("sum.kpi.noprev", previous=previous_label)
    if significant:
        key = "sum.kpi.up" if change > 0 else "sum.kpi.down"
        return head + tr(key, abs=abs(change), unit=unit, prev=f(previous), previous=previous_label,
                         p=_fmt_p(p_value, tr))
    return head + tr("sum.kpi.flat", prev=f(previous), previous=previous_label, chg=change, unit=unit,
                     p=_fmt_p(p_value, tr))


def findings(ev: Evidence, top: int = 5, tr: Translator | None = None) -> list[str]:
    """The top findings as plain sentences (Markdown, customer-facing names escaped)."""
    tr = tr or Translator("en")
    out = []
    k = ev.kpis.set_index("metric")
    if "nps" in k.index:
        r = k.loc["nps"]
        out.append(change_sentence(tr("sum.nps_label"), r["value"], r["ci_low"], r["ci_high"], int(r["n"]),
                                   r["previous_value"], r["change"], r["p_value"], bool(r["significant"]),
                                   ev.period, ev.previous, tr=tr))
    if not ev.fix_first.empty:
        f = ev.fix_first.iloc[0]
        sentence = tr("sum.fix", label=md_escape(f["label"]), imp=f["importance"], perf=f["performance"],
                      target=f["target_csat"], owner=md_escape(f["owner"]))
        if "uplift" in f and pd.notna(f["uplift"]) and f["uplift_ci_low"] > 0:
            sentence += tr("sum.uplift", u=f["uplift"], lo=f["uplift_ci_low"], hi=f["uplift_ci_high"])
        out.append(sentence)
    t = ev.themes[(ev.themes["difference"] > 0) & ev.themes["significant"].astype(bool)]
    if not t.empty:
        r = t.sort_values("difference", ascending=False).iloc[0]
        out.append(tr("sum.theme", label=md_escape(r["label"]), det=r["share_detractors"], pro=r["share_promoters"],
                      p=_fmt_p(r["p_value"], tr)))
    falls = ev.segments[ev.segments["significant"].astype(bool) & (ev.segments["change"] < 0)]
    for _, r in falls.iterrows():
        out.append(tr("sum.segfall", seg=md_escape(r["segment"]), before=r["previous_value"], now=r["value"],
                      chg=r["change"], p=_fmt_p(r["p_value"], tr), n=int(r["n"])))
    if falls.empty:
        out.append(tr("sum.nosegchange", previous=ev.previous, period=ev.period))
    return out[:top]

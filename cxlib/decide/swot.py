"""Evidence-backed SWOT: rules over the run's results, plus staff input and analyst edits.

The SWOT reads the results the report's sections already computed (:class:`Evidence`, built from
whatever analyses ran: a survey-only client gets a SWOT from its scores and themes, a CRM-only
client from churn by attribute) and never recomputes or invents one. Every data-driven item
carries the metric, its value, the base n and an interval or p-value, and the id of the report
section that shows the evidence. Its words are :class:`~cxlib.decide.words.Message` objects that
the report renders in the client's language. Staff workshop items are merged and labelled as staff
input; params (``swot: add / drop / reword``) let an analyst add, drop or reword items by id. The
``origin`` column says which is which.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields

import pandas as pd

from cxlib.decide.words import Message, Term, p_value
from cxlib.quant import metrics

QUADRANTS = ["strength", "weakness", "opportunity", "threat"]
#: boolean columns of the single customer view tested as churn signals, with their wording
CHURN_SIGNALS = {"has_unresolved": "an unresolved support contact", "has_late_delivery": "a late delivery",
                 "is_detractor": "a detractor score (0-6)"}
COLUMNS = ["id", "quadrant", "text", "evidence", "metric", "value", "n", "p_value", "section", "origin"]

#: report section anchors (the notebooks' headings carry these ids)
SECTIONS = {"metrics": "sec-metrics", "voice": "sec-voice", "journey": "sec-journey",
            "customers": "sec-customers", "churn": "sec-churn"}


@dataclass
class Evidence:
    """The results the SWOT, the recommendations and the summary are built from (one period).

    Each field is the result of one report analysis, or None when the client's data did not
    allow it (see :mod:`cxlib.report.analyses`).
    """

    period: str
    previous: str | None
    kpis: pd.DataFrame | None = None             # metrics.kpi_tiles
    segments: pd.DataFrame | None = None         # metrics.breakdown_change by segment (NPS)
    ipa: pd.DataFrame | None = None              # journey.gaps.ipa
    fix_first: pd.DataFrame | None = None        # journey.gaps.fix_first
    drivers: object = None                       # {"drivers": DriverResult, "uplift": ..., "n_customers"}
    themes: pd.DataFrame | None = None           # coding.detractor_themes
    code_flags: dict | None = None               # code -> coding reliability flag
    share: pd.DataFrame | None = None            # coding.mention_share
    churn: pd.DataFrame | None = None            # retention.churn_lift
    churn_by: pd.DataFrame | None = None         # churn_model.churn_rate_by (long, by attribute)
    abandonment: dict | None = None              # {"steps", "by", "table"}
    passives: tuple[float, int] | None = None    # share of passives (7-8) and base
    recommend: pd.DataFrame | None = None        # metrics.flag_share
    groups: dict | None = None                   # {"metric", "by": {attribute: breakdown_change}}

    @classmethod
    def from_results(cls, get: Callable[[str], object], period: str, previous: str | None) -> Evidence:
        """Collect the results that exist (``get(name)`` returns a result or None)."""
        seg = get("segment_change")
        dt = get("detractor_themes")
        cov = get("coverage") or {}
        return cls(period, previous, kpis=get("kpis"), segments=seg["change"] if seg else None,
                   ipa=(get("touchpoints") or {}).get("ipa"), fix_first=get("fix_first"), drivers=get("key_drivers"),
                   themes=dt["themes"] if dt else None, code_flags=dt["flags"] if dt else None,
                   share=get("mention_share"), churn=get("churn_signals"), churn_by=get("churn_by_attribute"),
                   abandonment=get("abandonment"), passives=cov.get("passives"), recommend=get("recommend"),
                   groups=get("group_change"))

    def present(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


def slug(text: str) -> str:
    """Lower-case id fragment: 'Value Seekers' -> 'value-seekers' (Arabic letters kept)."""
    return re.sub(r"[\W_]+", "-", str(text).lower()).strip("-")


def _item(id_, quadrant, text: Message, evidence: Message, metric, value, n, p, section) -> dict:
    return dict(id=id_, quadrant=quadrant, text=text, evidence=evidence, metric=metric, value=value,
                n=n, p_value=p, section=SECTIONS[section], origin="data")


def _touchpoint_items(ev: Evidence) -> list[dict]:
    if ev.ipa is None:
        return []
    items = []
    ok = ev.ipa[~ev.ipa["small_base"].astype(bool) & ev.ipa["quadrant"].notna()]
    for _, r in ok.iterrows():
        evidence = Message("swot.ev.tp", {"perf": r["performance"], "target": r["target_csat"],
                                          "imp": r["importance"], "n": int(r["n"])})
        target = r["target_csat"]
        if r["quadrant"] == "Keep up the good work" and (pd.isna(target) or r["performance"] >= target):
            items.append(_item(f"S-tp-{slug(r['touchpoint'])}", "strength",
                               Message("swot.tp.strength", {"label": r["label"]}), evidence, "CSAT mean",
                               r["performance"], r["n"], None, "journey"))
        elif r["quadrant"] == "Concentrate here":
            items.append(_item(f"W-tp-{slug(r['touchpoint'])}", "weakness",
                               Message("swot.tp.weakness", {"label": r["label"], "owner": r["owner"]}),
                               evidence, "CSAT mean", r["performance"], r["n"], None, "journey"))
    return items


def _reliability(ev: Evidence, code: str) -> list[Message]:
    flag = (ev.code_flags or {}).get(code)
    return [Message("swot.reliability", {"flag": Term(flag)})] if flag and flag != "reliable" else []


def _theme_items(ev: Evidence, top: int = 2) -> list[dict]:
    t = ev.themes
    if t is None or t.empty:
        return []
    items = []
    neg = t[(t["difference"] > 0) & t["significant"].astype(bool)].sort_values("difference", ascending=False)
    for _, r in neg.head(top).iterrows():
        evidence = Message("swot.ev.theme_weak", {
            "det": r["share_detractors"], "pro": r["share_promoters"], "nd": int(r["n_detractors"]),
            "npro": int(r["n_promoters"]), "p": p_value(r["p_value"])})
        items.append(_item(f"W-theme-{slug(r['code'])}", "weakness",
                           Message("swot.theme.weak", {"label": Term(r["label"])}),
                           _with(evidence, _reliability(ev, r["code"])), "share of detractor comments",
                           r["share_detractors"], r["n_detractors"], r["p_value"], "voice"))
    pos = t[(t["difference"] < 0) & t["significant"].astype(bool) & (t["valence"] == "positive")]
    for _, r in pos.sort_values("difference").head(1).iterrows():
        evidence = Message("swot.ev.theme_strong", {"pro": r["share_promoters"], "det": r["share_detractors"],
                                                    "p": p_value(r["p_value"])})
        items.append(_item(f"S-theme-{slug(r['code'])}", "strength",
                           Message("swot.theme.strong", {"label": Term(r["label"])}),
                           _with(evidence, _reliability(ev, r["code"])), "share of promoter comments",
                           r["share_promoters"], r["n_promoters"], r["p_value"], "voice"))
    return items


def _with(message: Message, extra: list[Message]):
    out = message
    for m in extra:
        out = out + m
    return out


def _change_items(ev: Evidence) -> list[dict]:
    items = []
    if ev.segments is not None and ev.previous:
        for _, r in ev.segments.iterrows():
            if not r["significant"]:
                continue
            seg = r["segment"]
            evidence = Message("swot.ev.seg", {
                "now": r["value"], "period": ev.period, "before": r["previous_value"], "previous": ev.previous,
                "chg": r["change"], "lo": r["change_ci_low"], "hi": r["change_ci_high"], "n": int(r["n"]),
                "n0": int(r["n_previous"]), "p": p_value(r["p_value"])})
            quad, key, prefix = (("threat", "swot.seg.fall", "T") if r["change"] < 0
                                 else ("opportunity", "swot.seg.rise", "O"))
            items.append(_item(f"{prefix}-seg-{slug(seg)}", quad, Message(key, {"seg": seg}), evidence,
                               "NPS change", r["change"], r["n"], r["p_value"], "metrics"))
    for attr, ch, metric in group_changes(ev):
        for _, r in ch[ch["significant_holm"]].iterrows():
            quad, prefix = ("threat", "T") if r["change"] < 0 else ("opportunity", "O")
            items.append(_item(f"{prefix}-group-{slug(attr)}-{slug(r[attr])}", quad,
                               Message("swot.group.fall" if r["change"] < 0 else "swot.group.rise",
                                       {"attr": Term(attr), "group": r[attr], "metric": Term(METRIC_LABELS[metric])}),
                               Message("swot.ev.group", {"now": r["value"], "before": r["previous_value"],
                                                         "period": ev.period, "previous": ev.previous,
                                                         "n": int(r["n"]), "n0": int(r["n_previous"]),
                                                         "p": p_value(r["p_holm"])}),
                               f"{metric} change", r["change"], r["n"], r["p_holm"], "metrics"))
    if ev.kpis is not None and ev.previous:
        for _, r in ev.kpis.iterrows():
            if not r["significant"]:
                continue
            quad, key = ("threat", "swot.kpi.fell") if r["change"] < 0 else ("opportunity", "swot.kpi.rose")
            items.append(_item(f"{quad[0].upper()}-kpi-{r['metric']}", quad, Message(key, {"label": Term(r["label"])}),
                               Message("swot.ev.kpi", {"value": r["value"], "prev": r["previous_value"],
                                                       "n": int(r["n"]), "p": p_value(r["p_value"])}),
                               r["label"], r["value"], r["n"], r["p_value"], "metrics"))
    return items


METRIC_LABELS = {"nps": "NPS", "csat": "CSAT", "csat_mean": "Mean rating", "ces": "CES"}


def group_changes(ev: Evidence):
    """(attribute, its breakdown_change, metric) for every attribute of the group-change result."""
    if not ev.groups or not ev.previous:
        return []
    return [(attr, ch, ev.groups["metric"]) for attr, ch in ev.groups["by"].items()]


def _competitor_items(ev: Evidence, params, alpha: float) -> list[dict]:
    s = ev.share
    if s is None or not ev.previous:
        return []
    items = []
    own = (params.brand or "").lower()
    for brand in s["brand"].unique():
        if str(brand).lower() == own:
            continue
        b = s[(s["brand"] == brand) & s["period"].isin([ev.previous, ev.period])].set_index("period")
        if len(b) < 2:
            continue
        now, before = b.loc[ev.period], b.loc[ev.previous]
        c = metrics.proportion_change(int(now["mentions"]), int(now["total"]), int(before["mentions"]),
                                      int(before["total"]))
        if c.diff > 0 and c.p_value < alpha:
            items.append(_item(
                f"T-competitor-{slug(brand)}", "threat", Message("swot.competitor", {"brand": brand}),
                Message("swot.ev.competitor", {"now": now["share"], "period": ev.period, "before": before["share"],
                                               "previous": ev.previous, "n": int(now["total"]),
                                               "p": p_value(c.p_value)}),
                "share of mentions", now["share"], now["total"], c.p_value, "voice"))
    return items


def _churn_items(ev: Evidence, alpha: float, min_ratio: float = 1.5) -> list[dict]:
    """Signals whose customers churn at least ``min_ratio`` times as often, significantly; and the
    CRM group that churns most when churn differs significantly across an attribute's groups."""
    items = []
    if ev.churn is not None:
        for _, r in ev.churn.iterrows():
            if r["risk_ratio"] >= min_ratio and r["p_value"] < alpha:
                items.append(_item(
                    f"T-churn-{slug(r['signal'])}", "threat",
                    Message("swot.churn", {"signal": Term(CHURN_SIGNALS.get(r["signal"], r["signal"]))}),
                    Message("swot.ev.churn", {"w": r["rate_with"], "wo": r["rate_without"], "rr": r["risk_ratio"],
                                              "lo": r["rr_ci_low"], "hi": r["rr_ci_high"],
                                              "nw": int(r["customers_with"]), "nwo": int(r["customers_without"]),
                                              "p": p_value(r["p_value"])}),
                    "churn risk ratio", r["risk_ratio"], r["customers_with"], r["p_value"], "churn"))
    for attr, table in by_attribute(ev.churn_by):
        top = churn_group(table, attr, alpha, min_ratio)
        if top is not None:
            items.append(_item(
                f"T-churn-{slug(attr)}-{slug(top['group'])}", "threat",
                Message("swot.churn_group", {"attr": Term(attr), "group": top["group"]}),
                Message("swot.ev.churn_group", {"rate": top["rate"], "overall": top["overall"],
                                                "n": int(top["n"]), "lo": top["ci_low"], "hi": top["ci_high"],
                                                "p": p_value(top["p_value"])}),
                "churn rate", top["rate"], top["n"], top["p_value"], "churn"))
    items.sort(key=lambda i: -float(i["value"]) if i["metric"] == "churn risk ratio" else 0)
    return items[:4]


def by_attribute(churn_by: pd.DataFrame | None):
    """(attribute, its rows) of :func:`cxlib.quant.churn_model.churn_rate_by` output."""
    if churn_by is None or churn_by.empty:
        return []
    overall = churn_by.attrs.get("overall_rate")
    out = []
    for attr, t in churn_by.groupby("attribute", sort=False):
        t = t.copy()
        t.attrs["overall_rate"] = overall
        out.append((attr, t))
    return out


def churn_group(table: pd.DataFrame, attr: str, alpha: float, min_ratio: float = 1.5) -> dict | None:
    """The level of ``attr`` that churns most, when churn differs across the levels (chi-square
    p < alpha) and that level churns at least ``min_ratio`` times the overall rate; else None.

    ``table``: the rows of one attribute of :func:`cxlib.quant.churn_model.churn_rate_by`
    (level, customers, rate, ci_low, ci_high, small_base, p_value); ``attrs["overall_rate"]``.
    """
    overall = table.attrs.get("overall_rate")
    p = float(table["p_value"].iloc[0]) if "p_value" in table and len(table) else float("nan")
    if not overall or not (p < alpha):
        return None
    ok = table[~table["small_base"].astype(bool)]
    if ok.empty:
        return None
    r = ok.sort_values("rate", ascending=False).iloc[0]
    if r["rate"] < min_ratio * overall:
        return None
    return {"group": str(r["level"]), "rate": float(r["rate"]), "overall": float(overall), "n": int(r["customers"]),
            "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"]), "p_value": p}


def _abandonment_items(ev: Evidence, alpha: float) -> list[dict]:
    ab = ev.abandonment
    if ab is None:
        return []
    t = ab["table"].dropna(subset=["rate"])
    t = t[t["started"] >= 30]
    if len(t) < 2:
        return []
    worst, best = t.sort_values("rate").iloc[-1], t.sort_values("rate").iloc[0]
    c = metrics.proportion_change(int(worst["abandoned"]), int(worst["started"]), int(best["abandoned"]),
                                  int(best["started"]))
    if not (c.p_value < alpha and worst["rate"] >= 1.5 * best["rate"]):
        return []
    by = ab["by"]
    return [_item(f"W-abandon-{slug(worst[by])}", "weakness",
                  Message("swot.abandon", {"group": worst[by], "best": best[by]}),
                  Message("swot.ev.abandon", {"w": worst["rate"], "b": best["rate"], "nw": int(worst["started"]),
                                              "nb": int(best["started"]), "p": p_value(c.p_value)}),
                  "abandonment rate", worst["rate"], worst["started"], c.p_value, "journey")]


def _passive_items(ev: Evidence, min_share: float = 0.2) -> list[dict]:
    if not ev.passives:
        return []
    share, n = ev.passives
    if n and share >= min_share:
        return [_item("O-passives", "opportunity", Message("swot.passives"),
                      Message("swot.ev.passives", {"share": share, "n": n}), "share of passives", share, n, None,
                      "metrics")]
    return []


def data_items(ev: Evidence, params) -> pd.DataFrame:
    """The data-driven SWOT items (one row each, columns :data:`COLUMNS`).

    Theme items use the Holm-adjusted significance of :func:`cxlib.voice.coding.detractor_themes`
    (many codes are tested at once); the other tests are single comparisons at ``alpha``.
    """
    alpha = params.thresholds.alpha
    rows = (_touchpoint_items(ev) + _theme_items(ev) + _change_items(ev) + _abandonment_items(ev, alpha)
            + _competitor_items(ev, params, alpha) + _churn_items(ev, alpha) + _passive_items(ev))
    return pd.DataFrame(rows, columns=COLUMNS)


def staff_items(swot_inputs: pd.DataFrame | None) -> pd.DataFrame:
    """Staff workshop items, labelled as staff input (their text is the staff's own words)."""
    if swot_inputs is None or swot_inputs.empty:
        return pd.DataFrame(columns=COLUMNS)
    s = swot_inputs
    role = s["contributor_role"].fillna("staff") if "contributor_role" in s else pd.Series("staff", index=s.index)
    source = s["source"].fillna("workshop") if "source" in s else pd.Series("workshop", index=s.index)
    return pd.DataFrame({
        "id": s["item_id"], "quadrant": s["quadrant"], "text": s["text"],
        "evidence": [Message("swot.staff", {"source": src, "role": Term(r)}) for src, r in zip(source, role, strict=True)],
        "metric": None, "value": None, "n": None, "p_value": None, "section": None, "origin": "staff",
    }, columns=COLUMNS)


def build(ev: Evidence, params, swot_inputs: pd.DataFrame | None = None) -> pd.DataFrame:
    """The SWOT table: data items, staff items, then the analyst's params edits applied.

    ``swot.drop`` removes items by id, ``swot.reword`` replaces an item's text by id (the
    evidence stays), ``swot.add`` appends analyst items (``quadrant``, ``text``, optional
    ``id`` and ``evidence``). An id in drop/reword that this period's SWOT does not have is
    reported in ``attrs["unknown_edits"]`` (the report states it; an item that no longer
    appears is not an error, since the SWOT is re-run every period).
    """
    table = pd.concat([data_items(ev, params), staff_items(swot_inputs)], ignore_index=True)
    edits = params.swot
    table.attrs["unknown_edits"] = sorted((set(edits.drop) | set(edits.reword)) - set(table["id"]))
    table = table[~table["id"].isin(edits.drop)].copy()
    for id_, text in edits.reword.items():
        mask = table["id"] == id_
        table.loc[mask, "origin"] = "analyst (reworded)"
        table.loc[mask, "text"] = pd.Series([text] * int(mask.sum()), index=table.index[mask], dtype=object)
    added = []
    for i, item in enumerate(edits.add, start=1):
        if item.get("quadrant") not in QUADRANTS or not item.get("text"):
            from cxlib.exceptions import ParameterError

            raise ParameterError(f"{params.source}: swot.add item {i} needs quadrant ({'/'.join(QUADRANTS)}) and text.")
        added.append({"id": item.get("id", f"A{i}"), "quadrant": item["quadrant"], "text": item["text"],
                      "evidence": item.get("evidence") or Message("swot.analyst"), "origin": "analyst"})
    unknown = table.attrs["unknown_edits"]
    if added:
        table = pd.concat([table, pd.DataFrame(added, columns=COLUMNS)], ignore_index=True)
    table["quadrant"] = pd.Categorical(table["quadrant"], QUADRANTS, ordered=True)
    origin_order = table["origin"].map({"data": 0}).fillna(1)
    out = (table.assign(_o=origin_order).sort_values(["quadrant", "_o"], kind="stable")
           .drop(columns="_o").reset_index(drop=True))
    out.attrs["unknown_edits"] = unknown
    return out

"""Evidence-backed SWOT: rules over the computed results, plus staff input and analyst edits.

Every data-driven item carries the metric, its value, the base n and an interval or
p-value, and the id of the report section that shows the evidence. Staff workshop items are
merged and labelled as staff input; params (``swot: add / drop / reword``) let an analyst
add, drop or reword items by id. The ``origin`` column says which is which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from cxlib.data import engine
from cxlib.data.params import Params
from cxlib.journey import drivers
from cxlib.journey import gaps as journey
from cxlib.quant import metrics, retention
from cxlib.report.i18n import Translator
from cxlib.voice import coding, reliability

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
    """The results the SWOT and the executive summary are built from (one period)."""

    period: str
    previous: str
    kpis: pd.DataFrame          # metrics.kpi_tiles
    overall: pd.DataFrame       # metrics.score_summary (current period)
    segments: pd.DataFrame      # metrics.breakdown_change by segment (NPS)
    ipa: pd.DataFrame           # journey.ipa
    fix_first: pd.DataFrame     # journey.fix_first
    themes: pd.DataFrame        # coding.detractor_themes (current period)
    share: pd.DataFrame         # coding.mention_share (all periods)
    churn: pd.DataFrame         # retention.churn_lift
    passives: tuple[float, int]  # share of passives (7-8) and base, current period
    code_flags: dict = field(default_factory=dict)  # code -> coding reliability flag
    uplift: pd.DataFrame | None = None  # drivers.uplift_table


def slug(text: str) -> str:
    """Lower-case id fragment: 'Value Seekers' -> 'value-seekers'."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def gather(ctx) -> Evidence:
    """Compute every result the SWOT and summary use, with the same calls the notebooks make."""
    p, th = ctx.params, ctx.params.thresholds
    resp = engine.responses(ctx.store)
    cur = resp[resp["period"] == ctx.period.label]
    kw = dict(confidence=th.confidence, min_base=th.min_base)
    kpis = metrics.kpi_tiles(resp, ctx.period.label, ctx.previous.label, alpha=th.alpha, **kw)
    overall = metrics.score_summary(cur, **kw)
    segments = metrics.breakdown_change(resp, "segment", ctx.period.label, ctx.previous.label,
                                        alpha=th.alpha, **kw)
    perf, _ = journey.touchpoint_performance(cur, p)
    ipa = journey.ipa(perf)
    window = drivers.trailing_window(ctx.period.label, 4)
    frame = drivers.driver_frame(engine.responses(ctx.store, window), p, window=window)
    kd = drivers.key_drivers(frame, frame.attrs["touchpoints"], confidence=th.confidence, seed=p.seed)
    uplift = drivers.uplift_table(frame, kd, p, perf=perf, seed=p.seed)
    verb = engine.verbatims(ctx.store)
    book = coding.compile_codebook(ctx.store.df("codebook"), source=str(p.table_path("codebook")))
    cur_verb = verb[verb["period"] == ctx.period.label]
    coded = coding.auto_code(cur_verb, book)
    themes = coding.detractor_themes(coded, cur_verb, cur, alpha=th.alpha)
    share = coding.mention_share(verb, [p.brand, *p.competitors], confidence=th.confidence)
    churn = retention.churn_lift(engine.customer_view(ctx.store), list(CHURN_SIGNALS), confidence=th.confidence)
    rel = cur.loc[cur["survey_type"] == "relationship", "nps"].dropna()
    passives = (float(rel.between(7, 8).mean()) if len(rel) else float("nan"), len(rel))
    rel = reliability.for_run(ctx.store, p, book)
    return Evidence(ctx.period.label, ctx.previous.label, kpis, overall, segments, ipa,
                    journey.fix_first(ipa, uplift=uplift), themes, share, churn, passives,
                    rel.flags() if rel else {}, uplift)


def _item(id_, quadrant, text, evidence, metric, value, n, p_value, section) -> dict:
    return dict(id=id_, quadrant=quadrant, text=text, evidence=evidence, metric=metric, value=value,
                n=n, p_value=p_value, section=SECTIONS[section], origin="data")


def _fmt_p(p: float, tr=None) -> str:
    tr = tr or Translator("en")
    return tr("p.small") if p < 0.001 else tr("p.value", p=p)


def _touchpoint_items(ev: Evidence, tr) -> list[dict]:
    items = []
    ok = ev.ipa[~ev.ipa["small_base"].astype(bool)]
    for _, r in ok.iterrows():
        ev_txt = tr("swot.ev.tp", perf=r["performance"], target=r["target_csat"], imp=r["importance"], n=int(r["n"]))
        if r["quadrant"] == "Keep up the good work" and r["performance"] >= r["target_csat"]:
            items.append(_item(f"S-tp-{slug(r['touchpoint'])}", "strength", tr("swot.tp.strength", label=r["label"]),
                               ev_txt, "CSAT mean", r["performance"], r["n"], None, "journey"))
        elif r["quadrant"] == "Concentrate here":
            items.append(_item(f"W-tp-{slug(r['touchpoint'])}", "weakness",
                               tr("swot.tp.weakness", label=r["label"], owner=r["owner"]),
                               ev_txt, "CSAT mean", r["performance"], r["n"], None, "journey"))
    return items


def _reliability_note(ev: Evidence, code: str, tr=None) -> str:
    """'; coding reliability: tentative' unless the code is reliable (or was not measured)."""
    tr = tr or Translator("en")
    flag = ev.code_flags.get(code)
    return tr("swot.reliability", flag=tr.term(flag)) if flag and flag != "reliable" else ""


def _theme_items(ev: Evidence, tr, top: int = 2) -> list[dict]:
    t = ev.themes
    items = []
    neg = t[(t["difference"] > 0) & t["significant"].astype(bool)].sort_values("difference", ascending=False)
    for _, r in neg.head(top).iterrows():
        items.append(_item(
            f"W-theme-{slug(r['code'])}", "weakness", tr("swot.theme.weak", label=r["label"].lower()),
            tr("swot.ev.theme_weak", det=r["share_detractors"], pro=r["share_promoters"], nd=int(r["n_detractors"]),
               npro=int(r["n_promoters"]), p=_fmt_p(r["p_value"], tr)) + _reliability_note(ev, r["code"], tr),
            "share of detractor comments", r["share_detractors"], r["n_detractors"], r["p_value"], "voice"))
    pos = t[(t["difference"] < 0) & t["significant"].astype(bool) & (t["valence"] == "positive")]
    for _, r in pos.sort_values("difference").head(1).iterrows():
        items.append(_item(
            f"S-theme-{slug(r['code'])}", "strength", tr("swot.theme.strong", label=r["label"].lower()),
            tr("swot.ev.theme_strong", pro=r["share_promoters"], det=r["share_detractors"], p=_fmt_p(r["p_value"], tr))
            + _reliability_note(ev, r["code"], tr),
            "share of promoter comments", r["share_promoters"], r["n_promoters"], r["p_value"], "voice"))
    return items


def _change_items(ev: Evidence, tr) -> list[dict]:
    items = []
    for _, r in ev.segments.iterrows():
        if not r["significant"]:
            continue
        seg = r["segment"]
        ev_txt = tr("swot.ev.seg", now=r["value"], period=ev.period, before=r["previous_value"], previous=ev.previous,
                    chg=r["change"], lo=r["change_ci_low"], hi=r["change_ci_high"], n=int(r["n"]),
                    n0=int(r["n_previous"]), p=_fmt_p(r["p_value"], tr))
        if r["change"] < 0:
            items.append(_item(f"T-seg-{slug(seg)}", "threat", tr("swot.seg.fall", seg=seg), ev_txt, "NPS change",
                               r["change"], r["n"], r["p_value"], "metrics"))
        else:
            items.append(_item(f"O-seg-{slug(seg)}", "opportunity", tr("swot.seg.rise", seg=seg), ev_txt,
                               "NPS change", r["change"], r["n"], r["p_value"], "metrics"))
    for _, r in ev.kpis.iterrows():
        if not r["significant"]:
            continue
        quad, key = ("threat", "swot.kpi.fell") if r["change"] < 0 else ("opportunity", "swot.kpi.rose")
        items.append(_item(f"{quad[0].upper()}-kpi-{r['metric']}", quad, tr(key, label=tr.term(r["label"])),
                           tr("swot.ev.kpi", value=r["value"], prev=r["previous_value"], n=int(r["n"]),
                              p=_fmt_p(r["p_value"], tr)), r["label"], r["value"], r["n"], r["p_value"], "metrics"))
    return items


def _competitor_items(ev: Evidence, brands: list[str], alpha: float, tr) -> list[dict]:
    items = []
    s = ev.share
    for brand in brands:
        b = s[(s["brand"] == brand) & s["period"].isin([ev.previous, ev.period])].set_index("period")
        if len(b) < 2:
            continue
        now, before = b.loc[ev.period], b.loc[ev.previous]
        c = metrics.proportion_change(int(now["mentions"]), int(now["total"]), int(before["mentions"]),
                                      int(before["total"]))
        if c.diff > 0 and c.p_value < alpha:
            items.append(_item(
                f"T-competitor-{slug(brand)}", "threat", tr("swot.competitor", brand=brand),
                tr("swot.ev.competitor", now=now["share"], period=ev.period, before=before["share"],
                   previous=ev.previous, n=int(now["total"]), p=_fmt_p(c.p_value, tr)),
                "share of mentions", now["share"], now["total"], c.p_value, "voice"))
    return items


def _churn_items(ev: Evidence, alpha: float, tr, min_ratio: float = 1.5) -> list[dict]:
    """Signals whose customers churn at least ``min_ratio`` times as often, significantly."""
    items = []
    for _, r in ev.churn.iterrows():
        if r["risk_ratio"] >= min_ratio and r["p_value"] < alpha:
            items.append(_item(
                f"T-churn-{slug(r['signal'])}", "threat",
                tr("swot.churn", signal=tr.term(CHURN_SIGNALS.get(r["signal"], r["signal"]))),
                tr("swot.ev.churn", w=r["rate_with"], wo=r["rate_without"], rr=r["risk_ratio"], lo=r["rr_ci_low"],
                   hi=r["rr_ci_high"], nw=int(r["customers_with"]), nwo=int(r["customers_without"]),
                   p=_fmt_p(r["p_value"], tr)),
                "churn risk ratio", r["risk_ratio"], r["customers_with"], r["p_value"], "churn"))
    return items


def _passive_items(ev: Evidence, tr, min_share: float = 0.2) -> list[dict]:
    share, n = ev.passives
    if n and share >= min_share:
        return [_item("O-passives", "opportunity", tr("swot.passives"), tr("swot.ev.passives", share=share, n=n),
                      "share of passives", share, n, None, "metrics")]
    return []


def data_items(ev: Evidence, params: Params, tr=None) -> pd.DataFrame:
    """The data-driven SWOT items (one row each, columns :data:`COLUMNS`).

    Theme items use the Holm-adjusted significance of :func:`cxlib.voice.coding.detractor_themes`
    (many codes are tested at once); the other tests are single comparisons at ``alpha``.
    """
    alpha = params.thresholds.alpha
    tr = tr or Translator(params.language)
    rows = (_touchpoint_items(ev, tr) + _theme_items(ev, tr) + _change_items(ev, tr)
            + _competitor_items(ev, params.competitors, alpha, tr) + _churn_items(ev, alpha, tr)
            + _passive_items(ev, tr))
    return pd.DataFrame(rows, columns=COLUMNS)


def staff_items(swot_inputs: pd.DataFrame | None, tr=None) -> pd.DataFrame:
    """Staff workshop items, labelled as staff input."""
    if swot_inputs is None or swot_inputs.empty:
        return pd.DataFrame(columns=COLUMNS)
    tr = tr or Translator("en")
    s = swot_inputs
    role = s["contributor_role"].fillna("staff") if "contributor_role" in s else pd.Series("staff", index=s.index)
    return pd.DataFrame({
        "id": s["item_id"], "quadrant": s["quadrant"], "text": s["text"],
        "evidence": [tr("swot.staff", source=src, role=r) for src, r in zip(s["source"], role, strict=True)],
        "metric": None, "value": None, "n": None, "p_value": None, "section": None, "origin": "staff",
    }, columns=COLUMNS)


def build(ev: Evidence, params: Params, swot_inputs: pd.DataFrame | None = None, tr=None) -> pd.DataFrame:
    """The SWOT table: data items, staff items, then the analyst's params edits applied.

    ``swot.drop`` removes items by id, ``swot.reword`` replaces an item's text by id (the
    evidence stays), ``swot.add`` appends analyst items (``quadrant``, ``text``, optional
    ``id`` and ``evidence``). Unknown ids in drop/reword are an error, not ignored.
    """
    from cxlib.exceptions import ParameterError

    tr = tr or Translator(params.language)
    table = pd.concat([data_items(ev, params, tr), staff_items(swot_inputs, tr)], ignore_index=True)
    edits = params.swot
    unknown = sorted((set(edits.drop) | set(edits.reword)) - set(table["id"]))
    if unknown:
        raise ParameterError(
            f"{params.source}: swot.drop/reword name item id(s) {unknown} that this period's SWOT does not "
            f"have; current ids: {', '.join(table['id'])}."
        )
    table = table[~table["id"].isin(edits.drop)].copy()
    for id_, text in edits.reword.items():
        table.loc[table["id"] == id_, ["text", "origin"]] = [text, "analyst (reworded)"]
    added = []
    for i, item in enumerate(edits.add, start=1):
        if item.get("quadrant") not in QUADRANTS or not item.get("text"):
            raise ParameterError(f"{params.source}: swot.add item {i} needs quadrant ({'/'.join(QUADRANTS)}) and text.")
        added.append({"id": item.get("id", f"A{i}"), "quadrant": item["quadrant"], "text": item["text"],
                      "evidence": item.get("evidence", tr("swot.analyst")), "origin": "analyst"})
    if added:
        table = pd.concat([table, pd.DataFrame(added, columns=COLUMNS)], ignore_index=True)
    table["quadrant"] = pd.Categorical(table["quadrant"], QUADRANTS, ordered=True)
    origin_order = table["origin"].map({"data": 0}).fillna(1)
    return (table.assign(_o=origin_order).sort_values(["quadrant", "_o"], kind="stable")
            .drop(columns="_o").reset_index(drop=True))

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

from . import coding, drivers, engine, journey, metrics, reliability, retention
from .params import Params

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
                    rel.flags() if rel else {})


def _item(id_, quadrant, text, evidence, metric, value, n, p_value, section) -> dict:
    return dict(id=id_, quadrant=quadrant, text=text, evidence=evidence, metric=metric, value=value,
                n=n, p_value=p_value, section=SECTIONS[section], origin="data")


def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _touchpoint_items(ev: Evidence) -> list[dict]:
    items = []
    ok = ev.ipa[~ev.ipa["small_base"].astype(bool)]
    for _, r in ok.iterrows():
        ev_txt = (f"CSAT {r['performance']:.2f}/5 (target {r['target_csat']:.1f}), importance "
                  f"{r['importance']:.2f}/5, n = {int(r['n']):,}")
        if r["quadrant"] == "Keep up the good work" and r["performance"] >= r["target_csat"]:
            items.append(_item(f"S-tp-{slug(r['touchpoint'])}", "strength",
                               f"{r['label']} performs well on a touchpoint customers rate as important.",
                               ev_txt, "CSAT mean", r["performance"], r["n"], None, "journey"))
        elif r["quadrant"] == "Concentrate here":
            items.append(_item(f"W-tp-{slug(r['touchpoint'])}", "weakness",
                               f"{r['label']} matters to customers but underperforms: fix it first "
                               f"(owner: {r['owner']}).",
                               ev_txt, "CSAT mean", r["performance"], r["n"], None, "journey"))
    return items


def _reliability_note(ev: Evidence, code: str) -> str:
    """'; coding reliability: tentative' unless the code is reliable (or was not measured)."""
    flag = ev.code_flags.get(code)
    return f"; coding reliability: {flag}" if flag and flag != "reliable" else ""


def _theme_items(ev: Evidence, top: int = 2) -> list[dict]:
    t = ev.themes
    items = []
    neg = t[(t["difference"] > 0) & t["significant"].astype(bool)].sort_values("difference", ascending=False)
    for _, r in neg.head(top).iterrows():
        items.append(_item(
            f"W-theme-{slug(r['code'])}", "weakness",
            f"Detractors raise {r['label'].lower()} far more often than promoters.",
            f"{r['share_detractors']:.0%} of detractor comments vs {r['share_promoters']:.0%} of promoter "
            f"comments (n = {int(r['n_detractors'])} / {int(r['n_promoters'])}), {_fmt_p(r['p_value'])}"
            + _reliability_note(ev, r["code"]),
            "share of detractor comments", r["share_detractors"], r["n_detractors"], r["p_value"], "voice"))
    pos = t[(t["difference"] < 0) & t["significant"].astype(bool) & (t["valence"] == "positive")]
    for _, r in pos.sort_values("difference").head(1).iterrows():
        items.append(_item(
            f"S-theme-{slug(r['code'])}", "strength",
            f"Promoters single out {r['label'].lower()}.",
            f"{r['share_promoters']:.0%} of promoter comments vs {r['share_detractors']:.0%} of detractor "
            f"comments, {_fmt_p(r['p_value'])}" + _reliability_note(ev, r["code"]),
            "share of promoter comments", r["share_promoters"], r["n_promoters"], r["p_value"], "voice"))
    return items


def _change_items(ev: Evidence) -> list[dict]:
    items = []
    for _, r in ev.segments.iterrows():
        if not r["significant"]:
            continue
        seg = r["segment"]
        ev_txt = (f"NPS {r['value']:+.0f} in {ev.period} vs {r['previous_value']:+.0f} in {ev.previous} "
                  f"(change {r['change']:+.0f} points, 95% CI {r['change_ci_low']:+.0f} to "
                  f"{r['change_ci_high']:+.0f}; n = {int(r['n'])} / {int(r['n_previous'])}), {_fmt_p(r['p_value'])}")
        if r["change"] < 0:
            items.append(_item(f"T-seg-{slug(seg)}", "threat",
                               f"{seg}: NPS fell significantly since last period.", ev_txt, "NPS change",
                               r["change"], r["n"], r["p_value"], "metrics"))
        else:
            items.append(_item(f"O-seg-{slug(seg)}", "opportunity",
                               f"{seg}: NPS rose significantly; build on what changed.", ev_txt,
                               "NPS change", r["change"], r["n"], r["p_value"], "metrics"))
    for _, r in ev.kpis.iterrows():
        if not r["significant"]:
            continue
        quad, word = ("threat", "fell") if r["change"] < 0 else ("opportunity", "rose")
        items.append(_item(f"{quad[0].upper()}-kpi-{r['metric']}", quad, f"{r['label']} {word} significantly.",
                           f"{r['value']:.1f} vs {r['previous_value']:.1f} (n = {int(r['n'])}), "
                           f"{_fmt_p(r['p_value'])}", r["label"], r["value"], r["n"], r["p_value"], "metrics"))
    return items


def _competitor_items(ev: Evidence, brands: list[str], alpha: float) -> list[dict]:
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
                f"T-competitor-{slug(brand)}", "threat",
                f"{brand} is taking a growing share of social conversation.",
                f"share of mentions {now['share']:.0%} in {ev.period} vs {before['share']:.0%} in {ev.previous} "
                f"(n = {int(now['total']):,} mentions), {_fmt_p(c.p_value)}",
                "share of mentions", now["share"], now["total"], c.p_value, "voice"))
    return items


def _churn_items(ev: Evidence, alpha: float, min_ratio: float = 1.5) -> list[dict]:
    """Signals whose customers churn at least ``min_ratio`` times as often, significantly."""
    items = []
    for _, r in ev.churn.iterrows():
        if r["risk_ratio"] >= min_ratio and r["p_value"] < alpha:
            items.append(_item(
                f"T-churn-{slug(r['signal'])}", "threat",
                f"Customers with {CHURN_SIGNALS.get(r['signal'], r['signal'])} churn far more often.",
                f"churn {r['rate_with']:.0%} with vs {r['rate_without']:.0%} without (risk ratio "
                f"{r['risk_ratio']:.1f}, 95% CI {r['rr_ci_low']:.1f} to {r['rr_ci_high']:.1f}; n = "
                f"{int(r['customers_with']):,} / {int(r['customers_without']):,}), {_fmt_p(r['p_value'])}",
                "churn risk ratio", r["risk_ratio"], r["customers_with"], r["p_value"], "churn"))
    return items


def _passive_items(ev: Evidence, min_share: float = 0.2) -> list[dict]:
    share, n = ev.passives
    if n and share >= min_share:
        return [_item("O-passives", "opportunity",
                      "Many customers are passives (7-8) who could be turned into promoters.",
                      f"{share:.0%} of relationship respondents scored 7-8 (n = {n:,})",
                      "share of passives", share, n, None, "metrics")]
    return []


def data_items(ev: Evidence, params: Params) -> pd.DataFrame:
    """The data-driven SWOT items (one row each, columns :data:`COLUMNS`).

    Theme items use the Holm-adjusted significance of :func:`cxlib.coding.detractor_themes`
    (many codes are tested at once); the other tests are single comparisons at ``alpha``.
    """
    alpha = params.thresholds.alpha
    rows = (_touchpoint_items(ev) + _theme_items(ev) + _change_items(ev)
            + _competitor_items(ev, params.competitors, alpha) + _churn_items(ev, alpha) + _passive_items(ev))
    return pd.DataFrame(rows, columns=COLUMNS)


def staff_items(swot_inputs: pd.DataFrame | None) -> pd.DataFrame:
    """Staff workshop items, labelled as staff input."""
    if swot_inputs is None or swot_inputs.empty:
        return pd.DataFrame(columns=COLUMNS)
    s = swot_inputs
    role = s["contributor_role"].fillna("staff") if "contributor_role" in s else "staff"
    return pd.DataFrame({
        "id": s["item_id"], "quadrant": s["quadrant"], "text": s["text"],
        "evidence": "Staff input: " + s["source"].astype(str) + " (" + role.astype(str) + ")",
        "metric": None, "value": None, "n": None, "p_value": None, "section": None, "origin": "staff",
    }, columns=COLUMNS)


def build(ev: Evidence, params: Params, swot_inputs: pd.DataFrame | None = None) -> pd.DataFrame:
    """The SWOT table: data items, staff items, then the analyst's params edits applied.

    ``swot.drop`` removes items by id, ``swot.reword`` replaces an item's text by id (the
    evidence stays), ``swot.add`` appends analyst items (``quadrant``, ``text``, optional
    ``id`` and ``evidence``). Unknown ids in drop/reword are an error, not ignored.
    """
    from .exceptions import ParameterError

    table = pd.concat([data_items(ev, params), staff_items(swot_inputs)], ignore_index=True)
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
                      "evidence": item.get("evidence", "Analyst judgement"), "origin": "analyst"})
    if added:
        table = pd.concat([table, pd.DataFrame(added, columns=COLUMNS)], ignore_index=True)
    table["quadrant"] = pd.Categorical(table["quadrant"], QUADRANTS, ordered=True)
    origin_order = table["origin"].map({"data": 0}).fillna(1)
    return (table.assign(_o=origin_order).sort_values(["quadrant", "_o"], kind="stable")
            .drop(columns="_o").reset_index(drop=True))

"""Write the report notebooks (without outputs) from the cell lists below.

The notebooks are the source analysts edit; this script only (re)creates the shipped
versions so their structure stays uniform. Run: .venv/bin/python tools/build_notebooks.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"

PARAMS = '''# Parameters (the runner injects these; defaults run the demo in JupyterLab)
params_file = "../params/demo.yml"
period = None
output_dir = None
db_path = None'''

SETUP = '''import pandas as pd

import cxlib as cx
from cxlib.data import engine
from cxlib.decide import recommendations
from cxlib.journey import drivers, journey_map, operations
from cxlib.journey import gaps as journey
from cxlib.quant import churn_model, crosstab, metrics, personas, retention, segments, weighting
from cxlib.report import plots, tables
from cxlib.report.context import pseudonym_salt
from cxlib.report.display import md_escape, show_figure, show_table, show_text
from cxlib.voice import assist, coding, coding_sheet, reliability, sentiment

ctx = cx.open_run(params_file, period, output_dir, db_path)
th = ctx.params.thresholds
out = ctx.output_dir
tr = cx.Translator(ctx.params.language)
plots.set_theme(ctx.params.branding, tr);'''


def md(text, tags=None):
    c = nbf.v4.new_markdown_cell(text.strip())
    if tags:
        c.metadata["tags"] = tags
    return c


def code(text, tags=None):
    c = nbf.v4.new_code_cell(text.strip())
    if tags:
        c.metadata["tags"] = tags
    return c


def say(key, tags=None, **fmt):
    """A cell that shows the text ``key`` of assets/strings/ in the report's language."""
    args = "".join(f", {k}={v}" for k, v in fmt.items())
    return code(f'show_text(tr("{key}"{args}))', tags)


def notebook(cells):
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "cxlib", "display_name": "Python (cxlib)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    title = md(f"# {cells[0]}\n\nThe report text comes from `cxlib/assets/strings/` (English and Arabic); "
               "the analysis from `cxlib`. Run top to bottom; the runner injects the parameters.", ["remove-cell"])
    nb.cells = [title, code(PARAMS, ["parameters"]), code(SETUP), *cells[1:]]
    return nb


NOTEBOOKS = {
    "01_data_quality.ipynb": [
        "Data and method; who the customers are",
        say("data.intro"),
        code('''quality = engine.data_quality(ctx.store)
show_table(tr.table(tables.quality_table(quality)), name="data_sources", caption=tr("cap.sources"), out_dir=out,
           data=quality)'''),
        code('''resp = engine.responses(ctx.store)
cur = resp[resp["period"] == ctx.period.label]
show_text(tr("data.period", period=ctx.period.label, span=ctx.period.iso_span if tr.rtl else ctx.period.span, previous=ctx.previous.label, n=len(cur),
             n_rel=int((cur["survey_type"] == "relationship").sum()), n_tr=int((cur["survey_type"] == "transactional").sum()),
             conf=th.confidence, alpha=th.alpha, min_base=th.min_base))'''),
        say("customers.intro"),
        code('''view = engine.customer_view(ctx.store)
seg = segments.assign_segments(view, ctx.params.segmentation, seed=ctx.params.seed)
profile = segments.segment_profiles(view, seg, responses=resp, confidence=th.confidence, min_base=th.min_base)
show_table(tr.table(tables.segments_table(profile), keep=("Segment", "Top channel")), name="segment_profile",
           caption=tr("cap.segment_profile"), out_dir=out, data=profile)
fig = plots.breakdown_chart(profile.rename(columns={"nps": "value", "nps_ci_low": "ci_low", "nps_ci_high": "ci_high",
                                                    "nps_n": "n"}), "segment", tr.term("NPS (latest)"),
                            min_base=th.min_base)
show_figure(fig, name="segment_nps", caption=tr("cap.segment_nps"), alt=tr("alt.segment_nps"), data=profile, out_dir=out)
use = segments.usefulness(profile, view, seg, responses=resp)
show_table(tr.table(tables.usefulness_table(use), keep=("Segment",)), name="segment_usefulness", out_dir=out, data=use,
           caption=tr("cap.usefulness"))'''),
        say("personas.h"),
        code('''verb = engine.verbatims(ctx.store, [ctx.period.label])
book = coding.compile_codebook(ctx.store.df("codebook"), source=str(ctx.params.table_path("codebook")))
cards = personas.build_personas(
    profile, view, seg, coding.auto_code(verb, book), verb,
    personas.touchpoint_performance_by_segment(cur, ctx.params, view, seg), min_base=th.min_base,
    influences=personas.traffic_sources(ctx.store, view, seg, as_of=ctx.period.end),
    touchpoint_labels=ctx.params.touchpoint_labels())
show_text(personas.personas_markdown(cards, ctx.params.language))'''),
    ],
    "02_metrics.ipynb": [
        "Quantitative CX; churn",
        say("metrics.intro"),
        code('''resp = engine.responses(ctx.store)
cur = resp[resp["period"] == ctx.period.label]
kw = dict(confidence=th.confidence, min_base=th.min_base)
kpis = metrics.kpi_tiles(resp, ctx.period.label, ctx.previous.label, alpha=th.alpha, **kw)
show_table(tr.table(tables.kpi_table(kpis)), name="kpi_tiles", out_dir=out, data=kpis,
           caption=tr("cap.kpis", period=ctx.period.label, previous=ctx.previous.label))'''),
        say("weighting.intro"),
        code('''weights = None
if ctx.params.weighting:
    spec = ctx.params.weighting
    weights = weighting.survey_weights(cur, engine.population_counts(ctx.store, spec.variables), spec)
    wk = weighting.weighted_kpis(cur, weights, confidence=th.confidence, min_base=th.min_base)
    show_table(tr.table(tables.weighted_kpi_table(wk)), name="weighted_kpis", out_dir=out, data=wk,
               caption=tr("cap.weighted", variables=", ".join(tr.terms([tables.label(v) for v in spec.variables])),
                          method=spec.method, period=ctx.period.label))
else:
    show_text(tr("weighting.none"))'''),
        say("crosstabs.intro"),
        code('''for spec in ctx.params.crosstabs:
    ct = crosstab.crosstab(cur[cur[spec.row].notna()], spec.row, spec.banner, alpha=th.alpha, min_base=th.min_base,
                           weights=None if weights is None else weights[cur[spec.row].notna()])
    show_table(tr.table(crosstab.format_crosstab(ct, tables.label(spec.row))), name=f"crosstab_{spec.row}_by_{spec.banner}",
               note=None if tr.rtl else ct.note, out_dir=out, data=ct.cells,
               caption=tr("cap.crosstab", row=tr.term(tables.label(spec.row)), banner=tr.term(tables.label(spec.banner)),
                          period=ctx.period.label))'''),
        say("trend.h"),
        code('''labels = {"nps": tr.term("NPS (points)"), "csat": tr.term("CSAT top-2-box (%)"), "ces": tr.term("CES mean (1-7)")}
trend = pd.concat([metrics.trend(resp, m, **kw).assign(kpi=label) for m, label in labels.items()])
fig = plots.trend_grid(trend, "kpi", sharey=False, significant=set(kpis.loc[kpis["significant"], "metric"].map(labels)),
                       **kw)
show_figure(fig, name="kpi_trends", caption=tr("cap.kpi_trends"), alt=tr("alt.kpi_trends"), data=trend, out_dir=out)'''),
        say("segments.h"),
        code('''seg = metrics.breakdown_change(resp, "segment", ctx.period.label, ctx.previous.label, alpha=th.alpha, **kw)
show_table(tr.table(tables.change_table(seg, "segment", "Segment"), keep=("Segment",)), name="nps_by_segment_change",
           caption=tr("cap.segment_change"), out_dir=out, data=seg)
seg_trend = metrics.trend(resp, "nps", by="segment", **kw)
fig = plots.kpi_trend_chart(seg_trend, tr.term("NPS"), by="segment", significant=set(seg.loc[seg["significant"], "segment"]),
                            **kw)
show_figure(fig, name="nps_trend_segment", caption=tr("cap.segment_trend"), alt=tr("alt.segment_trend"),
            data=seg_trend, out_dir=out)'''),
        code('''for by in [b for b in ctx.params.breakdowns if b != "segment" and b in cur.columns]:
    b = metrics.breakdown(cur, by, "nps", **kw)
    show_table(tr.table(tables.breakdown_table(b, by)), name=f"nps_by_{by}", out_dir=out, data=b,
               caption=tr("cap.breakdown", by=tr.term(tables.label(by)).lower(), period=ctx.period.label))'''),
        say("funnel.h"),
        code('''funnel = engine.funnel(ctx.store, ctx.params, ctx.period, by="device")
fig = plots.funnel_chart(funnel)
show_figure(fig, name="funnel_device", caption=tr("cap.funnel", period=ctx.period.label), alt=tr("alt.funnel"),
            data=funnel, out_dir=out)
steps = [s.event for s in ctx.params.funnel if s.touchpoint == "checkout"]
aband = engine.abandonment(funnel, steps[0], ctx.params.funnel[-1].event, confidence=th.confidence)
show_table(tr.table(tables.abandonment_table(aband)), name="checkout_abandonment", caption=tr("cap.abandonment"),
           out_dir=out, data=aband)'''),
        code('''by_source = engine.funnel(ctx.store, ctx.params, ctx.period, by="source")
show_table(tr.table(tables.funnel_table(by_source, "source")), name="funnel_source", out_dir=out, data=by_source,
           caption=tr("cap.funnel_source", period=ctx.period.label))'''),
    ],
    "03_journey.ipynb": [
        "The journey and touchpoint gaps",
        say("journey.intro"),
        code('''resp = engine.responses(ctx.store, [ctx.period.label])
perf, unmapped = journey.touchpoint_performance(resp, ctx.params)
ipa = journey.ipa(perf)
show_table(tr.table(tables.touchpoint_table(ipa), keep=("Touchpoint", "Owner")), name="touchpoints", out_dir=out,
           data=ipa, caption=tr("cap.touchpoints", period=ctx.period.label))
if unmapped:
    show_text(tr("journey.unmapped", items=", ".join(md_escape(u) for u in unmapped)))'''),
        code('''fig = plots.ipa_chart(ipa)
show_figure(fig, name="ipa", caption=tr("cap.ipa"), alt=tr("alt.ipa"), data=ipa, out_dir=out)'''),
        say("map.h"),
        code('''ops = operations.touchpoint_operations(ctx.store, ctx.params, ctx.period)
verb = engine.verbatims(ctx.store, [ctx.period.label])
book = coding.compile_codebook(ctx.store.df("codebook"), source=str(ctx.params.table_path("codebook")))
pains = operations.pain_points(coding.auto_code(verb, book), verb, ctx.params)
customer = verb[verb["speaker"].fillna("customer") == "customer"] if "speaker" in verb else verb
emotion = journey_map.emotion_by_stage(customer, ctx.params,
                                       sentiment.score(customer["text"], customer["language"])["sentiment"])
fig = journey_map.journey_map(ipa, ops, pains, emotion, ctx.params)
show_figure(fig, name="journey_map", caption=tr("cap.journey_map", period=ctx.period.label), alt=tr("alt.journey_map"),
            data=ipa, out_dir=out)'''),
        say("ops.h"),
        code('''show_table(tr.table(tables.operations_table(ops, perf), keep=("Touchpoint",)), name="touchpoint_operations",
           out_dir=out, data=ops, caption=tr("cap.ops", period=ctx.period.label))
if ops.attrs.get("unmapped_interactions"):
    show_text(tr("ops.unmapped", items=", ".join(f"{md_escape(k)} ({v:,})"
                                                 for k, v in ops.attrs["unmapped_interactions"].items())))'''),
        say("tp_time.h"),
        code('''tp_change = metrics.breakdown_change(engine.responses(ctx.store, ctx.labels), "touchpoint", ctx.period.label,
                                     ctx.previous.label, "csat_mean", alpha=th.alpha, confidence=th.confidence,
                                     min_base=th.min_base)
show_table(tr.table(tables.change_table(tp_change, "touchpoint", "Touchpoint", "CSAT", "score",
                                        ctx.params.touchpoint_labels(), adjusted=True, alpha=th.alpha),
                    keep=("Touchpoint",)),
           name="touchpoint_csat_change", caption=tr("cap.tp_change"), out_dir=out, data=tp_change,
           note=tr("note.tp_change", n=len(tp_change)))'''),
        code('''tp_trend = metrics.trend(engine.responses(ctx.store), "csat_mean", by="touchpoint", confidence=th.confidence,
                         min_base=th.min_base)
fig = plots.trend_grid(tp_trend, "touchpoint", value_label=tr.term("Mean CSAT (1-5)"), min_base=th.min_base,
                       significant=set(tp_change.loc[tp_change["p_holm"] < th.alpha, "touchpoint"]),
                       facet_labels=ctx.params.touchpoint_labels())
show_figure(fig, name="touchpoint_trends", caption=tr("cap.tp_trends"), alt=tr("alt.tp_trends"), data=tp_trend,
            out_dir=out)'''),
        say("drivers.h"),
        code('''window = drivers.trailing_window(ctx.period.label, 4)
frame = drivers.driver_frame(engine.responses(ctx.store, window), ctx.params, window=window)
kd = drivers.key_drivers(frame, frame.attrs["touchpoints"], confidence=th.confidence, seed=ctx.params.seed)
show_table(tr.table(tables.drivers_table(kd.table, ctx.params.touchpoint_labels()), keep=("Touchpoint",)),
           name="key_drivers", out_dir=out, data=kd.table, caption=tr("cap.drivers", n=kd.n, r2=kd.r_squared),
           note=tr("note.drivers"))
uplift = drivers.uplift_table(frame, kd, ctx.params, perf=perf, seed=ctx.params.seed)'''),
        say("fix.h"),
        code('''ff = journey.fix_first(ipa, uplift=uplift)
show_table(tr.table(tables.fix_first_table(ff), keep=("Touchpoint", "Owner")), name="fix_first",
           caption=tr("cap.fix_first"), out_dir=out, data=ff, note=tr("note.fix_first"))'''),
    ],
    "04_voice.ipynb": [
        "Voice of the customer",
        say("voice.intro"),
        code('''verb = engine.verbatims(ctx.store)
resp = engine.responses(ctx.store, [ctx.period.label])
book = coding.compile_codebook(ctx.store.df("codebook"), source=str(ctx.params.table_path("codebook")))
cur_verb = verb[verb["period"] == ctx.period.label]
coded = coding.auto_code(cur_verb, book)
freq = coding.theme_frequency(coded, cur_verb, by="source", level="theme")
show_table(tr.table(tables.frequency_table(freq, "source")), name="theme_frequency_by_source", out_dir=out, data=freq,
           caption=tr("cap.theme_source", period=ctx.period.label))'''),
        code('''seg_freq = coding.theme_frequency(coded, cur_verb, by="segment", level="theme")
show_table(tr.table(tables.frequency_table(seg_freq, "segment")), name="theme_frequency_by_segment", out_dir=out,
           data=seg_freq, caption=tr("cap.theme_segment", period=ctx.period.label))'''),
        say("detractors.h"),
        code('''themes = coding.detractor_themes(coded, cur_verb, resp, alpha=th.alpha)
rel = reliability.for_run(ctx.store, ctx.params, book)
show_table(tr.table(tables.themes_table(themes, flags=rel.flags() if rel else None)), name="detractor_themes",
           caption=tr("cap.detractor_themes"), out_dir=out, data=themes)
fig = plots.theme_chart(themes.sort_values("rank").head(8))
show_figure(fig, name="detractor_themes", caption=tr("cap.detractor_chart"), alt=tr("alt.detractor_chart"),
            data=themes, out_dir=out)'''),
        code('''mention = coding.nps_by_mention(coded, cur_verb, resp)
show_table(tr.table(tables.nps_mention_table(mention, min_n=th.min_base)), name="nps_by_mention", out_dir=out,
           data=mention, caption=tr("cap.nps_mention", min_base=th.min_base))
pairs = coding.cooccurrence(coded, level="theme")
show_table(tr.table(tables.cooccurrence_table(pairs)), name="theme_cooccurrence", out_dir=out, data=pairs,
           caption=tr("cap.cooccurrence"))'''),
        say("themes_time.h"),
        code('''coded_all = coding.auto_code(verb, book)
by_period = coding.theme_by_period(coded_all, verb, level="theme", confidence=th.confidence, min_base=th.min_base)
fig = plots.trend_grid(by_period.assign(value=by_period["share"] * 100, ci_low=by_period["ci_low"] * 100,
                                        ci_high=by_period["ci_high"] * 100), "theme",
                       value_label=tr.term("Texts mentioning the theme (%)"), min_base=th.min_base)
show_figure(fig, name="theme_trends", caption=tr("cap.theme_trends"), alt=tr("alt.theme_trends"), data=by_period,
            out_dir=out)'''),
        say("calls.h"),
        code('''conv = coding.conversation_themes(coded, cur_verb)
show_table(tr.table(tables.conversation_table(conv, conv.attrs["n_conversations"])), name="conversation_themes",
           out_dir=out, data=conv, caption=tr("cap.conversations", period=ctx.period.label))'''),
        say("quotes.h"),
        code('''top_codes = themes.sort_values("rank")["code"].head(3).tolist()
show_text(tables.quotes_markdown(top_codes, lambda c: coding.representative_quotes(cur_verb, coded, c, n=2), book,
                                 none_text=tr("quotes.none")))'''),
        say("social.h"),
        code('''share = coding.mention_share(verb, [ctx.params.brand, *ctx.params.competitors], confidence=th.confidence)
show_table(tr.table(tables.share_table(share)), name="mention_share", caption=tr("cap.share_table"), out_dir=out,
           data=share)
fig = plots.mention_share_chart(share, min_base=th.min_base)
show_figure(fig, name="mention_share", caption=tr("cap.share_chart"), alt=tr("alt.share_chart"), data=share, out_dir=out)'''),
        code('''social = verb[verb["source"] == "social"]
tone = coding.mention_sentiment(social, [ctx.params.brand, *ctx.params.competitors],
                                sentiment.score(social["text"], social["language"])["sentiment"],
                                confidence=th.confidence, min_n=th.min_base)
fig = plots.kpi_trend_chart(tone.rename(columns={"mean": "value"}), tr.term("Mean sentiment (-1 to 1)"), by="brand",
                            min_base=th.min_base, confidence=th.confidence)
show_figure(fig, name="mention_sentiment", caption=tr("cap.social_tone"), alt=tr("alt.social_tone"), data=tone,
            out_dir=out)'''),
    ],
    "05_churn.ipynb": [
        "Churn, at-risk customers and next best actions",
        code('''resp = engine.responses(ctx.store)'''),
        say("churn.intro"),
        code('''quarters = sorted(resp["period"].unique())
churn = retention.churn_by_period(ctx.store, quarters, confidence=th.confidence, min_base=th.min_base)
show_table(tr.table(tables.churn_period_table(churn)), name="churn_by_quarter", caption=tr("cap.churn_quarter"),
           out_dir=out, data=churn)
fig = plots.churn_trend_chart(churn, min_base=th.min_base)
show_figure(fig, name="churn_trend", caption=tr("cap.churn_trend"), alt=tr("alt.churn_trend"), data=churn, out_dir=out)'''),
        code('''curves = retention.retention_curves(ctx.store, ctx.period.end, max_months=18, confidence=th.confidence)
fig = plots.retention_chart(curves[(curves["cohort"] >= quarters[0]) & (curves["at_risk"] >= th.min_base)])
show_figure(fig, name="retention", caption=tr("cap.retention", min_base=th.min_base), alt=tr("alt.retention"), data=curves, out_dir=out)'''),
        code('''from cxlib.decide.swot import CHURN_SIGNALS

lift = retention.churn_lift(engine.customer_view(ctx.store), list(CHURN_SIGNALS), confidence=th.confidence)
names = {k: tr.term(v.capitalize()) for k, v in CHURN_SIGNALS.items()}
show_table(tr.table(tables.churn_table(lift, names)), name="churn_by_signal", caption=tr("cap.churn_signal"),
           note=None if tr.rtl else tables.churn_note(lift, names), out_dir=out, data=lift)'''),
        say("churn_model.h"),
        code('''train, now = churn_model.churn_datasets(ctx.store, ctx.period.end)
cm = churn_model.fit_churn_model(train, seed=ctx.params.seed)
show_table(tr.table(tables.odds_table(cm.odds_ratios)), name="churn_model", out_dir=out, data=cm.odds_ratios,
           caption=tr("cap.churn_model", n=cm.n, events=cm.events))
show_table(tr.table(tables.model_checks_table(cm.summary())), name="churn_model_checks", out_dir=out,
           data=cm.summary(), caption=tr("cap.churn_checks"))'''),
        say("at_risk.h"),
        code('''scored = churn_model.score_customers(cm, now)
stake, full = churn_model.at_risk(scored, ctx.params, salt=pseudonym_salt(ctx.params.client))
show_table(tr.table(tables.at_risk_table(stake), keep=("Customer ref", "Segment", "Next best action", "Owner")),
           name="at_risk", out_dir=out, data=stake, caption=tr("cap.at_risk", n=len(stake)),
           note=tr("note.at_risk", review=stake.attrs.get("review_manually", 0)))
if out is not None:  # the identifiable list goes to the analyst folder only (moved out of the report)
    (out / "analyst").mkdir(exist_ok=True)
    full.to_csv(out / "analyst" / "at_risk_full.csv", index=False)'''),
    ],
    "06_summary_swot.ipynb": [
        "SWOT and executive summary",
        say("swot.h"),
        code('''from cxlib.decide import summary, swot

ev = swot.gather(ctx)
items = swot.build(ev, ctx.params, ctx.store.df("swot_inputs") if ctx.store.has("swot_inputs") else None, tr=tr)
show_table(tr.table(tables.swot_table(items), keep=("Item", "Evidence")), name="swot", caption=tr("cap.swot"),
           out_dir=out, data=items)'''),
        say("rec.h"),
        code('''train, now = churn_model.churn_datasets(ctx.store, ctx.period.end)
scored = churn_model.score_customers(churn_model.fit_churn_model(train, seed=ctx.params.seed), now)
recs = recommendations.rank([recommendations.touchpoint_actions(ev.uplift, ctx.params, tr),
                             recommendations.churn_actions(scored, engine.customer_view(ctx.store), ctx.params, tr)])
show_table(tr.table(tables.recommendations_table(recs), keep=("Action", "Owner", "Impact", "Evidence")),
           name="recommendations", caption=tr("cap.recommendations"), out_dir=out, data=recs)'''),
        say("summary.h", ["exec-summary"]),
        code('''show_table(tr.table(tables.kpi_table(ev.kpis)), name="summary_kpis",
           caption=tr("cap.kpis", period=ev.period, previous=ev.previous))''', ["exec-summary"]),
        say("findings.h", ["exec-summary"]),
        code('''show_text("\\n".join(f"- {s}" for s in summary.findings(ev, tr=tr)))''', ["exec-summary"]),
        say("actions.h", ["exec-summary"]),
        code('''show_table(tr.table(tables.recommendations_table(recs.head(3)).drop(columns=["Evidence"]),
                    keep=("Action", "Owner", "Impact")),
           name="top_actions", caption=tr("cap.actions"), out_dir=out, data=recs.head(3))''', ["exec-summary"]),
    ],
    "07_appendix.ipynb": [
        "Appendix: method, codebook, coding reliability, assisted coding, sentiment",
        say("appendix.h"),
        say("method"),
        say("codebook.h"),
        code('''book = coding.compile_codebook(ctx.store.df("codebook"), source=str(ctx.params.table_path("codebook")))
show_table(tr.table(tables.codebook_table(book.table), keep=("Description",)), name="codebook",
           caption=tr("cap.codebook"), out_dir=out, data=book.table)'''),
        say("reliability.h"),
        code('''rel = reliability.for_run(ctx.store, ctx.params, book)
if rel is None:
    show_text(tr("reliability.none"))
else:
    if not tr.rtl:
        show_text(md_escape(rel.method_text()))
    show_table(tr.table(tables.reliability_table(rel.per_code)), name="coding_reliability", out_dir=out,
               data=rel.per_code, caption=tr("cap.reliability"))'''),
        say("assist.h"),
        code('''ac = assist.for_run(ctx.store, book)
if ac is None:
    show_text(tr("assist.none"))
else:
    show_table(tr.table(tables.assist_table(ac.cv)), name="assisted_coding_cv", out_dir=out, data=ac.cv,
               caption=tr("cap.assist", n=ac.n_training))
    if out is not None:
        coding_sheet.export_sheet(ac.next_to_code, book.table, out / "analyst" / "coding" / "code_next.xlsx")
        ac.suggestions.to_csv(out / "analyst" / "coding" / "suggestions.csv", index=False)
    show_text(tr("assist.files", n=len(ac.next_to_code), k=len(ac.suggestions)))'''),
        say("sentiment.h"),
        code('''verb = engine.verbatims(ctx.store)
scored = sentiment.score(verb["text"], verb["language"])
val = sentiment.validate(scored, verb, responses=engine.responses(ctx.store))
show_table(tr.table(tables.sentiment_validation_table(val)), name="sentiment_validation", out_dir=out, data=val,
           caption=tr("cap.sentiment"))'''),
    ],
}


def main() -> None:
    NB_DIR.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nbf.write(notebook(cells), NB_DIR / name)
        print("wrote", NB_DIR / name)


if __name__ == "__main__":
    main()

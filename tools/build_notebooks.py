"""Write the report notebooks (without outputs) from the cell lists below.

The notebooks are the source analysts edit; this script only (re)creates the shipped versions so
their structure stays uniform. Every analysis cell is a guarded section: ``with
ctx.section(name):`` shows the result of analysis ``name`` (computed once per run by
``ctx.result``), is skipped when the client's data does not allow it (the data section lists it
with what it would need), and shows a boxed note instead of failing the report.
Run: .venv/bin/python tools/build_notebooks.py
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

SETUP = '''import cxlib as cx
from cxlib.report import plots, tables
from cxlib.report.display import md_escape, show_figure, show_note, show_table, show_text

ctx = cx.start(params_file, period, output_dir, db_path)
tr, out, th = ctx.tr, ctx.output_dir, ctx.params.thresholds'''


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


def heading(section, key, tags=None):
    """The section's heading and intro, shown when any of its analyses is in the report."""
    return code(f'if ctx.shows("{section}"):\n    show_text(tr("{key}"))', tags)


def notebook(cells, phase=1, annex=False):
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "cxlib", "display_name": "Python (cxlib)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["cxlib"] = {"phase": phase}
    if annex:
        for c in cells[1:]:
            c.metadata.setdefault("tags", []).append("annex")
    title = md(f"# {cells[0]}\n\nThe report text comes from `cxlib/assets/strings/` (English and Arabic); "
               "the analyses from `cxlib` (`ctx.result(name)`). Run top to bottom; the runner injects the "
               "parameters.", ["remove-cell"])
    nb.cells = [title, code(PARAMS, ["parameters"]), code(SETUP), *cells[1:]]
    for i, c in enumerate(nb.cells):  # stable cell ids: a rebuild changes only what changed
        c.id = f"cell-{i:02d}"
    return nb


NOTEBOOKS = {
    "01_data_quality.ipynb": (1, [
        "Data and method; who the customers are",
        code('show_text(tr("data.intro.report"))'),
        code('''with ctx.section("sources"):
    src = ctx.result("sources")
    show_table(tr.table(tables.quality_table(src["quality"])), name="data_sources", caption=tr("cap.sources"), annex=True,
               out_dir=out, data=src["quality"])
    show_text(tables.load_notes_markdown(src["notes"], src["blank"], ctx.warnings, tr))'''),
        code('''with ctx.section("coverage"):
    show_text(tables.period_markdown(ctx, ctx.result("coverage"), tr))
show_text(tables.not_in_report_markdown(ctx.plan, tr))'''),
        heading("customers", "customers.intro"),
        code('''with ctx.section("customer_profile"):
    prof = ctx.result("customer_profile")
    show_table(tr.table(tables.profile_table(prof["table"]), keep=("Group",)), name="customer_profile", annex=True, out_dir=out,
               caption=tr("cap.customer_profile", n=prof["n"]), data=prof["table"])'''),
        code('''with ctx.section("segments"):
    seg = ctx.result("segments")
    profile = seg["profile"]
    show_table(tr.table(tables.segments_table(profile, ctx.params.currency), keep=("Segment", "Top channel")),
               name="segment_profile", caption=tr("cap.segment_profile"), out_dir=out, data=profile)
    if profile["nps"].notna().any():
        fig = plots.breakdown_chart(profile.rename(columns={"nps": "value", "nps_ci_low": "ci_low",
                                                            "nps_ci_high": "ci_high", "nps_n": "n"}),
                                    "segment", tr.term("NPS (latest)"), min_base=th.min_base)
        show_figure(fig, name="segment_nps", caption=tr("cap.segment_nps"), alt=tr("alt.segment_nps"), data=profile,
                    out_dir=out)
    show_table(tr.table(tables.usefulness_table(seg["usefulness"]), keep=("Segment",)), name="segment_usefulness", annex=True,
               out_dir=out, data=seg["usefulness"], caption=tr("cap.usefulness"))'''),
        code('''with ctx.section("personas"):
    cards = ctx.result("personas")
    show_text(tr("personas.h"))
    show_text(tables.personas_markdown(cards, tr, market=ctx.params.market, currency=ctx.params.currency))'''),
    ]),
    "02_metrics.ipynb": (1, [
        "Quantitative CX",
        code('if ctx.shows("metrics"):\n    show_text(tr("annex.metrics.h"), annex=True)'),
        heading("metrics", "metrics.intro"),
        code('''with ctx.section("kpis"):
    kpis = ctx.result("kpis")
    show_table(tr.table(tables.kpi_table(kpis)), name="kpi_tiles", annex=True, out_dir=out, data=kpis,
               caption=tr("cap.kpis", period=ctx.period.label, previous=ctx.previous_label or "–"))'''),
        code('''with ctx.section("recommend"):
    rec = ctx.result("recommend")
    show_table(tr.table(tables.flag_share_table(rec, tr.term("Would recommend"))), name="recommend_share",
               out_dir=out, data=rec, caption=tr("cap.recommend", period=ctx.period.label))'''),
        code('''with ctx.section("weighted_kpis"):
    w = ctx.result("weighted_kpis")
    show_text(tr("weighting.intro"), annex=True)
    show_table(tr.table(tables.weighted_kpi_table(w["kpis"])), name="weighted_kpis", annex=True, out_dir=out, data=w["kpis"],
               caption=tr("cap.weighted", variables=tr("pres.persona.comma").join(tr.terms([tables.label(v) for v in w["spec"].variables])),
                          method=w["spec"].method, period=ctx.period.label))'''),
        code('''with ctx.section("crosstabs"):
    cts = ctx.result("crosstabs")
    show_text(tr("crosstabs.intro"), annex=True)
    for spec, ct in cts:
        show_table(tr.table(tables.crosstab_table(ct, tables.label(spec.row))), name=f"crosstab_{spec.row}_by_{spec.banner}", annex=True,
                   note=tables.crosstab_note(ct, tr), out_dir=out, data=ct.cells,
                   caption=tr("cap.crosstab", row=tr.term(tables.label(spec.row)), banner=tr.term(tables.label(spec.banner)),
                              period=ctx.period.label))'''),
        code('''with ctx.section("kpi_trends"):
    trend = ctx.result("kpi_trends")
    show_text(tr("trend.h"))
    names = {"nps": tr.term("NPS (points)"), "csat": tr.term("CSAT top-2-box (%)"), "ces": tr.term("CES mean (1-7)")}
    sig = set()
    if ctx.maybe("kpis") is not None:
        k = ctx.result("kpis")
        sig = set(k.loc[k["significant"], "metric"].map(names))
    fig = plots.trend_grid(trend.assign(kpi=trend["metric"].map(names)), "kpi", sharey=False, significant=sig,
                           confidence=th.confidence, min_base=th.min_base)
    show_figure(fig, name="kpi_trends", caption=tr("cap.kpi_trends"), alt=tr("alt.kpi_trends"), data=trend, out_dir=out)'''),
        code('''with ctx.section("segment_change"):
    sc = ctx.result("segment_change")
    show_text(tr("segments.h"))
    show_table(tr.table(tables.change_table(sc["change"], "segment", "Segment"), keep=("Segment",)),
               name="nps_by_segment_change", annex=True, caption=tr("cap.segment_change"), out_dir=out, data=sc["change"])
    fig = plots.kpi_trend_chart(sc["trend"], tr.term("NPS"), by="segment",
                                significant=set(sc["change"].loc[sc["change"]["significant"], "segment"]),
                                confidence=th.confidence, min_base=th.min_base)
    show_figure(fig, name="nps_trend_segment", annex=True, caption=tr("cap.segment_trend"), alt=tr("alt.segment_trend"),
                data=sc["trend"], out_dir=out)'''),
        code('''with ctx.section("group_change"):
    gc = ctx.result("group_change")
    moved = {by: ch for by, ch in gc["by"].items() if ch["significant_holm"].any()}
    metric = {"nps": "NPS", "csat_mean": "CSAT", "ces": "CES"}[gc["metric"]]
    unit = "points" if gc["metric"] == "nps" else "score"
    for by, ch in moved.items():
        show_table(tr.table(tables.change_table(ch, by, tables.label(by), metric, unit, adjusted=True, alpha=th.alpha),
                            keep=(tables.label(by),)),
                   name=f"change_by_{tables.slug(by)}", out_dir=out, data=ch,
                   caption=tr("cap.group_change", metric=tr.term(metric), attr=tr.term(tables.label(by)).lower(),
                              period=ctx.period.label, previous=ctx.previous_label))
    if not moved:
        show_text(tr("group_change.none", previous=ctx.previous_label, period=ctx.period.label))'''),
        code('''with ctx.section("breakdowns"):
    bd = ctx.result("breakdowns")
    show_text(tr("breakdowns.h"))
    for by, b in bd.items():
        if by == "segment" and ctx.runs("segment_change"):
            continue  # shown with its change and trend above
        main = b[b["metric"] == b["metric"].iloc[0]]
        fig = plots.breakdown_chart(main, by, tr.term(tables.metric_axis(main["metric"].iloc[0])), min_base=th.min_base)
        show_figure(fig, name=f"chart_by_{tables.slug(by)}", out_dir=out, data=main,
                    caption=tr("cap.breakdown_chart", metric=tr.term(tables.metric_axis(main["metric"].iloc[0])),
                               by=tr.term(tables.label(by)).lower(), period=ctx.period.label),
                    alt=tr("alt.breakdown_chart", by=tr.term(tables.label(by)).lower()))
    for by, b in bd.items():
        show_table(tr.table(tables.scores_table(b, by), keep=(tables.label(by),)), name=f"scores_by_{tables.slug(by)}", annex=True,
                   out_dir=out, data=b, caption=tr("cap.breakdown", by=tr.term(tables.label(by)).lower(),
                                                   period=ctx.period.label))'''),
    ]),
    "03_journey.ipynb": (1, [
        "The journey and touchpoint gaps",
        code('if ctx.shows("journey"):\n    show_text(tr("annex.journey.h"), annex=True)'),
        heading("journey", "journey.intro"),
        code('''if ctx.shows("journey") and ctx.params.goal:
    from cxlib.journey.goal import focus_touchpoints

    from cxlib.report.analyses import mapping_goal

    goal = mapping_goal(ctx)
    if goal.is_focus:
        labels_ = ctx.params.touchpoint_labels()
        show_note(tr("jq.goal.focus", statement=md_escape(goal.statement or "")) + " "
                  + tr("jq.goal.focus_touchpoints", touchpoints=", ".join(
                      md_escape(tr.term(labels_.get(t, t))) for t in focus_touchpoints(goal, ctx.params))))'''),
        code('''with ctx.section("funnel"):
    f = ctx.result("funnel")
    show_text(tr("funnel.h"))
    fig = plots.funnel_chart(f["funnel"].rename(columns={f["by"]: "device"}))
    show_figure(fig, name="funnel", caption=tr("cap.funnel", period=ctx.period.label), alt=tr("alt.funnel"),
                data=f["funnel"], out_dir=out)
    if f["unseen"]:
        show_note(tr("funnel.unseen", steps=", ".join(md_escape(s) for s in f["unseen"])), "warning")'''),
        code('''with ctx.section("abandonment"):
    ab = ctx.result("abandonment")
    show_table(tr.table(tables.abandonment_table(ab["table"], ab["by"])), name="abandonment",
               caption=tr("cap.abandonment", start=md_escape(ab["steps"][0]), end=md_escape(ab["steps"][1])),
               out_dir=out, data=ab["table"])'''),
        code('''with ctx.section("funnel_by_source"):
    fs = ctx.result("funnel_by_source")
    show_table(tr.table(tables.funnel_table(fs, "source")), name="funnel_source", annex=True, out_dir=out, data=fs,
               caption=tr("cap.funnel_source", period=ctx.period.label))'''),
        code('''with ctx.section("touchpoints"):
    tp = ctx.result("touchpoints")
    if tp["ipa"] is not None:
        show_table(tr.table(tables.touchpoint_table(tp["ipa"]), keep=("Touchpoint", "Owner")), name="touchpoints", annex=True,
                   out_dir=out, data=tp["ipa"], caption=tr("cap.touchpoints", period=ctx.period.label))
        show_figure(plots.ipa_chart(tp["ipa"]), name="ipa", caption=tr("cap.ipa"), alt=tr("alt.ipa"), data=tp["ipa"],
                    out_dir=out)
    else:
        show_table(tr.table(tables.performance_table(tp["perf"]), keep=("Touchpoint",)), name="touchpoints", annex=True,
                   out_dir=out, data=tp["perf"], caption=tr("cap.touchpoints_csat", period=ctx.period.label))
    if tp["unmapped"]:
        show_text(tr("journey.unmapped", items=", ".join(md_escape(u) for u in tp["unmapped"])))'''),
        code('''with ctx.section("journey_map"):
    jm = ctx.result("journey_map")
    show_text(tr("map.h"))
    from cxlib.report import journey_figure

    fig = journey_figure.journey_map(jm["ipa"], jm["ops"], jm["pains"], jm["emotion"], ctx.params)
    show_figure(fig, name="journey_map", caption=tr("cap.journey_map", period=ctx.period.label),
                alt=tr("alt.journey_map"), data=jm["ipa"], out_dir=out)'''),
        code('''from cxlib.report import method

labels = ctx.params.touchpoint_labels()
with ctx.section("journey_questions"):
    qa = ctx.result("journey_questions")
    show_text(tr("jq.heading.md") + "\\n\\n" + tr("jq.intro", conf=th.confidence))
    qt = method.questions_table(qa, tr, labels)
    show_table(qt.iloc[:, :3], name="journey_questions", out_dir=out, data=qa["answers"],
               caption=tr("cap.journey_questions", period=ctx.period.label))  # the evidence goes to the annex
    show_table(qt, name="journey_questions_evidence", annex=True, out_dir=out, data=qa["evidence"],
               caption=tr("cap.journey_questions", period=ctx.period.label))'''),
        code('''with ctx.section("map_validation"):
    v = ctx.result("map_validation")
    show_text(method.validation_intro(v, tr))
    t = method.validation_table(v, tr, labels)
    if len(t):
        show_table(tr.table(t), name="map_validation", annex=True, out_dir=out, data=v.coverage,
                   caption=tr("cap.map_validation"))
    else:
        show_text(tr("jq.validation.none"))'''),
        code('''with ctx.section("abandonment_paths"):
    ap = ctx.result("abandonment_paths")
    start, end = cx.data.engine.abandonment_steps(ctx.params)
    show_text(method.abandon_intro(ap["paths"], tr, start, end, ctx.params.journey_paths.get("steps", 2)))
    show_text(tr("jq.paths.rules_intro"))
    if ap["rules"].status == "answered" and len(ap["rules"].table):
        show_table(tr.table(method.rules_table(ap["rules"], tr)), name="abandonment_rules", out_dir=out,
                   data=ap["rules"].table, caption=tr("cap.abandonment_rules", period=ctx.period.label))
    if ap["paths"].status == "answered" and len(ap["paths"].table):
        show_table(tr.table(method.paths_table(ap["paths"], tr)), name="abandonment_paths", annex=True, out_dir=out,
                   data=ap["paths"].table, caption=tr("cap.abandonment_paths", period=ctx.period.label))'''),
        code('''with ctx.section("map_changes"):
    mc = ctx.result("map_changes")
    show_text(method.history_intro(mc, tr, th.alpha, ctx.previous_label))
    show_text(method.changes_markdown(mc, tr, labels, ctx.previous_label, th.min_base))'''),
        code('''with ctx.section("operations"):
    ops = ctx.result("operations")
    show_text(tr("ops.h"), annex=True)
    show_table(tr.table(tables.operations_table(ops, ctx.result("touchpoints")["perf"]), keep=("Touchpoint",)),
               name="touchpoint_operations", annex=True, out_dir=out, data=ops, caption=tr("cap.ops", period=ctx.period.label))
    if ops.attrs.get("unmapped_interactions"):
        show_text(tr("ops.unmapped", items=", ".join(f"{md_escape(k)} ({v:,})"
                                                     for k, v in ops.attrs["unmapped_interactions"].items())), annex=True)'''),
        code('''with ctx.section("touchpoint_change"):
    tc = ctx.result("touchpoint_change")
    show_text(tr("tp_time.h"), annex=True)
    show_table(tr.table(tables.change_table(tc, "touchpoint", "Touchpoint", "CSAT", "score",
                                            ctx.params.touchpoint_labels(), adjusted=True, alpha=th.alpha),
                        keep=("Touchpoint",)),
               name="touchpoint_csat_change", annex=True, caption=tr("cap.tp_change"), out_dir=out, data=tc,
               note=tr("note.tp_change", n=len(tc)))'''),
        code('''with ctx.section("touchpoint_trends"):
    tt = ctx.result("touchpoint_trends")
    sig = set()
    if ctx.maybe("touchpoint_change") is not None:
        tc = ctx.result("touchpoint_change")
        sig = set(tc.loc[tc["p_holm"] < th.alpha, "touchpoint"])
    fig = plots.trend_grid(tt, "touchpoint", value_label=tr.term("Mean CSAT (1-5)"), min_base=th.min_base,
                           significant=sig, facet_labels=ctx.params.touchpoint_labels())
    show_figure(fig, name="touchpoint_trends", annex=True, caption=tr("cap.tp_trends"), alt=tr("alt.tp_trends"), data=tt,
                out_dir=out)'''),
        code('''with ctx.section("key_drivers"):
    kd = ctx.result("key_drivers")
    show_text(tr("drivers.h"), annex=True)
    show_table(tr.table(tables.drivers_table(kd["drivers"].table, ctx.params.touchpoint_labels()), keep=("Touchpoint",)),
               name="key_drivers", annex=True, out_dir=out, data=kd["drivers"].table,
               caption=tr("cap.drivers", n=kd["drivers"].n, r2=kd["drivers"].r_squared), note=tr("note.drivers"))'''),
        code('''with ctx.section("fix_first"):
    ff = ctx.result("fix_first")
    show_text(tr("fix.h"))
    show_table(tr.table(tables.fix_first_table(ff), keep=("Touchpoint", "Owner")), name="fix_first",
               caption=tr("cap.fix_first"), out_dir=out, data=ff, note=tr("note.fix_first"))'''),
    ]),
    "04_voice.ipynb": (1, [
        "Voice of the customer",
        code('if ctx.shows("voice"):\n    show_text(tr("annex.voice.h"), annex=True)'),
        heading("voice", "voice.intro"),
        code('''with ctx.section("coding"):
    c = ctx.result("coding")
    if c.generic:
        show_note(tr("coding.generic"), "info")'''),
        code('''with ctx.section("themes"):
    th_ = ctx.result("themes")
    show_table(tr.table(tables.frequency_table(th_["by_source"], "source")), name="theme_frequency_by_source", annex=True,
               out_dir=out, data=th_["by_source"], caption=tr("cap.theme_source", period=ctx.period.label))
    if "by_segment" in th_:
        show_table(tr.table(tables.frequency_table(th_["by_segment"], "segment")), name="theme_frequency_by_segment", annex=True,
                   out_dir=out, data=th_["by_segment"], caption=tr("cap.theme_segment", period=ctx.period.label))'''),
        code('''with ctx.section("detractor_themes"):
    dt = ctx.result("detractor_themes")
    show_text(tr("detractors.h"))
    show_table(tr.table(tables.themes_table(dt["themes"], flags=dt["flags"] or None)), name="detractor_themes", annex=True,
               caption=tr("cap.detractor_themes"), out_dir=out, data=dt["themes"])
    fig = plots.theme_chart(dt["themes"].sort_values("rank").head(8))
    show_figure(fig, name="detractor_themes", caption=tr("cap.detractor_chart"), alt=tr("alt.detractor_chart"),
                data=dt["themes"], out_dir=out)
    show_table(tr.table(tables.nps_mention_table(dt["mention"], min_n=th.min_base)), name="nps_by_mention", annex=True, out_dir=out,
               data=dt["mention"], caption=tr("cap.nps_mention", min_base=th.min_base))'''),
        code('''with ctx.section("cooccurrence"):
    pairs = ctx.result("cooccurrence")
    show_table(tr.table(tables.cooccurrence_table(pairs)), name="theme_cooccurrence", annex=True, out_dir=out, data=pairs,
               caption=tr("cap.cooccurrence"))'''),
        code('''with ctx.section("theme_trends"):
    tt = ctx.result("theme_trends")
    show_text(tr("themes_time.h"), annex=True)
    fig = plots.trend_grid(tt.assign(value=tt["share"] * 100, ci_low=tt["ci_low"] * 100, ci_high=tt["ci_high"] * 100),
                           "theme", value_label=tr.term("Texts mentioning the theme (%)"), min_base=th.min_base)
    show_figure(fig, name="theme_trends", caption=tr("cap.theme_trends"), alt=tr("alt.theme_trends"), data=tt,
                out_dir=out, annex=True)'''),
        code('''with ctx.section("conversations"):
    conv = ctx.result("conversations")
    show_text(tr("calls.h"), annex=True)
    show_table(tr.table(tables.conversation_table(conv, conv.attrs["n_conversations"])), name="conversation_themes", annex=True,
               out_dir=out, data=tables.without_ids(conv), caption=tr("cap.conversations", period=ctx.period.label))'''),
        code('''with ctx.section("quotes"):
    q = ctx.result("quotes")
    show_text(tr("quotes.h"))
    show_text(tables.quotes_markdown(q["codes"], q["quotes"].get, q["book"], none_text=tr("quotes.none"), tr=tr))'''),
        code('''with ctx.section("mention_share"):
    share = ctx.result("mention_share")
    show_text(tr("social.h"))
    show_table(tr.table(tables.share_table(share)), name="mention_share", annex=True, caption=tr("cap.share_table"), out_dir=out,
               data=share)
    fig = plots.mention_share_chart(share, min_base=th.min_base)
    show_figure(fig, name="mention_share", caption=tr("cap.share_chart"), alt=tr("alt.share_chart"), data=share,
                out_dir=out)'''),
        code('''with ctx.section("mention_sentiment"):
    tone = ctx.result("mention_sentiment")
    fig = plots.kpi_trend_chart(tone.rename(columns={"mean": "value"}), tr.term("Mean sentiment (-1 to 1)"), by="brand",
                                min_base=th.min_base, confidence=th.confidence)
    show_figure(fig, name="mention_sentiment", annex=True, caption=tr("cap.social_tone"), alt=tr("alt.social_tone"), data=tone,
                out_dir=out)'''),
    ]),
    "05_churn.ipynb": (1, [
        "Churn, at-risk customers and next best actions",
        code('if ctx.shows("churn"):\n    show_text(tr("annex.churn.h"), annex=True)'),
        heading("churn", "churn.intro"),
        code('''with ctx.section("churn_by_period"):
    churn = ctx.result("churn_by_period")
    show_table(tr.table(tables.churn_period_table(churn)), name="churn_by_quarter", annex=True, caption=tr("cap.churn_quarter"),
               out_dir=out, data=churn)
    fig = plots.churn_trend_chart(churn, min_base=th.min_base)
    show_figure(fig, name="churn_trend", caption=tr("cap.churn_trend"), alt=tr("alt.churn_trend"), data=churn,
                out_dir=out)'''),
        code('''with ctx.section("retention"):
    curves = ctx.result("retention")
    first = ctx.result("churn_by_period")["period"].min()
    fig = plots.retention_chart(curves[(curves["cohort"] >= first) & (curves["at_risk"] >= th.min_base)])
    show_figure(fig, name="retention", annex=True, caption=tr("cap.retention", min_base=th.min_base), alt=tr("alt.retention"),
                data=curves, out_dir=out)'''),
        code('''with ctx.section("churn_signals"):
    lift = ctx.result("churn_signals")
    names = {k: tr.term(v.capitalize()) for k, v in tables.CHURN_SIGNALS.items()}
    show_table(tr.table(tables.churn_table(lift, names)), name="churn_by_signal", caption=tr("cap.churn_signal"),
               note=tables.churn_note(lift, names, tr), out_dir=out, data=lift)'''),
        code('''with ctx.section("churn_by_attribute"):
    by = ctx.result("churn_by_attribute")
    top = tables.churn_extremes(by, th.alpha)
    if len(top):
        show_table(tr.table(tables.churn_rate_table(top), keep=("Group",)), name="churn_by_attribute_top", out_dir=out,
                   data=top, caption=tr("cap.churn_attribute_top"))
    show_table(tr.table(tables.churn_rate_table(by), keep=("Group",)), name="churn_by_attribute", annex=True,
               out_dir=out, data=by, caption=tr("cap.churn_attribute"))'''),
        code('''with ctx.section("churn_paths"):
    from cxlib.report import method

    cp = ctx.result("churn_paths")
    show_text(method.churn_intro(cp["paths"], tr, ctx.params.journey_paths.get("steps", 2),
                                 ctx.period.label, th.min_base))
    show_text(tr("jq.paths.rules_intro"))
    if cp["rules"].status == "answered" and len(cp["rules"].table):
        show_table(tr.table(method.rules_table(cp["rules"], tr)), name="churn_rules", out_dir=out,
                   data=cp["rules"].table, caption=tr("cap.churn_rules"))
    if cp["paths"].status == "answered" and len(cp["paths"].table):
        show_table(tr.table(method.paths_table(cp["paths"], tr)), name="churn_paths", annex=True, out_dir=out,
                   data=cp["paths"].table, caption=tr("cap.churn_paths"))'''),
        code('''with ctx.section("churn_model"):
    cm = ctx.result("churn_model")
    show_text(tr("churn_model.h"))
    show_table(tr.table(tables.churn_drivers_table(cm)), name="churn_model", annex=True, out_dir=out,
               data=tables.churn_drivers(cm),
               caption=tr("cap.churn_model_" + cm["mode"], n=cm["model"].n, events=cm["model"].events))
    show_text(tables.churn_model_notes(cm["model"], tr))
    show_table(tr.table(tables.model_checks_table(cm["model"].summary())), name="churn_model_checks", annex=True, out_dir=out,
               data=cm["model"].summary(), caption=tr("cap.churn_checks"))'''),
        code('''with ctx.section("at_risk"):
    ar = ctx.result("at_risk")
    stake = ar["stakeholder"]
    show_text(tr("at_risk.h"))
    show_table(tr.table(tables.at_risk_summary(stake, ctx.params, tr), keep=("Next best action", "Owner")),
               name="at_risk_by_driver", out_dir=out, data=tables.at_risk_summary(stake, ctx.params),
               caption=tr("cap.at_risk", n=len(stake)),
               note=tr("note.at_risk", review=stake.attrs.get("review_manually", 0)))
    if ar["unknown_actions"]:
        show_note(tr("at_risk.unknown_actions", keys=", ".join(md_escape(k) for k in ar["unknown_actions"])), "warning")
    if out is not None:  # the identifiable list goes to the analyst folder only
        (out / "analyst").mkdir(exist_ok=True)
        ar["full"].to_csv(out / "analyst" / "at_risk_full.csv", index=False)'''),
    ]),
    "06_summary_swot.ipynb": (2, [
        "Executive summary, SWOT and recommendations",
        code('''from cxlib.report import blocks

with ctx.section("summary"):
    found = ctx.result("summary")
    kpis, recs = ctx.maybe("kpis"), ctx.maybe("recommendations")
    tiles = blocks.kpi_tiles(blocks.tiles_from_kpis(kpis, tr=tr, previous=ctx.previous_label,
                                                    confidence=th.confidence), tr=tr) if kpis is not None else ""
    show_text(blocks.first_screen(
        tiles,
        blocks.top_findings([blocks.Finding(blocks.Md(tr.say(f.message)), section=tables.section_anchor(f.section))
                             for f in found], tr=tr, limit=len(found)),
        blocks.top_actions(tables.top_actions(recs, tr) if recs is not None else [], tr=tr),
        title=tr("summary.title"), tr=tr))'''),
        code('''with ctx.section("swot"):
    sw = ctx.result("swot")
    show_text(tr("swot.h"))
    show_text(blocks.swot_grid(*tables.swot_quadrants(sw["items"], tr), tr=tr, limit=3))  # all in the annex
    if sw["items"].attrs.get("unknown_edits"):
        show_note(tr("swot.unknown_edits", ids=", ".join(md_escape(i) for i in sw["items"].attrs["unknown_edits"])),
                  "warning")'''),
        code('''with ctx.section("recommendations"):
    recs = ctx.result("recommendations")
    show_text(tr("rec.h"))
    if len(recs):
        show_table(tr.table(tables.recommendations_table(recs, tr).drop(columns=["Evidence", "Kind"]).head(5),
                            keep=("Action", "Owner", "Impact")),
                   name="recommendations", out_dir=out, data=tables.plain(recs, tr),
                   caption=tr("cap.recommendations") if len(recs) <= 5 else tr("cap.recommendations.top", total=len(recs)))
        show_table(tr.table(tables.recommendations_table(recs, tr), keep=("Action", "Owner", "Impact", "Evidence")),
                   name="recommendations_evidence", annex=True, caption=tr("cap.recommendations"), out_dir=out)
    else:
        show_text(tr("rec.none"))
show_text(tr("annex.pointer"))'''),
        code('''with ctx.section("swot"):
    sw = ctx.result("swot")
    show_text(tr("swot.table.h"), annex=True)
    show_table(tr.table(tables.swot_table(sw["items"], tr), keep=("Item", "Evidence")), name="swot", annex=True,
               caption=tr("cap.swot"), out_dir=out, data=tables.plain(sw["items"], tr))'''),
    ]),
    "07_appendix.ipynb": (1, [
        "Appendix: method, codebook, coding reliability, assisted coding, sentiment",
        code('show_text(tr("appendix.h"))\nshow_text(tr("method"))'),
        code('''with ctx.section("coding"):
    c = ctx.result("coding")
    show_text(tr("codebook.h"))
    show_table(tr.table(tables.codebook_table(c.book.table), keep=("Description",)), name="codebook", annex=True,
               caption=tr("cap.codebook"), out_dir=out, data=c.book.table)'''),
        code('''with ctx.section("map_changes"):
    from cxlib.report import method

    h = method.history_table(ctx.result("map_changes")["history"], ctx.params.touchpoint_labels())
    if h is not None:
        show_text(tr("jq.history.annex"))
        show_table(tr.table(h, keep=("Touchpoint",)), name="map_history", annex=True, out_dir=out, data=h,
                   caption=tr("cap.map_history"))'''),
        code('''with ctx.section("reliability"):
    rel = ctx.result("reliability")
    show_text(tr("reliability.h"))
    show_text(md_escape(rel.method_text()) if not tr.rtl else tr("reliability.method"))
    show_table(tr.table(tables.reliability_table(rel.per_code)), name="coding_reliability", annex=True, out_dir=out,
               data=rel.per_code, caption=tr("cap.reliability"))'''),
        code('''with ctx.section("assisted_coding"):
    ac = ctx.result("assisted_coding")
    show_text(tr("assist.h"))
    show_table(tr.table(tables.assist_table(ac.cv)), name="assisted_coding_cv", annex=True, out_dir=out, data=ac.cv,
               caption=tr("cap.assist", n=ac.n_training))
    if out is not None:
        from cxlib.voice import coding_sheet

        coding_sheet.export_sheet(ac.next_to_code, ctx.result("coding").book.table,
                                  out / "analyst" / "coding" / "code_next.xlsx")
        ac.suggestions.to_csv(out / "analyst" / "coding" / "suggestions.csv", index=False)
    show_text(tr("assist.files", n=len(ac.next_to_code), k=len(ac.suggestions)))'''),
        code('''with ctx.section("sentiment"):
    sent = ctx.result("sentiment")
    show_text(tr("sentiment.h"))
    show_text(tr("sentiment.method." + sent.method))
    if len(sent.validation):
        show_table(tr.table(tables.sentiment_validation_table(sent.validation)), name="sentiment_validation", annex=True,
                   out_dir=out, data=sent.validation, caption=tr("cap.sentiment"))'''),
    ]),
}


def main() -> None:
    NB_DIR.mkdir(exist_ok=True)
    for name, (phase, cells) in NOTEBOOKS.items():
        nbf.write(notebook(cells, phase, annex=name.startswith("07_")), NB_DIR / name)
        print("wrote", NB_DIR / name)


if __name__ == "__main__":
    main()

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
from cxlib import (assist, coding, coding_sheet, crosstab, drivers, engine, journey, journey_map, metrics, operations, plots,
                   reliability, retention, sentiment, tables, weighting)
from cxlib.display import md_escape, show_figure, show_table, show_text

ctx = cx.open_run(params_file, period, output_dir, db_path)
th = ctx.params.thresholds
out = ctx.output_dir
plots.set_theme(ctx.params.branding);'''


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


def notebook(cells):
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "cxlib", "display_name": "Python (cxlib)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [cells[0], code(PARAMS, ["parameters"]), code(SETUP), *cells[1:]]
    return nb


NOTEBOOKS = {
    "01_data_quality.ipynb": [
        md("""# Data and method {#sec-data}

Every input was validated against its data contract before any number in this report was
computed; a file that breaks its contract stops the run with the file, column and rows named.
The table lists each source, its size and time span, and records that could not be linked to
a known customer (kept, and counted here, never silently dropped)."""),
        code('''quality = engine.data_quality(ctx.store)
show_table(tables.quality_table(quality), name="data_sources", caption="Sources validated for this report", out_dir=out)'''),
        code('''resp = engine.responses(ctx.store)
cur = resp[resp["period"] == ctx.period.label]
show_text(
    f"This report covers **{ctx.period.label}** ({ctx.period.span}) and compares it with "
    f"**{ctx.previous.label}**. It rests on {len(cur):,} survey responses this period "
    f"({(cur['survey_type'] == 'relationship').sum():,} relationship, "
    f"{(cur['survey_type'] == 'transactional').sum():,} transactional). Intervals are "
    f"{th.confidence:.0%} confidence intervals; a difference is called significant at "
    f"p < {th.alpha}; groups with fewer than {th.min_base} responses are flagged as small bases "
    "and never ranked as findings."
)'''),
        md("""# Who the customers are {#sec-customers}

Segments as defined in the CRM, profiled from the single customer view (one row per customer
joining CRM, orders, web activity, support contacts and the latest survey score)."""),
        code('''view = engine.customer_view(ctx.store)
profile = engine.segment_profile(view)
show_table(tables.segment_profile_table(profile), name="segment_profile",
           caption="Segments: size, value, churn and latest NPS", out_dir=out)
fig = plots.breakdown_chart(profile.rename(columns={"nps": "value", "nps_ci_low": "ci_low",
                            "nps_ci_high": "ci_high", "nps_n": "n"}), "segment", "NPS (latest response)",
                            min_base=th.min_base)
show_figure(fig, name="segment_nps", caption="Latest relationship NPS by segment, with 95% intervals",
            alt="Horizontal bar chart of NPS by customer segment", data=profile, out_dir=out)'''),
    ],
    "02_metrics.ipynb": [
        md("""# Quantitative CX {#sec-metrics}

Scores first: the Net Promoter Score (share of promoters scoring 9-10 minus detractors
scoring 0-6, relationship survey), CSAT (share satisfied, 4-5 on a 1-5 scale, transactional
surveys) and the Customer Effort Score (mean on 1-7, higher = easier). Each comes with its
base and interval, and each change from last period with its test."""),
        code('''resp = engine.responses(ctx.store)
cur = resp[resp["period"] == ctx.period.label]
kw = dict(confidence=th.confidence, min_base=th.min_base)
kpis = metrics.kpi_tiles(resp, ctx.period.label, ctx.previous.label, alpha=th.alpha, **kw)
show_table(tables.kpi_table(kpis), name="kpi_tiles", caption=f"Headline KPIs, {ctx.period.label} vs {ctx.previous.label}",
           out_dir=out)'''),
        md("""## Weighted to the customer base

Survey respondents are not a random sample of customers. Weighting each survey's
respondents to the CRM population (raking on the params' variables) shows whether that
changes the picture; weighted intervals use the Kish effective sample size."""),
        code('''weights = None
if ctx.params.weighting:
    spec = ctx.params.weighting
    weights = weighting.survey_weights(cur, engine.population_counts(ctx.store, spec.variables), spec)
    wk = weighting.weighted_kpis(cur, weights, confidence=th.confidence, min_base=th.min_base)
    show_table(tables.weighted_kpi_table(wk), name="weighted_kpis", out_dir=out, data=wk,
               caption=f"Headline KPIs weighted by {', '.join(spec.variables)} ({spec.method}), {ctx.period.label}")
else:
    show_text("Survey responses are not weighted: the params file has no `weighting` block.")'''),
        md("## Crosstabs\n\nEach question by a banner of groups, with column percentages and significance letters."),
        code('''for spec in ctx.params.crosstabs:
    ct = crosstab.crosstab(cur[cur[spec.row].notna()], spec.row, spec.banner, alpha=th.alpha, min_base=th.min_base,
                           weights=None if weights is None else weights[cur[spec.row].notna()])
    show_table(crosstab.format_crosstab(ct, tables.label(spec.row)), name=f"crosstab_{spec.row}_by_{spec.banner}",
               note=ct.note, caption=f"{tables.label(spec.row)} by {tables.label(spec.banner).lower()}, {ctx.period.label}",
               out_dir=out, data=ct.cells)'''),
        md("## Trend"),
        code('''trend = pd.concat([metrics.trend(resp, m, **kw).assign(kpi=label) for m, label in
                   [("nps", "NPS (points)"), ("csat", "CSAT top-2-box (%)"), ("ces", "CES mean (1-7)")]])
fig = plots.trend_grid(trend, "kpi", sharey=False, significant=set(kpis.loc[kpis["significant"], "metric"].map(
    {"nps": "NPS (points)", "csat": "CSAT top-2-box (%)", "ces": "CES mean (1-7)"})), **kw)
show_figure(fig, name="kpi_trends", caption="Headline KPIs by quarter with 95% interval bands (a ring marks a significant change)",
            alt="Three small line charts of quarterly NPS, CSAT and CES with confidence bands", data=trend, out_dir=out)'''),
        md("## By segment\n\nWhich segments moved since last period, and is the move larger than chance?"),
        code('''seg = metrics.breakdown_change(resp, "segment", ctx.period.label, ctx.previous.label, alpha=th.alpha, **kw)
show_table(tables.change_table(seg, "segment", "Segment"), name="nps_by_segment_change",
           caption="NPS by segment: this period vs last", out_dir=out)
seg_trend = metrics.trend(resp, "nps", by="segment", **kw)
fig = plots.kpi_trend_chart(seg_trend, "NPS", by="segment", significant=set(seg.loc[seg["significant"], "segment"]), **kw)
show_figure(fig, name="nps_trend_segment", caption="NPS by segment and quarter with 95% interval bands (a ring marks a significant change)",
            alt="Line chart of quarterly NPS per segment", data=seg_trend, out_dir=out)'''),
        code('''for by in [b for b in ctx.params.breakdowns if b != "segment" and b in cur.columns]:
    b = metrics.breakdown(cur, by, "nps", **kw)
    show_table(tables.breakdown_table(b, by), name=f"nps_by_{by}", caption=f"NPS by {by.replace('_', ' ')}, {ctx.period.label}",
               out_dir=out)'''),
        md("## Web funnel and checkout abandonment"),
        code('''funnel = engine.funnel(ctx.store, ctx.params, ctx.period, by="device")
fig = plots.funnel_chart(funnel)
show_figure(fig, name="funnel_device", caption=f"Share of sessions reaching each funnel step by device, {ctx.period.label}",
            alt="Grouped bar chart of funnel conversion by device", data=funnel, out_dir=out)
steps = [s.event for s in ctx.params.funnel if s.touchpoint == "checkout"]
aband = engine.abandonment(funnel, steps[0], ctx.params.funnel[-1].event, confidence=th.confidence)
show_table(tables.abandonment_table(aband), name="checkout_abandonment",
           caption="Checkout abandonment by device (sessions reaching checkout without purchase)", out_dir=out)'''),
        md("""# Churn and at-risk customers {#sec-churn}

Churn per quarter among customers active at its start, retention by signup cohort (a
life-table estimate: customers not yet observed for k months are censored, not counted as
retained), and churn among customers with and without each warning signal."""),
        code('''quarters = sorted(resp["period"].unique())
churn = retention.churn_by_period(ctx.store, quarters, confidence=th.confidence, min_base=th.min_base)
show_table(tables.churn_period_table(churn), name="churn_by_quarter", caption="Churn rate by quarter",
           out_dir=out, data=churn)
fig = plots.churn_trend_chart(churn, min_base=th.min_base)
show_figure(fig, name="churn_trend", caption="Quarterly churn rate with 95% interval band",
            alt="Line chart of quarterly churn rate", data=churn, out_dir=out)'''),
        code('''curves = retention.retention_curves(ctx.store, ctx.period.end, max_months=18, confidence=th.confidence)
recent = curves[curves["cohort"] >= quarters[0]]
fig = plots.retention_chart(recent)
show_figure(fig, name="retention", caption="Share of each signup cohort still a customer, by months since signup",
            alt="Retention curves by signup quarter with confidence bands", data=curves, out_dir=out)'''),
        code('''from cxlib.swot import CHURN_SIGNALS

lift = retention.churn_lift(engine.customer_view(ctx.store), list(CHURN_SIGNALS), confidence=th.confidence)
names = {k: v.capitalize() for k, v in CHURN_SIGNALS.items()}
show_table(tables.churn_table(lift, names), name="churn_by_signal", note=tables.churn_note(lift, names),
           caption="Churn with and without each warning signal (risk ratio, Katz interval; two-proportion z-test)",
           out_dir=out, data=lift)'''),
    ],
    "03_voice.ipynb": [
        md("""# Voice of the customer {#sec-voice}

What customers say explains the scores. Every survey comment, call and chat turn, review and
social mention is coded against the codebook (English and Arabic patterns, applied to
normalised text); quotes are shown with personal data removed."""),
        code('''verb = engine.verbatims(ctx.store)
resp = engine.responses(ctx.store, [ctx.period.label])
book = coding.compile_codebook(ctx.store.df("codebook"), source=str(ctx.params.table_path("codebook")))
cur_verb = verb[verb["period"] == ctx.period.label]
coded = coding.auto_code(cur_verb, book)
freq = coding.theme_frequency(coded, cur_verb, by="source", level="theme")
show_table(tables.frequency_table(freq, "source"), name="theme_frequency_by_source",
           caption=f"Share of texts mentioning each theme, by source, {ctx.period.label}", out_dir=out)'''),
        code('''seg_freq = coding.theme_frequency(coded, cur_verb, by="segment", level="theme")
show_table(tables.frequency_table(seg_freq, "segment"), name="theme_frequency_by_segment",
           caption=f"Share of texts mentioning each theme, by segment, {ctx.period.label}", out_dir=out, data=seg_freq)'''),
        md("## What sets detractors apart"),
        code('''themes = coding.detractor_themes(coded, cur_verb, resp, alpha=th.alpha)
rel = reliability.for_run(ctx.store, ctx.params, book)
show_table(tables.themes_table(themes, flags=rel.flags() if rel else None), name="detractor_themes",
           caption="Codes by over-representation among detractors (Fisher exact test, Holm-adjusted flag)", out_dir=out)
fig = plots.theme_chart(themes.sort_values("rank").head(8))
show_figure(fig, name="detractor_themes", caption="Share of detractor and promoter comments mentioning each code",
            alt="Grouped bar chart of code shares among detractors and promoters", data=themes, out_dir=out)'''),
        code('''mention = coding.nps_by_mention(coded, cur_verb, resp)
show_table(tables.nps_mention_table(mention, min_n=th.min_base), name="nps_by_mention", out_dir=out, data=mention,
           caption="NPS of respondents who mention each code vs those who do not (codes mentioned by at least "
                   f"{th.min_base} respondents)")
pairs = coding.cooccurrence(coded, level="theme")
show_table(tables.cooccurrence_table(pairs), name="theme_cooccurrence", out_dir=out, data=pairs,
           caption="Themes raised together (Jaccard index; lift = observed / expected if independent)")'''),
        md("## Themes over time"),
        code('''coded_all = coding.auto_code(verb, book)
by_period = coding.theme_by_period(coded_all, verb, level="theme", confidence=th.confidence, min_base=th.min_base)
fig = plots.trend_grid(by_period.assign(value=by_period["share"] * 100, ci_low=by_period["ci_low"] * 100,
                                        ci_high=by_period["ci_high"] * 100), "theme",
                       value_label="Texts mentioning the theme (%)", min_base=th.min_base)
show_figure(fig, name="theme_trends", caption="Share of texts mentioning each theme by quarter, with 95% intervals",
            alt="Small line charts of each theme's share of texts per quarter", data=by_period, out_dir=out)'''),
        md("## Calls and chats"),
        code('''conv = coding.conversation_themes(coded, cur_verb)
show_table(tables.conversation_table(conv, conv.attrs["n_conversations"]), name="conversation_themes", out_dir=out,
           data=conv, caption=f"Share of call and chat conversations in which the customer raises each theme, "
                              f"{ctx.period.label} (customer turns only)")'''),
        md("## In their words"),
        code('''top_codes = themes.sort_values("rank")["code"].head(3).tolist()
show_text(tables.quotes_markdown(top_codes, lambda c: coding.representative_quotes(cur_verb, coded, c, n=2), book))'''),
        md("## Share of voice in social media"),
        code('''share = coding.mention_share(verb, [ctx.params.brand, *ctx.params.competitors], confidence=th.confidence)
show_table(tables.share_table(share), name="mention_share", caption="Share of social mentions by brand and quarter",
           out_dir=out)
fig = plots.mention_share_chart(share, min_base=th.min_base)
show_figure(fig, name="mention_share", caption="Share of social mentions by brand, with 95% intervals",
            alt="Line chart of each brand's share of social mentions per quarter", data=share, out_dir=out)'''),
        code('''social = verb[verb["source"] == "social"]
tone = coding.mention_sentiment(social, [ctx.params.brand, *ctx.params.competitors],
                                sentiment.score(social["text"], social["language"])["sentiment"],
                                confidence=th.confidence, min_n=th.min_base)
fig = plots.kpi_trend_chart(tone.rename(columns={"mean": "value"}), "Mean sentiment (-1 to 1)", by="brand",
                            min_base=th.min_base, confidence=th.confidence)
show_figure(fig, name="mention_sentiment", caption="Mean sentiment of social mentions by brand and quarter",
            alt="Line chart of the mean sentiment of each brand's social mentions", data=tone, out_dir=out)'''),
    ],
    "04_journey.ipynb": [
        md("""# The journey and touchpoint gaps {#sec-journey}

Each touchpoint's satisfaction (transactional CSAT, 1-5) against how important customers say
it is (stated importance, 1-5). The crosshairs are the mean importance and mean performance
across touchpoints with an adequate base; touchpoints above average in importance and below
average in performance are where to concentrate."""),
        code('''resp = engine.responses(ctx.store, [ctx.period.label])
perf, unmapped = journey.touchpoint_performance(resp, ctx.params)
ipa = journey.ipa(perf)
show_table(tables.touchpoint_table(ipa), name="touchpoints", caption=f"Touchpoints along the journey, {ctx.period.label}",
           out_dir=out)
if unmapped:
    show_text("**Touchpoints in the data but not in the journey** (reported, not analysed): "
              + ", ".join(md_escape(u) for u in unmapped) + ". Add them to the journey in the params file.")'''),
        code('''fig = plots.ipa_chart(ipa)
show_figure(fig, name="ipa", caption="Importance vs performance by touchpoint (crosshairs at the means)",
            alt="Scatter plot of touchpoints by importance and satisfaction, divided into four quadrants",
            data=ipa, out_dir=out)'''),
        md("""## The journey map

Stages run left to right and each touchpoint has its own lane; tiles are coloured by mean
CSAT and sized by the number of responses, with each touchpoint's top pain point and
operational facts beside it. The curve across the top is the customers' emotion per stage:
the mean sentiment of what they wrote about that stage's touchpoints."""),
        code('''ops = operations.touchpoint_operations(ctx.store, ctx.params, ctx.period)
verb = engine.verbatims(ctx.store, [ctx.period.label])
book = coding.compile_codebook(ctx.store.df("codebook"), source=str(ctx.params.table_path("codebook")))
pains = operations.pain_points(coding.auto_code(verb, book), verb, ctx.params)
customer = verb[verb["speaker"].fillna("customer") == "customer"] if "speaker" in verb else verb
emotion = journey_map.emotion_by_stage(customer, ctx.params, sentiment.score(customer["text"], customer["language"])["sentiment"])
fig = journey_map.journey_map(ipa, ops, pains, emotion, ctx.params)
show_figure(fig, name="journey_map", caption=f"Journey map, {ctx.period.label}: satisfaction, volume, pain points and emotion by stage",
            alt="Grid of journey stages by touchpoint lanes with coloured tiles and an emotion curve above", data=ipa, out_dir=out)'''),
        md("## Operations beside the scores"),
        code('''show_table(tables.operations_table(ops, perf), name="touchpoint_operations", out_dir=out, data=ops,
           caption=f"Operational metrics per touchpoint, {ctx.period.label} (– = not measured for that touchpoint)")
if ops.attrs.get("unmapped_interactions"):
    show_text("**Support contacts at touchpoints not in the journey** (reported, not analysed): "
              + ", ".join(f"{md_escape(k)} ({v:,})" for k, v in ops.attrs["unmapped_interactions"].items()) + ".")'''),
        md("## Touchpoint satisfaction over time"),
        code('''tp_resp = engine.responses(ctx.store, ctx.labels)
tp_change = metrics.breakdown_change(tp_resp, "touchpoint", ctx.period.label, ctx.previous.label, "csat_mean",
                                     alpha=th.alpha, confidence=th.confidence, min_base=th.min_base)
show_table(tables.change_table(tp_change, "touchpoint", "Touchpoint", "CSAT", "score", ctx.params.touchpoint_labels(),
                               adjusted=True, alpha=th.alpha),
           name="touchpoint_csat_change", caption="Mean CSAT (1-5) by touchpoint: this period vs last", out_dir=out,
           note=f"{len(tp_change)} touchpoints are compared at once, so significance uses Holm-adjusted p-values.")'''),
        code('''tp_trend = metrics.trend(engine.responses(ctx.store), "csat_mean", by="touchpoint", confidence=th.confidence,
                         min_base=th.min_base)
fig = plots.trend_grid(tp_trend, "touchpoint", value_label="Mean CSAT (1-5)", min_base=th.min_base,
                       significant=set(tp_change.loc[tp_change["p_holm"] < th.alpha, "touchpoint"]),
                       facet_labels=ctx.params.touchpoint_labels())
show_figure(fig, name="touchpoint_trends", caption="Mean CSAT by touchpoint and quarter, with 95% interval bands",
            alt="Small line charts of each touchpoint's quarterly mean CSAT", data=tp_trend, out_dir=out)'''),
        md("""## What drives the recommendation score

A key-driver model regresses each customer's latest likelihood-to-recommend (0-10) on their
mean CSAT per touchpoint over the last four quarters (OLS, robust HC3 errors). Because
touchpoint ratings are correlated, importance is read from each touchpoint's share of the
explained variance (LMG / Shapley decomposition), with bootstrap intervals."""),
        code('''window = drivers.trailing_window(ctx.period.label, 4)
frame = drivers.driver_frame(engine.responses(ctx.store, window), ctx.params, window=window)
kd = drivers.key_drivers(frame, frame.attrs["touchpoints"], confidence=th.confidence, seed=ctx.params.seed)
show_table(tables.drivers_table(kd.table, ctx.params.touchpoint_labels()), name="key_drivers", out_dir=out,
           data=kd.table, caption=f"Key drivers of the recommendation score (n = {kd.n:,} customers, R² = {kd.r_squared:.2f})",
           note="Missing touchpoint ratings are set to the touchpoint mean with a missing-indicator in the model.")
uplift = drivers.uplift_table(frame, kd, ctx.params, perf=perf, seed=ctx.params.seed)'''),
        md("## Fix first"),
        code('''ff = journey.fix_first(ipa, uplift=uplift)
show_table(tables.fix_first_table(ff), name="fix_first", caption="Touchpoints ranked by importance-performance gap",
           out_dir=out, data=ff, note="NPS uplift: the estimated change in NPS (points, among the customers in the driver "
           "model) if the touchpoint reached its target, assuming customers who did not rate it would improve like the "
           "average rater; 95% bootstrap interval.")'''),
    ],
    "05_summary_swot.ipynb": [
        md("# SWOT {#sec-swot}\n\nEvery data-driven item carries its evidence; staff input is labelled as such."),
        code('''from cxlib import summary, swot

ev = swot.gather(ctx)
items = swot.build(ev, ctx.params, ctx.store.df("swot_inputs") if ctx.store.has("swot_inputs") else None)
show_table(tables.swot_table(items), name="swot", caption="SWOT with evidence", out_dir=out)'''),
        md("# Executive summary {#sec-summary}", tags=["exec-summary"]),
        code('''show_table(tables.kpi_table(ev.kpis), name="summary_kpis",
           caption=f"Headline KPIs, {ev.period} vs {ev.previous}")''', tags=["exec-summary"]),
        md("## Top findings", tags=["exec-summary"]),
        code('''show_text("\\n".join(f"- {s}" for s in summary.findings(ev)))''', tags=["exec-summary"]),
        md("## Top actions", tags=["exec-summary"]),
        code('''show_table(summary.actions(ev), name="top_actions", caption="Touchpoints to fix first, with owners", out_dir=out)''',
             tags=["exec-summary"]),
    ],
    "06_appendix.ipynb": [
        md("""# Appendix {#sec-appendix}

## Method

- **NPS** = % promoters (9-10) − % detractors (0-6) of relationship-survey responses. Its
  interval is the adjusted-Wald interval for the difference of two multinomial shares
  (Rocks 2016): add 3 to n and ¾ to promoters and detractors, then
  var = (p_pro + p_det − (p_pro − p_det)²) / n.
- **CSAT** = share of transactional responses scoring 4-5 on 1-5 (Wilson interval) and the
  mean (t interval); **CES** = mean on 1-7, higher = easier (t interval).
- **Changes** between periods: z-test on the NPS difference (variances of the two
  independent NPS estimates added), two-proportion z-test for shares, Welch t-test for means.
  Where many groups are compared at once the Holm (1979) adjustment is shown.
- **Crosstab letters**: two-proportion z-tests between every pair of banner columns,
  Benjamini-Hochberg false-discovery-rate correction across the table.
- **Weighting**: raking (iterative proportional fitting, Deming & Stephan 1940) of each
  survey's respondents to the CRM population; weighted intervals and tests use the Kish
  effective sample size (Σw)² / Σw².
- **Importance-performance analysis** (Martilla & James 1977): crosshairs at the mean stated
  importance and mean CSAT of touchpoints with an adequate base.
- **Themes** are coded from the codebook's English and Arabic patterns on normalised text;
  over-representation among detractors is tested with Fisher's exact test (Holm-adjusted).
- **Churn**: quarterly rate among customers active at the start of the quarter (Wilson
  interval); retention by signup cohort is a life-table (Kaplan-Meier) estimate with
  Greenwood intervals; churn signals are compared with risk ratios (Katz log interval).
- **Small bases**: groups with fewer responses than the params threshold are flagged and
  never ranked as findings."""),
        md("## Codebook"),
        code('''book = coding.compile_codebook(ctx.store.df("codebook"), source=str(ctx.params.table_path("codebook")))
show_table(tables.codebook_table(book.table), name="codebook", caption="Codebook: themes and codes", out_dir=out,
           data=book.table)'''),
        md("## Coding reliability"),
        code('''rel = reliability.for_run(ctx.store, ctx.params, book)
if rel is None:
    show_text("No manual coding was supplied, so the automatic codes are not yet checked against human coders.")
else:
    show_text(md_escape(rel.method_text()))
    show_table(tables.reliability_table(rel.per_code), name="coding_reliability", out_dir=out, data=rel.per_code,
               caption="Agreement between coders (Cohen's kappa, Krippendorff's alpha) and auto-coding accuracy per code")'''),
        md("""## Assisted coding

A text classifier (TF-IDF word and character n-grams, one logistic regression per code)
learns from the human coding and suggests codes for uncoded texts. Its accuracy is measured
by 5-fold cross-validation on the human-coded texts; its suggestions are never mixed into
the automatic codes used in this report."""),
        code('''ac = assist.for_run(ctx.store, book)
if ac is None:
    show_text("No manual coding was supplied, so no classifier was trained.")
else:
    show_table(tables.assist_table(ac.cv), name="assisted_coding_cv", out_dir=out, data=ac.cv,
               caption=f"Cross-validated accuracy of assisted coding ({ac.n_training} human-coded texts)")
    if out is not None:
        coding_sheet.export_sheet(ac.next_to_code, book.table, out / "coding" / "code_next.xlsx")
        ac.suggestions.to_csv(out / "coding" / "suggestions.csv", index=False)
    show_text(f"The {len(ac.next_to_code)} texts the classifier is least sure about are in the analyst's "
              f"coding sheet `coding/code_next.xlsx`; {len(ac.suggestions):,} suggested codes for uncoded texts "
              "are in `coding/suggestions.csv`.")'''),
        md("## Sentiment"),
        code('''verb = engine.verbatims(ctx.store)
scored = sentiment.score(verb["text"], verb["language"])
val = sentiment.validate(scored, verb, responses=engine.responses(ctx.store))
show_table(tables.sentiment_validation_table(val), name="sentiment_validation", out_dir=out, data=val,
           caption="Sentiment scores against the rating that came with each text (VADER for English; "
                   "the project's Arabic lexicon with negation rules for Arabic)")'''),
    ],
}


def main() -> None:
    NB_DIR.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nbf.write(notebook(cells), NB_DIR / name)
        print("wrote", NB_DIR / name)


if __name__ == "__main__":
    main()

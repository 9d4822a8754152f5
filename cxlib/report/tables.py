"""Reader-facing versions of the result frames: named columns, formatted numbers, flags.

Analyses return tidy numeric frames (written as CSV beside the report); these functions turn
them into the tables a stakeholder reads. Numbers become text here, nowhere earlier.
"""

from __future__ import annotations

import re

import pandas as pd

from cxlib.decide.swot import CHURN_SIGNALS  # noqa: F401 (re-exported for the notebooks)
from cxlib.decide.words import Message, Messages, Num, Term
from cxlib.report.display import MISSING, fmt_ci, fmt_int, fmt_num, fmt_pct
from cxlib.report.i18n import Composed, compose, is_term
from cxlib.voice.coding import code_label

SMALL = "⚠ small base"
SECTION_NAMES = {"sec-metrics": "Quantitative CX", "sec-voice": "Voice of the customer",
                 "sec-journey": "Journey and touchpoint gaps", "sec-customers": "Who the customers are",
                 "sec-churn": "Churn and at-risk customers"}


LABELS = {"nps_group": "NPS group", "nps": "NPS", "csat": "CSAT", "ces": "CES",
          "preferred_channel": "Preferred channel", "payment_method": "Payment method"}


def label(column: str) -> str:
    """Reader-facing name of a column: 'nps_group' -> 'NPS group', 'region' -> 'Region'."""
    column = str(column)
    if column in LABELS:
        return LABELS[column]
    if column != column.lower() or " " in column:  # a client's own header: shown as the client wrote it
        return column
    return column.replace("_", " ").capitalize()


# Cells and headers composed of words and values are whole texts of the strings (cell.*, col.*),
# English as written, which the translator says whole in the report's language; the client's
# values in them (segments, channels, places) are terms, named through the params labels.


def _frame(columns: dict) -> pd.DataFrame:
    """A reader table from ``{header: values}`` in which composed cells and terms keep their kind
    (pandas would turn them into plain strings): those columns, and the headers when one is
    composed, are ``object``."""
    index = next((v.index for v in columns.values() if isinstance(v, pd.Series)), None)
    data = {}
    for i, values in enumerate(columns.values()):
        if not isinstance(values, str) and any(isinstance(v, Composed | Term) for v in values):
            values = pd.Series(list(values), index=index, dtype=object)
        data[i] = values
    out = pd.DataFrame(data)
    heads = list(columns)
    out.columns = pd.Index(heads, dtype=object) if any(isinstance(h, Composed) for h in heads) else heads
    return out


def _term(value):
    """A client's value (a segment, a channel, a place) as a term: its label in the report's language."""
    return value if isinstance(value, Term) or not isinstance(value, str) else Term(value)


def _p_text(p) -> Num:
    return Num("p < 0.001" if p < 0.001 else f"p = {p:.3f}")


def _sig(flag, p) -> str:
    if pd.isna(p):
        return "–"
    return compose("cell.sig.yes" if bool(flag) else "cell.sig.no", p=_p_text(p))


def _n_small(n, small) -> str:
    """A base, flagged when small: '28 ⚠ small base'."""
    return compose("cell.small_base", n=Num(fmt_int(n))) if small else fmt_int(n)


def _share_of(rate, n) -> str:
    return compose("cell.share_of", share=Num(fmt_pct(rate)), base=Num(fmt_int(n)))


def _value(unit: str, x, digits=1) -> str:
    if unit == "points":
        return "–" if pd.isna(x) else f"{x:+.{digits}f}"
    if unit == "%":
        return "–" if pd.isna(x) else f"{x:.{digits}f}%"
    return fmt_num(x, 2)


def kpi_table(kpis: pd.DataFrame) -> pd.DataFrame:
    """KPI tiles as a table: value with interval, previous value, change and significance."""
    rows = []
    for _, r in kpis.iterrows():
        u = r["unit"]
        rows.append({
            "KPI": r["label"],
            "This period": _value(u, r["value"]),
            "95% CI": fmt_ci(r["ci_low"], r["ci_high"], 2 if u == "score" else 1),
            "Base (n)": _n_small(r["n"], r["small_base"]),
            "Last period": _value(u, r["previous_value"]),
            "Change": _value("points" if u != "score" else "score", r["change"]) if u != "score"
            else ("–" if pd.isna(r["change"]) else f"{r['change']:+.2f}"),
            "Significant?": _sig(r["significant"], r["p_value"]),
        })
    return _frame({k: [r[k] for r in rows] for k in rows[0]}) if rows else pd.DataFrame(rows)



def change_table(df: pd.DataFrame, by: str, label: str, metric: str = "NPS", unit: str = "points",
                 names: dict | None = None, adjusted: bool = False, alpha: float = 0.05) -> pd.DataFrame:
    """breakdown_change as a table (one row per group); ``unit`` "points", "%" or "score".

    ``adjusted`` judges significance on the Holm-adjusted p-value (``p_holm``): use it when
    many groups are compared at once (e.g. every touchpoint), so chance moves are not flagged.
    """
    d = 0 if unit == "points" else 2 if unit == "score" else 1

    def val(x):
        return _value(unit, x, d) if unit != "score" else fmt_num(x, 2)

    def chg(x):
        return "–" if pd.isna(x) else (f"{x:+.{d}f}" if unit != "score" else f"{x:+.2f}")

    groups = df[by].map(names).fillna(df[by]) if names else df[by]
    return _frame({
        label: [_term(g) for g in groups],
        compose("col.metric_now", metric=Term(metric)): [val(v) for v in df["value"]],
        "n": [fmt_int(n) for n in df["n"]],
        compose("col.metric_before", metric=Term(metric)): [val(v) for v in df["previous_value"]],
        "n before": [fmt_int(n) for n in df["n_previous"]],
        "Change": [chg(v) for v in df["change"]],
        "95% CI of change": [fmt_ci(lo, hi, d) for lo, hi in zip(df["change_ci_low"], df["change_ci_high"],
                                                                 strict=True)],
        ("Significant? (Holm)" if adjusted else "Significant?"): [
            Term(SMALL) if s else (_sig(p < alpha, p) if adjusted else _sig(f, p)) for f, p, s in
            zip(df["significant"], df["p_holm"] if adjusted else df["p_value"], df["small_base"], strict=True)],
    })


def touchpoint_table(ipa: pd.DataFrame) -> pd.DataFrame:
    """Touchpoint performance, importance, gap, quadrant and fix-first rank."""
    return _frame({
        "Stage": ipa["stage_label"], "Touchpoint": ipa["label"], "Owner": ipa["owner"],
        "CSAT (1-5)": [fmt_num(v, 2) for v in ipa["performance"]],
        "95% CI": [fmt_ci(lo, hi, 2) for lo, hi in zip(ipa["perf_ci_low"], ipa["perf_ci_high"], strict=True)],
        "Importance (1-5)": [fmt_num(v, 2) for v in ipa["importance"]],
        "n": [_n_small(n, s) for n, s in zip(ipa["n"], ipa["small_base"], strict=True)],
        "Gap": [fmt_num(v, 0) for v in ipa["gap"]],
        "Quadrant": ipa["quadrant"].fillna("–"),
    })


def fix_first_table(ff: pd.DataFrame) -> pd.DataFrame:
    """journey.fix_first as a table (with the NPS uplift when it was merged in)."""
    out = pd.DataFrame({
        "Rank": ff["rank"].astype(int), "Touchpoint": ff["label"], "Owner": ff["owner"],
        "CSAT now": [fmt_num(v, 2) for v in ff["performance"]],
        "Target": [fmt_num(v, 1) for v in ff["target_csat"]],
        "Gap to target": [fmt_num(v, 2) for v in ff["gap_to_target"]],
        "Importance": [fmt_num(v, 2) for v in ff["importance"]],
        "Quadrant": ff["quadrant"],
    })
    if "uplift" in ff:
        out["NPS uplift [95% CI]"] = [
            "–" if pd.isna(u) else f"{u:+.1f} {fmt_ci(lo, hi, 1)}"
            for u, lo, hi in zip(ff["uplift"], ff["uplift_ci_low"], ff["uplift_ci_high"], strict=True)]
    return out


def themes_table(t: pd.DataFrame, top: int = 10, flags: dict | None = None) -> pd.DataFrame:
    """detractor_themes as a table, most over-represented among detractors first.

    ``flags`` (code -> reliability flag) adds the coding reliability of each code, so an
    unreliable code's result carries its flag.
    """
    t = t.sort_values("rank").head(top)
    out = pd.DataFrame({
        "Rank": t["rank"].astype("Int64"), "Code": t["label"], "Theme": t["theme"],
        "Detractors mentioning": [fmt_pct(v) for v in t["share_detractors"]],
        "Promoters mentioning": [fmt_pct(v) for v in t["share_promoters"]],
        "Difference (pp)": [fmt_num(v, 0) for v in t["difference"]],
        "p (Fisher)": ["< 0.001" if p < 0.001 else f"{p:.3f}" for p in t["p_value"]],
    })
    if flags is not None:
        out["Coding reliability"] = [flags.get(c, "not measured") for c in t["code"]]
    return out


def share_table(share: pd.DataFrame) -> pd.DataFrame:
    """mention_share in wide form: brands as columns, one row per period."""
    w = share.pivot_table(index="period", columns="brand", values="share").sort_index()
    out = w.map(lambda v: fmt_pct(v))
    totals = share.groupby("period")["total"].first().reindex(w.index)
    out.insert(0, "Mentions", [fmt_int(v) for v in totals])
    return out.reset_index().rename(columns={"period": "Quarter"})


def funnel_table(f: pd.DataFrame, by: str = "device") -> pd.DataFrame:
    w = f.pivot_table(index=["step_order", "label"], columns=by, values="share_of_start")
    out = w.map(lambda v: fmt_pct(v)).reset_index().drop(columns="step_order")
    return out.rename(columns={"label": "Funnel step"})


def abandonment_table(a: pd.DataFrame, by: str = "device") -> pd.DataFrame:
    return pd.DataFrame({
        by.capitalize(): a[by], "Reached checkout": [fmt_int(v) for v in a["started"]],
        "Abandoned": [fmt_int(v) for v in a["abandoned"]], "Rate": [fmt_pct(v) for v in a["rate"]],
        "95% CI": [f"{fmt_pct(lo)}–{fmt_pct(hi)}" for lo, hi in zip(a["ci_low"], a["ci_high"], strict=True)],
    })


def churn_table(lift: pd.DataFrame, names: dict | None = None) -> pd.DataFrame:
    """retention.churn_lift as a table: churn with and without each signal, risk ratio and test."""
    names = names or {}
    return _frame({
        "Signal": [names.get(x, x) for x in lift["signal"]],
        "Churn with": [_share_of(r, n) for r, n in zip(lift["rate_with"], lift["customers_with"], strict=True)],
        "Churn without": [_share_of(r, n) for r, n in zip(lift["rate_without"], lift["customers_without"], strict=True)],
        "Risk ratio [95% CI]": [f"{fmt_num(v, 2)} {fmt_ci(lo, hi, 2)}" for v, lo, hi in
                                zip(lift["risk_ratio"], lift["rr_ci_low"], lift["rr_ci_high"], strict=True)],
        "Significant?": [_sig(s, p) for s, p in zip(lift["significant"], lift["p_value"], strict=True)],
    })


def churn_note(lift: pd.DataFrame, names: dict | None = None, tr=None) -> str | None:
    """Says how many customers each signal could not be known for (left out, not counted as no),
    and explains a significant signal whose risk ratio is below 1 (a reader would question a
    "risk" signal that goes with staying) instead of leaving it unexplained."""
    names = names or {}
    parts = [f"{names.get(r['signal'], r['signal']).lower()}: {fmt_int(r['missing'])}"
             for _, r in lift.iterrows() if r["missing"]]
    sig = lift["significant"].astype(bool) if "significant" in lift else pd.Series(False, index=lift.index)
    protective = [names.get(r["signal"], r["signal"]).lower() for _, r in lift[sig & (lift["risk_ratio"] < 1)].iterrows()]
    notes = []
    if parts:
        notes.append(tr("note.churn_unknown", items="; ".join(parts)) if tr is not None else
                     "Customers for whom a signal is unknown are left out of that comparison (" + "; ".join(parts) + ").")
    if protective:
        items = (tr("pres.persona.comma") if tr is not None else ", ").join(protective)
        notes.append(tr("note.churn_protective", items=items) if tr is not None else
                     f"A risk ratio below 1 means customers with the signal left less often ({items}).")
    return " ".join(notes) or None


def metrics_intro(store, tr) -> str:
    """The scores section's opening: which responses each score is computed on (relationship and
    transactional surveys, or every response of one survey without survey types)."""
    typed = store is None or not store.has("survey_responses") or store.has_column("survey_responses", "survey_type")
    return tr("metrics.intro" if typed else "metrics.intro_one_survey")


def churn_left_out_note(attrs: dict, tr) -> str | None:
    """Says which customers :func:`~cxlib.quant.retention.churn_by_period` (and the retention
    curves, by the same rules) left out and why, with their counts, and how many churn dates
    without a churn flag were read as staying; None when there are none."""
    from cxlib.decide.words import Message, Messages, Num

    items = [Message(f"note.churn_left.{key}", {"n": Num(fmt_int(attrs[name]))}) for key, name in
             (("no_date", "churned_without_date"), ("before_signup", "churn_before_signup"),
              ("no_signup", "no_signup_date")) if attrs.get(name)]
    parts = [p for i, item in enumerate(items) for p in ((Message("note.churn_left.sep"),) if i else ()) + (item,)]
    notes = [tr.say(Message("note.churn_left_out", {"items": Messages(tuple(parts))}))] if items else []
    if attrs.get("churn_date_without_flag"):
        notes.append(tr.say(Message("note.churn_date_no_flag", {"n": Num(fmt_int(attrs["churn_date_without_flag"]))})))
    return " ".join(notes) or None


def churn_period_table(c: pd.DataFrame) -> pd.DataFrame:
    """retention.churn_by_period as a table."""
    return pd.DataFrame({
        "Quarter": c["period"], "Active at start": [fmt_int(v) for v in c["active_start"]],
        "Churned": [fmt_int(v) for v in c["churned"]], "Churn rate": [fmt_pct(v, 1) for v in c["rate"]],
        "95% CI": [f"{fmt_pct(lo, 1)}–{fmt_pct(hi, 1)}" for lo, hi in zip(c["ci_low"], c["ci_high"], strict=True)],
        "New customers": [fmt_int(v) for v in c["new_customers"]],
    })


def breakdown_table(b: pd.DataFrame, by: str) -> pd.DataFrame:
    """metrics.breakdown as a table (rank only for adequate bases)."""
    return _frame({
        by.replace("_", " ").capitalize(): [_term(g) for g in b[by]],
        "NPS": [_value("points", v, 0) for v in b["value"]],
        "95% CI": [fmt_ci(lo, hi, 0) for lo, hi in zip(b["ci_low"], b["ci_high"], strict=True)],
        "n": [_n_small(n, s) for n, s in zip(b["n"], b["small_base"], strict=True)],
        "Rank": ["–" if pd.isna(r) else str(int(r)) for r in b["rank"]],
    })


def frequency_table(freq: pd.DataFrame, by: str) -> pd.DataFrame:
    """theme_frequency (level theme) in wide form: themes as rows, groups as columns (share)."""
    w = freq.pivot_table(index="theme", columns=by, values="share", aggfunc="first").fillna(0.0)
    w = w.loc[w.max(axis=1).sort_values(ascending=False).index]
    bases = freq.groupby(by)["base"].first()
    out = w.map(lambda v: fmt_pct(v))
    heads = [compose("cell.group_n", group=_term(c), n=Num(fmt_int(bases.get(c)))) for c in out.columns]
    return _frame({"Theme": list(out.index), **{h: list(out[c]) for h, c in zip(heads, out.columns, strict=True)}})



def tone_table(tone: pd.DataFrame) -> pd.DataFrame:
    """The texts by tone (:func:`cxlib.voice.sentiment.tone_shares`): tone, texts, share and its interval (%)."""
    return _frame({"Tone": [_term(x) for x in tone["label"]], "Texts": [fmt_int(x) for x in tone["n"]],
                   "Share": [fmt_pct(x) for x in tone["share"]],
                   "95% CI": [fmt_ci(lo * 100, hi * 100) for lo, hi in zip(tone["ci_low"], tone["ci_high"], strict=True)]})


def theme_share_bars(shares: pd.DataFrame, top: int = 8) -> pd.DataFrame:
    """:func:`cxlib.voice.coding.theme_shares` as :func:`cxlib.report.plots.breakdown_chart` draws it
    (the ``top`` most mentioned themes, in %)."""
    d = shares.head(top)
    return pd.DataFrame({"Theme": d["theme"].to_numpy(), "value": d["share"].to_numpy() * 100,
                         "ci_low": d["ci_low"].to_numpy() * 100, "ci_high": d["ci_high"].to_numpy() * 100,
                         "n": d["base"].to_numpy(), "small_base": d["small_base"].to_numpy()})


def quotes_markdown(codes: list[str], quotes_for, book, none_text: str = "No quotable comment this period.",
                    tr=None) -> str:
    """Markdown block quotes per code (customer text escaped; already redacted by ``quotes_for``).

    The code, its description and each quote's source and touchpoint are said in the language of
    ``tr`` (default: the report's, as set for the charts by :func:`cxlib.report.plots.set_theme`);
    the quotes stay as the customers wrote them.
    """
    from cxlib.report import plots
    from cxlib.report.display import md_escape

    if tr is None:
        tr = plots.report_translator()
    labels = dict(zip(book.table["code"], book.table["description"], strict=False)) if hasattr(book, "table") else {}
    parts = []
    for code in codes:
        q = quotes_for(code)
        name = Term(code.replace("_", " ").capitalize())
        parts.append(tr.say(Message("quote.code", {"label": Message("quote.bold", {"text": name}),
                                                   "description": Term(labels[code])}))
                     if labels.get(code) else tr.say(Message("quote.bold", {"text": name})))
        if q.empty:
            parts.append(f"\n*{none_text}*\n")
        for _, r in q.iterrows():
            # its own direction: Arabic right to left; English in an Arabic report left to right
            rtl = ' dir="rtl"' if r["language"] == "ar" else ' dir="ltr"' if tr.rtl and r["language"] == "en" else ""
            # where the text came from; a source the export did not give ("other") is not named
            known = pd.notna(r["source"]) and r["source"] != "other"
            touch = pd.notna(r["touchpoint"])
            if known and touch:
                src = tr.say(Message("quote.source", {"source": Term(r["source"]), "touchpoint": Term(r["touchpoint"])}))
            else:
                src = tr.say(Term(r["source"] if known else r["touchpoint"])) if known or touch else None
            said = f">\n> — *{src}*\n" if src else ""
            parts.append(f"\n::: {{.quote lang=\"{r['language']}\"{rtl}}}\n> {md_escape(r['text'])}\n{said}:::\n")
    return "\n".join(parts)


def quality_table(q: pd.DataFrame) -> pd.DataFrame:
    """engine.data_quality as a table (columns the client's data cannot have are left out)."""
    out = pd.DataFrame({
        "File": q["file"], "Rows": [fmt_int(v) for v in q["rows"]],
        "From": q["first"].fillna("–"), "To": q["last"].fillna("–"),
        "Left out": [fmt_int(v) for v in q["excluded"].fillna(0)],
        "Unknown customer id": [fmt_int(v) for v in q["unmatched_customer"]],
        "No customer id": [fmt_int(v) for v in q["no_customer"]],
    })
    if q["first"].isna().all():
        out = out.drop(columns=["From", "To"])
    if q["unmatched_customer"].isna().all():
        out = out.drop(columns=["Unknown customer id", "No customer id"])
    return out


def weighted_kpi_table(wk: pd.DataFrame) -> pd.DataFrame:
    """weighting.weighted_kpis as a table: weighted value and interval beside the unweighted one."""
    return _frame({
        "KPI": wk["label"],
        "Weighted": [_value(u, v) for u, v in zip(wk["unit"], wk["weighted_value"], strict=True)],
        "95% CI": [fmt_ci(lo, hi, 2 if u == "score" else 1) for u, lo, hi in
                   zip(wk["unit"], wk["ci_low"], wk["ci_high"], strict=True)],
        "Unweighted": [_value(u, v) for u, v in zip(wk["unit"], wk["unweighted_value"], strict=True)],
        "n": [fmt_int(v) for v in wk["n"]],
        "Effective n": [_n_small(round(v), s) for v, s in zip(wk["n_effective"], wk["small_base"], strict=True)],
        "Design effect": [fmt_num(v, 2) for v in wk["design_effect"]],
    })


def codebook_table(book: pd.DataFrame) -> pd.DataFrame:
    """The codebook for the appendix: theme, code, valence and description (patterns omitted)."""
    b = book.sort_values(["theme", "code"])
    return _frame({"Theme": b["theme"], "Code": b["code"].map(code_label),
                   "Valence": b["valence"], "Description": [_term(d) for d in b["description"]]})


def reliability_table(per_code: pd.DataFrame) -> pd.DataFrame:
    """Per-code reliability for the appendix: kappa, alpha and flag, auto-coding P/R/F1."""
    has_truth = "f1_truth" in per_code
    out = pd.DataFrame({
        "Code": per_code["code"].map(code_label),
        "Kappa": [fmt_num(v, 2) for v in per_code["kappa"]],
        "Alpha": [fmt_num(v, 2) for v in per_code["alpha"]],
        "Reliability": [f + (" (few uses)" if s else "") for f, s in zip(per_code["flag"], per_code["small_base"], strict=True)],
        "Auto precision": [fmt_num(v, 2) for v in per_code["precision"]],
        "Auto recall": [fmt_num(v, 2) for v in per_code["recall"]],
        "Auto F1": [fmt_num(v, 2) for v in per_code["f1"]],
    })
    if has_truth:
        out["F1 vs true codes"] = [fmt_num(v, 2) for v in per_code["f1_truth"]]
    return out


def assist_table(cv: pd.DataFrame) -> pd.DataFrame:
    """assist.cross_validate as a table (codes with too few examples say so)."""
    return _frame({
        "Code": [("All codes (micro)" if c == "micro" else code_label(c)) for c in cv["code"]],
        "Precision": [fmt_num(v, 2) for v in cv["precision"]], "Recall": [fmt_num(v, 2) for v in cv["recall"]],
        "F1": [fmt_num(v, 2) for v in cv["f1"]], "Examples": [fmt_int(v) for v in cv["support"]],
        "Note": [_assist_note(x) for x in cv["note"].fillna("")],
    })


_NOT_EVALUATED = re.compile(r"not evaluated: (\d+) (positive|negative)\(s\) < min_positives=(\d+)")
_POOLED = re.compile(r"pooled over (\d+) evaluated code\(s\)")


def _assist_note(note: str):
    """assist.cross_validate's note as a composed text (why a code was not evaluated; what the
    pooled row pools)."""
    if m := _NOT_EVALUATED.fullmatch(note):
        return compose(f"cell.not_evaluated{'' if m.group(2) == 'positive' else '_negative'}",
                       n=int(m.group(1)), min=int(m.group(3)))
    if m := _POOLED.fullmatch(note):
        return compose("cell.pooled", n=int(m.group(1)))
    return note


def sentiment_validation_table(val: pd.DataFrame) -> pd.DataFrame:
    """How well sentiment holds up on held-out texts, beside the majority baseline and the word lists."""
    names = {"calibrated": "Learned from this client's scores", "majority baseline": "Majority class (baseline)",
             "lexicon": "Word lists (previous method)"}
    langs = {"all": "All", "ar": "Arabic", "en": "English", "mixed": "Mixed", "none": "No letters"}
    return pd.DataFrame({
        "Language": val["language"].map(langs).fillna(val["language"]),
        "Method": val["method"].map(names).fillna(val["method"]),
        "Accuracy": [fmt_pct(x, 1) for x in val["accuracy"]],
        "Macro F1": [fmt_num(x, 3) for x in val["macro_f1"]],
        "Texts": [fmt_int(x) for x in val["n"]],
    })


def nps_mention_table(t: pd.DataFrame, min_n: int = 30, top: int = 8) -> pd.DataFrame:
    """coding.nps_by_mention: NPS of respondents who mention a code vs those who do not."""
    t = t[t["n_mention"] >= min_n].head(top)
    return pd.DataFrame({
        "Code": t["code"].map(code_label), "NPS if mentioned": [_value("points", v, 0) for v in t["nps_mention"]],
        "n": [fmt_int(v) for v in t["n_mention"]],
        "NPS if not": [_value("points", v, 0) for v in t["nps_no_mention"]],
        "n not": [fmt_int(v) for v in t["n_no_mention"]],
        "Difference": [_value("points", v, 0) for v in t["difference"]],
    })


def cooccurrence_table(c: pd.DataFrame, top: int = 8) -> pd.DataFrame:
    """coding.cooccurrence: the theme pairs mentioned together most often."""
    c = c.head(top)
    return pd.DataFrame({
        "Theme": c["a"], "With": c["b"], "Texts with both": [fmt_int(v) for v in c["n_both"]],
        "Jaccard": [fmt_num(v, 2) for v in c["jaccard"]], "Lift": [fmt_num(v, 2) for v in c["lift"]],
    })


def conversation_table(conv: pd.DataFrame, n_conversations: int, top: int = 8) -> pd.DataFrame:
    """coding.conversation_themes: share of call/chat conversations raising each theme."""
    per = (conv.groupby(["source", "theme"])["conversation_id"].nunique().rename("n").reset_index())
    totals = conv.groupby("source")["conversation_id"].nunique()
    w = per.pivot_table(index="theme", columns="source", values="n", fill_value=0)
    w = w.loc[w.sum(axis=1).sort_values(ascending=False).index].head(top)
    cols = {"Theme": list(w.index)}
    for src in w.columns:
        base = int(totals.get(src, 0))
        cols[compose("cell.group_n", group=_term(src), n=Num(fmt_int(base)))] = [
            fmt_pct(v / base) if base else "–" for v in w[src]]
    return _frame(cols)


def drivers_table(d: pd.DataFrame, labels: dict | None = None) -> pd.DataFrame:
    """drivers.key_drivers(...).table: coefficient and share of R² per touchpoint."""
    d = d.sort_values("share_of_r2", ascending=False)
    labels = labels or {}
    return pd.DataFrame({
        "Touchpoint": d["touchpoint"].map(labels).fillna(d["touchpoint"]),
        "Effect on 0-10 score per CSAT point": [f"{b:+.2f} {fmt_ci(lo, hi, 2)}" for b, lo, hi in
                                                zip(d["beta"], d["beta_ci_low"], d["beta_ci_high"], strict=True)],
        "p": ["< 0.001" if p < 0.001 else f"{p:.3f}" for p in d["p_value"]],
        "Share of explained variance": [f"{fmt_pct(v / d['share_of_r2'].sum())}" for v in d["share_of_r2"]],
        "Share of R² [95% CI]": [f"{v:.3f} {fmt_ci(lo, hi, 3)}" for v, lo, hi in
                                 zip(d["share_of_r2"], d["share_ci_low"], d["share_ci_high"], strict=True)],
        "Customers rating it": [fmt_int(v) for v in d["n_rated"]],
    })


def operations_table(ops: pd.DataFrame, perf: pd.DataFrame) -> pd.DataFrame:
    """Operational metrics beside the customer score, one row per touchpoint (– = not measured)."""
    csat = perf.set_index("touchpoint")["performance"]
    return pd.DataFrame({
        "Touchpoint": ops["label"],
        "CSAT": [fmt_num(csat.get(t), 2) for t in ops["touchpoint"]],
        "Contacts": [fmt_int(v) for v in ops["contacts"]],
        "Resolved": [fmt_pct(v) for v in ops["resolution_rate"]],
        "Handling (min)": [fmt_num(v, 1) for v in ops["handling_minutes"]],
        "Delivery days": [fmt_num(v, 1) for v in ops["delivery_days"]],
        "Late": [fmt_pct(v) for v in ops["late_rate"]],
        "Funnel drop-off": [fmt_pct(v) for v in ops["drop_off"]],
    })


def segments_table(p: pd.DataFrame, currency: str | None = None) -> pd.DataFrame:
    """segments.segment_profiles as a table (revenue in the params currency)."""
    revenue = compose("col.revenue_per_customer", currency=Term(currency)) if currency else "Revenue per customer"
    out = _frame({
        "Segment": [_term(s) for s in p["segment"]], "Customers": [fmt_int(v) for v in p["customers"]],
        "Share": [fmt_pct(v) for v in p["share"]],
        revenue: [fmt_int(v) for v in p["revenue_per_customer"]],
        "Revenue share": [fmt_pct(v) for v in p["revenue_share"]],
        "NPS (latest)": [_value("points", v, 0) for v in p["nps"]],
        "95% CI": [fmt_ci(lo, hi, 0) for lo, hi in zip(p["nps_ci_low"], p["nps_ci_high"], strict=True)],
        "Churn rate": [fmt_pct(v) for v in p["churn_rate"]],
        "Top channel": [compose("cell.value_share", value=_term(c), share=Num(fmt_pct(s))) if pd.notna(c) else "–"
                        for c, s in zip(p["top_channel"], p["top_channel_share"], strict=True)],
    })
    return out.loc[:, [c for c in out.columns if not (out[c] == "–").all()]]


def usefulness_table(u: pd.DataFrame) -> pd.DataFrame:
    """segments.usefulness: each segment against the four tests of a useful segment."""
    w = u.pivot_table(index="segment", columns="criterion", values="passed", aggfunc="first")
    cols = {"Segment": [_term(s) for s in w.index]}
    for crit in ["identifiable", "reachable", "measurable", "worth its cost"]:
        if crit in w:
            cols[crit.capitalize()] = ["yes" if v else "no" for v in w[crit]]
    return _frame(cols)


def odds_table(o: pd.DataFrame) -> pd.DataFrame:
    """churn_model odds ratios as a table."""
    return _frame({
        "Signal": o["label"], "Odds ratio [95% CI]": [f"{fmt_num(v, 2)} {fmt_ci(lo, hi, 2)}" for v, lo, hi in
                                                       zip(o["odds_ratio"], o["ci_low"], o["ci_high"], strict=True)],
        "p": ["< 0.001" if p < 0.001 else f"{p:.3f}" for p in o["p_value"]],
    })


def model_checks_table(m: pd.DataFrame) -> pd.DataFrame:
    """ChurnModel.summary(): AUCs with intervals, calibration, sample size."""
    return pd.DataFrame({
        "Check": m["check"],
        "Value": [fmt_int(v) if float(v).is_integer() else fmt_num(v, 3) for v in m["value"]],
        "95% CI": [fmt_ci(lo, hi, 3) for lo, hi in zip(m["ci_low"], m["ci_high"], strict=True)],
    })


def at_risk_table(a: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """The stakeholder at-risk list (pseudonymous references only, never customer ids)."""
    a = a.head(top)
    return _frame({
        "Rank": a["rank"], "Customer ref": a["customer_ref"], "Segment": [_term(s) for s in a["segment"]],
        "Risk": [fmt_pct(v) for v in a["risk"]], "Main risk driver": a["main_driver"],
        "Next best action": a["next_best_action"], "Owner": a["owner"],
    })


# --- helpers for the report flow -------------------------------------------------------------


def slug(text: str) -> str:
    """A file-name-safe fragment of a column name: 'Journey Stage' -> 'journey-stage'."""
    import re

    out = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return out or "x"


_SECTION_OF = {"metrics": "sec-metrics", "voice": "sec-voice", "journey": "sec-journey", "customers": "sec-customers",
               "churn": "sec-churn", "data": "sec-data"}


def section_anchor(section: str) -> str | None:
    """The heading id of a report section ('journey' -> 'sec-journey')."""
    return _SECTION_OF.get(section)


def load_notes_markdown(notes: pd.DataFrame, blank: pd.DataFrame, warnings: list, tr) -> str:
    """What the loader left out or decided, blank answers, and the params warnings, as a list."""
    from cxlib.report.display import md_escape

    lines = []
    several = set() if notes.empty else {t for t, f in notes.groupby("table")["file"].nunique().items() if f > 1}
    for _, n in notes.iterrows():
        key = f"load.{n['kind']}"
        if not tr.has(key):
            continue
        table = tr.term(label(n["table"]))
        if n["table"] in several:  # one of several files of the table: which one
            table = f"{table} ({md_escape(str(n['file']).rsplit('/', 1)[-1])})"
        lines.append("- " + tr(key, table=table, column=md_escape(n["column"]),
                               rows=int(n["rows"]), detail=md_escape(n["detail"])))
    for _, b in blank.iterrows():
        if b["blank"] and b["metric"] != "comment":
            lines.append("- " + tr("load.blank", metric=tr.term(label(b["metric"])), n=int(b["blank"]),
                                   rows=int(b["rows"])))
    lines += ["- " + tr.say(w) for w in warnings]
    return (tr("load.h") + "\n\n" + "\n".join(lines)) if lines else tr("load.none")


def period_markdown(ctx, cov: dict, tr) -> str:
    """The period, the comparison (or its absence), the bases and the statistical conventions."""
    th = ctx.params.thresholds
    p = ctx.period
    if p.is_all:
        head = tr("data.period_all")
    else:
        span = p.iso_span if tr.rtl else p.span
        head = (tr("data.period_prev", period=p.label, span=span, previous=ctx.previous.label) if ctx.previous
                else tr("data.period_noprev", period=p.label, span=span))
    n, texts = cov["responses"], cov["texts"]
    if cov.get("customers") and not n and not texts:
        bases = tr("data.bases_crm", customers=cov["customers"])
    else:  # a count of zero is said as "there are none", not "rests on 0 ..."
        key = "data.bases" if n and texts else "data.bases_texts" if texts else "data.bases_scores"
        bases = tr(key, n=n, texts=texts)
    conv = tr("data.conventions", conf=th.confidence, alpha=th.alpha, min_base=th.min_base)
    return " ".join([head, bases, conv])


def not_in_report_markdown(plan, tr) -> str:
    """The "Not in this report" list: every analysis left out, with what it would need."""
    from cxlib.report import blocks

    skipped = [s for s in plan.skipped() if tr.has("an." + s.name)]
    if not skipped:
        return ""
    items = [blocks.MissingAnalysis(blocks.Md(tr("an." + s.name)), blocks.Md(needs_text(s.reasons, tr)))
             for s in skipped]
    return blocks.not_in_report(items, tr=tr)


def needs_text(reasons: list[dict], tr) -> str:
    """What a left-out analysis would need, in the report's language."""
    from cxlib.report.display import md_escape

    parts = []
    for r in reasons:
        k = r["kind"]
        if k == "table" and tr.has(f"need.table.{r['table']}"):
            parts.append(tr(f"need.table.{r['table']}"))
        elif k == "table":
            name = tr.term(label(r["table"]))
            if tr.language == "en":  # "an interactions table", "a survey responses table"
                name = name[:1].lower() + name[1:]
            parts.append(tr("need.table_an" if name[:1].lower() in "aeiou" else "need.table", table=name))
        elif k == "column" and tr.has(f"need.column.{r['table']}.{r['column']}"):  # a column the template knows
            parts.append(tr(f"need.column.{r['table']}.{r['column']}"))
        elif k == "column":
            parts.append(tr("need.column", table=tr.term(label(r["table"])), column=md_escape(r["column"])))
        elif k == "any_column":
            parts.append(tr("need.any_column", columns=", ".join(md_escape(c) for c in r["columns"])))
        elif k == "param":
            parts.append(tr("need.param." + r["param"]) if tr.has("need.param." + r["param"])
                         else tr("need.param", param=md_escape(r["param"])))
        elif k == "dated":
            parts.append(tr("need.dated", table=tr.term(label(r["table"]))))
        elif k == "periods":
            parts.append(tr("need.periods", n=r["periods"]))
        elif k == "previous":
            parts.append(tr("need.previous"))
        elif k == "rows":
            parts.append(tr("need.rows", need=r["need"], have=r["have"], column=md_escape(r["column"])))
        elif k == "codebook":
            parts.append(tr("need.codebook"))
        elif k == "result":
            what = tr("an." + r["result"]) if tr.has("an." + r["result"]) else md_escape(r["result"])
            if tr.language == "en" and what.startswith("The "):  # "needs the web funnel", mid-sentence
                what = "t" + what[1:]
            parts.append(tr("need.result", what=what))
    return "; ".join(parts)


def profile_table(t: pd.DataFrame) -> pd.DataFrame:
    """Customers by attribute (long frame: attribute, level, customers, share)."""
    return _frame({"Attribute": [label(a) for a in t["attribute"]], "Group": [_term(str(v)) for v in t["level"]],
                         "Customers": [fmt_int(v) for v in t["customers"]], "Share": [fmt_pct(v) for v in t["share"]]})


def _plain_numbers(*values: float) -> list[str]:
    """Values of one number column written alike: whole when all are, or when the largest is 100 or
    more (1,234); else with up to two decimals (0.25, 4.8)."""
    whole = all(float(v) == round(float(v)) for v in values) or max(abs(float(v)) for v in values) >= 100
    return [f"{float(v):,.0f}" if whole else f"{float(v):,.2f}".rstrip("0").rstrip(".") for v in values]


def profile_summary_table(summary: pd.DataFrame, table: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """The customers at a glance, one row per attribute (the report's profile; the annex has every
    group): the share of customers with a value, and a text attribute's ``top`` largest groups with
    their shares (and how many more there are) or a number's median and range."""
    cells = []
    for r in summary.itertuples(index=False):
        if r.kind == "number":
            median, low, high = _plain_numbers(r.median, r.low, r.high)
            cells.append(compose("cell.profile_number", median=Num(median), low=Num(low), high=Num(high)))
            continue
        t = table[(table["attribute"] == r.attribute) & (table["level"] != "(not recorded)")]
        t = t.sort_values("customers", ascending=False, kind="stable").head(top)
        parts = []
        for i, (lv, sh) in enumerate(zip(t["level"], t["share"], strict=True)):
            if i:
                parts.append(Message("cell.list_sep"))
            parts.append(Message("cell.level_share", {"level": Term(str(lv)), "share": Num(fmt_pct(sh))}))
        groups = Messages(tuple(parts))
        more = int(r.groups) - len(t)
        cells.append(compose("cell.profile_more", groups=groups, n=Num(f"{more:,}")) if more > 0
                     else compose("cell.profile_top", groups=groups))
    return _frame({"Attribute": [label(a) for a in summary["attribute"]],
                   "With a value": [fmt_pct(v) for v in summary["recorded"]], "Customers": cells})


def churn_rate_table(t: pd.DataFrame) -> pd.DataFrame:
    """Churn rate by each attribute's levels, with intervals and the test across levels."""
    return _frame({
        "Attribute": [label(a) for a in t["attribute"]], "Group": [_term(str(v)) for v in t["level"]],
        "Customers": [_n_small(v, s) for v, s in zip(t["customers"], t["small_base"], strict=True)],
        "Churn rate": [fmt_pct(v, 1) for v in t["rate"]],
        "95% CI": [fmt_ci(lo * 100, hi * 100, 1) for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)],
        "Groups differ?": [_sig(p < 0.05, p) for p in t["p_value"]],
    })


def scores_table(b: pd.DataFrame, by: str) -> pd.DataFrame:
    """metrics.breakdown of several metrics for one attribute: a row per group, a value and base per metric."""
    names = {"nps": ("NPS", "points", 0), "csat": ("CSAT (% 4-5)", "%", 0), "csat_mean": ("Mean rating (1-5)", "score", 2),
             "ces": ("CES (1-7)", "score", 2)}
    groups = list(dict.fromkeys(b[by]))
    out = {label(by): [_term(g) for g in groups]}
    for metric in dict.fromkeys(b["metric"]):
        m = b[b["metric"] == metric].set_index(by)
        name, unit, d = names.get(metric, (metric, "score", 2))
        vals = []
        for g in groups:
            if g not in m.index:
                vals.append("–")
                continue
            r = m.loc[g]
            v = _value(unit, r["value"], d) if unit != "score" else fmt_num(r["value"], d)
            ci = fmt_ci(r["ci_low"], r["ci_high"], d)
            vals.append(f"{v} {ci}")
        out[name] = vals
        n = m.reindex(groups)
        out[f"n ({name.split(' ')[0]})"] = [_n_small(x, s is True) for x, s in zip(n["n"], n["small_base"], strict=True)]
    return _frame(out)


def flag_share_table(f: pd.DataFrame, what: str) -> pd.DataFrame:
    """metrics.flag_share as a one-row table."""
    r = f.iloc[0]
    row = {"": what, "This period": _value("%", r["value"]), "95% CI": fmt_ci(r["ci_low"], r["ci_high"], 1),
           "Base (n)": fmt_int(r["n"]), "Last period": _value("%", r["previous_value"]),
           "Change": _value("points", r["change"]), "Significant?": _sig(r["significant"], r["p_value"])}
    return _frame({k: [v] for k, v in row.items()})


def performance_table(perf: pd.DataFrame) -> pd.DataFrame:
    """Touchpoint CSAT without stated importance (no IPA possible)."""
    p = perf[perf["n"] > 0]
    return _frame({"Touchpoint": p["label"], "CSAT mean (1-5)": [fmt_num(v, 2) for v in p["performance"]],
                         "95% CI": [fmt_ci(lo, hi, 2) for lo, hi in zip(p["perf_ci_low"], p["perf_ci_high"], strict=True)],
                         "CSAT 4-5": [fmt_pct(v) for v in p["csat_t2b"]],
                         "n": [_n_small(n, s) for n, s in zip(p["n"], p["small_base"], strict=True)]})


def crosstab_table(ct, row_label: str) -> pd.DataFrame:
    """A crosstab with significance letters as a reader table."""
    return format_crosstab(ct, row_label)


def format_crosstab(ct, row_label: str | None = None,
                    banner_label: str | None = None, *, digits: int = 0) -> pd.DataFrame:
    """The reader's crosstab: answers down, banner columns across, letters in the cells.

    Parameters
    ----------
    ct : cxlib.quant.crosstab.Crosstab
        From :func:`cxlib.quant.crosstab.crosstab`.
    row_label : str, optional
        Header of the first column (default the row column's name).
    banner_label : str, optional
        Name of the banner (default the banner column's name); stored as the columns'
        name and in ``attrs["banner_label"]`` for a caption.
    digits : int, default 0
        Decimals of the percentages.

    Returns
    -------
    DataFrame
        First column the answers, then one column per banner value headed
        ``"<value> (<letter>)"`` holding e.g. ``"45% BD"``; a last row ``"Base (n)"`` with
        the unweighted bases (``"120 (eff. 95)"`` when weighted) and ``"⚠"`` on small
        bases. All cells are strings; ``attrs["note"]`` holds :func:`crosstab_note`.
    """
    first = row_label or ct.row
    heads = [compose("cell.group_letter", group=_term(b), letter=_letters(L))
             for b, L in zip(ct.bases["banner_value"], ct.bases["letter"], strict=True)]
    if first in heads:
        raise ValueError(f"row_label {first!r} clashes with a banner column; choose another")
    out = {first: [str(r) for r in pd.unique(ct.cells["row_value"])] + ["Base (n)"]}
    for head, (_, g) in zip(heads, ct.cells.groupby("letter", sort=False), strict=True):
        out[head] = [MISSING if pd.isna(pct) else compose("cell.pct_letters", pct=Num(fmt_pct(pct / 100, digits)),
                                                          letters=_letters(hi)) if str(hi).strip()
                     else fmt_pct(pct / 100, digits)
                     for pct, hi in zip(g["column_pct"], g["higher_than"], strict=True)]
    for head, b in zip(heads, ct.bases.itertuples(index=False), strict=True):
        text = fmt_int(b.base)
        if ct.weighted:
            text = compose("cell.effective_n", n=Num(text), eff=Num(fmt_int(b.base_effective)))
        out[head].append(compose("cell.flagged", value=text if isinstance(text, Composed) else Num(text))
                         if b.small_base else text)
    table = _frame(out)
    table.columns.name = banner_label or ct.banner
    from cxlib.quant.crosstab import crosstab_note as english_note

    table.attrs.update(note=english_note(ct), banner_label=banner_label or ct.banner)
    return table



def _letters(letters) -> Messages:
    """Significance letters ('BD') in the report's script, one by one (``cell.letter.<X>``)."""
    letters = str(letters).strip()
    parts = [Message(f"cell.letter.{x}") for x in letters[:1]]
    parts += [Message("cell.letter.next", {"letter": Message(f"cell.letter.{x}")}) for x in letters[1:]]
    return Messages(tuple(parts))


def crosstab_note(ct, tr) -> str:
    """What the letters, the weights and the small-base mark mean, in the report's language."""
    text = tr("note.crosstab", alpha=ct.alpha)
    if ct.weighted:
        text += " " + tr("note.crosstab_weighted")
    if bool(ct.bases["small_base"].any()):
        text += " " + tr("note.crosstab_small", min_base=ct.min_base)
    return text


def without_ids(df: pd.DataFrame) -> pd.DataFrame:
    """A frame for a stakeholder CSV: columns that identify customers are dropped."""
    return df.drop(columns=[c for c in df.columns if c in ("customer_id", "customer_ids", "conversation_id",
                                                             "verbatim_id", "response_id")], errors="ignore")


def churn_drivers(cm: dict) -> pd.DataFrame:
    """The chosen churn model's drivers: odds ratios (logistic) or permutation importance (boosting)."""
    return cm["model"].drivers


def churn_drivers_table(cm: dict) -> pd.DataFrame:
    """The chosen churn model's drivers: odds ratios with intervals, or permutation importance."""
    d = churn_drivers(cm)
    if "odds_ratio" in d:
        if "label" not in d:
            d = d.assign(label=pd.Series(
                [compose("cell.level_vs", variable=Term(label(p)), level=Term(lv), reference=_term(ref))
                 if isinstance(lv, str) and lv else label(p)
                 for p, lv, ref in zip(d["predictor"], d.get("level", ""), d.get("reference", ""), strict=True)],
                index=d.index, dtype=object))
        elif {"level", "reference"} <= set(d.columns):  # the model's own labels, composed in English
            d = d.assign(label=pd.Series([_level_vs(lab, lv, ref) for lab, lv, ref in
                                          zip(d["label"], d["level"], d["reference"], strict=True)],
                                         index=d.index, dtype=object))
        d = d.reindex(d["odds_ratio"].sub(1).abs().sort_values(ascending=False).index).head(12)
        return odds_table(d)
    d = d.sort_values("importance", ascending=False).head(12)
    return pd.DataFrame({"Driver": [label(p) for p in d["predictor"]],
                         "Importance (AUC drop)": [fmt_num(v, 3) for v in d["importance"]],
                         "± sd": [fmt_num(v, 3) for v in d["std"]]})


def _level_vs(text, level, reference):
    """A model's label 'Segment: Families (vs Value Seekers)' as a composed text (its levels named
    by the client's labels), unless the strings know the whole label as a term."""
    if not (isinstance(text, str) and isinstance(level, str) and isinstance(reference, str)) or is_term(text):
        return text
    head, sep, _ = text.partition(": ")
    if not sep or text != f"{head}: {level} (vs {reference})":
        return text
    return compose("cell.level_vs", variable=Term(head), level=Term(level), reference=Term(reference))


def driver_words(key: str, tr=None) -> str:
    """A churn driver key in words: ``Contract=Month-to-month`` -> 'Contract: Month-to-month',
    ``tenure:low`` -> 'tenure below the median', a signal name through its term."""
    key = str(key)
    if tr is None:
        return key
    if "=" in key:
        col, level = key.split("=", 1)
        return tr("churn.driver.level", column=label(col), level=level)
    if ":" in key:
        col, side = key.rsplit(":", 1)
        if tr.has(f"churn.driver.{side}"):
            return tr(f"churn.driver.{side}", column=label(col))
    return tr.term(CHURN_SIGNALS.get(key, label(key)))


def at_risk_summary(stake: pd.DataFrame, params, tr=None) -> pd.DataFrame:
    """At-risk customers summarised by main driver and next best action (not a list of people)."""
    if stake.empty:
        return pd.DataFrame(columns=["Main risk driver", "Customers", "Mean risk", "Next best action", "Owner"])
    g = stake.groupby(["main_driver", "next_best_action", "owner"], dropna=False)
    out = g.agg(customers=("risk", "size"), risk=("risk", "mean")).reset_index().sort_values("customers", ascending=False)
    return pd.DataFrame({"Main risk driver": [driver_words(k, tr) for k in out["main_driver"]],
                         "Customers": [fmt_int(v) for v in out["customers"]],
                         "Mean risk": [fmt_pct(v) for v in out["risk"]], "Next best action": out["next_best_action"],
                         "Owner": out["owner"]})


def _said(x, tr):
    """A cell from cxlib.decide: a message said in the report's language; a plain value (a driver's
    name, an owner) by its term or the client's label when there is one."""
    if isinstance(x, Message | Messages | Term):
        return tr.say(x, markdown=False)
    return tr.term(x) if isinstance(x, str) else x


def plain(df: pd.DataFrame, tr) -> pd.DataFrame:
    """A frame whose message cells are rendered as plain text (for CSVs)."""
    return df.apply(lambda col: col.map(lambda x: _said(x, tr)) if col.dtype == object else col)


def swot_table(s: pd.DataFrame, tr) -> pd.DataFrame:
    """The full SWOT with its evidence (annex)."""
    origin = {"data": "Data", "staff": "Staff input", "analyst": "Analyst", "analyst (reworded)": "Data, reworded"}
    return pd.DataFrame({
        "": s["quadrant"].astype(str).str.capitalize(), "Item": [_said(x, tr) for x in s["text"]],
        "Evidence": [_said(x, tr) for x in s["evidence"]],
        "Source": s["origin"].map(origin).fillna(s["origin"]),
        "See section": ["–" if pd.isna(x) or not x else SECTION_NAMES.get(x, x) for x in s["section"]],
    })


def swot_quadrants(s: pd.DataFrame, tr) -> tuple[list, list, list, list]:
    """The SWOT items per quadrant as grid items (text and evidence rendered)."""
    from cxlib.report import blocks

    out = []
    for q in ("strength", "weakness", "opportunity", "threat"):
        rows = s[s["quadrant"].astype(str) == q]
        out.append([blocks.SwotItem(_said(r["text"], tr), _said(r["evidence"], tr))
                    for _, r in _spread(rows).iterrows()])
    return tuple(out)


def _spread(rows: pd.DataFrame) -> pd.DataFrame:
    """Items in turns of their kind (touchpoint, theme, abandonment, segment...), data before staff, so
    a short grid shows one of each kind before a second of any."""
    kind = rows["id"].astype(str).str.split("-").str[1].fillna("") if len(rows) else rows["id"]
    data = rows["origin"].astype(str).str.startswith("data") if len(rows) else rows["id"]
    turn = rows.assign(_k=kind.values).groupby("_k", sort=False).cumcount()
    return rows.assign(_d=(~data).astype(int), _t=turn).sort_values(["_d", "_t"], kind="stable").drop(columns=["_d", "_t"])


def recommendations_table(r: pd.DataFrame, tr=None) -> pd.DataFrame:
    """recommendations.rank as a table."""
    kinds = {"touchpoint": "Fix a touchpoint", "touchpoint_gap": "Fix a touchpoint", "churn": "Keep customers",
             "funnel": "Fix the funnel"}
    say = (lambda x: _said(x, tr)) if tr is not None else (lambda x: x)
    return pd.DataFrame({
        "Rank": r["rank"], "Action": [say(x) for x in r["action"]], "Owner": [say(x) for x in r["owner"]],
        "Kind": r["kind"].map(kinds).fillna(r["kind"]), "Impact": [say(x) for x in r["impact_text"]],
        "Effort": r["effort"], "Evidence": [say(x) for x in r["evidence"]],
    })


def top_actions(recs: pd.DataFrame, tr) -> list:
    """The first three recommendations as first-screen actions (with owner and impact)."""
    from cxlib.report import blocks

    return [blocks.Action(_said(r["action"], tr), owner=_said(r["owner"], tr), impact=_said(r["impact_text"], tr))
            for _, r in recs.head(3).iterrows()]


def personas_markdown(cards, tr, market: str | None = None, currency: str | None = None) -> str:
    """Persona cards in the report's language (:func:`cxlib.report.personas.persona_cards`)."""
    from cxlib.report import personas

    return personas.persona_cards(cards, tr, market=market, currency=currency)


def customers_intro(store, tr) -> str:
    """The customers section's heading and what its single customer view joins: only the tables
    the client gave (the view is built from those alone)."""
    parts = [("customers", "src.crm"), ("orders", "src.orders"), ("web_events", "src.web"),
             ("interactions", "src.support"), ("survey_responses", "src.survey")]
    have = [tr(key) for table, key in parts if store.has(table)
            and (table == "customers" or store.has_column(table, "customer_id"))]
    if len(have) == 1:
        return tr("customers.intro_crm")
    return tr("customers.intro", sources=tr("pres.persona.and", first=tr("pres.persona.comma").join(have[:-1]),
                                             last=have[-1]))


def churn_intro(runs, tr) -> str:
    """The churn section's heading and what it holds, from the parts that run (``runs(name)``)."""
    parts = [("churn_by_period", "periods"), ("churn_signals", "signals"), ("churn_by_attribute", "attributes"),
             ("churn_model", "model")]
    said = [tr(f"churn.intro.{key}") for name, key in parts if runs(name)]
    return tr("churn.intro") + ("\n\n" + " ".join(said) if said else "")


def churn_model_intro(cm: dict, tr) -> str:
    """The heading and what the churn model is, in its mode: the horizon and the signals the data
    measured (time-windowed), or a snapshot's association without a forecast."""
    head = tr("churn_model.h")
    if cm["mode"] != "windowed":
        return head + "\n\n" + tr("churn_model.snapshot")
    m = cm["model"]
    used = [s for s in m.kinds if s != "ces_missing"]  # ces_missing goes with high_effort
    signals = tr("pres.persona.comma").join(tr(f"churn.signal.{s}") if tr.has(f"churn.signal.{s}") else s for s in used)
    return head + "\n\n" + tr("churn_model.windowed", horizon=m.attrs.get("horizon_days"), signals=signals)


def churn_model_notes(m, tr) -> str:
    """The churn model in words: which model gives the risk scores and why, its baselines, the sample,
    and the columns it left out (with the reason for each)."""
    from cxlib.report.display import md_escape

    lines = []
    comp = m.comparison.set_index("model") if len(m.comparison) else None
    if m.selection in ("boosting ranks better", "boosting not better") and comp is not None \
            and {"logistic", "boosting"} <= set(comp.index):
        d = m.auc_difference
        lines.append(tr("churn.selection." + ("boosting" if m.selection == "boosting ranks better" else "logistic"),
                        b=comp.loc["boosting", "auc"], l=comp.loc["logistic", "auc"], lo=d[1], hi=d[2]))
    else:
        lines.append(tr("churn.selection.asked", model=tr("churn.model." + m.model)))
    if m.n < m.n_labelled:
        lines.append(tr("churn.sampled", n=m.n, total=m.n_labelled))
    lines.append(tr("churn.baseline", rate=m.base_rate, brier=m.brier_base))
    out = " ".join(lines)
    dropped = m.dropped if m.dropped is not None else pd.DataFrame()
    if len(dropped):
        items = []
        for _, r in dropped.iterrows():
            key = f"churn.drop.{r['reason']}"
            if not tr.has(key):
                continue
            items.append("- " + tr(key, column=md_escape(r["column"]), level=md_escape(r.get("level", "")),
                                   statistic=float(r["statistic"]) if pd.notna(r.get("statistic")) else 0.0,
                                   related=md_escape(r.get("related", "") if pd.notna(r.get("related")) else "")))
        if items:
            out += "\n\n" + tr("churn.drop.h") + ":\n\n" + "\n".join(items)
    return out


def metric_axis(metric: str) -> str:
    """The axis label (with its unit) of a score metric."""
    return {"nps": "NPS (points)", "csat": "CSAT top-2-box (%)", "csat_mean": "Mean rating (1-5)",
            "ces": "CES mean (1-7)", "ces_easy": "CES easy (%)"}.get(metric, metric)


def churn_extremes(t: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """For each attribute whose churn differs across its groups (chi-square p < alpha), its groups
    with the highest and the lowest churn (adequate bases only): the compact view for the report."""
    rows = []
    for _, g in t.groupby("attribute", sort=False):
        if not (g["p_value"].iloc[0] < alpha):
            continue
        ok = g[~g["small_base"].astype(bool)].sort_values("rate")
        if len(ok) >= 2:
            rows += [ok.iloc[-1], ok.iloc[0]]
    out = pd.DataFrame(rows)
    if out.empty:
        return t.iloc[0:0]
    spread = out.groupby("attribute")["rate"].transform(lambda r: r.max() - r.min())
    return out.assign(_s=spread).sort_values(["_s", "rate"], ascending=False).drop(columns="_s").head(12)

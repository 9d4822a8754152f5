"""Presentation of the mapping method's parts: the questions answered, paths and rules that end in
churn or abandonment, the map's validation by staff, and what changed since the last map.

Each function takes an analysis result (:mod:`cxlib.journey.questions`, ``sequences``,
``validation``, ``history``) and the report's :class:`~cxlib.report.i18n.Translator`, and returns a
reader table (plain strings, escaped by the table layer) or Markdown prose (escaped here).
"""

from __future__ import annotations

import pandas as pd

from cxlib.report.display import fmt_ci, fmt_int, fmt_num, fmt_pct, md_escape
from cxlib.report.tables import label


def _words(tr, key: str, **values) -> str:
    return tr(key, **values) if tr.has(key) else key


def _evidence_line(r, tr, labels: dict) -> str:
    metric = _words(tr, f"jq.metric.{r['metric']}", detail=r["detail"] if pd.notna(r["detail"]) else "")
    scope = r["scope"]
    if r["scope_kind"] == "touchpoint":
        metric += f" ({labels.get(scope, scope)})"
    elif r["scope_kind"] == "reason":  # a contact reason: the client's label for it, or the template's term
        metric += f" ({tr.term(scope)})"
    return f"{metric}: {fmt_pct(r['value'])} {fmt_ci(r['ci_low'] * 100, r['ci_high'] * 100, 0)} (n\u00a0=\u00a0{fmt_int(r['n'])})"


def questions_table(result: dict, tr, labels: dict, top: int = 2) -> pd.DataFrame:
    """One row per question: the group, the question, the answer in words, its main evidence."""
    answers, evidence = result["answers"], result["evidence"]
    rows = []
    for _, a in answers.iterrows():
        ev = evidence[(evidence["question"] == a["question"]) & evidence["in_verdict"].astype(bool)]
        ev = ev.sort_values(["decisive", "value"], ascending=[False, False]).head(top)
        lines = [_evidence_line(r, tr, labels) for _, r in ev.iterrows()]
        if a["status"] != "answered" and a["needs"]:
            lines = [tr("jq.needs", needs=a["needs"])]
        rows.append({tr("jq.col.question"): tr(a["question_key"]),
                     tr("jq.col.answer"): tr(a["answer_key"]),
                     tr("jq.col.verdict"): tr(f"jq.verdict.{a['verdict'] if a['status'] == 'answered' else 'none'}"),
                     tr("jq.col.evidence"): "; ".join(lines) or "–"})
    return pd.DataFrame(rows)


def _step(step: str, tr) -> str:
    """A step of a path in words: a kind of step of the strings (jq.step.<kind>), else a web event
    or touchpoint id by its label (params labels) or term."""
    kind, _, where = str(step).partition(":")
    word = tr(f"jq.step.{kind}") if tr.has(f"jq.step.{kind}") else tr.term(kind)
    return f"{word} ({tr.term(where)})" if where else word


def rules_table(res, tr, top: int = 6) -> pd.DataFrame:
    """The behaviours that come before churn or abandonment, as rules with support and lift."""
    t = res.table[~res.table["small_base"].astype(bool)].sort_values("rank").head(top)
    return pd.DataFrame({
        tr("jq.col.rule"): [_words(tr, f"jq.rule.{r}", days=d if pd.notna(d) else 0) for r, d in zip(t["rule"], t["days"],
                                                                                                   strict=True)],
        "n": [fmt_int(v) for v in t["n"]],
        tr("jq.col.rate"): [f"{fmt_pct(v)} {fmt_ci(lo * 100, hi * 100, 0)}" for v, lo, hi in
                            zip(t["rate"], t["ci_low"], t["ci_high"], strict=True)],
        tr("jq.col.lift"): [f"{fmt_num(v, 1)} {fmt_ci(lo, hi, 1)}" for v, lo, hi in
                            zip(t["lift"], t["lift_ci_low"], t["lift_ci_high"], strict=True)],
        tr("jq.col.p_adj"): ["< 0.001" if p < 0.001 else f"{p:.3f}" for p in t["p_adj"]],
    })


def paths_table(res, tr, top: int = 5) -> pd.DataFrame:
    """The most telling step sequences before the outcome, with the rate and lift of each."""
    t = res.table[~res.table["small_base"].astype(bool)].sort_values("rank").head(top)
    return pd.DataFrame({
        tr("jq.col.path"): [" → ".join(_step(s, tr) for s in steps) for steps in t["steps"]],
        "n": [fmt_int(v) for v in t["n"]],
        tr("jq.col.rate"): [f"{fmt_pct(v)} {fmt_ci(lo * 100, hi * 100, 0)}" for v, lo, hi in
                            zip(t["rate"], t["ci_low"], t["ci_high"], strict=True)],
        tr("jq.col.lift"): [f"{fmt_num(v, 1)} {fmt_ci(lo, hi, 1)}" for v, lo, hi in
                            zip(t["lift"], t["lift_ci_low"], t["lift_ci_high"], strict=True)],
    })


def validation_table(v, tr, labels: dict) -> pd.DataFrame:
    """Touchpoints where staff and the data disagree (or staff name what the data never sees)."""
    c = v.coverage[~v.coverage["status"].isin(["confirmed", "not_reviewed"])]
    return pd.DataFrame({
        "Touchpoint": [labels.get(t, lbl if pd.notna(lbl) else t) for t, lbl in zip(c["touchpoint"], c["label"],
                                                                                   strict=True)],
        tr("jq.col.status"): [_words(tr, f"jq.validation.{s}") for s in c["status"]],
        tr("jq.col.records"): [fmt_int(v) for v in c["n_records"]],
    })


def changes_markdown(result: dict, tr, labels: dict, previous: str | None, min_base: int = 30,
                     limit: int = 8) -> str:
    """What changed on the map since the last one, as a list (or that nothing did): tested changes,
    and a new top pain point only where both maps rest on at least ``min_base`` texts."""
    s = result["summary"]
    changes = result["changes"]
    pains = changes.pain_points.set_index("touchpoint") if len(changes.pain_points) else None
    if pains is not None and len(s):
        def enough(subject):
            if subject not in pains.index:
                return False
            r = pains.loc[subject]
            before, after = pd.to_numeric(r["n_texts_before"], errors="coerce"), pd.to_numeric(r["n_texts_after"],
                                                                                            errors="coerce")
            return bool(pd.notna(before) and pd.notna(after) and min(before, after) >= min_base)
        s = s[(s["kind"] != "new_top_pain") | s["subject"].map(enough)]
    order = {"touchpoint_added": 0, "touchpoint_removed": 0, "score": 1, "question": 2, "pain_share": 3,
             "new_top_pain": 4}
    s = s.assign(_o=s["kind"].map(order).fillna(9)).sort_values("_o", kind="stable").head(limit)
    if changes.previous is None:
        return tr("jq.history.first")
    if s.empty:
        return tr("jq.history.nothing", previous=changes.previous or previous or "–")
    lines = []
    for _, r in s.iterrows():
        if r["kind"] == "question" and tr.has(f"jq.{r['subject']}.question"):
            # a journey question: asked in words, its answers (yes, partly, no) as terms
            lines.append("- " + tr("jq.change.question_asked", question=tr(f"jq.{r['subject']}.question"),
                                   before=_value(_answer(r["before"], tr)), after=_value(_answer(r["after"], tr))))
            continue
        subject = md_escape(labels.get(r["subject"], r["subject"]))
        measure = label(r["measure"]) if isinstance(r["measure"], str) else r["measure"]
        if r["kind"] == "score":
            measure = _words(tr, f"jq.measure.{r['measure']}")
        lines.append("- " + _words(tr, f"jq.change.{r['kind']}", subject=subject, measure=md_escape(measure),
                                    before=_value(r["before"]), after=_value(r["after"]),
                                    p=float(r["p_adj"]) if pd.notna(r["p_adj"]) else float("nan")))
    return "\n".join(lines)


def _answer(x, tr):
    """A journey question's answer ('yes', 'partly', 'no') as the report's term."""
    return tr.term(x) if isinstance(x, str) else x


def _value(x):
    if isinstance(x, str):
        return md_escape(x)
    return float("nan") if x is None or pd.isna(x) else float(x)


def history_table(hist, labels: dict) -> pd.DataFrame | None:
    """The map history (annex): CSAT per touchpoint and run, one column per run."""
    if hist is None or hist.touchpoints.empty:
        return None
    t = hist.touchpoints
    w = t.pivot_table(index="touchpoint", columns="run", values="csat_mean", aggfunc="first")
    w.index = [labels.get(i, i) for i in w.index]
    return w.map(lambda v: fmt_num(v, 2)).reset_index(names="Touchpoint")


def churn_intro(res, tr, steps: int, as_of: str | None, min_base: int) -> str:
    """The paths-to-churn paragraph with the bases it rests on. ``as_of``: the reporting period's
    label; None (a whole-file report) says the date the paths were read up to instead."""
    as_of = as_of or res.as_of or "–"
    return tr("jq.paths.churn_intro", steps=steps, n=int(res.n), k=int(res.n_outcome), as_of=as_of,
              rate=float(res.rate) if pd.notna(res.rate) else 0.0, min_base=min_base)


def abandon_intro(res, tr, start: str, end: str, steps: int) -> str:
    """The paths-to-abandonment paragraph with the bases it rests on."""
    return tr("jq.paths.abandon_intro", start=md_escape(tr.term(start)), end=md_escape(tr.term(end)), steps=steps,
              n=int(res.n),
              k=int(res.n_outcome), rate=float(res.rate) if pd.notna(res.rate) else 0.0)


def validation_intro(v, tr) -> str:
    fb = v.feedback
    roles = fb["role"].nunique() if "role" in fb else 0
    return tr("jq.validation.intro", n_rows=len(fb), n_roles=max(int(roles), 1))


def history_intro(result: dict, tr, alpha: float, previous: str | None) -> str:
    prev = result["changes"].previous or previous or "–"
    return tr("jq.history.intro", previous=md_escape(prev), alpha=alpha)

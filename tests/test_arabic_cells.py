"""Composed table cells, chart furniture and sentences in Arabic: whole texts of the strings with the
client's values named by its labels (never English words left in, never word by word); the English
as it always was."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from cxlib.decide.words import Message, Term
from cxlib.report import method, plots, tables
from cxlib.report.i18n import LRI, PDI, Composed, Translator, compose

LATIN = re.compile(r"[A-Za-z]+")
LABELS = {"ar": {"Value Seekers": "الباحثون عن القيمة", "Families": "العائلات", "SAR": "ريال",
                 "checkout_start": "بدء الدفع", "purchase": "الشراء", "Riyadh": "الرياض",
                 "order_status": "حالة الطلب"}}


def _words(text: str) -> set[str]:
    return set(LATIN.findall(re.sub("[\u2066-\u2069]", "", str(text)))) - {"n", "p"}


@pytest.fixture
def ar():
    return Translator("ar", labels=LABELS)


def test_a_composed_cell_is_english_as_written_and_said_whole_in_arabic(ar):
    c = compose("cell.share_of", share="45%", base="596")
    assert c == "45% of 596" and isinstance(c, Composed)
    assert Translator("en").table(pd.DataFrame({"x": [c]})).iloc[0, 0] == "45% of 596"
    out = ar.table(tables._frame({"Churn with": [c], "Group": [Term("Riyadh")], "Item": ["Riyadh"]}),
                   keep=("Group", "Item"))
    assert re.sub("[\u2066-\u2069]", "", out.iloc[0, 0]) == "45% من 596"
    assert out.iloc[0, 1] == "الرياض"       # a term in a kept column: the client's label
    assert out.iloc[0, 2] == "Riyadh"       # a kept cell as given
    assert list(out.columns)[0] == "التسرّب مع الإشارة"


def test_english_tables_keep_their_text():
    lift = pd.DataFrame({"signal": ["has_unresolved"], "rate_with": [0.45], "customers_with": [596],
                         "rate_without": [0.15], "customers_without": [1404], "risk_ratio": [3.08],
                         "rr_ci_low": [2.64], "rr_ci_high": [3.59], "significant": [True], "p_value": [0.0001]})
    t = tables.churn_table(lift)
    assert t.loc[0, "Churn with"] == "45% of 596" and t.loc[0, "Significant?"] == "yes (p < 0.001)"
    p = pd.DataFrame({"segment": ["Value Seekers"], "customers": [618], "share": [0.31], "revenue_per_customer": [1538],
                      "revenue_share": [0.22], "nps": [-23.0], "nps_ci_low": [-33.0], "nps_ci_high": [-13.0],
                      "churn_rate": [0.29], "top_channel": ["web"], "top_channel_share": [0.37]})
    s = tables.segments_table(p, "SAR")
    assert list(s.columns)[3] == "Revenue per customer (SAR)" and s.loc[0, "Top channel"] == "web (37%)"
    assert s.loc[0, "Segment"] == "Value Seekers"


def test_segment_table_is_arabic_but_for_the_numbers(ar):
    p = pd.DataFrame({"segment": ["Value Seekers", "Families"], "customers": [618, 437], "share": [0.31, 0.22],
                      "revenue_per_customer": [1538, 2388], "revenue_share": [0.22, 0.24], "nps": [-23.0, 16.0],
                      "nps_ci_low": [-33.0, 4.0], "nps_ci_high": [-13.0, 28.0], "churn_rate": [0.29, 0.25],
                      "top_channel": ["web", "app"], "top_channel_share": [0.37, 0.38]})
    out = ar.table(tables.segments_table(p, "SAR"), keep=("Segment", "Top channel"))
    assert list(out.columns)[3] == "الإيراد لكل عميل (ريال)"
    assert out.iloc[0, 0] == "الباحثون عن القيمة"
    assert re.sub("[\u2066-\u2069]", "", out.iloc[1, -1]) == "التطبيق (38%)" and f"{LRI}38%{PDI}" in out.iloc[1, -1]
    assert not _words(" ".join(map(str, [*out.columns, *out.to_numpy().ravel()])))


def test_crosstab_letters_and_bases_in_arabic():
    from cxlib.quant.crosstab import crosstab

    rng = pd.Series(range(400))
    df = pd.DataFrame({"nps_group": ["promoter" if i % 3 else "detractor" for i in rng],
                       "preferred_channel": ["app" if i % 2 else "web" for i in rng],
                       "w": 1.0 + (rng % 4) / 10})
    ct = crosstab(df, "nps_group", "preferred_channel", weights=df["w"])
    en = tables.format_crosstab(ct, "NPS group")
    assert list(en.columns)[1:] == ["app (A)", "web (B)"] and "(eff. " in en.iloc[-1, 1]
    out = Translator("ar").table(tables.crosstab_table(ct, "NPS group"))
    assert list(out.columns)[1:] == ["التطبيق (أ)", "الموقع الإلكتروني (ب)"]
    assert "الفعّال" in out.iloc[-1, 1] and re.sub("[\u2066-\u2069]", "", out.iloc[-1, 0]) == "القاعدة (n)"
    assert not _words(" ".join(map(str, [*out.columns, *out.to_numpy().ravel()])))


def test_significance_letters_run_in_the_abjad_order():
    ar = Translator("ar")
    assert ar.say(tables._letters("ABD"), markdown=False) == "أ ب د"
    assert Translator("en").say(tables._letters("ABD"), markdown=False) == "ABD"


def test_assist_notes_and_model_labels_are_composed(ar):
    assert tables._assist_note("not evaluated: 0 positive(s) < min_positives=5").message.key == "cell.not_evaluated"
    assert tables._assist_note("pooled over 9 evaluated code(s)") == "pooled over 9 evaluated code(s)"
    lab = tables._level_vs("Segment: Families (vs Value Seekers)", "Families", "Value Seekers")
    assert lab == "Segment: Families (vs Value Seekers)"
    assert ar.say(lab, markdown=False) == "الشريحة: العائلات (المرجع: الباحثون عن القيمة)"
    assert tables._level_vs("NPS: passive (vs promoter)", "passive", "promoter") == "NPS: passive (vs promoter)"
    assert not isinstance(tables._level_vs("NPS: passive (vs promoter)", "passive", "promoter"), Composed)


def test_plain_values_in_sentences_take_the_clients_label_or_the_term(ar):
    text = ar.say(Message("swot.staff", {"source": "Staff workshop", "role": Term("Store manager")}))
    assert LRI + "Staff workshop" + PDI in text   # client data without a label: isolated whole
    assert ar("cap.abandonment", start="checkout\\_start", end="purchase") == \
        ar("cap.abandonment", start="بدء الدفع", end="الشراء")
    assert "mobile" not in ar.say(Message("quote.source", {"source": "mobile", "touchpoint": "desktop"}))
    # English unchanged
    assert Translator("en")("cap.abandonment", start="checkout\\_start", end="purchase").count("checkout\\_start") == 2


def test_method_steps_reasons_and_question_changes_in_words(ar):
    assert method._step("checkout_start", ar) == "بدء الدفع"
    assert method._step("order_late", ar) == ar("jq.step.order_late")
    summary = pd.DataFrame([{"kind": "question", "subject": "knows_whom_to_contact", "measure": None,
                             "before": "yes", "after": "no", "p_adj": float("nan")}])
    changes = type("C", (), {"pain_points": pd.DataFrame(), "previous": "2026Q2"})()
    text = method.changes_markdown({"summary": summary, "changes": changes}, ar, {}, "2026Q2")
    assert "knows_whom" not in text and "كانت الإجابة نعم، وأصبحت الآن لا" in text
    en = method.changes_markdown({"summary": summary, "changes": changes}, Translator("en"), {}, "2026Q2")
    assert en.startswith("- Does the customer know") and "The answer was yes; it is now no." in en


def test_quotes_name_code_description_and_source_in_the_report_language(ar):
    book = type("B", (), {"table": pd.DataFrame({"code": ["late_delivery"], "description": ["Late, not yet here"]})})()
    quotes = pd.DataFrame({"text": ["My order arrived 2 days late."], "language": ["en"], "source": ["survey"],
                           "touchpoint": ["order_status"]})
    md = tables.quotes_markdown(["late_delivery"], lambda c: quotes, book, tr=Translator(
        "ar", labels={"ar": LABELS["ar"] | {"Late delivery": "تأخّر التوصيل", "Late, not yet here": "متأخر"}}))
    assert md.startswith("**تأخّر التوصيل**: متأخر") and "— *الاستبيان، حالة الطلب*" in md
    assert '{.quote lang="en" dir="ltr"}' in md  # an English quote keeps its own direction in an Arabic report
    assert "> My order arrived 2 days late\\.\n" in md  # the customer's words as written
    en = tables.quotes_markdown(["late_delivery"], lambda c: quotes, book, tr=Translator("en"))
    # in English a touchpoint without a term of its own reads as words, not as its identifier
    assert en.startswith("**Late delivery**: Late, not yet here") and "— *survey, order status*" in en
    assert 'dir="ltr"' not in en
    # a text whose export named no source ("other") is quoted without an attribution line
    unknown = quotes.assign(source="other", touchpoint=None)
    for t in (Translator("en"), ar):
        md = tables.quotes_markdown(["late_delivery"], lambda c, q=unknown: q, book, tr=t)
        assert "> My order arrived 2 days late\\.\n:::" in md and "—" not in md and "other" not in md
    only_tp = tables.quotes_markdown(["late_delivery"], lambda c: quotes.assign(source="other"), book,
                                     tr=Translator("en"))
    assert "— *order status*" in only_tp and "other" not in only_tp
    labelled = Translator("en", labels={"en": {"order_status": "Order tracking"}})  # the client's label wins
    assert "— *survey, Order tracking*" in tables.quotes_markdown(["late_delivery"], lambda c: quotes, book, tr=labelled)


def test_chart_furniture_is_arabic(ar):
    try:
        plots.set_theme(translator=ar)
        b = pd.DataFrame({"segment": ["Value Seekers", "Families"], "value": [-23.0, 16.0], "ci_low": [-33.0, 4.0],
                          "ci_high": [-13.0, 28.0], "n": [618, 20], "small_base": [False, True]})
        fig = plots.breakdown_chart(b, "segment", ar.term("NPS (latest)"))
        texts = [t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text"))]
        texts += [t.get_text() for leg in fig.legends for t in leg.get_texts()] + [fig.legends[0].get_title().get_text()]
        texts += [lbl.get_text() for lbl in fig.axes[0].get_yticklabels()]
        assert "صافي الترويج (الأحدث) حسب الشريحة" in texts
        assert not _words(" ".join(texts)), _words(" ".join(texts))
    finally:
        plots.set_theme()
    fig = plots.breakdown_chart(b, "segment", "NPS (latest)")
    assert fig.axes[0].get_title() == "NPS (latest) by segment"
    assert [t.get_text() for t in fig.legends[0].get_texts()][1] == "n < 30: small base, not ranked"
    assert fig.axes[0].get_ylabel() == "Segment"
    # the group column on the axis in words: a template term, a client's identifier, a client's header
    for column, said in (("preferred_channel", "Preferred channel"), ("loyalty_tier", "Loyalty tier"),
                         ("Loyalty Tier", "Loyalty Tier")):
        fig = plots.breakdown_chart(b.rename(columns={"segment": column}), column, "NPS (latest)")
        assert fig.axes[0].get_ylabel() == said

"""The report's words: every text in both languages, every key the notebooks use exists,
numbers keep their order inside Arabic, customer text is never translated."""

from __future__ import annotations

import re

import nbformat
import pandas as pd
import pytest

from cxlib import paths
from cxlib.report.i18n import LRI, PDI, Translator, _load, isolate_numbers

_ARABIC = re.compile(r"[\u0600-\u06FF]")


def test_every_text_and_term_has_english_and_arabic():
    from cxlib.report.i18n import STRINGS

    data = _load(str(STRINGS))
    assert len(data["text"]) > 80 and len(data["terms"]) > 100
    for section in ("text", "terms"):
        for key, val in data[section].items():
            assert val["en"].strip() and val["ar"].strip(), key
    # Arabic texts really are Arabic (not a copy of the English); a text without Arabic letters is
    # only a pattern of values ("{group} (n = {n})")
    for key, v in data["text"].items():
        assert _ARABIC.search(v["ar"]) or not re.search(r"[A-Za-z]{2,}", re.sub(r"\{[^}]*\}", "", v["ar"])), key
    # and name nothing in Latin script but the n and p of statistics (and file paths in code spans)
    for section in ("text", "terms"):
        for key, v in data[section].items():
            words = re.findall(r"[A-Za-z]\w*", re.sub(r"\{[^}]*\}|`[^`]*`", "", v["ar"]))
            assert set(words) <= {"n", "p"}, (key, words)


def test_every_key_the_notebooks_use_exists_in_both_languages():
    keys = set()
    for nb_path in sorted(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(nb_path, as_version=4).cells:
            keys |= set(re.findall(r'tr\("([a-z_.0-9]+)"', cell.source))
    # keys completed in code: tr("sentiment.method." + method), tr("cap.churn_model_" + mode), tr("note.tone." + method)
    partial = {k for k in keys if k.endswith((".", "_"))}
    assert partial == {"sentiment.method.", "cap.churn_model_", "note.tone."}
    keys = (keys - partial) | {"sentiment.method.calibrated", "sentiment.method.lexicon",
                               "cap.churn_model_windowed", "cap.churn_model_snapshot",
                               "note.tone.calibrated", "note.tone.lexicon"}
    assert len(keys) > 50
    for lang in ("en", "ar"):
        tr = Translator(lang)
        missing = [k for k in keys if k not in tr._text]
        assert not missing, f"{lang}: {missing}"


def test_numbers_and_latin_runs_are_isolated_in_arabic_only():
    ar, en = Translator("ar"), Translator("en")
    text = ar("sum.kpi.head", label="صافي نقاط الترويج", value="+12", period="2026Q3", lo="+7", hi="+18", n=740)
    assert f"{LRI}+12{PDI}" in text and f"{LRI}2026Q3{PDI}" in text and f"{LRI}n = 740{PDI}" in text
    assert LRI not in en("sum.kpi.head", label="NPS", value="+12", period="2026Q3", lo="+7", hi="+18", n=740)
    assert isolate_numbers("# العنوان {#sec-x}") == "# العنوان {#sec-x}"  # anchors untouched
    assert ar("summary.h") == "# الملخص التنفيذي {#sec-summary}"


def test_table_translates_headers_and_labels_but_not_customer_text():
    ar = Translator("ar")
    sig = ar("cell.sig.yes", p=ar("p.value", p=0.003))
    df = pd.DataFrame({"Quadrant": ["Concentrate here"], "Item": ["No refund, no reply"], "Significant?": [sig],
                       "Flag": ["yes"]})
    out = ar.table(df, keep=("Item",))
    assert list(out.columns) == ["الربع", "البند", "دالّ إحصائيًا؟", "Flag"]
    assert out.iloc[0, 0] == "ركّز هنا" and out.iloc[0, 1] == "No refund, no reply"
    assert re.sub("[\u2066-\u2069]", "", out.iloc[0, 2]) == "نعم (p = 0.003)" and out.iloc[0, 3] == "نعم"
    assert f"{LRI}p = 0.003{PDI}" in out.iloc[0, 2]
    assert Translator("en").table(df) is df


def test_labels_are_never_translated_word_by_word():
    """A composed label is a whole text with values (cell.*, pres.chart.*), never pieces."""
    from cxlib.report.i18n import STRINGS

    assert _load(str(STRINGS))["fragments"] == []
    ar = Translator("ar")
    # an exact term is translated; a label made of known words is not patched word by word
    assert ar.term("segment") == "الشريحة" and ar.term("NPS") == "صافي الترويج"
    assert ar.term("NPS by segment") == "NPS by segment"
    assert ar("pres.chart.by", metric=ar.term("NPS"), by=ar.term("segment")) == "صافي الترويج حسب الشريحة"
    assert ar("cell.effective_n", n="120", eff="95") == f"{LRI}120{PDI} (الفعّال {LRI}95{PDI})"
    assert ar("pres.chart.small_base", min_base=30) == f"{LRI}n < 30{PDI} (قاعدة صغيرة)"


def test_the_clients_labels_name_its_values_in_each_language():
    labels = {"ar": {"Value Seekers": "الباحثون عن القيمة", "store": "المعرض"}, "en": {"store": "showroom"}}
    ar, en = Translator("ar", labels=labels), Translator("en", labels=labels)
    assert ar.term("Value Seekers") == "الباحثون عن القيمة" and en.term("Value Seekers") == "Value Seekers"
    assert ar.term("store") == "المعرض" and en.term("store") == "showroom"  # the client's word wins over ours
    assert Translator("ar").term("store") == "الفرع"


def test_the_arabic_demo_names_its_segments_codes_and_touchpoints_in_arabic(demo_dir):
    """Every segment, theme, code and touchpoint id of the demo data has an Arabic label in
    params/demo-ar.yml, and every label is Arabic."""
    from cxlib.data.params import load_params

    p = load_params("demo-ar")
    labels = p.labels["ar"]
    assert all(_ARABIC.search(v) for v in labels.values())
    cust = pd.read_csv(demo_dir / "customers.csv")
    book = pd.read_csv(demo_dir / "codebook.csv")
    verb = pd.read_csv(demo_dir / "verbatims.csv")
    values = set(cust["segment"]) | set(book["theme"]) | set(verb["touchpoint"].dropna())
    for col in ("region", "city", "income_band", "plan", "payment_method"):
        values |= set(cust[col].dropna())
    values |= {c.replace("_", " ").capitalize() for c in book["code"]}
    tr = Translator("ar", labels=p.labels)
    assert not [v for v in sorted(values) if not _ARABIC.search(tr.term(v))]


def test_values_filled_into_english_texts_are_said_as_their_terms():
    """A whole-file report's period ('all') read 'Headline KPIs, all vs –' and 'NPS is +23 in all';
    values that are terms or the client's labels are now said as such in English too."""
    en = Translator("en", labels={"en": {"store": "showroom"}})
    assert en("cap.kpis", period="all", previous="–") == "Headline KPIs, the whole file vs –"
    assert en("cap.kpis", period="2026Q3", previous="2026Q2") == "Headline KPIs, 2026Q3 vs 2026Q2"
    assert en("cap.kpis", period="store", previous="paid\\_search") == "Headline KPIs, showroom vs paid search"
    # a term said as written keeps the Markdown escaping it came with
    assert en("cap.kpis", period="\\* significant difference", previous="–").startswith(
        "Headline KPIs, \\* significant")
    assert Translator("ar")("cap.kpis", period="all", previous="–").startswith("المؤشرات الرئيسية، الملف كاملًا")


def test_unknown_key_and_language_are_clear_errors():
    with pytest.raises(KeyError, match="no text 'nope'"):
        Translator("en")("nope")
    with pytest.raises(ValueError, match="not supported"):
        Translator("fr")


def test_the_generic_codebook_is_named_in_arabic():
    """The template's own codebook (used when a client gives none) has an Arabic name for
    every theme, code and description."""
    book = pd.read_csv(paths.ASSETS_DIR / "codebook_generic.csv")
    ar = Translator("ar")
    words = set(book["theme"]) | set(book["description"]) | {c.replace("_", " ").capitalize() for c in book["code"]}
    assert not [w for w in sorted(words) if not _ARABIC.search(ar.term(w))]


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_churn_and_customer_intros_name_only_what_the_data_holds(lang):
    """The churn model's intro names the horizon and the signals the model used, joined with the
    language's comma; the customers' intro names only the tables given."""
    from types import SimpleNamespace

    from cxlib.report import tables

    tr = Translator(lang)
    model = SimpleNamespace(kinds={"nps_group": "categorical", "high_effort": "flag", "ces_missing": "flag"},
                            attrs={"horizon_days": 60})
    text = tables.churn_model_intro({"mode": "windowed", "model": model}, tr)
    sep = "، " if lang == "ar" else ", "
    assert tr("churn.signal.nps_group") + sep + tr("churn.signal.high_effort") in text and "60" in text
    assert tr("churn.signal.has_unresolved") not in text and tr("churn.signal.late_deliveries") not in text
    snap = tables.churn_model_intro({"mode": "snapshot", "model": model}, tr)
    assert tr("churn_model.snapshot") in snap and "60" not in snap

    class Store:
        def __init__(self, given):
            self.given = given

        def has(self, t):
            return t in self.given

        def has_column(self, t, c):
            return t in self.given

    assert tables.customers_intro(Store({"customers"}), tr) == tr("customers.intro_crm")
    both = tables.customers_intro(Store({"customers", "survey_responses"}), tr)
    assert tr("src.survey") in both and tr("src.orders") not in both and tr("src.support") not in both


def test_what_a_left_out_analysis_needs_reads_as_english_and_arabic():
    from cxlib.report import tables

    reasons = [{"kind": "table", "table": "interactions"}, {"kind": "table", "table": "survey_responses"}]
    en = tables.needs_text(reasons, Translator("en"))
    assert "an interactions table" in en and "a survey responses table" in en, en
    assert tables.needs_text([{"kind": "result", "result": "funnel"}], Translator("en")).startswith("the web funnel")
    ar = tables.needs_text(reasons, Translator("ar"))
    assert "جدول" in ar and not re.search(r"\ban?\b", ar), ar
    tables_ar = tables.needs_text([{"kind": "table", "table": t} for t in
                                   ("web_events", "interactions", "orders", "map_feedback", "manual_codes")],
                                  Translator("ar"))
    assert not re.search(r"[A-Za-z]", tables_ar), tables_ar  # every table named in Arabic
    # column names keep their order inside Arabic: one isolate around the whole escaped run
    cols = [{"kind": "any_column", "columns": ["survey_responses.nps", "survey_responses.csat"]},
            {"kind": "column", "table": "texts", "column": "conversation_id"}]
    ar = tables.needs_text(cols, Translator("ar"))
    assert f"{LRI}survey\\_responses\\.nps, survey\\_responses\\.csat{PDI}" in ar, ar
    assert f"{LRI}conversation\\_id{PDI}" in ar, ar

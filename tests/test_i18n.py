"""The report's words: every text in both languages, every key the notebooks use exists,
numbers keep their order inside Arabic, customer text is never translated."""

from __future__ import annotations

import re

import nbformat
import pandas as pd
import pytest

from cxlib import paths
from cxlib.report.i18n import LRI, PDI, Translator, _load, isolate_numbers


def test_every_text_and_term_has_english_and_arabic():
    from cxlib.report.i18n import STRINGS

    data = _load(str(STRINGS))
    assert len(data["text"]) > 80 and len(data["terms"]) > 100
    for section in ("text", "terms"):
        for key, val in data[section].items():
            assert val["en"].strip() and val["ar"].strip(), key
    # Arabic texts really are Arabic (not a copy of the English)
    arabic = re.compile(r"[\u0600-\u06FF]")
    assert all(arabic.search(v["ar"]) for k, v in data["text"].items() if not k.startswith("p."))


def test_every_key_the_notebooks_use_exists_in_both_languages():
    keys = set()
    for nb_path in sorted(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(nb_path, as_version=4).cells:
            keys |= set(re.findall(r'tr\("([a-z_.0-9]+)"', cell.source))
    # keys completed in code: tr("sentiment.method." + method), tr("cap.churn_model_" + mode)
    partial = {k for k in keys if k.endswith((".", "_"))}
    assert partial == {"sentiment.method.", "cap.churn_model_"}
    keys = (keys - partial) | {"sentiment.method.calibrated", "sentiment.method.lexicon",
                               "cap.churn_model_windowed", "cap.churn_model_snapshot"}
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
    df = pd.DataFrame({"Quadrant": ["Concentrate here"], "Item": ["No refund, no reply"], "Significant?": ["yes (p = 0.003)"]})
    out = ar.table(df, keep=("Item",))
    assert list(out.columns) == ["الربع", "البند", "دالّ إحصائيًا؟"]
    assert out.iloc[0, 0] == "ركّز هنا" and out.iloc[0, 1] == "No refund, no reply"
    assert out.iloc[0, 2] == f"نعم ({LRI}p = 0.003{PDI})"
    assert Translator("en").table(df) is df


def test_unknown_key_and_language_are_clear_errors():
    with pytest.raises(KeyError, match="no text 'nope'"):
        Translator("en")("nope")
    with pytest.raises(ValueError, match="not supported"):
        Translator("fr")

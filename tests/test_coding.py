"""Voice of the customer: normalization, codebook compilation, auto-coding, redaction, drivers."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from cxlib import coding
from cxlib.exceptions import DataValidationError

# --- normalization -----------------------------------------------------------------------


def test_normalize_arabic_diacritics_tatweel_and_hamza():
    assert coding.normalize_text("التَّوْصِيل تأخّر كثيــراً") == "التوصيل تاخر كثيرا"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("أحمد", "احمد"),  # alef with hamza above
        ("إلى", "الي"),  # alef with hamza below + alef maqsura
        ("آخر", "اخر"),  # alef madda
        ("ٱلمدينة", "المدينه"),  # alef wasla + taa marbuta
        ("مستشفى", "مستشفي"),  # alef maqsura
        ("هٰذا", "هذا"),  # superscript alef
        ("طلب رقم ١٢٣ و ۴۵۶", "طلب رقم 123 و 456"),  # Arabic-Indic and Persian digits
    ],
)
def test_normalize_arabic_letters_and_digits(raw, expected):
    assert coding.normalize_text(raw, "ar") == expected


def test_normalize_english_and_whitespace():
    assert coding.normalize_text("  Late\tDELIVERY\n again ", "en") == "late delivery again"
    assert coding.normalize_text(None) == ""


def test_normalize_series_matches_scalar_and_keeps_missing():
    s = pd.Series(["The  Driver WAS rude", None, "التَّوصيل تأخّر"], dtype=object)
    out = coding.normalize_series(s)
    assert out.iloc[0] == "the driver was rude"
    assert pd.isna(out.iloc[1])
    assert out.iloc[2] == coding.normalize_text(s.iloc[2]) == "التوصيل تاخر"


# --- codebook ----------------------------------------------------------------------------


def _codebook(overrides: dict | None = None) -> pd.DataFrame:
    rows = [
        {"code": "late", "theme": "Delivery", "description": "late delivery", "valence": "negative",
         "patterns_en": r"\blate\b|delay", "patterns_ar": "تأخر|متأخر"},
        {"code": "rude", "theme": "Staff", "description": "rude staff", "valence": "negative",
         "patterns_en": "rude", "patterns_ar": "وقح"},
        {"code": "friendly", "theme": "Staff", "description": "friendly staff", "valence": "positive",
         "patterns_en": "friendly|helpful", "patterns_ar": None},
        {"code": "price", "theme": "Price", "description": "expensive", "valence": "negative",
         "patterns_en": None, "patterns_ar": "غالي"},
    ]
    for (i, col), val in (overrides or {}).items():
        rows[i][col] = val
    return pd.DataFrame(rows)


def test_compile_codebook_builds_one_regex_per_code():
    book = coding.compile_codebook(_codebook(), source="data/x/codebook.csv")
    assert book.codes == ["late", "rude", "friendly", "price"]
    assert len(book) == 4
    assert book.regexes["late"].search("التوصيل تاخر")  # the pattern's hamza was folded
    assert book.regexes["late"].search("DELAYED")  # case-insensitive
    assert not book.regexes["late"].search("plate")
    assert book.regexes["friendly"].pattern == "(?:friendly|helpful)"


def test_compile_codebook_bad_regex_names_file_row_code_and_fix():
    cb = _codebook()
    cb.loc[1, "patterns_en"] = "rude("
    with pytest.raises(DataValidationError) as e:
        coding.compile_codebook(cb, source="codebook.csv")
    msg = str(e.value)
    assert "codebook.csv" in msg and "row 3" in msg and "'rude'" in msg and "patterns_en" in msg
    assert "missing )" in msg and "backslash" in msg
    assert e.value.failures.loc[0, "row"] == 3


def test_compile_codebook_duplicate_code():
    cb = pd.concat([_codebook(), _codebook().iloc[[0]]], ignore_index=True)
    with pytest.raises(DataValidationError, match=r"row 6, code 'late'.*duplicate code \(first on row 2\)"):
        coding.compile_codebook(cb)


def test_compile_codebook_empty_patterns_and_empty_match():
    with pytest.raises(DataValidationError, match=r"row 5, code 'price'.*no pattern"):
        coding.compile_codebook(_codebook({(3, "patterns_ar"): "  "}))
    with pytest.raises(DataValidationError, match=r"row 2, code 'late'.*matches empty text"):
        coding.compile_codebook(_codebook({(0, "patterns_en"): "late|"}))


def test_compile_codebook_reports_every_problem_and_missing_columns():
    cb = _codebook({(0, "patterns_en"): "[late", (3, "patterns_ar"): None})
    with pytest.raises(DataValidationError, match="2 problem") as e:
        coding.compile_codebook(cb)
    assert list(e.value.failures["code"]) == ["late", "price"]
    with pytest.raises(DataValidationError, match="missing"):
        coding.compile_codebook(_codebook().drop(columns=["patterns_en", "patterns_ar"]))


# --- auto-coding -------------------------------------------------------------------------


@pytest.fixture
def verbatims() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "verbatim_id": [f"v{i}" for i in range(1, 9)],
            "source": "survey",
            "text": ["Delivery was LATE and the driver was rude", "التَّوصيل تأخّر والسائق وقح",
                     "Friendly staff", "", None, "السعر غالى", "Great", "plate"],
            "language": ["en", "ar", "en", "en", "ar", "ar", "en", "en"],
        }
    )


def test_auto_code_multilabel_both_languages(verbatims):
    coded = coding.auto_code(verbatims, coding.compile_codebook(_codebook()))
    assert list(coded.columns) == ["verbatim_id", "code", "theme", "valence"]
    assert list(zip(coded["verbatim_id"], coded["code"], strict=True)) == [
        ("v1", "late"), ("v1", "rude"), ("v2", "late"), ("v2", "rude"), ("v3", "friendly"), ("v6", "price"),
    ]
    assert list(coded["theme"]) == ["Delivery", "Staff", "Delivery", "Staff", "Staff", "Price"]
    assert coded.loc[4, "valence"] == "positive"
    assert coded.attrs == {"n_verbatims": 8, "n_excluded_speaker": 0, "n_with_text": 6, "n_without_text": 2,
                           "n_coded": 4, "n_uncoded": 2, "n_negated": 0}


def test_auto_code_nothing_matches_gives_empty_typed_frame(verbatims):
    cb = _codebook().iloc[[0]]
    coded = coding.auto_code(verbatims.iloc[[2, 3, 4]], coding.compile_codebook(cb))
    assert coded.empty and list(coded.columns) == ["verbatim_id", "code", "theme", "valence"]


def test_auto_code_capture_groups_do_not_warn():
    cb = pd.DataFrame({"code": ["slow"], "theme": ["Delivery"], "valence": ["negative"],
                       "patterns_en": ["(late|slow) deliver"], "patterns_ar": [None]})
    v = pd.DataFrame({"verbatim_id": ["1", "2"], "text": ["Slow  Delivery", "ok"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        coded = coding.auto_code(v, coding.compile_codebook(cb))
    assert coded["verbatim_id"].tolist() == ["1"]


def test_theme_frequency_by_group_and_theme_level(verbatims):
    coded = coding.auto_code(verbatims, coding.compile_codebook(_codebook()))
    overall = coding.theme_frequency(coded, verbatims)
    late = overall.set_index("code").loc["late"]
    assert (late["n_mentions"], late["base"], late["share"]) == (2, 6, pytest.approx(2 / 6))
    by = coding.theme_frequency(coded, verbatims, by="language").set_index(["language", "code"])
    assert by.loc[("en", "late"), "base"] == 4  # v1, v3, v7, v8 (v4 is empty)
    assert by.loc[("en", "late"), "share"] == pytest.approx(0.25)
    assert by.loc[("ar", "price"), "share"] == pytest.approx(0.5)
    themes = coding.theme_frequency(coded, verbatims, by="language", level="theme").set_index(["language", "theme"])
    assert "code" not in themes.columns
    assert themes.loc[("en", "Staff"), "n_mentions"] == 2  # v1 (rude) and v3 (friendly)
    assert themes.loc[("ar", "Staff"), "n_mentions"] == 1


# --- redaction ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("write to sara.k+cx@mail.example.com please", "write to [email] please"),
        ("call +966 55 123 4567 today", "call [phone] today"),
        ("call +966-55-123-4567", "call [phone]"),
        ("00966551234567", "[phone]"),
        ("my number 0551234567", "my number [phone]"),
        ("my number 055 123 4567.", "my number [phone]."),
        ("رقمي ٠٥٥١٢٣٤٥٦٧", "رقمي [phone]"),
        ("card 4111 1111 1111 1111 was charged", "card [card] was charged"),
        ("card 4111-1111-1111-1111", "card [card]"),
        ("iqama 2123456789", "iqama [id]"),
        ("order 12345 took 3 days", "order 12345 took 3 days"),
        ("paid 250 SAR on 2026-05-12 at 10:30", "paid 250 SAR on 2026-05-12 at 10:30"),
    ],
)
def test_redact(raw, expected):
    assert coding.redact(raw) == expected


def test_redact_series_matches_scalar():
    s = pd.Series(["x@y.com or 0551234567", None, "3 days"], dtype=object)
    out = coding.redact_series(s)
    assert out.iloc[0] == "[email] or [phone]" and pd.isna(out.iloc[1]) and out.iloc[2] == "3 days"


# --- detractor themes and NPS by mention ---------------------------------------------------


@pytest.fixture
def survey():
    nps = [0, 3, 5, 6, 7, 9, 9, 10, 10, 9]  # 4 detractors, 1 passive, 5 promoters
    responses = pd.DataFrame(
        {
            "response_id": [f"r{i}" for i in range(1, 11)] + ["t1"],
            "survey_type": ["relationship"] * 10 + ["transactional"],
            "nps": pd.array(nps + [None], dtype="Int64"),
        }
    )
    verbatims = pd.DataFrame(
        {
            "verbatim_id": [f"v{i}" for i in range(1, 11)] + ["v11", "v12", "s1"],
            "source": ["survey"] * 12 + ["social"],
            "response_id": [f"r{i}" for i in range(1, 11)] + ["r99", "t1", None],
            "text": ["comment"] * 13,
        }
    )
    hits = {"late": ["v1", "v2", "v3", "v6"], "rude": ["v2"], "friendly": ["v4", "v7", "v8", "v9"], "price": ["v5"]}
    meta = {"late": ("Delivery", "negative"), "rude": ("Staff", "negative"),
            "friendly": ("Staff", "positive"), "price": ("Price", "negative")}
    coded = pd.DataFrame(
        [(v, c, *meta[c]) for c, vs in hits.items() for v in vs],
        columns=["verbatim_id", "code", "theme", "valence"],
    )
    return coded, verbatims, responses


def test_detractor_themes_numbers_fisher_and_rank(survey):
    coded, verbatims, responses = survey
    out = coding.detractor_themes(coded, verbatims, responses).set_index("code")
    assert (out["n_detractors"] == 4).all() and (out["n_promoters"] == 5).all()
    late = out.loc["late"]
    assert (late["mentions_detractors"], late["mentions_promoters"]) == (3, 1)
    assert late["share_detractors"] == pytest.approx(0.75)
    assert late["share_promoters"] == pytest.approx(0.2)
    assert late["difference"] == pytest.approx(55.0)
    assert late["lift"] == pytest.approx(3.75)
    assert late["p_value"] == pytest.approx(stats.fisher_exact([[3, 1], [1, 4]])[1])
    assert out.loc["friendly", "p_value"] == pytest.approx(stats.fisher_exact([[1, 3], [3, 2]])[1])
    assert out.loc["friendly", "difference"] == pytest.approx(-35.0)
    assert np.isinf(out.loc["rude", "lift"])  # only detractors mention it
    assert np.isnan(out.loc["price", "lift"])  # only a passive mentions it
    assert out.loc["price", "p_value"] == pytest.approx(1.0)
    assert out["rank"].to_dict() == {"late": 1, "rude": 2, "price": 3, "friendly": 4}
    assert (out["label"] == [coding.code_label(c) for c in out.index]).all() and out.loc["late", "label"] == "Late"
    assert not out["significant"].any()  # 4 vs 5 comments cannot show anything
    assert out.attrs == {"n_survey_comments": 12, "n_not_matched": 2, "n_matched": 10, "n_passives": 1}


def test_detractor_themes_significance_with_enough_comments():
    n = 60
    responses = pd.DataFrame({"response_id": [f"r{i}" for i in range(2 * n)], "survey_type": "relationship",
                              "nps": [2] * n + [10] * n})
    verbatims = pd.DataFrame({"verbatim_id": [f"v{i}" for i in range(2 * n)], "source": "survey",
                              "response_id": responses["response_id"], "text": "x"})
    # 30 of 60 detractors vs 3 of 60 promoters mention "late"
    ids = [f"v{i}" for i in range(30)] + [f"v{n + i}" for i in range(3)]
    coded = pd.DataFrame({"verbatim_id": ids, "code": "late", "theme": "Delivery", "valence": "negative"})
    out = coding.detractor_themes(coded, verbatims, responses, alpha=0.05)
    assert out.loc[0, "p_value"] == pytest.approx(stats.fisher_exact([[30, 30], [3, 57]])[1])
    assert out.loc[0, "p_value"] < 1e-6 and bool(out.loc[0, "significant"])


def test_nps_by_mention(survey):
    coded, verbatims, responses = survey
    out = coding.nps_by_mention(coded, verbatims, responses).set_index("code")
    late = out.loc["late"]  # r1 0, r2 3, r3 5, r6 9 vs r4 6, r5 7, r7..r10 9 10 10 9
    assert late["n_mention"] == 4 and late["n_no_mention"] == 6
    assert late["nps_mention"] == pytest.approx(100 * (1 / 4 - 3 / 4))
    assert late["nps_no_mention"] == pytest.approx(100 * (4 / 6 - 1 / 6))
    assert late["difference"] == pytest.approx(-100.0)
    rude = out.loc["rude"]  # r2 (3) alone vs 9 others: 5 promoters, 3 detractors
    assert rude["difference"] == pytest.approx(-100 - 100 * (5 / 9 - 3 / 9))
    assert list(out.index[:2]) == ["rude", "late"]  # lowest difference first


# --- quotes ------------------------------------------------------------------------------


@pytest.fixture
def quote_data():
    verbatims = pd.DataFrame(
        {
            "verbatim_id": ["e1", "e2", "e3", "e4", "e5", "a1", "a2", "x1"],
            "source": ["survey", "chat", "review", "survey", "chat", "survey", "social", "survey"],
            "touchpoint": ["delivery", "chat", None, "delivery", "chat", "delivery", None, "store"],
            "language": ["en", "en", "en", "en", "en", "ar", "ar", "en"],
            "speaker": [None, "customer", None, None, "agent", None, None, None],
            "text": [
                "Late.",
                "My delivery was late, email me at sara@example.com.",
                "The order came very late again.",
                "Late delivery and a rude driver at my door.",
                "Sorry your delivery is late, sir.",
                "التوصيل متأخر جدا وهذا رقمي 0551234567",
                "تأخر الطلب.",
                "Nice store.",
            ],
        }
    )
    coded = pd.DataFrame(
        {"verbatim_id": ["e1", "e2", "e3", "e4", "e4", "e5", "a1", "a2", "x1"],
         "code": ["late", "late", "late", "late", "rude", "late", "late", "late", "friendly"]}
    )
    return verbatims, coded


def test_representative_quotes_choice_and_redaction(quote_data):
    verbatims, coded = quote_data
    q = coding.representative_quotes(verbatims, coded, "late", n=2)
    assert list(q.columns) == ["code", "language", "text", "source", "touchpoint", "verbatim_id"]
    assert list(q["verbatim_id"]) == ["e3", "e2", "a1", "a2"]  # agent turn e5 never quoted
    assert q.loc[1, "text"] == "My delivery was late, email me at [email]."
    assert q.loc[2, "text"] == "التوصيل متأخر جدا وهذا رقمي [phone]"
    assert (q["code"] == "late").all() and list(q["language"]) == ["en", "en", "ar", "ar"]
    assert q.loc[1, "source"] == "chat"


def test_representative_quotes_deterministic(quote_data):
    verbatims, coded = quote_data
    a = coding.representative_quotes(verbatims, coded, "late", n=1, languages=("ar", "en"))
    b = coding.representative_quotes(verbatims.sample(frac=1, random_state=3), coded.sample(frac=1, random_state=4),
                                     "late", n=1, languages=("ar", "en"))
    pd.testing.assert_frame_equal(a, b)
    assert list(a["verbatim_id"]) == ["a1", "e3"]
    assert coding.representative_quotes(verbatims, coded, "nope").empty


# --- share of voice ----------------------------------------------------------------------


def test_mention_share_numbers_and_wilson():
    brands = ["Souqly", "FastCart", "MegaMart"]
    rows = ([("2026Q1", "Souqly")] * 6 + [("2026Q1", "fastcart ")] * 3 + [("2026Q1", "MegaMart")]
            + [("2026Q1", None)] + [("2026Q2", "Souqly")] * 2 + [("2026Q2", "FastCart")] * 2)
    v = pd.DataFrame(rows, columns=["period", "brand"]).assign(source="social", text="x")
    v = pd.concat([v, pd.DataFrame({"period": ["2026Q1"], "brand": ["Souqly"], "source": ["survey"], "text": ["x"]})])
    out = coding.mention_share(v, brands)
    assert list(out.columns) == ["brand", "period", "mentions", "total", "share", "ci_low", "ci_high"]
    assert len(out) == 6  # every brand in every period, zeros included
    t = out.set_index(["brand", "period"])
    assert t.loc[("Souqly", "2026Q1"), ["mentions", "total"]].tolist() == [6, 10]
    assert t.loc[("FastCart", "2026Q1"), "share"] == pytest.approx(0.3)
    assert t.loc[("MegaMart", "2026Q2"), ["mentions", "total", "share"]].tolist() == [0, 4, 0.0]
    assert out.groupby("period")["share"].sum().tolist() == pytest.approx([1.0, 1.0])
    for (k, n), lo, hi in zip(out[["mentions", "total"]].itertuples(index=False), out["ci_low"], out["ci_high"],
                              strict=True):
        sm_lo, sm_hi = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert (lo, hi) == (pytest.approx(sm_lo), pytest.approx(sm_hi))
    lo90 = coding.mention_share(v, brands, confidence=0.90).set_index(["brand", "period"])
    assert lo90.loc[("Souqly", "2026Q1"), "ci_low"] == pytest.approx(proportion_confint(6, 10, 0.10, "wilson")[0])
    assert out.attrs == {"n_social": 15, "n_other_brand": 1}  # the survey row is not social


def test_mention_share_needs_period_column():
    v = pd.DataFrame({"source": ["social"], "brand": ["Souqly"], "text": ["x"]})
    with pytest.raises(ValueError, match="label_of"):
        coding.mention_share(v, ["Souqly"])
    assert coding.mention_share(v, ["Souqly"], period_col=None)["share"].tolist() == [1.0]

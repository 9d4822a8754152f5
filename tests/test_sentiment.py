"""Sentiment: the Arabic lexicon scorer's rules on real phrases, VADER for English, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxlib.exceptions import DataValidationError
from cxlib.voice import sentiment as se
from cxlib.voice.coding import normalize_text

# --- the lexicon -------------------------------------------------------------------------


def test_lexicon_loads_normalized_and_unique():
    lex = se.load_lexicon()
    assert len(lex) >= 120
    assert lex["polarity"].between(-1, 1).all()
    assert lex["term"].is_unique
    assert (lex["term"] == lex["term"].map(normalize_text)).all()
    for word in ["ممتاز", "رائع", "سريع", "شكرا", "تاخر", "سيء", "زفت", "بطيء", "غالي", "معقول", "خايس"]:
        assert normalize_text(word) in set(lex["term"]), word


def test_bad_lexicon_is_a_clear_error(tmp_path):
    p = tmp_path / "lex.csv"
    p.write_text("term,polarity,note\nممتازة,1.0,a\nممتازه,0.5,b\nسيء,-2,c\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as e:
        se.load_lexicon(p)
    msg = str(e.value)
    assert "row 4" in msg and "[-1, 1]" in msg      # polarity out of range, file row 4
    assert "rows [2, 3]" in msg                      # ممتازة / ممتازه: one term after normalization


# --- Arabic rules on real phrases --------------------------------------------------------


def test_positive_phrase():
    s = se.score_arabic("الخدمة ممتازة")
    assert s > 0.05
    assert s == pytest.approx(4 / np.sqrt(16 + 15))  # one term, w = 1: 4 / sqrt(4^2 + 15)


def test_negation_flips_and_damps():
    pos = se.score_arabic("الخدمة ممتازة")
    neg = se.score_arabic("الخدمة مو ممتازة")
    assert neg < -0.05 and neg < pos
    s = -0.7 * 4
    assert neg == pytest.approx(s / np.sqrt(s * s + 15))
    # negators up to 3 words before the term, other negators too
    assert se.score_arabic("الموظف ما كان متعاون") < 0
    assert se.score_arabic("الموظف غير محترم") < 0
    assert se.score_arabic("بدون أي مشاكل") > 0
    # ...but not across a clause boundary
    assert se.score_arabic("ما عندي إضافة. الخدمة ممتازة") == pytest.approx(pos)


def test_negation_idioms_are_not_negations():
    assert se.score_arabic("ما قصرتوا") > 0.05
    assert se.score_arabic("ما شاء الله الخدمة ممتازة") > se.score_arabic("الخدمة ممتازة")
    assert se.score_arabic("الطلب تأخر ثلاث أيام، مو معقول") < se.score_arabic("الطلب تأخر ثلاث أيام")


def test_intensifier_makes_it_stronger():
    assert se.score_arabic("التوصيل سيء جدا") < se.score_arabic("التوصيل سيء") < -0.05
    assert se.score_arabic("الأسعار غالية مرة") < se.score_arabic("الأسعار غالية")
    ex = se.explain_arabic("التوصيل سيء جدا")
    assert ex["score"].iloc[0] == pytest.approx(4 * -0.8 * 1.3)
    assert ex["intensifier"].iloc[0] == "جدا"


def test_elongation_is_normalized():
    assert se.score_arabic("ممتاااااز") == se.score_arabic("ممتاز") > 0.05
    assert se.score_arabic("زفففففت") == se.score_arabic("زفت") < -0.05


def test_clitics_are_stripped():
    assert se.score_arabic("والتوصيل سريع") > 0.05
    assert se.score_arabic("وسريع") == se.score_arabic("سريع")
    assert se.score_arabic("بالسريع") == se.score_arabic("سريع")
    ex = se.explain_arabic("والتوصيل سريع")
    assert ex["term"].tolist() == ["سريع"]


def test_no_term_scores_zero():
    assert se.score_arabic("رقم الطلب عندي") == 0.0


# --- score() -----------------------------------------------------------------------------


def test_score_english_matches_vader_directly():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    texts = pd.Series(["The agent was really helpful!", "Delivery was late again, awful.", "Order 123."],
                      index=[10, 11, 12])
    out = se.score(texts, pd.Series(["en"] * 3, index=texts.index))
    vader = SentimentIntensityAnalyzer()
    expected = [vader.polarity_scores(t)["compound"] for t in texts]
    np.testing.assert_allclose(out["sentiment"].to_numpy(), expected)
    assert (out["method"] == "vader").all()
    assert out["label"].tolist() == ["positive", "negative", "neutral"]
    assert list(out.index) == [10, 11, 12]


def test_score_empty_mixed_and_counts():
    texts = pd.Series(["الخدمة ممتازة", "", None, "الطلب late ثلاث أيام، مو معقول.", "great", "رقم الطلب"])
    langs = pd.Series(["ar", "en", "ar", "ar", "ar", "ar"])
    out = se.score(texts, langs)
    assert list(out.columns) == ["sentiment", "label", "method", "note"]
    assert out["method"].tolist() == ["ar-lexicon", "none", "none", "ar-lexicon", "vader", "ar-lexicon"]
    assert out["sentiment"].iloc[1:3].isna().all() and out["label"].iloc[1:3].isna().all()
    assert out["label"].iloc[3] == "negative" and "mixed" in out["note"].iloc[3]
    assert "no Arabic letters" in out["note"].iloc[4]
    a = out.attrs
    assert (a["n"], a["n_none"], a["n_vader"], a["n_ar_lexicon"]) == (6, 2, 1, 3)
    assert (a["n_mixed"], a["n_language_mismatch"], a["n_ar_no_term"]) == (1, 1, 1)


# --- validate() --------------------------------------------------------------------------


def test_validate_by_hand():
    v = pd.DataFrame({"source": ["review"] * 5 + ["call"], "language": ["en"] * 6,
                      "score": [1, 2, 3, 4, 5, np.nan]})
    sent = pd.Series([-0.6, 0.2, 0.0, 0.3, 0.9, 0.1])
    scored = pd.DataFrame({"sentiment": sent, "label": se.label_of(sent)})
    out = se.validate(scored, v).set_index("source")
    r = out.loc["review"]
    ref = stats.spearmanr(sent[:5], v["score"][:5])
    assert r["rho"] == pytest.approx(ref.statistic) and r["p_value"] == pytest.approx(ref.pvalue)
    # polar scores: 1, 2 (negative), 4, 5 (positive); labels: negative, positive, positive, positive
    assert r["n_polar"] == 4 and r["agreement"] == pytest.approx(3 / 4)
    assert out.loc["call", "n_scored"] == 0 and out.loc["call", "scale"] == "none"


def test_validate_on_demo(demo_dir):
    v = pd.read_csv(demo_dir / "verbatims.csv", dtype={"verbatim_id": "str", "response_id": "str"})
    resp = pd.read_csv(demo_dir / "survey_responses.csv", dtype={"response_id": "str"})
    scored = se.score(v["text"], v["language"])
    assert scored.attrs["n_none"] == v["text"].isna().sum()
    out = se.validate(scored, v, responses=resp)
    assert out["n"].sum() == len(v)
    survey = out[out["source"] == "survey"].set_index(["language", "scale"])
    assert set(survey.index) == {("en", "nps"), ("en", "csat"), ("ar", "nps"), ("ar", "csat")}
    for key, r in survey.iterrows():
        assert r["rho"] > 0.3 and r["p_value"] < 1e-3, key
        assert r["agreement"] > 0.6, key
    for src in ("social", "review"):
        for _, r in out[out["source"] == src].iterrows():
            assert r["rho"] > 0 and r["p_value"] < 1e-3, (src, r["language"])
    assert out.attrs["n_survey_unknown_scale"] == 0
    # without the responses the survey scale is unknown, said so, and rho is still computed
    nores = se.validate(scored, v)
    unk = nores[(nores["source"] == "survey")]
    assert (unk["scale"] == "unknown").all() and unk["note"].str.contains("pass responses").all()
    assert unk["agreement"].isna().all() and (unk["rho"] > 0).all()

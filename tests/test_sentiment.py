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


# --- lexicon route: emoji, handles, brands, texts without words ---------------------------


def _c(total: float) -> float:
    return total / np.sqrt(total * total + 15)


def test_lone_emoji_scores_from_the_emoji_list():
    emo = se.load_emoji().set_index("emoji")["polarity"]
    out = se.score(pd.Series(["👍", "😡", "👍🏽", "الخدمة 😡", "❤️"]))
    assert out["label"].tolist() == ["positive", "negative", "positive", "negative", "positive"]
    assert out["sentiment"].iloc[0] == pytest.approx(_c(4 * emo["👍"]))
    assert out["sentiment"].iloc[1] == pytest.approx(_c(4 * emo["😡"]))
    assert out["sentiment"].iloc[2] == out["sentiment"].iloc[0]  # skin tone removed before lookup
    assert out["method"].iloc[3] == "ar-lexicon"


def test_emoji_add_to_vaders_sum():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    c = SentimentIntensityAnalyzer().polarity_scores("great service")["compound"]
    s = c * np.sqrt(15 / (1 - c * c))  # VADER's sum behind its compound
    got = se.score(pd.Series(["great service 👎"]))["sentiment"].iloc[0]
    assert got == pytest.approx(_c(s + 4 * -0.7), abs=2e-4)  # VADER rounds its compound to 4 places


def test_handles_urls_and_brand_names_are_stripped():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    assert vader.polarity_scores("united")["compound"] > 0  # why stripping matters
    texts = pd.Series(["@united lost my bag https://t.co/abc", "United lost my bag again", "#fail united"])
    out = se.score(texts, strip=["United"])
    assert out["sentiment"].iloc[0] == pytest.approx(vader.polarity_scores("lost my bag")["compound"])
    assert out["sentiment"].iloc[1] == pytest.approx(vader.polarity_scores("lost my bag again")["compound"])
    assert out["sentiment"].iloc[2] == pytest.approx(vader.polarity_scores("fail")["compound"])
    cleaned = se.clean_text(pd.Series(["شكرا لنون على التوصيل", None]), strip=["نون"])
    assert cleaned.iloc[0] == "شكرا على التوصيل" and pd.isna(cleaned.iloc[1])


def test_text_without_letters_or_emoji_is_nan_and_counted():
    out = se.score(pd.Series(["!!!", "123 456", "https://x.y/z", "@acme", "ok"]))
    assert out["sentiment"].iloc[:4].isna().all() and out["label"].iloc[:4].isna().all()
    assert (out["method"].iloc[:4] == "none").all() and out["note"].iloc[0].startswith("no words")
    assert out.attrs["n_no_words"] == 4 and out["method"].iloc[4] == "vader"


# --- Arabic dialects ----------------------------------------------------------------------


def test_dialect_words_score():
    pos = ["الأكل جامد", "منيح كتير", "خوش مطعم", "الخدمة تجنن", "يسلمو ايديكم"]
    neg = ["الموظف عاطل", "التطبيق بايظ", "طفشت من التأخير", "خدمة معفنة", "شغل تهريج"]
    assert all(se.score_arabic(t) > 0.05 for t in pos), [se.score_arabic(t) for t in pos]
    assert all(se.score_arabic(t) < -0.05 for t in neg), [se.score_arabic(t) for t in neg]


def test_egyptian_circumfix_and_attached_negation():
    w = 4 * se.load_lexicon().set_index("term").loc["عجبتني", "polarity"]
    for text in ["ماعجبتنيش الاكلة", "ماعجبتني الاكلة"]:  # ما...ش around عجبتني, and ما attached
        ex = se.explain_arabic(text)
        assert ex["term"].tolist() == ["عجبتني"] and ex["negator"].iloc[0] is not None
        assert ex["score"].iloc[0] == pytest.approx(w * se.NEGATION_FACTOR)


def test_pronoun_and_plural_endings_reach_the_lexicon():
    assert se.explain_arabic("مشاكلهم كثيرة")["term"].tolist() == ["مشاكل"]
    assert se.explain_arabic("موظفين محترمين ولطيفين")["term"].tolist() == ["محترمين", "لطيف"]


def test_contrast_weighs_the_second_clause():
    ex = se.explain_arabic("الاكل حلو بس غالي")
    lex = se.load_lexicon().set_index("term")["polarity"]
    expected = [4 * lex["حلو"] * 0.5, 4 * lex["غالي"] * 1.5]
    np.testing.assert_allclose(ex["score"].to_numpy(), expected)
    assert se.score_arabic("الاكل حلو بس غالي") == pytest.approx(_c(sum(expected)))


# --- targets -------------------------------------------------------------------------------


def test_label_targets_scales():
    nps = pd.Series([0, 6, 7, 8, 9, 10, np.nan, 11])
    assert se.label_targets(nps, "nps").tolist() == ["negative", "negative", "neutral", "neutral",
                                                    "positive", "positive", None, None]
    stars = pd.Series([1, 2, 3, 4, 5])
    assert se.label_targets(stars).tolist() == ["negative", "negative", "neutral", "positive", "positive"]
    words = pd.Series(["Positive", "NEG", "mixed", "promoter", "whatever", None])
    assert se.label_targets(words).tolist() == ["positive", "negative", "neutral", "positive", None, None]
    assert se.label_targets(pd.Series([-1, 0, 1])).tolist() == ["negative", "neutral", "positive"]
    assert se.label_targets(pd.Series([0, 1, 1])).tolist() == ["negative", "positive", "positive"]  # binary
    per_row = se.label_targets(pd.Series([3, 3, 9]), pd.Series(["stars", "nps", "nps"]))
    assert per_row.tolist() == ["neutral", "negative", "positive"]
    with pytest.raises(DataValidationError, match="scale"):
        se.label_targets(pd.Series([120.0, 300.0]))
    with pytest.raises(DataValidationError, match="not one of"):
        se.label_targets(stars, "likert")


# --- calibrated route ------------------------------------------------------------------------

_EN_POS = ["fantastic", "smooth", "friendly", "quick", "spotless"]
_EN_NEG = ["awful", "broken", "rude", "slow", "dirty"]
_EN_FILL = ["the", "order", "app", "store", "driver", "today", "my", "was", "again", "service"]
# domain words the lexicons do not know, planted as the signal the model must learn
_EN_POS_DOMAIN = ["zorbly", "klinto"]
_EN_NEG_DOMAIN = ["grufty", "snarvo"]
_AR_POS = ["ممتاز", "سريع", "نظيف", "كفو", "ماشاءالله"]
_AR_NEG = ["سيء", "متأخر", "زفت", "خايس", "بطيء"]
_AR_FILL = ["الطلب", "التطبيق", "المندوب", "اليوم", "الفرع", "الخدمة", "كان", "مره"]


def _corpus(n: int, seed: int, *, arabic: bool = True, scored: bool = True) -> pd.DataFrame:
    """Seeded texts: the NPS (0-6 or 9-10; one text in 30 a passive 7-8) drives the words,
    domain words the lexicons do not know carry the signal."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        pos = bool(rng.random() < 0.6)
        nps = int(rng.integers(9, 11)) if pos else int(rng.integers(0, 7))
        if i % 30 == 29:
            nps = int(rng.integers(7, 9))
        ar = arabic and i % 3 == 0
        fill = _AR_FILL if ar else _EN_FILL
        words = list(rng.choice(fill, 4))
        if ar:
            words.append(rng.choice(_AR_POS if pos else _AR_NEG))
        else:
            words.append(rng.choice(_EN_POS_DOMAIN if pos else _EN_NEG_DOMAIN))
            if rng.random() < 0.3:  # a misleading lexicon word now and then
                words.append(rng.choice(_EN_NEG if pos else _EN_POS))
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "language": "ar" if ar else "en",
                     "target": nps if scored else np.nan})
    return pd.DataFrame(rows, index=[f"v{i}" for i in range(n)])


@pytest.fixture(scope="module")
def calibrated():
    texts = _corpus(600, seed=1)
    unscored = _corpus(60, seed=2, scored=False).rename(index=lambda s: "u" + s)
    return texts, unscored, se.for_run(pd.concat([texts, unscored]), seed=5)


def test_calibrated_route_learns_the_planted_words(calibrated):
    texts, unscored, res = calibrated
    assert res.method == "calibrated" and res.model is not None
    assert list(res.scores.index) == list(texts.index) + list(unscored.index)
    assert res.scores["sentiment"].between(-1, 1).all()
    val = res.validation[res.validation["language"] == "all"].set_index("method")
    assert list(val.index) == ["calibrated", "majority baseline", "lexicon"]
    # the planted domain words are learnt: far above the majority class and the lexicon
    assert val.loc["calibrated", "accuracy"] >= 0.9
    assert val.loc["calibrated", "accuracy"] > val.loc["majority baseline", "accuracy"] + 0.2
    assert val.loc["calibrated", "accuracy"] > val.loc["lexicon", "accuracy"]
    # texts without a score are scored by the model too
    u = res.scores.loc[unscored.index]
    assert (u["method"] == "calibrated").all()
    truth = np.where(unscored["text"].str.contains("|".join(_EN_POS_DOMAIN + _AR_POS)), "positive", "negative")
    assert (u["label"].to_numpy() == truth).mean() >= 0.9


def test_calibrated_validation_matches_an_independent_split(calibrated):
    from sklearn.model_selection import train_test_split

    texts, _, res = calibrated
    labels = se.label_targets(texts["target"], "nps")
    assert res.info["n_per_class"] == labels.value_counts().reindex(["negative", "neutral", "positive"]).to_dict()
    keep = labels.isin(res.info["classes"])
    y = labels[keep]
    tr, te = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y.to_numpy(), random_state=5)
    assert (res.info["n_train"], res.info["n_test"]) == (len(tr), len(te))
    val = res.validation[res.validation["language"] == "all"].set_index("method")
    maj = y.iloc[tr].value_counts().idxmax()
    assert val.loc["majority baseline", "accuracy"] == pytest.approx((y.iloc[te] == maj).mean())
    lex = se.score(texts.loc[y.index[te], "text"])["label"]
    assert val.loc["lexicon", "accuracy"] == pytest.approx((lex.to_numpy() == y.iloc[te].to_numpy()).mean())
    # per-script rows are there, since both scripts are scored
    assert {"ar", "en"} <= set(res.validation["language"])


def test_evaluate_matches_sklearn():
    from sklearn.metrics import accuracy_score, f1_score

    truth = np.array(["positive", "negative", "positive", "positive", "negative", "neutral"])
    pred = np.array(["positive", "positive", "neutral", "positive", "negative", None], dtype=object)
    r = se.evaluate(truth, pred, ["negative", "positive"])
    p = np.where(pd.isna(pred), "(none)", pred).astype(str)
    assert r["accuracy"] == pytest.approx(accuracy_score(truth, p))
    assert r["macro_f1"] == pytest.approx(f1_score(truth, p, labels=["negative", "positive"], average="macro"))
    assert r["coverage"] == pytest.approx(4 / 6) and r["n"] == 6


def test_too_few_scores_fall_back_to_the_lexicon_and_say_so():
    texts = _corpus(60, seed=3)
    res = se.for_run(texts, seed=1, min_per_class=50)
    assert res.method == "lexicon" and res.model is None
    assert "too few scored texts" in res.info["reason"] and "50" in res.info["reason"]
    assert set(res.scores["method"]) <= {"lexicon", "none"}
    val = res.validation.set_index("method")
    assert list(val.index) == ["majority baseline", "lexicon"] and (val["n"] == 60).all()
    pd.testing.assert_series_equal(res.scores["sentiment"], se.score(texts["text"], texts["language"])["sentiment"])
    none = se.for_run(texts[["text", "language"]], seed=1)
    assert none.method == "lexicon" and none.info["reason"] == "no scores came with the texts"
    assert none.validation.empty and none.validation.attrs["note"] == none.info["reason"]


def test_scripts_the_model_never_saw_get_the_lexicon():
    en = _corpus(400, seed=4, arabic=False)
    ar = pd.DataFrame({"text": ["الخدمة ممتازة", "التوصيل سيء جدا"], "language": "ar", "target": np.nan},
                      index=["a1", "a2"])
    res = se.for_run(pd.concat([en, ar]), seed=2)
    assert res.method == "calibrated" and res.info["scripts_covered"] == ["latin"]
    a = res.scores.loc[["a1", "a2"]]
    assert (a["method"] == "lexicon").all() and a["note"].str.contains("too few texts in this script").all()
    assert a["label"].tolist() == ["positive", "negative"]


def test_for_run_checks_its_input():
    with pytest.raises(DataValidationError, match="'text' column"):
        se.for_run(pd.DataFrame({"body": ["x"]}))
    with pytest.raises(DataValidationError, match="duplicates"):
        se.for_run(pd.DataFrame({"text": ["a", "b"]}, index=[1, 1]))


def test_batched_application_equals_one_pass(calibrated, monkeypatch):
    """The calibrated model is applied in batches (bounded memory at any size), with the same numbers."""
    texts, unscored, res = calibrated
    some = pd.concat([texts, unscored])["text"].head(250)
    whole = se.predict_calibrated(res.model, some)
    monkeypatch.setattr(se, "PREDICT_BATCH", 9)
    pd.testing.assert_frame_equal(whole, se.predict_calibrated(res.model, some))
    assert whole["sentiment"].notna().sum() > 200


@pytest.mark.parametrize("text, want", [
    ("@united thanks! https://t.co/x", "thanks!"),
    ("see WWW.Acme.com/deals now", "see now"),
    ("httpS://x.y/z and hTTp://a", "and"),
    ("mail me@example.com or @Bob_1 #fail #", "mail me@example.com or fail #"),
    ("Loved #Acme and ACME's app", "Loved and app"),
    ("a\u00a0b  \t c", "a b c"),  # any Unicode space collapsed
    ("no url here: www", "no url here: www"),
])
def test_clean_text_removes_urls_handles_and_brands_only(text, want):
    out = se.clean_text(pd.Series([text, None]), strip=["acme"])
    assert out.iloc[0] == want and pd.isna(out.iloc[1])

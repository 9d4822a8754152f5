"""Assisted coding: training set from human coding, cross-validation, suggestions, code-next."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import f1_score, precision_score, recall_score
from sklearn.model_selection import StratifiedKFold

from cxlib.exceptions import DataValidationError
from cxlib.voice import assist
from cxlib.voice.features import prepare


@pytest.fixture(scope="module")
def demo(demo_dir):
    v = pd.read_csv(demo_dir / "verbatims.csv", dtype={"verbatim_id": "str"})
    truth = pd.read_csv(demo_dir / "verbatim_truth.csv", dtype={"verbatim_id": "str"})
    manual = pd.read_csv(demo_dir / "manual_codes.csv", dtype={"verbatim_id": "str"})
    codes = list(pd.read_csv(demo_dir / "codebook.csv")["code"])
    return v, truth, manual, codes


def _truth_labels(truth: pd.DataFrame, ids: pd.Index, codes: list[str]) -> pd.DataFrame:
    t = truth.dropna(subset=["code"])
    lab = pd.crosstab(t["verbatim_id"], t["code"]).clip(upper=1)
    return lab.reindex(index=ids, columns=codes, fill_value=0).astype("int8")


@pytest.fixture(scope="module")
def halves(demo):
    """Customer texts split in two random halves (fixed seed), with true labels."""
    v, truth, manual, codes = demo
    ok = v["text"].notna() & (v["speaker"].fillna("customer") == "customer")
    cust = v[ok].set_index("verbatim_id")["text"]
    rng = np.random.default_rng(7)
    ids = pd.Index(rng.permutation(cust.index.to_numpy())[:4000])
    a, b = ids[:2000], ids[2000:]
    return (cust.loc[a], _truth_labels(truth, a, codes)), (cust.loc[b], _truth_labels(truth, b, codes))


@pytest.fixture(scope="module")
def manual_cv(demo):
    """The human consensus of the demo's 200 coded verbatims, cross-validated on 5 codes.

    rude_staff and competitor_switch have fewer than 5 consensus positives in the demo.
    """
    v, truth, manual, codes = demo
    texts, labels = assist.training_set(manual, v, codes)
    labels = labels[["late_delivery", "helpful_staff", "good_value", "rude_staff", "competitor_switch"]]
    return texts, labels, assist.cross_validate(texts, labels, folds=5, random_state=0)


@pytest.fixture(scope="module")
def half_model(halves):
    (ta, la), _ = halves
    return assist.train(ta, la, random_state=0)


# --- training_set ------------------------------------------------------------------------


def test_training_set_consensus_and_counts():
    verb = pd.DataFrame({"verbatim_id": ["V1", "V2", "V3", "V5", "V6"],
                         "text": ["late again", "late and pricey", "all good", None, "never coded"]})
    mc = pd.DataFrame(
        [("V1", "a", "late_delivery"), ("V1", "b", "late_delivery"),
         ("V2", "a", "late_delivery"), ("V2", "b", "late_delivery"), ("V2", "b", "price_high"),
         ("V3", "a", None), ("V3", "b", ""),
         ("V4", "a", "late_delivery"),        # not in verbatims
         ("V5", "a", "price_high")],          # no text
        columns=["verbatim_id", "coder", "code"])
    texts, labels = assist.training_set(mc, verb, ["late_delivery", "price_high", "rude_staff"])
    assert list(texts.index) == ["V1", "V2", "V3"]
    assert list(labels.columns) == ["late_delivery", "price_high", "rude_staff"]
    assert labels.loc["V1"].tolist() == [1, 0, 0]
    assert labels.loc["V2"].tolist() == [1, 0, 0]      # price_high: only coder b -> not consensus
    assert labels.loc["V3"].tolist() == [0, 0, 0]      # coded, no code applies
    at = labels.attrs
    assert (at["n_coded_verbatims"], at["n_not_in_verbatims"], at["n_without_text"], at["n_training"]) == (5, 1, 1, 3)
    d = at["disagreements"]
    assert at["n_disagreements"] == 1
    assert d.iloc[0][["verbatim_id", "code", "n_applied", "n_coders"]].tolist() == ["V2", "price_high", 1, 2]


def test_training_set_unknown_code_is_an_error():
    verb = pd.DataFrame({"verbatim_id": ["V1"], "text": ["x"]})
    mc = pd.DataFrame({"verbatim_id": ["V1"], "coder": ["a"], "code": ["late_delivry"]})
    with pytest.raises(DataValidationError, match="late_delivry"):
        assist.training_set(mc, verb, ["late_delivery"])


def test_training_set_on_demo(demo):
    v, truth, manual, codes = demo
    texts, labels = assist.training_set(manual, v, codes)
    assert len(texts) == manual["verbatim_id"].nunique() == 200
    # every consensus positive is a code both coders gave
    both = manual.dropna().groupby(["verbatim_id", "code"]).size()
    for (vid, code), val in labels.stack().items():
        assert (val == 1) == (both.get((vid, code), 0) == 2)


# --- accuracy on the demo ----------------------------------------------------------------


def test_micro_f1_on_held_out_half(halves, half_model):
    _, (tb, lb) = halves
    proba = assist.predict_proba(half_model, tb)
    assert list(proba.columns) == half_model.codes
    y = lb[half_model.codes].to_numpy()
    pred = (proba.to_numpy() >= 0.5).astype(int)
    micro = f1_score(y, pred, average="micro")
    assert micro >= 0.75, micro
    # every code had enough examples in 2000 texts
    assert half_model.skipped.empty and len(half_model) == 16


def test_manual_codes_plus_truth_training(demo, halves):
    """The human consensus plus truth labels of one half train a model that codes the other."""
    v, truth, manual, codes = demo
    (ta, la), (tb, lb) = halves
    mt, ml = assist.training_set(manual, v, codes)
    keep = ~mt.index.isin(tb.index) & ~mt.index.isin(ta.index)
    texts = pd.concat([ta, mt[keep]])
    labels = pd.concat([la, ml[keep]])
    model = assist.train(texts, labels)
    proba = assist.predict_proba(model, tb)
    assert f1_score(lb[model.codes].to_numpy(), (proba.to_numpy() >= 0.5), average="micro") >= 0.75


# --- cross-validation --------------------------------------------------------------------


def test_cross_validate_equals_manual_recomputation(manual_cv):
    texts, labels, cv = manual_cv
    assert list(cv["code"]) == [*labels.columns, "micro"]
    code = "late_delivery"
    x = prepare(texts)
    y = labels[code].to_numpy()
    p = np.empty(len(y))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(x, y):
        p[te] = clone(assist.make_pipeline(0)).fit(x[tr], y[tr]).predict_proba(x[te])[:, 1]
    pred = (p >= 0.5).astype(int)
    row = cv.set_index("code").loc[code]
    assert row["precision"] == pytest.approx(precision_score(y, pred))
    assert row["recall"] == pytest.approx(recall_score(y, pred))
    assert row["f1"] == pytest.approx(f1_score(y, pred))
    assert row["support"] == y.sum() and row["predicted"] == pred.sum()
    np.testing.assert_allclose(cv.attrs["oof"][code].to_numpy(), p)
    # micro row: pooled over the evaluated codes' out-of-fold predictions
    ev = cv.loc[cv["evaluated"] & (cv["code"] != "micro"), "code"].tolist()
    yy = labels[ev].to_numpy()
    pp = (cv.attrs["oof"][ev].to_numpy() >= 0.5).astype(int)
    micro = cv.set_index("code").loc["micro"]
    assert micro["f1"] == pytest.approx(f1_score(yy, pp, average="micro"))
    assert micro["precision"] == pytest.approx(precision_score(yy, pp, average="micro"))


def test_too_few_positives_are_reported_not_skipped_silently(manual_cv):
    texts, labels, cv = manual_cv
    codes = list(labels.columns)
    few = labels.columns[labels.sum() < 5].tolist()
    assert few == ["rude_staff", "competitor_switch"]  # rare among the demo's 200 coded verbatims
    model = assist.train(texts, labels, min_positives=5)
    assert sorted(model.skipped["code"]) == sorted(few)
    assert set(model.codes).isdisjoint(few) and len(model.codes) + len(few) == len(codes)
    assert model.skipped["reason"].str.contains("min_positives=5").all()
    rows = cv.set_index("code").loc[few]
    assert not rows["evaluated"].any() and rows["f1"].isna().all()
    assert rows["note"].str.startswith("not evaluated").all()
    assert cv.attrs["n_skipped"] == len(few)
    with pytest.raises(DataValidationError, match="min_positives"):
        assist.train(texts, labels[few], min_positives=5)


def test_misaligned_or_non_binary_labels_are_errors():
    texts = pd.Series(["a b", "c d"], index=["V1", "V2"])
    with pytest.raises(DataValidationError, match="not aligned"):
        assist.train(texts, pd.DataFrame({"x": [1, 0]}, index=["V1", "V3"]))
    with pytest.raises(DataValidationError, match="0/1"):
        assist.train(texts, pd.DataFrame({"x": [2, 0]}, index=["V1", "V2"]))


# --- suggestions and code-next -----------------------------------------------------------


def test_suggest_respects_min_prob_and_top(demo, half_model):
    v = demo[0].iloc[:4000]
    s = assist.suggest(half_model, v, top=2, min_prob=0.3)
    assert list(s.columns) == ["verbatim_id", "code", "probability", "rank"]
    assert (s["probability"] >= 0.3).all()
    assert s.groupby("verbatim_id").size().max() <= 2
    # ranks follow probability within a verbatim
    for _, g in s.groupby("verbatim_id"):
        assert g["probability"].is_monotonic_decreasing and g["rank"].tolist() == list(range(1, len(g) + 1))
    # nothing from the training set, no agent turns; everything accounted for
    assert not s["verbatim_id"].isin(half_model.trained_ids).any()
    agents = v.loc[v["speaker"] == "agent", "verbatim_id"]
    assert not s["verbatim_id"].isin(agents).any()
    a = s.attrs
    assert a["n_without_text"] + a["n_agent_turns"] + a["n_in_training"] + a["n_scored"] == a["n_verbatims"] == len(v)
    assert a["n_in_training"] == v["verbatim_id"].isin(half_model.trained_ids).sum() > 0
    # same probabilities as predict_proba
    one = s.iloc[0]
    text = v.set_index("verbatim_id").loc[[one["verbatim_id"]], "text"]
    assert assist.predict_proba(half_model, text)[one["code"]].iloc[0] == pytest.approx(one["probability"])
    s1 = assist.suggest(half_model, v, top=1, min_prob=0.3)
    assert s1.groupby("verbatim_id").size().max() == 1
    assert s1.attrs["n_capped"] == len(s) - len(s1) + s.attrs["n_capped"] > 0


def test_code_next_picks_the_most_uncertain():
    texts = pd.Series(
        ["late delivery again", "my order was late", "parcel late and delayed", "late late late",
         "still late", "delivery was late", "great friendly staff", "staff were kind",
         "lovely staff", "the agent was helpful", "nice people", "thanks to the team"],
        index=[f"T{i:02d}" for i in range(12)])
    labels = pd.DataFrame({"late": [1] * 6 + [0] * 6, "staff": [0] * 6 + [1] * 6}, index=texts.index)
    model = assist.train(texts, labels, min_positives=3)
    cand = pd.DataFrame({
        "verbatim_id": ["C1", "C2", "C3", "C4", "C5", "C6"],
        "text": ["late delivery", "staff late", "the weather today", "kind staff", "late staff kind", "the weather today"],
        "source": "survey", "language": "en"})
    out = assist.code_next(model, cand, n=3)
    p = assist.predict_proba(model, cand.set_index("verbatim_id")["text"])
    u = np.minimum(p, 1 - p)
    by_hand = u.max(axis=1).drop("C6")  # C6 repeats C3's text: listed once, under C3
    expected = by_hand.sort_values(ascending=False, kind="stable").index[:3].tolist()
    assert out["verbatim_id"].tolist() == expected
    for _, r in out.iterrows():
        assert r["code"] == u.loc[r["verbatim_id"]].idxmax()
        assert r["uncertainty"] == pytest.approx(u.loc[r["verbatim_id"]].max())
        assert r["probability"] == pytest.approx(p.loc[r["verbatim_id"], r["code"]])
    assert out["uncertainty"].is_monotonic_decreasing
    full = assist.code_next(model, cand, n=10)
    assert len(full) == 5 and full.attrs["n_duplicate_texts"] == 1
    assert full.set_index("verbatim_id").loc["C3", "n_same_text"] == 2


def test_code_next_redacts_text(half_model):
    cand = pd.DataFrame({"verbatim_id": ["X1"], "text": ["late order, call me on 0551234567"],
                         "source": "survey", "language": "en"})
    out = assist.code_next(half_model, cand, n=5)
    assert "0551234567" not in out["text"].iloc[0] and "[phone]" in out["text"].iloc[0]


def test_deterministic_with_the_same_random_state(halves):
    (ta, la), (tb, _) = halves
    ta, la = ta.iloc[:500], la.iloc[:500]
    m1 = assist.train(ta, la, random_state=3)
    m2 = assist.train(ta, la, random_state=3)
    pd.testing.assert_frame_equal(assist.predict_proba(m1, tb.iloc[:300]), assist.predict_proba(m2, tb.iloc[:300]))
    few = ["late_delivery", "good_value", "helpful_staff"]
    cv1 = assist.cross_validate(ta.iloc[:300], la[few].iloc[:300], folds=3, random_state=3)
    cv2 = assist.cross_validate(ta.iloc[:300], la[few].iloc[:300], folds=3, random_state=3)
    pd.testing.assert_frame_equal(cv1, cv2)
    pd.testing.assert_frame_equal(cv1.attrs["oof"], cv2.attrs["oof"])


# --- learning from few coded texts: codebook patterns and examples ------------------------

_KEYWORDS = {
    "late": ["late", "delayed", "overdue", "waiting", "slow", "behind", "postponed", "tardy"],
    "rude": ["rude", "impolite", "arrogant", "dismissive", "shouted", "insulting", "unfriendly", "snapped"],
    "price": ["expensive", "pricey", "overpriced", "costly", "steep", "ripoff", "dear", "exorbitant"],
    "app": ["crash", "bug", "freeze", "glitch", "error", "logout", "lag", "hang"],
}
_FILL = ["the", "my", "order", "today", "again", "really", "it", "was", "and", "this", "they", "week"]


def _planted(n: int, seed: int, per_code_words: int = 8) -> tuple[pd.Series, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    codes = list(_KEYWORDS)
    texts, rows = [], []
    for i in range(n):
        code = codes[i % len(codes)]
        words = [*rng.choice(_FILL, 5), rng.choice(_KEYWORDS[code][:per_code_words])]
        rng.shuffle(words)
        texts.append(" ".join(words))
        rows.append([int(c == code) for c in codes])
    idx = [f"P{seed}-{i}" for i in range(n)]
    return pd.Series(texts, index=idx), pd.DataFrame(rows, index=idx, columns=codes, dtype="int8")


def _planted_book(with_examples: bool = True):
    from cxlib.voice import coding

    return coding.compile_codebook(pd.DataFrame([
        {"code": c, "theme": c, "valence": "negative", "patterns_en": r"\b(" + "|".join(w) + r")\b",
         "patterns_ar": None,
         "examples": " || ".join(f"it was {x} again" for x in w[:3]) if with_examples else None}
        for c, w in _KEYWORDS.items()]))


def _macro(truth: pd.DataFrame, pred: pd.DataFrame) -> float:
    return f1_score(truth.to_numpy(), pred[truth.columns].to_numpy(), average="macro", zero_division=0)


def test_codebook_patterns_teach_words_the_coders_never_coded():
    # 12 coded texts using only the first 2 keywords of each code; test texts use all 8
    ta, la = _planted(12, seed=1, per_code_words=2)
    tb, lb = _planted(400, seed=2)
    plain = assist.train(ta, la, min_positives=2)
    helped = assist.train(ta, la, min_positives=2, codebook=_planted_book(with_examples=False))
    f_plain = _macro(lb, assist.predict_codes(plain, tb, top1=True))
    f_help = _macro(lb, assist.predict_codes(helped, tb, top1=True))
    assert f_help >= 0.9 and f_help > f_plain + 0.2, (f_plain, f_help)
    assert helped.codebook is not None and plain.codebook is None
    assert helped.pattern_weight == max(assist.PATTERN_WEIGHTS)  # too few texts to cross-validate


def test_pattern_weight_is_chosen_by_cross_validation():
    ta, la = _planted(60, seed=8, per_code_words=2)
    w, table = assist.choose_pattern_weight(ta, la, _planted_book(with_examples=False), random_state=0)
    assert list(table["weight"]) == list(assist.PATTERN_WEIGHTS)
    assert table["chosen"].sum() == 1 and table.loc[table["chosen"], "weight"].item() == w
    assert table.loc[table["chosen"], "micro_f1"].item() == table["micro_f1"].max()


def test_codebook_examples_train_a_code_nobody_coded_yet():
    ta, la = _planted(40, seed=3)
    la = la.copy()
    ta = ta[la["app"] == 0]
    la = la.loc[ta.index]  # no coded text carries "app"
    with_ex = assist.train(ta, la, min_positives=3, codebook=_planted_book())
    assert "app" in with_ex.codes and with_ex.n_examples == 12
    without = assist.train(ta, la, min_positives=3)
    assert "app" not in without.codes and "app" in set(without.skipped["code"])
    assert not with_ex.trained_ids.str.startswith("__example").any()


def test_predict_codes_top1_is_the_argmax():
    ta, la = _planted(80, seed=4)
    tb, _ = _planted(50, seed=5)
    model = assist.train(ta, la, min_positives=2)
    p = assist.predict_proba(model, tb)
    top = assist.predict_codes(model, tb, top1=True)
    assert (top.sum(axis=1) == 1).all()
    assert (top.idxmax(axis=1) == p.idxmax(axis=1)).all()
    multi = assist.predict_codes(model, tb, min_prob=0.5)
    np.testing.assert_array_equal(multi.to_numpy(), (p.to_numpy() >= 0.5).astype("int8"))


def test_uncertainty_strategies_by_hand():
    p = pd.DataFrame({"a": [0.9, 0.5, 0.6], "b": [0.2, 0.45, 0.58], "c": [0.05, 0.2, np.nan]}, index=list("xyz"))
    m = assist.uncertainty(p, "margin")
    assert m.loc["x", "uncertainty"] == pytest.approx(1 - (0.9 - 0.2)) and m.loc["x", "code"] == "a"
    assert m.loc["y", "uncertainty"] == pytest.approx(1 - (0.5 - 0.45))
    assert np.isnan(m.loc["z", "uncertainty"]) and pd.isna(m.loc["z", "code"])
    e = assist.uncertainty(p, "entropy")

    def h(q):
        return -(q * np.log2(q) + (1 - q) * np.log2(1 - q))

    assert e.loc["x", "uncertainty"] == pytest.approx(h(0.9) + h(0.2) + h(0.05))
    assert e.loc["y", "code"] == "a" and e.loc["y", "probability"] == pytest.approx(0.5)
    b = assist.uncertainty(p, "binary")
    assert b.loc["y", "uncertainty"] == pytest.approx(0.5) and b.loc["x", "code"] == "b"
    with pytest.raises(ValueError, match="strategy"):
        assist.uncertainty(p, "random")


def test_code_next_by_margin_ranks_close_calls_first():
    ta, la = _planted(80, seed=6)
    model = assist.train(ta, la, min_positives=2)
    cand = pd.DataFrame({"verbatim_id": ["C1", "C2", "C3"],
                         "text": ["late delayed overdue", "late and rude", "expensive pricey costly"],
                         "source": "survey", "language": "en"})
    out = assist.code_next(model, cand, n=3, strategy="margin")
    assert out["verbatim_id"].iloc[0] == "C2"  # two codes about equally likely
    assert out.attrs["strategy"] == "margin"


def test_baselines_match_sklearn():
    ta, la = _planted(120, seed=7)
    book = _planted_book()
    b = assist.baselines(ta, la, book).set_index("code")
    from cxlib.voice import coding

    mm = coding.match_matrix(ta, book)
    for c in la.columns:
        y = la[c].to_numpy()
        assert b.loc[c, "f1_always"] == pytest.approx(f1_score(y, np.ones_like(y)))
        assert b.loc[c, "f1_patterns"] == pytest.approx(f1_score(y, mm[c].to_numpy().astype(int)))
    assert b.loc["micro", "f1_patterns"] == pytest.approx(
        f1_score(la.to_numpy(), mm[la.columns].to_numpy().astype(int), average="micro"))


def test_batched_prediction_equals_one_pass(halves, half_model, monkeypatch):
    """Prediction in batches (bounded memory at any size) gives exactly the one-pass numbers."""
    _, (tb, _) = halves
    texts = tb.head(300)
    whole = assist.predict_proba(half_model, texts)
    monkeypatch.setattr(assist, "PREDICT_BATCH", 7)
    batched = assist.predict_proba(half_model, texts)
    pd.testing.assert_frame_equal(whole, batched)
    assert whole.notna().all().all() and len(whole) == 300

"""Text features: the per-word char_wb n-grams equal scikit-learn's, negation scopes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from cxlib.voice import features


def _texts(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    words = ["late", "delivery", "ok", "a", "التوصيل", "والتوصيل", "متأخر", "👍", "refund!!", "x", "ممتاززز"]
    return features.prepare([" ".join(rng.choice(words, int(rng.integers(0, 8)))) for _ in range(n)])


@pytest.mark.parametrize(("lo", "hi", "min_df"), [(2, 5, 1), (1, 3, 2), (3, 4, 1)])
def test_word_char_ngrams_equal_sklearn_char_wb(lo, hi, min_df):
    train, test = _texts(200, 1), _texts(50, 2)
    ref = TfidfVectorizer(analyzer="char_wb", ngram_range=(lo, hi), min_df=min_df, sublinear_tf=True,
                          lowercase=False).fit(train)
    ours = features.WordCharNgrams(ngram_range=(lo, hi), min_df=min_df).fit(train)
    assert list(ours.get_feature_names_out()) == list(ref.get_feature_names_out())
    np.testing.assert_allclose(ours.transform(test).toarray(), ref.transform(test).toarray(), atol=1e-12)
    np.testing.assert_allclose(ours.fit_transform(train).toarray(), ref.transform(train).toarray(), atol=1e-12)


def test_all_empty_documents_give_empty_rows():
    ours = features.WordCharNgrams().fit(_texts(30, 3))
    x = ours.transform(np.array(["", " "], dtype=object))
    assert x.shape == (2, len(ours.get_feature_names_out())) and x.nnz == 0


def test_prepare_normalizes_and_cuts_elongation():
    out = features.prepare(["ممتااااز جداً", None, "Sooooo GOOD"])
    assert out.tolist() == ["ممتااز جدا", "", "soo good"]


def test_mark_negation_scope_stops_at_punctuation():
    out = features.mark_negation(np.array(["it was not good at all here, fine", "didn't like it",
                                           "مو حلو ابدا. شكرا"], dtype=object))
    assert out[0] == "it was not neg_good neg_at neg_all here , fine"
    assert out[1] == "didn't neg_like neg_it"
    assert out[2] == "مو neg_حلو neg_ابدا . شكرا"



def _csr_differences(a, b) -> list[str]:
    """How two sparse matrices differ: structure exactly, values beyond the last bits of a row's
    norm (summation order, relative 1e-14). Empty when they hold the same entries."""
    a, b = a.tocsr().copy(), b.tocsr().copy()
    a.sort_indices()
    b.sort_indices()
    if a.shape != b.shape:
        return [f"shape {a.shape} != {b.shape}"]
    if not (np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)):
        return ["different entries"]
    if not np.allclose(a.data, b.data, rtol=1e-14, atol=0):
        return [f"values differ by up to {np.max(np.abs(a.data - b.data) / np.abs(b.data)):.1e} relative"]
    return []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fold_counts_equal_a_fresh_fit(seed):
    """Slicing one count of the corpus gives what fitting the features on the fold's rows gives."""
    corpus = _texts(300, 10 + seed)
    rng = np.random.default_rng(seed)
    counts = features.FoldCounts(features.make_text_features(), corpus)
    for _ in range(4):
        rows = rng.permutation(len(corpus))
        train, test = np.sort(rows[:200]), np.sort(rows[200:])
        if seed == 2:  # rows in any order, as the examples that follow the coded texts
            train = np.concatenate([train[50:], train[:50]])
        fresh = features.make_text_features()
        got_tr, got_te = counts.fold(train, test)
        assert not _csr_differences(got_tr, fresh.fit_transform(corpus[train]))
        assert not _csr_differences(got_te, fresh.transform(corpus[test]))


def test_fold_counts_need_min_df_1():
    with pytest.raises(ValueError, match="min_df=1"):
        features.FoldCounts(features.make_text_features(min_df=2), _texts(20, 1))

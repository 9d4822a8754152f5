"""Text features shared by the calibrated sentiment model and assisted coding.

Two TF-IDF blocks on normalized text (:func:`cxlib.voice.coding.normalize_series`, then runs
of 3+ identical characters cut to 2, ``ممتاااااز`` -> ``ممتاز``... ``رااائع`` -> ``راائع``):

* word 1-2-grams (tokens: runs of word characters, and each other non-space character on
  its own, so emoji and "!" are tokens);
* character n-grams within word boundaries (scikit-learn's ``char_wb``: each
  whitespace-separated word padded with one space, all its 2-5-grams). They carry Arabic
  clitics (``والتوصيل`` and ``توصيلهم`` share ``توصي``), dialect spellings, typos and
  code-switched text without a stemmer.

:class:`WordCharNgrams` computes the ``char_wb`` counts exactly as scikit-learn does, but once
per distinct word instead of once per word occurrence: with ``D`` the document x word count
matrix and ``W`` the word x n-gram count matrix, the document x n-gram counts are
``D @ W`` (a sparse product). Customer text repeats its words (Zipf's law), so this is
several times faster than ``TfidfVectorizer(analyzer="char_wb")`` on the same input, with the
same numbers (tested). TF-IDF weighting as in scikit-learn: ``tf' = 1 + log(tf)``
(sublinear), ``idf = ln((1 + n) / (1 + df)) + 1`` (smooth), rows l2-normalized.

References
----------
Pedregosa et al. (2011), Scikit-learn: Machine Learning in Python, JMLR 12.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from cxlib.voice.coding import normalize_series

__all__ = ["prepare", "mark_negation", "WordCharNgrams", "FoldCounts", "make_text_features", "WORD_TOKEN_PATTERN"]

#: word tokens: runs of word characters, or any single other non-space character (emoji, !, ?)
WORD_TOKEN_PATTERN = r"(?u)\b\w+\b|[^\w\s]"

_RUN3_RE = re.compile(r"(\w)\1{2,}")


def prepare(texts: pd.Series | list | np.ndarray) -> np.ndarray:
    """Normalized texts for the models: :func:`normalize_series`, runs of 3+ letters cut to 2.

    Missing texts become ``""``. Returns an object array aligned with the input.
    """
    s = pd.Series(texts, dtype="object") if not isinstance(texts, pd.Series) else texts.astype("object")
    s = s.where(s.notna(), "")
    return normalize_series(s.astype("str")).str.replace(_RUN3_RE, r"\1\1", regex=True).to_numpy(dtype=object)


#: negators whose scope :func:`mark_negation` marks (normalized; English and Arabic)
NEGATORS = frozenset(
    "not no never cannot nothing nobody neither nor without dont didnt doesnt isnt wasnt werent arent cant wont "
    "couldnt wouldnt shouldnt havent hasnt hadnt aint لا ما مو مش مب ليس لم لن غير بدون".split()
)
#: tokens marked after a negator (fewer if a punctuation mark comes first)
NEGATION_SCOPE = 3
_NEG_TOKEN_RE = re.compile(r"[\w'’]+|[^\w\s]")


def mark_negation(prepared: np.ndarray, scope: int = NEGATION_SCOPE) -> np.ndarray:
    """Prefix the ``scope`` tokens after a negator with ``neg_`` (stopping at punctuation).

    "not good at all" -> "not neg_good neg_at neg_all", so "good" and "not ... good" become
    different features (Das & Chen 2001; Pang, Lee & Vaithyanathan 2002). Negators:
    :data:`NEGATORS` and any word ending in "n't". Used by the sentiment model, not by coding.

    References
    ----------
    Pang, B., Lee, L. & Vaithyanathan, S. (2002), Thumbs up? Sentiment classification using
    machine learning techniques, EMNLP 2002, 79-86.
    """
    out = np.empty(len(prepared), dtype=object)
    for i, text in enumerate(prepared):
        toks = _NEG_TOKEN_RE.findall(text)
        left = 0
        res = []
        for tok in toks:
            if not (tok[0].isalnum() or tok[0] == "_"):
                left = 0
                res.append(tok)
                continue
            res.append("neg_" + tok if left > 0 else tok)
            left -= 1
            if tok in NEGATORS or tok.endswith(("n't", "n’t")):
                left = scope
        out[i] = " ".join(res)
    return out


@functools.lru_cache(maxsize=1_000_000)
def _wb_ngrams(word: str, lo: int, hi: int) -> tuple[str, ...]:
    """scikit-learn's ``_char_wb_ngrams`` for one word (padded with a space each side)."""
    w = f" {word} "
    size = len(w)
    out: list[str] = []
    for n in range(lo, hi + 1):
        out.append(w[:n])
        offset = 0
        while offset + n < size:
            offset += 1
            out.append(w[offset:offset + n])
        if offset == 0:  # a short word (size <= n) is counted once
            break
    return tuple(out)


class _WordAnalyzer:
    """Picklable analyzer: one word -> its char_wb n-grams."""

    def __init__(self, lo: int, hi: int):
        self.lo, self.hi = lo, hi

    def __call__(self, word: str) -> tuple[str, ...]:
        return _wb_ngrams(word, self.lo, self.hi)


def _split(doc: str) -> list[str]:
    return doc.split()


class WordCharNgrams(TransformerMixin, BaseEstimator):
    """TF-IDF of character n-grams within word boundaries, computed per distinct word.

    Same features and weights as ``TfidfVectorizer(analyzer="char_wb",
    ngram_range=ngram_range, min_df=min_df, sublinear_tf=sublinear_tf, lowercase=False)``.

    Parameters
    ----------
    ngram_range : (int, int)
        Smallest and largest n-gram length.
    min_df : int
        Keep n-grams found in at least this many training documents.
    sublinear_tf : bool
        ``1 + log(tf)`` instead of raw counts.
    """

    def __init__(self, ngram_range: tuple[int, int] = (2, 5), min_df: int = 1, sublinear_tf: bool = True):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf

    def _counts(self, docs, fit: bool):
        words = CountVectorizer(tokenizer=_split, token_pattern=None, lowercase=False, dtype=np.int64)
        try:
            d = words.fit_transform(docs)
        except ValueError:  # every document empty: no words at all
            n = len(docs)
            width = len(self.keep_) if not fit else 0
            from scipy import sparse

            return sparse.csr_matrix((n, width), dtype=np.float64)
        vocab = words.get_feature_names_out()
        if fit:
            self.char_ = CountVectorizer(analyzer=_WordAnalyzer(*self.ngram_range), dtype=np.int64)
            w = self.char_.fit_transform(vocab)
        else:
            w = self.char_.transform(vocab)
        c = (d @ w).tocsr()
        if fit:
            df = np.asarray((c > 0).sum(axis=0)).ravel()
            self.keep_ = np.flatnonzero(df >= self.min_df)
        return c[:, self.keep_].astype(np.float64)

    def fit(self, X, y=None):
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        c = self._counts(list(X), fit=True)
        self.tfidf_ = TfidfTransformer(sublinear_tf=self.sublinear_tf)
        return self.tfidf_.fit_transform(c)

    def transform(self, X):
        return self.tfidf_.transform(self._counts(list(X), fit=False))

    def get_feature_names_out(self, input_features=None):
        return self.char_.get_feature_names_out()[self.keep_]


class FoldCounts:
    """The features of cross-validation folds from one count of the whole corpus.

    A fold's model fits :func:`make_text_features` on its training rows: vocabulary (the
    n-grams found in them, ``min_df=1``), document frequencies and IDF from those rows alone.
    That is the corpus's raw counts with the rows of the fold and the columns that occur in its
    training rows (vocabulary order kept), weighted by a ``TfidfTransformer`` fitted on the
    training rows. The corpus is tokenized once instead of once per fold and code.

    :meth:`fold` gives a fresh fit's features: the same vocabulary, and the same weights up to
    the last bit of a row's norm (scikit-learn sums a row in the order its words were first met
    in the corpus, this class in column order; tested to 1e-14).

    ``features``: an unfitted :func:`make_text_features` (its parameters are used; ``min_df``
    must be 1); ``prepared``: every text any fold uses, from :func:`prepare`.
    """

    def __init__(self, features: FeatureUnion, prepared: np.ndarray):
        from sklearn.base import clone

        blocks = dict(features.transformer_list)
        word, char = blocks["word"], clone(blocks["char"])
        if word.min_df != 1 or char.min_df != 1:
            raise ValueError("FoldCounts needs min_df=1: a fold's vocabulary is then every n-gram of its training rows")
        counting = set(CountVectorizer().get_params())
        wp = word.get_params()
        docs = list(prepared)
        self.word = CountVectorizer(**{k: v for k, v in wp.items() if k in counting}).fit_transform(docs).tocsr()
        self.char = char._counts(docs, fit=True)  # every n-gram of the corpus (min_df=1)
        self.weighting = (
            dict(norm=wp["norm"], use_idf=wp["use_idf"], smooth_idf=wp["smooth_idf"], sublinear_tf=wp["sublinear_tf"]),
            dict(sublinear_tf=char.sublinear_tf),
        )
        for m in (self.word, self.char):
            m.sort_indices()

    def fold(self, train: np.ndarray, test: np.ndarray):
        """(training, test) feature matrices of a fold: rows ``train`` and ``test`` of the corpus."""
        from scipy import sparse

        xs_tr, xs_te = [], []
        for counts, weighting in zip((self.word, self.char), self.weighting, strict=True):
            ctr = counts[train]
            keep = np.flatnonzero(np.bincount(ctr.indices, minlength=counts.shape[1]))
            if counts is self.word and not len(keep):
                raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
            tfidf = TfidfTransformer(**weighting)
            xs_tr.append(tfidf.fit_transform(ctr[:, keep].astype(np.float64)))
            xs_te.append(tfidf.transform(counts[test][:, keep].astype(np.float64)))
        return sparse.hstack(xs_tr).tocsr(), sparse.hstack(xs_te).tocsr()


def make_text_features(
    *, word_ngrams: tuple[int, int] = (1, 2), char_ngrams: tuple[int, int] = (2, 5), min_df: int = 1
) -> FeatureUnion:
    """Unfitted word + character TF-IDF features for texts from :func:`prepare`.

    ``FeatureUnion`` of ``TfidfVectorizer(ngram_range=word_ngrams, token_pattern=WORD_TOKEN_PATTERN,
    sublinear_tf=True)`` and :class:`WordCharNgrams` (``char_ngrams``); each block is
    l2-normalized, so both weigh alike.
    """
    return FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=word_ngrams, token_pattern=WORD_TOKEN_PATTERN,
                                     sublinear_tf=True, min_df=min_df, lowercase=False)),
            ("char", WordCharNgrams(ngram_range=char_ngrams, min_df=min_df)),
        ]
    )

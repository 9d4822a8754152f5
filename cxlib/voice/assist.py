"""Assisted coding: a scikit-learn model that learns the analysts' codes and suggests them.

Pipeline (each step a pure function; tidy frames in and out)::

    texts, labels = training_set(manual_codes, verbatims, book.codes)   # human consensus
    cv = cross_validate(texts, labels)          # per-code precision, recall, F1 (+ micro)
    model = train(texts, labels)                # AssistModel
    suggest(model, verbatims)                   # verbatim_id, code, probability (long)
    code_next(model, verbatims, n=50)           # what the coders should code next

Model
-----
Features are TF-IDF weights (sublinear tf, l2-normalized) of word 1-2-grams and of character
2-5-grams within word boundaries (``char_wb``), computed on normalized text
(:func:`cxlib.voice.features.prepare`, :func:`cxlib.voice.features.make_text_features`).
Character n-grams catch Arabic clitics and inflections (``والتوصيل``, ``التوصيل``, ``توصيلهم``
share ``توصيل``) and English typos without a stemmer or any other language tool.

With a codebook (``train(..., codebook=book)``) two more sources of knowledge join, so the
model learns from few coded texts:

* **patterns as features**: one 0/1 column per code, whether the code's patterns match the
  text (:func:`cxlib.voice.coding.match_matrix`, clitic-aware, negation as in auto-coding),
  times a weight chosen by cross-validation on the coded texts among
  :data:`PATTERN_WEIGHTS` (:func:`choose_pattern_weight`); the classifier learns how far
  to trust each pattern;
* **examples**: the codebook's example sentences (column ``examples``) are added to the
  training texts, positive for their code.

Each code gets its own binary logistic regression (one-vs-rest, ``class_weight="balanced"``
so rare codes are not drowned by negatives: class c weighs ``n / (2 n_c)``, ``liblinear``
solver, L2 penalty ``C`` = :data:`C_DEFAULT`): ``p_k(x) = 1 / (1 + exp(-(w_k . x + b_k)))``.
Codes are independent, so a verbatim can carry several (multi-label); where each text has
exactly one code, :func:`predict_codes` with ``top1=True`` takes the most probable.

A code needs at least ``min_positives`` positive *and* negative training verbatims to be
trained; the others are not trained and are listed (``AssistModel.skipped``, ``attrs``).

References
----------
Pedregosa et al. (2011), Scikit-learn: Machine Learning in Python, JMLR 12.
Lewis, D. D. & Gale, W. A. (1994), A sequential algorithm for training text classifiers,
SIGIR '94, 3-12 (uncertainty sampling, :func:`code_next`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline

from cxlib.exceptions import DataValidationError
from cxlib.voice import features as feats
from cxlib.voice.coding import (
    CompiledCodebook,
    code_examples,
    match_matrix,
    normalize_series,
    redact_series,
)

__all__ = [
    "AssistModel",
    "make_features",
    "make_pipeline",
    "training_set",
    "train",
    "predict_proba",
    "predict_codes",
    "cross_validate",
    "suggest",
    "code_next",
    "uncertainty",
    "baselines",
    "choose_pattern_weight",
    "for_run",
]

#: candidate weights of the codebook-pattern columns beside the l2-normalized TF-IDF blocks;
#: :func:`train` picks one by cross-validation on the coded texts (a light touch suits many
#: coded texts and loose patterns, a strong one few coded texts and precise patterns)
PATTERN_WEIGHTS = (0.25, 1.0)
#: below this many coded texts the strongest weight is used without cross-validation
MIN_TEXTS_FOR_WEIGHT_CV = 30
#: inverse regularization of each code's logistic regression
C_DEFAULT = 10.0

SUGGEST_COLUMNS = ["verbatim_id", "code", "probability", "rank"]
CODE_NEXT_COLUMNS = ["verbatim_id", "code", "probability", "uncertainty", "source", "language", "text",
                     "n_same_text"]


# --- model -------------------------------------------------------------------------------


def make_features() -> FeatureUnion:
    """The text features: TF-IDF word 1-2-grams + character (``char_wb``) 2-5-grams."""
    return feats.make_text_features()


def make_pipeline(random_state: int = 0) -> Pipeline:
    """An unfitted single-code pipeline: text features -> balanced logistic regression.

    Input: texts from :func:`cxlib.voice.features.prepare`; output of
    ``predict_proba(...)[:, 1]``: the probability that the code applies. Without a codebook,
    :func:`train` is this pipeline fitted once per code (the features shared).
    """
    return Pipeline(
        [
            ("features", make_features()),
            ("clf", LogisticRegression(class_weight="balanced", solver="liblinear", C=C_DEFAULT,
                                       random_state=random_state)),
        ]
    )


class PatternRows:
    """The codebook's pattern matches (:func:`cxlib.voice.coding.match_matrix`) of texts, each
    distinct text matched once.

    A text's matches depend on the text alone, so the folds and pattern weights of
    cross-validation and the final fit reuse them instead of matching the same texts again
    (one matching per distinct text instead of one per fold, weight and code).
    """

    def __init__(self, codebook: CompiledCodebook):
        self.codebook = codebook
        self._rows: dict[str | None, np.ndarray] = {}

    def block(self, texts: pd.Series, weight: float) -> sparse.csr_matrix | None:
        if not len(self.codebook):
            return None
        keys = [t if isinstance(t, str) else None for t in texts]
        new = [k for k in dict.fromkeys(keys) if k not in self._rows]
        if new:
            m = match_matrix(pd.Series(new, dtype=object), self.codebook).to_numpy(dtype=float)
            self._rows.update(zip(new, m, strict=True))
        width = len(self.codebook.codes)
        m = np.vstack([self._rows[k] for k in keys]) if keys else np.zeros((0, width))
        return sparse.csr_matrix(m * weight)


def _design(features: FeatureUnion, codebook: CompiledCodebook | None, raw: pd.Series, fit: bool,
            weight: float = PATTERN_WEIGHTS[-1], patterns: PatternRows | None = None):
    """Feature matrix of raw texts: TF-IDF blocks (+ pattern columns x ``weight`` with a codebook).

    ``patterns`` (for ``codebook``) reuses pattern matches already computed for the same texts.
    """
    prepared = feats.prepare(raw)
    x = features.fit_transform(prepared) if fit else features.transform(prepared)
    return x if codebook is None else _with_patterns(x, patterns or PatternRows(codebook), raw, weight)


def _with_patterns(x, patterns: PatternRows, raw: pd.Series, weight: float) -> sparse.csr_matrix:
    """Text features ``x`` of ``raw`` followed by their pattern columns x ``weight`` (none for an
    empty codebook)."""
    pat = patterns.block(raw, weight)
    return x if pat is None else sparse.hstack([x, pat]).tocsr()


def choose_pattern_weight(
    raw: pd.Series, labels: pd.DataFrame, codebook: CompiledCodebook, *, random_state: int = 0, folds: int = 3,
    patterns: PatternRows | None = None,
) -> tuple[float, pd.DataFrame]:
    """The weight of the pattern columns that codes the coded texts best out of fold.

    For each weight in :data:`PATTERN_WEIGHTS`: ``KFold(folds, shuffle=True, random_state)``
    over the texts; per fold the features and one classifier per code (codes with a positive
    and a negative in the fold) are fitted and predict the held-out texts; the score is the
    micro F1 of ``p >= 0.5`` over all codes and texts. The highest score wins (ties: the
    lighter weight). With fewer than :data:`MIN_TEXTS_FOR_WEIGHT_CV` texts the strongest
    weight is returned: the codebook is then most of what is known.

    Returns
    -------
    weight : float
    table : DataFrame
        weight, micro_f1, chosen.
    """
    from sklearn.model_selection import KFold

    if len(raw) < MIN_TEXTS_FOR_WEIGHT_CV:
        w = PATTERN_WEIGHTS[-1]
        return w, pd.DataFrame({"weight": [w], "micro_f1": [np.nan], "chosen": [True]})
    y = labels.to_numpy()
    rows = []
    patterns = patterns if patterns is not None else PatternRows(codebook)
    splits = list(KFold(folds, shuffle=True, random_state=random_state).split(np.zeros(len(raw))))
    template = make_pipeline(random_state)
    counts = feats.FoldCounts(template.named_steps["features"], feats.prepare(raw))
    text_x = [counts.fold(tr, te) for tr, te in splits]  # a fold's text features do not depend on the weight
    for w in PATTERN_WEIGHTS:
        pred = np.zeros_like(y)
        for (tr, te), (xtr, xte) in zip(splits, text_x, strict=True):
            xtr = _with_patterns(xtr, patterns, raw.iloc[tr], w)
            xte = _with_patterns(xte, patterns, raw.iloc[te], w)
            for j in range(y.shape[1]):
                yy = y[tr, j]
                if 0 < yy.sum() < len(yy):
                    clf = clone(template.named_steps["clf"]).fit(xtr, yy)
                    pred[te, j] = clf.predict_proba(xte)[:, 1] >= 0.5
        tp = int((pred & y).sum())
        denom = int(pred.sum() + y.sum())
        rows.append({"weight": w, "micro_f1": 2 * tp / denom if denom else 0.0})
    table = pd.DataFrame(rows)
    best = table.loc[table["micro_f1"].idxmax(), "weight"]  # idxmax keeps the first (lighter) on ties
    table["chosen"] = table["weight"] == best
    return float(best), table


@dataclass(frozen=True, eq=False)
class AssistModel:
    """A fitted assisted-coding model.

    Attributes
    ----------
    features : FeatureUnion
        The fitted :func:`make_features` (vocabulary and IDF of the training texts), shared by
        every code.
    classifiers : dict[str, LogisticRegression]
        code -> fitted classifier (only the trained codes). ``features`` followed by
        ``classifiers[code]`` is exactly ``make_pipeline().fit(texts, labels[code])``.
    codes : list[str]
        The trained codes, in label-column order.
    thresholds : dict[str, float]
        code -> probability from which the code is suggested when ``suggest(min_prob=None)``
        (0.5 for every code after :func:`train`; tune on :func:`cross_validate` output).
    skipped : DataFrame
        code, positives, negatives, reason: codes that were not trained (too few examples).
    trained_ids : Index
        Index labels (verbatim ids) of the training texts; :func:`suggest` and
        :func:`code_next` leave them out.
    random_state : int
    codebook : CompiledCodebook or None
        The codebook whose patterns are features (None: text features only).
    n_examples : int
        Codebook example sentences added to the training texts.
    pattern_weight : float
        Weight of the pattern columns (:func:`choose_pattern_weight`).
    weight_selection : DataFrame or None
        The cross-validation behind ``pattern_weight`` (None without a codebook).
    """

    features: FeatureUnion = field(repr=False)
    classifiers: dict[str, LogisticRegression] = field(repr=False)
    codes: list[str]
    thresholds: dict[str, float]
    skipped: pd.DataFrame = field(repr=False)
    trained_ids: pd.Index = field(repr=False)
    random_state: int = 0
    codebook: CompiledCodebook | None = field(default=None, repr=False)
    n_examples: int = 0
    pattern_weight: float = PATTERN_WEIGHTS[-1]
    weight_selection: pd.DataFrame | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.codes)


# --- inputs ------------------------------------------------------------------------------


def _check_xy(texts: pd.Series, labels: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Validate (texts, labels) and return the texts (str) and labels aligned on texts' index."""
    if not isinstance(texts, pd.Series):
        raise TypeError("texts must be a pandas Series (index = verbatim ids).")
    if not isinstance(labels, pd.DataFrame):
        raise TypeError("labels must be a DataFrame: one 0/1 column per code, index aligned with texts.")
    if texts.index.has_duplicates:
        dup = texts.index[texts.index.duplicated()].unique()[:5].tolist()
        raise DataValidationError(f"texts: duplicate index labels {dup}; give each verbatim one row.")
    missing = texts.index.difference(labels.index)
    extra = labels.index.difference(texts.index)
    if len(missing) or len(extra):
        raise DataValidationError(
            f"labels and texts are not aligned: {len(missing)} text(s) without labels "
            f"(e.g. {missing[:3].tolist()}), {len(extra)} label row(s) without text "
            f"(e.g. {extra[:3].tolist()}); build both with training_set()."
        )
    labels = labels.loc[texts.index]
    vals = labels.to_numpy()
    bad = ~np.isin(vals, [0, 1, True, False])
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataValidationError(
            f"labels must be 0/1: column {labels.columns[c]!r}, row {labels.index[r]!r} holds "
            f"{vals[r, c]!r} ({int(bad.sum())} bad cell(s)); use 1 = code applies, 0 = does not."
        )
    raw = texts.astype("object").where(texts.notna(), "").astype("str")
    empty = normalize_series(raw).str.len().to_numpy() == 0
    if empty.any():
        raise DataValidationError(
            f"texts: {int(empty.sum())} empty text(s) (e.g. {texts.index[empty][:3].tolist()}); "
            "a model cannot learn from them, drop them (training_set() does and counts them)."
        )
    return raw, labels.astype("int8")


def _label_counts(labels: pd.DataFrame, min_positives: int) -> tuple[list[str], pd.DataFrame]:
    pos = labels.sum(axis=0).astype(int)
    neg = (len(labels) - pos).astype(int)
    trainable, skipped = [], []
    for code in labels.columns:
        p, n = int(pos[code]), int(neg[code])
        if p < min_positives:
            skipped.append((code, p, n, f"{p} positive(s) < min_positives={min_positives}"))
        elif n < min_positives:
            skipped.append((code, p, n, f"{n} negative(s) < min_positives={min_positives}"))
        else:
            trainable.append(code)
    skipped_df = pd.DataFrame(skipped, columns=["code", "positives", "negatives", "reason"])
    return trainable, skipped_df


def training_set(
    manual_codes: pd.DataFrame,
    verbatims: pd.DataFrame,
    codebook_codes: list[str],
    *,
    text_col: str = "text",
) -> tuple[pd.Series, pd.DataFrame]:
    """Training data from human coding: the coders' consensus per verbatim and code.

    Rule: a verbatim is in the training set when at least one coder coded it (a row with an
    empty code means "coded, no code applies") and it has text. A code is positive (1) when
    *every* coder of that verbatim applied it; a code applied by some but not all coders is a
    disagreement: it does not count as positive (label 0), and it is listed in
    ``labels.attrs["disagreements"]``. With one coder, that coder's codes are the labels.

    Parameters
    ----------
    manual_codes : DataFrame
        Long format ``verbatim_id, coder, code`` (:class:`cxlib.data.schemas.ManualCodes`).
    verbatims : DataFrame
        Needs ``verbatim_id`` and ``text_col``.
    codebook_codes : list of str
        The label columns, in this order (codes nobody applied get an all-zero column).

    Returns
    -------
    texts : Series
        Raw text indexed by verbatim_id (name ``text``), in verbatim_id order.
    labels : DataFrame
        0/1 (int8), same index, one column per code. ``attrs``: n_coded_verbatims,
        n_without_text and n_not_in_verbatims (coded verbatims left out, with reason),
        n_coders, n_disagreements, disagreements (verbatim_id, code, n_applied, n_coders).

    Raises
    ------
    DataValidationError
        Missing columns, or codes that are not in ``codebook_codes`` (rows listed).
    """
    for col in ("verbatim_id", "coder", "code"):
        if col not in manual_codes.columns:
            raise DataValidationError(f"manual_codes: column {col!r} is missing; expected verbatim_id, coder, code.")
    for col in ("verbatim_id", text_col):
        if col not in verbatims.columns:
            raise DataValidationError(f"verbatims: column {col!r} is missing; training_set needs verbatim_id and {text_col}.")
    codes = [str(c) for c in codebook_codes]
    mc = manual_codes[["verbatim_id", "coder", "code"]].copy()
    mc["verbatim_id"] = mc["verbatim_id"].astype("str")
    mc["coder"] = mc["coder"].astype("str")
    has_code = mc["code"].notna() & (mc["code"].astype("str").str.strip() != "")
    mc["code"] = mc["code"].where(has_code).astype("object")
    mc.loc[has_code, "code"] = mc.loc[has_code, "code"].astype("str").str.strip()
    unknown = has_code & ~mc["code"].isin(codes)
    if unknown.any():
        rows = (np.flatnonzero(unknown.to_numpy()) + 2).tolist()
        raise DataValidationError(
            f"manual_codes: {int(unknown.sum())} row(s) carry codes that are not in the codebook "
            f"({sorted(mc.loc[unknown, 'code'].unique())[:5]}), file rows {rows[:10]}; "
            "fix the spelling or add the code to the codebook."
        )
    n_coders = mc.groupby("verbatim_id")["coder"].nunique()
    applied = mc[has_code].drop_duplicates(["verbatim_id", "coder", "code"])
    n_applied = applied.groupby(["verbatim_id", "code"]).size().rename("n_applied").reset_index()
    n_applied["n_coders"] = n_applied["verbatim_id"].map(n_coders).astype(int)
    agreed = n_applied[n_applied["n_applied"] == n_applied["n_coders"]]
    disagreements = n_applied[n_applied["n_applied"] < n_applied["n_coders"]].reset_index(drop=True)

    vv = verbatims.drop_duplicates("verbatim_id")
    text = pd.Series(vv[text_col].to_numpy(), index=vv["verbatim_id"].astype("str").to_numpy())
    coded_ids = pd.Index(sorted(n_coders.index))
    in_verb = coded_ids.isin(text.index)
    ids = coded_ids[in_verb]
    t = text.reindex(ids)
    has_text = t.notna() & (t.astype("str").str.strip().str.len() > 0)
    ids = ids[has_text.to_numpy()]
    texts = t[has_text].astype("str").rename("text")
    texts.index.name = "verbatim_id"
    agreed = agreed[agreed["verbatim_id"].isin(ids)]
    labels = pd.DataFrame(0, index=ids, columns=codes, dtype="int8")
    if len(agreed):
        r = ids.get_indexer(agreed["verbatim_id"])
        c = pd.Index(codes).get_indexer(agreed["code"])
        arr = labels.to_numpy().copy()
        arr[r, c] = 1
        labels = pd.DataFrame(arr, index=ids, columns=codes)
    labels.index.name = "verbatim_id"
    labels.attrs.update(
        n_coded_verbatims=len(coded_ids),
        n_not_in_verbatims=int((~in_verb).sum()),
        n_without_text=int((~has_text).sum()),
        n_training=len(ids),
        n_coders=int(mc["coder"].nunique()),
        n_disagreements=len(disagreements),
        disagreements=disagreements,
    )
    return texts, labels


# --- training and prediction -------------------------------------------------------------


def _with_examples(
    raw: pd.Series, labels: pd.DataFrame, codebook: CompiledCodebook | None, use_examples: bool
) -> tuple[pd.Series, pd.DataFrame, int]:
    """Training texts plus the codebook's example sentences (positive for their code only)."""
    if codebook is None or not use_examples:
        return raw, labels, 0
    ex = code_examples(codebook)
    ex = ex[ex["code"].isin(labels.columns)]
    if ex.empty:
        return raw, labels, 0
    ids = pd.Index([f"__example_{i}" for i in range(len(ex))])
    ex_lab = pd.DataFrame(0, index=ids, columns=labels.columns, dtype="int8")
    for i, code in enumerate(ex["code"]):
        ex_lab.iat[i, labels.columns.get_loc(code)] = 1
    return (pd.concat([raw, pd.Series(ex["text"].to_numpy(), index=ids)]),
            pd.concat([labels, ex_lab]), len(ex))


def train(
    texts: pd.Series,
    labels: pd.DataFrame,
    *,
    min_positives: int = 5,
    random_state: int = 0,
    codebook: CompiledCodebook | None = None,
    use_examples: bool = True,
    pattern_weight: float | None = None,
    patterns: PatternRows | None = None,
) -> AssistModel:
    """Fit one balanced logistic regression per code on TF-IDF word and character n-grams.

    Parameters
    ----------
    texts : Series
        Raw texts, index = verbatim ids (normalized here with :func:`cxlib.voice.features.prepare`).
    labels : DataFrame
        0/1, one column per code, same index labels as ``texts`` (e.g. from
        :func:`training_set`, or from a truth table in tests).
    min_positives : int
        A code with fewer positive (or negative) examples is not trained; it is listed in
        ``model.skipped`` with the reason, never silently dropped. Codebook examples count.
    random_state : int
        Seed of the liblinear solver (the fit is deterministic given the seed).
    codebook : CompiledCodebook, optional
        Its patterns become features (one 0/1 column per code) and, with ``use_examples``,
        its example sentences join the training texts (module docstring).
    pattern_weight : float, optional
        Weight of the pattern columns; None chooses among :data:`PATTERN_WEIGHTS` by
        cross-validation on the coded texts (:func:`choose_pattern_weight`).
    patterns : PatternRows, optional
        Pattern matches already computed for ``codebook`` (shared with :func:`cross_validate`).

    Returns
    -------
    AssistModel
    """
    raw, labels = _check_xy(texts, labels)
    raw, labels, n_ex = _with_examples(raw, labels, codebook, use_examples)
    trainable, skipped = _label_counts(labels, min_positives)
    if not trainable:
        raise DataValidationError(
            f"no code has at least {min_positives} positive and negative examples "
            f"({len(labels)} training texts); code more verbatims or lower min_positives."
        )
    weight, selection = PATTERN_WEIGHTS[-1], None
    if codebook is not None and patterns is None:
        patterns = PatternRows(codebook)
    if codebook is not None:
        if pattern_weight is None:
            weight, selection = choose_pattern_weight(raw, labels[trainable], codebook, random_state=random_state,
                                                      patterns=patterns)
        else:
            weight = float(pattern_weight)
    template = make_pipeline(random_state)
    features = clone(template.named_steps["features"])
    x = _design(features, codebook, raw, fit=True, weight=weight, patterns=patterns)
    classifiers = {
        code: clone(template.named_steps["clf"]).fit(x, labels[code].to_numpy()) for code in trainable
    }
    return AssistModel(
        features=features,
        classifiers=classifiers,
        codes=trainable,
        thresholds=dict.fromkeys(trainable, 0.5),
        skipped=skipped,
        trained_ids=pd.Index(texts.index),
        random_state=random_state,
        codebook=codebook,
        n_examples=n_ex,
        pattern_weight=weight,
        weight_selection=selection,
    )


#: texts turned into features at once when predicting (a client's 300k texts never all at once)
PREDICT_BATCH = 20_000


def predict_proba(model: AssistModel, texts: pd.Series) -> pd.DataFrame:
    """Probability of every trained code for every text: DataFrame (texts' index x codes).

    Empty or missing texts get NaN (they carry no evidence).
    """
    raw = texts.astype("object").where(texts.notna(), "")
    norm = normalize_series(raw.astype("str"))
    ok = norm.str.len().to_numpy() > 0
    out = np.full((len(texts), len(model.codes)), np.nan)
    rows = np.flatnonzero(ok)
    for start in range(0, len(rows), PREDICT_BATCH):  # features for one batch at a time: bounded memory
        part = rows[start:start + PREDICT_BATCH]
        x = _design(model.features, model.codebook, raw.iloc[part], fit=False, weight=model.pattern_weight)
        for j, code in enumerate(model.codes):
            out[part, j] = model.classifiers[code].predict_proba(x)[:, 1]
    return pd.DataFrame(out, index=texts.index, columns=list(model.codes))


def predict_codes(
    model: AssistModel, texts: pd.Series, *, top1: bool = False, min_prob: float | None = 0.5
) -> pd.DataFrame:
    """0/1 code assignments from :func:`predict_proba`.

    ``top1=False`` (multi-label): a code applies when ``p >= min_prob`` (``None``: the model's
    per-code ``thresholds``). ``top1=True`` (each text has exactly one code): the code with
    the highest probability, ``argmax_k p_k``. Empty texts get no code.
    """
    proba = predict_proba(model, texts)
    p = proba.to_numpy()
    ok = ~np.isnan(p).all(axis=1) if p.size else np.zeros(len(proba), bool)
    out = np.zeros(p.shape, dtype="int8")
    if top1:
        j = np.nan_to_num(p, nan=-1).argmax(axis=1)
        out[np.flatnonzero(ok), j[ok]] = 1
    else:
        thr = (np.array([model.thresholds[c] for c in model.codes]) if min_prob is None
               else np.full(len(model.codes), float(min_prob)))
        out = (np.nan_to_num(p, nan=-1) >= thr).astype("int8")
    return pd.DataFrame(out, index=proba.index, columns=proba.columns)


# --- cross-validation --------------------------------------------------------------------


def cross_validate(
    texts: pd.Series,
    labels: pd.DataFrame,
    *,
    folds: int = 5,
    min_positives: int = 5,
    random_state: int = 0,
    codebook: CompiledCodebook | None = None,
    use_examples: bool = True,
    pattern_weight: float | None = None,
    patterns: PatternRows | None = None,
) -> pd.DataFrame:
    """Out-of-fold precision, recall and F1 per code, and micro-averaged over codes.

    Method: per code, ``StratifiedKFold(folds, shuffle=True, random_state)`` on that code's
    0/1 labels (so every fold holds positives even for rare codes); for each fold a fresh
    model (vocabulary, IDF and classifier, as :func:`train` with the same ``codebook`` and
    examples; examples only ever join the training folds) is fitted on the other folds and
    predicts the held-out fold; a code is predicted when ``p >= 0.5``. With the out-of-fold
    predictions of all texts::

        precision = TP / (TP + FP),  recall = TP / (TP + FN),  F1 = 2 P R / (P + R)

    (``sklearn.metrics.precision_recall_fscore_support``, ``zero_division=0``). The ``micro``
    row pools TP, FP, FN over the evaluated codes. Per-code folds differ between codes, which
    is simpler than multi-label iterative stratification and exact for per-code numbers.

    Parameters
    ----------
    folds : int
        Number of folds; a code needs at least ``max(folds, min_positives)`` positives and
        negatives to be evaluated.

    Returns
    -------
    DataFrame
        code, precision, recall, f1, support (positives), predicted (predicted positives),
        n (texts), evaluated (bool), note; one row per label column then ``micro``.
        Codes not evaluated keep NaN scores and say why in ``note``. ``attrs``: folds,
        random_state, threshold (0.5), n_texts, n_evaluated, n_skipped,
        oof (DataFrame of out-of-fold probabilities, texts' index x evaluated codes).
    """
    if folds < 2:
        raise ValueError(f"folds={folds}; cross-validation needs at least 2 folds.")
    raw, labels = _check_xy(texts, labels)
    need = max(folds, min_positives)
    trainable, skipped = _label_counts(labels, need)
    reasons = dict(zip(skipped["code"], skipped["reason"], strict=True))
    weight = PATTERN_WEIGHTS[-1]
    if codebook is not None and patterns is None:
        patterns = PatternRows(codebook)
    if codebook is not None:
        weight = float(pattern_weight) if pattern_weight is not None else choose_pattern_weight(
            raw, labels, codebook, random_state=random_state, patterns=patterns)[0]
    # the coded texts, then the codebook's examples: tokenized once for every code and fold
    corpus, corpus_labels, n_ex = _with_examples(raw, labels, codebook, use_examples)
    extra = np.arange(len(raw), len(raw) + n_ex)
    template = make_pipeline(random_state)
    counts = feats.FoldCounts(template.named_steps["features"], feats.prepare(corpus))
    rows, oof = [], {}
    tp = fp = fn = 0
    for code in labels.columns:
        y = labels[code].to_numpy()
        if code not in trainable:
            rows.append({"code": code, "precision": np.nan, "recall": np.nan, "f1": np.nan,
                         "support": int(y.sum()), "predicted": np.nan, "n": len(y),
                         "evaluated": False, "note": f"not evaluated: {reasons[code]}"})
            continue
        p = np.empty(len(y))
        skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
        for tr, te in skf.split(np.zeros(len(y)), y):
            rows_tr = np.concatenate([tr, extra])  # the examples only ever join the training rows
            xtr, xte = counts.fold(rows_tr, te)
            if codebook is not None:
                xtr = _with_patterns(xtr, patterns, corpus.iloc[rows_tr], weight)
                xte = _with_patterns(xte, patterns, corpus.iloc[te], weight)
            clf = clone(template.named_steps["clf"]).fit(xtr, corpus_labels[code].to_numpy()[rows_tr])
            p[te] = clf.predict_proba(xte)[:, 1]
        pred = (p >= 0.5).astype(int)
        pr, rc, f1, _ = precision_recall_fscore_support(y, pred, average="binary", zero_division=0)
        tp += int(((pred == 1) & (y == 1)).sum())
        fp += int(((pred == 1) & (y == 0)).sum())
        fn += int(((pred == 0) & (y == 1)).sum())
        oof[code] = p
        rows.append({"code": code, "precision": pr, "recall": rc, "f1": f1, "support": int(y.sum()),
                     "predicted": int(pred.sum()), "n": len(y), "evaluated": True, "note": ""})
    mp = tp / (tp + fp) if tp + fp else 0.0
    mr = tp / (tp + fn) if tp + fn else 0.0
    mf = 2 * mp * mr / (mp + mr) if mp + mr else 0.0
    rows.append({"code": "micro", "precision": mp, "recall": mr, "f1": mf, "support": tp + fn,
                 "predicted": tp + fp, "n": len(labels), "evaluated": bool(oof),
                 "note": f"pooled over {len(oof)} evaluated code(s)"})
    out = pd.DataFrame(rows)
    out["predicted"] = out["predicted"].astype("Int64")
    out.attrs.update(
        folds=folds, random_state=random_state, threshold=0.5, n_texts=len(labels),
        n_evaluated=len(oof), n_skipped=len(labels.columns) - len(oof),
        oof=pd.DataFrame(oof, index=texts.index),
    )
    return out


# --- suggestions -------------------------------------------------------------------------


def _candidates(model: AssistModel, verbatims: pd.DataFrame, text_col: str) -> tuple[pd.DataFrame, dict]:
    """Verbatims to score: with text, customer turns, not in the training set (counts in info)."""
    for col in ("verbatim_id", text_col):
        if col not in verbatims.columns:
            raise DataValidationError(f"verbatims: column {col!r} is missing; need verbatim_id and {text_col}.")
    v = verbatims
    ids = v["verbatim_id"].astype("str")
    t = v[text_col]
    has_text = (t.notna() & (t.astype("str").str.strip().str.len() > 0)).to_numpy()
    agent = (v["speaker"].fillna("customer") == "agent").to_numpy() if "speaker" in v else np.zeros(len(v), bool)
    trained = ids.isin(model.trained_ids.astype("str")).to_numpy()
    keep = has_text & ~agent & ~trained
    info = dict(
        n_verbatims=len(v),
        n_without_text=int((~has_text).sum()),
        n_agent_turns=int((has_text & agent).sum()),
        n_in_training=int((has_text & ~agent & trained).sum()),
        n_scored=int(keep.sum()),
    )
    return v[keep], info


def score_candidates(model: AssistModel, verbatims: pd.DataFrame, text_col: str = "text"):
    """The verbatims :func:`suggest` and :func:`code_next` score, their counts and their
    :func:`predict_proba` (index 0..n-1): computed once, both can take it (``scored=``)."""
    v, info = _candidates(model, verbatims, text_col)
    return v, info, predict_proba(model, v[text_col].reset_index(drop=True))


def suggest(
    model: AssistModel,
    verbatims: pd.DataFrame,
    *,
    top: int = 3,
    min_prob: float | None = 0.5,
    text_col: str = "text",
    scored: tuple | None = None,
) -> pd.DataFrame:
    """Code suggestions with probabilities for verbatims the coders have not coded.

    Scored: verbatims with text that are not agent turns and not in the model's training
    set. A code is suggested when ``p >= min_prob`` (``None``: the model's per-code
    ``thresholds``); at most ``top`` codes per verbatim, the most probable first.

    Returns
    -------
    DataFrame
        verbatim_id, code, probability, rank (1 = most probable): long format, verbatims in
        input order. ``attrs``: n_verbatims, n_without_text, n_agent_turns, n_in_training,
        n_scored, n_with_suggestion, n_capped (suggestions above the threshold beyond
        ``top``), min_prob, top.
    """
    if top < 1:
        raise ValueError(f"top={top}; ask for at least 1 suggestion per verbatim.")
    if min_prob is not None and not 0 <= min_prob <= 1:
        raise ValueError(f"min_prob={min_prob} is not a probability in [0, 1].")
    v, info, proba = scored if scored is not None else score_candidates(model, verbatims, text_col)
    info, proba = dict(info), proba.copy()
    proba.index = v["verbatim_id"].astype("str").to_numpy()
    thr = (np.array([model.thresholds[c] for c in model.codes]) if min_prob is None
           else np.full(len(model.codes), float(min_prob)))
    long = proba.rename_axis("verbatim_id").reset_index().melt(
        id_vars="verbatim_id", var_name="code", value_name="probability")
    long["_order"] = np.tile(np.arange(len(proba)), len(model.codes))
    long = long[long["probability"].to_numpy() >= np.repeat(thr, len(proba))]
    long = long.sort_values(["_order", "probability", "code"], ascending=[True, False, True], kind="stable")
    long["rank"] = long.groupby("_order").cumcount() + 1
    n_above = len(long)
    out = long[long["rank"] <= top][SUGGEST_COLUMNS].reset_index(drop=True)
    out["verbatim_id"] = out["verbatim_id"].astype("str")
    out["code"] = out["code"].astype("str")
    info.update(n_with_suggestion=int(out["verbatim_id"].nunique()), n_capped=n_above - len(out),
                min_prob=min_prob, top=top)
    out.attrs.update(info)
    return out


#: uncertainty measures :func:`uncertainty` and :func:`code_next` offer
STRATEGIES = ("binary", "margin", "entropy")


def uncertainty(proba: pd.DataFrame, strategy: str = "binary") -> pd.DataFrame:
    """How unsure the model is about each text, and about which code.

    With ``p_ik`` the probability of code ``k`` for text ``i`` (:func:`predict_proba`):

    * "binary" (least confident, per code): ``u_ik = min(p_ik, 1 - p_ik)``, ``u_i = max_k u_ik``
      (0 = certain, 0.5 = a coin flip on some code); ``code`` = arg-max (Lewis & Gale 1994).
    * "margin": with ``p_(1) >= p_(2)`` the two highest probabilities,
      ``u_i = 1 - (p_(1) - p_(2))``: a text whose two best codes are close (Scheffer,
      Decomain & Wrobel 2001); ``code`` = the most probable code.
    * "entropy": ``u_i = sum_k H(p_ik)``, ``H(p) = -p log2 p - (1 - p) log2 (1 - p)``, the
      total binary entropy over the codes (Settles 2009, section 3.1); ``code`` = the code
      with the highest ``H``.

    Returns
    -------
    DataFrame
        uncertainty, code, probability (of that code); proba's index. Rows with no
        probability (empty text) get NaN and None.

    References
    ----------
    Scheffer, T., Decomain, C. & Wrobel, S. (2001), Active hidden Markov models for
    information extraction, IDA 2001. Settles, B. (2009), Active Learning Literature Survey,
    University of Wisconsin-Madison CS TR 1648.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy={strategy!r}; choose one of {STRATEGIES}.")
    p = proba.to_numpy(dtype=float)
    codes = np.asarray(proba.columns, dtype=object)
    n, k = p.shape
    ok = ~np.isnan(p).any(axis=1) if k else np.zeros(n, bool)
    pp = np.nan_to_num(p, nan=0.5)
    rows = np.arange(n)
    if strategy == "binary":
        uk = np.minimum(pp, 1 - pp)
        j = uk.argmax(axis=1) if k else np.zeros(n, int)
        u = uk[rows, j] if k else np.zeros(n)
    elif strategy == "margin":
        order = np.argsort(-pp, axis=1)
        j = order[:, 0]
        second = pp[rows, order[:, 1]] if k > 1 else np.zeros(n)
        u = 1 - (pp[rows, j] - second)
    else:
        q = np.clip(pp, 1e-12, 1 - 1e-12)
        h = -(q * np.log2(q) + (1 - q) * np.log2(1 - q))
        j = h.argmax(axis=1)
        u = h.sum(axis=1)
    out = pd.DataFrame({"uncertainty": np.where(ok, u, np.nan),
                        "code": pd.Series(codes[j] if k else [None] * n, dtype="object").where(ok, None).to_numpy(),
                        "probability": np.where(ok, pp[rows, j] if k else np.nan, np.nan)}, index=proba.index)
    return out


def code_next(
    model: AssistModel,
    verbatims: pd.DataFrame,
    n: int = 50,
    *,
    text_col: str = "text",
    strategy: str = "binary",
    scored: tuple | None = None,
) -> pd.DataFrame:
    """The ``n`` verbatims the model is least sure about: code these next (uncertainty sampling).

    Uncertainty per verbatim and the code it concerns come from :func:`uncertainty` with
    ``strategy`` ("binary", the default: ``u_i = max_k min(p_ik, 1 - p_ik)``; "margin";
    "entropy"). Verbatims are ranked by ``u_i`` descending (ties: verbatim_id). Coding the
    texts closest to the decision boundary first improves a classifier fastest per coded
    text (Lewis & Gale 1994).

    Identical texts (after normalization) are listed once, under the first verbatim_id:
    coding one of them teaches the model as much as coding all; ``n_same_text`` says how many
    scored verbatims share the text.

    Returns
    -------
    DataFrame
        verbatim_id, code, probability (of that code), uncertainty, source, language, text
        (redacted with :func:`cxlib.voice.coding.redact_series`), n_same_text; at most ``n`` rows.
        ``attrs`` as in :func:`suggest` (without the suggestion counts), plus n and
        n_duplicate_texts (scored verbatims not listed because their text is listed).
    """
    if n < 1:
        raise ValueError(f"n={n}; ask for at least 1 verbatim.")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy={strategy!r}; choose one of {STRATEGIES}.")
    v, info, proba = scored if scored is not None else score_candidates(model, verbatims, text_col)
    info = dict(info)
    if len(v) == 0:
        out = pd.DataFrame({c: pd.Series(dtype="object") for c in CODE_NEXT_COLUMNS})
        out.attrs.update(info, n=n, strategy=strategy)
        return out
    unc = uncertainty(proba, strategy)
    out = pd.DataFrame(
        {
            "verbatim_id": v["verbatim_id"].astype("str").to_numpy(),
            "code": unc["code"].to_numpy(),
            "probability": unc["probability"].to_numpy(),
            "uncertainty": unc["uncertainty"].to_numpy(),
            "source": v["source"].to_numpy() if "source" in v else pd.NA,
            "language": v["language"].to_numpy() if "language" in v else pd.NA,
            "text": redact_series(v[text_col].astype("str")).to_numpy(),
        }
    )
    key = normalize_series(v[text_col].astype("str")).to_numpy()
    out["n_same_text"] = pd.Series(key).map(pd.Series(key).value_counts()).to_numpy()
    out = out.sort_values(["uncertainty", "verbatim_id"], ascending=[False, True], kind="stable")
    first = ~pd.Series(key[out.index.to_numpy()]).duplicated().to_numpy()
    info["n_duplicate_texts"] = int((~first).sum())
    out = out[first].head(n).reset_index(drop=True)
    out.attrs.update(info, n=n, strategy=strategy)
    return out


@dataclass
class AssistedCoding:
    """What a run learns from its human coding: cross-validated accuracy, suggestions, next list."""

    cv: pd.DataFrame            # cross_validate: per-code precision/recall/F1 and a micro row
    suggestions: pd.DataFrame   # suggest: codes with probabilities for uncoded texts
    next_to_code: pd.DataFrame  # code_next: the texts to code next (uncertainty sampling)
    n_training: int
    n_disagreements: int


def for_run(
    store,
    codebook,
    *,
    n_next: int = 50,
    random_state: int = 0,
    use_codebook: bool = True,
    strategy: str = "binary",
) -> AssistedCoding | None:
    """Train on the run's manual codes (coder consensus) and apply to the uncoded verbatims.

    None when the client supplied no manual codes. Only customer turns and texts not used
    for training receive suggestions. With ``use_codebook`` the codebook's patterns are
    features and its examples extra training texts (module docstring); the cross-validation
    table then also shows, per code, the F1 of the codebook's patterns alone (auto-coding,
    the previous method) and of always applying the code (the trivial baseline), on the same
    coded texts (:func:`baselines`).
    """
    from cxlib.data import engine

    if not store.has("manual_codes"):
        return None
    verb = engine.verbatims(store)
    texts, labels = training_set(store.df("manual_codes"), verb, list(codebook.codes))
    book = codebook if use_codebook else None
    patterns = PatternRows(book) if book is not None else None  # each text matched once for both
    cv = cross_validate(texts, labels, random_state=random_state, codebook=book, patterns=patterns)
    cv = cv.merge(baselines(texts, labels, codebook), on="code", how="left")
    model = train(texts, labels, random_state=random_state, codebook=book, patterns=patterns)
    scored = score_candidates(model, verb)  # the uncoded texts scored once for both lists
    return AssistedCoding(cv, suggest(model, verb, scored=scored),
                          code_next(model, verb, n=n_next, strategy=strategy, scored=scored), len(texts),
                          int(labels.attrs.get("n_disagreements", 0)))


def baselines(texts: pd.Series, labels: pd.DataFrame, codebook: CompiledCodebook | None = None) -> pd.DataFrame:
    """Per-code F1 of the simple alternatives to a model, on the same coded texts.

    * ``f1_always``: apply the code to every text, ``F1 = 2 s / (n + s)`` with ``s``
      positives among ``n`` texts (precision ``s / n``, recall 1); never applying it (the
      majority answer for every code) has F1 0.
    * ``f1_patterns``: the codebook's patterns alone (:func:`cxlib.voice.coding.match_matrix`,
      as auto-coding applies them), when ``codebook`` is given and holds the code.

    Returns
    -------
    DataFrame
        code, f1_always, f1_patterns; one row per label column, then ``micro`` (pooled).
    """
    raw, labels = _check_xy(texts, labels)
    n = len(labels)
    y = labels.to_numpy()
    s = y.sum(axis=0)
    mm = match_matrix(raw, codebook) if codebook is not None else None
    rows, tp = [], np.zeros(3)
    for j, code in enumerate(labels.columns):
        f_pat = np.nan
        if mm is not None and code in mm.columns:
            pred = mm[code].to_numpy().astype(int)
            f_pat = precision_recall_fscore_support(y[:, j], pred, average="binary", zero_division=0)[2]
            tp += [int((pred & y[:, j]).sum()), int((pred & (1 - y[:, j])).sum()), int(((1 - pred) & y[:, j]).sum())]
        rows.append({"code": code, "f1_always": 2 * s[j] / (n + s[j]) if n else np.nan, "f1_patterns": f_pat})
    tot = s.sum()
    micro_pat = 2 * tp[0] / (2 * tp[0] + tp[1] + tp[2]) if mm is not None and tp.sum() else np.nan
    rows.append({"code": "micro", "f1_always": 2 * tot / (n * labels.shape[1] + tot) if n else np.nan,
                 "f1_patterns": micro_pat})
    return pd.DataFrame(rows)

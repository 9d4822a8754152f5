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
2-5-grams within word boundaries (``char_wb``), computed on :func:`cxlib.voice.coding.normalize_series`
text and concatenated with a ``FeatureUnion``. Character n-grams catch Arabic clitics and
inflections (``والتوصيل``, ``التوصيل``, ``توصيلهم`` share ``توصيل``) and English typos without a
stemmer or any other language tool. Each code gets its own binary logistic regression
(one-vs-rest, ``class_weight="balanced"`` so rare codes are not drowned by negatives,
``liblinear`` solver, L2 penalty ``C=1``): ``p_k(x) = 1 / (1 + exp(-(w_k . x + b_k)))``.
Codes are independent, so a verbatim can carry several (multi-label).

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
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline

from cxlib.exceptions import DataValidationError
from cxlib.voice.coding import normalize_series, redact_series

__all__ = [
    "AssistModel",
    "make_pipeline",
    "training_set",
    "train",
    "predict_proba",
    "cross_validate",
    "suggest",
    "code_next",
]

SUGGEST_COLUMNS = ["verbatim_id", "code", "probability", "rank"]
CODE_NEXT_COLUMNS = ["verbatim_id", "code", "probability", "uncertainty", "source", "language", "text",
                     "n_same_text"]


# --- model -------------------------------------------------------------------------------


def make_features() -> FeatureUnion:
    """The text features: TF-IDF word 1-2-grams + character (``char_wb``) 2-5-grams."""
    return FeatureUnion(
        [
            ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        ]
    )


def make_pipeline(random_state: int = 0) -> Pipeline:
    """An unfitted single-code pipeline: features -> balanced logistic regression.

    Input: *normalized* texts (:func:`cxlib.voice.coding.normalize_series`); output of
    ``predict_proba(...)[:, 1]``: the probability that the code applies. :func:`train` fits one
    per code; :func:`cross_validate` refits one per code and fold (the vocabulary and IDF are
    learned on the training fold only).
    """
    return Pipeline(
        [
            ("features", make_features()),
            ("clf", LogisticRegression(class_weight="balanced", solver="liblinear", C=1.0,
                                       random_state=random_state)),
        ]
    )


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
    """

    features: FeatureUnion = field(repr=False)
    classifiers: dict[str, LogisticRegression] = field(repr=False)
    codes: list[str]
    thresholds: dict[str, float]
    skipped: pd.DataFrame = field(repr=False)
    trained_ids: pd.Index = field(repr=False)
    random_state: int = 0

    def __len__(self) -> int:
        return len(self.codes)


# --- inputs ------------------------------------------------------------------------------


def _check_xy(texts: pd.Series, labels: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Validate (texts, labels) and return normalized texts and labels aligned on texts' index."""
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
    norm = normalize_series(texts.astype("object").where(texts.notna(), ""))
    empty = norm.str.len().to_numpy() == 0
    if empty.any():
        raise DataValidationError(
            f"texts: {int(empty.sum())} empty text(s) (e.g. {texts.index[empty][:3].tolist()}); "
            "a model cannot learn from them, drop them (training_set() does and counts them)."
        )
    return norm, labels.astype("int8")


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


def train(
    texts: pd.Series, labels: pd.DataFrame, *, min_positives: int = 5, random_state: int = 0
) -> AssistModel:
    """Fit one balanced logistic regression per code on TF-IDF word and character n-grams.

    Parameters
    ----------
    texts : Series
        Raw texts, index = verbatim ids (normalized here with ``normalize_series``).
    labels : DataFrame
        0/1, one column per code, same index labels as ``texts`` (e.g. from
        :func:`training_set`, or from a truth table in tests).
    min_positives : int
        A code with fewer positive (or negative) examples is not trained; it is listed in
        ``model.skipped`` with the reason, never silently dropped.
    random_state : int
        Seed of the liblinear solver (the fit is deterministic given the seed).

    Returns
    -------
    AssistModel
    """
    norm, labels = _check_xy(texts, labels)
    trainable, skipped = _label_counts(labels, min_positives)
    if not trainable:
        raise DataValidationError(
            f"no code has at least {min_positives} positive and negative examples "
            f"({len(labels)} training texts); code more verbatims or lower min_positives."
        )
    template = make_pipeline(random_state)
    features = clone(template.named_steps["features"])
    x = features.fit_transform(norm.to_numpy())
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
    )


def predict_proba(model: AssistModel, texts: pd.Series) -> pd.DataFrame:
    """Probability of every trained code for every text: DataFrame (texts' index x codes).

    Empty or missing texts get NaN (they carry no evidence).
    """
    norm = normalize_series(texts.astype("object").where(texts.notna(), ""))
    ok = norm.str.len().to_numpy() > 0
    out = np.full((len(texts), len(model.codes)), np.nan)
    if ok.any():
        x = model.features.transform(norm.to_numpy()[ok])
        for j, code in enumerate(model.codes):
            out[ok, j] = model.classifiers[code].predict_proba(x)[:, 1]
    return pd.DataFrame(out, index=texts.index, columns=list(model.codes))


# --- cross-validation --------------------------------------------------------------------


def cross_validate(
    texts: pd.Series,
    labels: pd.DataFrame,
    *,
    folds: int = 5,
    min_positives: int = 5,
    random_state: int = 0,
) -> pd.DataFrame:
    """Out-of-fold precision, recall and F1 per code, and micro-averaged over codes.

    Method: per code, ``StratifiedKFold(folds, shuffle=True, random_state)`` on that code's
    0/1 labels (so every fold holds positives even for rare codes); for each fold a fresh
    :func:`make_pipeline` (vocabulary, IDF and classifier) is fitted on the other folds and
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
    norm, labels = _check_xy(texts, labels)
    x = norm.to_numpy()
    need = max(folds, min_positives)
    trainable, skipped = _label_counts(labels, need)
    reasons = dict(zip(skipped["code"], skipped["reason"], strict=True))
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
        for tr, te in skf.split(x, y):
            pipe = clone(make_pipeline(random_state)).fit(x[tr], y[tr])
            p[te] = pipe.predict_proba(x[te])[:, 1]
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


def suggest(
    model: AssistModel,
    verbatims: pd.DataFrame,
    *,
    top: int = 3,
    min_prob: float | None = 0.5,
    text_col: str = "text",
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
    v, info = _candidates(model, verbatims, text_col)
    proba = predict_proba(model, v[text_col].reset_index(drop=True))
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


def code_next(
    model: AssistModel, verbatims: pd.DataFrame, n: int = 50, *, text_col: str = "text"
) -> pd.DataFrame:
    """The ``n`` verbatims the model is least sure about: code these next (uncertainty sampling).

    For verbatim ``i`` and code ``k`` with probability ``p_ik``, uncertainty
    ``u_ik = min(p_ik, 1 - p_ik)`` (0 = certain, 0.5 = a coin flip); the verbatim's
    uncertainty is ``u_i = max_k u_ik`` and its ``code`` the arg-max. Verbatims are ranked by
    ``u_i`` descending (ties: verbatim_id). Coding the texts closest to the decision boundary
    first improves a classifier fastest per coded text (Lewis & Gale 1994).

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
    v, info = _candidates(model, verbatims, text_col)
    proba = predict_proba(model, v[text_col].reset_index(drop=True)).to_numpy()
    if len(v) == 0:
        out = pd.DataFrame({c: pd.Series(dtype="object") for c in CODE_NEXT_COLUMNS})
        out.attrs.update(info, n=n)
        return out
    u = np.minimum(proba, 1 - proba)
    j = np.argmax(u, axis=1)
    rows = np.arange(len(v))
    out = pd.DataFrame(
        {
            "verbatim_id": v["verbatim_id"].astype("str").to_numpy(),
            "code": np.asarray(model.codes, dtype=object)[j],
            "probability": proba[rows, j],
            "uncertainty": u[rows, j],
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
    out.attrs.update(info, n=n)
    return out


@dataclass
class AssistedCoding:
    """What a run learns from its human coding: cross-validated accuracy, suggestions, next list."""

    cv: pd.DataFrame            # cross_validate: per-code precision/recall/F1 and a micro row
    suggestions: pd.DataFrame   # suggest: codes with probabilities for uncoded texts
    next_to_code: pd.DataFrame  # code_next: the texts to code next (uncertainty sampling)
    n_training: int
    n_disagreements: int


def for_run(store, codebook, *, n_next: int = 50, random_state: int = 0) -> AssistedCoding | None:
    """Train on the run's manual codes (coder consensus) and apply to the uncoded verbatims.

    None when the client supplied no manual codes. Only customer turns and texts not used
    for training receive suggestions.
    """
    from cxlib.data import engine

    if not store.has("manual_codes"):
        return None
    verb = engine.verbatims(store)
    texts, labels = training_set(store.df("manual_codes"), verb, list(codebook.codes))
    cv = cross_validate(texts, labels, random_state=random_state)
    model = train(texts, labels, random_state=random_state)
    return AssistedCoding(cv, suggest(model, verb), code_next(model, verb, n=n_next), len(texts),
                          int(labels.attrs.get("n_disagreements", 0)))

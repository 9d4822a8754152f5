"""Sentiment per verbatim: VADER for English, a documented lexicon-and-rules scorer for Arabic.

Pipeline::

    scored = score(verbatims["text"], verbatims["language"])   # sentiment, label, method, note
    validate(scored, verbatims, responses=survey_responses)    # vs the score given with the text

English
-------
VADER (Hutto & Gilbert 2014), ``vaderSentiment.vaderSentiment.SentimentIntensityAnalyzer``:
the ``compound`` score in [-1, 1], unchanged.

Arabic
------
A lexicon-and-rules scorer in the spirit of VADER, built for this project
(``cxlib/assets/arabic_sentiment.csv``, documented in ``arabic_sentiment.md``): Gulf and MSA
words and short phrases customers use about service, each with a polarity ``w`` in [-1, 1].
Text is normalized with :func:`cxlib.voice.coding.normalize_text` (diacritics, tatweel, alef/hamza
forms, taa marbuta, alef maqsura) and split into clauses at punctuation, then tokens. Per
token, in this order:

1. **Phrases** of 2-3 tokens from the lexicon match first (longest first) and are one unit,
   so the ``ما`` of ``ما شاء الله`` or ``ما قصرتوا`` is not read as a negation.
2. **Elongation**: runs of 3+ identical letters are collapsed (``ممتاااااز`` -> ``ممتاز``;
   if that is not a term, runs are collapsed to 2).
3. **Clitics**: when the token is not a term, the prefixes ``و ف ب ال`` (and ``وال فال بال
   وب فب``) are stripped, and a final ``ه`` (the folded feminine ``ة``), if the bare form is
   a term (``والتوصيل``, ``ممتازة`` -> ``ممتاز``).
4. **Negation**: a negator (``لا ما مو مش ليس لم لن غير بدون مب موب``, optionally with ``و``/
   ``ف``) among the :data:`NEGATION_WINDOW` = 3 units before a term in the same clause
   multiplies it by :data:`NEGATION_FACTOR` = -0.7 (flips and damps: "not excellent" is
   less negative than "bad"; VADER uses -0.74).
5. **Intensifiers** (``جدا كثير مره بزاف واجد حيل مرا ابدا للغايه جزيلا``...) within 2 units
   before or after a term in the same clause multiply it by :data:`INTENSIFIER_FACTOR` = 1.3
   (once).

With term scores ``s_i = 4 w_i (-0.7 if negated) (1.3 if intensified)`` (the factor 4 puts
``w`` on VADER's -4..4 valence scale, so both languages give comparable compounds) and
``S = sum_i s_i``::

    compound = S / sqrt(S^2 + alpha),  alpha = 15     (VADER's normalization; 0 if no term)

so one "ممتاز" gives 4 / sqrt(31) = 0.72, and one "سيء" gives -0.64.

Labels (VADER's convention): positive when compound >= 0.05, negative when <= -0.05,
neutral otherwise.

References
----------
Hutto, C. J. & Gilbert, E. (2014), VADER: A Parsimonious Rule-based Model for Sentiment
Analysis of Social Media Text, ICWSM-14.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from cxlib import paths
from cxlib.exceptions import DataValidationError
from cxlib.voice.coding import normalize_text

__all__ = [
    "LEXICON_PATH",
    "load_lexicon",
    "score_arabic",
    "explain_arabic",
    "score_english",
    "score",
    "validate",
    "label_of",
]

#: the project's Arabic lexicon (term, polarity, note); see arabic_sentiment.md
LEXICON_PATH = paths.ASSETS_DIR / "arabic_sentiment.csv"

NEGATION_WINDOW = 3
NEGATION_FACTOR = -0.7
INTENSIFIER_WINDOW = 2
INTENSIFIER_FACTOR = 1.3
VALENCE_SCALE = 4.0
ALPHA = 15.0
POSITIVE_FROM = 0.05
NEGATIVE_FROM = -0.05

#: negators (normalized); with a leading و or ف too (ولا, وما, فما ...)
NEGATORS = frozenset(normalize_text(w) for w in
                     ["لا", "ما", "مو", "مش", "ليس", "لم", "لن", "غير", "بدون", "مب", "موب"])
#: intensifiers (normalized): very, a lot (MSA, Gulf, Maghrebi), at all
INTENSIFIERS = frozenset(normalize_text(w) for w in
                         ["جدا", "جداً", "كثير", "كثيرا", "مرة", "مره", "مرا", "بزاف", "واجد", "حيل",
                          "للغاية", "جزيلا", "ابدا", "أبداً", "كتير", "خالص", "بشدة"])

_PREFIXES = ("وال", "فال", "بال", "ال", "وب", "فب", "و", "ف", "ب")
_CLAUSE_RE = re.compile(r"[.!?؟,،;؛:\n]+")
_TOKEN_RE = re.compile(r"\w+")
_RUN3_RE = re.compile(r"(\w)\1{2,}")
_ARABIC_RE = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_LATIN_RE = re.compile(r"[A-Za-z]")

SCORE_COLUMNS = ["sentiment", "label", "method", "note"]


# --- lexicon -----------------------------------------------------------------------------


def load_lexicon(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate an Arabic sentiment lexicon (default: the project's own).

    Returns
    -------
    DataFrame
        term (normalized with :func:`normalize_text`), polarity (float in [-1, 1]), note,
        n_tokens (1 for a word, 2-3 for a phrase), in file order.

    Raises
    ------
    DataValidationError
        Missing columns, blank terms, polarity outside [-1, 1] or not a number, phrases longer
        than 3 tokens, or terms that are duplicates after normalization (file rows listed).
    """
    src = Path(path) if path is not None else LEXICON_PATH
    df = pd.read_csv(src, dtype={"term": "str", "note": "str"}, keep_default_na=False)
    missing = [c for c in ("term", "polarity") if c not in df.columns]
    if missing:
        raise DataValidationError(f"{src}: column(s) {missing} missing; a lexicon needs term, polarity (note optional).")
    term = df["term"].map(normalize_text)
    pol = pd.to_numeric(df["polarity"], errors="coerce")
    n_tok = term.str.split().str.len().fillna(0).astype(int)
    problems = []
    for i in range(len(df)):
        row = i + 2
        if not term.iat[i]:
            problems.append(f"row {row}: blank term; fill it in or delete the row")
        elif n_tok.iat[i] > 3:
            problems.append(f"row {row}: phrase {term.iat[i]!r} has more than 3 words; shorten it")
        if not (pd.notna(pol.iat[i]) and -1 <= pol.iat[i] <= 1):
            problems.append(f"row {row}: polarity {df['polarity'].iat[i]} is not a number in [-1, 1]")
    dup = term.duplicated(keep=False) & (term != "")
    for t in term[dup].unique():
        rows = (np.flatnonzero((term == t).to_numpy()) + 2).tolist()
        problems.append(f"rows {rows}: term {t!r} appears more than once after normalization; keep one")
    if problems:
        raise DataValidationError(f"{src}: {len(problems)} problem(s) in the lexicon:\n  - " + "\n  - ".join(problems))
    note = df["note"] if "note" in df.columns else pd.Series("", index=df.index)
    return pd.DataFrame({"term": term, "polarity": pol.astype(float), "note": note, "n_tokens": n_tok})


@functools.lru_cache(maxsize=8)
def _lexicon_maps(path: str | None) -> tuple[dict[str, float], dict[str, float]]:
    lex = load_lexicon(path)
    words = dict(zip(lex.loc[lex["n_tokens"] == 1, "term"], lex.loc[lex["n_tokens"] == 1, "polarity"], strict=True))
    phrases = dict(zip(lex.loc[lex["n_tokens"] > 1, "term"], lex.loc[lex["n_tokens"] > 1, "polarity"], strict=True))
    return words, phrases


# --- Arabic scorer -----------------------------------------------------------------------


def _elongation_forms(tok: str) -> list[str]:
    """The token, then with runs of 3+ identical letters collapsed to 1, then to 2."""
    out = [tok]
    if _RUN3_RE.search(tok):
        out += [_RUN3_RE.sub(r"\1", tok), _RUN3_RE.sub(r"\1\1", tok)]
    return out


def _resolve(tok: str, words: dict[str, float]) -> str | None:
    """The lexicon term a token stands for (elongation, clitics, feminine ending), or None."""
    for form in _elongation_forms(tok):
        bases = [form] + [form[len(p):] for p in _PREFIXES if form.startswith(p) and len(form) - len(p) >= 2]
        for b in bases:
            if b in words:
                return b
            if b.endswith("ه") and b[:-1] in words:
                return b[:-1]
    return None


def _strip_conj(tok: str) -> str:
    return tok[1:] if len(tok) > 2 and tok[0] in "وف" else tok


def _analyse(text: str, path: str | None = None) -> list[dict]:
    """Units of one text with the rules applied: one dict per lexicon hit."""
    words, phrases = _lexicon_maps(path)
    hits: list[dict] = []
    for clause in _CLAUSE_RE.split(normalize_text(text)):
        raw = _TOKEN_RE.findall(clause)
        if not raw:
            continue
        toks = [_RUN3_RE.sub(r"\1", t) for t in raw]
        units: list[tuple[str, str, str | None, float]] = []  # (kind, surface, term, polarity)
        i = 0
        while i < len(toks):
            for n in (3, 2):
                if i + n <= len(toks):
                    cand = " ".join(toks[i:i + n])
                    key = cand if cand in phrases else " ".join([_strip_conj(toks[i]), *toks[i + 1:i + n]])
                    if key in phrases:
                        units.append(("term", " ".join(raw[i:i + n]), key, phrases[key]))
                        i += n
                        break
            else:
                tok = raw[i]
                term = _resolve(tok, words)
                if term is not None:
                    units.append(("term", tok, term, words[term]))
                elif toks[i] in NEGATORS or _strip_conj(toks[i]) in NEGATORS:
                    units.append(("neg", tok, None, 0.0))
                elif toks[i] in INTENSIFIERS:
                    units.append(("int", tok, None, 0.0))
                else:
                    units.append(("other", tok, None, 0.0))
                i += 1
        for j, (kind, surface, term, pol) in enumerate(units):
            if kind != "term":
                continue
            negator = next((units[k][1] for k in range(max(0, j - NEGATION_WINDOW), j) if units[k][0] == "neg"), None)
            lo, hi = max(0, j - INTENSIFIER_WINDOW), min(len(units), j + INTENSIFIER_WINDOW + 1)
            intens = next((units[k][1] for k in range(lo, hi) if k != j and units[k][0] == "int"), None)
            s = VALENCE_SCALE * pol
            if negator is not None:
                s *= NEGATION_FACTOR
            if intens is not None:
                s *= INTENSIFIER_FACTOR
            hits.append({"token": surface, "term": term, "polarity": pol, "negator": negator,
                         "intensifier": intens, "score": s})
    return hits


def _compound(total: float) -> float:
    """VADER normalization: S / sqrt(S^2 + alpha), alpha = 15."""
    return float(total / np.sqrt(total * total + ALPHA))


def score_arabic(text: str, *, lexicon: str | Path | None = None) -> float:
    """Compound sentiment of one Arabic text in [-1, 1] (0.0 when no lexicon term occurs).

    ``compound = S / sqrt(S^2 + 15)``, ``S`` the sum of the term scores after the rules of
    the module docstring (elongation, clitics, phrases, negation, intensifiers).

    Examples
    --------
    >>> round(score_arabic("الخدمة ممتازة"), 3)
    0.718
    """
    hits = _analyse(text, None if lexicon is None else str(lexicon))
    return _compound(sum(h["score"] for h in hits)) if hits else 0.0


def explain_arabic(text: str, *, lexicon: str | Path | None = None) -> pd.DataFrame:
    """Why an Arabic text got its score: one row per lexicon hit.

    Returns
    -------
    DataFrame
        token (as written, normalized), term (lexicon entry), polarity (lexicon weight),
        negator (the negating word or None), intensifier (or None), score (term score
        ``4 w x -0.7 x 1.3`` as applicable). ``attrs['compound']``: the text's score.
    """
    hits = _analyse(text, None if lexicon is None else str(lexicon))
    out = pd.DataFrame(hits, columns=["token", "term", "polarity", "negator", "intensifier", "score"])
    out.attrs["compound"] = _compound(out["score"].sum()) if len(out) else 0.0
    return out


# --- English -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def score_english(text: str) -> float:
    """VADER compound score of one text (``polarity_scores(text)["compound"]``)."""
    return float(_vader().polarity_scores(str(text))["compound"])


# --- all verbatims -----------------------------------------------------------------------


def label_of(sentiment: pd.Series | np.ndarray) -> pd.Series:
    """positive (>= 0.05), negative (<= -0.05), neutral; missing stays missing."""
    s = pd.Series(sentiment, dtype="float")
    lab = np.where(s >= POSITIVE_FROM, "positive", np.where(s <= NEGATIVE_FROM, "negative", "neutral"))
    return pd.Series(lab, index=s.index, dtype="object").where(s.notna(), None)


def score(texts: pd.Series, languages: pd.Series | None = None, *, lexicon: str | Path | None = None) -> pd.DataFrame:
    """Sentiment of every text: VADER for English, the Arabic lexicon scorer for Arabic.

    The method follows the script, which is what the text is written in: a text with any
    Arabic letter is scored with the Arabic lexicon (mixed Arabic-English texts too: only
    their Arabic words count, noted); other texts with VADER. A ``languages`` value that
    disagrees with the script (e.g. "ar" written in Latin letters) is noted, not trusted.

    Parameters
    ----------
    texts : Series
        Raw texts; the output keeps their index.
    languages : Series, optional
        "en"/"ar" per text, same index (used only to note mismatches).

    Returns
    -------
    DataFrame
        sentiment (compound in [-1, 1]; NaN for empty text), label (positive >= 0.05,
        negative <= -0.05, neutral; None for empty text), method ("vader", "ar-lexicon",
        "none" for empty text), note ("" or e.g. "mixed Arabic and Latin: Arabic lexicon,
        Latin words not scored"). ``attrs``: n, n_vader, n_ar_lexicon, n_none (empty texts),
        n_mixed, n_language_mismatch, n_ar_no_term (Arabic texts without any lexicon term:
        scored 0, the lexicon's coverage gap), formula.
    """
    if not isinstance(texts, pd.Series):
        raise TypeError("texts must be a pandas Series.")
    if languages is not None and not languages.index.equals(texts.index):
        raise DataValidationError("languages must have the same index as texts (one language per text).")
    path = None if lexicon is None else str(lexicon)
    n = len(texts)
    sent = np.full(n, np.nan)
    method = np.empty(n, dtype=object)
    note = np.full(n, "", dtype=object)
    n_mixed = n_mismatch = n_no_term = 0
    langs = languages.to_numpy() if languages is not None else np.full(n, None)
    for i, (t, lang) in enumerate(zip(texts.to_numpy(), langs, strict=True)):
        if t is None or (not isinstance(t, str) and pd.isna(t)) or not str(t).strip():
            method[i] = "none"
            note[i] = "empty text"
            continue
        t = str(t)
        if _ARABIC_RE.search(t):
            method[i] = "ar-lexicon"
            hits = _analyse(t, path)
            sent[i] = _compound(sum(h["score"] for h in hits)) if hits else 0.0
            notes = []
            if _LATIN_RE.search(t):
                n_mixed += 1
                notes.append("mixed Arabic and Latin: Arabic lexicon, Latin words not scored")
            if not hits:
                n_no_term += 1
                notes.append("no lexicon term")
            if isinstance(lang, str) and lang != "ar":
                n_mismatch += 1
                notes.append(f"language {lang!r} but Arabic letters")
            note[i] = "; ".join(notes)
        else:
            method[i] = "vader"
            sent[i] = score_english(t)
            if isinstance(lang, str) and lang == "ar":
                n_mismatch += 1
                note[i] = "language 'ar' but no Arabic letters: scored with VADER"
    out = pd.DataFrame({"sentiment": sent, "method": method, "note": note}, index=texts.index)
    out.insert(1, "label", label_of(out["sentiment"]))
    out.attrs.update(
        n=n,
        n_vader=int((method == "vader").sum()),
        n_ar_lexicon=int((method == "ar-lexicon").sum()),
        n_none=int((method == "none").sum()),
        n_mixed=n_mixed,
        n_language_mismatch=n_mismatch,
        n_ar_no_term=n_no_term,
        formula="compound = S / sqrt(S^2 + 15); Arabic S = sum of 4 w (x -0.7 negated) (x 1.3 intensified)",
    )
    return out[SCORE_COLUMNS]


# --- validation against the score that came with the text --------------------------------

#: default scale of the score by source (surveys: from the response's survey_type)
DEFAULT_SCALES = {"review": "stars", "social": "sentiment"}

#: scale -> (negative if score <= a, positive if score >= b)
POLARITY_CUTS = {
    "nps": (6, 9),          # detractors 0-6, promoters 9-10
    "csat": (2, 4),         # 1-2 dissatisfied, 4-5 satisfied
    "stars": (2, 4),        # 1-2 stars, 4-5 stars
    "sentiment": (NEGATIVE_FROM, POSITIVE_FROM),  # social listening score -1..1, by sign
}


def _score_polarity(values: pd.Series, scales: pd.Series) -> pd.Series:
    out = pd.Series(None, index=values.index, dtype="object")
    for scale, (neg, pos) in POLARITY_CUTS.items():
        m = (scales == scale) & values.notna()
        out[m & (values <= neg)] = "negative"
        out[m & (values >= pos)] = "positive"
        out[m & (values > neg) & (values < pos)] = "neutral"
    return out


def validate(
    scored: pd.DataFrame,
    verbatims: pd.DataFrame,
    *,
    responses: pd.DataFrame | None = None,
    scales: dict[str, str] | None = None,
) -> pd.DataFrame:
    """How well the sentiment agrees with the score that came with the text.

    Per source, language and scale: Spearman's rank correlation between ``sentiment`` and
    ``verbatims.score`` (``scipy.stats.spearmanr``, two-sided p-value) and the agreement of
    the label with the score's polarity: among texts whose score is polar, the share whose
    label has the same polarity. Polarity of the score: NPS 0-6 negative, 9-10 positive;
    CSAT and stars 1-2 negative, 4-5 positive; social sentiment <= -0.05 negative, >= 0.05
    positive (:data:`POLARITY_CUTS`).

    Scale of a row: survey comments from the response's ``survey_type`` (relationship ->
    "nps", transactional -> "csat"; via ``response_id`` in ``responses``, or a
    ``survey_type`` column of ``verbatims``), otherwise "unknown" (rho still computed, no
    agreement); reviews "stars" and social "sentiment" (override with ``scales``, e.g.
    ``{"review": "stars10"}`` gives "unknown" cuts); calls, chats, staff "none".

    Parameters
    ----------
    scored : DataFrame
        From :func:`score`, same index as ``verbatims``.
    verbatims : DataFrame
        source, language, score (and response_id for surveys).

    Returns
    -------
    DataFrame
        source, language, scale, n (texts), n_scored (with sentiment and score), rho,
        p_value, n_polar (with a polar score), agreement (0..1), note; sorted by source,
        language, scale. Rows whose sentiment or score is missing are counted (n - n_scored),
        not hidden. ``attrs``: n_survey_unknown_scale.
    """
    if not scored.index.equals(verbatims.index):
        raise DataValidationError("scored and verbatims must share the index: score(verbatims['text'], ...).")
    for col in ("source", "language"):
        if col not in verbatims.columns:
            raise DataValidationError(f"verbatims: column {col!r} is missing; validate needs source, language, score.")
    value = pd.to_numeric(verbatims["score"], errors="coerce") if "score" in verbatims else pd.Series(np.nan, index=verbatims.index)
    src = verbatims["source"].astype("str")
    scale_map = {**DEFAULT_SCALES, **(scales or {})}
    scale = src.map(scale_map).astype("object")
    survey_type = None
    if "survey_type" in verbatims.columns:
        survey_type = verbatims["survey_type"]
    elif responses is not None and "response_id" in verbatims.columns:
        st = responses.drop_duplicates("response_id").set_index("response_id")["survey_type"]
        survey_type = verbatims["response_id"].map(st)
    is_survey = src == "survey"
    if survey_type is not None:
        scale[is_survey] = survey_type[is_survey].map({"relationship": "nps", "transactional": "csat"})
    scale[is_survey & scale.isna()] = "unknown"
    scale = scale.fillna("none")
    n_unknown = int((is_survey & (scale == "unknown")).sum())
    pol = _score_polarity(value, scale)
    frame = pd.DataFrame({"source": src, "language": verbatims["language"].fillna("unknown").astype("str"),
                          "scale": scale, "sentiment": scored["sentiment"], "label": scored["label"],
                          "value": value, "polarity": pol})
    rows = []
    for (s, lang, sc), g in frame.groupby(["source", "language", "scale"], sort=True):
        ok = g["sentiment"].notna() & g["value"].notna()
        x, y = g.loc[ok, "sentiment"], g.loc[ok, "value"]
        note = ""
        rho = p = np.nan
        if ok.sum() < 3:
            note = "no score came with these texts" if sc == "none" else f"{int(ok.sum())} scored text(s): too few"
        elif x.nunique() < 2 or y.nunique() < 2:
            note = "constant sentiment or score: no correlation"
        else:
            res = stats.spearmanr(x, y)
            rho, p = float(res.statistic), float(res.pvalue)
        polar = ok & g["polarity"].isin(["negative", "positive"])
        agree = float((g.loc[polar, "label"] == g.loc[polar, "polarity"]).mean()) if polar.any() else np.nan
        if sc == "unknown":
            note = (note + "; " if note else "") + "survey scale unknown: pass responses"
        rows.append({"source": s, "language": lang, "scale": sc, "n": len(g), "n_scored": int(ok.sum()),
                     "rho": rho, "p_value": p, "n_polar": int(polar.sum()), "agreement": agree, "note": note})
    out = pd.DataFrame(rows, columns=["source", "language", "scale", "n", "n_scored", "rho", "p_value",
                                      "n_polar", "agreement", "note"])
    out.attrs.update(n_survey_unknown_scale=n_unknown)
    return out

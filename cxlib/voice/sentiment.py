"""Sentiment per verbatim: calibrated on the client's own scores, or a lexicon when there are none.

Pipeline::

    result = for_run(texts, seed=7, strip=["acme", "@acme"])   # one call for the report
    result.scores          # sentiment in [-1, 1], label, method, note: aligned to texts' index
    result.method          # "calibrated" or "lexicon"
    result.validation      # method / majority baseline / lexicon x accuracy, macro F1, n

    scored = score(verbatims["text"], verbatims["language"])   # the lexicon route alone
    validate(scored, verbatims, responses=survey_responses)    # vs the score given with the text

Calibrated route (:func:`for_run`, :func:`fit_calibrated`)
----------------------------------------------------------
Most customer text arrives with a score beside it (NPS 0-10, stars or CSAT 1-5, a label).
Scores become polarity labels (:func:`label_targets`: NPS 0-6 negative, 7-8 neutral, 9-10
positive; stars/CSAT 1-2 negative, 3 neutral, 4-5 positive; words mapped by
:data:`LABEL_WORDS`) and a classifier is learned from the (text, label) pairs: TF-IDF
(sublinear tf, l2) of word 1-2-grams and of character 2-5-grams within word boundaries
(``char_wb``, which carries Arabic clitics, dialect spellings and code-switching without a
stemmer), then a logistic regression with ``class_weight="balanced"`` (weights
``n / (k n_c)``) (scikit-learn; Pedregosa et al. 2011). Its held-out accuracy and macro F1
(a seeded stratified 80/20 split) are reported beside the majority-class baseline and the
lexicon route on the same held-out texts; the model is then refitted on every scored text
and applied to all texts, scored or not. Per text ``sentiment = P(positive) - P(negative)``
and ``label`` is the most probable class.

Lexicon route (:func:`score`)
-----------------------------
Before scoring, @handles, URLs and the client's brand names (``strip``) are removed
(:func:`clean_text`): VADER's word list scores "united" +1.8, so "@united" complaints were
pushed positive. Emoji are scored from ``assets/emoji_sentiment.csv`` (a lone "👍" is
positive, "😡" negative). A text with no letter and no emoji gets NaN (method "none").

English: VADER (Hutto & Gilbert 2014), ``SentimentIntensityAnalyzer().polarity_scores``;
its compound is used unchanged when a text has no emoji from our list, otherwise the emoji
valences are added to VADER's sum before its normalization (the sum is recovered from the
compound, ``S = c sqrt(15 / (1 - c^2))``).

Arabic: a lexicon-and-rules scorer in the spirit of VADER, built for this project
(``cxlib/assets/arabic_sentiment.csv``, documented in ``arabic_sentiment.md``): MSA, Gulf,
Egyptian and Levantine words and short phrases, each with a polarity ``w`` in [-1, 1].
Text is normalized with :func:`cxlib.voice.coding.normalize_text` and split into clauses at
punctuation, then tokens. Per token, in this order:

1. **Phrases** of 2-3 tokens from the lexicon match first (longest first) and are one unit,
   so the ``ما`` of ``ما شاء الله`` or ``ما قصرتوا`` is not read as a negation.
2. **Elongation**: runs of 3+ identical letters are collapsed (``ممتاااااز`` -> ``ممتاز``;
   if that is not a term, runs are collapsed to 2).
3. **Clitics**: when the token is not a term, the forms of :func:`cxlib.voice.arabic.stems`
   are tried (prefixes و ف ب ك ل ال and combinations; endings ه ها هم كم نا ي ك ات ين ون
   ت وا ش), most literal first (``والتوصيل``, ``ممتازة``, ``مشاكلهم``).
4. **Negation**: a negator (:data:`NEGATORS`: ``لا ما مو مش مب ليس لم لن غير بدون مافي مفيش``...,
   optionally with ``و``/``ف``) among the :data:`NEGATION_WINDOW` = 3 units before a term in
   the same clause multiplies it by :data:`NEGATION_FACTOR` = -0.7 (VADER uses -0.74). The
   Egyptian/Levantine circumfix ``ما...ش`` (``ماعجبنيش``, ``مبيشتغلش``) and an attached ``ما``
   (``ماعجبني``) negate the word they wrap.
5. **Intensifiers** (``جدا كثير كتير مره اوي قوي خالص وايد بزاف موت``...) within 2 units
   before or after a term in the same clause multiply it by :data:`INTENSIFIER_FACTOR` = 1.3.
6. **Contrast**: after the first ``لكن``/``بس`` term scores are multiplied by 1.5 and before
   it by 0.5 (VADER's "but" rule).

Emoji add ``4 w`` each. With term scores ``s_i = 4 w_i (-0.7 if negated) (1.3 if
intensified) (0.5 / 1.5 around a contrast)`` (the factor 4 puts ``w`` on VADER's -4..4
valence scale, so both languages give comparable compounds) and ``S = sum_i s_i``::

    compound = S / sqrt(S^2 + alpha),  alpha = 15     (VADER's normalization; 0 if no term)

so one "ممتاز" gives 4 / sqrt(31) = 0.72, and one "سيء" gives -0.64.

Labels (VADER's convention): positive when compound >= 0.05, negative when <= -0.05,
neutral otherwise.

References
----------
Hutto, C. J. & Gilbert, E. (2014), VADER: A Parsimonious Rule-based Model for Sentiment
Analysis of Social Media Text, ICWSM-14.
Pedregosa, F. et al. (2011), Scikit-learn: Machine Learning in Python, JMLR 12, 2825-2830.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from cxlib import paths
from cxlib.exceptions import DataValidationError
from cxlib.voice import arabic
from cxlib.voice.coding import normalize_text

__all__ = [
    "LEXICON_PATH",
    "EMOJI_PATH",
    "load_lexicon",
    "load_emoji",
    "clean_text",
    "score_arabic",
    "explain_arabic",
    "score_english",
    "score",
    "validate",
    "label_of",
    "label_targets",
    "score_scales",
    "verbatim_targets",
    "SentimentModel",
    "SentimentResult",
    "fit_calibrated",
    "predict_calibrated",
    "evaluate",
    "for_run",
]

#: the project's Arabic lexicon (term, polarity, note, dialect); see arabic_sentiment.md
LEXICON_PATH = paths.ASSETS_DIR / "arabic_sentiment.csv"
#: emoji polarity list (emoji, polarity, note), written for this project
EMOJI_PATH = paths.ASSETS_DIR / "emoji_sentiment.csv"

NEGATION_WINDOW = 3
NEGATION_FACTOR = -0.7
INTENSIFIER_WINDOW = 2
INTENSIFIER_FACTOR = 1.3
CONTRAST_BEFORE = 0.5
CONTRAST_AFTER = 1.5
VALENCE_SCALE = 4.0
ALPHA = 15.0
POSITIVE_FROM = 0.05
NEGATIVE_FROM = -0.05

#: negators (normalized); with a leading و or ف too (ولا, وما, فما ...). MSA, Gulf (مو مب موب
#: ماني), Egyptian (مش مفيش مافيش), Levantine (مش مانو), Iraqi (ماكو)
NEGATORS = frozenset(normalize_text(w) for w in
                     ["لا", "ما", "مو", "مش", "ليس", "ليست", "لم", "لن", "غير", "بدون", "مب", "موب", "بلا",
                      "مافي", "مفيش", "مافيش", "ماكو", "ماني", "مانيش", "مانو", "مهوش", "مهيش"])
#: intensifiers (normalized): very, a lot (MSA, Gulf, Egyptian, Levantine, Maghrebi), at all
INTENSIFIERS = frozenset(normalize_text(w) for w in
                         ["جدا", "جداً", "كثير", "كثيرا", "مرة", "مره", "مرا", "بزاف", "واجد", "وايد", "حيل",
                          "للغاية", "جزيلا", "ابدا", "أبداً", "كتير", "خالص", "بشدة", "اوي", "قوي", "موت",
                          "بجد", "عنجد", "تماما", "فعلا", "حقا", "بالحيل", "الحيل", "بالمره", "بقوه"])
#: contrast words: VADER's "but" rule
CONTRASTS = frozenset(normalize_text(w) for w in ["لكن", "ولكن", "بس", "لاكن", "الا ان"])

_CLAUSE_RE = re.compile(r"[.!?؟,،;؛:\n]+")
_TOKEN_RE = re.compile(r"\w+")
_RUN3_RE = re.compile(r"(\w)\1{2,}")
_ARABIC_RE = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_LATIN_RE = re.compile(r"[A-Za-z]")
_LETTER_RE = re.compile(r"[^\W\d_]")
#: pictographs, symbols and dingbats: any emoji (scored or not)
_EMOJI_ANY_RE = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2190-\u21FF\u2300-\u23FF]")
#: emoji modifiers removed before lookup: variation selector, ZWJ, skin tones, gender signs
_EMOJI_MOD_RE = re.compile("[\uFE0F\u200D\U0001F3FB-\U0001F3FF\u2640\u2642]")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE_RE = re.compile(r"(?<![\w@])@\w+")
_HASH_RE = re.compile(r"#(?=\w)")

SCORE_COLUMNS = ["sentiment", "label", "method", "note"]


# --- cleaning ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _strip_regex(strip: tuple[str, ...]) -> re.Pattern | None:
    words = sorted({str(w).strip().lstrip("@#").casefold() for w in strip if str(w).strip()}, key=len, reverse=True)
    if not words:
        return None
    alts = []
    for w in words:
        esc = re.escape(w)
        # an Arabic brand may carry a proclitic (لنون, ومن نون); English: whole words only
        alts.append(f"{arabic.PREFIX_RE}{esc}" if arabic.has_arabic(w) else esc)
    return re.compile(r"(?<![\w])[@#]?(?:" + "|".join(alts) + r")(?:'s|’s)?(?!\w)", re.IGNORECASE)


def clean_text(texts: pd.Series, strip: Sequence[str] = ()) -> pd.Series:
    """Remove what must not be scored: URLs, @handles and the client's brand names.

    URLs (``http(s)://...``, ``www....``) and @handles are removed; a ``#`` before a word is
    dropped (the word is kept: "#fail" -> "fail"); every name in ``strip`` (brand names and
    handles, case-insensitive, whole words, with or without a leading @ or #, with an
    Arabic proclitic: ``لنون``) is removed. Spaces are collapsed. Missing stays missing.

    Examples
    --------
    >>> clean_text(pd.Series(["@united thanks! https://t.co/x", "Loved #Acme"]), strip=["acme"]).tolist()
    ['thanks!', 'Loved']
    """
    s = texts.astype("object")
    ok = s.notna()
    rx = _strip_regex(tuple(strip or ()))
    kept = s[ok].astype("str")
    # the patterns applied in one pass over the texts (pandas would make one pass, and one array, each),
    # each only where the text holds what any match of it needs ("://" or "www.", "@", "#")
    done = []
    for text in kept:
        if "://" in text or "www." in text.lower():
            text = _URL_RE.sub(" ", text)
        if "@" in text:
            text = _HANDLE_RE.sub(" ", text)
        if rx is not None:
            text = rx.sub(" ", text)
        if "#" in text:
            text = _HASH_RE.sub("", text)
        done.append(text)
    out = pd.Series(done, index=kept.index, dtype=kept.dtype).str.replace(r"\s+", " ", regex=True).str.strip()
    res = pd.Series(None, index=texts.index, dtype="object")
    res[ok] = out
    return res


# --- lexicons ----------------------------------------------------------------------------


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


def load_emoji(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate the emoji polarity list (default: ``assets/emoji_sentiment.csv``).

    Returns
    -------
    DataFrame
        emoji (modifiers such as U+FE0F and skin tones removed), polarity in [-1, 1], note.

    Raises
    ------
    DataValidationError
        Missing columns, polarity outside [-1, 1], or an emoji listed twice.
    """
    src = Path(path) if path is not None else EMOJI_PATH
    df = pd.read_csv(src, dtype={"emoji": "str", "note": "str"}, keep_default_na=False)
    if not {"emoji", "polarity"} <= set(df.columns):
        raise DataValidationError(f"{src}: an emoji list needs the columns emoji, polarity (note optional).")
    emo = df["emoji"].str.replace(_EMOJI_MOD_RE, "", regex=True).str.strip()
    pol = pd.to_numeric(df["polarity"], errors="coerce")
    bad = ~pol.between(-1, 1) | (emo == "")
    dup = emo.duplicated(keep=False)
    if bad.any() or dup.any():
        rows = (np.flatnonzero((bad | dup).to_numpy()) + 2).tolist()
        raise DataValidationError(f"{src}: rows {rows}: blank or repeated emoji, or polarity not in [-1, 1].")
    return pd.DataFrame({"emoji": emo, "polarity": pol.astype(float),
                         "note": df["note"] if "note" in df else ""})


@functools.lru_cache(maxsize=4)
def _emoji_map(path: str | None) -> tuple[dict[str, float], re.Pattern]:
    e = load_emoji(path)
    d = dict(zip(e["emoji"], e["polarity"], strict=True))
    rx = re.compile("|".join(re.escape(k) for k in sorted(d, key=len, reverse=True)))
    return d, rx


def _emoji_hits(text: str, path: str | None = None) -> list[tuple[str, float]]:
    """The listed emoji in ``text`` with their polarity (modifiers removed first)."""
    if not _EMOJI_ANY_RE.search(text):
        return []
    d, rx = _emoji_map(path)
    return [(m, d[m]) for m in rx.findall(_EMOJI_MOD_RE.sub("", text))]


class _ArabicLexicon:
    """Words and phrases of a lexicon, with a cache of token -> term resolutions."""

    def __init__(self, path: str | None):
        lex = load_lexicon(path)
        one = lex["n_tokens"] == 1
        self.words = dict(zip(lex.loc[one, "term"], lex.loc[one, "polarity"], strict=True))
        self.phrases = dict(zip(lex.loc[~one, "term"], lex.loc[~one, "polarity"], strict=True))
        self.cache: dict[str, tuple[str | None, bool]] = {}

    def resolve(self, tok: str) -> tuple[str | None, bool]:
        """(term, negated) for one token: elongation, clitics, ما...ش circumfix; (None, False)."""
        hit = self.cache.get(tok)
        if hit is None:
            hit = self._resolve(tok)
            if len(self.cache) < 500_000:
                self.cache[tok] = hit
        return hit

    def _lookup(self, tok: str) -> str | None:
        for form in _elongation_forms(tok):
            for st in arabic.stems(form):
                if st in self.words:
                    return st
        return None

    def _resolve(self, tok: str) -> tuple[str | None, bool]:
        term = self._lookup(tok)
        if term is not None:
            return term, False
        # negation wrapped around the word: ما...ش / م...ش (Egyptian, Levantine), ما attached (Gulf)
        core = _strip_conj(tok)
        if len(core) >= 5 and core.endswith("ش") and core.startswith("م"):
            inner = core[2:-1] if core.startswith("ما") else core[1:-1]
            term = self._lookup(inner)
            if term is not None:
                return term, True
        if len(core) >= 5 and core.startswith("ما"):
            term = self._lookup(core[2:])
            if term is not None:
                return term, True
        return None, False


@functools.lru_cache(maxsize=8)
def _lexicon(path: str | None) -> _ArabicLexicon:
    return _ArabicLexicon(path)


# --- Arabic scorer -----------------------------------------------------------------------


def _elongation_forms(tok: str) -> list[str]:
    """The token, then with runs of 3+ identical letters collapsed to 1, then to 2."""
    out = [tok]
    if _RUN3_RE.search(tok):
        out += [_RUN3_RE.sub(r"\1", tok), _RUN3_RE.sub(r"\1\1", tok)]
    return out


def _strip_conj(tok: str) -> str:
    return tok[1:] if len(tok) > 2 and tok[0] in "وف" else tok


def _analyse(text: str, path: str | None = None) -> list[dict]:
    """Units of one text with the rules applied: one dict per lexicon hit."""
    lex = _lexicon(path)
    phrases = lex.phrases
    hits: list[dict] = []
    first_but: int | None = None  # global unit position of the first contrast word
    offset = 0
    for clause in _CLAUSE_RE.split(normalize_text(text)):
        raw = _TOKEN_RE.findall(clause)
        if not raw:
            continue
        toks = [_RUN3_RE.sub(r"\1", t) for t in raw]
        # (kind, surface, term, polarity, negated inside the word)
        units: list[tuple[str, str, str | None, float, bool]] = []
        i = 0
        while i < len(toks):
            for n in (3, 2):
                if i + n <= len(toks):
                    cand = " ".join(toks[i:i + n])
                    key = cand if cand in phrases else " ".join([_strip_conj(toks[i]), *toks[i + 1:i + n]])
                    if key in phrases:
                        units.append(("term", " ".join(raw[i:i + n]), key, phrases[key], False))
                        i += n
                        break
            else:
                tok = raw[i]
                if toks[i] in NEGATORS or _strip_conj(toks[i]) in NEGATORS:
                    units.append(("neg", tok, None, 0.0, False))
                elif toks[i] in INTENSIFIERS:
                    units.append(("int", tok, None, 0.0, False))
                elif toks[i] in CONTRASTS:
                    units.append(("but", tok, None, 0.0, False))
                else:
                    term, inner_neg = lex.resolve(tok)
                    if term is not None:
                        units.append(("term", tok, term, lex.words[term], inner_neg))
                    else:
                        units.append(("other", tok, None, 0.0, False))
                i += 1
        for j, (kind, surface, term, pol, inner_neg) in enumerate(units):
            if kind == "but" and first_but is None:
                first_but = offset + j
            if kind != "term":
                continue
            negator = surface if inner_neg else next(
                (units[k][1] for k in range(max(0, j - NEGATION_WINDOW), j) if units[k][0] == "neg"), None)
            lo, hi = max(0, j - INTENSIFIER_WINDOW), min(len(units), j + INTENSIFIER_WINDOW + 1)
            intens = next((units[k][1] for k in range(lo, hi) if k != j and units[k][0] == "int"), None)
            s = VALENCE_SCALE * pol
            if negator is not None:
                s *= NEGATION_FACTOR
            if intens is not None:
                s *= INTENSIFIER_FACTOR
            hits.append({"token": surface, "term": term, "polarity": pol, "negator": negator,
                         "intensifier": intens, "contrast": 1.0, "score": s, "_pos": offset + j})
        offset += len(units)
    if first_but is not None:
        for h in hits:
            h["contrast"] = CONTRAST_BEFORE if h["_pos"] < first_but else CONTRAST_AFTER
            h["score"] *= h["contrast"]
    for h in hits:
        del h["_pos"]
    return hits


def _compound(total: float) -> float:
    """VADER normalization: S / sqrt(S^2 + alpha), alpha = 15."""
    return float(total / np.sqrt(total * total + ALPHA))


def _uncompound(c: float) -> float:
    """The sum S behind a compound c: inverse of :func:`_compound`, ``c sqrt(15 / (1 - c^2))``."""
    c = float(np.clip(c, -0.9999, 0.9999))
    return c * np.sqrt(ALPHA / (1 - c * c))


def _arabic_total(text: str, path: str | None, emoji_path: str | None = None) -> tuple[float, int, int]:
    """(S, number of lexicon hits, number of emoji hits) of one Arabic text."""
    hits = _analyse(text, path)
    emo = _emoji_hits(text, emoji_path)
    return sum(h["score"] for h in hits) + VALENCE_SCALE * sum(p for _, p in emo), len(hits), len(emo)


def score_arabic(text: str, *, lexicon: str | Path | None = None) -> float:
    """Compound sentiment of one Arabic text in [-1, 1] (0.0 when no lexicon term or emoji occurs).

    ``compound = S / sqrt(S^2 + 15)``, ``S`` the sum of the term scores after the rules of
    the module docstring (elongation, clitics, phrases, negation, intensifiers, contrast)
    plus ``4 w`` per listed emoji.

    Examples
    --------
    >>> round(score_arabic("الخدمة ممتازة"), 3)
    0.718
    """
    total, n_hits, n_emo = _arabic_total(text, None if lexicon is None else str(lexicon))
    return _compound(total) if (n_hits or n_emo) else 0.0


def explain_arabic(text: str, *, lexicon: str | Path | None = None) -> pd.DataFrame:
    """Why an Arabic text got its score: one row per lexicon hit (and per emoji).

    Returns
    -------
    DataFrame
        token (as written, normalized), term (lexicon entry), polarity (lexicon weight),
        negator (the negating word or None), intensifier (or None), contrast (0.5 before a
        لكن/بس, 1.5 after it, else 1), score (``4 w x -0.7 x 1.3 x contrast`` as
        applicable). ``attrs['compound']``: the text's score.
    """
    hits = _analyse(text, None if lexicon is None else str(lexicon))
    hits += [{"token": e, "term": e, "polarity": p, "negator": None, "intensifier": None, "contrast": 1.0,
              "score": VALENCE_SCALE * p} for e, p in _emoji_hits(text)]
    out = pd.DataFrame(hits, columns=["token", "term", "polarity", "negator", "intensifier", "contrast", "score"])
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


def _english(text: str, emoji_path: str | None = None) -> tuple[float, int]:
    """VADER compound with the listed emoji added to its sum: (compound, number of emoji)."""
    emo = _emoji_hits(text, emoji_path)
    if not emo:
        return score_english(text), 0
    _, rx = _emoji_map(emoji_path)
    rest = rx.sub(" ", _EMOJI_MOD_RE.sub("", text))
    total = _uncompound(score_english(rest)) + VALENCE_SCALE * sum(p for _, p in emo)
    return _compound(total), len(emo)


# --- all verbatims -----------------------------------------------------------------------


def label_of(sentiment: pd.Series | np.ndarray) -> pd.Series:
    """positive (>= 0.05), negative (<= -0.05), neutral; missing stays missing."""
    s = pd.Series(sentiment, dtype="float")
    lab = np.where(s >= POSITIVE_FROM, "positive", np.where(s <= NEGATIVE_FROM, "negative", "neutral"))
    return pd.Series(lab, index=s.index, dtype="object").where(s.notna(), None)


def score(
    texts: pd.Series,
    languages: pd.Series | None = None,
    *,
    lexicon: str | Path | None = None,
    strip: Sequence[str] = (),
) -> pd.DataFrame:
    """Sentiment of every text by the lexicon route: VADER for English, the Arabic lexicon scorer for Arabic.

    Texts are first cleaned (:func:`clean_text`: URLs, @handles and the names in ``strip``
    removed). The method follows the script, which is what the text is written in: a text
    with any Arabic letter is scored with the Arabic lexicon (mixed Arabic-English texts too:
    only their Arabic words count, noted); other texts with VADER. Listed emoji count in
    both (module docstring). A text with no letter and no emoji (digits, punctuation, a
    bare URL) gets NaN, method "none", note "no words". A ``languages`` value that disagrees
    with the script (e.g. "ar" written in Latin letters) is noted, not trusted.

    Parameters
    ----------
    texts : Series
        Raw texts; the output keeps their index.
    languages : Series, optional
        "en"/"ar" per text, same index (used only to note mismatches).
    lexicon : path, optional
        Another Arabic lexicon file (same columns as ``assets/arabic_sentiment.csv``).
    strip : sequence of str
        Brand names and handles to remove before scoring (the client's and competitors').

    Returns
    -------
    DataFrame
        sentiment (compound in [-1, 1]; NaN for empty text or text without words),
        label (positive >= 0.05, negative <= -0.05, neutral; None where sentiment is NaN),
        method ("vader", "ar-lexicon", "none"), note ("" or e.g. "mixed Arabic and Latin:
        Arabic lexicon, Latin words not scored"). ``attrs``: n, n_vader, n_ar_lexicon,
        n_none (empty texts and texts without words), n_no_words, n_mixed,
        n_language_mismatch, n_ar_no_term (Arabic texts without any lexicon term or emoji:
        scored 0, the lexicon's coverage gap), n_emoji (texts with a scored emoji), formula.
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
    n_mixed = n_mismatch = n_no_term = n_no_words = n_emoji = 0
    langs = languages.to_numpy() if languages is not None else np.full(n, None)
    cleaned = clean_text(texts, strip).to_numpy()
    for i, (raw, t, lang) in enumerate(zip(texts.to_numpy(), cleaned, langs, strict=True)):
        if raw is None or (not isinstance(raw, str) and pd.isna(raw)) or not str(raw).strip():
            method[i] = "none"
            note[i] = "empty text"
            continue
        if not _LETTER_RE.search(t) and not _EMOJI_ANY_RE.search(t):
            method[i] = "none"
            note[i] = "no words (no letters and no emoji once handles, URLs and brand names are removed)"
            n_no_words += 1
            continue
        if _ARABIC_RE.search(t):
            method[i] = "ar-lexicon"
            total, n_hits, n_emo = _arabic_total(t, path)
            sent[i] = _compound(total) if (n_hits or n_emo) else 0.0
            n_emoji += n_emo > 0
            notes = []
            if _LATIN_RE.search(t):
                n_mixed += 1
                notes.append("mixed Arabic and Latin: Arabic lexicon, Latin words not scored")
            if not (n_hits or n_emo):
                n_no_term += 1
                notes.append("no lexicon term")
            if isinstance(lang, str) and lang not in ("ar", "mixed"):
                n_mismatch += 1
                notes.append(f"language {lang!r} but Arabic letters")
            note[i] = "; ".join(notes)
        else:
            method[i] = "vader"
            sent[i], n_emo = _english(t)
            n_emoji += n_emo > 0
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
        n_no_words=n_no_words,
        n_mixed=n_mixed,
        n_language_mismatch=n_mismatch,
        n_ar_no_term=n_no_term,
        n_emoji=n_emoji,
        formula=("compound = S / sqrt(S^2 + 15); Arabic S = sum of 4 w (x -0.7 negated) (x 1.3 intensified) "
                 "(x 0.5 / 1.5 around a contrast) + 4 w per emoji; English S = VADER's sum + 4 w per emoji"),
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


def score_scales(
    verbatims: pd.DataFrame,
    *,
    responses: pd.DataFrame | None = None,
    scales: dict[str, str] | None = None,
) -> pd.Series:
    """The scale of the score that came with each verbatim ("nps", "csat", "stars", ...).

    Survey comments take it from their response's ``survey_type`` (relationship -> "nps",
    transactional -> "csat"; via ``response_id`` in ``responses``, or a ``survey_type``
    column of ``verbatims``), otherwise "unknown"; other sources from :data:`DEFAULT_SCALES`
    (reviews "stars", social "sentiment") updated with ``scales``; calls, chats and staff
    input "none".
    """
    src = verbatims["source"].astype("str")
    scale = src.map({**DEFAULT_SCALES, **(scales or {})}).astype("object")
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
    return scale.fillna("none")


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
    scale = score_scales(verbatims, responses=responses, scales=scales)
    n_unknown = int(((src == "survey") & (scale == "unknown")).sum())
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


# --- targets: the score that came with the text, as a polarity label ----------------------

#: words a label column may hold (case-insensitive) -> polarity
LABEL_WORDS: dict[str, str] = {
    **dict.fromkeys(["positive", "pos", "p", "+", "good", "promoter", "satisfied", "happy"], "positive"),
    **dict.fromkeys(["negative", "neg", "n", "-", "bad", "detractor", "dissatisfied", "unhappy", "complaint"],
                    "negative"),
    **dict.fromkeys(["neutral", "neu", "mixed", "passive", "neither", "ok", "okay"], "neutral"),
}
#: scales :func:`label_targets` understands
SCALES = ("nps", "csat", "stars", "sentiment", "polarity", "binary", "label")
CLASS_ORDER = ("negative", "neutral", "positive")


def tone_shares(scores: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Texts by tone: ``label`` (positive, neutral, negative), ``n``, ``base`` (texts with a
    label), ``share = n / base`` and its Wilson interval (Wilson 1927,
    :func:`cxlib.journey.evidence.wilson`); texts without words (no label) are left out of the
    base and counted in ``attrs["unlabelled"]``."""
    from cxlib.journey.evidence import wilson

    lab = scores["label"]
    known = lab[lab.isin(CLASS_ORDER)]
    order = ["positive", "neutral", "negative"]
    n = known.value_counts().reindex(order, fill_value=0).to_numpy()
    base = int(len(known))
    lo, hi = wilson(n, base, confidence)
    out = pd.DataFrame({"label": order, "n": n, "base": base, "share": n / base if base else np.nan,
                        "ci_low": lo, "ci_high": hi})
    out.attrs["unlabelled"] = int(len(lab) - base)
    return out


def _auto_scale(values: pd.Series) -> str:
    num = pd.to_numeric(values, errors="coerce")
    present = values.notna() & (values.astype("str").str.strip() != "")
    if present.any() and num[present].isna().mean() > 0.5:
        return "label"
    v = set(np.unique(num.dropna().to_numpy()))
    if not v:
        return "label"
    if v <= {-1.0, 0.0, 1.0} and -1.0 in v:
        return "polarity"
    if v <= {0.0, 1.0}:
        return "binary"
    if all(float(x).is_integer() for x in v) and min(v) >= 1 and max(v) <= 5:
        return "stars"
    if all(float(x).is_integer() for x in v) and min(v) >= 0 and max(v) <= 10:
        return "nps"
    if min(v) >= -1 and max(v) <= 1:
        return "sentiment"
    raise DataValidationError(
        f"target: cannot tell the scale of the scores (values from {min(v)} to {max(v)}); pass scale= one of {SCALES}."
    )


def label_targets(target: pd.Series, scale: str | pd.Series = "auto") -> pd.Series:
    """The polarity each score or label stands for: "positive", "negative", "neutral" or None.

    Scales: "nps" 0-6 negative, 7-8 neutral, 9-10 positive; "csat" and "stars" 1-2 negative,
    3 neutral, 4-5 positive; "sentiment" (a social-listening score in [-1, 1]) <= -0.05
    negative, >= 0.05 positive; "polarity" by sign (-1 / 0 / 1); "binary" 0 negative, 1
    positive; "label" words (:data:`LABEL_WORDS`, case-insensitive: positive/pos/promoter...,
    negative/neg/detractor..., neutral/mixed/passive...). Anything else (blank, an unknown
    word, a number outside the scale) gives None.

    ``scale="auto"`` reads it from the values: mostly non-numbers -> "label"; only -1/0/1
    -> "polarity"; only 0/1 -> "binary"; integers 1-5 -> "stars"; integers 0-10 -> "nps";
    other numbers in [-1, 1] -> "sentiment"; otherwise an error asks for the scale. A Series
    gives each row its own scale (e.g. NPS for survey comments, stars for reviews; rows with
    a scale outside :data:`SCALES`, such as "none", get None).

    Raises
    ------
    DataValidationError
        An unknown scale name, or "auto" on numbers no scale explains.
    """
    if isinstance(scale, str):
        if scale != "auto" and scale not in SCALES:
            raise DataValidationError(f"scale {scale!r} is not one of {('auto', *SCALES)}.")
        sc = pd.Series(_auto_scale(target) if scale == "auto" else scale, index=target.index, dtype="object")
    else:
        sc = scale.reindex(target.index).astype("object")
    out = pd.Series(None, index=target.index, dtype="object")
    num = pd.to_numeric(target, errors="coerce")
    for name, (neg, pos) in POLARITY_CUTS.items():
        m = (sc == name).to_numpy() & num.notna().to_numpy()
        if name in ("nps",):
            m &= num.between(0, 10).to_numpy()
        elif name in ("csat", "stars"):
            m &= num.between(1, 5).to_numpy()
        x = num[m]
        out[m] = np.where(x <= neg, "negative", np.where(x >= pos, "positive", "neutral"))
    m = (sc == "polarity").to_numpy() & num.notna().to_numpy()
    out[m] = np.sign(num[m]).map({-1.0: "negative", 0.0: "neutral", 1.0: "positive"})
    m = (sc == "binary").to_numpy() & num.isin([0, 1]).to_numpy()
    out[m] = num[m].map({0.0: "negative", 1.0: "positive"})
    m = (sc == "label").to_numpy() & target.notna().to_numpy()
    out[m] = target[m].astype("str").str.strip().str.casefold().map(LABEL_WORDS)
    return out.where(out.notna(), None)


def verbatim_targets(
    verbatims: pd.DataFrame,
    *,
    responses: pd.DataFrame | None = None,
    scales: dict[str, str] | None = None,
    text_col: str = "text",
) -> pd.DataFrame:
    """The input of :func:`for_run` from the canonical verbatims table.

    Returns
    -------
    DataFrame
        text, language, target (the verbatim's ``score``, NaN where none), scale (from
        :func:`score_scales`: survey comments by their survey type, reviews "stars", social
        "sentiment", others "none"); verbatims' index.
    """
    target = verbatims["score"] if "score" in verbatims else pd.Series(np.nan, index=verbatims.index)
    lang = verbatims["language"] if "language" in verbatims else pd.Series(None, index=verbatims.index)
    return pd.DataFrame({"text": verbatims[text_col], "language": lang, "target": target,
                         "scale": score_scales(verbatims, responses=responses, scales=scales)},
                        index=verbatims.index)


# --- calibrated model ----------------------------------------------------------------------

#: default minimum of scored texts per class (positive and negative; neutral joins when it has
#: as many): below it the calibrated route falls back to the lexicon. 50 per class leaves at
#: least 10 per class in a 20 % held-out set, the least for an accuracy worth printing.
MIN_PER_CLASS = 50
#: default cap on training texts (a stratified sample above it), so training takes seconds
MAX_TRAIN = 50_000
#: inverse regularization of the logistic regression (chosen on the dev sets' training parts)
C_DEFAULT = 3.0
#: texts sampled for choosing whether the lexicon's scores join the features (3-fold CV)
SELECTION_SAMPLE = 4_000
#: from this many training texts on, the lexicon-feature selection is skipped (text features only)
#: and the held-out model is applied as checked (no refit on every labelled text)
LARGE_TRAIN = 5_000


def _script(clean: pd.Series) -> pd.Series:
    """"ar" (any Arabic letter), "latin" (other letters), "none" (no letter) per cleaned text."""
    c = clean.fillna("").astype("str")
    ar = c.str.contains(_ARABIC_RE)
    letters = c.str.contains(_LETTER_RE)
    return pd.Series(np.where(ar, "ar", np.where(letters, "latin", "none")), index=clean.index)


def _lexicon_block(texts: pd.Series, strip: Sequence[str], lexicon: str | None) -> np.ndarray:
    """Dense lexicon features: compound (0 where none), is positive, is negative."""
    lex = score(texts.reset_index(drop=True), lexicon=lexicon, strip=strip)["sentiment"].fillna(0.0).to_numpy()
    return np.c_[lex, lex >= POSITIVE_FROM, lex <= NEGATIVE_FROM].astype(float)


@dataclass(frozen=True, eq=False)
class SentimentModel:
    """A sentiment classifier learned from one client's scored texts.

    Attributes
    ----------
    features : FeatureUnion
        Fitted :func:`cxlib.voice.features.make_text_features` (vocabulary and IDF).
    classifier : LogisticRegression
        Fitted on the features (and the lexicon block when ``lexicon_features``).
    classes : list of str
        The polarity classes learned, in :data:`CLASS_ORDER`.
    lexicon_features : bool
        Whether the lexicon route's compound, is-positive and is-negative join the features
        (chosen by cross-validation on the training texts).
    scripts : dict[str, int]
        Training texts per script ("ar", "latin"): the model is applied only to texts of a
        script it learned from (at least ``min_per_class`` texts).
    strip : tuple of str
        Brand names and handles removed before featurizing.
    selection : DataFrame
        candidate, macro_f1 (3-fold CV on up to 4,000 training texts), chosen.
    n_train : int
    seed : int
    """

    features: object = field(repr=False)
    classifier: object = field(repr=False)
    classes: list[str]
    lexicon_features: bool
    scripts: dict[str, int]
    strip: tuple[str, ...] = ()
    lexicon: str | None = None
    selection: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    n_train: int = 0
    seed: int = 0

    def _x(self, texts: pd.Series):
        from scipy import sparse

        from cxlib.voice import features as feats

        clean = clean_text(texts, self.strip)
        x = self.features.transform(feats.mark_negation(feats.prepare(clean)))
        if self.lexicon_features:
            x = sparse.hstack([x, sparse.csr_matrix(_lexicon_block(clean, (), self.lexicon))]).tocsr()
        return x


def _fit(texts: pd.Series, labels: np.ndarray, *, lexicon_features: bool, strip, lexicon, c: float, seed: int):
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    from cxlib.voice import features as feats

    clean = clean_text(texts, strip)
    fu = feats.make_text_features()
    x = fu.fit_transform(feats.mark_negation(feats.prepare(clean)))
    if lexicon_features:
        x = sparse.hstack([x, sparse.csr_matrix(_lexicon_block(clean, (), lexicon))]).tocsr()
    clf = LogisticRegression(C=c, class_weight="balanced", solver="lbfgs", max_iter=3000, random_state=seed)
    clf.fit(x, labels)
    return fu, clf


def fit_calibrated(
    texts: pd.Series,
    labels: pd.Series,
    *,
    seed: int = 0,
    strip: Sequence[str] = (),
    lexicon: str | Path | None = None,
    lexicon_features: bool | None = None,
    c: float = C_DEFAULT,
) -> SentimentModel:
    """Fit the calibrated sentiment classifier on (text, polarity label) pairs.

    Features: TF-IDF of word 1-2-grams and character 2-5-grams within words
    (:func:`cxlib.voice.features.make_text_features`) of the cleaned, normalized text with
    negation scopes marked (:func:`clean_text` with ``strip``, then
    :func:`cxlib.voice.features.prepare` and :func:`cxlib.voice.features.mark_negation`).
    Classifier: multinomial logistic regression (``lbfgs``), L2 penalty with ``C = c``,
    ``class_weight="balanced"`` (class c weighs ``n / (k n_c)``, so a minority class is not
    ignored).

    ``lexicon_features=None`` chooses by 3-fold stratified cross-validation (macro F1) on up
    to :data:`SELECTION_SAMPLE` training texts whether the lexicon route's scores join the
    features: they carry prior knowledge that helps small training sets and can hurt
    large ones; the lexicon block is kept only when it gains at least 0.005.

    Parameters
    ----------
    texts : Series
        Raw texts.
    labels : Series
        "positive"/"negative"/"neutral", same index (e.g. :func:`label_targets`); rows with
        no label are an error (drop them first).
    """
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    if not texts.index.equals(labels.index):
        raise DataValidationError("texts and labels must share one index.")
    if labels.isna().any():
        raise DataValidationError(f"labels: {int(labels.isna().sum())} missing; drop unlabelled texts before fitting.")
    y = labels.astype("str").to_numpy()
    classes = [c_ for c_ in CLASS_ORDER if c_ in set(y)]
    if len(classes) < 2:
        raise DataValidationError(f"labels hold one class only ({classes}); a classifier needs two.")
    path = None if lexicon is None else str(lexicon)
    rows = []
    if lexicon_features is None:
        rng = np.random.default_rng(seed)
        idx = np.arange(len(y))
        if len(idx) > SELECTION_SAMPLE:
            idx = np.sort(rng.choice(idx, SELECTION_SAMPLE, replace=False))
        ys = y[idx]
        folds = min(3, int(pd.Series(ys).value_counts().min()))
        if folds >= 2:
            skf = StratifiedKFold(folds, shuffle=True, random_state=seed)
            for cand in (False, True):
                pred = np.empty(len(idx), dtype=object)
                for tr, te in skf.split(idx, ys):
                    sub = texts.iloc[idx[tr]]
                    fu, clf = _fit(sub, ys[tr], lexicon_features=cand, strip=strip, lexicon=path, c=c, seed=seed)
                    m = SentimentModel(fu, clf, list(clf.classes_), cand, {}, tuple(strip), path)
                    pred[te] = clf.predict(m._x(texts.iloc[idx[te]]))
                rows.append({"candidate": "text + lexicon" if cand else "text",
                             "macro_f1": f1_score(ys, pred.astype(str), average="macro")})
            lexicon_features = rows[1]["macro_f1"] >= rows[0]["macro_f1"] + 0.005
        else:
            lexicon_features = False
    selection = pd.DataFrame(rows, columns=["candidate", "macro_f1"])
    selection["chosen"] = selection["candidate"] == ("text + lexicon" if lexicon_features else "text")
    fu, clf = _fit(texts, y, lexicon_features=bool(lexicon_features), strip=strip, lexicon=path, c=c, seed=seed)
    scripts = _script(clean_text(texts, strip)).value_counts().to_dict()
    return SentimentModel(features=fu, classifier=clf, classes=list(clf.classes_), lexicon_features=bool(lexicon_features),
                          scripts={k: int(v) for k, v in scripts.items()}, strip=tuple(strip), lexicon=path,
                          selection=selection, n_train=len(y), seed=seed)


#: texts turned into features at once when applying a model (a client's 300k texts never all at once)
PREDICT_BATCH = 20_000


def predict_calibrated(model: SentimentModel, texts: pd.Series) -> pd.DataFrame:
    """Apply a :class:`SentimentModel`: per text ``sentiment = P(positive) - P(negative)`` and the most probable label.

    Returns
    -------
    DataFrame
        sentiment (in [-1, 1]), label, and p_<class> for each learned class; texts' index.
        Empty texts get NaN and None.
    """
    out = pd.DataFrame(index=texts.index)
    proba = np.full((len(texts), len(model.classes)), np.nan)
    ok = texts.notna().to_numpy() & (texts.astype("str").str.strip() != "").to_numpy()
    rows = np.flatnonzero(ok)
    for start in range(0, len(rows), PREDICT_BATCH):  # features for one batch at a time: bounded memory
        part = rows[start:start + PREDICT_BATCH]
        proba[part] = model.classifier.predict_proba(model._x(texts.iloc[part]))
    cls = list(model.classes)
    p_pos = proba[:, cls.index("positive")] if "positive" in cls else 0.0
    p_neg = proba[:, cls.index("negative")] if "negative" in cls else 0.0
    out["sentiment"] = p_pos - p_neg
    lab = np.asarray(cls, dtype=object)[np.nan_to_num(proba, nan=-1).argmax(axis=1)]
    out["label"] = pd.Series(lab, index=texts.index, dtype="object").where(ok, None)
    for j, c_ in enumerate(cls):
        out[f"p_{c_}"] = proba[:, j]
    return out


def evaluate(truth: pd.Series | np.ndarray, predicted: pd.Series | np.ndarray, classes: Sequence[str]) -> dict:
    """Accuracy and macro F1 of predicted labels against the truth, over ``classes``.

    ``accuracy = mean(predicted == truth)``; macro F1 = the unweighted mean over ``classes``
    of ``F1_c = 2 P_c R_c / (P_c + R_c)`` (``sklearn.metrics.f1_score(average="macro",
    labels=classes, zero_division=0)``). A prediction outside ``classes`` (the lexicon's
    "neutral" when only positive and negative were scored, or a missing label) counts as
    wrong. ``coverage`` = share of texts given a label in ``classes`` other than "neutral"
    (how often the method commits).
    """
    from sklearn.metrics import f1_score

    t = np.asarray(pd.Series(truth).astype("object").fillna("(none)"), dtype=str)
    p = np.asarray(pd.Series(predicted).astype("object").fillna("(none)"), dtype=str)
    n = len(t)
    if n == 0:
        return {"accuracy": np.nan, "macro_f1": np.nan, "n": 0, "coverage": np.nan}
    commit = np.isin(p, [c for c in classes if c != "neutral"])
    return {"accuracy": float((t == p).mean()),
            "macro_f1": float(f1_score(t, p, labels=list(classes), average="macro", zero_division=0)),
            "n": n, "coverage": float(commit.mean())}


VALIDATION_COLUMNS = ["language", "method", "accuracy", "macro_f1", "n", "coverage", "note"]


@dataclass(frozen=True, eq=False)
class SentimentResult:
    """Sentiment of every text of a run, how it was computed, and how well it holds up.

    Attributes
    ----------
    scores : DataFrame
        sentiment (in [-1, 1]; NaN for empty text or text without words), label (positive,
        negative, neutral; None where sentiment is NaN), method ("calibrated", "lexicon",
        "none"), note; aligned to the input's index.
    method : str
        "calibrated" when a model learned from the client's scores was applied, "lexicon"
        when there were too few scores (``info["reason"]`` says why).
    validation : DataFrame
        language ("all", then per script when several are scored), method ("calibrated",
        "majority baseline", "lexicon"), accuracy, macro_f1, n, coverage (share of texts
        labelled positive or negative), note. Calibrated rows are on the held-out texts;
        the baseline and the lexicon on the same texts.
    model : SentimentModel or None
    info : dict
        n_texts, n_with_target, n_labelled, n_unmapped, scale, classes, n_per_class,
        min_per_class, n_train, n_test, n_calibrated, n_lexicon, n_none, reason, seed,
        lexicon_features.
    """

    scores: pd.DataFrame
    method: str
    validation: pd.DataFrame
    model: SentimentModel | None = field(repr=False)
    info: dict = field(default_factory=dict)

    @property
    def sentiment(self) -> pd.Series:
        return self.scores["sentiment"]

    @property
    def label(self) -> pd.Series:
        return self.scores["label"]


def _validation_rows(lang: str, truth, calibrated, lexicon_labels, majority: str, classes, note: str) -> list[dict]:
    rows = []
    if calibrated is not None:
        rows.append({"language": lang, "method": "calibrated", **evaluate(truth, calibrated, classes), "note": note})
    rows.append({"language": lang, "method": "majority baseline",
                 **evaluate(truth, np.full(len(truth), majority, dtype=object), classes),
                 "note": f"always {majority!r}"})
    rows.append({"language": lang, "method": "lexicon", **evaluate(truth, lexicon_labels, classes),
                 "note": "VADER (English), Arabic lexicon; neutral counts as wrong where neutral is not a class"})
    return rows


def for_run(
    texts: pd.DataFrame,
    *,
    seed: int = 0,
    scale: str = "auto",
    strip: Sequence[str] = (),
    min_per_class: int = MIN_PER_CLASS,
    max_train: int = MAX_TRAIN,
    test_size: float = 0.2,
    refit: bool | None = None,
    lexicon: str | Path | None = None,
) -> SentimentResult:
    """Sentiment of all of a client's text, calibrated on the scores that came with it.

    1. Targets: ``texts["target"]`` (a score or a label; optional) -> polarity with
       :func:`label_targets` (per-row ``texts["scale"]`` when present, else ``scale``).
    2. Classes: positive and negative need at least ``min_per_class`` labelled texts each
       (neutral joins when it has as many; otherwise its texts are left out of training and
       counted); otherwise the lexicon route is used for every text and ``info["reason"]``
       says why.
    3. Held-out check: a stratified split (``test_size``, ``random_state=seed``); the
       training part (a stratified sample of at most ``max_train``) fits
       :func:`fit_calibrated`; on the held-out texts its accuracy and macro F1 are reported
       beside the majority class of the training part and the lexicon route.
    4. Application: the model is refitted on every labelled text (``refit``; sampled to
       ``max_train``) and applied to every text whose script (Arabic, Latin) it learned
       from (at least ``min_per_class`` training texts); other texts, and texts without
       letters (emoji only), get the lexicon route, so each row's ``method`` says which.

    Parameters
    ----------
    texts : DataFrame
        ``text``; ``language`` (en, ar, mixed, none or missing: only noted, the script
        decides); optional ``target`` (score or label) and ``scale`` (per row).
    seed : int
        Seeds the split, the sampling and the solver.
    strip : sequence of str
        Brand names and handles removed before scoring (both routes).

    Returns
    -------
    SentimentResult
    """
    if not isinstance(texts, pd.DataFrame) or "text" not in texts.columns:
        raise DataValidationError("texts must be a DataFrame with a 'text' column (and optionally language, target).")
    if texts.index.has_duplicates:
        raise DataValidationError("texts: the index has duplicates; give each text one row (reset_index()).")
    from sklearn.model_selection import train_test_split

    n = len(texts)
    raw = texts["text"]
    lang = texts["language"] if "language" in texts.columns else pd.Series(None, index=texts.index, dtype="object")
    has_target = "target" in texts.columns
    target = texts["target"] if has_target else pd.Series(np.nan, index=texts.index)
    present = target.notna() & (target.astype("str").str.strip() != "")
    sc = texts["scale"] if "scale" in texts.columns else scale
    labels = label_targets(target.where(present), sc) if present.any() else pd.Series(None, index=texts.index, dtype="object")
    has_text = raw.notna() & (raw.astype("str").str.strip() != "")
    usable = labels.notna() & has_text
    counts = labels[usable].value_counts()
    per_class = {c: int(counts.get(c, 0)) for c in CLASS_ORDER}
    classes = [c for c in ("negative", "positive") if per_class[c] >= min_per_class]
    if len(classes) == 2 and per_class["neutral"] >= min_per_class:
        classes = ["negative", "neutral", "positive"]
    info = dict(n_texts=n, n_with_target=int(present.sum()), n_labelled=int(usable.sum()),
                n_unmapped=int((present & labels.isna()).sum()),
                scale=(sc if isinstance(sc, str) else "per row"), n_per_class=per_class,
                min_per_class=min_per_class, seed=seed, reason="", lexicon_features=False,
                n_train=0, n_test=0, classes=classes)
    if isinstance(sc, str) and sc == "auto" and present.any():
        info["scale"] = f"auto: {_auto_scale(target[present])}"

    lang = lang.reindex(raw.index)

    def lexicon_scores(index: pd.Index) -> pd.DataFrame:  # the lexicon route, per text (rows are independent)
        return score(raw.loc[index], lang.loc[index], lexicon=lexicon, strip=strip)

    if len(classes) < 2:
        lex_all = lexicon_scores(raw.index)
        if not present.any():
            reason = "no scores came with the texts"
        else:
            reason = (f"too few scored texts per class to learn from (positive {per_class['positive']}, "
                      f"negative {per_class['negative']}; at least {min_per_class} each are needed)")
        info["reason"] = reason
        scores = lex_all.assign(method=np.where(lex_all["method"] == "none", "none", "lexicon"),
                                note=lex_all["note"])
        rows = []
        if usable.any():
            truth = labels[usable]
            cls = [c for c in CLASS_ORDER if per_class[c] > 0]
            majority = truth.value_counts().idxmax()
            rows = _validation_rows("all", truth, None, lex_all.loc[usable, "label"], majority, cls,
                                    "no held-out split: too few texts to train; figures on all scored texts")
        val = pd.DataFrame(rows, columns=VALIDATION_COLUMNS)
        val.attrs["note"] = reason
        info.update(n_calibrated=0, n_lexicon=int((scores["method"] == "lexicon").sum()),
                    n_none=int((scores["method"] == "none").sum()))
        return SentimentResult(scores[SCORE_COLUMNS], "lexicon", val, None, info)

    train_mask = usable & labels.isin(classes)
    info["n_left_out_class"] = int((usable & ~labels.isin(classes)).sum())
    idx = texts.index[train_mask.to_numpy()]
    y = labels[idx].astype("str")
    i_tr, i_te = train_test_split(np.arange(len(idx)), test_size=test_size, stratify=y.to_numpy(), random_state=seed)

    def _cap(positions: np.ndarray) -> np.ndarray:
        if len(positions) <= max_train:
            return positions
        keep, _ = train_test_split(positions, train_size=max_train, stratify=y.to_numpy()[positions],
                                   random_state=seed)
        return np.sort(keep)

    i_tr = _cap(i_tr)
    tr_idx, te_idx = idx[i_tr], idx[i_te]
    # lexicon features help small training sets and are not worth a 6-fit selection on large ones
    large = len(tr_idx) >= LARGE_TRAIN
    model = fit_calibrated(raw[tr_idx], y[tr_idx], seed=seed, strip=strip, lexicon=lexicon,
                           lexicon_features=False if large else None)
    pred_te = predict_calibrated(model, raw[te_idx])["label"]
    truth_te = y[te_idx]
    majority = y[tr_idx].value_counts().idxmax()
    clean = clean_text(raw, strip)
    script = _script(clean)
    lex_te = lexicon_scores(te_idx)  # the lexicon baseline on the held-out texts
    rows = _validation_rows("all", truth_te, pred_te, lex_te["label"], majority, classes,
                            f"held-out {test_size:.0%} of {len(idx)} scored texts, seed {seed}")
    scripts_te = script[te_idx]
    if scripts_te[scripts_te != "none"].nunique() > 1:
        for s_ in ("ar", "latin"):
            m = (scripts_te == s_).to_numpy()
            if m.sum() >= 20:
                rows += _validation_rows("ar" if s_ == "ar" else "en", truth_te[m], pred_te[m],
                                         lex_te.loc[te_idx[m], "label"], majority, classes,
                                         f"held-out texts in {'Arabic' if s_ == 'ar' else 'Latin'} script")
    val = pd.DataFrame(rows, columns=VALIDATION_COLUMNS)
    info.update(n_train=len(tr_idx), n_test=len(te_idx), lexicon_features=model.lexicon_features)
    if refit is None:  # a large training part gains nothing from the held-out fifth: keep the checked model
        refit = not large
    info["refit"] = bool(refit)
    if refit:
        all_pos = _cap(np.arange(len(idx)))
        model = fit_calibrated(raw[idx[all_pos]], y[idx[all_pos]], seed=seed, strip=strip, lexicon=lexicon,
                               lexicon_features=model.lexicon_features)
        info["n_refit"] = len(all_pos)
    covered = {s_ for s_, k in model.scripts.items() if s_ in ("ar", "latin") and k >= min_per_class}
    use_model = has_text & script.isin(covered)
    cal = predict_calibrated(model, raw[use_model])
    # the lexicon route scores only the texts the model does not (the held-out ones are scored already)
    rest = raw.index[~use_model.to_numpy() & ~raw.index.isin(te_idx)]
    lex = pd.concat([lex_te, lexicon_scores(rest)])
    scores = pd.DataFrame({"sentiment": np.nan, "label": None, "method": "calibrated", "note": ""},
                          index=raw.index).astype({"label": "object"})
    scores.loc[lex.index, ["sentiment", "label", "note"]] = lex[["sentiment", "label", "note"]]
    method = np.full(len(raw), "calibrated", dtype=object)
    method[raw.index.get_indexer(lex.index)] = np.where(lex["method"] == "none", "none", "lexicon")
    scores["method"] = method
    scores.loc[use_model, "sentiment"] = cal["sentiment"]
    scores.loc[use_model, "label"] = cal["label"]
    scores.loc[use_model, "method"] = "calibrated"
    scores.loc[use_model, "note"] = ""
    uncovered = has_text & ~use_model & (script != "none")
    scores.loc[uncovered, "note"] = ("lexicon: the model learned from too few texts in this script; "
                                     + scores.loc[uncovered, "note"]).str.rstrip("; ")
    scores = scores.astype(score(pd.Series(["ok"]))[SCORE_COLUMNS].dtypes.to_dict())  # the lexicon route's types
    info.update(n_calibrated=int(use_model.sum()), n_lexicon=int((scores["method"] == "lexicon").sum()),
                n_none=int((scores["method"] == "none").sum()), scripts_covered=sorted(covered))
    return SentimentResult(scores[SCORE_COLUMNS], "calibrated", val, model, info)

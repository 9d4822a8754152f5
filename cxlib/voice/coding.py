"""Voice of the customer: normalize, redact and auto-code free text, then weigh the themes.

Pipeline (each step a pure function from tidy frames to tidy frames)::

    book = compile_codebook(codebook_df, source="data/x/codebook.csv")
    coded = auto_code(verbatims, book)                # verbatim_id, code, theme, valence
    theme_frequency(coded, verbatims, by="source")    # how often each theme comes up
    detractor_themes(coded, verbatims, responses)     # which codes over-index among detractors
    representative_quotes(verbatims, coded, "late_delivery")   # redacted quotes
    theme_by_period(coded, verbatims)                 # theme shares per period (Wilson CI)
    cooccurrence(coded, level="theme")                # themes mentioned together
    conversation_themes(coded, verbatims)             # calls/chats: codes per conversation
    mention_sentiment(verbatims, brands, sentiment)   # social: mean sentiment per brand

Coding is dictionary-based: a code applies to a verbatim when its regular expression (the
English and Arabic patterns of the codebook, joined as alternatives) matches the
*normalized* text (:func:`normalize_text`) and the match is not negated (:func:`is_negated`:
"not late at all", "التوصيل مو متاخر"). It is multi-label: one verbatim can carry several
codes. In call and chat transcripts only the customer's turns are coded. Counts of
verbatims without text (which get no codes) and of excluded turns are reported in
``DataFrame.attrs``, never dropped silently.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from cxlib import paths
from cxlib.exceptions import DataValidationError
from cxlib.quant.multiple import adjust_pvalues
from cxlib.voice import arabic
from cxlib.voice.redact import redact, redact_series  # noqa: F401 (re-exported)

# --- constants ---------------------------------------------------------------------------

#: Arabic folding applied by :func:`normalize_text` (and to codebook patterns): diacritics
#: (harakat U+064B-U+0652, superscript alef U+0670) and tatweel U+0640 removed; hamza/madda/
#: wasla alef forms -> bare alef; taa marbuta -> haa; alef maqsura -> yaa; Arabic-Indic
#: (U+0660-0669) and Extended Arabic-Indic / Persian (U+06F0-06F9) digits -> ASCII.
ARABIC_FOLD: dict[int, int | None] = {
    **{cp: None for cp in range(0x064B, 0x0653)},
    0x0670: None,
    0x0640: None,
    **{ord(c): ord("ا") for c in "أإآٱ"},
    ord("ة"): ord("ه"),
    ord("ى"): ord("ي"),
    **{0x0660 + i: ord(str(i)) for i in range(10)},
    **{0x06F0 + i: ord(str(i)) for i in range(10)},
}

_WS_RE = re.compile(r"\s+")

# Redaction of personal data lives in :mod:`cxlib.voice.redact` (phonenumbers, python-stdnum,
# obfuscated emails, the client's customer ids); coding re-exports redact and redact_series.

_SENTENCE_END_RE = re.compile(r"[.!?؟።…]\s*$")

CODED_COLUMNS = ["verbatim_id", "code", "theme", "valence"]


# --- normalization -----------------------------------------------------------------------


def code_label(code: str) -> str:
    """Reader-facing name of a code: 'late_delivery' -> 'Late delivery'."""
    return str(code).replace("_", " ").strip().capitalize()


def normalize_text(text: str, language: str | None = None) -> str:
    """Normalize one text for matching: lower-case, fold Arabic, unify digits, collapse spaces.

    Parameters
    ----------
    text : str
        Any text (English, Arabic or mixed). ``None``/NaN give ``""``.
    language : {"en", "ar", None}
        Accepted for symmetry with per-language steps (negation is applied by
        :func:`auto_code`, see :func:`is_negated`); the folding is the same for every language because the Arabic rules only touch Arabic code points, so
        mixed-language text is normalized consistently.

    Returns
    -------
    str
        ``text`` lower-cased; Arabic diacritics (U+064B-U+0652, U+0670) and tatweel (U+0640)
        removed; أ إ آ ٱ -> ا, ة -> ه, ى -> ي; Arabic-Indic and Persian digits -> 0-9;
        runs of whitespace -> one space, stripped. See :data:`ARABIC_FOLD`.

    Examples
    --------
    >>> normalize_text("التَّوْصِيل تأخّر كثيــراً")
    'التوصيل تاخر كثيرا'
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ""
    return _WS_RE.sub(" ", str(text).lower().translate(ARABIC_FOLD)).strip()


def normalize_series(s: pd.Series) -> pd.Series:
    """Vectorized :func:`normalize_text` over a Series (missing values stay missing)."""
    s = s.astype("str") if s.dtype != "str" else s
    return (
        s.str.lower()
        .str.translate(ARABIC_FOLD)
        .str.replace(_WS_RE, " ", regex=True)
        .str.strip()
    )


# --- redaction ---------------------------------------------------------------------------


# --- codebook ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CompiledCodebook:
    """A validated codebook with one compiled, case-insensitive regex per code.

    Attributes
    ----------
    table : DataFrame
        code, theme, description, valence, pattern (the combined regex source), examples
        (tuple of example sentences, empty when none), in file order.
    regexes : dict[str, re.Pattern]
        code -> compiled regex, matched with ``re.search`` on normalized text.
    source : str
        Where the codebook came from (used in messages).
    """

    table: pd.DataFrame
    regexes: dict[str, re.Pattern] = field(repr=False)
    source: str = "codebook"
    #: code -> a cheaper regex every text matching ``regexes[code]`` also matches (the patterns
    #: without the clitic boundaries): texts it rejects are not tried with the full regex
    prefilters: dict[str, re.Pattern] = field(default_factory=dict, repr=False)

    @property
    def codes(self) -> list[str]:
        return list(self.table["code"])

    def __len__(self) -> int:
        return len(self.table)


def _blank(v) -> bool:
    return v is None or (not isinstance(v, str) and pd.isna(v)) or not str(v).strip()


def compile_codebook(codebook: pd.DataFrame, source: str = "codebook", *, clitics: bool = True) -> CompiledCodebook:
    """Validate a codebook table and compile one regular expression per code.

    Each code's regex is ``(?:patterns_en)|(?:patterns_ar)`` (blank cells skipped), compiled
    with ``re.IGNORECASE``. Patterns are written in normalized form (see
    :func:`normalize_text`); Arabic letters in patterns are folded the same way as the text
    (no regex metacharacter is affected), so ``تأخر`` in the codebook matches ``تاخر``.

    Arabic patterns are clitic-aware (``clitics=True``, :func:`cxlib.voice.arabic.clitic_pattern`):
    they match whole words with their attached prefixes (و ف ب ك ل ال وال بال فال لل ...)
    and endings (ه ها هم كم نا ي ك ات ين ون ت وا ...), and a stem never matches inside an
    unrelated longer word. ``clitics=False`` keeps the plain substring matching of earlier
    versions. English patterns are used as written (write ``\b`` where a word boundary is
    meant).

    Parameters
    ----------
    codebook : DataFrame
        Columns code, theme, valence, patterns_en, patterns_ar (description optional;
        ``examples`` optional: example sentences of the code separated by `` || ``, used by
        assisted coding as extra training texts).
    source : str
        The file name, quoted in error messages.
    clitics : bool, default True
        Wrap Arabic patterns with clitic-aware word boundaries.

    Raises
    ------
    DataValidationError
        Missing columns; a blank or duplicate code; a code with no pattern; an invalid regex
        or one that matches empty text (it would code every verbatim). Every problem is
        listed at once with ``source``, row (file line: data row + 1 header line), code and
        the fix; ``err.failures`` holds them as a tidy frame.
    """
    required = ["code", "theme", "valence"]
    missing = [c for c in required if c not in codebook.columns]
    if not any(c in codebook.columns for c in ("patterns_en", "patterns_ar")):
        missing.append("patterns_en/patterns_ar")
    if missing:
        raise DataValidationError(
            f"{source}: codebook column(s) {missing} are missing; the codebook needs code, theme, "
            "valence and at least one of patterns_en, patterns_ar."
        )
    df = codebook.reset_index(drop=True)
    problems: list[dict] = []

    def fail(i, code, column, check, fix):
        problems.append(
            {"file": source, "row": i + 2, "code": code, "column": column, "check": check, "fix": fix}
        )

    seen: dict[str, int] = {}
    regexes: dict[str, re.Pattern] = {}
    prefilters: dict[str, re.Pattern] = {}
    combined: list[str | None] = []
    for i, row in enumerate(df.to_dict("records")):
        code = None if _blank(row.get("code")) else str(row["code"]).strip()
        if code is None:
            fail(i, None, "code", "code is empty", "give the row a code or delete it")
            combined.append(None)
            continue
        if code in seen:
            fail(i, code, "code", f"duplicate code (first on row {seen[code] + 2})",
                 "give each code one row; merge the patterns with |")
            combined.append(None)
            continue
        seen[code] = i
        parts, bare = [], []
        for col in ("patterns_en", "patterns_ar"):
            pat = row.get(col)
            if _blank(pat):
                continue
            pat = str(pat).strip().translate(ARABIC_FOLD)
            try:
                re.compile(pat, re.IGNORECASE)
                bare.append(f"(?:{pat})")
                if clitics and col == "patterns_ar":
                    pat = arabic.clitic_pattern(pat)
            except re.error as e:
                fail(i, code, col, f"invalid regular expression {pat!r}: {e}",
                     r"fix the pattern; escape special characters ( ) [ ] . ? * + | with a backslash")
                continue
            parts.append(f"(?:{pat})")
        if not parts:
            if not any(p["row"] == i + 2 for p in problems):
                fail(i, code, "patterns_en/patterns_ar", "no pattern",
                     "add at least one English or Arabic pattern, or delete the code")
            combined.append(None)
            continue
        regex = re.compile("|".join(parts), re.IGNORECASE)
        if regex.search("") is not None:
            fail(i, code, "patterns_en/patterns_ar", f"pattern {regex.pattern!r} matches empty text",
                 "remove the empty alternative (a leading/trailing or doubled |) or the * / ? that makes it optional")
            combined.append(None)
            continue
        regexes[code] = regex
        if bare and "|".join(bare) != regex.pattern:
            prefilters[code] = re.compile("|".join(bare), re.IGNORECASE)
        combined.append(regex.pattern)
    if problems:
        lines = [f"{source}: {len(problems)} problem(s) in the codebook:"]
        lines += [
            f"  - row {p['row']}, code {p['code']!r}, {p['column']}: {p['check']}; {p['fix']}."
            for p in problems
        ]
        raise DataValidationError("\n".join(lines), failures=pd.DataFrame(problems))
    table = pd.DataFrame(
        {
            "code": [str(c).strip() for c in df["code"]],
            "theme": df["theme"].astype("str").to_numpy(),
            "description": df["description"].to_numpy() if "description" in df else np.nan,
            "valence": df["valence"].astype("str").to_numpy(),
            "pattern": combined,
            "examples": [_examples(v) for v in df["examples"]] if "examples" in df else [()] * len(df),
        }
    )
    return CompiledCodebook(table=table, regexes=regexes, source=source, prefilters=prefilters)


#: separator of example sentences in a codebook's ``examples`` cell
EXAMPLE_SEPARATOR = "||"


def _examples(cell) -> tuple[str, ...]:
    if _blank(cell):
        return ()
    return tuple(e.strip() for e in str(cell).split(EXAMPLE_SEPARATOR) if e.strip())


def code_examples(codebook: CompiledCodebook) -> pd.DataFrame:
    """The codebook's example sentences, one row each: code, text (empty when none are given)."""
    rows = [(c, e) for c, ex in zip(codebook.table["code"], codebook.table["examples"], strict=True) for e in ex]
    return pd.DataFrame(rows, columns=["code", "text"]).astype({"code": "str", "text": "str"})


#: the generic bilingual CX codebook shipped with the template (used when a client has none)
GENERIC_CODEBOOK_PATH = paths.ASSETS_DIR / "codebook_generic.csv"


def load_generic_codebook(*, clitics: bool = True) -> CompiledCodebook:
    """The generic bilingual CX codebook (``assets/codebook_generic.csv``), compiled.

    Written for this template from general CX practice (not from any client's or public
    data set's text): the themes most customer text raises (delivery and waiting, price and
    value, staff, product and food quality, app and website, payment and billing, refunds
    and returns, communication, cleanliness, ...), English and Arabic (MSA, Gulf, Egyptian,
    Levantine) patterns, and example sentences. Label it as generic wherever it is used: it
    is a starting point, not the client's own codebook. See ``codebook_generic.md``.
    """
    df = pd.read_csv(GENERIC_CODEBOOK_PATH, dtype="str", keep_default_na=False)
    return compile_codebook(df, source=f"{GENERIC_CODEBOOK_PATH.name} (generic)", clitics=clitics)


# --- negation ----------------------------------------------------------------------------

#: English negators (matched as whole tokens of the normalized text); any token ending in
#: ``n't``/``n’t`` (didn't, wasn't, isn't, can't...) counts too, as do the apostrophe-less
#: spellings customers type (dont, didnt, wasnt...).
NEGATORS_EN: tuple[str, ...] = (
    "not", "no", "never", "without", "cannot",
    "dont", "didnt", "doesnt", "isnt", "wasnt", "werent", "arent", "cant", "wont", "couldnt",
    "wouldnt", "shouldnt", "havent", "hasnt", "hadnt", "aint",
)
#: Arabic negators in normalized form (أبد -> ابد), also with an attached و / ف ("ولا", "وما").
NEGATORS_AR: tuple[str, ...] = (
    "لا", "ما", "مو", "مش", "مب", "ليس", "ليست", "لم", "لن", "غير", "بدون", "ابد", "ابدا",
)
#: function words skipped when counting the negation window, so that "no problem at all with
#: checkout" still sees "no" (the window is 3 *content* tokens, negators included).
NEGATION_SKIP: frozenset[str] = frozenset(
    "a an the at all with in on of to for by about from my our your their his her its it it's "
    "this that these those is was were are be been being am so very too really even just any "
    "i i'm we they he she you me us them there".split()
    + "في من على عن مع الي ان هو هي هم انا احنا كان كانت كانوا يكون تكون صار صارت جدا مره".split()
)
#: words that end a clause: a negator before them does not reach a match after them.
NEGATION_BREAKS: frozenset[str] = frozenset(
    "but however although though yet لكن ولكن بس".split()
)
#: default window: the 3 content tokens before the match
NEGATION_WINDOW = 3

_NEG_ALT = (
    "|".join(sorted(NEGATORS_EN, key=len, reverse=True))
    + r"|\w+n['’]t"
    + "|[وف]?(?:" + "|".join(sorted(NEGATORS_AR, key=len, reverse=True)) + ")"
)
_NEG_TOKEN_RE = re.compile(rf"(?:{_NEG_ALT})")
#: any negator anywhere in a text (the cheap vectorized pre-filter)
_NEG_ANY_RE = re.compile(rf"(?<![\w'’])(?:{_NEG_ALT})(?![\w'’])")
#: tokens (words, with inner apostrophes) and clause punctuation
_TOKEN_RE = re.compile(r"[\w'’]+|[.,;:!?؟،؛()\[\]\"“”]")
_PUNCT = frozenset(".,;:!?؟،؛()[]\"“”")


def _is_negator(token: str) -> bool:
    return _NEG_TOKEN_RE.fullmatch(token) is not None


def is_negated(text: str, start: int, window: int = NEGATION_WINDOW) -> bool:
    """Whether the match starting at ``start`` of a *normalized* text is negated.

    Looks back from ``start`` over at most ``window`` content tokens (function words in
    :data:`NEGATION_SKIP` are passed over, a word partly inside the match is ignored) and
    stops at clause punctuation (. , ; : ! ? ؟ ، ؛) or a clause word (:data:`NEGATION_BREAKS`:
    but, however, لكن, بس...). The match is negated when an odd number of negators
    (:data:`NEGATORS_EN`, any ``n't`` form, :data:`NEGATORS_AR` with an optional و/ف prefix)
    occur in that window: "not late" and "مو متاخر" are negated; "never not late" (a double
    negative), "late, not good" (negator after the match or in another clause) are not.

    Examples
    --------
    >>> is_negated("it was not late at all", 11)
    True
    >>> is_negated("no problem at all with checkout", 23)
    True
    >>> is_negated("no, it was late", 11)
    False
    """
    prefix = text[max(0, start - 300):start]
    tokens = _TOKEN_RE.findall(prefix)
    if tokens and prefix and (prefix[-1].isalnum() or prefix[-1] in "_'’"):
        tokens = tokens[:-1]  # the start of the matched word itself ("م" of "متاخر")
    seen = negators = 0
    for tok in reversed(tokens):
        if tok in _PUNCT or tok in NEGATION_BREAKS:
            break
        if _is_negator(tok):
            negators += 1
        elif tok in NEGATION_SKIP:
            continue
        seen += 1
        if seen >= window:
            break
    return negators % 2 == 1


def _any_unnegated(text: str, regex: re.Pattern, window: int) -> bool:
    return any(not is_negated(text, m.start(), window) for m in regex.finditer(text))


# --- auto-coding -------------------------------------------------------------------------


def _contains(norm: pd.Series, regex: re.Pattern) -> np.ndarray:
    with warnings.catch_warnings():
        # codebook authors may group alternatives with ( ); pandas warns about match groups
        warnings.filterwarnings("ignore", "This pattern is interpreted as a regular expression")
        return norm.str.contains(regex, na=False).to_numpy(dtype=bool)


def _speaker_keep(verbatims: pd.DataFrame, speakers: Sequence[str] | None) -> np.ndarray:
    """Rows to code: every row without a speaker, and turns of the listed speakers."""
    if speakers is None or "speaker" not in verbatims.columns:
        return np.ones(len(verbatims), dtype=bool)
    sp = verbatims["speaker"]
    wanted = {str(s).strip().lower() for s in speakers}
    return (sp.isna() | sp.astype("str").str.strip().str.lower().isin(wanted)).to_numpy(dtype=bool)


def match_matrix(
    texts: pd.Series,
    codebook: CompiledCodebook,
    *,
    negation: bool = True,
    negation_window: int = NEGATION_WINDOW,
) -> pd.DataFrame:
    """Which codes' patterns match each text: a boolean frame (texts' index x codes).

    The matching rule of :func:`auto_code` (normalized text, clitic-aware Arabic patterns,
    a match of a positive or negative code dropped when negated) without the verbatim
    bookkeeping, for any Series of raw texts; assisted coding uses it as features. Codes of
    valence "neutral" (a topic or aspect such as "ambience") are never negated: "not noisy"
    is still about the ambience. Each distinct normalized text is matched once. Empty or
    missing texts match nothing.

    Returns
    -------
    DataFrame
        bool, one column per code in codebook order. ``attrs``: n_negated (texts whose
        code was dropped because every match was negated, counted per text and code),
        has_text (bool array: the text is not empty).
    """
    norm_all = normalize_series(texts).fillna("")
    # codes depend on the normalized text only: code each distinct text once
    inverse, uniq = pd.factorize(norm_all, use_na_sentinel=False)
    norm = pd.Series(np.asarray(uniq, dtype=object), dtype="str")
    has_text = norm.str.len().to_numpy() > 0
    codes = codebook.codes
    masks = np.zeros((len(norm), len(codes)), dtype=bool)
    n_negated = 0
    has_neg = _contains(norm, _NEG_ANY_RE) if (negation and codes) else None
    neutral = dict(zip(codebook.table["code"], codebook.table["valence"].str.strip().str.lower() == "neutral",
                       strict=True))
    for j, code in enumerate(codes):
        regex = codebook.regexes[code]
        pre = codebook.prefilters.get(code)
        if pre is None:
            mask = _contains(norm, regex) & has_text
        else:
            mask = _contains(norm, pre) & has_text
            cand = np.flatnonzero(mask)
            if len(cand):
                mask[cand] = _contains(norm.iloc[cand], regex)
        if negation and not neutral.get(code, False):
            check = np.flatnonzero(mask & has_neg)
            if len(check):
                values = norm.to_numpy()[check]
                ok = np.fromiter((_any_unnegated(t, regex, negation_window) for t in values),
                                 dtype=bool, count=len(check))
                mask[check[~ok]] = False
                n_negated += int(np.isin(inverse, check[~ok]).sum())
        masks[:, j] = mask
    out = pd.DataFrame(masks[inverse], index=texts.index, columns=list(codes))
    out.attrs.update(n_negated=n_negated, has_text=has_text[inverse])
    return out


def auto_code(
    verbatims: pd.DataFrame,
    codebook: CompiledCodebook,
    text_col: str = "text",
    *,
    negation: bool = True,
    negation_window: int = NEGATION_WINDOW,
    speakers: Sequence[str] | None = ("customer",),
) -> pd.DataFrame:
    """Apply the codebook to every verbatim (multi-label, vectorized per code).

    Parameters
    ----------
    verbatims : DataFrame
        Needs ``verbatim_id`` and ``text_col``; ``speaker`` is used when present.
    codebook : CompiledCodebook
        From :func:`compile_codebook`.
    negation : bool, default True
        Drop a match that is negated (:func:`is_negated`): a negator ("not", "no", "never",
        "without", any "n't" form; لا ما مو مش ليس لم لن غير بدون ابد) among the 3 content
        tokens before the matched text, in the same clause. "not late at all" is not
        coded late, "it was late, not good" is. Codes of valence "neutral" (topics) are
        never negated. A code applies when *any* of its matches in
        the text is not negated. Negators inside a pattern ("ما وصل", "not resolved") are
        part of the match and never block it. Only texts that match a code *and* contain a
        negator are checked one by one, so the cost stays close to the plain regex pass.
    negation_window : int, default 3
        Content tokens looked back over for a negator.
    speakers : sequence of str or None, default ("customer",)
        Where a ``speaker`` column exists (call and chat transcripts), code only these
        speakers' turns (agent turns are excluded and counted); rows with no speaker
        (surveys, social, reviews) are always coded. None codes every row.

    Returns
    -------
    DataFrame
        Long format, one row per (verbatim, code) match: verbatim_id, code, theme, valence;
        ordered by verbatim (input order) then codebook order. Empty/missing text gets no
        codes. ``attrs``: n_verbatims (all rows), n_excluded_speaker (turns of other
        speakers, not coded), n_with_text and n_without_text (among the coded rows),
        n_coded (verbatims with at least one code), n_uncoded (with text but no code),
        n_negated (verbatim-code pairs dropped because every match was negated).
    """
    for col in ("verbatim_id", text_col):
        if col not in verbatims.columns:
            raise DataValidationError(f"verbatims: column {col!r} is missing; auto_code needs verbatim_id and {text_col}.")
    keep = _speaker_keep(verbatims, speakers)
    v = verbatims[keep] if not keep.all() else verbatims
    ids = v["verbatim_id"].to_numpy()
    masks = match_matrix(v[text_col], codebook, negation=negation, negation_window=negation_window)
    n_negated = masks.attrs["n_negated"]
    has_text = masks.attrs["has_text"]
    masks = masks.to_numpy()
    rows, cols = np.nonzero(masks)  # row-major: verbatim order, then codebook order
    tab = codebook.table
    out = pd.DataFrame(
        {
            "verbatim_id": pd.Series(ids[rows], dtype="str"),
            "code": pd.Series(tab["code"].to_numpy()[cols], dtype="str"),
            "theme": pd.Series(tab["theme"].to_numpy()[cols], dtype="str"),
            "valence": pd.Series(tab["valence"].to_numpy()[cols], dtype="str"),
        }
    )
    n_coded = int(masks.any(axis=1).sum())
    out.attrs.update(
        n_verbatims=len(verbatims),
        n_excluded_speaker=int((~keep).sum()),
        n_with_text=int(has_text.sum()),
        n_without_text=int((~has_text).sum()),
        n_coded=n_coded,
        n_uncoded=int(has_text.sum()) - n_coded,
        n_negated=n_negated,
    )
    return out


# --- frequencies and drivers -------------------------------------------------------------


def _has_text(verbatims: pd.DataFrame, text_col: str = "text") -> pd.Series:
    t = verbatims[text_col]
    return t.notna() & (t.astype("str").str.strip().str.len() > 0)


#: label of the group of verbatims whose breakdown column is empty
MISSING_GROUP = "(missing)"


def base_verbatims(verbatims: pd.DataFrame, text_col: str, speakers: Sequence[str] | None) -> pd.DataFrame:
    """The verbatims auto-coding looks at: with text, and (transcripts) the listed speakers."""
    return verbatims[_has_text(verbatims, text_col).to_numpy() & _speaker_keep(verbatims, speakers)]


def _group_column(s: pd.Series, missing_label: str | None) -> pd.Series:
    if missing_label is None:
        return s
    return s.astype("object").where(s.notna(), missing_label)


def theme_shares(coded: pd.DataFrame, verbatims: pd.DataFrame, *, confidence: float = 0.95,
                 min_base: int = 30) -> pd.DataFrame:
    """Each theme's share of all the texts, with its Wilson interval, most mentioned first.

    :func:`theme_frequency` over every text (``level="theme"``) plus ``ci_low``, ``ci_high``
    (Wilson 1927, :func:`cxlib.journey.evidence.wilson`) and ``small_base`` (``base < min_base``).
    """
    from cxlib.journey.evidence import wilson

    f = theme_frequency(coded, verbatims, level="theme").sort_values(["share", "theme"], ascending=[False, True])
    lo, hi = wilson(f["n_mentions"].to_numpy(), f["base"].to_numpy(), confidence)
    return f.assign(ci_low=lo, ci_high=hi, small_base=f["base"] < min_base).reset_index(drop=True)


def theme_frequency(
    coded: pd.DataFrame,
    verbatims: pd.DataFrame,
    by: str | None = None,
    *,
    level: str = "code",
    text_col: str = "text",
    speakers: Sequence[str] | None = ("customer",),
    missing_label: str | None = MISSING_GROUP,
) -> pd.DataFrame:
    """How often each code (or theme) is mentioned, overall or per group.

    ``share = n_mentions / base`` where n_mentions counts distinct verbatims mentioning the
    code (theme: any of its codes) and base counts verbatims with text in the group (for
    transcripts, only the turns of ``speakers``, as in :func:`auto_code`).
    Because coding is multi-label, shares do not sum to 1.

    Parameters
    ----------
    coded : DataFrame
        From :func:`auto_code`. Only codes that occur are listed.
    verbatims : DataFrame
        The verbatims that were coded (defines the bases and the groups).
    by : str, optional
        A column of ``verbatims`` to break down by (e.g. "source", "touchpoint", "segment",
        "language", "period"). Verbatims with no value (a survey comment without a
        touchpoint, a social mention without a known customer, hence no segment) form their
        own group, labelled ``missing_label`` ("(missing)"; None keeps it as NaN).
    level : {"code", "theme"}
        One row per code (with its theme and valence) or one per theme.
    speakers : sequence of str or None, default ("customer",)
        Transcript turns counted in the bases (match what :func:`auto_code` coded).

    Returns
    -------
    DataFrame
        [by,] theme, [code, valence,] n_mentions, base, share; sorted by group, then
        n_mentions descending. ``attrs["n_coded_not_in_verbatims"]`` counts coded rows whose
        verbatim is not in the base (not counted).
    """
    if level not in ("code", "theme"):
        raise ValueError(f"level must be 'code' or 'theme', not {level!r}")
    if by is not None and by not in verbatims.columns:
        raise ValueError(f"verbatims has no column {by!r} to break down by; choose one of {list(verbatims.columns)}")
    v = base_verbatims(verbatims, text_col, speakers)[["verbatim_id"] + ([by] if by else [])]
    keys = [by] if by else []
    if by:
        v = v.assign(**{by: _group_column(v[by], missing_label)})
        bases = v.groupby(by, dropna=False).size().rename("base").reset_index()
    else:
        bases = pd.DataFrame({"base": [len(v)]})
    m = coded.merge(v, on="verbatim_id", how="inner")
    unit = ["theme", "code", "valence"] if level == "code" else ["theme"]
    counts = (
        m.drop_duplicates(keys + unit + ["verbatim_id"])
        .groupby(keys + unit, dropna=False)
        .size()
        .rename("n_mentions")
        .reset_index()
    )
    out = counts.merge(bases, on=keys, how="left") if by else counts.assign(base=len(v))
    out["share"] = out["n_mentions"] / out["base"]
    out = out.sort_values(keys + ["n_mentions", unit[-1]], ascending=[True] * len(keys) + [False, True])
    out = out.reset_index(drop=True)[keys + unit + ["n_mentions", "base", "share"]]
    out.attrs["n_coded_not_in_verbatims"] = int((~coded["verbatim_id"].isin(v["verbatim_id"])).sum())
    return out


def theme_by_period(
    coded: pd.DataFrame,
    verbatims: pd.DataFrame,
    level: str = "theme",
    *,
    period_col: str = "period",
    confidence: float = 0.95,
    min_base: int = 30,
    text_col: str = "text",
    speakers: Sequence[str] | None = ("customer",),
) -> pd.DataFrame:
    """Share of texts mentioning each theme (or code) per period, with a Wilson interval.

    For trend charts: every theme (code) that occurs in ``coded`` appears in every period,
    zeros included. ``share = n_mentions / base``, base = verbatims with text in the period
    (transcripts: ``speakers``' turns, as in :func:`auto_code`); ``ci_low``/``ci_high`` are
    the Wilson score interval at ``confidence`` (:func:`_wilson`); ``small_base`` flags
    periods with fewer than ``min_base`` texts. Verbatims with no period are left out
    (``attrs["n_no_period"]``).

    Parameters
    ----------
    period_col : str
        Period labels in ``verbatims`` (``cxlib.data.engine.verbatims`` adds ``period``); labels
        sort in time order ("2026Q1" < "2026Q2").

    Returns
    -------
    DataFrame
        period, theme, [code, valence,] n_mentions, base, share, ci_low, ci_high,
        small_base; sorted by theme (code), then period.
    """
    if level not in ("code", "theme"):
        raise ValueError(f"level must be 'code' or 'theme', not {level!r}")
    if period_col not in verbatims.columns:
        raise ValueError(
            f"verbatims has no column {period_col!r}; add period labels first, e.g. "
            f"verbatims['{period_col}'] = cxlib.data.periods.label_of(verbatims['verbatim_time']) "
            "(cxlib.data.engine.verbatims adds 'period')."
        )
    v = base_verbatims(verbatims, text_col, speakers)
    no_period = v[period_col].isna()
    v = v.loc[~no_period, ["verbatim_id", period_col]].rename(columns={period_col: "period"})
    v["period"] = v["period"].astype("str")
    bases = v.groupby("period").size().rename("base")
    unit = ["theme", "code", "valence"] if level == "code" else ["theme"]
    units = coded[unit].drop_duplicates().sort_values(unit).reset_index(drop=True)
    m = coded[["verbatim_id"] + unit].merge(v, on="verbatim_id").drop_duplicates(["period", "verbatim_id"] + unit)
    counts = m.groupby(["period"] + unit).size().rename("n_mentions").reset_index()
    grid = units.merge(pd.DataFrame({"period": sorted(bases.index)}), how="cross")
    out = grid.merge(counts, on=["period"] + unit, how="left")
    out["n_mentions"] = out["n_mentions"].fillna(0).astype(int)
    out["base"] = out["period"].map(bases).astype(int)
    out["share"] = out["n_mentions"] / out["base"]
    out["ci_low"], out["ci_high"] = _wilson(out["n_mentions"], out["base"], confidence)
    out["small_base"] = out["base"] < min_base
    out = out.sort_values(unit + ["period"]).reset_index(drop=True)
    out = out[["period"] + unit + ["n_mentions", "base", "share", "ci_low", "ci_high", "small_base"]]
    out.attrs.update(n_no_period=int(no_period.sum()), confidence=confidence)
    return out


def conversation_themes(
    coded: pd.DataFrame,
    verbatims: pd.DataFrame,
    *,
    speakers: Sequence[str] | None = ("customer",),
    text_col: str = "text",
) -> pd.DataFrame:
    """Themes per call or chat conversation: one row per (conversation, code).

    A transcript is one verbatim per turn; a conversation mentions a code when any of its
    customer turns (``speakers``) carries it. Conversation attributes (source, touchpoint,
    customer_id, period) are taken from its first turn with a value (by ``verbatim_time``
    when present, else input order); columns missing from ``verbatims`` are left empty.

    Returns
    -------
    DataFrame
        conversation_id, code, theme, valence, n_turns (customer turns mentioning the
        code), n_customer_turns (customer turns with text in the conversation), source,
        touchpoint, customer_id, period; sorted by conversation_id then codebook order of
        ``coded``. ``attrs``: n_conversations (with at least one customer turn with text),
        n_with_code (of those, conversations with at least one code), n_turns (customer
        turns with text).
    """
    cols = ["conversation_id", "code", "theme", "valence", "n_turns", "n_customer_turns",
            "source", "touchpoint", "customer_id", "period"]
    if "conversation_id" not in verbatims.columns:
        raise DataValidationError(
            "verbatims: column 'conversation_id' is missing; call and chat transcripts need the "
            "conversation each turn belongs to."
        )
    v = base_verbatims(verbatims, text_col, speakers)
    v = v[v["conversation_id"].notna()]
    if "verbatim_time" in v.columns:
        v = v.sort_values("verbatim_time", kind="stable")
    attrs_cols = ["source", "touchpoint", "customer_id", "period"]
    conv = v.groupby("conversation_id", sort=True).agg(
        n_customer_turns=("verbatim_id", "size"),
        **{c: (c, "first") for c in attrs_cols if c in v.columns},
    )
    order = {c: i for i, c in enumerate(coded["code"].drop_duplicates())}
    hits = coded[["verbatim_id", "code", "theme", "valence"]].drop_duplicates(["verbatim_id", "code"]).merge(
        v[["verbatim_id", "conversation_id"]], on="verbatim_id"
    )
    out = (
        hits.groupby(["conversation_id", "code", "theme", "valence"]).size().rename("n_turns").reset_index()
        .merge(conv, left_on="conversation_id", right_index=True, how="left")
    )
    out["_o"] = out["code"].map(order)
    out = out.sort_values(["conversation_id", "_o"]).reset_index(drop=True)
    out = out.reindex(columns=cols)
    out["n_turns"] = out["n_turns"].astype(int)
    out["n_customer_turns"] = out["n_customer_turns"].astype(int)
    out.attrs.update(
        n_conversations=len(conv),
        n_with_code=int(out["conversation_id"].nunique()),
        n_turns=int(conv["n_customer_turns"].sum()),
    )
    return out


def cooccurrence(
    coded: pd.DataFrame,
    level: str = "theme",
    min_count: int = 1,
    *,
    n_base: int | None = None,
) -> pd.DataFrame:
    """Which themes (codes) are mentioned together in the same verbatim.

    Unit: a verbatim. The base ``N`` is the number of distinct verbatims in ``coded`` (coded
    verbatims, i.e. with at least one code) unless ``n_base`` is given (e.g. all verbatims
    with text, ``coded.attrs["n_with_text"]``). For each unordered pair a, b (a < b):
    ``n_both`` verbatims carry both, ``n_a`` and ``n_b`` carry each;
    ``jaccard = n_both / (n_a + n_b - n_both)``;
    ``lift = P(a and b) / (P(a) P(b)) = n_both * N / (n_a * n_b)`` (1 = as often as
    chance; above 1, mentioned together more often than independence predicts). Lift
    depends on the base; with the coded-verbatims base it is lower than with all texts.

    Returns
    -------
    DataFrame
        a, b, n_both, n_a, n_b, jaccard, lift; pairs with ``n_both >= min_count``
        (``min_count=0`` lists every pair), sorted by n_both descending (then a, b). ``attrs["n_base"]`` = N.
    """
    if level not in ("code", "theme"):
        raise ValueError(f"level must be 'code' or 'theme', not {level!r}")
    cols = ["a", "b", "n_both", "n_a", "n_b", "jaccard", "lift"]
    pairs = coded[["verbatim_id", level]].drop_duplicates()
    n = int(pairs["verbatim_id"].nunique()) if n_base is None else int(n_base)
    if n_base is not None and n_base < pairs["verbatim_id"].nunique():
        raise ValueError(f"n_base ({n_base}) is smaller than the number of coded verbatims "
                         f"({pairs['verbatim_id'].nunique()}).")
    labels = np.array(sorted(pairs[level].astype("str").unique()))
    if len(labels) < 2:
        out = pd.DataFrame({c: pd.Series(dtype="float" if c in ("jaccard", "lift") else "int") for c in cols})
        out["a"] = out["a"].astype("str")
        out["b"] = out["b"].astype("str")
        out.attrs["n_base"] = n
        return out
    from scipy import sparse

    vi = pd.factorize(pairs["verbatim_id"])[0]
    ci = np.searchsorted(labels, pairs[level].astype("str").to_numpy())
    x = sparse.csr_matrix((np.ones(len(pairs), dtype=np.int64), (vi, ci)), shape=(vi.max() + 1, len(labels)))
    co = (x.T @ x).toarray()
    n_each = np.diag(co)
    ia, ib = np.triu_indices(len(labels), k=1)
    both = co[ia, ib]
    out = pd.DataFrame({"a": labels[ia], "b": labels[ib], "n_both": both, "n_a": n_each[ia], "n_b": n_each[ib]})
    out = out[out["n_both"] >= min_count]
    out["jaccard"] = out["n_both"] / (out["n_a"] + out["n_b"] - out["n_both"])
    out["lift"] = out["n_both"] * n / (out["n_a"] * out["n_b"])
    out = out.sort_values(["n_both", "a", "b"], ascending=[False, True, True]).reset_index(drop=True)
    out.attrs["n_base"] = n
    return out[cols]


def _survey_comments(coded, verbatims, responses, text_col="text"):
    """Survey comments with text joined to relationship NPS; plus exclusion counts."""
    need = {"verbatim_id", "source", "response_id", text_col}
    if not need <= set(verbatims.columns):
        raise DataValidationError(
            f"verbatims: column(s) {sorted(need - set(verbatims.columns))} missing; survey comments "
            "need response_id to be joined to their survey response."
        )
    v = verbatims.loc[(verbatims["source"] == "survey") & _has_text(verbatims, text_col),
                      ["verbatim_id", "response_id"]]
    from cxlib.quant.metrics import in_scope

    r = responses.loc[in_scope(responses, "relationship") & responses["nps"].notna(), ["response_id", "nps"]]
    j = v.merge(r, on="response_id", how="inner")
    j["nps"] = j["nps"].astype(float)
    j["group"] = np.select([j["nps"] <= 6, j["nps"] >= 9], ["detractor", "promoter"], "passive")
    info = {
        "n_survey_comments": len(v),
        "n_not_matched": len(v) - len(j),  # no response_id or no relationship NPS
        "n_matched": len(j),
    }
    return j, info


def _wilson(k, n, confidence=0.95):
    """Wilson score interval for k successes in n (vectorized; NaN where n == 0).

    ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``, z = Φ⁻¹((1+confidence)/2)
    (Wilson 1927; Agresti & Coull 1998).
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf((1 + confidence) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def detractor_themes(
    coded: pd.DataFrame,
    verbatims: pd.DataFrame,
    responses: pd.DataFrame,
    *,
    alpha: float = 0.05,
    adjust: str | None = "holm",
    text_col: str = "text",
) -> pd.DataFrame:
    """Which codes are over-represented in detractors' comments compared with promoters'.

    Survey verbatims (source "survey", with text) are joined on ``response_id`` to
    relationship responses with an NPS. Detractors score 0-6, promoters 9-10; passives
    (7-8) are left out of the comparison (counted in ``attrs``).

    For each code: ``share_detractors = mentions_detractors / n_detractors`` (likewise for
    promoters); ``difference = 100 * (share_detractors - share_promoters)`` in percentage
    points; ``lift = share_detractors / share_promoters`` (inf when only detractors mention
    it, NaN when neither group does); ``p_value`` from Fisher's exact test (two-sided) on
    the 2x2 table [[mentions_det, n_det - mentions_det], [mentions_pro, n_pro - mentions_pro]]
    (``scipy.stats.fisher_exact``); ``p_adjusted`` corrects for testing every code
    (Holm 1979 by default, ``adjust=None`` for none); ``significant = p_adjusted < alpha``.
    ``rank`` 1 = largest difference (ties: smaller p, then code).

    Returns
    -------
    DataFrame
        label, code, theme, valence, n_detractors, n_promoters, mentions_detractors,
        mentions_promoters, share_detractors, share_promoters, difference, lift, p_value,
        p_adjusted, significant, rank; sorted by rank. ``attrs``: n_survey_comments,
        n_not_matched, n_matched, n_passives.
    """
    j, info = _survey_comments(coded, verbatims, responses, text_col)
    dp = j[j["group"] != "passive"]
    n_det = int((dp["group"] == "detractor").sum())
    n_pro = int((dp["group"] == "promoter").sum())
    codes = coded[["code", "theme", "valence"]].drop_duplicates("code").reset_index(drop=True)
    hits = coded[["verbatim_id", "code"]].drop_duplicates().merge(dp[["verbatim_id", "group"]], on="verbatim_id")
    tab = hits.groupby(["code", "group"]).size().unstack("group")
    tab = tab.reindex(index=codes["code"], columns=["detractor", "promoter"]).fillna(0).astype(int)
    out = codes.copy()
    out.insert(0, "label", out["code"].map(code_label))
    out["n_detractors"] = n_det
    out["n_promoters"] = n_pro
    out["mentions_detractors"] = tab["detractor"].to_numpy()
    out["mentions_promoters"] = tab["promoter"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_detractors"] = out["mentions_detractors"] / n_det if n_det else np.nan
        out["share_promoters"] = out["mentions_promoters"] / n_pro if n_pro else np.nan
        out["difference"] = 100 * (out["share_detractors"] - out["share_promoters"])
        out["lift"] = out["share_detractors"].to_numpy() / out["share_promoters"].to_numpy()
    out.loc[(out["share_detractors"] == 0) & (out["share_promoters"] == 0), "lift"] = np.nan
    if n_det and n_pro:
        out["p_value"] = [
            stats.fisher_exact([[a, n_det - a], [b, n_pro - b]])[1]
            for a, b in zip(out["mentions_detractors"], out["mentions_promoters"], strict=True)
        ]
    else:
        out["p_value"] = np.nan
    out["p_adjusted"] = adjust_pvalues(out["p_value"].to_numpy(), adjust)
    out["significant"] = (out["p_adjusted"] < alpha).to_numpy(dtype=bool)
    out = out.sort_values(["difference", "p_value", "code"], ascending=[False, True, True], na_position="last")
    out["rank"] = np.arange(1, len(out) + 1)
    out = out.reset_index(drop=True)
    out.attrs.update(info, n_passives=int((j["group"] == "passive").sum()))
    return out


def _nps(scores: pd.Series) -> float:
    """NPS = 100 * (share 9-10 - share 0-6); NaN for no scores."""
    if len(scores) == 0:
        return np.nan
    return 100 * ((scores >= 9).mean() - (scores <= 6).mean())


def nps_by_mention(
    coded: pd.DataFrame, verbatims: pd.DataFrame, responses: pd.DataFrame, *, text_col: str = "text"
) -> pd.DataFrame:
    """NPS of respondents who mention each code vs respondents who commented but do not.

    Unit: relationship respondents (``response_id``) with a survey comment and an NPS; a
    respondent mentions a code when any of their comments carries it.
    ``NPS = 100 * (share of 9-10 - share of 0-6)``.

    Returns
    -------
    DataFrame
        code, theme, valence, nps_mention, n_mention, nps_no_mention, n_no_mention,
        difference (nps_mention - nps_no_mention, NPS points); sorted by difference
        ascending (codes with the lowest NPS first). ``attrs`` as in :func:`detractor_themes`.
    """
    j, info = _survey_comments(coded, verbatims, responses, text_col)
    resp = j.drop_duplicates("response_id").set_index("response_id")["nps"]
    mentions = coded[["verbatim_id", "code"]].merge(j[["verbatim_id", "response_id"]], on="verbatim_id")
    codes = coded[["code", "theme", "valence"]].drop_duplicates("code").reset_index(drop=True)
    rows = []
    for code in codes["code"]:
        ids = mentions.loc[mentions["code"] == code, "response_id"].unique()
        inside = resp.index.isin(ids)
        rows.append((_nps(resp[inside]), int(inside.sum()), _nps(resp[~inside]), int((~inside).sum())))
    stats_df = pd.DataFrame(rows, columns=["nps_mention", "n_mention", "nps_no_mention", "n_no_mention"])
    out = pd.concat([codes, stats_df], axis=1)
    out["difference"] = out["nps_mention"] - out["nps_no_mention"]
    out = out.sort_values(["difference", "code"], na_position="last").reset_index(drop=True)
    out.attrs.update(info)
    return out


# --- quotes and share of voice -----------------------------------------------------------


def representative_quotes(
    verbatims: pd.DataFrame,
    coded: pd.DataFrame,
    code: str,
    *,
    n: int = 2,
    languages: Sequence[str] = ("en", "ar"),
    min_words: int = 4,
    text_col: str = "text",
) -> pd.DataFrame:
    """Up to ``n`` redacted quotes per language for one code, chosen deterministically.

    Candidates are customer text (agent turns excluded) carrying ``code``. They are ordered
    by (1) typicality: fewest codes on the verbatim first (a comment about this code alone
    speaks for it best); (2) completeness: at least ``min_words`` words and, preferably,
    ending like a sentence; (3) length, shortest first; (4) verbatim_id. No randomness:
    the same data give the same quotes.

    Returns
    -------
    DataFrame
        code, language, text (redacted with :func:`redact_series`), source, touchpoint,
        verbatim_id; languages in the order given.
    """
    cols = ["code", "language", "text", "source", "touchpoint", "verbatim_id"]
    ids = coded.loc[coded["code"] == code, "verbatim_id"].unique()
    v = verbatims[verbatims["verbatim_id"].isin(ids) & _has_text(verbatims, text_col)]
    if "speaker" in v.columns:
        v = v[v["speaker"].fillna("customer") != "agent"]
    v = v[v["language"].isin(list(languages))]
    if v.empty:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in cols})
    n_codes = coded.groupby("verbatim_id").size()
    text = v[text_col].astype("str").str.strip()
    cand = pd.DataFrame(
        {
            "verbatim_id": v["verbatim_id"].astype("str"),
            "language": v["language"],
            "text": text,
            "source": v["source"] if "source" in v else pd.NA,
            "touchpoint": v["touchpoint"] if "touchpoint" in v else pd.NA,
            "n_codes": v["verbatim_id"].map(n_codes).fillna(1).astype(int),
            "incomplete": (text.str.split().str.len() < min_words).astype(int),
            "no_stop": (~text.str.contains(_SENTENCE_END_RE)).astype(int),
            "length": text.str.len(),
        }
    )
    cand["lang_order"] = cand["language"].map({lang: i for i, lang in enumerate(languages)})
    cand = cand.sort_values(["lang_order", "n_codes", "incomplete", "no_stop", "length", "verbatim_id"])
    # the same words said twice are one quote: keep the first (best-ranked) occurrence
    cand = cand[~cand.assign(_t=text.str.strip().str.lower())
                .duplicated(["language", "_t"])] if len(cand) else cand
    out = cand.groupby("language", sort=False).head(n).copy()
    out["text"] = redact_series(out["text"])
    out["code"] = code
    return out[cols].reset_index(drop=True)


def _social_mentions(verbatims: pd.DataFrame, brands: list[str], period_col: str | None):
    """Social mentions with the listed brand each names (case-insensitive; NaN = another
    brand) and its period, after checking the inputs: ``(mentions, brand, period)``."""
    if "brand" not in verbatims.columns:
        raise DataValidationError("verbatims: column 'brand' is missing; social mentions need the brand they mention.")
    if period_col is not None and period_col not in verbatims.columns:
        raise ValueError(
            f"verbatims has no column {period_col!r}; add period labels first, e.g. "
            f"verbatims['{period_col}'] = cxlib.data.periods.label_of(verbatims['verbatim_time']), "
            "or pass period_col=None."
        )
    if not brands:
        raise ValueError("brands is empty; pass the client's brand and its competitors.")

    soc = verbatims[verbatims["source"] == "social"]
    canon = {str(b).strip().casefold(): b for b in brands}
    brand = soc["brand"].astype("str").str.strip().str.casefold().map(canon)
    period = soc[period_col].astype("str") if period_col else pd.Series("all", index=soc.index)
    return soc, brand, period


def mention_share(
    verbatims: pd.DataFrame,
    brands: list[str],
    period_col: str | None = "period",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Share of voice: each brand's share of social mentions per period, with Wilson CI.

    Social mentions are verbatims with ``source == "social"``; the ``brand`` column names the
    brand mentioned (matched case-insensitively to ``brands``). ``total`` is the number of
    mentions of any of the listed brands in the period, so shares sum to 1 per period;
    ``share = mentions / total``; ``ci_low``, ``ci_high``: Wilson score interval at
    ``confidence`` (see :func:`_wilson`).

    Parameters
    ----------
    period_col : str or None
        Column of period labels (e.g. "2026Q3"); add it first, e.g. with
        ``cxlib.data.periods.label_of(verbatims.verbatim_time)``. None = one period, "all".

    Returns
    -------
    DataFrame
        brand, period, mentions, total, share, ci_low, ci_high: every brand in every period
        (0 mentions included), brands in the order given. ``attrs``: n_social,
        n_other_brand (social mentions of no listed brand, not counted).
    """
    soc, brand, period = _social_mentions(verbatims, brands, period_col)
    tracked = pd.DataFrame({"brand": brand, "period": period})[brand.notna()]
    periods = sorted(tracked["period"].unique())
    grid = pd.MultiIndex.from_product([list(brands), periods], names=["brand", "period"])
    counts = tracked.groupby(["brand", "period"]).size().reindex(grid, fill_value=0)
    out = counts.rename("mentions").reset_index()
    out["total"] = out["period"].map(tracked.groupby("period").size()).astype(int)
    out["share"] = out["mentions"] / out["total"]
    out["ci_low"], out["ci_high"] = _wilson(out["mentions"], out["total"], confidence)
    out.attrs.update(n_social=len(soc), n_other_brand=int(brand.isna().sum()))
    return out


def mention_sentiment(
    verbatims: pd.DataFrame,
    brands: list[str],
    sentiment: pd.Series,
    period_col: str | None = "period",
    *,
    confidence: float = 0.95,
    min_n: int = 30,
) -> pd.DataFrame:
    """Mean sentiment of social mentions per brand and period, with a t interval.

    Social mentions (``source == "social"``) are matched to ``brands`` as in
    :func:`mention_share`. ``sentiment`` is one score per verbatim (e.g. -1..1, from the
    sentiment module), aligned on ``verbatims``' index; mentions without a score are left
    out and counted. ``mean`` is the mean score, ``sd`` the sample standard deviation
    (ddof=1), and ``ci_low``/``ci_high`` = ``mean -/+ t(n-1) * sd / sqrt(n)`` with t the
    Student quantile at ``(1 + confidence) / 2`` (NaN for n < 2); ``small_base`` flags
    n < ``min_n``.

    Returns
    -------
    DataFrame
        brand, period, n, mean, sd, ci_low, ci_high, small_base: every brand in every
        period with mentions (n = 0 and NaN mean where a brand has none), brands in the
        order given. ``attrs``: n_social, n_other_brand, n_no_sentiment.
    """
    soc, brand, period = _social_mentions(verbatims, brands, period_col)
    if not isinstance(sentiment, pd.Series):
        raise TypeError("sentiment must be a pandas Series aligned on the verbatims' index.")
    if not sentiment.index.is_unique:
        raise ValueError("sentiment has a duplicated index; it must hold one score per verbatim row.")
    missing_idx = ~soc.index.isin(sentiment.index)
    if len(soc) and missing_idx.all():
        raise ValueError(
            "sentiment's index does not match the verbatims' index (no social mention found in it); "
            "compute it on the same frame, e.g. sentiment = score(verbatims), without resetting the index."
        )
    score = pd.to_numeric(sentiment.reindex(soc.index), errors="coerce")
    tracked = pd.DataFrame({"brand": brand, "period": period, "score": score})[brand.notna()]
    periods = sorted(tracked["period"].unique())
    scored = tracked[tracked["score"].notna()]
    grid = pd.MultiIndex.from_product([list(brands), periods], names=["brand", "period"])
    g = scored.groupby(["brand", "period"])["score"]
    out = pd.DataFrame({"n": g.size(), "mean": g.mean(), "sd": g.std(ddof=1)}).reindex(grid)
    out["n"] = out["n"].fillna(0).astype(int)
    out = out.reset_index()
    t = stats.t.ppf((1 + confidence) / 2, np.maximum(out["n"] - 1, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        half = np.where(out["n"] >= 2, t * out["sd"] / np.sqrt(out["n"]), np.nan)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    out["small_base"] = out["n"] < min_n
    out.attrs.update(n_social=len(soc), n_other_brand=int(brand.isna().sum()),
                     n_no_sentiment=int(tracked["score"].isna().sum()))
    return out[["brand", "period", "n", "mean", "sd", "ci_low", "ci_high", "small_base"]]

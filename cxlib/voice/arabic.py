"""Arabic clitics: the prefixes and suffixes a word may carry, for matching and lookups.

Arabic writes conjunctions, prepositions, the article and object/possessive pronouns attached
to the word: ``والتوصيل`` is و + ال + توصيل ("and the delivery"), ``طلبهم`` is طلب + هم
("their order"), ``للموظفين`` is ل + ال (its alef dropped) + موظف + ين. Two uses here:

* :func:`clitic_pattern` wraps a codebook pattern so that it matches a whole word with any of
  its clitics and nothing else: ``توصيل`` matches ``والتوصيل``, ``بالتوصيل``, ``توصيلهم``, but
  a stem never matches inside an unrelated longer word (``حار`` "hot" does not match
  ``الحارس`` "the guard", ``وصل`` "arrived" does not match ``موصل``).
* :func:`stems` lists the forms a token may stand for once clitics are removed, for lexicon
  lookups (:mod:`cxlib.voice.sentiment`).

This is clitic segmentation with fixed lists (a "light stemmer" without a root dictionary),
not morphological analysis: broken plurals (``موظف`` / ``موظفين`` is sound, but ``سعر`` /
``اسعار`` is broken) and verb conjugation prefixes (``ي ت ن ا``) are not undone, so a codebook
lists those forms itself. The lists follow the standard description of Arabic proclitics and
enclitics (e.g. Habash 2010, *Introduction to Arabic Natural Language Processing*, ch. 4;
Larkey, Ballesteros & Connell 2002, "light10" stemming) applied to the folded text of
:func:`cxlib.voice.coding.normalize_text` (taa marbuta is ``ه`` there).

References
----------
Habash, N. (2010). Introduction to Arabic Natural Language Processing. Morgan & Claypool.
Larkey, L. S., Ballesteros, L. & Connell, M. E. (2002). Improving stemming for Arabic
information retrieval: light stemming and co-occurrence analysis. SIGIR '02, 275-282.
"""

from __future__ import annotations

import functools
import re

__all__ = [
    "PREFIXES",
    "SUFFIXES",
    "PREFIX_RE",
    "SUFFIX_RE",
    "has_arabic",
    "clitic_pattern",
    "stems",
]

#: proclitic sequences (folded): conjunction و/ف, then a preposition ب/ك/ل and/or the article
#: ال; ل + ال is written لل. Longest first.
PREFIXES: tuple[str, ...] = (
    "وبال", "فبال", "وكال", "فكال", "ولل", "فلل", "وال", "فال", "بال", "كال", "لل",
    "وب", "فب", "وك", "فك", "ول", "فل", "ال", "و", "ف", "ب", "ك", "ل",
)

#: enclitic and inflection endings (folded): pronouns (ه ها هم هما هن ك كم كما كن نا ني ي),
#: the feminine ه (taa marbuta folded), sound plurals and duals (ات ين ون ان), and past-tense
#: person endings (ت تم تي وا), and the Egyptian/Levantine negation enclitic ش. Longest first.
SUFFIXES: tuple[str, ...] = (
    "اتهم", "اتها", "اته", "ينه", "هما", "كما", "تها", "ته", "تهم", "نيش",
    "ات", "ين", "ون", "ان", "وا", "تم", "تي", "ها", "هم", "هن", "كم", "كن", "نا", "ني", "هش",
    "ه", "ت", "ي", "ك", "ش",
)

#: regex of an optional proclitic sequence (used before a codebook pattern)
PREFIX_RE = r"(?:[وف]?(?:[بك]?ال|لل|[بكل])?)"
#: regex of optional endings: one inflection, then one pronoun, then the Egyptian/Levantine
#: negation enclitic ش (``ما وصلش``, ``ما عجبنيش``)
SUFFIX_RE = r"(?:(?:ات|ين|ون|ان|وا|تم|تي|ت|ه)?(?:هما|كما|ها|هم|هن|كم|كن|نا|ني|ه|ي|ك)?ش?)"

_ARABIC_RE = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")

#: shortest stem left after removing clitics (avoids reading ``وله`` as و + ل + ه)
MIN_STEM = 2


def has_arabic(text: str) -> bool:
    """Whether ``text`` holds at least one Arabic letter."""
    return _ARABIC_RE.search(text) is not None


def clitic_pattern(pattern: str) -> str:
    """Wrap an Arabic regex so it matches whole words, with their clitics.

    ``(?<!\\w)`` + :data:`PREFIX_RE` + ``(?:pattern)`` + :data:`SUFFIX_RE` + ``(?!\\w)``: the
    match starts at a word start, may take a proclitic sequence (و ف, ب ك ل, ال and their
    combinations وال بال فال لل ...) before the first word of the pattern, and may take
    endings (ه ها هم كم نا ي ك, ات ين ون, ت وا ...) after its last word, and must end at a word
    end. A pattern that should reach into longer words says so itself (``تاخر\\w*``).

    Examples
    --------
    >>> import re
    >>> rx = re.compile(clitic_pattern("توصيل"))
    >>> [bool(rx.search(w)) for w in ["والتوصيل", "للتوصيل", "توصيلهم", "موصل", "توصيلي"]]
    [True, True, True, False, True]
    >>> bool(re.search(clitic_pattern("حار"), "الحارس"))
    False
    """
    return rf"(?<!\w){PREFIX_RE}(?:{pattern}){SUFFIX_RE}(?!\w)"


_PREFIX_SET = frozenset(PREFIXES)
_SUFFIX_SET = frozenset(SUFFIXES)
_PREFIX_LENS = sorted({len(p) for p in PREFIXES})            # shortest first
_SUFFIX_LENS = sorted({len(x) for x in SUFFIXES})            # shortest first


@functools.lru_cache(maxsize=200_000)
def stems(token: str) -> tuple[str, ...]:
    """Forms ``token`` may stand for once clitics are removed, most literal first.

    Order: the token; each prefix-stripped form (shortest prefix first); then each
    suffix-stripped form of those (shortest suffix first). Every form keeps at least
    :data:`MIN_STEM` letters. Lookups take the first form found in their dictionary, so a
    word that is itself an entry is never read as a clitic + stem.

    Examples
    --------
    >>> stems("والخدمه")[:3]
    ('والخدمه', 'الخدمه', 'خدمه')
    >>> "ممتاز" in stems("ممتازين")
    True
    """
    n = len(token)
    bases = [token] + [token[k:] for k in _PREFIX_LENS if n - k >= MIN_STEM and token[:k] in _PREFIX_SET]
    out = list(dict.fromkeys(bases))
    for b in tuple(out):
        m = len(b)
        for k in _SUFFIX_LENS:
            if m - k >= MIN_STEM and b[-k:] in _SUFFIX_SET:
                out.append(b[:-k])
    return tuple(dict.fromkeys(out))

"""Find personal data in free text and replace it by markers before any text is shown.

Pipeline::

    find_personal_data("call 056.777.8899")        # [Hit(kind='phone', start=5, end=17)]
    redact("call 056.777.8899")                    # 'call [phone]'
    redact_series(verbatims["text"], ids=known)    # vectorised, missing values stay missing

What is found, and why
----------------------
Every detector reads a *view* of the text in which Arabic-Indic (U+0660-0669), Persian
(U+06F0-06F9) and every other Unicode decimal digit is an ASCII digit, full-width ``＠ ＋ ．``
are ``@ + .``, the Arabic decimal and thousands separators are ``.`` and ``,``, odd spaces
are spaces, and invisible format characters (bidi marks, zero-width joiners, soft hyphen,
tatweel) are dropped. An offset map takes every hit back to the original text, so the
original is what gets redacted.

=============  =================  ===============================================================
kind           marker             rule
=============  =================  ===============================================================
email          ``[email]``        ``local@domain.tld``; and obfuscated ``[at]``/``(at)``/``{at}``
                                  with any dot, the bare word ``at``/``على``/``آت`` with
                                  spelled-out dots (``dot``/``[dot]``/``نقطة``/``دوت``) or a mail
                                  provider (``ahmed at gmail.com``), ending in a known
                                  top-level domain (:data:`EMAIL_TLDS`)
phone          ``[phone]``        Google's ``phonenumbers.PhoneNumberMatcher`` (leniency VALID)
                                  for each region of :data:`PHONE_REGIONS`, which also reads
                                  ``+cc``, ``00cc`` and ``cc`` without ``+`` for those regions; and
                                  by shape: ``+`` then 8-15 digits, ``00`` then 9-15 digits
card           ``[card]``         13-19 digits in any grouping and separators, Luhn-valid
                                  (``stdnum.luhn``); or exactly four groups of four digits
iban           ``[iban]``         two letters, two digits, then letters and digits in any
                                  grouping, ending where its token ends, valid by
                                  ``stdnum.iban``; or, with an upper-case country code, of the
                                  right length and structure for its country with a wrong
                                  check (a typo)
national_id    ``[id]``           Saudi national id / iqama (10 digits starting 1 or 2,
                                  Luhn-valid), Emirati ID (``784-YYYY-NNNNNNN-N``), Egyptian
                                  national id (14 digits: century, birth date, governorate);
                                  and any 8-15 digits right after a word such as ``iqama``,
                                  ``national id``, ``civil id``, ``هوية``, ``إقامة``, ``سجل مدني``
customer_id    ``[customer]``     a token equal to one of the client's own customer ids
                                  (``ids``; see :func:`id_is_matchable` for which ids are used)
long_number    ``[id]``           any other 9+ digits in a row, or 9+ digits in groups of 3 or
                                  more with one of 4+ (account, policy, other countries' ids);
                                  :func:`redact` removes them, the release gate does not ask
=============  =================  ===============================================================

Digit detectors skip what is not personal data: ISO and day/month/year dates
(``2026-05-12``, ``12/05/2026``), year ranges (``2019-2026``), times (``10:30:15``),
amounts next to a currency (``SAR 1,250.00``, ``250 ريال``), decimals, comma-grouped
thousands, percentages, version strings after a product word (``iOS 11.1.2``,
``Chrome 61.0.3163.100``), social handles, hexadecimal hashes and UUIDs are masked before
digit runs are read; the digits of an email or an IBAN are not read again; a number glued
to a Latin letter (``P7510 5100``) is a phone only with a ``+``, ``00`` or trunk ``0``; and
a run needs at least 7 digits, so years, prices, scores (``+14``), order counts and short
numbers survive.

Speed: a text without 7 digits in a row (separators allowed), without ``@`` and without a
``dot``/``نقطة``/``at <word>.`` hint skips every heavy matcher; only the customer-id lookup
(a set lookup per token) runs on every text when ``ids`` is given.

Known over-redaction, accepted because the same digits are a real phone number somewhere:
8-digit numbers (``SKU 12345678``: a local number in Kuwait, Qatar, Bahrain or Oman),
space-grouped amounts without a currency (``12 500 000 users``), bare version strings
(``8.4.28.1104``) and other 9+ digit numbers (``[id]``). Digits with a single dot and no
other separator (``5001200.0``) read as a decimal and are kept.

Pattern-based redaction lowers the risk but cannot guarantee that nothing personal remains:
names, street addresses, 7-digit local numbers without an area code and numbers spelled in
words are not detected.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

import pandas as pd
import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn

#: marker written in place of each kind of personal data
TOKENS: dict[str, str] = {
    "email": "[email]",
    "phone": "[phone]",
    "card": "[card]",
    "iban": "[iban]",
    "national_id": "[id]",
    "customer_id": "[customer]",
    "long_number": "[id]",
}

#: regions whose phone numbers are read in their national format (numbers written with
#: ``+``/``00`` and a country code are read for every country)
PHONE_REGIONS: tuple[str, ...] = (
    "SA", "AE", "KW", "QA", "BH", "OM",  # the Gulf
    "EG",
    "JO", "LB", "SY", "PS",  # the Levant
    "GB", "US",
)

#: top-level domains accepted at the end of an obfuscated email (``ahmed at x dot com``);
#: plain ``local@domain.tld`` emails accept any top-level domain
EMAIL_TLDS: tuple[str, ...] = (
    "com", "net", "org", "edu", "gov", "info", "biz", "io", "co", "me", "app", "dev", "mail",
    "sa", "ae", "eg", "kw", "qa", "bh", "om", "jo", "lb", "sy", "ps", "iq", "ye", "ly", "sd",
    "ma", "tn", "dz", "tr", "pk", "in", "uk", "us", "ca", "au", "fr", "de", "nl", "es", "it",
    "كوم", "نت", "اورج", "أورج",
)

# priority when hits of different kinds overlap: the merged span takes the first kind listed
_PRIORITY = ("email", "iban", "card", "customer_id", "national_id", "phone", "long_number")


class Hit(NamedTuple):
    """One item of personal data: its kind and where it is in the original text."""

    kind: str
    start: int
    end: int

    @property
    def token(self) -> str:
        """The marker that replaces it (``[phone]``...)."""
        return TOKENS[self.kind]


# --- the view: digits in ASCII, invisible characters dropped, offsets kept -------------------


def _fold_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for cp in range(0x80, 0x10000):
        ch = chr(cp)
        d = unicodedata.decimal(ch, None)
        if d is not None:
            table[cp] = str(d)
        elif unicodedata.category(ch) == "Cf":  # bidi marks, ZWJ/ZWNJ, soft hyphen, BOM...
            table[cp] = None
        elif unicodedata.category(ch) == "Zs":  # NBSP, thin and narrow spaces...
            table[cp] = " "
    table.update({
        0x0640: None,  # tatweel
        0x066B: ".", 0x066C: ",",  # Arabic decimal and thousands separators
        0xFF20: "@", 0xFE6B: "@", 0xFF0B: "+", 0xFF0E: ".", 0xFF0D: "-",
    })
    return table


_FOLD = _fold_table()
_DROP = {cp for cp, v in _FOLD.items() if v is None}
_DROP_RE = re.compile("[" + "".join(re.escape(chr(cp)) for cp in sorted(_DROP)) + "]")


def _view(text: str) -> tuple[str, list[int] | None]:
    """``text`` as the detectors read it, and the original offset of each view character
    (``None`` when the view has the same length as the text)."""
    if text.isascii():
        return text, None
    if not _DROP_RE.search(text):
        return text.translate(_FOLD), None
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        mapped = _FOLD.get(ord(ch), ch)
        if mapped is None:
            continue
        out.append(mapped)
        index.append(i)
    return "".join(out), index


# --- prefilter --------------------------------------------------------------------------------

#: 7 digits with at most 4 non-word characters between each (any Unicode digit)
_DIGITS_HINT = re.compile(r"\d(?:[^\w\n]{0,4}\d){6}")
_EMAIL_HINT = re.compile(r"[@＠﹫]|dot|نقط|دوت|\bat\b[\])}>]?\s*[\w\-]+\.", re.IGNORECASE)

# --- emails -------------------------------------------------------------------------------------

_EMAIL_RE = re.compile(r"(?<![\w.%+\-])[\w.%+\-']*\w\s?@\s?[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,24}(?![\w])")
_AT_STRONG = r"(?:\s*[\[({<]\s*(?:at|@|على|عند|آت)\s*[\])}>]\s*|\s*@\s*)"
_AT_WORD = r"\s+(?:at|على|آت)\s+"
_DOT_STRONG = (r"(?:\s*[\[({<]\s*(?:dot|\.|نقطة|نقطه|دوت)\s*[\])}>]\s*"
               r"|\s+(?:dot|نقطة|نقطه|دوت)\s+)")
_DOT_ANY = rf"(?:{_DOT_STRONG}|\s+\.\s+|\.)"
#: mail providers: "ahmed at gmail.com" is an email, "bought it at amazon.com" is not
EMAIL_PROVIDERS: tuple[str, ...] = (
    "gmail", "googlemail", "hotmail", "outlook", "live", "msn", "yahoo", "ymail", "icloud",
    "me", "mac", "aol", "proton", "protonmail", "gmx", "zoho", "yandex", "mail",
)
_PROVIDER = "(?:" + "|".join(sorted(EMAIL_PROVIDERS, key=len, reverse=True)) + ")"
_TLD = "(?:" + "|".join(sorted(EMAIL_TLDS, key=len, reverse=True)) + ")"
#: obfuscated emails: a bracketed "at" with any dot, or the bare word "at" with spelled-out
#: dots only (so "bought it at amazon.com" is not an email)
_OBF_EMAIL_RE = re.compile(
    r"(?<![\w.%+\-])(?P<local>[\w.%+\-]*\w)(?:"
    rf"{_AT_STRONG}[\w\-]+(?:{_DOT_ANY}[\w\-]+)*{_DOT_ANY}"
    rf"|(?P<word>{_AT_WORD})[\w\-]+(?:{_DOT_STRONG}[\w\-]+)*{_DOT_STRONG}"
    rf"|(?P<provider>{_AT_WORD}){_PROVIDER}\."
    rf"){_TLD}(?!\w)",
    re.IGNORECASE,
)
#: words that come before a spelled-out "at" in a sentence ("bought it at souq dot com")
_NOT_LOCAL_PART = frozenset(
    "i me you he she it we they him her us them is was are were be been am buy bought order "
    "ordered available sold found shop shopping online here there check visit look only also "
    "now and or but that this which who get got find".split()
)


def _obfuscated_emails(view: str) -> list[Hit]:
    """Emails written with at/dot words. With the bare word ``at``/``على`` the local part
    must be Latin and not a common word, so "المنتج على سوق دوت كوم" (the product on
    souq.com) and "bought it at souq dot com" are not emails."""
    hits = []
    for m in _OBF_EMAIL_RE.finditer(view):
        local = m.group("local")
        spelled = m.group("word") or m.group("provider")
        if spelled and (not local.isascii() or local.lower() in _NOT_LOCAL_PART):
            continue
        hits.append(Hit("email", m.start(), m.end()))
    return hits


# --- numbers ------------------------------------------------------------------------------------

#: separators allowed between the digits of one number (never a newline, comma or colon)
_SEP = r"[ \t\-\u2010-\u2015\u2212.()/\\~_]"
_RUN_RE = re.compile(rf"(?:\+\s?|\(\s?\+?)?\d(?:{_SEP}{{0,4}}\d)*\)?")
_GROUP_RE = re.compile(r"\d+")

_CURRENCY = (r"(?<![^\W\d_])(?:SAR|SR|AED|USD|EGP|LE|KWD|KD|QAR|QR|BHD|BD|OMR|JOD|JD|LBP|SYP|GBP|EUR|US\$"
             r"|[$£€¥]|ر\.?س|ريال|ريالات|درهم|دراهم|جنيه|جنيهات|دينار|دنانير|ليرة|دولار|يورو)")
_AMOUNT = (r"(?!0\d)(?:\d{1,3}(?:[,. ]\d{3}(?!\d))+(?:[.,]\d{1,2}(?!\d))?"
           r"|\d{1,8}(?:[.,]\d{1,2})?(?!\d))")
_DATE_SEP = r"(?:\s?[-/.]\s?|\s)"
_YEAR = r"(?:1[34]|19|20)\d{2}"  # Gregorian 19xx/20xx and Hijri 13xx/14xx
_NOT_PERSONAL_RE = re.compile(
    rf"(?<!\d){_YEAR}([-/.])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])(?!\d)"  # 2026-05-12
    rf"|(?<!\d)(?:0?[1-9]|[12]\d|3[01])({_DATE_SEP})(?:0?[1-9]|1[0-2])\2{_YEAR}(?!\d)"  # 12/05/2026
    rf"|(?<!\d)(?:0?[1-9]|1[0-2])({_DATE_SEP})(?:0?[1-9]|[12]\d|3[01])\3{_YEAR}(?!\d)"  # 05/12/2026
    rf"|(?<!\d){_YEAR}\s?[-/\u2013\u2014]\s?{_YEAR}(?!\d)"  # 2019-2026, 1377-1466
    r"|(?<![^\W\d_])(?:v|ver|version|build|release|ios|android|macos|windows|os|chrome|firefox"
    r"|safari|edge|app|firmware|fw|update|updated|spotify|الإصدار|الاصدار|اصدار|إصدار|نسخة|النسخة)"
    r"(?:\.?\s?[:#(]?\s?|(?:\s+[\w'’]+){1,2}\s?[:#(]?\s?)"  # "Chrome 61.0", "iOS it's 8.4"
    r"[1-9]\d?\.\d{1,2}(?:\.\d+){0,2}(?!\.?\d)"  # 8.4.28.1104, not 055.123.4567 or 1.212.555.1234
    r"|(?<![^\W\d_])(?:v|ver|version|build|الإصدار|الاصدار|اصدار|إصدار)\.?\s?[:#]?\s?\d+"  # build 591448720
    r"|(?<![\w.])@\w+"  # @handles
    r"|(?<![0-9A-Za-z])[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}(?![0-9A-Za-z])"  # UUIDs
    r"|(?<![0-9A-Za-z])(?=[0-9]*[a-fA-F])[0-9a-fA-F]{8,}(?![0-9A-Za-z])"  # hashes: 9f86d081884c7d65...
    rf"|{_CURRENCY}\s?{_AMOUNT}"  # SAR 1,250.00
    rf"|(?<![\d+])(?<!\d[\s.\-/]){_AMOUNT}\s?{_CURRENCY}(?!\w)"  # 250 ريال (not 055 123 4567 SAR 40)
    r"|(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d.,])"  # 1,250,000
    r"|(?<![\d.,])(?<!\d[ \-/])(?!0\d)\d{1,8}[.,]\d{1,2}(?![\d.,]|[ \-/]\d)"  # 35.5 (not the end of 055 123 45.67)
    r"|(?<![\d.+])(?<!\d[ \-/])(?:0|[1-9]\d{0,7})\.\d{3,}(?:e[-+]?\d+)?(?![\d.]|[ \-/]\d)"  # 61.29032258064516
    r"|(?<!\d)\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?(?!\d)"  # 20:38:36.123+00:00
    r"|\d+(?:[.,]\d+)?\s?[%٪]"  # 45 %
    r"|\s+[-\u2013\u2014/|]\s+",  # " - " between two numbers is a list, not one number
    re.IGNORECASE,
)
#: what a masked character becomes: neither a digit, a letter nor a separator
_MASK = "\x00"

_ID_CONTEXT_RE = re.compile(
    r"(?:iqama|iqamah|national\s*id|civil\s*id|id\s*(?:no|number|card|#)|identity|passport"
    r"|هوية|هويه|الهوية|الهويه|إقامة|اقامة|اقامه|الإقامة|الاقامة|الاقامه|سجل\s*مدني|السجل\s*المدني"
    r"|الرقم\s*الوطني|رقم\s*وطني|بطاقة\s*شخصية|البطاقة\s*الشخصية|جواز)[^\w\n]{0,6}(?:\w+[^\w\n]{1,3})?$",
    re.IGNORECASE,
)
_EG_GOVERNORATES = frozenset(
    ["01", "02", "03", "04", "11", "12", "13", "14", "15", "16", "17", "18", "19", "21", "22",
     "23", "24", "25", "26", "27", "28", "29", "31", "32", "33", "34", "35", "88"]
)


def _matcher_spans(run: str, region: str) -> set[tuple[int, int]]:
    spans = set()
    for m in phonenumbers.PhoneNumberMatcher(run, region, leniency=phonenumbers.Leniency.VALID):
        start, end = m.start, m.end
        while start < end and run[start].isspace():
            start += 1
        spans.add((start, end))
    return spans


def _phones_in_run(run: str) -> tuple[tuple[int, int], ...]:
    """:func:`_find_phones` with a cache for the short runs that repeat across texts."""
    return _find_phones_cached(run) if len(run) <= 40 else _find_phones(run)


def _find_phones(run: str) -> tuple[tuple[int, int], ...]:
    """Spans of phone numbers inside one run of digits and separators (offsets in ``run``).

    ``PhoneNumberMatcher`` (leniency VALID) for every region of :data:`PHONE_REGIONS`. Two
    shortcuts give the same answer faster: a run that parses as one valid number of a
    region and that region's matcher takes whole needs no other region; a run without
    separators that parses in no region holds no number (the matcher has nowhere to split
    it)."""
    lead = run.lstrip("( ")
    digits = sum(c.isdigit() for c in run)
    shape = (lead.startswith("+") and 8 <= digits <= 15) or (
        lead.startswith("00") and lead[2:3] not in ("", "0") and 11 <= digits <= 17
    )
    whole = (len(run) - len(lead), len(run.rstrip(") ")))
    span, any_valid = _one_number(run)
    if span:
        return (span,)
    if not any_valid and run.strip("()+ ").isdigit():
        return (whole,) if shape else ()
    spans: set[tuple[int, int]] = set()
    for region in PHONE_REGIONS:
        spans |= _matcher_spans(run, region)
    if not spans:
        # the matcher splits off a number's end, never its start: "1997 23 123276" holds
        # "23 123276", so try the run from each of its next group starts
        for g in list(_GROUP_RE.finditer(run))[1:5]:
            span, _ = _one_number(run[g.start():])
            if span:
                spans.add((g.start() + span[0], g.start() + span[1]))
                break
    if shape:
        spans.add((0, len(run)))
    return tuple(sorted(spans))


def _one_number(run: str) -> tuple[tuple[int, int] | None, bool]:
    """The span of ``run`` if it is one valid number that a region's matcher takes whole,
    and whether it parsed as a valid number in any region."""
    first = next(i for i, c in enumerate(run) if c.isdigit())
    last = len(run.rstrip(") "))
    any_valid = False
    for region in PHONE_REGIONS:
        try:
            number = phonenumbers.parse(run, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            any_valid = True
            for a, b in _matcher_spans(run, region):
                if a <= first and b >= last:  # every digit of the run
                    return (a, b), True
    return None, any_valid


_find_phones_cached = lru_cache(maxsize=65536)(_find_phones)


def _year_like(g: str) -> bool:
    return len(g) == 4 and g[:2] in ("19", "20")


def _digit_hits(view: str) -> list[Hit]:
    """Phones, cards, national ids and long numbers in a view (offsets in the view)."""
    masked = _NOT_PERSONAL_RE.sub(lambda m: _MASK * (m.end() - m.start()), view)
    hits: list[Hit] = []
    for run in _RUN_RE.finditer(masked):
        groups = [(g.start(), g.end()) for g in _GROUP_RE.finditer(run.group())]
        n_digits = sum(e - s for s, e in groups)
        if n_digits < 7:
            continue
        base, text = run.start(), run.group()
        found: list[Hit] = _number_windows(text, groups, base, masked)
        covered = any(h.start <= base + groups[0][0] and base + groups[-1][1] <= h.end for h in found)
        phones = () if covered else _phones_in_run(text)  # a card or an id taking the whole run
        if _latin_letter(view, base - 1) or _latin_letter(view, run.end()):
            # glued to a Latin letter ("P7510 5100", "D5100"): a product code unless the
            # number starts with a trunk or international prefix ("tel0551234567")
            phones = tuple((s, e) for s, e in phones if text[s] in "+(0")
        found += [Hit("phone", base + s, base + e) for s, e in phones]
        hits += found
        end = run.end()
        if not (_latin_letter(view, base - 1) and _latin_letter(view, end)):
            hits += _long_numbers(text, groups, base, found)  # not inside a token like "aU7sj6512987456yspj"
    return hits


def _latin_letter(view: str, i: int) -> bool:
    return 0 <= i < len(view) and view[i].isascii() and view[i].isalpha()


def _number_windows(run: str, groups: list[tuple[int, int]], base: int, view: str) -> list[Hit]:
    """Cards and national ids: windows of whole digit groups of a run."""
    hits: list[Hit] = []
    context = None

    def phone_like(i: int, j: int) -> bool:
        """``+``/``(`` before or brackets inside: written as a phone, not a card or an id."""
        window = run[groups[i][0]:groups[j][1]]
        return "(" in window or ")" in window or run[:groups[i][0]].rstrip(" (").endswith("+")

    for i in range(len(groups)):
        digits = ""
        for j in range(i, len(groups)):
            digits += run[groups[j][0]:groups[j][1]]
            n = len(digits)
            if n > 19:
                break
            span = (base + groups[i][0], base + groups[j][1])
            if phone_like(i, j):
                continue
            if n == 15 and digits.startswith("784") and 1900 <= int(digits[3:7]) <= 2099:
                hits.append(Hit("national_id", *span))
            elif n == 14 and _egyptian_id(digits):
                hits.append(Hit("national_id", *span))
            elif n == 10 and digits[0] in "12" and luhn.is_valid(digits):
                hits.append(Hit("national_id", *span))
            elif n >= 13 and (
                luhn.is_valid(digits)
                or (j - i == 3 and all(e - s == 4 for s, e in groups[i:j + 1]))
            ):
                hits.append(Hit("card", *span))
            elif i == 0 and 8 <= n <= 15:
                if context is None:
                    context = bool(_ID_CONTEXT_RE.search(view[max(0, span[0] - 40):span[0]]))
                if context:
                    hits.append(Hit("national_id", *span))
    return hits


def _egyptian_id(d: str) -> bool:
    century = {"2": 1900, "3": 2000}.get(d[0])
    if century is None or d[7:9] not in _EG_GOVERNORATES:
        return False
    month, day = int(d[3:5]), int(d[5:7])
    return 1 <= month <= 12 and 1 <= day <= 31


def _long_numbers(run: str, groups: list[tuple[int, int]], base: int, found: list[Hit]) -> list[Hit]:
    """9+ digits in a row, or consecutive groups of 3+ digits (one of 4+) adding up to 9+
    digits, that no other detector covered; groups of three (``100 200 300``, amounts) and
    lists of years are left alone."""
    covered = [(h.start - base, h.end - base) for h in found]
    free = [g for g in groups if not any(s < g[1] and g[0] < e for s, e in covered)]
    hits: list[Hit] = []
    i = 0
    while i < len(free):
        s, e = free[i]
        if e - s >= 9:
            hits.append(Hit("long_number", base + s, base + e))
            i += 1
            continue
        j, n = i, 0
        while j < len(free) and free[j][1] - free[j][0] >= 3 and (
            j == i or free[j][0] - free[j - 1][1] <= 2
        ):
            n += free[j][1] - free[j][0]
            j += 1
        chain = [run[a:b] for a, b in free[i:j]]
        if n >= 9 and any(len(g) >= 4 for g in chain) and not all(_year_like(g) for g in chain):
            hits.append(Hit("long_number", base + free[i][0], base + free[j - 1][1]))
            i = j
        else:
            i += 1
    return hits


# --- IBAN -------------------------------------------------------------------------------------

_IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ \-.]?[A-Za-z0-9]){10,32}")


def _iban_hits(view: str) -> list[Hit]:
    hits: list[Hit] = []
    for m in _IBAN_RE.finditer(view):
        raw = m.group()
        ends = [i + 1 for i, c in enumerate(raw) if c.isalnum()]  # end offset of each char
        for n in range(min(len(ends), 34), 14, -1):
            end = m.start() + ends[n - 1]
            if end < len(view) and view[end].isalnum():
                continue  # an IBAN ends where its token ends, not inside a hash
            compact = re.sub(r"[ \-.]", "", raw[:ends[n - 1]]).upper()
            if stdnum_iban.is_valid(compact, check_country=False) or (
                raw[:2].isupper() and _iban_shape(compact)
            ):
                hits.append(Hit("iban", m.start(), end))
                break
    return hits


def _iban_shape(compact: str) -> bool:
    """The right length and structure for its country, with a wrong check (a typo)."""
    fixed = compact[:2] + stdnum_iban.calc_check_digits(compact) + compact[4:]
    return stdnum_iban.is_valid(fixed, check_country=False)


# --- customer ids -----------------------------------------------------------------------------

_ID_TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:[-_./:#][A-Za-z0-9]+)*")
_ID_PIECE_RE = re.compile(r"[A-Za-z0-9]+")
_DECIMAL_BEFORE = re.compile(r"\d\.$")
_DECIMAL_AFTER = re.compile(r"\.\d")


def id_is_matchable(customer_id: str) -> bool:
    """Whether a customer id is specific enough to look for in text.

    An id is matched when it has at least one digit and is either at least 6 characters
    long, or at least 4 characters long with a letter too (``C00042``, ``7590-VHVEG``,
    ``104233``, ``AB12``). Shorter ids, and ids without a digit (``42``, ``7``, ``1234``,
    ``ahmed``), are *not* matched: they collide with ordinary numbers and words.
    """
    s = str(customer_id).strip()
    has_digit = any(c.isdigit() for c in s)
    has_letter = any(c.isalpha() for c in s)
    return has_digit and (len(s) >= 6 or (len(s) >= 4 and has_letter))


class CustomerIds:
    """The client's customer ids, prepared once for matching in many texts.

    Ids are compared as text, case-insensitively, after :func:`id_is_matchable` drops the
    ids too short to match safely (counted in :attr:`n_skipped`). Integer-valued numbers
    (``104233`` or ``104233.0``) become ``"104233"``.

    Parameters
    ----------
    ids : iterable
        Customer ids (a set, list, Series...; a million is fine: one pass).
    """

    def __init__(self, ids: Iterable):
        keys: set[str] = set()
        skipped = 0
        for x in ids:
            key = _id_key(x)
            if key is None:
                continue
            if id_is_matchable(key):
                keys.add(key.upper())
            else:
                skipped += 1
        self._keys = frozenset(keys)
        #: ids left out because they are too short or have no digit
        self.n_skipped = skipped

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and token.upper() in self._keys

    def find(self, view: str) -> list[Hit]:
        """Spans of ``view`` equal to an id: whole tokens (letters and digits joined by
        ``- _ . / : #``) or runs of their consecutive pieces."""
        if not self._keys:
            return []
        hits: list[Hit] = []
        for tok in _ID_TOKEN_RE.finditer(view):
            text = tok.group()
            if text.upper() in self._keys:
                hits.append(Hit("customer_id", tok.start(), tok.end()))
                continue
            pieces = [(p.start(), p.end()) for p in _ID_PIECE_RE.finditer(text)][:8]
            if len(pieces) < 2:
                continue
            for i in range(len(pieces)):
                for j in range(i, len(pieces)):
                    a, b = pieces[i][0], pieces[j][1]
                    if _DECIMAL_BEFORE.search(text, 0, a) or _DECIMAL_AFTER.match(text, b):
                        continue  # the digits of 15634602.5 are a number, not an id
                    sub = text[a:b]
                    if sub.upper() in self._keys:
                        hits.append(Hit("customer_id", tok.start() + a, tok.start() + b))
        return hits


def _id_key(x) -> str | None:
    if x is None:
        return None
    if isinstance(x, float):
        if x != x:  # NaN
            return None
        if x.is_integer():
            return str(int(x))
    try:
        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass
    s = str(x).strip()
    return s or None


def _as_ids(ids) -> CustomerIds | None:
    if ids is None or isinstance(ids, CustomerIds):
        return ids
    return CustomerIds(ids)


# --- public API -------------------------------------------------------------------------------


def find_personal_data(text: str, *, ids=None, long_numbers: bool = True) -> list[Hit]:
    """Personal data in one text: emails, phones, cards, IBANs, national and customer ids.

    Parameters
    ----------
    text : str
        Any text (English, Arabic, mixed; any digits).
    ids : CustomerIds or iterable of ids, optional
        The client's own customer ids (see :func:`id_is_matchable` for which are used). A
        plain collection is prepared on every call: build :class:`CustomerIds` once when
        calling this in a loop.
    long_numbers : bool
        Also report 9+ digit numbers no other rule recognises (kind ``long_number``).

    Returns
    -------
    list of Hit
        ``(kind, start, end)`` in offsets of ``text``, sorted and non-overlapping:
        overlapping finds are merged into one hit of the most specific kind (email, iban,
        card, customer_id, national_id, phone, long_number). See the module docstring for
        each rule.

    Examples
    --------
    >>> find_personal_data("call 056.777.8899 or ahmed at example dot com")
    [Hit(kind='phone', start=5, end=17), Hit(kind='email', start=21, end=45)]
    >>> find_personal_data("paid SAR 1,250.00 on 12/05/2026 at 10:30, score +14")
    []
    """
    if text is None or not isinstance(text, str) or not text:
        return []
    prepared = _as_ids(ids)
    digits = _DIGITS_HINT.search(text) is not None
    email = _EMAIL_HINT.search(text) is not None
    if not (digits or email or prepared):
        return []
    view, index = _view(text)
    hits: list[Hit] = []
    if email:
        hits += [Hit("email", m.start(), m.end()) for m in _EMAIL_RE.finditer(view)]
        hits += _obfuscated_emails(view)
    if digits:
        hits += _iban_hits(view)
        if hits:  # the digits of an IBAN or an email are not read again as phones or cards
            chars = list(view)
            for h in hits:
                chars[h.start:h.end] = _MASK * (h.end - h.start)
            masked = "".join(chars)
        else:
            masked = view
        hits += [h for h in _digit_hits(masked) if long_numbers or h.kind != "long_number"]
    if prepared:
        hits += prepared.find(view)
    merged = _merge(hits)
    if index is None:
        return merged
    return [Hit(h.kind, index[h.start], index[h.end - 1] + 1) for h in merged]


def _merge(hits: list[Hit]) -> list[Hit]:
    """Overlapping hits become one, of the kind listed first in ``_PRIORITY``."""
    out: list[Hit] = []
    for h in sorted(hits, key=lambda h: (h.start, -h.end)):
        if out and h.start < out[-1].end:
            last = out[-1]
            kind = min(last.kind, h.kind, key=_PRIORITY.index)
            out[-1] = Hit(kind, last.start, max(last.end, h.end))
        else:
            out.append(h)
    return out


def apply_hits(text: str, hits: list[Hit]) -> str:
    """Replace each hit of ``text`` by its marker (hits sorted and non-overlapping, as
    :func:`find_personal_data` returns them)."""
    parts: list[str] = []
    pos = 0
    for h in hits:
        parts.append(text[pos:h.start])
        parts.append(h.token)
        pos = h.end
    parts.append(text[pos:])
    return "".join(parts)


def redact(text: str, *, ids=None) -> str:
    """Replace personal data in one text by markers (``[email]``, ``[phone]``, ``[card]``,
    ``[iban]``, ``[id]``, ``[customer]``); apply before any customer text is shown.

    Missing values (``None``, NaN) are returned unchanged; other non-strings are read as
    ``str``. See :func:`find_personal_data` for what is found.

    Examples
    --------
    >>> redact("رقمي ٠٥٥١٢٣٤٥٦٧ و IBAN SA03 8000 0000 6080 1016 7519")
    'رقمي [phone] و IBAN [iban]'
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return text
    text = str(text)
    return apply_hits(text, find_personal_data(text, ids=ids))


def redact_series(s: pd.Series, *, ids=None) -> pd.Series:
    """Vectorised :func:`redact`: same index and name, ``str`` dtype, missing values stay
    missing. Each distinct text is redacted once and customer ids are prepared once."""
    s = s.astype("str") if s.dtype != "str" else s
    prepared = _as_ids(ids)
    cache: dict[str, str] = {}

    def one(x):
        if not isinstance(x, str):
            return x
        out = cache.get(x)
        if out is None:
            out = cache[x] = apply_hits(x, find_personal_data(x, ids=prepared))
        return out

    return s.map(one).astype("str")

"""The report's words in English and Arabic.

Every sentence, heading and caption the notebooks show, every column header and label the
tables and charts use, lives in ``assets/strings/*.yml`` with an English and an Arabic
version. A :class:`Translator` for the client's language turns keys into text
(``tr("h.metrics")``) and relabels reader tables (``tr.table(df)``); numbers are left as
they are (Western digits), isolated so that right-to-left text never reorders them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from cxlib import paths

LANGUAGES = ("en", "ar")
STRINGS = paths.ASSETS_DIR / "strings"
_ARABIC = re.compile(r"[\u0600-\u06FF]")
# a left-to-right run inside Arabic text: Latin words, numbers and the symbols between them
# ("p = 0.003", "n = 740", "+12.4", "2026Q3", "Late delivery"), never parentheses or Arabic; a
# Markdown escape inside it ("survey\_responses.nps") is part of the run, not a break in it
_LTR_RUN = re.compile(r"[A-Za-z0-9+\-−][A-Za-z0-9 .,=+\-−%/²<>_\[\]\\]*[A-Za-z0-9%\]²]|[A-Za-z0-9]")
LRI, PDI = "\u2066", "\u2069"  # left-to-right isolate / pop directional isolate


#: the safe YAML loader, libyaml's when PyYAML was built with it (the same objects, 10x faster)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=4)
def _load(path: str) -> dict:
    """The strings in ``path``: one YAML file, or every ``*.yml`` of a folder merged (a key may
    be defined in one file only, so files can be added side by side without clashes)."""
    root = Path(path)
    files = sorted(root.glob("*.yml")) if root.is_dir() else [root]
    data: dict = {"text": {}, "terms": {}, "fragments": []}
    seen: dict[str, Path] = {}
    for f in files:
        part = yaml.load(f.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}  # libyaml: 10x faster
        for section in ("text", "terms"):
            for key, val in (part.get(section) or {}).items():
                missing = [lang for lang in LANGUAGES if not (isinstance(val, dict) and val.get(lang))]
                if missing:
                    raise ValueError(f"{f}: {section}.{key} has no {', '.join(missing)} text")
                if f"{section}.{key}" in seen:
                    raise ValueError(f"{f}: {section}.{key} is already defined in {seen[f'{section}.{key}'].name}")
                seen[f"{section}.{key}"] = f
                data[section][key] = val
        data["fragments"].extend(part.get("fragments") or [])
    return data


def isolate_numbers(text: str) -> str:
    """Wrap each left-to-right run (numbers, 'p = 0.003', Latin names) in directional isolates,
    so that inside Arabic '+23.4' stays '+23.4' and 'n = 740' is not reordered to '740 = n'.

    Markdown markers (``**``, ``{#sec-x}`` anchors) are left outside the isolates.
    """
    out, pos = [], 0
    for m in re.finditer(r"\{#[^}]*\}|`[^`]*`", text):  # anchors and code spans stay as they are
        out.append(_LTR_RUN.sub(lambda r: f"{LRI}{r.group(0)}{PDI}", text[pos:m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_LTR_RUN.sub(lambda r: f"{LRI}{r.group(0)}{PDI}", text[pos:]))
    return "".join(out)


class _Raw(str):
    """Already-rendered text inside a template (formats like a plain string)."""

    __slots__ = ()


class Composed(str):
    """A table cell or header composed from a template: the English text as written, carrying its
    :class:`~cxlib.decide.words.Message`, so that :meth:`Translator.table` says the whole text in
    the report's language (never word by word). Make one with :func:`compose`.

    Keep a column of these in an ``object`` column (pandas would turn it into plain strings).
    """

    message = None


_ENGLISH: list = []


def compose(key: str, **values) -> Composed:
    """The text ``key`` of the strings in English, knowing its message (for :meth:`Translator.table`).

    Values as in :meth:`Translator.say`: :class:`~cxlib.decide.words.Term` for a label to translate
    (a client's value with a label in params, a template term), :class:`~cxlib.decide.words.Num`
    for a formatted number, a plain string for client data shown as given, another
    :class:`Composed` for a composed part.
    """
    from cxlib.decide.words import Message

    if not _ENGLISH:
        _ENGLISH.append(Translator("en"))
    message = Message(key, values)
    out = Composed(_ENGLISH[0].say(message, markdown=False))
    out.message = message
    return out


def is_term(text: str) -> bool:
    """Whether the strings define ``text`` as a term (a whole label with its translations)."""
    if not _ENGLISH:
        _ENGLISH.append(Translator("en"))
    return text in _ENGLISH[0]._terms


#: a lower-case identifier of two or more words ('social_media', 'app_store_2')
_IDENT = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


def _unescape(text: str) -> str:
    """Markdown backslash escapes removed ('checkout\\_start' -> 'checkout_start')."""
    return re.sub(r"\\(.)", r"\1", text)


class Translator:
    """Text in one language: ``tr(key, **values)``, ``tr.term(word)``, ``tr.table(df)``."""

    def __init__(self, language: str = "en", path: str | Path = STRINGS, labels: dict | None = None):
        if language not in LANGUAGES:
            raise ValueError(f"language {language!r} is not supported; use one of {LANGUAGES}")
        self.language = language
        data = _load(str(path))
        self._text = {k: v[language] for k, v in data.get("text", {}).items()}
        self._terms = {k: v[language] for k, v in data.get("terms", {}).items()}
        # the client's own labels for its values (params labels.<language>) win over the template's
        self._terms.update((labels or {}).get(language, {}))
        self._fragments = [(re.compile(rf"(?<!\w){re.escape(en)}(?!\w)"), ar)
                           for en, ar in data.get("fragments", [])] if language == "ar" else []

    @property
    def rtl(self) -> bool:
        return self.language == "ar"

    def __call__(self, key: str, **values) -> str:
        """The text for ``key`` with ``values`` filled in (numbers isolated in Arabic)."""
        try:
            template = self._text[key]
        except KeyError:
            raise KeyError(f"no text {key!r} in {STRINGS.name}; add it with en and ar versions to a file in {STRINGS}") from None
        values = {k: self._known(v) for k, v in values.items()}
        if not self.rtl:
            return template.format(**values)
        # rendered parts (_Raw) are already isolated: keep them out of the second pass
        raw = {k: v for k, v in values.items() if isinstance(v, _Raw)}
        marks = {k: "\ue000" + chr(0xE100 + i) + "\ue001" for i, k in enumerate(raw)}
        out = isolate_numbers(template.format(**{**values, **marks}))
        for k, mark in marks.items():
            out = out.replace(mark, raw[k])
        return out

    def _known(self, value):
        """A plain value filled into a text: a value that is exactly a term or one of the client's
        labels (also when escaped for Markdown, as 'checkout\\_start') is said as that term in the
        report's language (in English too: 'paid_search' reads 'paid search', the whole-file
        period 'all' reads 'the whole file'); anything else stays as given."""
        if not isinstance(value, str) or isinstance(value, _Raw | Composed):
            return value
        for v in (value, _unescape(value)):
            if v in self._terms:  # a term said as written stays as given (escaped for Markdown)
                return value if self._terms[v] == v else self._terms[v]
        return value

    def has(self, key: str) -> bool:
        """Whether the strings define ``key``."""
        return key in self._text

    def say(self, message, *, markdown: bool = True) -> str:
        """Render a :class:`~cxlib.decide.words.Message` (or several, or a plain string) in this language.

        Values that are Messages are rendered first; :class:`~cxlib.decide.words.Term` values are
        translated with :meth:`term`; numbers are formatted by the template. With ``markdown`` (prose)
        client data is Markdown-escaped; without (table cells, chart labels) it is left as text, for
        the table layer escapes every cell itself.
        """
        from cxlib.decide.words import Message, Messages, Num, Term
        from cxlib.report.display import md_escape

        esc = md_escape if markdown else str
        if message is None:
            return ""
        if isinstance(message, Composed):
            return self.say(message.message, markdown=markdown)
        if isinstance(message, Messages):
            return "".join(self.say(m, markdown=markdown) for m in message.parts)
        if isinstance(message, Term):
            return self._latin(esc(self.label(str(message))))
        if not isinstance(message, Message):
            return esc(message) if isinstance(message, str) else str(message)
        values = {}
        for k, v in message.values.items():
            if isinstance(v, Num):
                values[k] = _Raw(isolate_numbers(v) if self.rtl else v)
            elif isinstance(v, Message | Messages | Term | Composed):
                values[k] = _Raw(self.say(v, markdown=markdown))
            elif isinstance(v, str):
                # client data: its label in this language when the client gave one (a generic
                # value such as a device or a channel: the template's term), else as given
                values[k] = _Raw(self._latin(esc(self._known(v))))
            else:
                values[k] = v
        return self(message.key, **values)

    def _latin(self, text: str) -> str:
        """In a right-to-left text, a value without Arabic letters (a Latin name, a number) isolated
        whole, so that its punctuation stays with it."""
        if self.rtl and text and not _ARABIC.search(text) and re.search(r"[A-Za-z0-9]", text):
            return f"{LRI}{text}{PDI}"
        return text

    def term(self, word):
        """A label, header or category in this language (unknown words pass through,
        with known fragments such as 'now' or 'of' translated in Arabic)."""
        if not isinstance(word, str):
            return word
        if word in self._terms:
            return self._terms[word]
        if not self._fragments:
            return word
        out = word
        for rx, ar in self._fragments:
            out = rx.sub(ar, out)
        return out

    def label(self, word):
        """A value marked as a label (:class:`~cxlib.decide.words.Term`): :meth:`term`, and in
        English an identifier with no term of its own read as words ('social_media' -> 'social
        media'), as a reader would write it; the client's labels and the template's terms win."""
        out = self.term(word)
        if self.language == "en" and out == word and isinstance(word, str) and _IDENT.fullmatch(word):
            return word.replace("_", " ")
        return out

    def terms(self, mapping_or_list):
        """term() over a list, or over a dict's values."""
        if isinstance(mapping_or_list, dict):
            return {k: self.term(v) for k, v in mapping_or_list.items()}
        return [self.term(v) for v in mapping_or_list]

    def _cell(self, value, keep: bool = False):
        """A table cell: translated, with its left-to-right runs isolated when it mixes scripts.

        A :class:`Composed` cell is said whole and a :class:`~cxlib.decide.words.Term` translated,
        also in a kept column (the table layer marked them); other cells of a kept column stay
        as they are.
        """
        from cxlib.decide.words import Term

        if isinstance(value, Composed):
            return self.say(value.message, markdown=False)
        if isinstance(value, Term):
            out = self.label(str(value))
            return isolate_numbers(out) if _ARABIC.search(out) else self._latin(out)
        if keep:
            return value
        out = self.term(value)
        return isolate_numbers(out) if isinstance(out, str) and _ARABIC.search(out) else out

    def _header(self, col) -> str:
        if isinstance(col, Composed):
            return self.say(col.message, markdown=False)
        return self.term(str(col))

    def table(self, df: pd.DataFrame, keep: tuple[str, ...] = ()) -> pd.DataFrame:
        """A reader table in this language: headers and text cells through :meth:`term`.

        The cells of columns named in ``keep`` (customer text, names) are left untouched, but
        for the cells the table layer marked as composed texts or terms; every header is
        translated.
        """
        if self.language == "en":
            return df
        out = df.copy()
        for col in out.columns:
            if not (out[col].dtype == object or pd.api.types.is_string_dtype(out[col])):
                continue
            out[col] = out[col].map(lambda v, k=col in keep: self._cell(v, keep=k))
        out.columns = [self._header(c) for c in out.columns]
        return out
